using System.Collections;
using System.Globalization;
using System.Net.Sockets;
using System.Reflection;
using Microsoft.Extensions.Configuration.CommandLine;
using Microsoft.Extensions.Configuration.EnvironmentVariables;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using XmppRabbitComponent.Configuration;
using XmppRabbitComponent.Publishing;
using XmppRabbitComponent.Xmpp;

namespace XmppRabbitComponent.Hosting;

/// <summary>
/// <c>--check-config</c> (docs/operating.md, "Checking a configuration"): validates the configuration, prints the
/// effective value of every key with the source it came from (default, appsettings file, environment, command line,
/// MongooseIM file with its TOML key, secret file) and secrets masked, then connects to the broker and declares each
/// enabled exchange passively, then opens the XEP-0114 stream and performs the handshake. Ends with one line, on
/// standard output when everything passed (<c>check-config: OK</c>, exit 0) or on standard error with the reason
/// (<c>check-config: FAILED: …</c>) and exit code <see cref="InvalidConfiguration"/>, <see cref="BrokerFailed"/> or
/// <see cref="XmppFailed"/>. The host is built but never started.
/// </summary>
public static class ConfigCheck
{
    /// <summary>The command-line switch.</summary>
    public const string Switch = "--check-config";
    /// <summary>Exit code: the configuration is invalid (the same code as a failed start).</summary>
    public const int InvalidConfiguration = ExitCodes.InvalidConfiguration;
    /// <summary>Exit code: the broker refused or could not be reached, or an exchange could not be checked.</summary>
    public const int BrokerFailed = 3;
    /// <summary>Exit code: the XMPP server could not be reached or refused the handshake.</summary>
    public const int XmppFailed = 4;

    private const string Mask = "********";
    private static readonly string[] SecretNames = ["Secret", "Password", "ClientCertificatePassword"];

    /// <summary>True when <paramref name="args"/> holds <see cref="Switch"/>; <paramref name="rest"/> is the arguments without it.</summary>
    public static bool Requested(string[] args, out string[] rest)
    {
        rest = args.Where(a => a != Switch).ToArray();
        return rest.Length != args.Length;
    }

    /// <summary>Builds the host from <paramref name="args"/> (without starting it), runs the check and returns the exit code.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken ct = default)
    {
        WebApplication app;
        try
        {
            app = ComponentHost.Build(args);
        }
        catch (MongooseImConfigurationException e)
        {
            return Fail(error, InvalidConfiguration, $"configuration invalid: {e.Message}");
        }
        await using (app) return await RunAsync(app, output, error, ct);
    }

    /// <summary>Runs the check on a built (not started) host; returns the exit code.</summary>
    public static async Task<int> RunAsync(WebApplication app, TextWriter output, TextWriter error, CancellationToken ct = default)
    {
        XmppOptions xmpp;
        RabbitOptions rabbit;
        EventPusherOptions pusher;
        try
        {
            xmpp = app.Services.GetRequiredService<IOptions<XmppOptions>>().Value;
            rabbit = app.Services.GetRequiredService<IOptions<RabbitOptions>>().Value;
            pusher = app.Services.GetRequiredService<IOptions<EventPusherOptions>>().Value;
        }
        catch (OptionsValidationException e)
        {
            foreach (var failure in e.Failures) output.WriteLine($"error: {failure}");
            return Fail(error, InvalidConfiguration, $"configuration invalid: {e.Failures.First()}" + (e.Failures.Count() > 1 ? $" (and {e.Failures.Count() - 1} more)" : ""));
        }
        catch (InvalidOperationException e) when (e.Message.Contains("configuration", StringComparison.OrdinalIgnoreCase))
        {
            return Fail(error, InvalidConfiguration, $"configuration invalid: {e.Message}{(e.InnerException is { } inner ? " " + inner.Message : "")}");
        }

        var root = (IConfigurationRoot)app.Configuration;
        output.WriteLine("Effective configuration (key = value  [source]):");
        foreach (var line in Describe(root, xmpp, rabbit, pusher)) output.WriteLine("  " + line);

        if (await CheckBrokerAsync(rabbit, pusher, output, ct) is { } brokerFailure) return Fail(error, BrokerFailed, brokerFailure);
        if (await CheckXmppAsync(xmpp, output, ct) is { } xmppFailure) return Fail(error, XmppFailed, xmppFailure);
        output.WriteLine("check-config: OK");
        return 0;
    }

    private static int Fail(TextWriter error, int code, string reason)
    {
        error.WriteLine($"check-config: FAILED: {reason.ReplaceLineEndings(" ")}");
        return code;
    }

    /// <summary>One line per option: <c>Rabbit:Port = 5672  [MongooseIM file /etc/mongooseim.toml (outgoing_pools.rabbit.event_pusher.connection.port)]</c>.</summary>
    internal static IEnumerable<string> Describe(IConfigurationRoot root, XmppOptions xmpp, RabbitOptions rabbit, EventPusherOptions pusher)
    {
        var lines = new List<string>();
        Walk(root, MongooseImOptions.Section, new MongooseImOptions { ConfigFile = root[MongooseImOptions.ConfigFileKey] }, lines);
        Walk(root, XmppOptions.Section, xmpp, lines);
        Walk(root, RabbitOptions.Section, rabbit, lines);
        Walk(root, EventPusherOptions.Section, pusher, lines);
        lines.Add($"Urls = {root["Urls"] ?? ComponentHost.DefaultUrls}  [{SourceOf(root, "Urls")}]");
        return lines;
    }

    private static void Walk(IConfigurationRoot root, string path, object options, List<string> lines)
    {
        foreach (var p in options.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
        {
            var key = $"{path}:{p.Name}";
            var value = p.GetValue(options);
            var t = p.PropertyType;
            if (options is ExchangeOptions { SentTopic: "", RecvTopic: "" } && p.Name is nameof(ExchangeOptions.SentTopic) or nameof(ExchangeOptions.RecvTopic)) continue;
            if (t.IsClass && t != typeof(string) && !typeof(IEnumerable).IsAssignableFrom(t))
            {
                Walk(root, key, value!, lines);
                continue;
            }
            string shown;
            string source;
            if (value is IEnumerable list and not string)
            {
                var items = list.Cast<object>().Select(o => Convert.ToString(o, CultureInfo.InvariantCulture)).ToArray();
                shown = items.Length == 0 ? "(none)" : string.Join(", ", items);
                source = SourceOf(root, key + ":0");
                if (p.Name == nameof(XmppOptions.LocalDomains) && items.Length == 0)
                {
                    shown = $"(none: {string.Join(", ", ((XmppOptions)options).EffectiveLocalDomains())}, the parent of Xmpp:ComponentDomain)";
                }
            }
            else
            {
                shown = value switch
                {
                    null => "(unset)",
                    bool b => b ? "true" : "false",
                    _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
                };
                source = SourceOf(root, key);
                if (SecretNames.Contains(p.Name))
                {
                    shown = string.IsNullOrEmpty(value as string) ? "(unset)" : Mask;
                    var fileKey = key + "File";
                    if (root[fileKey] is { Length: > 0 } file) source = $"file {file} (from {fileKey}, {SourceOf(root, fileKey)})";
                }
            }
            lines.Add($"{key} = {shown}  [{source}]");
        }
    }

    /// <summary>Which provider gives <paramref name="key"/> its value: the last one that has it.</summary>
    internal static string SourceOf(IConfigurationRoot root, string key)
    {
        foreach (var provider in root.Providers.Reverse())
        {
            if (!provider.TryGet(key, out var value) || value is null) continue;
            return provider switch
            {
                MongooseImConfigurationProvider m => $"MongooseIM file {m.Path} ({m.TomlKeyOf(key) ?? key})",
                FileConfigurationProvider f => $"appsettings {f.Source.Path}",
                EnvironmentVariablesConfigurationProvider => "environment",
                CommandLineConfigurationProvider => "command line",
                MemoryConfigurationProvider => "in-memory",
                ChainedConfigurationProvider => "host default",
                _ => provider.GetType().Name,
            };
        }
        return "default";
    }

    private static async Task<string?> CheckBrokerAsync(RabbitOptions o, EventPusherOptions pusher, TextWriter output, CancellationToken ct)
    {
        IReadOnlyList<AmqpTcpEndpoint> endpoints;
        try { endpoints = RabbitConnectionFactory.Endpoints(o); }
        catch (FormatException e) { return $"broker: {e.Message}"; }
        var where = string.Join(", ", endpoints.Select(e => $"{e.HostName}:{e.Port}")) + $" vhost '{o.VirtualHost}'" + (o.Tls.Enabled ? " (TLS)" : "");
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(o.ConnectTimeout + o.ConnectTimeout);
        try
        {
            await using var connection = await RabbitConnectionFactory.Create(o).CreateConnectionAsync(endpoints, deadline.Token);
            output.WriteLine($"broker: connected to {where} as '{o.Username}'");
            foreach (var (key, exchange) in pusher.Rabbit.Enabled())
            {
                // A passive declare fails with 404 and closes the channel when the exchange does not exist: one channel per exchange.
                await using var channel = await connection.CreateChannelAsync(cancellationToken: deadline.Token);
                try
                {
                    await channel.ExchangeDeclarePassiveAsync(exchange.Name, deadline.Token);
                    output.WriteLine($"broker: exchange '{exchange.Name}' ({key}) exists");
                }
                catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 404)
                {
                    output.WriteLine($"broker: exchange '{exchange.Name}' ({key}) does not exist yet; the component declares it ({exchange.Type}, durable {exchange.Durable.ToString().ToLowerInvariant()}) at start-up");
                }
            }
            return null;
        }
        catch (OperationInterruptedException e)
        {
            return $"broker {where}: {e.ShutdownReason?.ReplyText ?? e.Message}";
        }
        catch (Exception e) when (e is BrokerUnreachableException or IOException or SocketException or OperationCanceledException or AuthenticationFailureException)
        {
            var reason = e is OperationCanceledException ? $"no answer within {o.ConnectTimeout + o.ConnectTimeout}" : Innermost(e);
            return $"broker {where}: {reason}";
        }
    }

    private static async Task<string?> CheckXmppAsync(XmppOptions o, TextWriter output, CancellationToken ct)
    {
        var where = $"{o.Host}:{o.Port}";
        try
        {
            await using var connection = await ComponentConnection.ConnectAsync(o, NullLogger.Instance, ct);
            output.WriteLine($"xmpp: handshake accepted by {where} for {o.ComponentDomain} (stream id {connection.StreamId})");
            await connection.CloseAsync(ct);
            return null;
        }
        catch (StreamErrorException e) when (e.IsAuthenticationRefusal)
        {
            return $"xmpp {where}: the server refused the handshake ({e.ConditionName}): Xmpp:Secret or Xmpp:ComponentDomain '{o.ComponentDomain}' is wrong";
        }
        catch (Exception e) when (e is XmppStreamException or SocketException or IOException)
        {
            return $"xmpp {where}: {e.Message}";
        }
    }

    private static string Innermost(Exception e)
    {
        while (e.InnerException is { } inner) e = inner;
        return e.Message;
    }
}
