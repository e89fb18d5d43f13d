using System.Diagnostics;
using XmppRabbitComponent.Events;
using XmppRabbitComponent.Hosting;

namespace XmppRabbitComponent.Tests.Service;

/// <summary>
/// Stopping closes the XMPP stream cleanly (RFC 6120 §4.4; docs/publishing.md, "Shutdown"): the real
/// <see cref="XmppComponentService"/> sends <c>&lt;/stream:stream&gt;</c>, keeps reading and classifying what the server
/// still sends until the server's own close (or a short timeout), and only then returns, so that the publisher, which
/// stops after it, drains everything the server had sent.
/// </summary>
[CancelAfter(30_000)]
[NonParallelizable]
public class StopTests
{
    private static readonly TimeSpan Step = ServiceUnderTest.Step;

    [Test]
    public async Task Stop_sends_the_stream_close_and_classifies_what_the_server_sends_until_its_own_close(CancellationToken ct)
    {
        await using var sut = await ServiceUnderTest.StartAsync();
        var session = await sut.NextSessionAsync(ct);
        await sut.ProveEventsFlowAsync(session, "before the stop", ct);

        var stop = sut.Service.StopAsync(ct);
        await session.WaitForTextAsync("</stream:stream>", Step, ct);
        Assert.That(stop.IsCompleted, Is.False, "the stop waits for the server's close");
        // What the server had queued before it saw our close still arrives, then its own close.
        await session.SendAsync(Stanzas.ChatCopy("in flight 1", id: "f1") + Stanzas.Presence("carol@localhost/x") + Stanzas.ChatCopy("in flight 2", id: "f2"), ct);
        await session.CloseStreamAsync(ct);
        var sw = Stopwatch.StartNew();
        await stop.WaitAsync(Step, ct);

        var events = sut.Publisher.Events;
        Assert.Multiple(() =>
        {
            Assert.That(events.Skip(1).Select(Describe), Is.EqualTo(new[] { "chat_msg_sent:in flight 1", "presence:carol@localhost/x", "chat_msg_sent:in flight 2" }));
            Assert.That(sw.Elapsed, Is.LessThan(XmppComponentService.CloseTimeout), "the server's close ends the wait, not the timeout");
            Assert.That(sut.Log.Lines, Has.Some.Contains("XMPP stream closed on stop: ClosedLocally"));
            Assert.That(sut.Probe.Sum("xmpp_component.stream.reconnects"), Is.Zero, "a stop is not a reconnect");
        });
        await session.ClosedByPeer.WaitAsync(Step, ct);
    }

    [Test]
    public async Task Stop_gives_up_waiting_for_a_silent_server_after_the_close_timeout_keeping_what_it_read(CancellationToken ct)
    {
        await using var sut = await ServiceUnderTest.StartAsync();
        var session = await sut.NextSessionAsync(ct);
        await sut.ProveEventsFlowAsync(session, "before the stop", ct);

        var sw = Stopwatch.StartNew();
        var stop = sut.Service.StopAsync(ct);
        await session.WaitForTextAsync("</stream:stream>", Step, ct);
        await session.SendAsync(Stanzas.ChatCopy("late but before the timeout", id: "late"), ct);
        await stop.WaitAsync(Step, ct);

        Assert.Multiple(() =>
        {
            Assert.That(sut.Publisher.Events.Select(Describe).Last(), Is.EqualTo("chat_msg_sent:late but before the timeout"));
            Assert.That(sw.Elapsed, Is.GreaterThanOrEqualTo(XmppComponentService.CloseTimeout - TimeSpan.FromMilliseconds(100)), "waited for the server's close");
            Assert.That(sw.Elapsed, Is.LessThan(XmppComponentService.CloseTimeout + TimeSpan.FromSeconds(3)), "then gave up");
        });
        await session.ClosedByPeer.WaitAsync(Step, ct);
    }

    private static string Describe(XmppEvent e) => e switch
    {
        MessageEvent m => $"{e.Kind.Name()}:{m.Message}",
        PresenceEvent p => $"{e.Kind.Name()}:{p.UserId}",
        _ => e.Kind.Name(),
    };
}
