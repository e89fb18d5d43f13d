using XmppRabbitComponent.Tests.Support;

namespace XmppRabbitComponent.Tests.Integration;

/// <summary>
/// End to end, once per XMPP server (<see cref="TestServers.XmppKinds"/>): real users on a real server, the real
/// component, a real RabbitMQ consumer asserting exact exchanges, routing keys and JSON.
/// </summary>
[TestFixtureSource(typeof(TestServers), nameof(TestServers.XmppKinds))]
[Category("Integration"), NonParallelizable]
public sealed class EndToEndTests(XmppServerKind kind) : XmppServerFixture(kind)
{
    [Test]
    public async Task Login_show_change_and_logout_publish_present_true_then_nothing_then_present_false()
    {
        await using var component = Track(await ComponentUnderTest.StartAsync(Facts));
        var consumer = Track(await TestEventConsumer.StartDefaultAsync(Facts));

        var alice = await OnlineAsync("alice", "pres1");
        AssertEvents(await consumer.TakeAsync(1, EventTimeout), ("presence", "alice@localhost", Presence("alice@localhost/pres1", true)));
        var first = (await consumer.DrainAsync(Quiet));
        Assert.That(first, Is.Empty, "one login is one event, whatever number of feeds report it");

        await alice.SendPresenceAsync(show: "away");
        Assert.That(await consumer.DrainAsync(Quiet), Is.Empty, "a show change is not a presence change");

        await alice.SendPresenceAsync("unavailable");
        AssertEvents(await consumer.TakeAsync(1, EventTimeout), ("presence", "alice@localhost", Presence("alice@localhost/pres1", false)));
        Assert.That(await consumer.DrainAsync(Quiet), Is.Empty);
    }

    [Test]
    public async Task Published_messages_carry_content_type_json()
    {
        await using var component = Track(await ComponentUnderTest.StartAsync(Facts));
        var consumer = Track(await TestEventConsumer.StartDefaultAsync(Facts));
        await OnlineAsync("alice", "props");
        var e = (await consumer.TakeAsync(1, EventTimeout)).Single();
        Assert.That(e.Properties.ContentType, Is.EqualTo("application/json"));
    }

    [Test]
    public async Task Chat_to_a_bare_and_to_a_full_JID_publishes_one_sent_and_one_received_each()
    {
        await using var component = Track(await ComponentUnderTest.StartAsync(Facts));
        var consumer = Track(await TestEventConsumer.StartDefaultAsync(Facts));
        var alice = await OnlineAsync("alice", "chat1");
        var bob = await OnlineAsync("bob", "chat1");
        await consumer.TakeAsync(2, EventTimeout); // the two logins
        await consumer.DrainAsync(Quiet);

        await alice.SendMessageAsync("bob@localhost", "chat", "Hello, Bob");
        await bob.WaitForAsync(m => m.Name.LocalName == "message", EventTimeout);
        AssertEvents(await consumer.TakeAsync(2, EventTimeout),
            ("chat_msg", "alice@localhost.chat_msg_sent", Msg("bob@localhost", "Hello, Bob", "alice@localhost/chat1")),
            ("chat_msg", "bob@localhost.chat_msg_recv", Msg("bob@localhost", "Hello, Bob", "alice@localhost/chat1")));
        Assert.That(await consumer.DrainAsync(Quiet), Is.Empty);

        await bob.SendMessageAsync("alice@localhost/chat1", "chat", "Hi <Alice> & \"friends\" 😀");
        AssertEvents(await consumer.TakeAsync(2, EventTimeout),
            ("chat_msg", "bob@localhost.chat_msg_sent", Msg("alice@localhost/chat1", "Hi <Alice> & \\\"friends\\\" 😀", "bob@localhost/chat1")),
            ("chat_msg", "alice@localhost.chat_msg_recv", Msg("alice@localhost/chat1", "Hi <Alice> & \\\"friends\\\" 😀", "bob@localhost/chat1")));
        Assert.That(await consumer.DrainAsync(Quiet), Is.Empty);
    }

    [Test]
    public async Task Chat_without_body_headline_and_normal_messages_publish_nothing()
    {
        await using var component = Track(await ComponentUnderTest.StartAsync(Facts));
        var consumer = Track(await TestEventConsumer.StartDefaultAsync(Facts));
        var alice = await OnlineAsync("alice", "skip1");
        var bob = await OnlineAsync("bob", "skip1");
        await consumer.TakeAsync(2, EventTimeout);
        await consumer.DrainAsync(Quiet);

        var chatStates = System.Xml.Linq.XNamespace.Get("http://jabber.org/protocol/chatstates");
        await alice.SendMessageAsync("bob@localhost", "chat", null, extra: [new System.Xml.Linq.XElement(chatStates + "composing")]);
        await alice.SendMessageAsync("bob@localhost", "headline", "news");
        await alice.SendMessageAsync("bob@localhost", "normal", "plain normal");
        // a marker that everything before it was processed: this one must come through
        await alice.SendMessageAsync("bob@localhost", "chat", "after");
        var events = await consumer.TakeAsync(2, EventTimeout);
        AssertEvents(events,
            ("chat_msg", "alice@localhost.chat_msg_sent", Msg("bob@localhost", "after", "alice@localhost/skip1")),
            ("chat_msg", "bob@localhost.chat_msg_recv", Msg("bob@localhost", "after", "alice@localhost/skip1")));
        Assert.That(await consumer.DrainAsync(Quiet), Is.Empty);
    }

    [Test]
    public async Task Groupchat_publishes_one_sent_and_one_received_per_occupant_and_markers_publish_nothing()
    {
        await using var component = Track(await ComponentUnderTest.StartAsync(Facts));
        var consumer = Track(await TestEventConsumer.StartDefaultAsync(Facts));
        var alice = await OnlineAsync("alice", "muc1");
        var bob = await OnlineAsync("bob", "muc1");
        var room = $"e2e-{Guid.NewGuid():N}@{Facts.MucDomain}";
        await alice.JoinRoomAsync(room, "alice");
        await bob.JoinRoomAsync(room, "bob");
        await consumer.TakeAsync(2, EventTimeout); // logins; joining a room is not going online
        Assert.That(await consumer.DrainAsync(Quiet), Is.Empty, "joining a room publishes no presence event");

        await bob.SendMessageAsync(room, "groupchat", "Hi, Everyone!");
        AssertEvents(await consumer.TakeAsync(3, EventTimeout),
            ("groupchat_msg", "bob@localhost.groupchat_msg_sent", Msg(room, "Hi, Everyone!", "bob@localhost/muc1")),
            ("groupchat_msg", "alice@localhost.groupchat_msg_recv", Msg("alice@localhost/muc1", "Hi, Everyone!", room + "/bob")),
            ("groupchat_msg", "bob@localhost.groupchat_msg_recv", Msg("bob@localhost/muc1", "Hi, Everyone!", room + "/bob")));
        Assert.That(await consumer.DrainAsync(Quiet), Is.Empty);

        var markers = System.Xml.Linq.XNamespace.Get("urn:xmpp:chat-markers:0");
        await alice.SendMessageAsync(room, "groupchat", null, extra: [new System.Xml.Linq.XElement(markers + "displayed", new System.Xml.Linq.XAttribute("id", "x1"))]);
        Assert.That(await consumer.DrainAsync(Quiet), Is.Empty, "a marker-only groupchat publishes nothing");
    }

    [Test]
    public async Task Custom_exchange_names_and_topics_are_used_and_a_disabled_exchange_gets_nothing()
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var overrides = new Dictionary<string, string?>
        {
            ["EventPusher:Rabbit:PresenceExchange:Enabled"] = "false",
            ["EventPusher:Rabbit:PresenceExchange:Name"] = $"custom_presence_{suffix}",
            ["EventPusher:Rabbit:ChatMsgExchange:Name"] = $"custom_chat_{suffix}",
            ["EventPusher:Rabbit:ChatMsgExchange:Type"] = "direct",
            ["EventPusher:Rabbit:ChatMsgExchange:SentTopic"] = "out",
            ["EventPusher:Rabbit:ChatMsgExchange:RecvTopic"] = "in",
            ["EventPusher:Rabbit:GroupchatMsgExchange:Name"] = $"custom_group_{suffix}",
        };
        await using var component = Track(await ComponentUnderTest.StartAsync(Facts, overrides));
        Assert.That(await TestEventConsumer.ExchangeExistsAsync(Facts, $"custom_group_{suffix}"), Is.True, "enabled exchanges are declared at start");
        Assert.That(await TestEventConsumer.ExchangeExistsAsync(Facts, $"custom_presence_{suffix}"), Is.False, "a disabled exchange is not declared");
        var consumer = Track(await TestEventConsumer.StartAsync(Facts, ("presence", "topic", false)));
        // a direct exchange needs exact bindings
        var direct = Track(await TestEventConsumer.StartDirectAsync(Facts, $"custom_chat_{suffix}", "alice@localhost.out", "bob@localhost.in"));

        var alice = await OnlineAsync("alice", "cust1");
        var bob = await OnlineAsync("bob", "cust1");
        await bob.WaitForAsync(p => p.Name.LocalName == "presence" && ((string?)p.Attribute("from"))?.StartsWith("alice@") == true, EventTimeout);
        await alice.SendMessageAsync("bob@localhost", "chat", "custom");
        AssertEvents(await direct.TakeAsync(2, EventTimeout),
            ($"custom_chat_{suffix}", "alice@localhost.out", Msg("bob@localhost", "custom", "alice@localhost/cust1")),
            ($"custom_chat_{suffix}", "bob@localhost.in", Msg("bob@localhost", "custom", "alice@localhost/cust1")));
        Assert.That(await consumer.DrainAsync(Quiet), Is.Empty, "the presence exchange is disabled: logins publish nothing, not even to the default name");
    }

    /// <summary>
    /// Stop closes the stream as RFC 6120 §4.4 asks and loses nothing the server had sent (docs/publishing.md,
    /// "Shutdown"): the server answers our <c>&lt;/stream:stream&gt;</c> (so the stop does not wait for the close
    /// timeout), and every copy routed to the component before the stop is published.
    /// </summary>
    [Test]
    public async Task Stopping_closes_the_stream_cleanly_and_publishes_everything_the_server_had_sent()
    {
        var component = await ComponentUnderTest.StartAsync(Facts);
        var consumer = Track(await TestEventConsumer.StartDefaultAsync(Facts));
        var alice = await OnlineAsync("alice", "stop1");
        var bob = await OnlineAsync("bob", "stop1");
        const int n = 30;
        for (var i = 0; i < n; i++) await alice.SendMessageAsync("bob@localhost", "chat", $"stop {i}");
        // Bob has the last message: the server has routed every copy (sent and received) to the component.
        await bob.WaitForAsync(m => m.Name.LocalName == "message" && m.Elements().Any(b => b.Name.LocalName == "body" && b.Value == $"stop {n - 1}"), EventTimeout);

        var sw = System.Diagnostics.Stopwatch.StartNew();
        await component.DisposeAsync();
        sw.Stop();

        var chat = (await consumer.DrainAsync(Quiet)).Where(e => e.Exchange == "chat_msg").ToList();
        var want = Enumerable.Range(0, n).Select(i => $"stop {i}").ToList();
        string Body(ReceivedEvent e) => System.Text.Json.JsonDocument.Parse(e.Body).RootElement.GetProperty("message").GetString()!;
        Assert.Multiple(() =>
        {
            Assert.That(chat.Where(e => e.RoutingKey.EndsWith(".chat_msg_sent")).Select(Body), Is.EqualTo(want), "every sent event, in order");
            Assert.That(chat.Where(e => e.RoutingKey.EndsWith(".chat_msg_recv")).Select(Body), Is.EqualTo(want), "every received event, in order");
            Assert.That(sw.Elapsed, Is.LessThan(XmppRabbitComponent.Hosting.XmppComponentService.CloseTimeout),
                "the server answered our </stream:stream>: the stop did not wait for the close timeout");
        });
    }
}
