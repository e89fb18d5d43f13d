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

    // The reference the parser must match: one fresh XmlReader per frame and XNode.ReadFrom, as it parsed before
    // one reader served the whole stream.
    private static XElement ReferenceParse(StreamHeader header, string frame)
    {
        var names = new System.Xml.NameTable();
        var manager = new System.Xml.XmlNamespaceManager(names);
        manager.AddNamespace("", "jabber:component:accept");
        foreach (var (prefix, uri) in header.Namespaces) if (prefix is not ("xml" or "xmlns")) manager.AddNamespace(prefix, uri);
        var settings = new System.Xml.XmlReaderSettings { DtdProcessing = System.Xml.DtdProcessing.Prohibit, XmlResolver = null, ConformanceLevel = System.Xml.ConformanceLevel.Fragment };
        using var reader = System.Xml.XmlReader.Create(new StringReader(frame), settings, new System.Xml.XmlParserContext(names, manager, header.Lang, System.Xml.XmlSpace.None));
        reader.MoveToContent();
        return (XElement)XNode.ReadFrom(reader);
    }

    private static string Wire(XElement e) => e.ToString(SaveOptions.DisableFormatting | SaveOptions.OmitDuplicateNamespaces);

    [TestCase("main-session.xml")]
    [TestCase("disconnect-detection.xml")]
    [TestCase("late-connect-and-reconnect.xml")]
    public void One_reader_for_the_stream_gives_the_trees_a_reader_per_frame_gave(string capture)
    {
        var framer = NewFramer();
        var frames = Run(Capture(capture), feed, framer).Where(f => f.Kind != FrameKind.StreamEnd).ToList();
        var header = StanzaParser.ParseHeader(Bytes(frames[0]));
        var parser = new StanzaParser(header);
        var stanzas = frames.Skip(1).Where(f => f.Kind == FrameKind.Stanza).ToList();
        Assert.That(stanzas, Is.Not.Empty);
        foreach (var f in stanzas)
        {
            XElement parsed;
            try { parsed = parser.Parse(Bytes(f)); }
            catch (StreamErrorException) { continue; }
            var expected = ReferenceParse(header, f.Text);
            Assert.That(Wire(parsed), Is.EqualTo(Wire(expected)), f.Text);
            Assert.That(parsed.DescendantsAndSelf().Select(e => e.IsEmpty), Is.EqualTo(expected.DescendantsAndSelf().Select(e => e.IsEmpty)), f.Text);
        }
    }

    [Test]
    public void Text_cdata_empty_elements_and_namespaces_come_out_as_a_reader_per_frame_made_them()
    {
        FrameAndParse(Header, out var header);
        var parser = new StanzaParser(header);
        string[] frames =
        [
            "<message to='a&amp;b' xml:lang='de'><body>x &lt; <![CDATA[<?not a pi?> ]]>y</body><empty></empty><e/></message>",
            "<message xmlns:f='urn:f'><f:x f:a='1' b='2'/><body xmlns='jabber:client'>\r\n  </body></message>",
            "<presence/>",
            "<iq type='get' xmlns='jabber:component:accept'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
        ];
        foreach (var f in frames)
        {
            var parsed = parser.Parse(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(f)));
            var expected = ReferenceParse(header, f);
            Assert.That(Wire(parsed), Is.EqualTo(Wire(expected)), f);
            Assert.That(parsed.DescendantsAndSelf().Select(e => e.IsEmpty), Is.EqualTo(expected.DescendantsAndSelf().Select(e => e.IsEmpty)), f);
            Assert.That(parsed.Attributes().Select(a => a.Name), Is.EqualTo(expected.Attributes().Select(a => a.Name)), f);
        }
    }

    [TestCase("<message/>junk", StreamErrorCondition.NotWellFormed)]
    [TestCase("<message/><message/>", StreamErrorCondition.NotWellFormed)]
    [TestCase("text<message/>", StreamErrorCondition.NotWellFormed)]
    [TestCase("<message><body>", StreamErrorCondition.NotWellFormed)]
    [TestCase("<message/><?xrc-frame-end?>", StreamErrorCondition.RestrictedXml)]
    [TestCase("<message><?xrc-frame-end?></message>", StreamErrorCondition.RestrictedXml)]
    [TestCase("<?xrc-frame-end?><message/>", StreamErrorCondition.RestrictedXml)]
    [TestCase("<message><!-- x --></message>", StreamErrorCondition.RestrictedXml)]
    [TestCase("<!-- x --><message/>", StreamErrorCondition.RestrictedXml)]
    [TestCase("<message/><!-- x -->", StreamErrorCondition.RestrictedXml)]
    [TestCase("<message a='1' a='2'/>", StreamErrorCondition.NotWellFormed)]
    [TestCase("<p:message/>", StreamErrorCondition.NotWellFormed)]
    public void A_frame_that_is_not_exactly_one_clean_element_is_refused_and_the_next_frame_still_parses(string frame, StreamErrorCondition condition)
    {
        FrameAndParse(Header, out var header);
        var parser = new StanzaParser(header);
        Assert.That(parser.Parse(new ReadOnlySequence<byte>("<presence/>"u8.ToArray())).Name, Is.EqualTo(C + "presence"));
        var ex = Assert.Throws<XmppProtocolException>(() => parser.Parse(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(frame))))!;
        Assert.That(ex.Condition, Is.EqualTo(condition), ex.Message);
        Assert.That(parser.Parse(new ReadOnlySequence<byte>("<message><body>after</body></message>"u8.ToArray())).Value, Is.EqualTo("after"));
    }

    [Test]
    public void Ever_new_names_replace_the_reader_and_parsing_goes_on()
    {
        FrameAndParse(Header, out var header);
        var parser = new StanzaParser(header);
        for (var i = 0; i < StanzaParser.MaxNamesPerReader * 3; i++)
        {
            var frame = $"<message><x{i} xmlns='urn:n{i}' a{i}='v'>t</x{i}></message>";
            var e = parser.Parse(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(frame)));
            Assert.That(e.Elements().Single().Name, Is.EqualTo(XName.Get($"x{i}", $"urn:n{i}")));
        }
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
