using System.Threading.Channels;
using System.Xml.Linq;
using XmppRabbitComponent.Xmpp;

namespace XmppRabbitComponent.Tests.Xmpp;

[CancelAfter(20_000)]
public class ComponentConnectionTests
{
    private static readonly XNamespace C = "jabber:component:accept";
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(5);

    private static async Task<(ComponentConnection Connection, FakeXmppServer Server)> ConnectedAsync(
        CapturingLogger logger, CancellationToken ct, Action<Configuration.XmppOptions>? configure = null)
    {
        var server = new FakeXmppServer();
        var handshake = server.HandshakeAsync(ct);
        var connection = await ComponentConnection.ConnectAsync(server.Options(configure), logger, ct);
        await handshake;
        return (connection, server);
    }

    [Test]
    public async Task Handshake_with_the_right_digest_connects_and_exposes_the_stream_id(CancellationToken ct)
    {
        var logger = new CapturingLogger();
        var (connection, server) = await ConnectedAsync(logger, ct);
        await using var _ = server;
        await using var __ = connection;

        Assert.That(connection.StreamId, Is.EqualTo(FakeXmppServer.StreamId));
        Assert.That(server.Received, Does.StartWith("<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='events.localhost'>"));
    }

    [Test]
    public async Task Neither_the_secret_nor_the_digest_is_ever_logged(CancellationToken ct)
    {
        var logger = new CapturingLogger();
        var (connection, server) = await ConnectedAsync(logger, ct);
        await using var _ = server;
        await connection.CloseAsync(ct);

        var digest = HandshakeDigest.Compute(FakeXmppServer.StreamId, FakeXmppServer.Secret);
        Assert.That(logger.Lines, Is.Not.Empty);
        Assert.That(logger.Lines, Has.None.Contains(FakeXmppServer.Secret).And.None.Contains(digest));
    }

    [TestCase("=== wrong secret")]
    [TestCase("=== unknown component domain (not in hosts:)")]
    public async Task A_refused_handshake_throws_not_authorized(string section, CancellationToken ct)
    {
        var lines = File.ReadAllLines(Path.Combine(TestContext.CurrentContext.TestDirectory, "TestData", "captures", "handshake-errors.txt"));
        var wire = lines[Array.IndexOf(lines, section) + 1];
        await using var server = new FakeXmppServer();
        var script = Task.Run(async () =>
        {
            await server.AcceptAsync(ct);
            await server.ReceiveUntilAsync("'>", ct);
            // ejabberd sends its header, reads the handshake, then refuses; send all at once after the handshake.
            var headerEnd = wire.IndexOf("xmlns='jabber:component:accept'>", StringComparison.Ordinal) + "xmlns='jabber:component:accept'>".Length;
            await server.SendAsync(wire[..headerEnd], ct);
            await server.ReceiveUntilAsync("</handshake>", ct);
            await server.SendAsync(wire[headerEnd..], ct);
            return await server.ReceiveToEndAsync(ct);
        }, ct);

        var ex = Assert.ThrowsAsync<StreamErrorException>(() => ComponentConnection.ConnectAsync(server.Options(), new CapturingLogger(), ct))!;
        Assert.That(ex.Condition, Is.EqualTo(StreamErrorCondition.NotAuthorized));
        Assert.That(ex.IsAuthenticationRefusal, Is.True);
        Assert.That(ReconnectPolicy.Classify(ex), Is.EqualTo(FailureKind.AuthenticationRefused));
        Assert.That(await script.WaitAsync(Step, ct), Does.EndWith("</stream:stream>"));
    }

    [Test]
    public async Task A_server_that_never_answers_hits_the_connect_timeout(CancellationToken ct)
    {
        await using var server = new FakeXmppServer();
        var accept = server.AcceptAsync(ct);
        var options = server.Options(o => o.ConnectTimeout = TimeSpan.FromMilliseconds(300));
        var ex = Assert.ThrowsAsync<XmppStreamTimeoutException>(() => ComponentConnection.ConnectAsync(options, new CapturingLogger(), ct))!;
        Assert.That(ex.Kind, Is.EqualTo(XmppTimeoutKind.Connect));
        await accept;
    }

    [Test]
    public async Task Stanzas_are_yielded_as_soon_as_they_arrive_and_a_server_close_ends_the_enumeration(CancellationToken ct)
    {
        var (connection, server) = await ConnectedAsync(new CapturingLogger(), ct);
        await using var _ = server;
        await using var __ = connection;
        await using var stanzas = connection.ReadStanzasAsync(ct).GetAsyncEnumerator(ct);

        // The first stanza arrives alone: it must be yielded without waiting for any further byte.
        await server.SendAsync("<message to='events.localhost' from='localhost' id='1'><body>one</body></message> ", ct);
        Assert.That(await stanzas.MoveNextAsync().AsTask().WaitAsync(Step, ct), Is.True);
        Assert.That(stanzas.Current.Name, Is.EqualTo(C + "message"));
        Assert.That(stanzas.Current.Element(C + "body")!.Value, Is.EqualTo("one"));

        // A stanza split over two writes is yielded once complete.
        await server.SendAsync("<presence from='alice@localhost/r' to='events.localhost'", ct);
        var pending = stanzas.MoveNextAsync().AsTask();
        await Task.Delay(100, ct);
        Assert.That(pending.IsCompleted, Is.False);
        await server.SendAsync("/>", ct);
        Assert.That(await pending.WaitAsync(Step, ct), Is.True);
        Assert.That(stanzas.Current.Name, Is.EqualTo(C + "presence"));

        await server.SendAsync("</stream:stream>", ct);
        Assert.That(await stanzas.MoveNextAsync().AsTask().WaitAsync(Step, ct), Is.False);
        Assert.That(connection.EndReason, Is.EqualTo(StreamEndReason.ServerClosedStream));
        Assert.That(await server.ReceiveUntilAsync("</stream:stream>", ct).WaitAsync(Step, ct), Does.EndWith("</stream:stream>"));
    }

    [Test]
    public async Task EOF_without_a_stream_close_ends_the_enumeration_as_connection_closed(CancellationToken ct)
    {
        var (connection, server) = await ConnectedAsync(new CapturingLogger(), ct);
        await using var _ = server;
        await using var __ = connection;
        await server.SendAsync("<message id='1'/>", ct);
        server.CloseClient();

        var received = new List<XElement>();
        await foreach (var s in connection.ReadStanzasAsync(ct)) received.Add(s);
        Assert.That(received, Has.Count.EqualTo(1));
        Assert.That(connection.EndReason, Is.EqualTo(StreamEndReason.ConnectionClosed));
    }

    [TestCase("<message><!-- hidden --></message>", "restricted-xml")]
    [TestCase("<message><body>&xxe;</body></message>", "restricted-xml")]
    [TestCase("<message><foo:bar/></message>", "not-well-formed")]
    [TestCase("hello", "not-well-formed")]
    public async Task Our_protocol_violation_reaches_the_server_as_a_stream_error_before_we_throw(string wire, string condition, CancellationToken ct)
    {
        var (connection, server) = await ConnectedAsync(new CapturingLogger(), ct);
        await using var _ = server;
        await using var __ = connection;
        await server.SendAsync(wire, ct);

        var ex = Assert.ThrowsAsync<XmppProtocolException>(async () => { await foreach (var s in connection.ReadStanzasAsync(ct)) { } })!;
        Assert.That(ex.Condition.ToWireName(), Is.EqualTo(condition));
        var expected = $"<stream:error><{condition} xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>";
        Assert.That(await server.ReceiveUntilAsync("</stream:stream>", ct).WaitAsync(Step, ct), Does.EndWith(expected));
    }

    [Test]
    public async Task A_stanza_over_the_size_limit_is_answered_with_policy_violation(CancellationToken ct)
    {
        var (connection, server) = await ConnectedAsync(new CapturingLogger(), ct, configure: o => o.MaxStanzaSize = 1024);
        await using var _ = server;
        await using var __ = connection;
        await server.SendAsync("<message><body>" + new string('x', 4000), ct);

        var ex = Assert.ThrowsAsync<XmppProtocolException>(async () => { await foreach (var s in connection.ReadStanzasAsync(ct)) { } })!;
        Assert.That(ex.Condition, Is.EqualTo(StreamErrorCondition.PolicyViolation));
        Assert.That(await server.ReceiveUntilAsync("</stream:stream>", ct).WaitAsync(Step, ct), Does.Contain("<policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"));
    }

    [Test]
    public async Task A_server_stream_error_after_authentication_is_thrown_typed(CancellationToken ct)
    {
        var (connection, server) = await ConnectedAsync(new CapturingLogger(), ct);
        await using var _ = server;
        await using var __ = connection;
        await server.SendAsync("<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>", ct);

        var ex = Assert.ThrowsAsync<StreamErrorException>(async () => { await foreach (var s in connection.ReadStanzasAsync(ct)) { } })!;
        Assert.That(ex.Condition, Is.EqualTo(StreamErrorCondition.Conflict));
        Assert.That(ReconnectPolicy.Classify(ex), Is.EqualTo(FailureKind.Protocol));
    }

    [Test]
    public async Task Silence_longer_than_the_read_timeout_throws_a_read_timeout(CancellationToken ct)
    {
        var (connection, server) = await ConnectedAsync(new CapturingLogger(), ct, configure: o => o.ReadTimeout = TimeSpan.FromMilliseconds(400));
        await using var _ = server;
        await using var __ = connection;

        var ex = Assert.ThrowsAsync<XmppStreamTimeoutException>(async () => { await foreach (var s in connection.ReadStanzasAsync(ct)) { } })!;
        Assert.That(ex.Kind, Is.EqualTo(XmppTimeoutKind.Read));
        Assert.That(ex.Cause, Is.EqualTo("timeout"));
    }

    [Test]
    public async Task Handling_a_stanza_for_longer_than_the_read_timeout_is_no_read_timeout_and_a_later_silence_still_is(CancellationToken ct)
    {
        // The read timeout covers waiting for bytes only: its timer source is reused across reads, and a timer that
        // ran out while the caller was busy between reads must not cancel the next read.
        var (connection, server) = await ConnectedAsync(new CapturingLogger(), ct, configure: o => o.ReadTimeout = TimeSpan.FromMilliseconds(300));
        await using var _ = server;
        await using var __ = connection;
        await server.SendAsync("<message id='1'/><message id='2'/>", ct);
        var ids = new List<string?>();
        var ex = Assert.ThrowsAsync<XmppStreamTimeoutException>(async () =>
        {
            await foreach (var s in connection.ReadStanzasAsync(ct))
            {
                ids.Add((string?)s.Attribute("id"));
                if (ids.Count == 2)
                {
                    await Task.Delay(900, ct); // busy for three read timeouts
                    await server.SendAsync("<message id='3'/>", ct);
                    await Task.Delay(100, ct);
                }
            }
        })!;
        Assert.That(ids, Is.EqualTo(new[] { "1", "2", "3" }));
        Assert.That(ex.Kind, Is.EqualTo(XmppTimeoutKind.Read));
    }

    [Test]
    public async Task Keepalives_keep_coming_between_sends(CancellationToken ct)
    {
        // The idle timer source is reused and replaced after each keepalive: two spaces after every send, three rounds.
        var (connection, server) = await ConnectedAsync(new CapturingLogger(), ct, configure: o => o.KeepaliveInterval = TimeSpan.FromMilliseconds(150));
        await using var _ = server;
        await using var __ = connection;
        for (var round = 1; round <= 3; round++)
        {
            await connection.SendAsync(new XElement(C + "message", new XAttribute("id", $"r{round}")), ct);
            var text = await server.ReceiveUntilAsync($"id=\"r{round}\" />  ", ct).WaitAsync(Step, ct);
            Assert.That(text, Does.EndWith($"id=\"r{round}\" />  "), $"round {round}");
        }
    }

    [Test]
    public async Task Whitespace_keepalives_keep_a_stream_alive_past_the_read_timeout(CancellationToken ct)
    {
        // The server echoes nothing but whitespace keepalives of its own; the read timeout must not fire.
        var (connection, server) = await ConnectedAsync(new CapturingLogger(), ct, configure: o => o.ReadTimeout = TimeSpan.FromMilliseconds(500));
        await using var _ = server;
        await using var __ = connection;
        var reading = Task.Run(async () => { await foreach (var s in connection.ReadStanzasAsync(ct)) { } }, ct);
        for (var i = 0; i < 6; i++)
        {
            await Task.Delay(200, ct);
            await server.SendAsync(" ", ct);
        }
        await server.SendAsync("</stream:stream>", ct);
        await reading.WaitAsync(Step, ct);
        Assert.That(connection.EndReason, Is.EqualTo(StreamEndReason.ServerClosedStream));
    }

    [Test]
    public async Task A_single_space_is_written_after_the_keepalive_interval_of_write_silence(CancellationToken ct)
    {
        var (connection, server) = await ConnectedAsync(new CapturingLogger(), ct, configure: o => o.KeepaliveInterval = TimeSpan.FromMilliseconds(200));
        await using var _ = server;
        await using var __ = connection;
        var afterHandshake = server.Received.Length;

        var text = await server.ReceiveUntilAsync("</handshake> ", ct).WaitAsync(Step, ct);
        Assert.That(text[afterHandshake..], Does.StartWith(" "));
    }

    [Test]
    public async Task Sent_stanzas_reach_the_server_in_the_component_namespace_without_xmlns(CancellationToken ct)
    {
        var (connection, server) = await ConnectedAsync(new CapturingLogger(), ct);
        await using var _ = server;
        await using var __ = connection;
        var iq = new XElement(C + "iq", new XAttribute("type", "get"), new XAttribute("id", "d1"), new XAttribute("to", FakeXmppServer.Domain), new XAttribute("from", "alice@localhost/r"),
            new XElement(XName.Get("query", "http://jabber.org/protocol/disco#info")));
        await connection.SendAsync(IqResponder.Respond(iq, FakeXmppServer.Domain)!, ct);

        var text = await server.ReceiveUntilAsync("</iq>", ct).WaitAsync(Step, ct);
        Assert.That(text, Does.Contain("<iq type=\"result\" id=\"d1\" from=\"events.localhost\" to=\"alice@localhost/r\"><query xmlns=\"http://jabber.org/protocol/disco#info\">"));
    }

    [Test]
    public async Task CloseAsync_sends_the_stream_close_and_a_running_enumeration_ends_as_closed_locally(CancellationToken ct)
    {
        var (connection, server) = await ConnectedAsync(new CapturingLogger(), ct);
        await using var _ = server;
        // Start the enumeration before closing: MoveNextAsync runs synchronously up to its first read.
        var stanzas = connection.ReadStanzasAsync(ct).GetAsyncEnumerator(ct);
        var reading = stanzas.MoveNextAsync().AsTask();
        var serverSide = Task.Run(async () =>
        {
            await server.ReceiveUntilAsync("</stream:stream>", ct);
            await server.SendAsync("</stream:stream>", ct);
        }, ct);

        await connection.CloseAsync(ct).WaitAsync(Step, ct);
        await serverSide.WaitAsync(Step, ct);
        Assert.That(await reading.WaitAsync(Step, ct), Is.False);
        await stanzas.DisposeAsync();
        Assert.That(connection.EndReason, Is.EqualTo(StreamEndReason.ClosedLocally));
    }

    [Test]
    public async Task Sending_after_the_write_loop_died_fails_instead_of_hanging(CancellationToken ct)
    {
        var (connection, server) = await ConnectedAsync(new CapturingLogger(), ct);
        await using var _ = server;
        await connection.DisposeAsync();
        Assert.ThrowsAsync<ChannelClosedException>(async () => await connection.SendAsync(new XElement(C + "message"), ct).AsTask().WaitAsync(Step, ct));
    }

    [Test]
    public async Task Enumerating_a_disposed_connection_throws_ObjectDisposedException(CancellationToken ct)
    {
        var (connection, server) = await ConnectedAsync(new CapturingLogger(), ct);
        await using var _ = server;
        await connection.DisposeAsync();
        Assert.ThrowsAsync<ObjectDisposedException>(async () => { await foreach (var s in connection.ReadStanzasAsync(ct)) { } });
    }

    [Test]
    public async Task Disposing_during_a_pending_read_ends_the_enumeration_with_an_exception_not_a_hang(CancellationToken ct)
    {
        var (connection, server) = await ConnectedAsync(new CapturingLogger(), ct);
        await using var _ = server;
        var stanzas = connection.ReadStanzasAsync(ct).GetAsyncEnumerator(ct);
        var pending = stanzas.MoveNextAsync().AsTask();
        await connection.DisposeAsync().AsTask().WaitAsync(Step, ct);
        Assert.That(async () => await pending.WaitAsync(Step, ct), Throws.InstanceOf<Exception>().And.Not.InstanceOf<TimeoutException>());
        await stanzas.DisposeAsync();
    }

    [Test]
    public async Task The_stanzas_can_be_enumerated_only_once(CancellationToken ct)
    {
        var (connection, server) = await ConnectedAsync(new CapturingLogger(), ct);
        await using var _ = server;
        await using var __ = connection;
        await using var first = connection.ReadStanzasAsync(ct).GetAsyncEnumerator(ct);
        var pending = first.MoveNextAsync();
        Assert.ThrowsAsync<InvalidOperationException>(async () => { await foreach (var s in connection.ReadStanzasAsync(ct)) { } });
        server.CloseClient();
        Assert.That(await pending.AsTask().WaitAsync(Step, ct), Is.False);
    }
}
