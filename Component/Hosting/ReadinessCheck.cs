using Microsoft.Extensions.Diagnostics.HealthChecks;
using XmppRabbitComponent.HighAvailability;
using XmppRabbitComponent.Publishing;

namespace XmppRabbitComponent.Hosting;

/// <summary>
/// <c>/health/ready</c>, for both roles (docs/high-availability.md, "Observing the pair"). Active: healthy when the XMPP
/// stream is authenticated and a broker connection is open. Standby: healthy when the publisher's broker connection and
/// the lease connection are open, i.e. it is ready to take over. The body's <c>data</c> carries <c>role</c>
/// (<c>active</c>, <c>standby</c>), <c>lease</c> (<c>held</c>, <c>broker_lost</c>, <c>waiting</c>, <c>off</c>),
/// <c>xmpp_stream</c> and <c>broker</c>.
/// </summary>
public sealed class ReadinessCheck(ComponentState state, IEventPublisher publisher, IRoleGate? gate = null) : IHealthCheck
{
    private readonly IRoleGate _gate = gate ?? new AlwaysActiveGate();

    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var xmpp = state.XmppAuthenticated;
        var broker = publisher.IsConnected;
        var leaseState = _gate.State;
        var lease = !_gate.Enabled ? "off" : leaseState switch
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
        };
        if (_gate.Role == InstanceRole.Standby)
        {
            var ready = broker && _gate.LeaseConnected;
            return Task.FromResult(ready
                ? HealthCheckResult.Healthy("standby: broker connected, waiting for the lease (ready to take over)", data)
                : HealthCheckResult.Unhealthy($"standby: broker {(broker ? "up" : "down")}, lease connection {(_gate.LeaseConnected ? "up" : "down")} (cannot take over)", data: data));
        }
        return Task.FromResult(xmpp && broker
            ? HealthCheckResult.Healthy("XMPP stream authenticated, broker connected", data)
            : HealthCheckResult.Unhealthy($"XMPP stream {(xmpp ? "up" : "down")}, broker {(broker ? "up" : "down")}", data: data));
    }
}
