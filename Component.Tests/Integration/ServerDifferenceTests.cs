using System.Xml.Linq;
using XmppRabbitComponent.Hosting;
using XmppRabbitComponent.Tests.Support;

namespace XmppRabbitComponent.Tests.Integration;

/// <summary>
/// Presence and delivery cases where ejabberd and Prosody feed the component differently, once per server, each with
/// the exact events that server yields. Where the events differ the expectation says which server and why; the
/// README's table of differences says the same to users.
/// </summary>
[TestFixtureSource(typeof(TestServers), nameof(TestServers.XmppKinds))]
[Category("Integration"), NonParallelizable]
public sealed class ServerDifferenceTests(XmppServerKind kind) : XmppServerFixture(kind)
{
    private bool IsProsody => Kind == XmppServerKind.Prosody;

    private async Task<bool> SeesPresenceOfAsync(TestXmppClient watcher, string full) =>
        (await watcher.WaitForAsync(p => p.Name.LocalName == "presence" && (string?)p.Attribute("from") == full && (string?)p.Attribute("type") is null, EventTimeout)) is not null;

    [Test]
    public async Task A_component_that_connects_after_users_are_online_publishes_nothing_for_them_at_connect()
    {
        var alice = await OnlineAsync("alice", "early");
        var bob = await OnlineAsync("bob", "early");
        await SeesPresenceOfAsync(bob, "alice@localhost/early");
        var consumer = Track(await TestEventConsumer.StartDefaultAsync(Facts));
        Track(await ComponentUnderTest.StartAsync(Facts));
        // Prosody replays both sessions' presence, delayed (<delay from='localhost'>): known, not published. ejabberd sends nothing.
        Assert.That(await consumer.DrainAsync(Quiet), Is.Empty, "users already online when the component connects publish nothing");

        await alice.SendPresenceAsync(show: "away");
        if (IsProsody)
            Assert.That(await consumer.DrainAsync(Quiet), Is.Empty, "known from the replay: a show change is no change");
        else // ejabberd: the first presence the component sees of a session it never heard of is that session going online
            AssertEvents(await consumer.TakeAsync(1, EventTimeout), ("presence", "alice@localhost", Presence("alice@localhost/early", true)));

        await alice.SendPresenceAsync("unavailable");
        AssertEvents(await consumer.TakeAsync(1, EventTimeout), ("presence", "alice@localhost", Presence("alice@localhost/early", false)));
        Assert.That(await consumer.DrainAsync(Quiet), Is.Empty);
    }

    [Test]
    public async Task A_component_whose_stream_drops_and_reconnects_publishes_no_duplicate_presence()
    {
        await using var relay = new TcpRelay(Facts.XmppHost, Facts.ComponentPort);
        var consumer = Track(await TestEventConsumer.StartDefaultAsync(Facts));
        var component = Track(await ComponentUnderTest.StartAsync(Facts, new Dictionary<string, string?> { ["Xmpp:Port"] = relay.Port.ToString() }));
        var alice = await OnlineAsync("alice", "dup");
        var bob = await OnlineAsync("bob", "dup");
        AssertEvents(await consumer.TakeAsync(2, EventTimeout),
            ("presence", "alice@localhost", Presence("alice@localhost/dup", true)),
            ("presence", "bob@localhost", Presence("bob@localhost/dup", true)));
        await SeesPresenceOfAsync(bob, "alice@localhost/dup");

        var state = component.Services.GetService(typeof(ComponentState)) as ComponentState;
        relay.CutAll();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while ((relay.Accepted < 2 || !state!.XmppAuthenticated) && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.That(relay.Accepted, Is.EqualTo(2), "the component connected again through the relay");
        Assert.That(state!.XmppAuthenticated, Is.True, "and authenticated");
        // Prosody replays alice's and bob's presence on the new stream, delayed: no second present:true. ejabberd sends nothing.
        Assert.That(await consumer.DrainAsync(Quiet), Is.Empty, "no duplicate presence after the reconnect");

        await alice.SendMessageAsync("bob@localhost", "chat", "after the reconnect");
        AssertEvents(await consumer.TakeAsync(2, EventTimeout),
            ("chat_msg", "alice@localhost.chat_msg_sent", Msg("bob@localhost", "after the reconnect", "alice@localhost/dup")),
            ("chat_msg", "bob@localhost.chat_msg_recv", Msg("bob@localhost", "after the reconnect", "alice@localhost/dup")));
    }

    [TestCase(false, true, TestName = "{m}(TCP dropped, with a contact online)")]
    [TestCase(false, false, TestName = "{m}(TCP dropped, alone)")]
    [TestCase(true, false, TestName = "{m}(stream closed, alone)")]
    public async Task A_session_that_ends_without_unavailable_is_published_present_false(bool streamClose, bool contactOnline)
    {
        var consumer = Track(await TestEventConsumer.StartDefaultAsync(Facts));
        Track(await ComponentUnderTest.StartAsync(Facts));
        TestXmppClient? bob = contactOnline ? await OnlineAsync("bob", "watch") : null;
        var alice = await TestXmppClient.ConnectAsync(Facts, "alice", "drop");
        await alice.SendPresenceAsync();
        var expectedLogins = contactOnline ? 2 : 1;
        await consumer.TakeAsync(expectedLogins, EventTimeout);
        if (bob is not null) await SeesPresenceOfAsync(bob, "alice@localhost/drop");

        if (streamClose) await alice.SendRawAsync("</stream:stream>"); // a clean stream close, but no unavailable
        await alice.DisposeAsync(); // TCP close: no unavailable
        if (IsProsody || contactOnline)
        {
            // Prosody sends the component a privileged unavailable for every session that ends. ejabberd sends none, but
            // the copy of the unavailable it broadcasts to alice's online contacts is the signal.
            AssertEvents(await consumer.TakeAsync(1, EventTimeout), ("presence", "alice@localhost", Presence("alice@localhost/drop", false)));
        }
        else
        {
            // ejabberd alone: nothing reaches the component (README, Known limits).
            Assert.That(await consumer.DrainAsync(TimeSpan.FromSeconds(3)), Is.Empty);
        }
        Assert.That(await consumer.DrainAsync(Quiet), Is.Empty);
    }

    [Test]
    public async Task A_chat_to_an_offline_user_publishes_received_when_the_server_hands_it_over()
    {
        // dave logs in once without the component: anything left in his offline storage by an earlier run is delivered now.
        var flush = await TestXmppClient.ConnectAsync(Facts, "dave", "flush");
        await flush.SendPresenceAsync();
        await Task.Delay(300);
        await flush.LogoutAsync();

        var consumer = Track(await TestEventConsumer.StartDefaultAsync(Facts));
        Track(await ComponentUnderTest.StartAsync(Facts));
        var alice = await OnlineAsync("alice", "off");
        await consumer.TakeAsync(1, EventTimeout);
        var body = "stored for dave " + Guid.NewGuid().ToString("N")[..6];
        await alice.SendMessageAsync("dave@localhost", "chat", body);
        var sent = ("chat_msg", "alice@localhost.chat_msg_sent", Msg("dave@localhost", body, "alice@localhost/off"));
        var received = ("chat_msg", "dave@localhost.chat_msg_recv", Msg("dave@localhost", body, "alice@localhost/off"));
        if (IsProsody)
            AssertEvents(await consumer.TakeAsync(2, EventTimeout), sent, received); // Prosody: received when stored
        else
            AssertEvents(await consumer.TakeAsync(1, EventTimeout), sent); // ejabberd: received at delivery
        Assert.That(await consumer.DrainAsync(Quiet), Is.Empty);

        var dave = await OnlineAsync("dave", "off");
        await dave.WaitForAsync(m => m.Name.LocalName == "message" && m.Elements().Any(b => b.Name.LocalName == "body" && b.Value == body), EventTimeout);
        var login = ("presence", "dave@localhost", Presence("dave@localhost/off", true));
        if (IsProsody)
            AssertEvents(await consumer.TakeAsync(1, EventTimeout), login); // delivered from storage past the firewall: no copy
        else
            AssertEvents(await consumer.TakeAsync(2, EventTimeout), login, received);
        Assert.That(await consumer.DrainAsync(Quiet), Is.Empty);
    }

    [Test]
    public async Task A_chat_to_a_local_user_who_does_not_exist_publishes_only_the_sent_event()
    {
        var consumer = Track(await TestEventConsumer.StartDefaultAsync(Facts));
        Track(await ComponentUnderTest.StartAsync(Facts));
        var alice = await OnlineAsync("alice", "nobody");
        await consumer.TakeAsync(1, EventTimeout);
        await alice.SendMessageAsync("nosuchuser@localhost", "chat", "anyone there?");
        await alice.WaitForAsync(m => m.Name.LocalName == "message" && (string?)m.Attribute("type") == "error", EventTimeout);
        // ejabberd sends the component the sent copy and an error bounce; Prosody's firewall would also forward a received
        // copy, which prosody-test's mod_events_guard drops because the user does not exist.
        AssertEvents(await consumer.TakeAsync(1, EventTimeout),
            ("chat_msg", "alice@localhost.chat_msg_sent", Msg("nosuchuser@localhost", "anyone there?", "alice@localhost/nobody")));
        Assert.That(await consumer.DrainAsync(Quiet), Is.Empty);
    }

    [Test]
    public async Task While_no_component_is_connected_users_chat_as_usual_and_get_no_error_for_the_copies()
    {
        var alice = await OnlineAsync("alice", "nocomp");
        var bob = await OnlineAsync("bob", "nocomp");
        await SeesPresenceOfAsync(bob, "alice@localhost/nocomp");
        await alice.SendMessageAsync("bob@localhost", "chat", "nobody is listening");
        var got = await bob.WaitForAsync(m => m.Name.LocalName == "message" && (string?)m.Attribute("type") == "chat", EventTimeout);
        Assert.That(got.Elements().Single(e => e.Name.LocalName == "body").Value, Is.EqualTo("nobody is listening"));
        // A marker: alice's own round trip, after which any error for the first message would have arrived.
        await alice.SendMessageAsync("alice@localhost/nocomp", "chat", "marker");
        await alice.WaitForAsync(m => m.Elements().Any(e => e.Name.LocalName == "body" && e.Value == "marker"), EventTimeout);
        await Task.Delay(500);
        var error = await TryWaitAsync(alice, m => (string?)m.Attribute("type") == "error", TimeSpan.FromSeconds(1));
        Assert.That(error, Is.Null, () => $"alice got an error for a copy: {error}");
    }

    private static async Task<XElement?> TryWaitAsync(TestXmppClient client, Func<XElement, bool> match, TimeSpan timeout)
    {
        try { return await client.WaitForAsync(match, timeout); }
        catch (TimeoutException) { return null; }
    }
}
