using Microsoft.Extensions.Options;
using XmppRabbitComponent.Configuration;

namespace XmppRabbitComponent.HighAvailability;

/// <summary>
/// Active/standby election between instances with the same configuration, bound from the <c>HighAvailability</c>
/// section. The lease is an exclusive queue on the broker (rules and failover times: <c>docs/high-availability.md</c>).
/// </summary>
public sealed class HighAvailabilityOptions
{
    /// <summary>Configuration section name: <c>HighAvailability</c>.</summary>
    public const string Section = "HighAvailability";

    /// <summary>
    /// <c>HighAvailability:Enabled</c>: the XMPP stream is opened only by the instance that holds the lease. Default true.
    /// When false the instance connects to the XMPP server at once, whatever other instances do: run exactly one.
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// <c>HighAvailability:LeaseName</c>: name of the exclusive queue that is the lease. Default
    /// <c>xmpp-rabbit-component.lease.</c> followed by <c>Xmpp:ComponentDomain</c> (see <see cref="EffectiveLeaseName"/>).
    /// Instances contend for the lease only within one broker virtual host.
    /// </summary>
    public string? LeaseName { get; set; }

    /// <summary>
    /// <c>HighAvailability:RetryInterval</c>: how often a standby tries to take the lease, and how often an instance retries
    /// its lease connection to the broker. The largest part of a takeover after a crash or a stop. Default 200 ms.
    /// </summary>
    public TimeSpan RetryInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// <c>HighAvailability:StandbyReconnectDelay</c>: after its own lease connection came back (a broker outage), a
    /// standby waits this long before trying the lease, so that the instance that was active and kept its stream takes
    /// the lease back first. Default 2 s.
    /// </summary>
    public TimeSpan StandbyReconnectDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// <c>HighAvailability:TakeoverDelay</c>: after taking a lease that its previous holder did not hand over (a crash, the
    /// failure of the broker node that held it, a partition), wait this long before opening the XMPP stream, so that a
    /// previous holder that is still alive reconnects, is refused and closes its stream first (break-before-make). A planned
    /// stop hands the lease over with a notice, and the standby then connects at once. Default 500 ms.
    /// </summary>
    public TimeSpan TakeoverDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The lease queue's name: <see cref="LeaseName"/>, or the default derived from <paramref name="componentDomain"/>.</summary>
    public string EffectiveLeaseName(string componentDomain) =>
        string.IsNullOrWhiteSpace(LeaseName) ? "xmpp-rabbit-component.lease." + componentDomain.Trim().ToLowerInvariant() : LeaseName.Trim();
}

/// <summary>Validates <see cref="HighAvailabilityOptions"/> at start-up; each failure names the configuration key.</summary>
public sealed class HighAvailabilityOptionsValidator : IValidateOptions<HighAvailabilityOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, HighAvailabilityOptions o)
    {
        var errors = new List<string>();
        XmppOptionsValidator.Positive(errors, "HighAvailability:RetryInterval", o.RetryInterval);
        if (o.TakeoverDelay < TimeSpan.Zero) errors.Add($"HighAvailability:TakeoverDelay must not be negative, got {o.TakeoverDelay}");
        if (o.StandbyReconnectDelay < TimeSpan.Zero) errors.Add($"HighAvailability:StandbyReconnectDelay must not be negative, got {o.StandbyReconnectDelay}");
        // AMQP short string; RabbitMQ reserves the amq. prefix.
        if (o.LeaseName is { } n && (System.Text.Encoding.UTF8.GetByteCount(n) > 255 || n.Trim().StartsWith("amq.", StringComparison.Ordinal)))
            errors.Add($"HighAvailability:LeaseName must be at most 255 bytes and must not start with 'amq.', got '{n}'");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
