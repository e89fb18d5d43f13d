using System.Xml.Linq;
using XmppRabbitComponent.Events;

namespace XmppRabbitComponent.Tests.Service;

/// <summary>
/// Faults on the server's side, through the whole service loop: the server closes the stream, sends a
/// stream error, drops or resets TCP, goes silent, refuses the handshake; IQs to the component; nothing already
/// read is lost when a fault follows in the same TCP segment.
/// </summary>
[CancelAfter(30_000)]
[NonParallelizable]
public class ServerFaultTests
{
    private static readonly TimeSpan Step = ServiceUnderTest.Step;
    private const string StreamClose = "</stream:stream>";

    private static async Task AssertReconnectsAndEventsResumeAsync(ServiceUnderTest sut, ServerSession first, string cause, CancellationToken ct)
    {
        await sut.AssertReconnectedAsync(first, cause, ct);
        // Reconnect delay after one failure: ReconnectMinDelay (50 ms) jittered into [25, 50] ms, plus the handshake.
        var gap = sut.Server.Attempts[1] - first.AcceptedAt;
        Assert.That(gap, Is.GreaterThan(TimeSpan.FromMilliseconds(20)));
    }

    [Test]
    public async Task The_server_closing_the_stream_is_answered_with_a_close_and_reconnected(CancellationToken ct)
    {
        await using var sut = await ServiceUnderTest.StartAsync();
        var first = await sut.NextSessionAsync(ct);
        await sut.ProveEventsFlowAsync(first, "before", ct);
        await first.CloseStreamAsync(ct);
        await first.WaitForTextAsync(StreamClose, Step, ct);
        await AssertReconnectsAndEventsResumeAsync(sut, first, "eof", ct);
        Assert.That(sut.Log.Lines, Has.Some.Contains("ended: ServerClosedStream"));
    }

    [TestCase("conflict")]
    [TestCase("system-shutdown")]
    [TestCase("reset")]
    [TestCase("see-other-host")]
    [TestCase("connection-timeout")]
    [TestCase("policy-violation")]
    public async Task A_stream_error_from_the_server_is_answered_with_a_close_logged_and_reconnected(string condition, CancellationToken ct)
    {
        await using var sut = await ServiceUnderTest.StartAsync();
        var first = await sut.NextSessionAsync(ct);
        await first.StreamErrorAsync(condition, ct);
        await first.WaitForTextAsync(StreamClose, Step, ct);
        Assert.That(first.ReceivedAfterHandshake.Trim(), Is.EqualTo(StreamClose), "no stream error of our own in answer to theirs");
        await AssertReconnectsAndEventsResumeAsync(sut, first, condition, ct);
        Assert.That(sut.Log.Lines, Has.Some.Contains("stream error from the server: " + condition));
    }

    [Test]
    public async Task An_unknown_stream_error_condition_counts_as_undefined_condition_and_reconnects(CancellationToken ct)
    {
        await using var sut = await ServiceUnderTest.StartAsync();
        var first = await sut.NextSessionAsync(ct);
        await first.StreamErrorAsync("made-up-condition", ct);
        await AssertReconnectsAndEventsResumeAsync(sut, first, "undefined-condition", ct);
    }

    [Test]
    public async Task A_TCP_close_without_a_stream_close_is_reconnected(CancellationToken ct)
    {
        await using var sut = await ServiceUnderTest.StartAsync();
        var first = await sut.NextSessionAsync(ct);
        await sut.ProveEventsFlowAsync(first, "before", ct);
        first.Drop();
        await AssertReconnectsAndEventsResumeAsync(sut, first, "eof", ct);
        Assert.That(sut.Log.Lines, Has.Some.Contains("ended: ConnectionClosed"));
    }

    [Test]
    public async Task A_TCP_reset_is_reconnected(CancellationToken ct)
    {
        await using var sut = await ServiceUnderTest.StartAsync();
        var first = await sut.NextSessionAsync(ct);
        await sut.ProveEventsFlowAsync(first, "before", ct);
        first.Reset();
        var second = await sut.NextSessionAsync(ct);
        await sut.ProveEventsFlowAsync(second, "after the reconnect", ct);
        Assert.That(sut.Running.IsCompleted, Is.False);
        // Depending on timing the reset surfaces as ECONNRESET (io/socket) or as a plain EOF.
        var causes = new[] { "io", "socket", "eof" }.Sum(c => sut.Probe.Sum("xmpp_component.stream.reconnects", "cause=" + c));
        Assert.That(causes, Is.EqualTo(1));
    }

    [Test]
    public async Task A_silent_server_is_detected_by_the_read_timeout_after_whitespace_keepalives_and_reconnected(CancellationToken ct)
    {
        var readTimeout = TimeSpan.FromMilliseconds(800);
        await using var sut = await ServiceUnderTest.StartAsync(o =>
        {
            o.ReadTimeout = readTimeout;
            o.KeepaliveInterval = TimeSpan.FromMilliseconds(150);
        });
        var first = await sut.NextSessionAsync(ct);
        var lastServerByte = DateTimeOffset.UtcNow;
        // The server goes silent: no byte at all, the socket stays open (half-open from the component's view).
        await first.WaitForTextAsync("<connection-timeout xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>", Step, ct);
        var detected = DateTimeOffset.UtcNow - lastServerByte;
        await sut.AssertReconnectedAsync(first, "timeout", ct);
        Assert.Multiple(() =>
        {
            Assert.That(first.KeepaliveSpaces, Is.GreaterThanOrEqualTo(2), () => $"keepalives in: '{first.ReceivedAfterHandshake}'");
            Assert.That(detected, Is.GreaterThanOrEqualTo(readTimeout - TimeSpan.FromMilliseconds(50)));
            Assert.That(detected, Is.LessThan(readTimeout + TimeSpan.FromSeconds(2)));
            Assert.That(sut.Log.Lines, Has.Some.Contains("half-open"));
        });
    }

    [Test]
    public async Task A_server_that_accepts_TCP_but_never_sends_its_header_hits_the_connect_timeout_and_is_retried(CancellationToken ct)
    {
        await using var sut = await ServiceUnderTest.StartAsync(o => o.ConnectTimeout = TimeSpan.FromMilliseconds(400), mode: HandshakeMode.Silent);
        var hung = await sut.Server.NextSessionAsync(Step, ct);
        await hung.ClosedByPeer.WaitAsync(Step, ct);
        sut.Server.Mode = HandshakeMode.Accept;
        var good = await sut.NextSessionAsync(ct);
        await sut.ProveEventsFlowAsync(good, "after the hang", ct);
        Assert.That(good.AcceptedAt - hung.AcceptedAt, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(400)));
        Assert.That(sut.Probe.Sum("xmpp_component.stream.reconnects", "cause=connect_timeout"), Is.GreaterThanOrEqualTo(1));
    }

    [Test]
    public async Task Consecutive_transport_failures_back_off_exponentially_with_jitter_up_to_the_cap(CancellationToken ct)
    {
        await using var sut = await ServiceUnderTest.StartAsync(mode: HandshakeMode.DropImmediately);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (sut.Server.Attempts.Count < 7 && DateTime.UtcNow < deadline) await Task.Delay(20, ct);
        var t = sut.Server.Attempts;
        Assert.That(t, Has.Count.GreaterThanOrEqualTo(7));
        var gaps = Enumerable.Range(1, 6).Select(i => (t[i] - t[i - 1]).TotalMilliseconds).ToList();
        for (var i = 0; i < gaps.Count; i++)
        {
            // Failure n waits min(50 ms * 2^(n-1), 500 ms) with equal jitter: between half of it and all of it.
            var full = Math.Min(50 * Math.Pow(2, i), 500);
            Assert.That(gaps[i], Is.GreaterThanOrEqualTo(full / 2 - 5), () => $"gap {i}: {string.Join(", ", gaps)}");
            Assert.That(gaps[i], Is.LessThan(full + 400), () => $"gap {i}: {string.Join(", ", gaps)}");
        }
        Assert.That(sut.Running.IsCompleted, Is.False);
    }

    [TestCase(HandshakeMode.RefuseNotAuthorized, "not-authorized")]
    [TestCase(HandshakeMode.RefuseHostUnknown, "host-unknown")]
    public async Task A_refused_handshake_backs_off_to_the_auth_failure_delay_and_says_the_secret_or_domain_is_wrong(HandshakeMode mode, string condition, CancellationToken ct)
    {
        await using var sut = await ServiceUnderTest.StartAsync(mode: mode);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (sut.Server.Attempts.Count < 3 && DateTime.UtcNow < deadline) await Task.Delay(20, ct);
        var t = sut.Server.Attempts;
        Assert.That(t, Has.Count.GreaterThanOrEqualTo(3));
        Assert.Multiple(() =>
        {
            Assert.That(t[1] - t[0], Is.GreaterThanOrEqualTo(sut.Options.AuthFailureDelay));
            Assert.That(t[2] - t[1], Is.GreaterThanOrEqualTo(sut.Options.AuthFailureDelay));
            Assert.That(t[2] - t[1], Is.LessThan(sut.Options.AuthFailureDelay + TimeSpan.FromSeconds(1.5)));
            Assert.That(sut.Log.Lines, Has.Some.Contains("handshake refused (" + condition + ")").And.Contains("Xmpp:Secret").And.Contains("Xmpp:ComponentDomain"));
            Assert.That(sut.Log.Lines, Has.None.Contains(FakeServerSecret));
            Assert.That(sut.State.XmppAuthenticated, Is.False);
            Assert.That(sut.Running.IsCompleted, Is.False);
        });

        // Fixing the server side lets the next attempt in.
        sut.Server.Mode = HandshakeMode.Accept;
        var good = await sut.NextSessionAsync(ct, TimeSpan.FromSeconds(8));
        await sut.ProveEventsFlowAsync(good, "after the fix", ct);
    }

    private const string FakeServerSecret = FakeComponentServer.Secret;

    [Test]
    public async Task IQs_to_the_component_are_answered_over_the_stream_and_results_never(CancellationToken ct)
    {
        await using var sut = await ServiceUnderTest.StartAsync();
        var s = await sut.NextSessionAsync(ct);
        await s.SendAsync(
            "<iq type='get' id='d1' from='localhost' to='events.localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>" +
            "<iq type='get' id='p1' from='alice@localhost/r' to='events.localhost'><ping xmlns='urn:xmpp:ping'/></iq>" +
            "<iq type='set' id='u1' from='alice@localhost/r' to='events.localhost'><foo xmlns='urn:example:unknown'/></iq>" +
            "<iq type='result' id='r1' from='localhost' to='events.localhost'/>" +
            "<iq type='error' id='e1' from='localhost' to='events.localhost'><error type='cancel'/></iq>" +
            "<iq type='get' id='last' from='localhost' to='events.localhost'><ping xmlns='urn:xmpp:ping'/></iq>", ct);
        var text = await s.WaitForTextAsync("id=\"last\"", Step, ct);
        var replies = XElement.Parse("<r xmlns='jabber:component:accept'>" + s.ReceivedAfterHandshake + "</r>").Elements().ToList();
        XNamespace c = "jabber:component:accept";
        Assert.Multiple(() =>
        {
            Assert.That(replies.Select(r => (string?)r.Attribute("id")), Is.EqualTo(new[] { "d1", "p1", "u1", "last" }), text);
            Assert.That((string?)replies[0].Attribute("type"), Is.EqualTo("result"));
            Assert.That(replies[0].Descendants("{http://jabber.org/protocol/disco#info}feature").Select(f => (string?)f.Attribute("var")), Does.Contain("urn:xmpp:ping"));
            Assert.That((string?)replies[1].Attribute("type"), Is.EqualTo("result"));
            Assert.That((string?)replies[1].Attribute("to"), Is.EqualTo("alice@localhost/r"));
            Assert.That((string?)replies[2].Attribute("type"), Is.EqualTo("error"));
            Assert.That(replies[2].Descendants("{urn:ietf:params:xml:ns:xmpp-stanzas}service-unavailable").Count(), Is.EqualTo(1));
            Assert.That(sut.Publisher.Events, Is.Empty);
            Assert.That(sut.Probe.Sum("xmpp_component.stanzas.skipped", "reason=iq"), Is.EqualTo(6));
        });
    }

    [TestCase("<!-- garbage -->", "restricted-xml", TestName = "Stanzas fully received before a restricted-xml fault in the same segment are published")]
    [TestCase("\u0001", "not-well-formed", TestName = "Stanzas fully received before a not-well-formed fault in the same segment are published")]
    [TestCase("<message>" , "eof", TestName = "Stanzas fully received before a truncated stanza and EOF are published")]
    [TestCase("</stream:stream>", "eof", TestName = "Stanzas fully received before the stream close in the same segment are published")]
    [TestCase("<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>", "conflict", TestName = "Stanzas fully received before a server stream error in the same segment are published")]
    public async Task Nothing_already_read_is_lost(string fault, string cause, CancellationToken ct)
    {
        await using var sut = await ServiceUnderTest.StartAsync();
        var first = await sut.NextSessionAsync(ct);
        var segment = Stanzas.ChatCopy("one", id: "a1") + Stanzas.Presence("bob@localhost/phone") + Stanzas.ChatCopy("two", id: "a2") + fault;
        await first.SendAsync(segment, ct);
        if (cause == "eof" && !fault.StartsWith("</", StringComparison.Ordinal)) first.Drop();
        var events = await sut.Publisher.WaitForCountAsync(3, Step, ct);
        Assert.That(events.Select(Describe), Is.EqualTo(new[] { "chat_msg_sent:one", "presence:bob@localhost/phone:True", "chat_msg_sent:two" }));
        var second = await sut.NextSessionAsync(ct);
        await sut.ProveEventsFlowAsync(second, "after", ct);
        Assert.That(sut.Probe.Sum("xmpp_component.stream.reconnects", "cause=" + cause), Is.EqualTo(1));
        Assert.That(sut.Running.IsCompleted, Is.False);
    }

    private static string Describe(XmppEvent e) => e switch
    {
        MessageEvent m => $"{m.Kind.Name()}:{m.Message}",
        PresenceEvent p => $"presence:{p.UserId}:{p.Present}",
        _ => e.ToString()!,
    };
}

/// <summary>A <c>not-authorized</c> or <c>host-unknown</c> stream error on a stream that had authenticated is not a refused handshake.</summary>
[CancelAfter(30_000)]
[NonParallelizable]
public class PostAuthenticationRefusalTests
{
    [TestCase("not-authorized")]
    [TestCase("host-unknown")]
    public async Task After_authentication_it_is_an_ordinary_stream_error_reconnected_quickly_without_blaming_the_secret(string condition, CancellationToken ct)
    {
        await using var sut = await ServiceUnderTest.StartAsync(o => o.AuthFailureDelay = TimeSpan.FromSeconds(20));
        var first = await sut.NextSessionAsync(ct);
        await sut.ProveEventsFlowAsync(first, "before", ct);
        await first.StreamErrorAsync(condition, ct);
        var second = await sut.NextSessionAsync(ct, TimeSpan.FromSeconds(5));
        await sut.ProveEventsFlowAsync(second, "after", ct);
        Assert.Multiple(() =>
        {
            Assert.That(second.AcceptedAt - first.AcceptedAt, Is.LessThan(TimeSpan.FromSeconds(5)), "not the 20 s auth failure delay");
            Assert.That(sut.Log.Lines, Has.None.Contains("handshake refused"));
            Assert.That(sut.Log.Lines, Has.Some.Contains("stream error from the server: " + condition));
            Assert.That(sut.Probe.Sum("xmpp_component.stream.reconnects", "cause=" + condition), Is.EqualTo(1));
        });
    }
}
