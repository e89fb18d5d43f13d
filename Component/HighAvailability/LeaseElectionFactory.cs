using Microsoft.Extensions.Options;
using XmppRabbitComponent.Configuration;
using XmppRabbitComponent.Observability;

namespace XmppRabbitComponent.HighAvailability;

/// <summary>Builds the <see cref="LeaseElection"/> of the host from its options (the RabbitMQ lease on the configured broker).</summary>
public static class LeaseElectionFactory
{
    /// <summary>The election for the services of a host: lease name from <c>HighAvailability:LeaseName</c> or the component domain.</summary>
    public static LeaseElection Create(IServiceProvider sp)
    {
        var ha = sp.GetRequiredService<IOptions<HighAvailabilityOptions>>().Value;
        var xmpp = sp.GetRequiredService<IOptions<XmppOptions>>().Value;
        var rabbit = sp.GetRequiredService<IOptions<RabbitOptions>>().Value;
        var leaseName = ha.EffectiveLeaseName(xmpp.ComponentDomain);
        var holder = $"{rabbit.AppId} lease {Environment.MachineName}/{Environment.ProcessId}";
        return new LeaseElection(ha, leaseName, new RabbitLeaseBroker(rabbit, leaseName, holder), sp.GetRequiredService<ComponentMetrics>(),
            sp.GetRequiredService<ILogger<LeaseElection>>(), sp.GetRequiredService<TimeProvider>());
    }
}
