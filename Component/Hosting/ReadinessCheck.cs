using Microsoft.Extensions.Diagnostics.HealthChecks;
using XmppRabbitComponent.Publishing;

namespace XmppRabbitComponent.Hosting;

/// <summary><c>/health/ready</c>: healthy when the XMPP stream is authenticated and a broker connection is open (issue #4).</summary>
public sealed class ReadinessCheck(ComponentState state, IEventPublisher publisher) : IHealthCheck
{
    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var xmpp = state.XmppAuthenticated;
        var broker = publisher.IsConnected;
        var data = new Dictionary<string, object> { ["xmpp_stream"] = xmpp ? "authenticated" : "down", ["broker"] = broker ? "connected" : "down" };
        return Task.FromResult(xmpp && broker
            ? HealthCheckResult.Healthy("XMPP stream authenticated, broker connected", data)
            : HealthCheckResult.Unhealthy($"XMPP stream {(xmpp ? "up" : "down")}, broker {(broker ? "up" : "down")}", data: data));
    }
}
