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
    /// <c>EventPusher:Format</c> = <c>cloudevents</c>: the seed JSON unchanged as body and the CloudEvents attributes as
    /// <c>cloudEvents:*</c> headers as docs/asyncapi.yaml documents them (the consumer checks every message against the
    /// document; the assertions here check the values against what happened).
    /// </summary>
    [Test]
    public async Task Presence_and_chat_carry_the_CloudEvents_headers_and_the_seed_body()
    {
        var overrides = new Dictionary<string, string?>
        {
            ["EventPusher:Format"] = "cloudevents",
            ["EventPusher:CloudEvents:TypePrefix"] = "com.example.xmpp.",
            ["Rabbit:ConfirmsEnabled"] = "true", // the client then adds its own sequence header: it must not disturb ours
        };
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        await using var component = Track(await ComponentUnderTest.StartAsync(Facts, overrides));
        var consumer = Track(await TestEventConsumer.StartDefaultAsync(Facts));
        var domain = Facts.XmppDomain;

        var alice = await OnlineAsync("alice", "ce1");
        var presence = (await consumer.TakeAsync(1, EventTimeout)).Single();
        AssertCloudEvent(presence, "presence", $"alice@{domain}", before);
        Assert.That(presence.Body, Is.EqualTo($"{{\"user_id\":\"alice@{domain}/ce1\",\"present\":true}}"));

        await OnlineAsync("bob", "ce1");
        (await consumer.TakeAsync(1, EventTimeout)).Single();
        await alice.SendMessageAsync($"bob@{domain}", "chat", "Hello, \"Bob\" ✓");
        var chat = (await consumer.TakeAsync(2, EventTimeout)).OrderBy(e => e.RoutingKey, StringComparer.Ordinal).ToList();
        var json = $"{{\"to_user_id\":\"bob@{domain}\",\"message\":\"Hello, \\\"Bob\\\" ✓\",\"from_user_id\":\"alice@{domain}/ce1\"}}";
        Assert.That(chat.Select(e => (e.RoutingKey, e.Body)), Is.EqualTo(new[]
        {
            ($"alice@{domain}.chat_msg_sent", json),
            ($"bob@{domain}.chat_msg_recv", json),
        }));
        AssertCloudEvent(chat[0], "chat_msg_sent", $"alice@{domain}", before);
        AssertCloudEvent(chat[1], "chat_msg_recv", $"bob@{domain}", before);
        Assert.That(chat[0].Properties.MessageId, Is.Not.EqualTo(chat[1].Properties.MessageId), "two events, two ids");
    }

    private void AssertCloudEvent(ReceivedEvent e, string kindName, string subject, DateTimeOffset notBefore)
    {
        var headers = e.Properties.Headers!;
        var ce = Contract.CloudEventsReader.FromHeaders(headers);
        Assert.Multiple(() =>
        {
            Assert.That(headers.Keys.Where(k => k.StartsWith("cloudEvents:", StringComparison.Ordinal)), Is.EquivalentTo(global::XmppRabbitComponent.Events.CloudEventsAttributes.Names));
            Assert.That(System.Text.Encoding.UTF8.GetString((byte[])headers["cloudEvents:specversion"]!), Is.EqualTo("1.0"));
            Assert.That(ce.Id, Is.EqualTo(e.Properties.MessageId));
            Assert.That(ce.Source, Is.EqualTo(new Uri("xmpp:" + Facts.ComponentDomain)));
            Assert.That(ce.Type, Is.EqualTo("com.example.xmpp." + kindName));
            Assert.That(ce.Subject, Is.EqualTo(subject));
            Assert.That(ce.Time, Is.InRange(notBefore, DateTimeOffset.UtcNow.AddSeconds(1)));
            Assert.That(ce.Time!.Value.ToUnixTimeSeconds(), Is.EqualTo(e.Properties.Timestamp.UnixTime), "time and the AMQP timestamp are the same instant");
            Assert.That(ce.DataContentType, Is.EqualTo("application/json"));
            Assert.That(e.Properties.ContentType, Is.EqualTo("application/json"));
            Assert.That(e.Properties.Type, Is.EqualTo(kindName));
        });
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
        // Both presences seen: bob is available before alice writes, so nothing goes to offline storage.
        await consumer.TakeAsync(2, EventTimeout);
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
