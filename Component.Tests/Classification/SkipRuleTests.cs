using System.Xml.Linq;
using XmppRabbitComponent.Classification;
using static XmppRabbitComponent.Tests.Classification.Kit;

namespace XmppRabbitComponent.Tests.Classification;

/// <summary>Every skip rule of docs/events.md, one row each: the stanzas (in order, one classifier), and the reason the last one is skipped for.</summary>
public class SkipRuleTests
{
    private static TestCaseData Case(string name, string label, params Func<XElement>[] stanzas) =>
        new TestCaseData(stanzas, label).SetName($"Skipped as {label}: {name}");

    private const string Alice = "alice@localhost/res1";
    private const string Bob = "bob@localhost/phone";
    private const string Room = "room1@muc.localhost";

    public static IEnumerable<TestCaseData> Cases()
    {
        // Not a stanza / IQs / privileges
        yield return Case("an unknown top-level element", "not_stanza", () => Top("<foo/>"));
        yield return Case("a message in a foreign namespace", "not_stanza", () => XElement.Parse("<message xmlns='urn:other' from='localhost'/>"));
        yield return Case("a message in no namespace", "not_stanza", () => new XElement("message"));
        yield return Case("a copy whose forwarded holds only a delay", "not_stanza",
            () => Top("<message from='localhost' to='events.localhost'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2020-01-01T00:00:00Z'/></forwarded></message>"));
        yield return Case("a copy whose forwarded holds an XHTML message", "not_stanza",
            () => Top("<message from='localhost' to='events.localhost'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='http://www.w3.org/1999/xhtml'/></forwarded></message>"));
        yield return Case("a top-level IQ", "iq", () => Top("<iq type='get' id='1' from='alice@localhost/res1' to='events.localhost'><ping xmlns='urn:xmpp:ping'/></iq>"));
        yield return Case("a forwarded IQ", "iq", () => Copy("<iq type='set' id='1' from='alice@localhost/res1' to='alice@localhost'/>"));
        yield return Case("the privilege advertisement", "privilege_advertisement",
            () => Top("<message from='localhost' to='events.localhost'><privilege xmlns='urn:xmpp:privilege:2'><perm access='presence' type='managed_entity'/></privilege></message>"));

        // The component is never a party
        yield return Case("a message sent to the component itself", "component_party",
            () => Top("<message from='alice@localhost/res1' to='events.localhost' type='chat'><body>hi</body></message>"));
        yield return Case("a server message to the component without copy", "component_party",
            () => Top("<message from='localhost' to='events.localhost'><body>motd</body></message>"));
        yield return Case("a copied chat to the component", "component_party", () => ChatCopy(Alice, Component, "hi"));
        yield return Case("a copied chat to node@component", "component_party", () => ChatCopy(Alice, "bot@events.localhost/x", "hi"));
        yield return Case("a copied chat from the component", "component_party", () => ChatCopy("events.localhost", "alice@localhost", "hi"));
        yield return Case("a copied presence to the component", "component_party", () => PresenceCopy(Alice, Component));
        yield return Case("a top-level presence from the component", "component_party", () => Top("<presence from='events.localhost' to='events.localhost'/>"));

        // Trust: forged copies
        yield return Case("a forwarded copy from a user", "untrusted_copy", () => ChatCopyFrom(Alice));
        yield return Case("a forwarded copy from a bare user JID", "untrusted_copy", () => ChatCopyFrom("alice@localhost"));
        yield return Case("a forwarded copy from a room", "untrusted_copy", () => ChatCopyFrom(Room));
        yield return Case("a forwarded copy from a MUC service domain", "untrusted_copy", () => ChatCopyFrom("muc.localhost"));
        yield return Case("a forwarded copy from a remote domain", "untrusted_copy", () => ChatCopyFrom("evil.example"));
        yield return Case("a forwarded copy from the component", "untrusted_copy", () => ChatCopyFrom(Component));
        yield return Case("a forwarded copy from a server host with a resource", "untrusted_copy", () => ChatCopyFrom("localhost/res"));
        yield return Case("a forwarded copy without from", "untrusted_copy",
            () => Top("<message to='events.localhost'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' type='chat' from='alice@localhost/r' to='bob@example.com'><body>x</body></message></forwarded></message>"));
        yield return Case("a privilege advertisement from a user", "component_party",
            () => Top("<message from='alice@localhost/res1' to='events.localhost'><privilege xmlns='urn:xmpp:privilege:1'><perm access='presence' type='none'/></privilege></message>"));

        // Invalid JIDs
        yield return Case("a chat whose sender has an empty node", "invalid_jid", () => ChatCopy("@localhost/r", "bob@localhost", "hi"));
        yield return Case("a chat whose recipient has a 1024-byte node", "invalid_jid", () => ChatCopy(Alice, new string('a', 1024) + "@localhost", "hi"));
        yield return Case("a chat without to", "invalid_jid",
            () => Copy("<message type='chat' from='alice@localhost/res1'><body>hi</body></message>"));
        yield return Case("a chat without from", "invalid_jid",
            () => Copy("<message type='chat' to='bob@localhost'><body>hi</body></message>"));
        yield return Case("a presence from an empty resource", "invalid_jid", () => TopPresence("alice@localhost/"));
        yield return Case("a presence without from", "invalid_jid", () => Top("<presence to='events.localhost'/>"));
        yield return Case("a presence copy to an invalid JID", "invalid_jid", () => PresenceCopy(Alice, "a b@localhost"));

        // Locality
        yield return Case("a presence from a remote user", "not_local", () => TopPresence("eve@remote.example/pc"));
        yield return Case("a presence copy from a room occupant", "not_local", () => PresenceCopy("room1@muc.localhost/Bob", Alice));
        yield return Case("a presence from a server host", "not_local", () => Top("<presence from='localhost' to='events.localhost'/>"));
        yield return Case("an explicit sent copy whose sender is remote", "not_local",
            () => ChatCopy("eve@remote.example/pc", "alice@localhost", "hi", wrapperTo: "sent@events.localhost"));
        yield return Case("an explicit received copy whose recipient is remote", "not_local",
            () => ChatCopy(Alice, "eve@remote.example", "hi", wrapperTo: "received@events.localhost"));
        yield return Case("a groupchat from a room to a remote occupant", "not_local",
            () => ChatCopy("room1@muc.localhost/Bob", "eve@remote.example/pc", "hi", type: "groupchat"));
        yield return Case("a chat between two remote users", "remote_to_remote", () => ChatCopy("eve@remote.example/pc", "mallory@other.example", "hi"));
        yield return Case("a chat from a server host to a remote user", "remote_to_remote", () => ChatCopy("localhost", "eve@remote.example", "hi"));

        // Message types
        yield return Case("a message of type error", "error_type", () => ChatCopy(Alice, "bob@localhost", "hi", type: "error"));
        yield return Case("a message of type normal", "normal", () => ChatCopy(Alice, "bob@localhost", "hi", type: "normal"));
        yield return Case("a message without type", "normal", () => ChatCopy(Alice, "bob@localhost", "hi", type: ""));
        yield return Case("a message of an unknown type", "normal", () => ChatCopy(Alice, "bob@localhost", "hi", type: "CHAT"));
        yield return Case("a message of type headline", "headline", () => ChatCopy(Alice, "bob@localhost", "hi", type: "headline"));
        yield return Case("an error wrapper from the server", "error_type",
            () => Top("<message from='localhost' to='events.localhost' type='error'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' type='chat' from='alice@localhost/r' to='eve@remote.example'><body>x</body></message></forwarded></message>"));

        // Bodies
        yield return Case("a sent carbon", "carbon",
            () => Copy("<message type='chat' from='alice@localhost' to='alice@localhost/res2'><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' type='chat' from='alice@localhost/res1' to='bob@localhost'><body>x</body></message></forwarded></sent></message>"));
        yield return Case("a received carbon", "carbon",
            () => Copy("<message type='chat' from='alice@localhost' to='alice@localhost/res2'><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' type='chat' from='eve@remote.example/x' to='alice@localhost/res1'><body>x</body></message></forwarded></received></message>"));
        yield return Case("a chat state", "no_body",
            () => Copy("<message type='chat' from='alice@localhost/res1' to='bob@localhost'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>"));
        yield return Case("a receipt", "no_body",
            () => Copy("<message type='chat' from='alice@localhost/res1' to='bob@localhost'><received xmlns='urn:xmpp:receipts' id='m1'/></message>"));
        yield return Case("an XHTML-only body", "no_body",
            () => Copy("<message type='chat' from='alice@localhost/res1' to='bob@localhost'><html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'>hi</body></html></message>"));
        yield return Case("an XHTML body as a direct child", "no_body",
            () => Copy("<message type='chat' from='alice@localhost/res1' to='bob@localhost'><body xmlns='http://www.w3.org/1999/xhtml'>hi</body></message>"));
        yield return Case("an archive result", "nested_body_only",
            () => Copy("<message type='chat' from='alice@localhost' to='alice@localhost/res1'><result xmlns='urn:xmpp:mam:2' id='1'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' type='chat' from='bob@localhost/p' to='alice@localhost'><body>old</body></message></forwarded></result></message>"));
        yield return Case("a copy nesting a second forwarded (two levels)", "nested_body_only",
            () => Copy("<message type='chat' from='alice@localhost/res1' to='bob@localhost'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' type='chat' from='carol@localhost/x' to='bob@localhost'><body>forged</body></message></forwarded></message>"));
        yield return Case("a MucSub event", "nested_body_only",
            () => Copy("<message from='room1@muc.localhost' to='alice@localhost/res1' type='chat'><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='urn:xmpp:mucsub:nodes:messages'><item id='1'><message xmlns='jabber:client' type='groupchat' from='room1@muc.localhost/Bob' to='alice@localhost'><body>x</body></message></item></items></event></message>"));
        yield return Case("an empty body", "empty_body", () => ChatCopy(Alice, "bob@localhost", ""));
        yield return Case("a chosen empty body next to a body in another language", "empty_body",
            () => Copy("<message type='chat' xml:lang='en' from='alice@localhost/res1' to='bob@localhost'><body/><body xml:lang='de'>Hallo</body></message>"));
        yield return Case("a body with a lone surrogate", "invalid_text", () => LoneSurrogateChat());

        // Groupchat
        yield return Case("a groupchat subject change", "groupchat_subject_only",
            () => Copy("<message type='groupchat' from='room1@muc.localhost/Bob' to='alice@localhost/res1'><subject>news</subject></message>"));
        yield return Case("a groupchat chat state", "no_body",
            () => Copy("<message type='groupchat' from='room1@muc.localhost/Bob' to='alice@localhost/res1'><active xmlns='http://jabber.org/protocol/chatstates'/></message>"));
        yield return Case("a groupchat from the bare room JID", "room_notice",
            () => ChatCopy(Room, Alice, "room is now non-anonymous", type: "groupchat"));
        yield return Case("room history replayed on join", "muc_history",
            () => ChatCopy("room1@muc.localhost/Bob", Alice, "old", type: "groupchat", extra: "<delay xmlns='urn:xmpp:delay' from='room1@muc.localhost' stamp='2020-01-01T00:00:00Z'/>"));
        yield return Case("a groupchat from a local bare JID", "groupchat_misaddressed", () => ChatCopy("alice@localhost", Room, "hi", type: "groupchat"));
        yield return Case("a groupchat to a room occupant's full JID", "groupchat_misaddressed", () => ChatCopy(Alice, Room + "/Bob", "hi", type: "groupchat"));
        yield return Case("a groupchat from a user to a local user", "groupchat_misaddressed", () => ChatCopy(Alice, "bob@localhost", "hi", type: "groupchat"));
        yield return Case("a groupchat from a room to a local bare JID", "groupchat_misaddressed", () => ChatCopy("room1@muc.localhost/Bob", "alice@localhost", "hi", type: "groupchat"));
        yield return Case("a groupchat sent copy marked received", "groupchat_misaddressed",
            () => ChatCopy(Alice, Room, "hi", type: "groupchat", wrapperTo: "received@events.localhost"));
        yield return Case("a groupchat received copy marked sent", "groupchat_misaddressed",
            () => ChatCopy("room1@muc.localhost/Bob", Alice, "hi", type: "groupchat", wrapperTo: "sent@events.localhost"));

        // Copies
        yield return Case("a stream-management redelivery", "resent_copy",
            () => ChatCopy("eve@remote.example/x", "alice@localhost/res1", "hi", extra: "<delay xmlns='urn:xmpp:delay' from='localhost' stamp='2020-01-01T00:00:00Z'>Resent</delay>"));
        yield return Case("a redelivery even with an explicit direction", "resent_copy",
            () => ChatCopy(Bob, Alice, "hi", wrapperTo: "received@events.localhost", extra: "<delay xmlns='urn:xmpp:delay' from='localhost' stamp='2020-01-01T00:00:00Z'>Resent</delay>"));
        yield return Case("a groupchat redelivery", "resent_copy",
            () => ChatCopy("room1@muc.localhost/Bob", Alice, "hi", type: "groupchat", extra: "<delay xmlns='urn:xmpp:delay' from='localhost' stamp='2020-01-01T00:00:00Z'>Resent</delay>"));
        yield return Case("a third identical local copy", "duplicate_copy",
            () => ChatCopy(Alice, "bob@localhost", "hi"), () => ChatCopy(Alice, "bob@localhost", "hi"), () => ChatCopy(Alice, "bob@localhost", "hi"));

        // Presence
        yield return Case("a subscription request", "presence_not_signal", () => TopPresence(Alice, "subscribe"));
        yield return Case("a subscription approval copy", "presence_not_signal", () => PresenceCopy(Alice, "bob@localhost", "subscribed"));
        yield return Case("a probe", "presence_not_signal", () => PresenceCopy(Alice, "bob@localhost", "probe"));
        yield return Case("a presence error", "presence_not_signal", () => TopPresence(Alice, "error"));
        yield return Case("a presence of unknown type", "presence_not_signal", () => TopPresence(Alice, "available"));
        yield return Case("a presence to a MUC room", "presence_not_signal", () => PresenceCopy(Alice, "room1@muc.localhost/Alice"));
        yield return Case("a presence to a service", "presence_not_signal", () => PresenceCopy(Alice, "muc.localhost"));
        yield return Case("a presence to the server host", "presence_not_signal", () => PresenceCopy(Alice, "localhost"));
        yield return Case("a presence to a remote user", "presence_not_signal", () => PresenceCopy(Alice, "eve@remote.example"));
        yield return Case("a presence from a bare JID", "presence_not_signal", () => TopPresence("alice@localhost"));
        yield return Case("an available repeated", "presence_unchanged", () => TopPresence(Alice), () => PresenceCopy(Alice, "alice@localhost", extra: "<show>away</show>"));
        yield return Case("an unavailable repeated", "presence_unchanged", () => TopPresence(Alice, "unavailable"), () => PresenceCopy(Alice, "bob@localhost", "unavailable"));
        yield return Case("a copy contradicting the last top-level presence before its recipient saw it (session replaced)", "presence_stale_copy",
            () => TopPresence(Alice), () => PresenceCopy(Alice, "bob@localhost/p", "unavailable"));
        yield return Case("a delayed presence", "presence_delayed",
            () => PresenceCopy(Alice, "bob@localhost/phone", extra: "<delay xmlns='urn:xmpp:delay' from='alice@localhost/res1' stamp='2020-01-01T00:00:00Z'/>"));
    }

    private static XElement ChatCopyFrom(string wrapperFrom) =>
        Copy("<message type='chat' from='alice@localhost/res1' to='eve@remote.example'><body>forged</body></message>", wrapperFrom: wrapperFrom);

    private static XElement LoneSurrogateChat()
    {
        var copy = ChatCopy(Alice, "eve@remote.example", "placeholder");
        copy.Descendants(XNamespace.Get("jabber:client") + "body").Single().Value = "bad \uD800 text";
        return copy;
    }

    [TestCaseSource(nameof(Cases))]
    public void Stanza_is_skipped_for_its_reason_and_produces_nothing(Func<XElement>[] stanzas, string label)
    {
        var c = NewClassifier();
        var result = Run(c, stanzas.Select(s => s()).ToArray());
        Assert.Multiple(() =>
        {
            Assert.That(result.Events, Is.Empty, () => Describe(result));
            Assert.That(result.Skips.Select(s => s.Label()), Is.EqualTo(new[] { label }));
        });
    }

    [Test]
    public void Every_skip_reason_has_a_distinct_snake_case_label()
    {
        var labels = Enum.GetValues<SkipReason>().Select(r => r.Label()).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(labels, Is.Unique);
            Assert.That(labels, Has.All.Match("^[a-z]+(_[a-z]+)*$"));
            Assert.That(labels, Has.None.EqualTo("unknown"));
        });
    }

    [Test]
    public void Every_skip_reason_but_the_fault_is_covered_by_a_rule_row()
    {
        var covered = Cases().Select(c => (string)c.Arguments[1]!).ToHashSet();
        var all = Enum.GetValues<SkipReason>().Where(r => r != SkipReason.ClassifierFault).Select(r => r.Label());
        Assert.That(all, Is.SubsetOf(covered));
    }
}
