using XmppRabbitComponent.HighAvailability;
using XmppRabbitComponent.Tests.Service;

namespace XmppRabbitComponent.Tests.HighAvailability;

/// <summary>A gate the test opens and closes: active with a fresh tenure, or standby (the tenure cancelled).</summary>
internal sealed class ManualGate : IRoleGate
{
    private readonly Lock _lock = new();
    private TaskCompletionSource<CancellationToken> _active = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationTokenSource? _tenure;

    public bool Enabled => true;
    public InstanceRole Role => _tenure is { IsCancellationRequested: false } ? InstanceRole.Active : InstanceRole.Standby;
    public LeaseState State => Role == InstanceRole.Active ? LeaseState.Active : LeaseState.Standby;
    public bool LeaseConnected => true;
    public int Waits;

    public Task<CancellationToken> WaitForActiveAsync(CancellationToken ct)
    {
        Interlocked.Increment(ref Waits);
        lock (_lock) return _active.Task.WaitAsync(ct);
    }

    public void Activate()
    {
        lock (_lock)
        {
            _tenure = new CancellationTokenSource();
            _active.TrySetResult(_tenure.Token);
        }
    }

    /// <summary>Another instance took the lease: the stream must close, no new one until <see cref="Activate"/>.</summary>
    public void Revoke()
    {
        lock (_lock)
        {
            _active = new TaskCompletionSource<CancellationToken>(TaskCreationOptions.RunContinuationsAsynchronously);
            _tenure?.Cancel();
        }
    }
}

/// <summary>The XMPP service behind the role gate, against a fake XMPP server: no stream as standby, a clean close when the lease goes.</summary>
public sealed class RoleGateServiceTests
{
    private static readonly TimeSpan Step = ServiceUnderTest.Step;

    [Test]
    public async Task A_standby_never_connects_to_the_XMPP_server_and_connects_once_it_holds_the_lease()
    {
        var gate = new ManualGate();
        await using var sut = await ServiceUnderTest.StartAsync(gate: gate);
        using var cts = new CancellationTokenSource(Step * 3);
        await Task.Delay(500, cts.Token);
        Assert.That(sut.Server.Attempts, Is.Empty, "a standby opens no XMPP connection");
        Assert.That(sut.State.XmppAuthenticated, Is.False);

        gate.Activate();
        var session = await sut.NextSessionAsync(cts.Token);
        await sut.ProveEventsFlowAsync(session, "as active", cts.Token);
    }

    [Test]
    public async Task Losing_the_lease_closes_the_stream_cleanly_publishes_what_the_server_sent_before_its_close_and_waits_for_the_lease()
    {
        var gate = new ManualGate();
        gate.Activate();
        await using var sut = await ServiceUnderTest.StartAsync(gate: gate);
        using var cts = new CancellationTokenSource(Step * 3);
        var session = await sut.NextSessionAsync(cts.Token);
        await sut.ProveEventsFlowAsync(session, "before", cts.Token);

        gate.Revoke();
        await session.WaitForTextAsync("</stream:stream>", Step, cts.Token);
        // The server had this in flight when our close crossed it: still read, classified and published (RFC 6120 §4.4).
        await session.SendAsync(Stanzas.ChatCopy("in flight", id: "m2"), cts.Token);
        await session.CloseStreamAsync(cts.Token);
        await sut.Publisher.WaitForCountAsync(2, Step, cts.Token);
        await session.ClosedByPeer.WaitAsync(Step, cts.Token);

        await Task.Delay(500, cts.Token);
        Assert.Multiple(() =>
        {
            Assert.That(sut.Server.Attempts, Has.Count.EqualTo(1), "no new connection while another instance holds the lease");
            Assert.That(sut.State.XmppAuthenticated, Is.False);
            Assert.That(sut.Probe.Sum("xmpp_component.stream.reconnects"), Is.Zero, "handing the stream over is not a fault");
            Assert.That(sut.Log.Lines, Has.Some.Contains("another instance holds the lease"), string.Join("\n", sut.Log.Lines));
        });

        gate.Activate();
        var again = await sut.NextSessionAsync(cts.Token);
        await sut.ProveEventsFlowAsync(again, "active again", cts.Token);
    }
}
