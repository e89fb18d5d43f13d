using System.Text;
using System.Xml.Linq;
using XmppRabbitComponent.Classification;
using XmppRabbitComponent.Events;
using static XmppRabbitComponent.Tests.Classification.Kit;

namespace XmppRabbitComponent.Tests.Classification;

/// <summary>Hostile text survives into the JSON exactly, and no XElement makes the classifier throw.</summary>
public class HostileInputTests
{
    private static readonly XNamespace Client = "jabber:client";

    private static string JsonOfBody(string body)
    {
        var copy = ChatCopy("alice@localhost/res1", "eve@remote.example", "x");
        copy.Descendants(Client + "body").Single().Value = body;
        var r = NewClassifier().Classify(copy, T0);
        Assert.That(r.Events, Has.Count.EqualTo(1), () => Describe(r));
        return Encoding.UTF8.GetString(EventJson.Serialize(r.Events[0]));
    }

    private static string Wrap(string escapedMessage) =>
        $$"""{"to_user_id":"eve@remote.example","message":"{{escapedMessage}}","from_user_id":"alice@localhost/res1"}""";

    [TestCase("say \"hi\"", "say \\\"hi\\\"")]
    [TestCase(@"C:\path\", @"C:\\path\\")]
    [TestCase("a\bb\fc\nd\re\tf", @"a\bb\fc\nd\re\tf")]
    [TestCase("\u0000\u0001\u001f", @"\u0000\u0001\u001f")]
    [TestCase("\u007f and \u0080", "\u007f and \u0080")]
    [TestCase("emoji 😀👩‍👩‍👧", "emoji 😀👩‍👩‍👧")]
    [TestCase("RTL שלום مرحبا \u202Eevil", "RTL שלום مرحبا \u202Eevil")]
    [TestCase("<b>&amp;'</b>", "<b>&amp;'</b>")]
    [TestCase("&lt;", "&lt;")]
    [TestCase("é à ü ß 中文", "é à ü ß 中文")]
    [TestCase("\u2028\u2029", "\u2028\u2029")]
    public void Hostile_body_text_is_escaped_exactly_as_the_reference(string body, string escaped) =>
        Assert.That(JsonOfBody(body), Is.EqualTo(Wrap(escaped)));

    [Test]
    public void Every_control_character_is_escaped()
    {
        var body = new string(Enumerable.Range(0, 0x20).Select(i => (char)i).ToArray());
        var expected = string.Concat(Enumerable.Range(0, 0x20).Select(i => i switch
        {
            0x08 => @"\b", 0x09 => @"\t", 0x0A => @"\n", 0x0C => @"\f", 0x0D => @"\r",
            _ => $"\\u{i:x4}",
        }));
        Assert.That(JsonOfBody(body), Is.EqualTo(Wrap(expected)));
    }

    [Test]
    public void Entities_in_the_stream_are_decoded_once()
    {
        var copy = Copy("<message type='chat' from='alice@localhost/res1' to='eve@remote.example'><body>&amp;lt;b&amp;gt; &lt;i&gt; &#x1F600;</body></message>");
        var r = NewClassifier().Classify(copy, T0);
        Assert.That(Encoding.UTF8.GetString(EventJson.Serialize(r.Events[0])), Is.EqualTo(Wrap("&lt;b&gt; <i> 😀")));
    }

    // Char codes, not strings: attribute strings are stored as UTF-8, which would turn a lone surrogate into U+FFFD.
    [TestCase(new[] { 0xD800 })]
    [TestCase(new[] { 0xDC00, 'x' })]
    [TestCase(new[] { 'x', 0xD83D })]
    [TestCase(new[] { 0xD83D, 0xD83D })]
    public void A_body_with_an_unpaired_surrogate_is_skipped_not_thrown(int[] chars)
    {
        var body = new string(chars.Select(c => (char)c).ToArray());
        var copy = ChatCopy("alice@localhost/res1", "eve@remote.example", "x");
        copy.Descendants(Client + "body").Single().Value = body;
        var r = NewClassifier().Classify(copy, T0);
        Assert.That(Describe(r), Is.EqualTo("skip:invalid_text"));
    }

    [Test]
    public void A_resource_with_an_unpaired_surrogate_is_an_invalid_jid()
    {
        var copy = ChatCopy("alice@localhost/res1", "eve@remote.example", "x");
        copy.Descendants(Client + "message").Single().SetAttributeValue("from", "alice@localhost/\uD800");
        Assert.That(Describe(NewClassifier().Classify(copy, T0)), Is.EqualTo("skip:invalid_jid"));
    }

    public static IEnumerable<TestCaseData> Weird()
    {
        XNamespace a = "jabber:component:accept", f = "urn:xmpp:forward:0";
        yield return new TestCaseData(new XElement(a + "message")).SetName("A bare message element");
        yield return new TestCaseData(new XElement(a + "presence")).SetName("A bare presence element");
        yield return new TestCaseData(new XElement(a + "message", new XAttribute("from", "localhost"), new XElement(f + "forwarded"))).SetName("An empty forwarded");
        yield return new TestCaseData(new XElement(a + "message", new XAttribute("from", "localhost"),
            new XElement(f + "forwarded", new XElement(Client + "message", new XAttribute("type", "chat"), new XElement(Client + "body", "x"))))).SetName("A copied chat without addresses");
        yield return new TestCaseData(new XElement(a + "message", new XAttribute("from", "localhost"), new XAttribute("to", ""),
            new XElement(f + "forwarded", new XElement(Client + "message", new XAttribute("type", "chat"), new XAttribute("from", "   "), new XAttribute("to", "/"), new XElement(Client + "body", "x"))))).SetName("Whitespace and slash addresses");
        yield return new TestCaseData(new XElement(a + "message", new XAttribute("from", "localhost"),
            new XElement(f + "forwarded", new XElement(Client + "message", new XAttribute("type", "chat"), new XAttribute("from", "a@localhost/r"), new XAttribute("to", "b@remote.example"),
                Enumerable.Range(0, 500).Select(i => new XElement(Client + "body", new XAttribute(XNamespace.Xml + "lang", "l" + i), "x" + i)))))).SetName("Five hundred bodies");
        var deep = new XElement(Client + "x");
        for (var i = 0; i < 500; i++) deep = new XElement(Client + "x", deep);
        yield return new TestCaseData(new XElement(a + "message", new XAttribute("from", "localhost"),
            new XElement(f + "forwarded", new XElement(Client + "message", new XAttribute("type", "chat"), new XAttribute("from", "a@localhost/r"), new XAttribute("to", "b@remote.example"), deep)))).SetName("Five hundred levels deep");
        yield return new TestCaseData(new XElement(a + "presence", new XAttribute("from", new string('a', 5000) + "@localhost/r"))).SetName("A 5000-byte node");
        yield return new TestCaseData(new XElement(a + "presence", new XAttribute("from", "a@localhost/r"), new XAttribute("type", ""))).SetName("An empty presence type");
        yield return new TestCaseData(new XElement(a + "message", new XAttribute("from", "localhost"),
            new XElement("{urn:xmpp:privilege:2}privilege", new XElement("{urn:xmpp:privilege:2}perm")))).SetName("A privilege with an empty perm");
    }

    [TestCaseSource(nameof(Weird))]
    public void Weird_input_is_a_skip_never_an_exception(XElement stanza)
    {
        ClassificationResult r = default;
        Assert.That(() => r = NewClassifier().Classify(stanza, T0), Throws.Nothing);
        Assert.That(r.Fault, Is.Null);
    }

    [Test]
    public void Randomly_assembled_stanzas_never_fault()
    {
        // A fixed-seed generator of stanza-like trees from the vocabulary the classifier looks at.
        var rng = new Random(20261129);
        XNamespace[] nss = ["jabber:component:accept", "jabber:client", "urn:xmpp:forward:0", "urn:xmpp:delay", "urn:xmpp:carbons:2", "urn:xmpp:privilege:1", "http://www.w3.org/1999/xhtml", ""];
        string[] names = ["message", "presence", "iq", "forwarded", "body", "subject", "delay", "sent", "received", "privilege", "perm", "x"];
        string[] jids = ["localhost", "events.localhost", "sent@events.localhost", "alice@localhost/r", "alice@localhost", "bob@localhost/p", "room@muc.localhost", "room@muc.localhost/N", "e@remote.example", "@x", "a@", "", " ", "Alice@LocalHost/R"];
        string[] types = ["chat", "groupchat", "normal", "error", "headline", "unavailable", "subscribe", "", "weird"];
        string[] texts = ["", " ", "hi", "Resent", "Offline storage", "\uD800", "😀"];

        XElement Gen(int depth)
        {
            var e = new XElement(nss[rng.Next(nss.Length)] + names[rng.Next(names.Length)]);
            foreach (var attr in new[] { "from", "to", "type", "id", "access" })
                if (rng.Next(3) > 0) e.SetAttributeValue(attr, attr == "type" ? types[rng.Next(types.Length)] : jids[rng.Next(jids.Length)]);
            if (rng.Next(4) == 0) e.SetAttributeValue(XNamespace.Xml + "lang", rng.Next(2) == 0 ? "en" : "de");
            if (depth < 5)
                for (var i = rng.Next(4); i > 0; i--) e.Add(Gen(depth + 1));
            if (rng.Next(3) == 0) e.Add(texts[rng.Next(texts.Length)]);
            return e;
        }

        var c = NewClassifier(maxPresences: 50, maxCopies: 50);
        var faults = new List<string>();
        for (var i = 0; i < 20_000; i++)
        {
            var stanza = Gen(0);
            var r = c.Classify(stanza, T0.AddSeconds(i % 100));
            if (r.Fault is not null) faults.Add($"{r.Fault.GetType().Name}: {stanza}");
            foreach (var e in r.Events) Assert.That(() => EventJson.Serialize(e), Throws.Nothing);
        }
        Assert.That(faults, Is.Empty);
    }
}
