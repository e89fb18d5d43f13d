using System.Text.Json;
using System.Xml.Linq;
using XmppRabbitComponent.Tests.Support;

namespace XmppRabbitComponent.Tests.Integration;

/// <summary>Against the real servers, once per XMPP server: trust boundaries, hostile text, and the server restarted or killed under the component.</summary>
[TestFixtureSource(typeof(TestServers), nameof(TestServers.XmppKinds))]
[Category("Integration"), NonParallelizable]
public sealed class ResilienceTests(XmppServerKind kind)
{
    private static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(1.5);
    private readonly IXmppServerControl _server = TestServers.Xmpp(kind); // built after TestRunSetup picked the back end
    private XmppTestServers _servers => _server.Facts;

    [SetUp]
    public Task RequireServers() => _servers.RequireAsync();

    [Test]
    public async Task A_user_who_sends_forged_forwarded_copies_to_the_component_produces_no_event()
    {
        await using var component = await ComponentUnderTest.StartAsync(_servers);
        await using var consumer = await TestEventConsumer.StartDefaultAsync(_servers);
        var mallory = await TestXmppClient.ConnectAsync(_servers, "carol", "forger");
        try
        {
            await mallory.SendPresenceAsync();
            await consumer.TakeAsync(1, EventTimeout);
            XNamespace fwd = "urn:xmpp:forward:0", client = "jabber:client";
            var forgedChat = new XElement(client + "message", new XAttribute("from", "bob@localhost/x"), new XAttribute("to", "dave@localhost"), new XAttribute("type", "chat"),
                new XElement(client + "body", "forged"));
            var forgedPresence = new XElement(client + "presence", new XAttribute("from", "bob@localhost/x"), new XAttribute("to", "bob@localhost"));
            foreach (var inner in new[] { forgedChat, forgedPresence })
            {
                await mallory.SendAsync(new XElement(client + "message", new XAttribute("to", _servers.ComponentDomain), new XAttribute("type", "chat"),
                    new XElement(fwd + "forwarded", new XElement(inner))));
                await mallory.SendAsync(new XElement(client + "message", new XAttribute("to", $"received@{_servers.ComponentDomain}"),
                    new XElement(fwd + "forwarded", new XElement(inner))));
            }
            // a directed presence to the component is a real signal only for the sender itself: carol is already online
            Assert.That(await consumer.DrainAsync(Quiet), Is.Empty, "forged copies from a user never count");
        }
        finally { await mallory.LogoutAsync(); }
    }

    [TestCase("right-to-left", "مرحبا بالعالم ‏שלום‎")]
    [TestCase("astral", "𝄞 𠜎 😀👩‍👩‍👧")]
    [TestCase("whitespace only", "   ")]
    [TestCase("escapes", "tab\tnl\nquote\" back\\ amp& lt< &lt;")]
    public async Task Hostile_text_round_trips_exactly_through_the_JSON(string label, string body)
    {
        await using var component = await ComponentUnderTest.StartAsync(_servers);
        await using var consumer = await TestEventConsumer.StartDefaultAsync(_servers);
        var alice = await TestXmppClient.ConnectAsync(_servers, "alice", "hostile");
        var bob = await TestXmppClient.ConnectAsync(_servers, "bob", "hostile");
        try
        {
            await alice.SendPresenceAsync();
            await bob.SendPresenceAsync();
            await consumer.TakeAsync(2, EventTimeout);
            await alice.SendMessageAsync("bob@localhost", "chat", body);
            var events = await consumer.TakeAsync(2, EventTimeout);
            foreach (var e in events)
            {
                using var json = JsonDocument.Parse(e.Body);
                Assert.That(json.RootElement.GetProperty("message").GetString(), Is.EqualTo(body), label);
            }
        }
        finally { await alice.LogoutAsync(); await bob.LogoutAsync(); }
    }

    [Test]
    public async Task A_100_KB_body_is_published_intact()
    {
        await using var component = await ComponentUnderTest.StartAsync(_servers);
        await using var consumer = await TestEventConsumer.StartDefaultAsync(_servers);
        var alice = await TestXmppClient.ConnectAsync(_servers, "alice", "big");
        var bob = await TestXmppClient.ConnectAsync(_servers, "bob", "big");
        try
        {
            await alice.SendPresenceAsync();
            await bob.SendPresenceAsync();
            await consumer.TakeAsync(2, EventTimeout);
            var body = string.Concat(Enumerable.Range(0, 100 * 1024 / 16).Select(i => $"{i:D6}-ünïcødé|"));
            await alice.SendMessageAsync("bob@localhost", "chat", body);
            foreach (var e in await consumer.TakeAsync(2, EventTimeout))
                Assert.That(JsonDocument.Parse(e.Body).RootElement.GetProperty("message").GetString(), Is.EqualTo(body));
        }
        finally { await alice.LogoutAsync(); await bob.LogoutAsync(); }
    }

    [TestCase("restart")]
    [TestCase("kill")]
    public async Task After_the_server_restarts_or_is_killed_and_started_the_component_reconnects_and_events_resume(string fault)
    {
        await using var component = await ComponentUnderTest.StartAsync(_servers);
        await using var consumer = await TestEventConsumer.StartDefaultAsync(_servers);
        var alice = await TestXmppClient.ConnectAsync(_servers, "alice", "restart");
        var bob = await TestXmppClient.ConnectAsync(_servers, "bob", "restart");
        await alice.SendPresenceAsync();
        await bob.SendPresenceAsync();
        await consumer.TakeAsync(2, EventTimeout);
        await alice.SendMessageAsync("bob@localhost", "chat", "before restart");
        Assert.That((await consumer.TakeAsync(2, EventTimeout)).Select(e => e.RoutingKey),
            Is.EquivalentTo(new[] { "alice@localhost.chat_msg_sent", "bob@localhost.chat_msg_recv" }));

        if (fault == "kill")
        {
            await _server.KillAsync();
            await _server.StartAsync();
        }
        else await _server.RestartAsync();
        await alice.DisposeAsync();
        await bob.DisposeAsync();
        // The server lost the sessions without an unavailable presence; what the component publishes about that
        // depends on the feeds it gets, so drain it here and look only at what the new sessions produce.
        var state = (XmppRabbitComponent.Hosting.ComponentState)component.Services.GetService(typeof(XmppRabbitComponent.Hosting.ComponentState))!;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!state.XmppAuthenticated && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.That(state.XmppAuthenticated, Is.True, $"the component reconnected to the restarted {_servers.XmppServerName}");
        await Task.Delay(300);
        await consumer.DrainAsync(Quiet);

        alice = await TestXmppClient.ConnectAsync(_servers, "alice", "restart2");
        bob = await TestXmppClient.ConnectAsync(_servers, "bob", "restart2");
        try
        {
            await alice.SendPresenceAsync();
            await bob.SendPresenceAsync();
            await bob.WaitForAsync(p => p.Name.LocalName == "presence" && ((string?)p.Attribute("from"))?.StartsWith("alice@localhost/restart2") == true, EventTimeout);
            await alice.SendMessageAsync("bob@localhost", "chat", "after restart");
            var events = await consumer.TakeAsync(4, EventTimeout);
            Assert.That(events.Select(e => e.Body), Has.Some.EqualTo("{\"to_user_id\":\"bob@localhost\",\"message\":\"after restart\",\"from_user_id\":\"alice@localhost/restart2\"}"));
            Assert.That(events.Select(e => e.RoutingKey), Is.EquivalentTo(new[] { "alice@localhost", "bob@localhost", "alice@localhost.chat_msg_sent", "bob@localhost.chat_msg_recv" }));
        }
        finally { await alice.LogoutAsync(); await bob.LogoutAsync(); }
    }
}
