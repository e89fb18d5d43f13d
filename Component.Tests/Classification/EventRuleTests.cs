using System.Text;
using System.Xml.Linq;
using XmppRabbitComponent.Classification;
using XmppRabbitComponent.Configuration;
using XmppRabbitComponent.Events;
using static XmppRabbitComponent.Tests.Classification.Kit;

namespace XmppRabbitComponent.Tests.Classification;

/// <summary>The rules of docs/events.md that produce events: direction, copies, bodies, groupchat, presence, bounds.</summary>
public class EventRuleTests
{
    private const string Alice = "alice@localhost/res1";

    private static string One(ClassificationResult r)
    {
        Assert.That(r.Events, Has.Count.EqualTo(1), () => Describe(r));
        return ExpectedEvent.Of(r.Events[0]).ToString();
    }

    // ---- direction -------------------------------------------------------------------------------

    [Test]
    public void Local_to_remote_chat_is_sent()
    {
        var r = Run(NewClassifier(), ChatCopy(Alice, "eve@remote.example", "hi"));
        Assert.That(One(r), Is.EqualTo("""chat_msg_sent [alice@localhost.chat_msg_sent] {"to_user_id":"eve@remote.example","message":"hi","from_user_id":"alice@localhost/res1"}"""));
    }

    [Test]
    public void Remote_to_local_chat_is_received()
    {
        var r = Run(NewClassifier(), ChatCopy("eve@remote.example/pc", "alice@localhost", "hi"));
        Assert.That(One(r), Is.EqualTo("""chat_msg_recv [alice@localhost.chat_msg_recv] {"to_user_id":"alice@localhost","message":"hi","from_user_id":"eve@remote.example/pc"}"""));
    }

    [Test]
    public void Every_configured_local_domain_is_local()
    {
        var r = Run(NewClassifier(), ChatCopy(Alice, "zed@example.org", "hi"), ChatCopy(Alice, "zed@example.org", "hi"));
        Assert.That(One(r), Does.StartWith("chat_msg_recv [zed@example.org.chat_msg_recv]"));
    }

    [Test]
    public void Identical_local_copies_are_sent_then_received_then_duplicates()
    {
        var c = NewClassifier();
        var kinds = Enumerable.Range(0, 4).Select(_ => Describe(c.Classify(ChatCopy(Alice, "bob@localhost", "hi"), T0))).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(kinds[0], Does.StartWith("chat_msg_sent [alice@localhost.chat_msg_sent]"));
            Assert.That(kinds[1], Does.StartWith("chat_msg_recv [bob@localhost.chat_msg_recv]"));
            Assert.That(kinds[2], Is.EqualTo("skip:duplicate_copy"));
            Assert.That(kinds[3], Is.EqualTo("skip:duplicate_copy"));
        });
    }

    [Test]
    public void Identical_id_less_messages_within_the_window_pair_up_as_sent_and_received()
    {
        // The documented limit: two identical id-less messages within the window look like one sent/received pair.
        var c = NewClassifier();
        var first = c.Classify(ChatCopy(Alice, "bob@localhost", "ok", id: null), T0);
        var second = c.Classify(ChatCopy(Alice, "bob@localhost", "ok", id: null), T0.AddSeconds(29));
        Assert.That((first.Events[0].Kind, second.Events[0].Kind), Is.EqualTo((EventKind.ChatMsgSent, EventKind.ChatMsgRecv)));
    }

    [Test]
    public void An_identical_copy_after_the_window_is_a_new_sent_message()
    {
        var c = NewClassifier();
        c.Classify(ChatCopy(Alice, "bob@localhost", "ok", id: null), T0);
        var later = c.Classify(ChatCopy(Alice, "bob@localhost", "ok", id: null), T0.AddSeconds(30.001));
        Assert.That(later.Events.Single().Kind, Is.EqualTo(EventKind.ChatMsgSent));
    }

    [Test]
    public void A_third_copy_after_the_window_starts_a_new_pair()
    {
        var c = NewClassifier();
        c.Classify(ChatCopy(Alice, "bob@localhost", "x"), T0);
        c.Classify(ChatCopy(Alice, "bob@localhost", "x"), T0.AddSeconds(1));
        var third = c.Classify(ChatCopy(Alice, "bob@localhost", "x"), T0.AddSeconds(31));
        Assert.That(third.Events.Single().Kind, Is.EqualTo(EventKind.ChatMsgSent));
    }

    [TestCase("m1", "m2", "hi", "hi", "bob@localhost")]
    [TestCase("m1", "m1", "hi", "hi!", "bob@localhost")]
    [TestCase("m1", "m1", "hi", "hi", "bob@localhost/phone")]
    public void Copies_differing_in_id_body_or_recipient_are_separate_messages(string id1, string id2, string body1, string body2, string to2)
    {
        var c = NewClassifier();
        c.Classify(ChatCopy(Alice, "bob@localhost", body1, id: id1), T0);
        var other = c.Classify(ChatCopy(Alice, to2, body2, id: id2), T0);
        Assert.That(other.Events.Single().Kind, Is.EqualTo(EventKind.ChatMsgSent));
    }

    [Test]
    public void A_local_copy_with_an_offline_storage_delay_is_received_even_first()
    {
        var r = Run(NewClassifier(), ChatCopy(Alice, "carol@localhost", "late", extra: "<delay xmlns='urn:xmpp:delay' from='localhost' stamp='2020-01-01T00:00:00Z'>Offline storage</delay>"));
        Assert.That(One(r), Is.EqualTo("""chat_msg_recv [carol@localhost.chat_msg_recv] {"to_user_id":"carol@localhost","message":"late","from_user_id":"alice@localhost/res1"}"""));
    }

    [Test]
    public void A_delay_from_a_user_is_not_an_offline_storage_delay()
    {
        var r = Run(NewClassifier(), ChatCopy(Alice, "carol@localhost", "x", extra: "<delay xmlns='urn:xmpp:delay' from='alice@localhost/res1' stamp='2020-01-01T00:00:00Z'/>"));
        Assert.That(r.Events.Single().Kind, Is.EqualTo(EventKind.ChatMsgSent));
    }

    [Test]
    public void A_resent_copy_never_becomes_a_second_received_event()
    {
        var c = NewClassifier();
        const string resent = "<delay xmlns='urn:xmpp:delay' from='localhost' stamp='2020-01-01T00:00:00Z'>Resent</delay>";
        var outcomes = new[]
        {
            c.Classify(ChatCopy(Alice, "bob@localhost", "x"), T0),
            c.Classify(ChatCopy(Alice, "bob@localhost", "x"), T0),
            c.Classify(ChatCopy(Alice, "bob@localhost", "x", extra: resent), T0),
        }.Select(Describe).ToList();
        Assert.That(outcomes[2], Is.EqualTo("skip:resent_copy"));
    }

    [Test]
    public void Explicit_direction_from_the_wrapper_is_trusted_without_guessing()
    {
        var c = NewClassifier();
        var sent1 = c.Classify(ChatCopy(Alice, "bob@localhost", "x", wrapperTo: "sent@events.localhost"), T0);
        var sent2 = c.Classify(ChatCopy(Alice, "bob@localhost", "x", wrapperTo: "sent@events.localhost"), T0);
        var recv1 = c.Classify(ChatCopy(Alice, "bob@localhost", "x", wrapperTo: "received@events.localhost"), T0);
        var recv2 = c.Classify(ChatCopy(Alice, "bob@localhost", "x", wrapperTo: "Received@Events.LocalHost"), T0);
        Assert.Multiple(() =>
        {
            Assert.That(new[] { sent1, sent2 }.Select(r => r.Events.Single().Kind), Has.All.EqualTo(EventKind.ChatMsgSent));
            Assert.That(new[] { recv1, recv2 }.Select(r => r.Events.Single().Kind), Has.All.EqualTo(EventKind.ChatMsgRecv));
            Assert.That(c.TrackedCopies, Is.Zero);
        });
    }

    [Test]
    public void A_wrapper_to_another_node_of_the_component_does_not_set_a_direction()
    {
        var c = NewClassifier();
        var r = Run(c, ChatCopy(Alice, "bob@localhost", "x", wrapperTo: "log@events.localhost"));
        Assert.That((r.Events.Single().Kind, c.TrackedCopies), Is.EqualTo((EventKind.ChatMsgSent, 1)));
    }

    [Test]
    public void Jids_are_lowercased_in_node_and_domain_but_keep_the_resource_case()
    {
        var c = NewClassifier();
        var sent = c.Classify(ChatCopy("Alice@LocalHost/Res", "Bob@LOCALHOST", "x"), T0);
        var recv = c.Classify(ChatCopy("alice@localhost/Res", "bob@localhost", "x"), T0);
        Assert.Multiple(() =>
        {
            Assert.That(One(sent), Is.EqualTo("""chat_msg_sent [alice@localhost.chat_msg_sent] {"to_user_id":"bob@localhost","message":"x","from_user_id":"alice@localhost/Res"}"""));
            Assert.That(recv.Events.Single().Kind, Is.EqualTo(EventKind.ChatMsgRecv), "the case-folded copy is the same message");
        });
    }

    [Test]
    public void A_resource_differing_only_in_case_is_another_resource()
    {
        var c = NewClassifier();
        c.Classify(TopPresence("alice@localhost/Res"), T0);
        var other = c.Classify(TopPresence("ALICE@localhost/res"), T0);
        Assert.That(One(other), Is.EqualTo("""presence [alice@localhost] {"user_id":"alice@localhost/res","present":true}"""));
    }

    // ---- bodies ----------------------------------------------------------------------------------

    [TestCase("en", "<body>plain</body>", "plain")]
    [TestCase("en", "<body xml:lang='de'>Hallo</body><body>Hello</body>", "Hello")]
    [TestCase("en", "<body xml:lang='de'>Hallo</body><body xml:lang='en'>Hello</body>", "Hello")]
    [TestCase("en", "<body xml:lang='de'>Hallo</body><body xml:lang='EN'>Hello</body>", "Hello")]
    [TestCase("en", "<body xml:lang='de'>Hallo</body><body xml:lang='fr'>Salut</body>", "Hallo")]
    [TestCase("", "<body xml:lang='de'>Hallo</body><body>Hello</body>", "Hello")]
    [TestCase("", "<body xml:lang='de'>Hallo</body><body xml:lang='fr'>Salut</body>", "Hallo")]
    [TestCase("fr", "<body>Hello</body><body xml:lang='fr'>Salut</body>", "Hello")]
    [TestCase("en", "<html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'>rich</body></html><body>plain</body>", "plain")]
    [TestCase("en", "<body>   </body>", "   ")]
    [TestCase("en", "<body>\n</body>", "\n")]
    [TestCase("en", "<subject>s</subject><body>with subject</body>", "with subject")]
    public void The_body_in_the_stanza_language_or_without_language_is_chosen(string lang, string bodies, string expected)
    {
        var langAttr = lang.Length == 0 ? "" : $" xml:lang='{lang}'";
        var copy = Copy($"<message type='chat'{langAttr} from='alice@localhost/res1' to='eve@remote.example'>{bodies}</message>");
        var e = (MessageEvent)Run(NewClassifier(), copy).Events.Single();
        Assert.That(e.Message, Is.EqualTo(expected));
    }

    [Test]
    public void The_stanza_language_is_inherited_from_the_wrapper()
    {
        var copy = Top("<message from='localhost' to='events.localhost' xml:lang='de'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' type='chat' from='alice@localhost/r' to='eve@remote.example'><body xml:lang='en'>Hello</body><body xml:lang='de'>Hallo</body></message></forwarded></message>");
        Assert.That(((MessageEvent)Run(NewClassifier(), copy).Events.Single()).Message, Is.EqualTo("Hallo"));
    }

    [Test]
    public void Fallback_bodies_are_published_as_they_are()
    {
        var copy = ChatCopy(Alice, "eve@remote.example", "I sent you an OMEMO encrypted message but your client doesn’t seem to support that.",
            extra: "<encrypted xmlns='eu.siacs.conversations.axolotl'/><encryption xmlns='urn:xmpp:eme:0' namespace='eu.siacs.conversations.axolotl'/>");
        Assert.That(((MessageEvent)Run(NewClassifier(), copy).Events.Single()).Message, Does.StartWith("I sent you an OMEMO"));
    }

    [Test]
    public void A_100_kilobyte_body_is_published_whole()
    {
        var text = string.Concat(Enumerable.Repeat("0123456789", 10_240));
        var e = (MessageEvent)Run(NewClassifier(), ChatCopy(Alice, "eve@remote.example", text)).Events.Single();
        Assert.That(e.Message, Is.EqualTo(text));
    }

    // ---- groupchat -------------------------------------------------------------------------------

    [Test]
    public void Groupchat_to_a_bare_room_is_sent_and_the_room_echo_is_received()
    {
        var c = NewClassifier();
        var sent = c.Classify(ChatCopy("Bob@localhost/phone", "Room1@MUC.localhost", "hi all", type: "groupchat"), T0);
        var echo = c.Classify(ChatCopy("room1@muc.localhost/Bob", "bob@localhost/phone", "hi all", type: "groupchat"), T0);
        Assert.Multiple(() =>
        {
            Assert.That(One(sent), Is.EqualTo("""groupchat_msg_sent [bob@localhost.groupchat_msg_sent] {"to_user_id":"room1@muc.localhost","message":"hi all","from_user_id":"bob@localhost/phone"}"""));
            Assert.That(One(echo), Is.EqualTo("""groupchat_msg_recv [bob@localhost.groupchat_msg_recv] {"to_user_id":"bob@localhost/phone","message":"hi all","from_user_id":"room1@muc.localhost/Bob"}"""));
        });
    }

    [Test]
    public void A_groupchat_with_both_subject_and_body_is_an_ordinary_message()
    {
        var r = Run(NewClassifier(), ChatCopy("room1@muc.localhost/Bob", Alice, "body text", type: "groupchat", extra: "<subject>topic</subject>"));
        Assert.That(((MessageEvent)r.Events.Single()).Message, Is.EqualTo("body text"));
    }

    [Test]
    public void A_delay_from_another_room_is_not_history_of_this_one()
    {
        var r = Run(NewClassifier(), ChatCopy("room1@muc.localhost/Bob", Alice, "x", type: "groupchat",
            extra: "<delay xmlns='urn:xmpp:delay' from='room2@muc.localhost' stamp='2020-01-01T00:00:00Z'/>"));
        Assert.That(r.Events.Single().Kind, Is.EqualTo(EventKind.GroupchatMsgRecv));
    }

    [Test]
    public void Groupchat_with_explicit_matching_direction_is_published()
    {
        var c = NewClassifier();
        var sent = c.Classify(ChatCopy(Alice, "room1@muc.localhost", "x", type: "groupchat", wrapperTo: "sent@events.localhost"), T0);
        var recv = c.Classify(ChatCopy("room1@muc.localhost/A", Alice, "x", type: "groupchat", wrapperTo: "received@events.localhost"), T0);
        Assert.That((sent.Events.Single().Kind, recv.Events.Single().Kind), Is.EqualTo((EventKind.GroupchatMsgSent, EventKind.GroupchatMsgRecv)));
    }

    // ---- presence --------------------------------------------------------------------------------

    [Test]
    public void Presence_follows_the_state_table()
    {
        var c = NewClassifier();
        var steps = new[]
        {
            TopPresence(Alice),                                       // unknown → available: true
            PresenceCopy(Alice, "alice@localhost", extra: "<show>away</show>"), // online → available: none
            PresenceCopy(Alice, "alice@localhost", "unavailable"),    // online → unavailable: false
            TopPresence(Alice, "unavailable"),                        // offline → unavailable: none
            TopPresence(Alice),                                       // offline → available: true
            PresenceCopy("carol@localhost/x", "bob@localhost/p", "unavailable"), // unknown → unavailable: false
            PresenceCopy("dave@localhost/y", null),                   // unknown → available (Prosody, no to): true
        }.Select(s => Describe(c.Classify(s, T0))).ToList();
        Assert.That(steps, Is.EqualTo(new[]
        {
            """presence [alice@localhost] {"user_id":"alice@localhost/res1","present":true}""",
            "skip:presence_unchanged",
            """presence [alice@localhost] {"user_id":"alice@localhost/res1","present":false}""",
            "skip:presence_unchanged",
            """presence [alice@localhost] {"user_id":"alice@localhost/res1","present":true}""",
            """presence [carol@localhost] {"user_id":"carol@localhost/x","present":false}""",
            """presence [dave@localhost] {"user_id":"dave@localhost/y","present":true}""",
        }));
    }

    [Test]
    public void A_delayed_presence_updates_the_state_silently()
    {
        var c = NewClassifier();
        const string delay = "<delay xmlns='urn:xmpp:delay' from='alice@localhost/res1' stamp='2020-01-01T00:00:00Z'/>";
        var steps = new[]
        {
            PresenceCopy(Alice, "bob@localhost/p", extra: delay), // unknown → online, silently
            TopPresence(Alice),                                   // already online: none
            TopPresence(Alice, "unavailable", delay),             // online → offline, silently
            TopPresence(Alice, "unavailable"),                    // already offline: none
        }.Select(s => Describe(c.Classify(s, T0))).ToList();
        Assert.That(steps, Is.EqualTo(new[] { "skip:presence_delayed", "skip:presence_unchanged", "skip:presence_delayed", "skip:presence_unchanged" }));
    }

    [Test]
    public void The_presence_table_evicts_offline_entries_first_at_the_bound()
    {
        var c = NewClassifier(maxPresences: 2);
        Run(c, TopPresence("a@localhost/r"), TopPresence("b@localhost/r", "unavailable"), TopPresence("c@localhost/r"));
        Assert.Multiple(() =>
        {
            Assert.That(c.TrackedPresences, Is.EqualTo(2));
            Assert.That(Describe(c.Classify(TopPresence("a@localhost/r"), T0)), Is.EqualTo("skip:presence_unchanged"), "online a is kept");
            Assert.That(c.Classify(TopPresence("b@localhost/r", "unavailable"), T0).HasEvents, Is.True, "offline b was forgotten, so its unavailable emits again");
        });
    }

    [Test]
    public void The_presence_table_evicts_the_least_recently_signalled_online_entry_when_none_is_offline()
    {
        var c = NewClassifier(maxPresences: 2);
        Run(c, TopPresence("a@localhost/r"), TopPresence("b@localhost/r"), TopPresence("a@localhost/r"), TopPresence("c@localhost/r"));
        Assert.Multiple(() =>
        {
            Assert.That(c.TrackedPresences, Is.EqualTo(2));
            Assert.That(Describe(c.Classify(TopPresence("a@localhost/r"), T0)), Is.EqualTo("skip:presence_unchanged"));
            Assert.That(c.Classify(TopPresence("b@localhost/r"), T0).HasEvents, Is.True, "b was evicted");
        });
    }

    [Test]
    public void The_presence_table_never_exceeds_its_bound_under_a_flood()
    {
        var c = NewClassifier(maxPresences: 1000);
        for (var i = 0; i < 20_000; i++)
            c.Classify(TopPresence($"u{i}@localhost/r", i % 3 == 0 ? "unavailable" : ""), T0);
        Assert.That(c.TrackedPresences, Is.EqualTo(1000));
    }

    // ---- copy table bounds -----------------------------------------------------------------------

    [Test]
    public void The_copy_table_is_capped_under_a_flood_of_distinct_messages()
    {
        var c = NewClassifier(maxCopies: 500);
        for (var i = 0; i < 50_000; i++)
            c.Classify(ChatCopy(Alice, "bob@localhost", $"spam {i}", id: null), T0);
        Assert.That(c.TrackedCopies, Is.EqualTo(500));
    }

    [Test]
    public void Copy_table_entries_expire_after_the_window_on_any_stanza()
    {
        var c = NewClassifier();
        for (var i = 0; i < 100; i++) c.Classify(ChatCopy(Alice, "bob@localhost", $"m {i}"), T0.AddMilliseconds(i));
        Assert.That(c.TrackedCopies, Is.EqualTo(100));
        c.Classify(TopPresence(Alice), T0.AddSeconds(30.05));
        Assert.That(c.TrackedCopies, Is.EqualTo(50)); // m 50..99: exactly 30 s old is still within the window
        c.Classify(Top("<iq type='get' id='x' from='alice@localhost/r' to='events.localhost'/>"), T0.AddMinutes(5));
        Assert.That(c.TrackedCopies, Is.Zero);
    }

    [Test]
    public void A_clock_going_backwards_neither_throws_nor_loses_the_pairing()
    {
        var c = NewClassifier();
        var first = c.Classify(ChatCopy(Alice, "bob@localhost", "x"), T0);
        var second = c.Classify(ChatCopy(Alice, "bob@localhost", "x"), T0.AddSeconds(-10));
        Assert.That((first.Events.Single().Kind, second.Events.Single().Kind), Is.EqualTo((EventKind.ChatMsgSent, EventKind.ChatMsgRecv)));
    }

    // ---- privilege -------------------------------------------------------------------------------

    private static XElement Privilege(string ns, string presenceType) =>
        Top($"<message from='localhost' to='events.localhost'><privilege xmlns='{ns}'><perm access='message' type='outgoing'/><perm access='presence' type='{presenceType}'/></privilege></message>");

    [Test]
    public void A_privilege_without_presence_raises_the_warning_once()
    {
        var c = NewClassifier();
        var notices = new[]
        {
            Privilege("urn:xmpp:privilege:1", "none"),
            Privilege("urn:xmpp:privilege:2", "none"),
            Privilege("urn:xmpp:privilege:2", "roster"),          // granted again
            Privilege("urn:xmpp:privilege:1", "managed_entity"),
            Privilege("urn:xmpp:privilege:2", "none"),            // lost again: warn again
            Top("<message from='localhost' to='events.localhost'><privilege xmlns='urn:xmpp:privilege:2'/></message>"),
        }.Select(s => c.Classify(s, T0).PresencePermissionMissing).ToList();
        Assert.That(notices, Is.EqualTo(new[] { true, false, false, false, true, false }));
    }

    [Test]
    public void A_privilege_from_a_user_is_ignored()
    {
        var forged = Top("<message from='alice@localhost/r' to='events.localhost'><privilege xmlns='urn:xmpp:privilege:2'><perm access='presence' type='none'/></privilege></message>");
        Assert.That(NewClassifier().Classify(forged, T0).PresencePermissionMissing, Is.False);
    }

    // ---- settings and result ---------------------------------------------------------------------

    [Test]
    public void Settings_come_from_the_options()
    {
        var s = ClassifierSettings.From(new XmppOptions { ComponentDomain = "events.localhost" }, new EventPusherOptions());
        Assert.Multiple(() =>
        {
            Assert.That(s.LocalDomains, Is.EqualTo(new[] { "localhost" }));
            Assert.That(s.CopyMatchWindow, Is.EqualTo(TimeSpan.FromSeconds(30)));
            Assert.That(s.MaxTrackedPresences, Is.EqualTo(1_000_000));
            Assert.That(s.MaxTrackedCopies, Is.EqualTo(100_000));
        });
    }

    public static IEnumerable<TestCaseData> BadSettings()
    {
        yield return new TestCaseData(new ClassifierSettings("", ["localhost"], TimeSpan.FromSeconds(30), 10)).SetName("Rejects an empty component domain");
        yield return new TestCaseData(new ClassifierSettings("bot@events.localhost", ["localhost"], TimeSpan.FromSeconds(30), 10)).SetName("Rejects a component JID with a node");
        yield return new TestCaseData(new ClassifierSettings("events.localhost", [], TimeSpan.FromSeconds(30), 10)).SetName("Rejects no local domain");
        yield return new TestCaseData(new ClassifierSettings("events.localhost", ["events.localhost"], TimeSpan.FromSeconds(30), 10)).SetName("Rejects the component as the only local domain");
        yield return new TestCaseData(new ClassifierSettings("events.localhost", ["a b"], TimeSpan.FromSeconds(30), 10)).SetName("Rejects an invalid local domain");
        yield return new TestCaseData(new ClassifierSettings("events.localhost", ["localhost"], TimeSpan.FromSeconds(-1), 10)).SetName("Rejects a negative window");
        yield return new TestCaseData(new ClassifierSettings("events.localhost", ["localhost"], TimeSpan.FromSeconds(30), 0)).SetName("Rejects a zero presence bound");
        yield return new TestCaseData(new ClassifierSettings("events.localhost", ["localhost"], TimeSpan.FromSeconds(30), 10) { MaxTrackedCopies = 0 }).SetName("Rejects a zero copy bound");
    }

    [TestCaseSource(nameof(BadSettings))]
    public void Invalid_settings_are_rejected_at_construction(ClassifierSettings settings) =>
        Assert.That(() => new EventClassifier(settings), Throws.ArgumentException);

    [Test]
    public void A_skip_result_allocates_no_lists()
    {
        var c = NewClassifier();
        var a = c.Classify(Top("<foo/>"), T0);
        var b = c.Classify(Top("<bar/>"), T0);
        Assert.Multiple(() =>
        {
            Assert.That(a.Events, Is.SameAs(Array.Empty<XmppEvent>()));
            Assert.That(a.Skips, Is.SameAs(b.Skips));
            Assert.That(default(ClassificationResult).Events, Is.Empty);
            Assert.That(default(ClassificationResult).Skips, Is.Empty);
        });
    }

    [Test]
    public void Events_serialize_to_the_seed_json()
    {
        var r = Run(NewClassifier(), ChatCopy(Alice, "eve@remote.example", "Hello, Bob"));
        Assert.That(Encoding.UTF8.GetString(EventJson.Serialize(r.Events[0])),
            Is.EqualTo("""{"to_user_id":"eve@remote.example","message":"Hello, Bob","from_user_id":"alice@localhost/res1"}"""));
    }
}
