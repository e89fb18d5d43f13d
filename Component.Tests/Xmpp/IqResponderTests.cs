using System.Xml.Linq;
using XmppRabbitComponent.Xmpp;

namespace XmppRabbitComponent.Tests.Xmpp;

public class IqResponderTests
{
    private static readonly XNamespace C = "jabber:component:accept";
    private static readonly XNamespace Disco = "http://jabber.org/protocol/disco#info";
    private static readonly XNamespace Stanzas = "urn:ietf:params:xml:ns:xmpp-stanzas";
    private const string Domain = "events.localhost";

    private static XElement Iq(string type, object? payload, string to = Domain, string? id = "q1") =>
        new(C + "iq", new XAttribute("type", type), id is null ? null : new XAttribute("id", id),
            new XAttribute("to", to), new XAttribute("from", "alice@localhost/res1"), payload);

    [Test]
    public void Disco_info_get_gets_identity_and_features_with_from_and_to_swapped()
    {
        var reply = IqResponder.Respond(Iq("get", new XElement(Disco + "query")), Domain)!;
        Assert.That(reply.Name, Is.EqualTo(C + "iq"));
        Assert.That((string?)reply.Attribute("type"), Is.EqualTo("result"));
        Assert.That((string?)reply.Attribute("id"), Is.EqualTo("q1"));
        Assert.That((string?)reply.Attribute("from"), Is.EqualTo(Domain));
        Assert.That((string?)reply.Attribute("to"), Is.EqualTo("alice@localhost/res1"));
        var identity = reply.Element(Disco + "query")!.Element(Disco + "identity")!;
        Assert.That(((string?)identity.Attribute("category"), (string?)identity.Attribute("type"), (string?)identity.Attribute("name")),
            Is.EqualTo(("component", "generic", "XmppRabbitComponent")));
        Assert.That(reply.Element(Disco + "query")!.Elements(Disco + "feature").Select(f => (string?)f.Attribute("var")),
            Is.EquivalentTo(new[] { "http://jabber.org/protocol/disco#info", "urn:xmpp:ping" }));
        Assert.That(StanzaWriter.ToWireString(reply), Does.StartWith("<iq type=\"result\""));
    }

    [Test]
    public void Ping_gets_an_empty_result()
    {
        var reply = IqResponder.Respond(Iq("get", new XElement(XName.Get("ping", "urn:xmpp:ping"))), Domain)!;
        Assert.That((string?)reply.Attribute("type"), Is.EqualTo("result"));
        Assert.That(reply.HasElements, Is.False);
    }

    [Test]
    public void An_IQ_to_a_node_at_the_component_is_answered_from_that_JID()
    {
        var reply = IqResponder.Respond(Iq("get", new XElement(XName.Get("ping", "urn:xmpp:ping")), to: "bot@events.localhost/x"), Domain)!;
        Assert.That((string?)reply.Attribute("from"), Is.EqualTo("bot@events.localhost/x"));
    }

    [TestCase("get", "jabber:iq:version", "query")]
    [TestCase("set", "http://jabber.org/protocol/disco#info", "query")]
    [TestCase("set", "jabber:iq:roster", "query")]
    public void Anything_else_is_service_unavailable_of_type_cancel(string type, string ns, string name)
    {
        var reply = IqResponder.Respond(Iq(type, new XElement(XName.Get(name, ns))), Domain)!;
        Assert.That((string?)reply.Attribute("type"), Is.EqualTo("error"));
        Assert.That((string?)reply.Attribute("id"), Is.EqualTo("q1"));
        var error = reply.Element(C + "error")!;
        Assert.That((string?)error.Attribute("type"), Is.EqualTo("cancel"));
        Assert.That(error.Element(Stanzas + "service-unavailable"), Is.Not.Null);
    }

    [Test]
    public void A_get_without_exactly_one_payload_is_bad_request()
    {
        var reply = IqResponder.Respond(Iq("get", null), Domain)!;
        Assert.That(reply.Element(C + "error")!.Element(Stanzas + "bad-request"), Is.Not.Null);
    }

    [TestCase("result")]
    [TestCase("error")]
    public void Results_and_errors_are_never_answered(string type)
    {
        Assert.That(IqResponder.Respond(Iq(type, new XElement(Disco + "query")), Domain), Is.Null);
    }

    [Test]
    public void IQs_for_other_domains_non_IQs_and_IQs_without_id_are_not_answered()
    {
        Assert.That(IqResponder.Respond(Iq("get", new XElement(Disco + "query"), to: "localhost"), Domain), Is.Null);
        Assert.That(IqResponder.Respond(Iq("get", new XElement(Disco + "query"), id: null), Domain), Is.Null);
        Assert.That(IqResponder.Respond(new XElement(C + "message", new XAttribute("to", Domain)), Domain), Is.Null);
        Assert.That(IqResponder.Respond(new XElement(XName.Get("iq", "jabber:client"), new XAttribute("type", "get"), new XAttribute("id", "1"), new XAttribute("to", Domain)), Domain), Is.Null);
    }
}
