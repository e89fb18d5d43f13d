using System.Text.RegularExpressions;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using XmppRabbitComponent.Configuration;

namespace XmppRabbitComponent.Publishing;

/// <summary>The parameters an exchange is declared with (or was found to have).</summary>
/// <param name="Name">Exchange name.</param>
/// <param name="Type">Exchange type, e.g. <c>topic</c>.</param>
/// <param name="Durable">Survives a broker restart.</param>
/// <param name="AutoDelete">Deleted when its last binding goes. We always declare false.</param>
public sealed record ExchangeSpec(string Name, string Type, bool Durable, bool AutoDelete = false)
{
    /// <summary><c>type=topic, durable=false, auto_delete=false</c>.</summary>
    public string Parameters => $"type={Type}, durable={(Durable ? "true" : "false")}, auto_delete={(AutoDelete ? "true" : "false")}";
}

/// <summary>
/// An exchange exists on the broker with parameters other than the configured ones (docs/publishing.md, "Start-up and fatal errors";
/// beats the reference's #4446, which gave no reason). Fatal: start-up stops.
/// </summary>
public sealed class ExchangeMismatchException : Exception
{
    /// <summary>Creates the error; the message names the exchange, the configured and the existing parameters.</summary>
    public ExchangeMismatchException(ExchangeSpec configured, string existing, string brokerText)
        : base($"RabbitMQ exchange '{configured.Name}' already exists with other parameters: configured {configured.Parameters}; " +
               $"on the broker {existing}. Change EventPusher:Rabbit to match, or delete the exchange on the broker. (Broker said: {brokerText})")
    {
        Configured = configured;
        Existing = existing;
    }

    /// <summary>The parameters from configuration.</summary>
    public ExchangeSpec Configured { get; }
    /// <summary>The parameters found on the broker, as far as they could be learned (<c>type=…, durable=…, auto_delete=…</c>).</summary>
    public string Existing { get; }
}

/// <summary>A broker refused a declaration for a reason configuration must fix (access refused, unknown exchange type). Fatal.</summary>
public sealed class ExchangeDeclareException(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// Declares the enabled exchanges (each distinct name once), on every (re)connect: non-durable exchanges vanish with
/// a broker restart (reference bug #2522). A declaration with other parameters than the existing exchange's is
/// answered by the broker with 406 PRECONDITION_FAILED naming one differing argument; the declarer then probes with
/// fresh channels, adopting each reported current value, until a declaration matches, which yields the existing
/// exchange's full parameter set for the error message.
/// </summary>
internal static partial class ExchangeDeclarer
{
    /// <summary>The exchanges to declare: the enabled sections, de-duplicated by name (the validator rejects conflicting duplicates).</summary>
    public static IReadOnlyList<ExchangeSpec> Specs(EventPusherRabbitOptions o) =>
        o.Enabled().Select(e => new ExchangeSpec(e.Exchange.Name, e.Exchange.Type, e.Exchange.Durable))
            .DistinctBy(s => s.Name).ToList();

    /// <summary>Declares all <paramref name="specs"/>.</summary>
    /// <exception cref="ExchangeMismatchException">An exchange exists with other parameters.</exception>
    /// <exception cref="ExchangeDeclareException">The broker refused a declaration for a configuration reason.</exception>
    public static async Task DeclareAllAsync(IConnection connection, IReadOnlyList<ExchangeSpec> specs, CancellationToken ct)
    {
        foreach (var spec in specs)
        {
            var error = await TryDeclareAsync(connection, spec, ct).ConfigureAwait(false);
            if (error is null) continue;
            if (error.ReplyCode == 406 && TryParseInequivalent(error.ReplyText, out _, out _, out _))
            {
                var existing = await ProbeExistingAsync(connection, spec, error.ReplyText, ct).ConfigureAwait(false);
                throw new ExchangeMismatchException(spec, existing, error.ReplyText);
            }
            throw new ExchangeDeclareException(
                $"RabbitMQ refused to declare exchange '{spec.Name}' ({spec.Parameters}): {error.ReplyCode} {error.ReplyText}", error.Exception);
        }
    }

    private sealed record DeclareError(ushort ReplyCode, string ReplyText, Exception Exception);

    /// <summary>Null on success; the broker's refusal (channel or connection closed by the peer with a configuration code); rethrows transport errors.</summary>
    private static async Task<DeclareError?> TryDeclareAsync(IConnection connection, ExchangeSpec spec, CancellationToken ct)
    {
        var channel = await connection.CreateChannelAsync(cancellationToken: ct).ConfigureAwait(false);
        try
        {
            await channel.ExchangeDeclareAsync(spec.Name, spec.Type, spec.Durable, spec.AutoDelete, arguments: null,
                passive: false, noWait: false, cancellationToken: ct).ConfigureAwait(false);
            return null;
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason is { Initiator: ShutdownInitiator.Peer } r && r.ReplyCode is 403 or 406 or 503 or 530)
        {
            return new DeclareError(r.ReplyCode, r.ReplyText, e);
        }
        finally
        {
            // A channel the broker closed needs no close handshake; disposing it would wait for one.
            if (channel.IsOpen) { try { await channel.DisposeAsync().ConfigureAwait(false); } catch (Exception) { /* racing a close */ } }
        }
    }

    private static async Task<string> ProbeExistingAsync(IConnection connection, ExchangeSpec configured, string firstText, CancellationToken ct)
    {
        var candidate = configured;
        var text = firstText;
        for (var i = 0; i < 4; i++)
        {
            if (!TryParseInequivalent(text, out var arg, out _, out var current)) break;
            var next = Adopt(candidate, arg, current);
            if (next is null) return $"{candidate.Parameters} except {arg}={current}";
            candidate = next;
            if (!connection.IsOpen) break;
            var error = await TryDeclareAsync(connection, candidate, ct).ConfigureAwait(false);
            if (error is null) return candidate.Parameters;
            text = error.ReplyText;
        }
        TryParseInequivalent(firstText, out var a, out _, out var c);
        return $"{a}={c} (other parameters unknown)";
    }

    private static ExchangeSpec? Adopt(ExchangeSpec s, string arg, string current) => arg switch
    {
        "type" => s with { Type = current },
        "durable" => bool.TryParse(current, out var d) ? s with { Durable = d } : null,
        "auto_delete" => bool.TryParse(current, out var a) ? s with { AutoDelete = a } : null,
        _ => null,
    };

    /// <summary>
    /// Parses RabbitMQ's <c>PRECONDITION_FAILED - inequivalent arg 'durable' for exchange 'x' in vhost '/': received 'false' but current is 'true'</c>.
    /// </summary>
    public static bool TryParseInequivalent(string text, out string arg, out string received, out string current)
    {
        var m = InequivalentRegex().Match(text);
        arg = m.Success ? m.Groups["arg"].Value : "";
        received = m.Success ? m.Groups["rec"].Value : "";
        current = m.Success ? m.Groups["cur"].Value : "";
        return m.Success;
    }

    [GeneratedRegex(@"inequivalent arg '(?<arg>[^']+)' for exchange '.*' in vhost '.*': received '?(?<rec>[^']*?)'? but current is '?(?<cur>[^']*?)'?$")]
    private static partial Regex InequivalentRegex();
}
