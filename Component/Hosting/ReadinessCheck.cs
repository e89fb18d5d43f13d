using Microsoft.Extensions.Diagnostics.HealthChecks;
using XmppRabbitComponent.HighAvailability;
using XmppRabbitComponent.Publishing;

namespace XmppRabbitComponent.Hosting;

/// <summary>
/// <c>/health/ready</c>, for both roles (<c>docs/high-availability.md</c>, "Observing the pair"; <c>docs/publishing.md</c>,
/// "Health"). Active: healthy when the XMPP stream is authenticated, a broker connection is open and the publisher is not
/// stalled (events waiting and none published, returned or dropped for <c>Rabbit:StallTimeout</c>). Standby: healthy when
/// the publisher's broker connection and the lease connection are open and the publisher is not stalled, i.e. it is ready
/// to take over. The data names each part: <c>role</c> (<c>active</c>, <c>standby</c>), <c>lease</c> (<c>held</c>,
/// <c>broker_lost</c>, <c>waiting</c>, <c>off</c>), <c>xmpp_stream</c>, <c>broker</c>, <c>publisher</c>.
/// </summary>
public sealed class ReadinessCheck(ComponentState state, IEventPublisher publisher, IRoleGate? gate = null) : IHealthCheck
{
    private readonly IRoleGate _gate = gate ?? new AlwaysActiveGate();

    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var xmpp = state.XmppAuthenticated;
        var broker = publisher.IsConnected;
        var stalled = publisher.IsStalled;
        var lease = !_gate.Enabled ? "off" : _gate.State switch
        {
            LeaseState.Active => "held",
            LeaseState.ActiveBrokerLost => "broker_lost",
            _ => "waiting",
        };
        var data = new Dictionary<string, object>
        {
            ["role"] = _gate.Role == InstanceRole.Active ? "active" : "standby",
            ["lease"] = lease,
            ["xmpp_stream"] = xmpp ? "authenticated" : "down",
            ["broker"] = broker ? "connected" : "down",
            ["publisher"] = stalled ? "stalled" : "ok",
        };
        if (stalled) data["stalled_for_seconds"] = Math.Round(publisher.WaitingWithoutProgress.TotalSeconds, 1);
        var stall = stalled ? $", publisher stalled: {publisher.Pending} events waiting, none published for {publisher.WaitingWithoutProgress.TotalSeconds:0} s" : "";
        if (_gate.Role == InstanceRole.Standby)
        {
            var ready = broker && _gate.LeaseConnected && !stalled;
            return Task.FromResult(ready
                ? HealthCheckResult.Healthy("standby: broker connected, waiting for the lease (ready to take over)", data)
                : HealthCheckResult.Unhealthy($"standby: broker {(broker ? "up" : "down")}, lease connection {(_gate.LeaseConnected ? "up" : "down")}{stall} (cannot take over)", data: data));
        }
        var description = $"XMPP stream {(xmpp ? "up" : "down")}, broker {(broker ? "up" : "down")}" + stall;
        return Task.FromResult(xmpp && broker && !stalled
            ? HealthCheckResult.Healthy("XMPP stream authenticated, broker connected", data)
            : HealthCheckResult.Unhealthy(description, data: data));
    }
}
