using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using XmppRabbitComponent.HighAvailability;
using XmppRabbitComponent.Tests.Publishing;

namespace XmppRabbitComponent.Tests.HighAvailability;

/// <summary>The lease itself on the real broker: an exclusive queue, 405 for a second contender, gone with its connection.</summary>
[TestFixture, Category("Integration"), NonParallelizable]
public sealed class RabbitLeaseTests
{
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(10);
    private string _lease = "";

    [SetUp]
    public void SetUp()
    {
        RabbitTestEnv.RequireBroker(RabbitTestEnv.Port);
        _lease = "xrc-test.lease." + Guid.NewGuid().ToString("N")[..8];
    }

    private RabbitLeaseBroker Broker(string holder) =>
        new(RabbitTestEnv.Options(RabbitTestEnv.Port), _lease, "lease-test " + holder);

    [Test]
    public async Task The_first_contender_holds_the_lease_a_second_one_gets_405_and_the_owner_may_declare_again()
    {
        await using var a = await Broker("a").ConnectAsync(CancellationToken.None);
        await using var b = await Broker("b").ConnectAsync(CancellationToken.None);
        Assert.That((await a.TryAcquireAsync(CancellationToken.None)).Outcome, Is.EqualTo(LeaseOutcome.Acquired));
        Assert.That((await b.TryAcquireAsync(CancellationToken.None)).Outcome, Is.EqualTo(LeaseOutcome.HeldElsewhere), "405 RESOURCE_LOCKED");
        Assert.That((await b.TryAcquireAsync(CancellationToken.None)).Outcome, Is.EqualTo(LeaseOutcome.HeldElsewhere), "the refusal closed only a channel: the connection tries again");
        Assert.That((await a.TryAcquireAsync(CancellationToken.None)).Outcome, Is.EqualTo(LeaseOutcome.Acquired), "the owner's own declaration is no refusal");
        Assert.That(a.Closed.IsCompleted || b.Closed.IsCompleted, Is.False, "405 is a channel error; both connections stay open");
    }

    [Test]
    public async Task Closing_the_owning_connection_frees_the_lease_at_once()
    {
        var a = await Broker("a").ConnectAsync(CancellationToken.None);
        await using var b = await Broker("b").ConnectAsync(CancellationToken.None);
        Assert.That((await a.TryAcquireAsync(CancellationToken.None)).Outcome, Is.EqualTo(LeaseOutcome.Acquired));
        await a.DisposeAsync();
        Assert.That((await b.TryAcquireAsync(CancellationToken.None)).Outcome, Is.EqualTo(LeaseOutcome.Acquired), "the exclusive queue went with its connection");
    }

    [Test]
    public async Task A_hand_over_notice_left_before_the_release_is_taken_once_by_the_next_holder()
    {
        var a = await Broker("a").ConnectAsync(CancellationToken.None);
        await using var b = await Broker("b").ConnectAsync(CancellationToken.None);
        Assert.That((await a.TryAcquireAsync(CancellationToken.None)).Outcome, Is.EqualTo(LeaseOutcome.Acquired));
        await a.StopWatchingNoticesAsync(); // as the election does once it holds the lease: the notices are for standbys
        Assert.That(await a.TakeReleaseNoticeAsync(CancellationToken.None), Is.False, "no notice before any hand-over");
        await a.LeaveReleaseNoticeAsync(CancellationToken.None);
        await a.DisposeAsync();
        Assert.That((await b.TryAcquireAsync(CancellationToken.None)).Outcome, Is.EqualTo(LeaseOutcome.Acquired));
        Assert.That(await b.TakeReleaseNoticeAsync(CancellationToken.None), Is.True, "the planned release left a notice");
        Assert.That(await b.TakeReleaseNoticeAsync(CancellationToken.None), Is.False, "taken once");
    }

    [Test]
    public async Task A_standby_woken_by_the_hand_over_notice_takes_the_lease_long_before_its_next_poll()
    {
        var o = new HighAvailabilityOptions { RetryInterval = TimeSpan.FromSeconds(5), TakeoverDelay = TimeSpan.FromSeconds(5) };
        await using var a = new LeaseElection(o, _lease, Broker("a"), null, NullLogger<LeaseElection>.Instance, TimeProvider.System);
        await using var b = new LeaseElection(o, _lease, Broker("b"), null, NullLogger<LeaseElection>.Instance, TimeProvider.System);
        await a.StartAsync(CancellationToken.None);
        await a.WaitForActiveAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(15)); // first holder: no notice, waits TakeoverDelay
        await b.StartAsync(CancellationToken.None);
        var deadline = DateTime.UtcNow + Step;
        while (!b.LeaseConnected && DateTime.UtcNow < deadline) await Task.Delay(20);
        await Task.Delay(300); // b was refused once and sleeps its 5 s
        var sw = Stopwatch.StartNew();
        await a.StopAsync(CancellationToken.None);
        await b.WaitForActiveAsync(CancellationToken.None).WaitAsync(Step);
        TestContext.Out.WriteLine($"standby active {sw.Elapsed.TotalMilliseconds:0} ms after the stop began (retry interval and takeover delay 5 s)");
        Assert.That(sw.Elapsed, Is.LessThan(TimeSpan.FromSeconds(2)), "woken by the notice, not by its poll, and no takeover delay");
    }

    [Test]
    public async Task A_killed_broker_closes_the_lease_connection()
    {
        RabbitTestEnv.RequireBroker(RabbitTestEnv.Port2);
        var broker = new RabbitLeaseBroker(RabbitTestEnv.Options(RabbitTestEnv.Port2), _lease, "lease-test kill");
        await using var a = await broker.ConnectAsync(CancellationToken.None);
        Assert.That((await a.TryAcquireAsync(CancellationToken.None)).Outcome, Is.EqualTo(LeaseOutcome.Acquired));
        try
        {
            RabbitTestEnv.Control("kill");
            await a.Closed.WaitAsync(Step);
            Assert.That((await a.TryAcquireAsync(CancellationToken.None)).Outcome, Is.EqualTo(LeaseOutcome.Failed), "a dead connection cannot hold the lease");
        }
        finally { RabbitTestEnv.Control("start"); }
        await using var again = await broker.ConnectAsync(CancellationToken.None);
        Assert.That((await again.TryAcquireAsync(CancellationToken.None)).Outcome, Is.EqualTo(LeaseOutcome.Acquired), "a restarted broker has no lease: the first to ask gets it");
    }

    [Test]
    public async Task Two_elections_on_the_real_broker_one_active_then_a_stop_hands_over_within_the_retry_interval()
    {
        var o = new HighAvailabilityOptions { RetryInterval = TimeSpan.FromMilliseconds(200) };
        await using var a = new LeaseElection(o, _lease, Broker("a"), null, NullLogger<LeaseElection>.Instance, TimeProvider.System);
        await using var b = new LeaseElection(o, _lease, Broker("b"), null, NullLogger<LeaseElection>.Instance, TimeProvider.System);
        await a.StartAsync(CancellationToken.None);
        await a.WaitForActiveAsync(CancellationToken.None).WaitAsync(Step);
        await b.StartAsync(CancellationToken.None);
        var deadline = DateTime.UtcNow + Step;
        while (!b.LeaseConnected && DateTime.UtcNow < deadline) await Task.Delay(20);
        await Task.Delay(600); // b has been refused a few times
        Assert.That((a.Role, b.Role), Is.EqualTo((InstanceRole.Active, InstanceRole.Standby)));

        var sw = Stopwatch.StartNew();
        await a.StopAsync(CancellationToken.None);
        var released = sw.Elapsed;
        await b.WaitForActiveAsync(CancellationToken.None).WaitAsync(Step);
        TestContext.Out.WriteLine($"release took {released.TotalMilliseconds:0} ms, standby active {sw.Elapsed.TotalMilliseconds:0} ms after the stop began (retry interval 200 ms)");
        Assert.That(sw.Elapsed, Is.LessThan(TimeSpan.FromSeconds(2)), "a standby takes a released lease at its next try");
    }
}
