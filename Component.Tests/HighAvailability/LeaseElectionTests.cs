using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using XmppRabbitComponent.HighAvailability;
using XmppRabbitComponent.Observability;
using XmppRabbitComponent.Tests.Service;
using XmppRabbitComponent.Tests.Support;

namespace XmppRabbitComponent.Tests.HighAvailability;

/// <summary>The election loop against <see cref="FakeLeaseBroker"/>: who is active, outages, hand-back, stop. Real time, short intervals.</summary>
public sealed class LeaseElectionTests
{
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(5);
    private readonly List<LeaseElection> _running = [];

    [TearDown]
    public async Task StopAll()
    {
        foreach (var e in _running) await e.DisposeAsync();
        _running.Clear();
    }

    private async Task<LeaseElection> StartAsync(FakeLeaseBroker broker, string name, TimeSpan? standbyDelay = null, ComponentMetrics? metrics = null, LogCapture<LeaseElection>? log = null,
        TimeSpan? takeoverDelay = null)
    {
        var o = new HighAvailabilityOptions
        {
            RetryInterval = TimeSpan.FromMilliseconds(20),
            StandbyReconnectDelay = standbyDelay ?? TimeSpan.FromMilliseconds(500),
            TakeoverDelay = takeoverDelay ?? TimeSpan.FromMilliseconds(50),
        };
        var e = new LeaseElection(o, "lease.test", broker.For(name), metrics, (ILogger<LeaseElection>?)log ?? NullLogger<LeaseElection>.Instance, TimeProvider.System);
        _running.Add(e);
        await e.StartAsync(CancellationToken.None);
        return e;
    }

    private static async Task Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Step;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out after {Step} waiting for: {what}");
            await Task.Delay(10);
        }
    }

    [Test]
    public async Task Of_two_instances_exactly_one_is_active_and_the_other_waits_for_the_lease()
    {
        var broker = new FakeLeaseBroker();
        var a = await StartAsync(broker, "a");
        await a.WaitForActiveAsync(CancellationToken.None).WaitAsync(Step);
        var b = await StartAsync(broker, "b");
        await Until(() => broker.Attempts("b") >= 3, "b tries the lease");
        Assert.That((a.Role, b.Role), Is.EqualTo((InstanceRole.Active, InstanceRole.Standby)));
        Assert.That(b.WaitForActiveAsync(CancellationToken.None).Wait(100), Is.False, "a standby may not open a stream");
        Assert.That(b.LeaseConnected, Is.True, "a warm standby is connected to the broker");
    }

    [Test]
    public async Task A_planned_stop_releases_the_lease_and_the_standby_takes_it_within_a_few_retries()
    {
        var broker = new FakeLeaseBroker();
        var a = await StartAsync(broker, "a");
        var tenure = await a.WaitForActiveAsync(CancellationToken.None).WaitAsync(Step);
        var b = await StartAsync(broker, "b");
        await Until(() => broker.Attempts("b") >= 1, "b tries");
        var stopped = DateTime.UtcNow;
        await a.StopAsync(CancellationToken.None);
        Assert.That(tenure.IsCancellationRequested, Is.True, "stop ends the stream's tenure");
        Assert.That(a.State, Is.EqualTo(LeaseState.Stopped));
        await b.WaitForActiveAsync(CancellationToken.None).WaitAsync(Step);
        TestContext.Out.WriteLine($"takeover after stop: {(DateTime.UtcNow - stopped).TotalMilliseconds:0} ms (retry interval 20 ms)");
        Assert.That(b.Role, Is.EqualTo(InstanceRole.Active));
    }

    [Test]
    public async Task A_planned_stop_hands_over_at_once_and_a_crash_makes_the_new_holder_wait_the_takeover_delay()
    {
        var takeover = TimeSpan.FromSeconds(1);
        var broker = new FakeLeaseBroker();
        var a = await StartAsync(broker, "a", takeoverDelay: TimeSpan.Zero);
        await a.WaitForActiveAsync(CancellationToken.None).WaitAsync(Step);
        var b = await StartAsync(broker, "b", takeoverDelay: takeover);
        await Until(() => broker.Attempts("b") >= 1, "b tries");
        var sw = System.Diagnostics.Stopwatch.StartNew();
        await a.StopAsync(CancellationToken.None);
        await b.WaitForActiveAsync(CancellationToken.None).WaitAsync(Step);
        Assert.That(sw.Elapsed, Is.LessThan(takeover), "handed over with a notice: no takeover delay");
        Assert.That(broker.Notices, Is.Zero, "the notice was taken");

        var c = await StartAsync(broker, "c", takeoverDelay: takeover);
        await Until(() => broker.Attempts("c") >= 1, "c tries");
        broker.Unreachable.Add("b");
        sw.Restart();
        broker.Cut("b"); // b "crashes": no notice
        await c.WaitForActiveAsync(CancellationToken.None).WaitAsync(Step);
        Assert.That(sw.Elapsed, Is.GreaterThanOrEqualTo(takeover), "no notice: the new holder waits before opening its stream");
    }

    [Test]
    public async Task A_crashed_active_connection_lets_the_standby_take_over()
    {
        var broker = new FakeLeaseBroker();
        var a = await StartAsync(broker, "a");
        await a.WaitForActiveAsync(CancellationToken.None).WaitAsync(Step);
        var b = await StartAsync(broker, "b");
        await Until(() => broker.Attempts("b") >= 1, "b tries");
        broker.Unreachable.Add("a");
        broker.Cut("a");
        await b.WaitForActiveAsync(CancellationToken.None).WaitAsync(Step);
        Assert.That(a.State, Is.EqualTo(LeaseState.ActiveBrokerLost), "a, cut off from the broker, still believes it may be active and keeps its stream");
        broker.Unreachable.Remove("a");
        await Until(() => a.State == LeaseState.Standby, "a, back on the broker, is refused and steps down");
    }

    [Test]
    public async Task A_broker_outage_keeps_the_active_stream_and_the_active_instance_takes_the_lease_back_first()
    {
        var broker = new FakeLeaseBroker();
        var a = await StartAsync(broker, "a");
        var tenure = await a.WaitForActiveAsync(CancellationToken.None).WaitAsync(Step);
        var b = await StartAsync(broker, "b");
        await Until(() => broker.Attempts("b") >= 1, "b tries");

        broker.Down();
        await Until(() => a.State == LeaseState.ActiveBrokerLost, "a notices the outage");
        Assert.That(a.Role, Is.EqualTo(InstanceRole.Active));
        Assert.That(tenure.IsCancellationRequested, Is.False, "a broker outage does not close the XMPP stream");
        Assert.That(a.WaitForActiveAsync(CancellationToken.None).Wait(100), Is.False, "no new stream while the lease is unconfirmed");
        Assert.That(b.LeaseConnected, Is.False);

        broker.Up();
        await Until(() => a.State == LeaseState.Active, "a re-acquires");
        Assert.That(await a.WaitForActiveAsync(CancellationToken.None).WaitAsync(Step), Is.EqualTo(tenure), "the same tenure: the stream was never closed");
        await Until(() => b.LeaseConnected && broker.Attempts("b") >= 2, "b is back and refused");
        Assert.That((a.Role, b.Role, tenure.IsCancellationRequested), Is.EqualTo((InstanceRole.Active, InstanceRole.Standby, false)));
    }

    [Test]
    public async Task When_another_instance_got_the_lease_during_the_outage_the_old_active_closes_its_stream_and_becomes_standby()
    {
        var broker = new FakeLeaseBroker();
        var log = new LogCapture<LeaseElection>();
        var a = await StartAsync(broker, "a", log: log);
        var tenure = await a.WaitForActiveAsync(CancellationToken.None).WaitAsync(Step);
        var b = await StartAsync(broker, "b", standbyDelay: TimeSpan.Zero);
        await Until(() => broker.Attempts("b") >= 1, "b tries");

        broker.Unreachable.Add("a"); // a's broker stays away longer than b's
        broker.Down();
        broker.Up();
        await b.WaitForActiveAsync(CancellationToken.None).WaitAsync(Step);
        Assert.That(tenure.IsCancellationRequested, Is.False, "a keeps its stream while it cannot tell");
        broker.Unreachable.Remove("a");
        await Until(() => tenure.IsCancellationRequested, "a is refused on reconnect and must close its stream");
        Assert.That((a.State, b.State), Is.EqualTo((LeaseState.Standby, LeaseState.Active)));
        Assert.That(log.Lines, Has.Some.Contains("Role Active -> Standby: another instance took the lease"), string.Join("\n", log.Lines));
    }

    [Test]
    public async Task A_standby_that_becomes_active_again_gets_a_fresh_tenure()
    {
        var broker = new FakeLeaseBroker();
        var a = await StartAsync(broker, "a", standbyDelay: TimeSpan.Zero);
        var first = await a.WaitForActiveAsync(CancellationToken.None).WaitAsync(Step);
        var b = await StartAsync(broker, "b", standbyDelay: TimeSpan.Zero);
        await Until(() => broker.Attempts("b") >= 1, "b tries");
        broker.Unreachable.Add("a");
        broker.Cut("a");
        await b.WaitForActiveAsync(CancellationToken.None).WaitAsync(Step);
        broker.Unreachable.Remove("a");
        await Until(() => first.IsCancellationRequested, "a steps down");
        await b.StopAsync(CancellationToken.None);
        var second = await a.WaitForActiveAsync(CancellationToken.None).WaitAsync(Step);
        Assert.That(second.IsCancellationRequested, Is.False);
        Assert.That(second, Is.Not.EqualTo(first));
    }

    [Test]
    public async Task The_role_is_exported_as_a_gauge_and_every_change_is_counted_and_logged_with_its_reason()
    {
        using var meters = new ScopedMeterFactory();
        using var probe = new MetricsProbe(meters.Scope);
        var metrics = new ComponentMetrics(meters, "localhost");
        var broker = new FakeLeaseBroker();
        var log = new LogCapture<LeaseElection>();
        var holder = await StartAsync(broker, "holder");
        await holder.WaitForActiveAsync(CancellationToken.None).WaitAsync(Step);
        var e = await StartAsync(broker, "e", metrics: metrics, log: log);
        await Until(() => broker.Attempts("e") >= 1, "e tries");
        probe.Observe();
        Assert.That((probe.Last("xmpp_component.role", "role=standby"), probe.Last("xmpp_component.role", "role=active")), Is.EqualTo((1.0, 0.0)));
        await holder.StopAsync(CancellationToken.None);
        await e.WaitForActiveAsync(CancellationToken.None).WaitAsync(Step);
        probe.Observe();
        Assert.That((probe.Last("xmpp_component.role", "role=standby"), probe.Last("xmpp_component.role", "role=active")), Is.EqualTo((0.0, 1.0)));
        Assert.That(probe.Sum("xmpp_component.role.changes", "role=active"), Is.EqualTo(1));
        Assert.That(log.Lines, Has.Some.Matches<string>(l => l.Contains("[3001]") && l.Contains("Role Standby -> Active: lease acquired")), string.Join("\n", log.Lines));
    }
}
