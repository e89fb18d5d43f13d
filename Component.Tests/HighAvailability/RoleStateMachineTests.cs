using XmppRabbitComponent.HighAvailability;

namespace XmppRabbitComponent.Tests.HighAvailability;

/// <summary>The role rules of docs/high-availability.md as a table over the pure state machine.</summary>
public sealed class RoleStateMachineTests
{
    private static RoleStateMachine In(LeaseState state)
    {
        var m = new RoleStateMachine();
        switch (state)
        {
            case LeaseState.Active: m.LeaseAcquired(); break;
            case LeaseState.ActiveBrokerLost: m.LeaseAcquired(); m.ConnectionLost(); break;
            case LeaseState.Stopped: m.Stop(); break;
        }
        Assert.That(m.State, Is.EqualTo(state), "set-up");
        return m;
    }

    [Test]
    public void A_new_instance_is_a_standby_that_may_not_open_a_stream()
    {
        var m = new RoleStateMachine();
        Assert.That((m.State, m.Role, m.MayOpenStream), Is.EqualTo((LeaseState.Standby, InstanceRole.Standby, false)));
    }

    // state, event, expected state, close the stream?
    [TestCase(LeaseState.Standby, "acquired", LeaseState.Active, false)]
    [TestCase(LeaseState.Standby, "refused", LeaseState.Standby, false)]
    [TestCase(LeaseState.Standby, "lost", LeaseState.Standby, false)]
    [TestCase(LeaseState.Standby, "stop", LeaseState.Stopped, false)]
    [TestCase(LeaseState.Active, "acquired", LeaseState.Active, false)]
    [TestCase(LeaseState.Active, "lost", LeaseState.ActiveBrokerLost, false)]
    [TestCase(LeaseState.Active, "refused", LeaseState.Standby, true)]
    [TestCase(LeaseState.Active, "stop", LeaseState.Stopped, true)]
    [TestCase(LeaseState.ActiveBrokerLost, "acquired", LeaseState.Active, false)]
    [TestCase(LeaseState.ActiveBrokerLost, "refused", LeaseState.Standby, true)]
    [TestCase(LeaseState.ActiveBrokerLost, "lost", LeaseState.ActiveBrokerLost, false)]
    [TestCase(LeaseState.ActiveBrokerLost, "stop", LeaseState.Stopped, true)]
    [TestCase(LeaseState.Stopped, "stop", LeaseState.Stopped, false)]
    public void Transition(LeaseState from, string what, LeaseState to, bool close)
    {
        var m = In(from);
        var t = what switch
        {
            "acquired" => m.LeaseAcquired(),
            "refused" => m.LeaseRefused(),
            "lost" => m.ConnectionLost(),
            _ => m.Stop(),
        };
        Assert.That((t.From, t.To, t.CloseStream, m.State), Is.EqualTo((from, to, close, to)), t.Reason);
        Assert.That(t.Changed, Is.EqualTo(from != to));
    }

    [Test]
    public void A_broker_outage_while_active_keeps_the_role_but_allows_no_new_stream()
    {
        var m = In(LeaseState.ActiveBrokerLost);
        Assert.That(m.Role, Is.EqualTo(InstanceRole.Active), "the stream it has is kept: still the active instance");
        Assert.That(m.MayOpenStream, Is.False, "without the lease confirmed, no new stream is opened");
    }

    [Test]
    public void Only_the_states_holding_the_lease_report_active()
    {
        Assert.That(In(LeaseState.Active).Role, Is.EqualTo(InstanceRole.Active));
        Assert.That(In(LeaseState.Standby).Role, Is.EqualTo(InstanceRole.Standby));
        Assert.That(In(LeaseState.Stopped).Role, Is.EqualTo(InstanceRole.Standby));
    }
}

/// <summary>The lease name and the heartbeat defaults.</summary>
public sealed class HighAvailabilityOptionsTests
{
    [Test]
    public void The_lease_is_named_after_the_component_domain_unless_configured()
    {
        Assert.That(new HighAvailabilityOptions().EffectiveLeaseName(" Events.Example.COM "), Is.EqualTo("xmpp-rabbit-component.lease.events.example.com"));
        Assert.That(new HighAvailabilityOptions { LeaseName = "my-lease" }.EffectiveLeaseName("events.example.com"), Is.EqualTo("my-lease"));
    }

    [Test]
    public void Defaults_are_on_with_a_short_retry_and_a_ten_second_heartbeat()
    {
        var o = new HighAvailabilityOptions();
        Assert.That((o.Enabled, o.RetryInterval, o.StandbyReconnectDelay), Is.EqualTo((true, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(2))));
        Assert.That(new XmppRabbitComponent.Configuration.RabbitOptions().Heartbeat, Is.EqualTo(TimeSpan.FromSeconds(10)));
    }
}
