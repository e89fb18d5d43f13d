using Microsoft.Extensions.Diagnostics.HealthChecks;
using XmppRabbitComponent.Hosting;
using XmppRabbitComponent.HighAvailability;
using XmppRabbitComponent.Tests.Service;

namespace XmppRabbitComponent.Tests.HighAvailability;

/// <summary>Readiness for both roles: a warm standby is ready (it can take over), and the body says which role it is.</summary>
public sealed class ReadinessRoleTests
{
    private sealed class FixedGate(InstanceRole role, LeaseState state, bool leaseConnected) : IRoleGate
    {
        public bool Enabled => true;
        public InstanceRole Role => role;
        public LeaseState State => state;
        public bool LeaseConnected => leaseConnected;
        public Task<CancellationToken> WaitForActiveAsync(CancellationToken ct) => Task.FromResult(CancellationToken.None);
    }

    private static async Task<HealthCheckResult> CheckAsync(IRoleGate? gate, bool xmpp)
    {
        var state = new ComponentState { XmppAuthenticated = xmpp };
        return await new ReadinessCheck(state, new RecordingPublisher(), gate).CheckHealthAsync(new HealthCheckContext());
    }

    [Test]
    public async Task A_standby_with_the_broker_and_its_lease_connection_is_ready_to_take_over()
    {
        var r = await CheckAsync(new FixedGate(InstanceRole.Standby, LeaseState.Standby, leaseConnected: true), xmpp: false);
        Assert.That(r.Status, Is.EqualTo(HealthStatus.Healthy), r.Description);
        Assert.That((r.Data["role"], r.Data["lease"], r.Data["xmpp_stream"]), Is.EqualTo(("standby", "waiting", "down")));
        Assert.That(r.Description, Does.Contain("ready to take over"));
    }

    [Test]
    public async Task A_standby_without_its_lease_connection_is_not_ready()
    {
        var r = await CheckAsync(new FixedGate(InstanceRole.Standby, LeaseState.Standby, leaseConnected: false), xmpp: false);
        Assert.That(r.Status, Is.EqualTo(HealthStatus.Unhealthy));
        Assert.That(r.Description, Does.Contain("lease connection down"));
    }

    [Test]
    public async Task The_active_instance_is_ready_only_with_its_stream_and_says_so()
    {
        var gate = new FixedGate(InstanceRole.Active, LeaseState.Active, leaseConnected: true);
        var down = await CheckAsync(gate, xmpp: false);
        var up = await CheckAsync(gate, xmpp: true);
        Assert.That((down.Status, up.Status), Is.EqualTo((HealthStatus.Unhealthy, HealthStatus.Healthy)));
        Assert.That((up.Data["role"], up.Data["lease"]), Is.EqualTo(("active", "held")));
    }

    [Test]
    public async Task With_the_election_off_the_body_says_lease_off_and_role_active()
    {
        var r = await CheckAsync(null, xmpp: true);
        Assert.That((r.Status, r.Data["role"], r.Data["lease"]), Is.EqualTo((HealthStatus.Healthy, "active", "off")));
    }
}
