using Microsoft.Extensions.Diagnostics.HealthChecks;
using XmppRabbitComponent.Publishing;

namespace XmppRabbitComponent.Hosting;

/// <summary>
/// <c>/health/ready</c> (<c>docs/publishing.md</c>, "Health"): healthy when the XMPP stream is authenticated, a broker
/// connection is open and the publisher is not stalled (events waiting and none published, returned or dropped for
/// <c>Rabbit:StallTimeout</c>). The data names each part: <c>xmpp_stream</c>, <c>broker</c>, <c>publisher</c>.
/// </summary>
public sealed class ReadinessCheck(ComponentState state, IEventPublisher publisher) : IHealthCheck
{
    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var xmpp = state.XmppAuthenticated;
        var broker = publisher.IsConnected;
        var stalled = publisher.IsStalled;
        var data = new Dictionary<string, object>
        {
            ["xmpp_stream"] = xmpp ? "authenticated" : "down",
            ["broker"] = broker ? "connected" : "down",
            ["publisher"] = stalled ? "stalled" : "ok",
        };
        if (stalled) data["stalled_for_seconds"] = Math.Round(publisher.WaitingWithoutProgress.TotalSeconds, 1);
        var description = $"XMPP stream {(xmpp ? "up" : "down")}, broker {(broker ? "up" : "down")}" +
                          (stalled ? $", publisher stalled: {publisher.Pending} events waiting, none published for {publisher.WaitingWithoutProgress.TotalSeconds:0} s" : "");
        return Task.FromResult(xmpp && broker && !stalled
            ? HealthCheckResult.Healthy("XMPP stream authenticated, broker connected", data)
            : HealthCheckResult.Unhealthy(description, data: data));
    }
}
