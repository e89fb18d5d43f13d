using System.Buffers;
using System.Text;
using System.Xml.Linq;
using XmppRabbitComponent.Xmpp;
using static XmppRabbitComponent.Tests.Xmpp.FramerHarness;

namespace XmppRabbitComponent.Tests.Xmpp;

[TestFixture(Feed.Whole)]
[TestFixture(Feed.OneBytePerSegment)]
[CancelAfter(10_000)]
public class StanzaParserTests(Feed feed)
{
    private const string Header = "<?xml version='1.0'?><stream:stream id='11189034398600122271' xml:lang='en' xmlns:stream='http://etherx.jabber.org/streams' from='events.localhost' xmlns='jabber:component:accept'>";
    private static readonly XNamespace C = "jabber:component:accept";
    private static readonly XNamespace Client = "jabber:client";

    /// <summary>Frames and parses the way the connection does: the header first, then every stanza.</summary>
    private List<XElement> FrameAndParse(string text, out StreamHeader header)
    {
        var framer = NewFramer();
        var frames = Run(text, feed, framer);
        header = StanzaParser.ParseHeader(Bytes(frames[0]));
        var parser = new StanzaParser(header);
        return frames.Skip(1).Where(f => f.Kind == FrameKind.Stanza).Select(f => parser.Parse(Bytes(f))).ToList();
    }

    private static ReadOnlySequence<byte> Bytes(FrameText f) => new(Encoding.UTF8.GetBytes(f.Text));

    private XmppProtocolException RejectsStanza(string stanza) =>
        Assert.Throws<XmppProtocolException>(() => FrameAndParse(Header + stanza, out _))!;

    [Test]
    public void Header_yields_id_from_lang_and_namespace_declarations()
    {
        FrameAndParse(Header, out var header);
        Assert.That(header.Id, Is.EqualTo("11189034398600122271"));
        Assert.That(header.From, Is.EqualTo("events.localhost"));
        Assert.That(header.Lang, Is.EqualTo("en"));
        Assert.That(header.DefaultNamespace, Is.EqualTo("jabber:component:accept"));
        Assert.That(header.Namespaces["stream"], Is.EqualTo("http://etherx.jabber.org/streams"));
    }

    [Test]
    public void Header_in_the_wrong_namespace_is_invalid_namespace()
    {
        var ex = Assert.Throws<XmppProtocolException>(() => FrameAndParse("<stream:stream xmlns:stream='urn:wrong' xmlns='jabber:component:accept'>", out _))!;
        Assert.That(ex.Condition, Is.EqualTo(StreamErrorCondition.InvalidNamespace));
        ex = Assert.Throws<XmppProtocolException>(() => FrameAndParse("<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client'>", out _))!;
        Assert.That(ex.Condition, Is.EqualTo(StreamErrorCondition.InvalidNamespace));
    }

    [Test]
    public void Main_session_stanzas_parse_in_the_component_namespace_with_forwarded_content_in_jabber_client()
    {
        var stanzas = FrameAndParse(Capture("main-session.xml"), out var header);
        Assert.That(header.Id, Is.EqualTo("17323897834781705738"));
        Assert.That(stanzas, Has.Count.EqualTo(112));
        Assert.That(stanzas[0].Name, Is.EqualTo(C + "handshake"));
        Assert.That(stanzas.Select(s => s.Name.Namespace), Is.All.EqualTo(C));
        var forwarded = stanzas[2].Element(XName.Get("forwarded", "urn:xmpp:forward:0"))!;
        Assert.That(forwarded.Elements().Single().Name, Is.EqualTo(Client + "iq"));
        Assert.That(stanzas[2].Attribute("id")!.Value, Is.EqualTo("15708220587457544928"));
        var unavailable = stanzas.Single(s => s.Name == C + "presence" && (string?)s.Attribute("type") == "unavailable" && s.Element(C + "status") is not null);
        Assert.That(unavailable.Element(C + "status")!.Value, Is.EqualTo("bye"));
    }

    [Test]
    public void Predefined_entities_character_references_and_CDATA_decode()
    {
        var m = FrameAndParse(Header + "<message to='a&amp;b'><body>&lt;x&gt; &#x41;&#66; <![CDATA[<raw>&amp;]]></body></message>", out _).Single();
        Assert.That((string?)m.Attribute("to"), Is.EqualTo("a&b"));
        Assert.That(m.Element(C + "body")!.Value, Is.EqualTo("<x> AB <raw>&amp;"));
    }

    [Test]
    public void Unbound_prefix_is_not_well_formed()
    {
        Assert.That(RejectsStanza("<message><foo:bar/></message>").Condition, Is.EqualTo(StreamErrorCondition.NotWellFormed));
    }

    [Test]
    public void Prefixes_declared_in_the_stanza_are_honoured()
    {
        var m = FrameAndParse(Header + "<message xmlns:f='urn:f'><f:x f:a='1'/></message>", out _).Single();
        Assert.That(m.Element(XName.Get("x", "urn:f"))!.Attribute(XName.Get("a", "urn:f"))!.Value, Is.EqualTo("1"));
    }

    [Test]
    public void Duplicate_attribute_is_not_well_formed()
    {
        Assert.That(RejectsStanza("<message to='a' to='b'/>").Condition, Is.EqualTo(StreamErrorCondition.NotWellFormed));
    }

    [Test]
    public void Stream_error_surfaces_as_a_typed_exception_with_condition_and_text()
    {
        var ex = Assert.Throws<StreamErrorException>(() => FrameAndParse(Header +
            "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>Replaced by new connection</text></stream:error>", out _))!;
        Assert.That(ex.Condition, Is.EqualTo(StreamErrorCondition.Conflict));
        Assert.That(ex.Text, Is.EqualTo("Replaced by new connection"));
        Assert.That(ex.IsAuthenticationRefusal, Is.False);
    }

    [TestCase("=== wrong secret")]
    [TestCase("=== unknown component domain (not in hosts:)")]
    public void The_captured_handshake_refusals_are_not_authorized(string section)
    {
        var lines = File.ReadAllLines(Path.Combine(TestContext.CurrentContext.TestDirectory, "TestData", "captures", "handshake-errors.txt"));
        var wire = lines[Array.IndexOf(lines, section) + 1];
        var ex = Assert.Throws<StreamErrorException>(() => FrameAndParse(wire, out _))!;
        Assert.That(ex.Condition, Is.EqualTo(StreamErrorCondition.NotAuthorized));
        Assert.That(ex.IsAuthenticationRefusal, Is.True);
    }

    [Test]
    public void Unknown_stream_error_condition_maps_to_undefined_condition_but_keeps_its_name()
    {
        var ex = Assert.Throws<StreamErrorException>(() => FrameAndParse(Header +
            "<stream:error><made-up xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>", out _))!;
        Assert.That(ex.Condition, Is.EqualTo(StreamErrorCondition.UndefinedCondition));
        Assert.That(ex.ConditionName, Is.EqualTo("made-up"));
    }

    [Test]
    public void Parser_alone_rejects_a_comment_or_DTD_if_a_frame_ever_carried_one()
    {
        FrameAndParse(Header, out var header);
        var parser = new StanzaParser(header);
        var ex = Assert.Throws<XmppProtocolException>(() => parser.Parse(new ReadOnlySequence<byte>("<message><!-- x --></message>"u8.ToArray())))!;
        Assert.That(ex.Condition, Is.EqualTo(StreamErrorCondition.RestrictedXml));
        ex = Assert.Throws<XmppProtocolException>(() => parser.Parse(new ReadOnlySequence<byte>("<!DOCTYPE m [<!ENTITY a 'b'>]><message>&a;</message>"u8.ToArray())))!;
        Assert.That(ex.Condition, Is.AnyOf(StreamErrorCondition.NotWellFormed, StreamErrorCondition.RestrictedXml));
        ex = Assert.Throws<XmppProtocolException>(() => parser.Parse(new ReadOnlySequence<byte>("<message>\u0001</message>"u8.ToArray())))!;
        Assert.That(ex.Condition, Is.EqualTo(StreamErrorCondition.NotWellFormed));
    }
}

public class StanzaWriterTests
{
    private static readonly XNamespace C = "jabber:component:accept";

    [Test]
    public void A_stanza_in_the_component_namespace_is_written_without_a_stray_xmlns()
    {
        var m = new XElement(C + "message", new XAttribute("to", "a@b"), new XElement(C + "body", "hi"),
            new XElement(XName.Get("x", "urn:x"), new XElement(XName.Get("y", "urn:x"))));
        Assert.That(StanzaWriter.ToWireString(m), Is.EqualTo("<message to=\"a@b\"><body>hi</body><x xmlns=\"urn:x\"><y /></x></message>"));
    }

    [Test]
    public void Attribute_values_and_text_are_escaped()
    {
        var m = new XElement(C + "message", new XAttribute("to", "a'\"<&>b"), new XElement(C + "body", "<&>\r\n"));
        var wire = StanzaWriter.ToWireString(m);
        // \r is entitized so a reader does not normalize it away; \n survives in text as is.
        Assert.That(wire, Is.EqualTo("<message to=\"a'&quot;&lt;&amp;&gt;b\"><body>&lt;&amp;&gt;&#xD;\n</body></message>"));
    }

    [Test]
    public void A_component_namespace_element_under_a_foreign_payload_keeps_its_namespace()
    {
        var m = new XElement(C + "message", new XElement(XName.Get("x", "urn:x"), new XElement(C + "inner")));
        var reparsed = XElement.Load(new StringReader(StanzaWriter.ToWireString(m).Replace("<message", "<message xmlns='jabber:component:accept'")));
        Assert.That(reparsed.Descendants().Last().Name, Is.EqualTo(C + "inner"));
    }

    [Test]
    public void Characters_outside_XML_are_refused()
    {
        Assert.Throws<ArgumentException>(() => StanzaWriter.Serialize(new XElement(C + "message", "\u0001")));
    }

    [Test]
    public void A_parsed_stanza_round_trips_without_its_context_namespace()
    {
        var parsed = new XElement(C + "iq", new XAttribute("xmlns", "jabber:component:accept"), new XAttribute("type", "get"));
        Assert.That(StanzaWriter.ToWireString(parsed), Is.EqualTo("<iq type=\"get\" />"));
    }
}
