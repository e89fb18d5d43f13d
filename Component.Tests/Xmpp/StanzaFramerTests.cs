using System.Buffers;
using System.Text;
using XmppRabbitComponent.Xmpp;
using static XmppRabbitComponent.Tests.Xmpp.FramerHarness;

namespace XmppRabbitComponent.Tests.Xmpp;

[TestFixture(Feed.Whole)]
[TestFixture(Feed.OneBytePerSegment)]
[CancelAfter(10_000)]
public class StanzaFramerTests(Feed feed)
{
    private const string Header = "<?xml version='1.0'?><stream:stream id='42' xmlns:stream='http://etherx.jabber.org/streams' from='events.localhost' xmlns='jabber:component:accept'>";

    private static XmppProtocolException Rejects(string text, Feed feed, StanzaFramer? framer = null) =>
        Assert.Throws<XmppProtocolException>(() => Run(text, feed, framer))!;

    private static XmppProtocolException Rejects(byte[] bytes, Feed feed) =>
        Assert.Throws<XmppProtocolException>(() => Run(bytes, feed))!;

    // Long runs of plain ASCII in text, attribute values and CDATA are skipped in one search: the rules must hold
    // at every position of such a run, the frame limit to the byte.
    [TestCase("<message><body>{0}</body></message>")]
    [TestCase("<message a='{0}'/>")]
    [TestCase("<message a=\"{0}\"/>")]
    [TestCase("<message><body><![CDATA[{0}]]></body></message>")]
    public void Long_plain_runs_keep_the_frame_limit_to_the_byte(string shape)
    {
        var overhead = string.Format(shape, "").Length;
        var framer = NewFramer(maxSize: 300);
        var fits = string.Format(shape, new string('x', 300 - overhead));
        Assert.That(Run(Header + fits, feed, framer).Select(f => f.Text), Is.EqualTo(new[] { Run(Header, feed)[0].Text, fits }));
        var over = Rejects(Header + string.Format(shape, new string('x', 301 - overhead)), feed, NewFramer(maxSize: 300));
        Assert.That(over.Condition, Is.EqualTo(StreamErrorCondition.PolicyViolation));
    }

    [TestCase("<message><body>{0}\u0001{0}</body></message>", StreamErrorCondition.NotWellFormed)]
    [TestCase("<message a='{0}\u0008{0}'/>", StreamErrorCondition.NotWellFormed)]
    [TestCase("<message><body><![CDATA[{0}\u001f]]></body></message>", StreamErrorCondition.NotWellFormed)]
    [TestCase("<message><body>{0}<{0}</body></message>", StreamErrorCondition.NotWellFormed)]
    [TestCase("<message a='{0}<'/>", StreamErrorCondition.NotWellFormed)]
    [TestCase("<message><body>{0}&bogus;</body></message>", StreamErrorCondition.RestrictedXml)]
    [TestCase("<message a='{0}&#1;'/>", StreamErrorCondition.NotWellFormed)]
    public void A_violation_after_a_long_plain_run_is_still_found(string shape, StreamErrorCondition condition) =>
        Assert.That(Rejects(Header + string.Format(shape, new string('y', 200)), feed).Condition, Is.EqualTo(condition));

    [Test]
    public void A_UTF8_lead_byte_followed_by_plain_ASCII_is_invalid_UTF8()
    {
        var bytes = Encoding.UTF8.GetBytes(Header + "<message><body>" + new string('z', 100)).Concat(new byte[] { 0xC3 })
            .Concat(Encoding.UTF8.GetBytes(new string('z', 100) + "</body></message>")).ToArray();
        Assert.That(Rejects(bytes, feed).Condition, Is.EqualTo(StreamErrorCondition.NotWellFormed));
    }

    [Test]
    public void CDATA_ends_only_at_two_brackets_and_a_gt_also_after_long_runs()
    {
        var stanza = "<message><body><![CDATA[" + new string('a', 100) + "]>" + new string('b', 100) + "] ]>" + new string('c', 100) + "]]></body></message>";
        Assert.That(Run(Header + stanza, feed).Last().Text, Is.EqualTo(stanza));
    }

    [Test]
    public void Main_session_capture_frames_into_header_112_stanzas_and_stream_end()
    {
        var frames = Run(Capture("main-session.xml"), feed);

        Assert.That(frames, Has.Count.EqualTo(114));
        Assert.That(frames[0].Kind, Is.EqualTo(FrameKind.StreamHeader));
        Assert.That(frames[0].Text, Does.StartWith("<stream:stream id='17323897834781705738'").And.EndWith(">"));
        Assert.That(frames[1], Is.EqualTo(new FrameText(FrameKind.Stanza, "<handshake/>")));
        Assert.That(frames.Skip(1).SkipLast(1).Select(f => f.Kind), Is.All.EqualTo(FrameKind.Stanza));
        Assert.That(frames[^1], Is.EqualTo(new FrameText(FrameKind.StreamEnd, "</stream:stream>")));
        Assert.That(frames.Skip(1).SkipLast(1).Count(f => f.Text.StartsWith("<message")), Is.EqualTo(102));
        Assert.That(frames.Skip(1).SkipLast(1).Count(f => f.Text.StartsWith("<presence")), Is.EqualTo(9));
    }

    [Test]
    public void Whole_and_byte_per_segment_feeds_yield_identical_frames_for_every_capture(
        [Values("main-session.xml", "disconnect-detection.xml", "late-connect-and-reconnect.xml")] string capture)
    {
        var text = Capture(capture);
        Assert.That(Run(text, feed), Is.EqualTo(Run(text, Feed.Whole)));
    }

    [Test]
    public void A_stanza_is_returned_as_soon_as_its_last_byte_arrives()
    {
        var framer = NewFramer();
        var first = Encoding.UTF8.GetBytes(Header + "<message id='1'><body>hi</body></message>");
        var frames = Run(first, feed, framer);
        Assert.That(frames.Select(f => f.Kind), Is.EqualTo(new[] { FrameKind.StreamHeader, FrameKind.Stanza }));

        // Without the final '>' the stanza is not complete.
        var framer2 = NewFramer();
        Assert.That(Run(first[..^1], feed, framer2).Select(f => f.Kind), Is.EqualTo(new[] { FrameKind.StreamHeader }));
    }

    [Test]
    public void Whitespace_keepalives_between_stanzas_are_ignored_and_released()
    {
        var framer = NewFramer();
        Run(Header, feed, framer);
        var spaces = new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(" \n\t \r\n"));
        Assert.That(framer.TryReadFrame(ref spaces, out _), Is.False);
        Assert.That(spaces.Length, Is.Zero, "ignored whitespace is consumed, so keepalives never accumulate");
        Assert.That(framer.HasPartialFrame, Is.False);
    }

    [Test]
    public void Quotes_in_attributes_self_closing_tags_CDATA_and_predefined_entities_are_framed()
    {
        const string stanza = "<message to='a@b' note=\"x > y / z\" q='&quot;&#x41;&#65;'><body><![CDATA[</body> <b> ]] ]>]]></body><x/><y a='1'/>&lt;&gt;&amp;&apos;</message>";
        var frames = Run(Header + stanza + "<presence/></stream:stream>", feed);
        Assert.That(frames.Select(f => f.Text), Is.EqualTo(new[]
        {
            Header["<?xml version='1.0'?>".Length..], stanza, "<presence/>", "</stream:stream>",
        }));
    }

    [Test]
    public void The_stream_header_may_come_without_an_XML_declaration()
    {
        var frames = Run("<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' id='1'><handshake/>", feed);
        Assert.That(frames.Select(f => f.Kind), Is.EqualTo(new[] { FrameKind.StreamHeader, FrameKind.Stanza }));
    }

    [Test]
    public void Bytes_after_the_stream_end_are_not_scanned()
    {
        var framer = NewFramer();
        var frames = Run(Header + "</stream:stream>garbage<", feed, framer);
        Assert.That(frames[^1].Kind, Is.EqualTo(FrameKind.StreamEnd), "nothing framed from the bytes after the end");
    }

    [Test]
    public void Stanza_over_the_size_limit_is_a_policy_violation_before_it_is_buffered_whole()
    {
        var framer = NewFramer(maxSize: 1024);
        var big = Header + "<message><body>" + new string('a', 5000) + "</body></message>";
        var ex = Rejects(big, feed, framer);
        Assert.That(ex.Condition, Is.EqualTo(StreamErrorCondition.PolicyViolation));

        // A stanza of exactly the limit passes.
        var exact = "<message><body>" + new string('a', 1024 - "<message><body></body></message>".Length) + "</body></message>";
        Assert.That(Encoding.UTF8.GetByteCount(exact), Is.EqualTo(1024));
        Assert.That(Run(Header + exact, feed, NewFramer(maxSize: 1024)), Has.Count.EqualTo(2));
    }

    [Test]
    public void Size_limit_is_detected_without_the_stanza_ever_ending()
    {
        // An endless stanza: the framer must throw once the limit is passed, not wait for the end tag.
        var framer = NewFramer(maxSize: 1024);
        Run(Header + "<message><body>", feed, framer);
        var chunk = Encoding.UTF8.GetBytes(new string('a', 2000));
        var buffer = new ReadOnlySequence<byte>(chunk);
        var ex = Assert.Throws<XmppProtocolException>(() => framer.TryReadFrame(ref buffer, out _))!;
        Assert.That(ex.Condition, Is.EqualTo(StreamErrorCondition.PolicyViolation));
    }

    [Test]
    public void Nesting_deeper_than_the_limit_is_a_policy_violation()
    {
        var ok = Header + "<a>" + string.Concat(Enumerable.Repeat("<b>", 3)) + string.Concat(Enumerable.Repeat("</b>", 3)) + "</a>";
        Assert.That(Run(ok, feed, NewFramer(maxDepth: 4)), Has.Count.EqualTo(2));

        var deep = Header + "<a>" + string.Concat(Enumerable.Repeat("<b>", 4));
        Assert.That(Rejects(deep, feed, NewFramer(maxDepth: 4)).Condition, Is.EqualTo(StreamErrorCondition.PolicyViolation));
    }

    [Test]
    public void More_attributes_than_the_limit_is_a_policy_violation()
    {
        string Element(int n) => "<message" + string.Concat(Enumerable.Range(0, n).Select(i => $" a{i}='{i}'")) + "/>";
        Assert.That(Run(Header + Element(8), feed, NewFramer(maxAttributes: 8)), Has.Count.EqualTo(2));
        Assert.That(Rejects(Header + Element(9), feed, NewFramer(maxAttributes: 8)).Condition, Is.EqualTo(StreamErrorCondition.PolicyViolation));
    }

    [Test]
    public void The_stream_header_counts_against_the_attribute_limit_too()
    {
        Assert.That(Rejects(Header, feed, NewFramer(maxAttributes: 3)).Condition, Is.EqualTo(StreamErrorCondition.PolicyViolation));
    }

    [TestCase("<!DOCTYPE stream [<!ENTITY x 'y'>]>" + "<stream:stream>", TestName = "DOCTYPE before the stream header is restricted-xml")]
    [TestCase(Header + "<!DOCTYPE x>", TestName = "DOCTYPE at stream level is restricted-xml")]
    [TestCase(Header + "<!ENTITY lol 'lol'>", TestName = "Entity declaration is restricted-xml")]
    [TestCase(Header + "<message><!ENTITY lol 'lol'></message>", TestName = "Entity declaration inside a stanza is restricted-xml")]
    [TestCase(Header + "<message><body>&lol;</body></message>", TestName = "Undeclared entity reference is restricted-xml")]
    [TestCase(Header + "<message to='&ent;'/>", TestName = "Undeclared entity reference in an attribute is restricted-xml")]
    [TestCase(Header + "<message><body>&averyveryverylongentityname;</body></message>", TestName = "Long undeclared entity reference is restricted-xml")]
    [TestCase(Header + "<!-- hi -->", TestName = "Comment at stream level is restricted-xml")]
    [TestCase(Header + "<message><!-- hi --></message>", TestName = "Comment inside a stanza is restricted-xml")]
    [TestCase("<!-- hi --><stream:stream>", TestName = "Comment before the header is restricted-xml")]
    [TestCase(Header + "<?php echo 1 ?>", TestName = "Processing instruction at stream level is restricted-xml")]
    [TestCase(Header + "<message><?pi x?></message>", TestName = "Processing instruction inside a stanza is restricted-xml")]
    [TestCase(" <?xml version='1.0'?><stream:stream>", TestName = "XML declaration not at the very start is restricted-xml")]
    [TestCase("<?xml-stylesheet href='x'?><stream:stream>", TestName = "Processing instruction instead of the XML declaration is restricted-xml")]
    public void Restricted_XML_is_rejected(string text)
    {
        Assert.That(Rejects(text, feed).Condition, Is.EqualTo(StreamErrorCondition.RestrictedXml));
    }

    [TestCase(Header + "hello", TestName = "Text at stream level is not-well-formed")]
    [TestCase(Header + "<![CDATA[x]]>", TestName = "CDATA at stream level is not-well-formed")]
    [TestCase(Header + "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>", TestName = "A second stream header is not-well-formed")]
    [TestCase(Header + "<message><body></message>", TestName = "Mismatched end tag is not-well-formed")]
    [TestCase(Header + "</message>", TestName = "End tag at stream level not closing the stream is not-well-formed")]
    [TestCase(Header + "<message>&#x1;</message>", TestName = "Character reference to U+0001 is not-well-formed")]
    [TestCase(Header + "<message a='&#0;'/>", TestName = "Character reference to U+0000 in an attribute is not-well-formed")]
    [TestCase(Header + "<message>&#xFFFE;</message>", TestName = "Character reference to U+FFFE is not-well-formed")]
    [TestCase(Header + "<message>&#xD800;</message>", TestName = "Character reference to a surrogate is not-well-formed")]
    [TestCase(Header + "<message>\u0001</message>", TestName = "Raw U+0001 is not-well-formed")]
    [TestCase(Header + "<message>\uFFFF</message>", TestName = "Raw U+FFFF is not-well-formed")]
    [TestCase(Header + "<message>a & b</message>", TestName = "Bare ampersand is not-well-formed")]
    [TestCase(Header + "<message a='<'/>", TestName = "Less-than in an attribute value is not-well-formed")]
    [TestCase(Header + "<message a=b/>", TestName = "Unquoted attribute value is not-well-formed")]
    [TestCase("hello<stream:stream>", TestName = "Text before the stream header is not-well-formed")]
    [TestCase("<stream:stream/>", TestName = "An empty stream header element is not-well-formed")]
    public void Ill_formed_XML_is_rejected(string text)
    {
        Assert.That(Rejects(text, feed).Condition, Is.EqualTo(StreamErrorCondition.NotWellFormed));
    }

    [TestCase(new byte[] { 0xC3, 0x28 }, TestName = "Truncated two-byte sequence is not-well-formed")]
    [TestCase(new byte[] { 0xFF }, TestName = "Byte 0xFF is not-well-formed")]
    [TestCase(new byte[] { 0xC0, 0xAF }, TestName = "Overlong encoding is not-well-formed")]
    [TestCase(new byte[] { 0xED, 0xA0, 0x80 }, TestName = "Encoded surrogate is not-well-formed")]
    [TestCase(new byte[] { 0xF4, 0x90, 0x80, 0x80 }, TestName = "Code point above U+10FFFF is not-well-formed")]
    [TestCase(new byte[] { 0x80 }, TestName = "Lone continuation byte is not-well-formed")]
    public void Invalid_UTF8_inside_a_stanza_is_rejected(byte[] bad)
    {
        var bytes = Encoding.UTF8.GetBytes(Header + "<message><body>").Concat(bad).Concat(Encoding.UTF8.GetBytes("</body></message>")).ToArray();
        Assert.That(Rejects(bytes, feed).Condition, Is.EqualTo(StreamErrorCondition.NotWellFormed));
    }

    [Test]
    public void Multibyte_UTF8_split_across_segments_is_accepted()
    {
        const string stanza = "<message><body>héllo €𝄞 😀</body></message>";
        var frames = Run(Header + stanza, feed);
        Assert.That(frames[1].Text, Is.EqualTo(stanza));
    }

    [Test]
    public void An_XML_declaration_naming_another_encoding_is_unsupported_encoding()
    {
        var ex = Rejects("<?xml version='1.0' encoding='ISO-8859-1'?><stream:stream>", feed);
        Assert.That(ex.Condition, Is.EqualTo(StreamErrorCondition.UnsupportedEncoding));
        Assert.That(Run("<?xml version='1.0' encoding=\"utf-8\"?><stream:stream>", feed), Has.Count.EqualTo(1));
    }

    [Test]
    public void A_faulted_framer_refuses_further_input()
    {
        var framer = NewFramer();
        Rejects(Header + "<!--", Feed.Whole, framer);
        var buffer = new ReadOnlySequence<byte>("<a/>"u8.ToArray());
        Assert.Throws<InvalidOperationException>(() => framer.TryReadFrame(ref buffer, out _));
    }
}
