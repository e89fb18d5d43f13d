using static XmppRabbitComponent.Tests.Classification.ExpectedEvent;

namespace XmppRabbitComponent.Tests.Classification;

/// <summary>
/// Replays the real ejabberd 23.01 captures through ONE classifier, stanza by stanza, in order, at the
/// capture's relative timestamps, and checks every scripted action's exact events (kind, routing key with
/// default options, JSON) and skip reasons. Expected lists are derived from docs/events.md by hand.
/// </summary>
public class CaptureReplayTests
{
    private static IReadOnlyDictionary<string, ActionOutcome> Replay(string capture) => CaptureReplay.Run(capture);

    // ---- expected events, written out -------------------------------------------------------------

    private static readonly Dictionary<string, ExpectedEvent[]> MainSession = new()
    {
        ["prelude"] = [], // privilege advertisement grants managed_entity presence: no event, no warning
        ["S01"] = [Presence("alice@localhost/res1", "alice@localhost", true)], // privileged presence #5; the copies #6/#7 are the same fact
        ["S02"] = [], // IQs
        ["S03"] = [Presence("alice@localhost/res2", "alice@localhost", true)], // #16 is res1's presence replayed with <delay>: silent
        ["S04"] = [],
        ["S05"] = [Presence("bob@localhost/phone", "bob@localhost", true)],
        // Byte-identical local→local copies: first is sent, second received; #29 is a carbon.
        ["S06"] =
        [
            Msg("chat_msg_sent", "alice@localhost.chat_msg_sent", "bob@localhost", "hello bob (bare)", "alice@localhost/res1"),
            Msg("chat_msg_recv", "bob@localhost.chat_msg_recv", "bob@localhost", "hello bob (bare)", "alice@localhost/res1"),
        ],
        ["S07"] =
        [
            Msg("chat_msg_sent", "alice@localhost.chat_msg_sent", "bob@localhost/phone", "hello bob (full)", "alice@localhost/res1"),
            Msg("chat_msg_recv", "bob@localhost.chat_msg_recv", "bob@localhost/phone", "hello bob (full)", "alice@localhost/res1"),
        ],
        ["S08"] = [], // chat state only
        ["S09"] = [], // type normal (absent)
        ["S10"] = [], // headline
        // Three identical copies: sent, received (alice/res1), duplicate (the fan-out to alice/res2).
        ["S11"] =
        [
            Msg("chat_msg_sent", "bob@localhost.chat_msg_sent", "alice@localhost", "hi alice from bob", "bob@localhost/phone"),
            Msg("chat_msg_recv", "alice@localhost.chat_msg_recv", "alice@localhost", "hi alice from bob", "bob@localhost/phone"),
        ],
        ["S12"] = [], // to the component: never a party
        ["S13"] = [], // joining a room is not going online; room presences are not local users; empty subject
        ["S14"] = [],
        ["S15"] = [],
        ["S16"] = [Presence("carol@localhost/laptop", "carol@localhost", true)], // #68-#70 delayed replays: silent
        ["S17"] = [],
        ["S18"] =
        [
            Msg("groupchat_msg_sent", "bob@localhost.groupchat_msg_sent", "room1@muc.localhost", "hello room from bob", "bob@localhost/phone"),
            Msg("groupchat_msg_recv", "carol@localhost.groupchat_msg_recv", "carol@localhost/laptop", "hello room from bob", "room1@muc.localhost/Bob"),
            Msg("groupchat_msg_recv", "bob@localhost.groupchat_msg_recv", "bob@localhost/phone", "hello room from bob", "room1@muc.localhost/Bob"), // the sender's echo
            Msg("groupchat_msg_recv", "alice@localhost.groupchat_msg_recv", "alice@localhost/res1", "hello room from bob", "room1@muc.localhost/Bob"),
        ],
        ["S19"] = [Presence("carol@localhost/laptop", "carol@localhost", false)], // the copies #84-#87 are the same fact
        // Carol is offline: only the sent copy (and a carbon) arrives now; the received one comes in S26.
        ["S20"] = [Msg("chat_msg_sent", "alice@localhost.chat_msg_sent", "carol@localhost", "are you there carol?", "alice@localhost/res1")],
        ["S21"] = [], // headline
        ["S22"] = [], // away: still online
        ["S23"] = [Presence("alice@localhost/res1", "alice@localhost", false)],
        // No privileged unavailable; the broadcast copy to bob (another local user) is the signal.
        ["S24"] = [Presence("alice@localhost/res2", "alice@localhost", false)],
        ["S25"] = [], // abrupt disconnect: the server sent nothing at all
        // #109 carries an offline-storage delay from the server host: received, although the S20 sent copy
        // (12 s earlier, within the window) is still pending in the copy-match table.
        ["S26"] =
        [
            Presence("carol@localhost/laptop", "carol@localhost", true),
            Msg("chat_msg_recv", "carol@localhost.chat_msg_recv", "carol@localhost", "are you there carol?", "alice@localhost/res1"),
        ],
        ["S27"] = [Presence("carol@localhost/laptop", "carol@localhost", false)],
        ["END"] = [],
    };

    private static string[] Repeat(string label, int n) => Enumerable.Repeat(label, n).ToArray();

    private static readonly Dictionary<string, string[]> MainSessionSkips = new()
    {
        ["prelude"] = ["privilege_advertisement"],
        ["S01"] = ["iq", "iq", .. Repeat("presence_unchanged", 2)],
        ["S02"] = ["iq", "iq"],
        ["S03"] = ["iq", "iq", .. Repeat("presence_unchanged", 3), "presence_delayed"],
        ["S04"] = ["iq", "iq"],
        ["S05"] = ["iq", "iq", .. Repeat("presence_unchanged", 4), .. Repeat("presence_delayed", 2)],
        ["S06"] = ["carbon"],
        ["S07"] = ["carbon"],
        ["S08"] = ["no_body", "carbon", "no_body"],
        ["S09"] = ["normal", "normal", "normal"],
        ["S10"] = ["headline", "headline"],
        ["S11"] = ["duplicate_copy"],
        ["S12"] = ["component_party", "component_party", "carbon"],
        ["S13"] = ["presence_not_signal", "not_local", "not_local", "groupchat_subject_only"],
        ["S14"] = ["iq", "iq"],
        ["S15"] = ["presence_not_signal", .. Repeat("not_local", 3), "groupchat_subject_only", "not_local"],
        ["S16"] = ["iq", "iq", .. Repeat("presence_unchanged", 5), .. Repeat("presence_delayed", 3)],
        ["S17"] = ["presence_not_signal", .. Repeat("not_local", 4), "groupchat_subject_only", "not_local", "not_local"],
        ["S18"] = [],
        ["S19"] = [.. Repeat("presence_unchanged", 4), "not_local", "not_local"],
        ["S20"] = ["carbon"],
        ["S21"] = ["headline"],
        ["S22"] = Repeat("presence_unchanged", 5),
        ["S23"] = [.. Repeat("presence_unchanged", 4), "not_local"],
        ["S24"] = [],
        ["S25"] = [],
        ["S26"] = ["iq", "iq", "presence_unchanged", "presence_unchanged"],
        ["S27"] = ["presence_unchanged"],
        ["END"] = [],
    };

    private static readonly Dictionary<string, ExpectedEvent[]> LateConnect = new()
    {
        ["prelude"] = [],
        ["B01"] = [],
        ["B02"] = [], // handshake + privilege advertisement
        ["B03"] = [Presence("alice@localhost/res1", "alice@localhost", true)], // first presence ever seen for res1: unknown → online
        ["B04"] = [Presence("bob@localhost/phone", "bob@localhost", false)], // unknown → unavailable emits, from the broadcast copy to alice
        ["B05"] = [Presence("bob@localhost/tablet", "bob@localhost", true)],
        ["B06"] = [],
        ["B07"] = [Presence("bob@localhost/tablet", "bob@localhost", false)],
        ["B08"] = [], // the copy is addressed to the component (not a signal); the top-level one is unchanged
        ["B09"] = [], // IQs
        // dave does not exist, but he is on a local domain: the first copy is "sent"; the error bounce is skipped.
        ["B10"] = [Msg("chat_msg_sent", "alice@localhost.chat_msg_sent", "dave@localhost", "hi dave", "alice@localhost/res1")],
        ["B11"] = [],
        ["B12"] = [],
        ["END"] = [],
    };

    private static readonly Dictionary<string, ExpectedEvent[]> DisconnectDetection = new()
    {
        ["prelude"] = [],
        ["D01"] = [Presence("bob@localhost/phone", "bob@localhost", true)],
        ["D02"] = [],
        ["D03"] = [Presence("bob@localhost/phone", "bob@localhost", false)], // the server's unavailable to the component
        ["D04"] = [Presence("carol@localhost/laptop", "carol@localhost", true)], // privileged and roster presence: one event
        ["D05"] = [], // dnd: still online
        ["D06"] = [Presence("carol@localhost/laptop", "carol@localhost", false)],
        ["END"] = [],
    };

    public static IEnumerable<string> MainSessionActions => MainSession.Keys;
    public static IEnumerable<string> LateConnectActions => LateConnect.Keys;
    public static IEnumerable<string> DisconnectActions => DisconnectDetection.Keys;

    [Test]
    public void Every_action_of_each_capture_has_an_expected_list()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Replay("main-session.xml").Keys, Is.EquivalentTo(MainSession.Keys));
            Assert.That(MainSession.Keys.Count(k => k.StartsWith('S')), Is.EqualTo(27));
            Assert.That(Replay("main-session.xml").Keys, Is.EquivalentTo(MainSessionSkips.Keys));
            Assert.That(Replay("late-connect-and-reconnect.xml").Keys, Is.EquivalentTo(LateConnect.Keys));
            Assert.That(Replay("disconnect-detection.xml").Keys, Is.EquivalentTo(DisconnectDetection.Keys));
        });
    }

    [TestCaseSource(nameof(MainSessionActions))]
    public void Main_session_action_produces_exactly_the_expected_events(string action)
    {
        Assert.That(Replay("main-session.xml")[action].Events, Is.EqualTo(MainSession[action]));
    }

    [TestCaseSource(nameof(MainSessionActions))]
    public void Main_session_action_skips_the_rest_for_the_expected_reasons(string action)
    {
        Assert.That(Replay("main-session.xml")[action].Skips, Is.EqualTo(MainSessionSkips[action]));
    }

    [TestCaseSource(nameof(LateConnectActions))]
    public void Late_connect_action_produces_exactly_the_expected_events(string action)
    {
        Assert.That(Replay("late-connect-and-reconnect.xml")[action].Events, Is.EqualTo(LateConnect[action]));
    }

    [TestCaseSource(nameof(DisconnectActions))]
    public void Disconnect_detection_action_produces_exactly_the_expected_events(string action)
    {
        Assert.That(Replay("disconnect-detection.xml")[action].Events, Is.EqualTo(DisconnectDetection[action]));
    }

    [Test]
    public void No_capture_raises_the_missing_presence_permission_warning()
    {
        var all = new[] { "main-session.xml", "late-connect-and-reconnect.xml", "disconnect-detection.xml" }
            .SelectMany(c => Replay(c).Values);
        Assert.That(all.Any(o => o.PermissionNotice), Is.False);
    }

    [Test]
    public void Capture_reader_parses_every_stanza_in_the_stanza_namespaces()
    {
        var actions = CaptureFile.Read("main-session.xml");
        var stanzas = actions.SelectMany(a => a.Stanzas).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(stanzas, Has.Count.EqualTo(111)); // #2..#112 (#1 is the handshake)
            Assert.That(stanzas.Select(s => s.Element.Name.NamespaceName).Distinct(), Is.EqualTo(new[] { "jabber:component:accept" }));
            Assert.That(stanzas[^1].Offset, Is.EqualTo(TimeSpan.FromSeconds(44.483)));
        });
    }
}
