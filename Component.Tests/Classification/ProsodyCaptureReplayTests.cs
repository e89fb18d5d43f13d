using static XmppRabbitComponent.Tests.Classification.ExpectedEvent;

namespace XmppRabbitComponent.Tests.Classification;

/// <summary>
/// Replays the real Prosody 0.12 captures (TestData/captures/prosody-0.12/: mod_firewall copies to
/// <c>sent@</c>/<c>received@events.localhost</c>, mod_privilege presence) through ONE classifier and checks every
/// scripted action's exact events and skip reasons, as <see cref="CaptureReplayTests"/> does for ejabberd.
/// Where Prosody feeds the component differently from ejabberd, the comment says so; the README's table of
/// differences lists them for users.
/// </summary>
public class ProsodyCaptureReplayTests
{
    private const string Main = "prosody-0.12/main-session.xml";
    private const string LateConnect = "prosody-0.12/late-connect.xml";
    private const string Reconnect = "prosody-0.12/reconnect.xml";

    private static string[] Repeat(string label, int n) => Enumerable.Repeat(label, n).ToArray();

    private const string Unchanged = "presence_unchanged";
    private const string NotSignal = "presence_not_signal";
    private const string Delayed = "presence_delayed";

    private static readonly Dictionary<string, (ExpectedEvent[] Events, string[] Skips)> MainSession = new()
    {
        ["prelude"] = ([], ["privilege_advertisement"]), // urn:xmpp:privilege:2 grants managed_entity presence
        // The sent copy of her initial presence (no 'to') is the signal; the privileged presence, the received copy and the
        // copies of the broadcast to bob and carol are the same fact; probes and the bare unavailable of offline contacts are not signals.
        ["P01"] = ([Presence("alice@localhost/res1", "alice@localhost", true)], [.. Repeat(Unchanged, 6), .. Repeat(NotSignal, 8)]),
        ["P02"] = ([], []), // enabling carbons: an IQ, never copied by mod_firewall's message rules
        ["P03"] = ([Presence("bob@localhost/phone", "bob@localhost", true)], [.. Repeat(Unchanged, 6), NotSignal, NotSignal, Delayed, Delayed, .. Repeat(NotSignal, 4)]),
        ["P04"] = ([], Repeat(Unchanged, 7)), // away: still online
        // Direction is explicit (sent@ / received@): one copy each.
        ["P05"] =
        ([
            Msg("chat_msg_sent", "alice@localhost.chat_msg_sent", "bob@localhost", "hello bob (bare)", "alice@localhost/res1"),
            Msg("chat_msg_recv", "bob@localhost.chat_msg_recv", "bob@localhost", "hello bob (bare)", "alice@localhost/res1"),
        ], []),
        ["P06"] =
        ([
            Msg("chat_msg_sent", "alice@localhost.chat_msg_sent", "bob@localhost/phone", "hello bob (full)", "alice@localhost/res1"),
            Msg("chat_msg_recv", "bob@localhost.chat_msg_recv", "bob@localhost/phone", "hello bob (full)", "alice@localhost/res1"),
        ], []),
        ["P07"] = ([], ["no_body", "no_body"]), // chat state only
        ["P08"] =
        ([
            Msg("chat_msg_sent", "bob@localhost.chat_msg_sent", "alice@localhost", "hi alice from bob", "bob@localhost/phone"),
            Msg("chat_msg_recv", "alice@localhost.chat_msg_recv", "alice@localhost", "hi alice from bob", "bob@localhost/phone"),
        ], []),
        ["P09"] = ([Presence("alice@localhost/res2", "alice@localhost", true)], [.. Repeat(Unchanged, 8), NotSignal, NotSignal, Delayed, Delayed, .. Repeat(NotSignal, 4), Delayed, Delayed]),
        // Two resources online, bare JID: Prosody's ::deliver sees the message once (ejabberd copies it per resource).
        ["P10"] =
        ([
            Msg("chat_msg_sent", "bob@localhost.chat_msg_sent", "alice@localhost", "hi both alices", "bob@localhost/phone"),
            Msg("chat_msg_recv", "alice@localhost.chat_msg_recv", "alice@localhost", "hi both alices", "bob@localhost/phone"),
        ], []),
        ["P11"] = ([], ["component_party", "component_party"]), // to the component: its copy and the message itself
        // dave did not exist on the captured server, whose rules forwarded a received copy anyway; from the stream alone the
        // classifier cannot tell (ejabberd sends a sent copy and an error). prosody-test's mod_events_guard drops such copies.
        ["P11b"] =
        ([
            Msg("chat_msg_sent", "alice@localhost.chat_msg_sent", "dave@localhost", "hi dave", "alice@localhost/res1"),
            Msg("chat_msg_recv", "dave@localhost.chat_msg_recv", "dave@localhost", "hi dave", "alice@localhost/res1"),
        ], []),
        ["P11c"] = ([], ["normal", "normal"]), // the copies keep type='normal' (ejabberd's lose the attribute); skipped either way
        ["P12"] = ([], [NotSignal, "not_local", "groupchat_subject_only"]), // joining a room is not going online
        ["P13"] = ([], []),
        ["P14"] = ([], [NotSignal, .. Repeat("not_local", 3), "groupchat_subject_only"]),
        ["P15"] =
        ([
            Msg("groupchat_msg_sent", "bob@localhost.groupchat_msg_sent", "room1@muc.localhost", "hello room from bob", "bob@localhost/phone"),
            Msg("groupchat_msg_recv", "bob@localhost.groupchat_msg_recv", "bob@localhost/phone", "hello room from bob", "room1@muc.localhost/Bob"), // the sender's echo
            Msg("groupchat_msg_recv", "alice@localhost.groupchat_msg_recv", "alice@localhost/res1", "hello room from bob", "room1@muc.localhost/Bob"),
        ], []),
        // carol has the component in her roster: her presence to it is a copy with the component as a party.
        ["P16"] = ([Presence("carol@localhost/laptop", "carol@localhost", true)],
            [.. Repeat(Unchanged, 6), "component_party", Unchanged, NotSignal, NotSignal, .. Repeat(Delayed, 4), NotSignal, NotSignal, Delayed, Delayed]),
        ["P17"] = ([], [.. Repeat(Unchanged, 7), "component_party", Unchanged]), // dnd: still online
        ["P18"] = ([Presence("carol@localhost/laptop", "carol@localhost", false)], [.. Repeat(Unchanged, 6), "component_party", Unchanged]),
        // carol is offline: Prosody delivers the message to offline storage through ::deliver, so the received copy comes now
        // (ejabberd: at delivery, P22's counterpart).
        ["P19"] =
        ([
            Msg("chat_msg_sent", "alice@localhost.chat_msg_sent", "carol@localhost", "are you there carol?", "alice@localhost/res1"),
            Msg("chat_msg_recv", "carol@localhost.chat_msg_recv", "carol@localhost", "are you there carol?", "alice@localhost/res1"),
        ], []),
        // Stream closed without unavailable: Prosody sends the unavailable itself, privileged and broadcast (ejabberd: nothing privileged).
        ["P20"] = ([Presence("alice@localhost/res2", "alice@localhost", false)], Repeat(Unchanged, 8)),
        // Abrupt TCP close: the same (ejabberd: nothing at all).
        ["P21"] = ([Presence("bob@localhost/phone", "bob@localhost", false)], [.. Repeat(Unchanged, 6), NotSignal, "not_local", "not_local"]),
        // carol back: the offline message is delivered straight from storage, past ::deliver: no copy, no second received event.
        ["P22"] = ([Presence("carol@localhost/laptop", "carol@localhost", true)],
            [.. Repeat(Unchanged, 6), "component_party", Unchanged, NotSignal, NotSignal, Delayed, Delayed, .. Repeat(NotSignal, 4)]),
        ["P23"] = ([Presence("carol@localhost/laptop", "carol@localhost", false)], [.. Repeat(Unchanged, 6), "component_party", Unchanged]),
        ["P24"] = ([Presence("alice@localhost/res1", "alice@localhost", false)], [.. Repeat(Unchanged, 8), NotSignal, "not_local"]),
        ["END"] = ([], []),
    };

    // One component process: connected after the users (late-connect.xml), then its stream closed and reconnected (reconnect.xml).
    private static readonly Dictionary<string, ExpectedEvent[]> LateConnectThenReconnect = new()
    {
        // Prosody replays every online session's presence with <delay from='localhost'> on connect: known now, published never.
        ["late:B03"] = [],
        ["late:B04"] = [], // alice was recorded online from the replay: a show change is no change
        ["late:B05"] = [], // directed presence to the component: unchanged
        // The same replay on the reconnect: no duplicate present:true.
        ["re:B06"] = [],
        ["re:B07"] = [Presence("alice@localhost/res1", "alice@localhost", false)], // stream closed without unavailable: Prosody sends it
        ["re:B08"] = [Presence("bob@localhost/phone", "bob@localhost", false)],
    };

    public static IEnumerable<string> MainSessionActions => MainSession.Keys;
    public static IEnumerable<string> LateConnectThenReconnectActions => LateConnectThenReconnect.Keys;

    private static IReadOnlyDictionary<string, ActionOutcome> Replay() => CaptureReplay.Run(Main);

    [Test]
    public void Every_action_of_the_main_session_has_an_expected_list()
    {
        Assert.That(Replay().Keys, Is.EquivalentTo(MainSession.Keys));
        Assert.That(MainSession.Keys.Count(k => k.StartsWith('P')), Is.EqualTo(26)); // P01..P24 with P11b and P11c
    }

    [TestCaseSource(nameof(MainSessionActions))]
    public void Main_session_action_produces_exactly_the_expected_events(string action) =>
        Assert.That(Replay()[action].Events, Is.EqualTo(MainSession[action].Events));

    [TestCaseSource(nameof(MainSessionActions))]
    public void Main_session_action_skips_the_rest_for_the_expected_reasons(string action) =>
        Assert.That(Replay()[action].Skips, Is.EqualTo(MainSession[action].Skips));

    [TestCaseSource(nameof(LateConnectThenReconnectActions))]
    public void Late_connect_then_reconnect_action_produces_exactly_the_expected_events(string action)
    {
        var runs = CaptureReplay.Run([LateConnect, Reconnect]);
        var (stream, id) = (action.Split(':')[0], action.Split(':')[1]);
        Assert.That(runs[stream == "late" ? 0 : 1][id].Events, Is.EqualTo(LateConnectThenReconnect[action]));
    }

    [Test]
    public void Nothing_happens_in_a_stream_before_it_connects_and_every_action_is_covered()
    {
        var runs = CaptureReplay.Run([LateConnect, Reconnect]);
        Assert.Multiple(() =>
        {
            foreach (var (stream, run) in new[] { ("late", runs[0]), ("re", runs[1]) })
                foreach (var (id, outcome) in run)
                    if (!LateConnectThenReconnect.ContainsKey($"{stream}:{id}"))
                        Assert.That(outcome.Events.Concat<object>(outcome.Skips), Is.Empty, $"{stream}:{id} is before the stream's connect or after its close");
        });
    }

    [Test]
    public void A_component_started_at_the_reconnect_publishes_nothing_for_the_replay_and_the_unavailable_of_each_user()
    {
        // A fresh process (state lost) gets the same delayed replay: silent; the later unavailable presences are published.
        var fresh = CaptureReplay.Run(Reconnect);
        Assert.Multiple(() =>
        {
            Assert.That(fresh["B06"].Events, Is.Empty);
            Assert.That(fresh["B06"].Skips, Is.EqualTo(new[] { "privilege_advertisement", Delayed, Delayed }));
            Assert.That(fresh["B07"].Events, Is.EqualTo(new[] { Presence("alice@localhost/res1", "alice@localhost", false) }));
            Assert.That(fresh["B08"].Events, Is.EqualTo(new[] { Presence("bob@localhost/phone", "bob@localhost", false) }));
        });
    }

    [Test]
    public void No_capture_raises_the_missing_presence_permission_warning()
    {
        var all = Replay().Values.Concat(CaptureReplay.Run([LateConnect, Reconnect]).SelectMany(r => r.Values));
        Assert.That(all.Any(o => o.PermissionNotice), Is.False, "urn:xmpp:privilege:2 is understood");
    }

    [Test]
    public void Capture_reader_parses_every_labelled_stanza()
    {
        var stanzas = CaptureFile.Read(Main).SelectMany(a => a.Stanzas).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(stanzas, Has.Count.EqualTo(179)); // #2..#180 (#1 is the handshake)
            Assert.That(stanzas.Select(s => s.Element.Name.NamespaceName).Distinct(), Is.EqualTo(new[] { "jabber:component:accept" }));
            Assert.That(stanzas[0].Offset, Is.EqualTo(TimeSpan.FromSeconds(-1.741)));
        });
    }
}
