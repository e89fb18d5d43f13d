using System.Text;
using System.Text.Json;
using System.Xml.Linq;
using FsCheck;
using FsCheck.Fluent;
using XmppRabbitComponent.Classification;
using XmppRabbitComponent.Events;
using XmppRabbitComponent.Xmpp;

namespace XmppRabbitComponent.Tests.Fuzzing;

/// <summary>
/// Fuzzing: FsCheck properties over the read path (framer + parser), the classifier and the JSON writer.
/// </summary>
[CancelAfter(60_000)]
public class StreamProperties
{
    private const string Header = "<?xml version='1.0'?><stream:stream id='1' xml:lang='en' xmlns:stream='http://etherx.jabber.org/streams' from='events.localhost' xmlns='jabber:component:accept'>";
    private static readonly XNamespace C = "jabber:component:accept";
    private static readonly XNamespace[] Namespaces = [C, "jabber:client", "urn:xmpp:forward:0", "urn:xmpp:delay", "urn:example:x"];
    private static readonly string[] Names = ["message", "presence", "iq", "body", "forwarded", "x", "a-b", "q.1", "ü", "日本"];
    private static readonly string[] TextPieces = ["a", "hello", " ", "\t", "\n", "&", "<", ">", "'", "\"", "]]>", "&amp;", "é", "😀", "𝄞", "שלום", "مرحبا", "\u202E", "\u0085", "\uFFFD", "中文"];

    private static Config Runs(int n) => Config.QuickThrowOnFailure.WithMaxTest(n).WithQuietOnSuccess(true);

    private static Gen<string> Text =>
        Gen.ListOf(Gen.Elements(TextPieces)).Select(p => string.Concat(p));

    private static Gen<XElement> Element(int depth) =>
        from ns in Gen.Elements(Namespaces)
        from name in Gen.Elements(Names)
        from attrCount in Gen.Choose(0, 4)
        from attrValues in Gen.ArrayOf(Text, attrCount)
        from childCount in Gen.Choose(0, depth <= 0 ? 0 : 3)
        from children in Gen.ArrayOf(Gen.OneOf(
            Text.Select(t => (XNode)new XText(t)),
            Text.Where(t => !t.Contains("]]>")).Select(t => (XNode)new XCData(t)),
            Element(depth - 1).Select(e => (XNode)e)), childCount)
        select Build(ns, name, attrValues, children);

    private static XElement Build(XNamespace ns, string name, string[] attrValues, XNode[] children)
    {
        var e = new XElement(ns + name);
        for (var i = 0; i < attrValues.Length; i++) e.SetAttributeValue("a" + i, attrValues[i]);
        foreach (var c in children) e.Add(c);
        return e;
    }

    private static Gen<XElement[]> StanzaList => Gen.ListOf(Element(4)).Select(l => l.ToArray());

    private static byte[] Serialize(IEnumerable<XElement> stanzas) =>
        Encoding.UTF8.GetBytes(Header + string.Concat(stanzas.Select(s => s.ToString(SaveOptions.DisableFormatting) + (s.GetHashCode() % 3 == 0 ? " \n" : ""))) + "</stream:stream>");

    private static string Describe(StreamReadResult r) =>
        string.Join("\n", r.Stanzas.Select(s => s.ToString(SaveOptions.DisableFormatting))) + $"\nended={r.Ended} error={r.Error?.Message}";

    [Test]
    public void The_reader_yields_the_same_stanzas_whatever_the_split_of_the_byte_stream()
    {
        var gen = from stanzas in StanzaList
                  let bytes = Serialize(stanzas)
                  from cuts in Gen.ListOf(Gen.Choose(0, bytes.Length))
                  select (stanzas, bytes, cuts: cuts.ToArray());
        Prop.ForAll(gen.ToArbitrary(), t =>
        {
            var whole = StreamReader.Read(t.bytes);
            var split = StreamReader.Read(t.bytes, t.cuts);
            var bytewise = StreamReader.Read(t.bytes, Enumerable.Range(1, t.bytes.Length));
            return whole.Error is null && whole.Ended && whole.Stanzas.Count == t.stanzas.Length
                && Describe(split) == Describe(whole) && Describe(bytewise) == Describe(whole)
                && whole.Stanzas.Zip(t.stanzas).All(p => XNode.DeepEquals(Normalize(p.First), Normalize(p.Second)));
        }).Check(Runs(500));
    }

    // The parser sees <a/> and <a></a> alike; adjacent text and CDATA nodes are compared by their value.
    private static XElement Normalize(XElement e)
    {
        var copy = new XElement(e);
        foreach (var el in copy.DescendantsAndSelf())
        {
            el.Attributes().Where(a => a.IsNamespaceDeclaration).Remove();
            var nodes = el.Nodes().ToList();
            if (nodes.Count == 0) { el.Value = ""; continue; }
            var merged = new List<XNode>();
            var text = new StringBuilder();
            foreach (var n in nodes)
            {
                if (n is XText t) { text.Append(t.Value); continue; }
                if (text.Length > 0) { merged.Add(new XText(text.ToString())); text.Clear(); }
                merged.Add(n);
            }
            if (text.Length > 0) merged.Add(new XText(text.ToString()));
            el.ReplaceNodes(merged.Where(n => n is not XText { Value.Length: 0 }));
            if (!el.Nodes().Any()) el.Value = "";
        }
        return copy;
    }

    // ----- no-throw -----

    private static readonly byte[][] Nasties =
    [
        "<!"u8.ToArray(), "<?"u8.ToArray(), "&"u8.ToArray(), "]]>"u8.ToArray(), "<![CDATA["u8.ToArray(), "<!DOCTYPE x [<!ENTITY a 'b'>]>"u8.ToArray(),
        "&#0;"u8.ToArray(), "&#xD800;"u8.ToArray(), "&lol;"u8.ToArray(), "<a:b>"u8.ToArray(), "</x>"u8.ToArray(), "<stream:stream>"u8.ToArray(),
        [0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xFF], [0x00], [0x80], [0xF0, 0x9F],
        Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("<x>", 100))),
    ];

    private static Gen<byte[]> Mutated =>
        from stanzas in StanzaList
        let bytes = Serialize(stanzas)
        from edits in Gen.ListOf(Gen.OneOf(
            Gen.Choose(0, bytes.Length).Zip(Gen.Elements(Nasties)).Select(p => (at: p.Item1, insert: (byte[]?)p.Item2, flip: (byte)0)),
            Gen.Choose(0, Math.Max(0, bytes.Length - 1)).Zip(Gen.Choose(1, 255)).Select(p => (at: p.Item1, insert: (byte[]?)null, flip: (byte)p.Item2))))
        select Apply(bytes, edits);

    private static byte[] Apply(byte[] bytes, IEnumerable<(int at, byte[]? insert, byte flip)> edits)
    {
        var list = bytes.ToList();
        foreach (var (at, insert, flip) in edits)
        {
            var i = Math.Min(at, list.Count);
            if (insert is not null) list.InsertRange(i, insert);
            else if (i < list.Count) list[i] ^= flip;
        }
        return [.. list];
    }

    private static bool NeverThrowsButProtocolErrors(byte[] bytes, int[] cuts)
    {
        var result = StreamReader.Read(bytes, cuts, maxFrameBytes: 16_384, maxDepth: 16, maxAttributes: 16);
        var classifier = new EventClassifier(new ClassifierSettings("events.localhost", ["localhost"], TimeSpan.FromSeconds(30), 1000));
        foreach (var s in result.Stanzas)
        {
            var r = classifier.Classify(s, DateTimeOffset.UnixEpoch);
            if (r.Fault is not null) throw new AssertionException($"classifier fault {r.Fault} on {s}");
            foreach (var e in r.Events) EventJson.Serialize(e);
        }
        return true;
    }

    [Test]
    public void Arbitrary_bytes_after_a_valid_header_raise_nothing_but_protocol_errors()
    {
        var gen = from body in Gen.ArrayOf(Gen.Frequency((3, Gen.Choose(0, 255).Select(i => (byte)i)), (2, Gen.Elements("<>/&;'\"=!?[]x :"u8.ToArray()))))
                  from cuts in Gen.ListOf(Gen.Choose(0, Header.Length + body.Length))
                  select (bytes: Encoding.UTF8.GetBytes(Header).Concat(body).ToArray(), cuts: cuts.ToArray());
        Prop.ForAll(gen.ToArbitrary(), t => NeverThrowsButProtocolErrors(t.bytes, t.cuts)).Check(Runs(2000));
    }

    [Test]
    public void Arbitrary_bytes_from_the_first_byte_raise_nothing_but_protocol_errors()
    {
        Prop.ForAll(Gen.ArrayOf(Gen.Choose(0, 255).Select(i => (byte)i)).ToArbitrary(), bytes => NeverThrowsButProtocolErrors(bytes, [])).Check(Runs(1000));
    }

    [Test]
    public void Mutated_valid_streams_raise_nothing_but_protocol_errors_and_classify_without_fault()
    {
        var gen = from bytes in Mutated
                  from cuts in Gen.ListOf(Gen.Choose(0, bytes.Length))
                  select (bytes, cuts: cuts.ToArray());
        Prop.ForAll(gen.ToArbitrary(), t => NeverThrowsButProtocolErrors(t.bytes, t.cuts)).Check(Runs(1000));
    }

    private static readonly string[] JidPieces = ["alice", "bob", "@", "/", "localhost", "events.localhost", "muc.localhost", "room", "remote.example", ".", "", " ", "é", "😀", "\"", "<", "Ω", "\u202E", "sent", "received", new string('n', 1024)];
    private static readonly string[] Types = ["chat", "groupchat", "normal", "error", "headline", "unavailable", "subscribe", "probe", "", "CHAT"];

    private static Gen<string> RandomJid => Gen.ListOf(Gen.Elements(JidPieces)).Select(p => string.Concat(p.Take(6)));

    private static Gen<XElement> ClassifierInput(int depth) =>
        from ns in Gen.Elements<XNamespace>(C, "jabber:client", "urn:xmpp:forward:0", "urn:xmpp:delay", "urn:xmpp:carbons:2", "urn:xmpp:privilege:2", "")
        from name in Gen.Elements("message", "presence", "iq", "forwarded", "body", "subject", "delay", "sent", "received", "privilege", "perm", "x")
        from fromJid in RandomJid.OrNull()
        from toJid in RandomJid.OrNull()
        from type in Gen.Elements(Types).OrNull()
        from lang in Gen.Elements("en", "de", "").OrNull()
        from text in Text.OrNull()
        from n in Gen.Choose(0, depth <= 0 ? 0 : 3)
        from children in Gen.ArrayOf(ClassifierInput(depth - 1), n)
        select BuildStanza(ns + name, fromJid, toJid, type, lang, text, children);

    private static XElement BuildStanza(XName name, string? from, string? to, string? type, string? lang, string? text, XElement[] children)
    {
        var e = new XElement(name);
        if (from is not null) e.SetAttributeValue("from", from);
        if (to is not null) e.SetAttributeValue("to", to);
        if (type is not null) e.SetAttributeValue("type", type);
        if (lang is not null) e.SetAttributeValue(XNamespace.Xml + "lang", lang);
        e.Add(children.Take(4));
        if (text is not null) e.Add(text);
        return e;
    }

    [Test]
    public void The_classifier_never_faults_on_generated_stanzas()
    {
        var classifier = new EventClassifier(new ClassifierSettings("events.localhost", ["localhost"], TimeSpan.FromSeconds(30), 100) { MaxTrackedCopies = 100 });
        Prop.ForAll(ClassifierInput(4).ToArbitrary(), stanza =>
        {
            var r = classifier.Classify(stanza, DateTimeOffset.UnixEpoch);
            if (r.Fault is not null) return false;
            foreach (var e in r.Events) JsonDocument.Parse(EventJson.Serialize(e)).Dispose();
            return r.HasEvents != (r.Skips.Count > 0);
        }).Check(Runs(2000));
    }

    // ----- JSON round trip -----

    private static bool HasLoneSurrogate(string s)
    {
        for (var i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { i++; continue; }
            if (char.IsSurrogate(s[i])) return true;
        }
        return false;
    }

    /// <summary>Strings of any code point, with surrogate pairs and, sometimes, a lone surrogate.</summary>
    private static Gen<string> AnyText => Gen.Frequency(
        (1, ArbMap.Default.ArbFor<string>().Generator.Where(s => s is not null)),
        (2, Gen.ListOf(Gen.Frequency(
                (4, Gen.Choose(0, 0x7F)), (2, Gen.Choose(0x80, 0xD7FF)), (2, Gen.Choose(0xE000, 0xFFFF)),
                (3, Gen.Choose(0x10000, 0x10FFFF)), (1, Gen.Choose(0xD800, 0xDFFF))))
            .Select(cps => string.Concat(cps.Select(cp => cp is >= 0xD800 and <= 0xDFFF ? ((char)cp).ToString() : char.ConvertFromUtf32(cp))))));

    [Test]
    public void JSON_of_any_body_parses_back_to_the_same_string()
    {
        Prop.ForAll(AnyText.ToArbitrary(), body =>
        {
            var e = new MessageEvent(EventKind.ChatMsgSent, "bob@localhost", body, "alice@localhost/r", "alice@localhost");
            if (HasLoneSurrogate(body)) return Throws(() => EventJson.Serialize(e));
            using var doc = JsonDocument.Parse(EventJson.Serialize(e));
            return doc.RootElement.GetProperty("message").GetString() == body
                && doc.RootElement.EnumerateObject().Select(p => p.Name).SequenceEqual(["to_user_id", "message", "from_user_id"]);
        }).Check(Runs(2000));
    }

    [Test]
    public void JSON_of_any_user_id_parses_back_to_the_same_string()
    {
        Prop.ForAll(AnyText.ToArbitrary(), Gen.Elements(true, false).ToArbitrary(), (userId, present) =>
        {
            var e = new PresenceEvent(userId, present, "x@localhost");
            if (HasLoneSurrogate(userId)) return Throws(() => EventJson.Serialize(e));
            using var doc = JsonDocument.Parse(EventJson.Serialize(e));
            return doc.RootElement.GetProperty("user_id").GetString() == userId && doc.RootElement.GetProperty("present").GetBoolean() == present;
        }).Check(Runs(2000));
    }

    [Test]
    public void A_body_with_a_lone_surrogate_is_a_counted_skip_never_an_event()
    {
        Prop.ForAll(AnyText.Where(HasLoneSurrogate).ToArbitrary(), body =>
        {
            var copy = new XElement(C + "message", new XAttribute("from", "localhost"), new XAttribute("to", "events.localhost"),
                new XElement("{urn:xmpp:forward:0}forwarded",
                    new XElement("{jabber:client}message", new XAttribute("type", "chat"), new XAttribute("from", "alice@localhost/r"), new XAttribute("to", "eve@remote.example"),
                        new XElement("{jabber:client}body", body))));
            var r = new EventClassifier(new ClassifierSettings("events.localhost", ["localhost"], TimeSpan.FromSeconds(30), 100)).Classify(copy, DateTimeOffset.UnixEpoch);
            return !r.HasEvents && r.Skips.SequenceEqual([SkipReason.InvalidText]);
        }).Check(Runs(500));
    }

    private static bool Throws(Action a)
    {
        try { a(); return false; }
        catch (ArgumentException) { return true; }
    }
}
