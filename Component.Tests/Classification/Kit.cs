using System.Xml;
using System.Xml.Linq;
using XmppRabbitComponent.Classification;

namespace XmppRabbitComponent.Tests.Classification;

/// <summary>Builders for hand-written stanzas, shaped like the ejabberd captures.</summary>
internal static class Kit
{
    public const string Component = "events.localhost";
    public static readonly DateTimeOffset T0 = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    public static EventClassifier NewClassifier(int maxPresences = 1_000_000, int maxCopies = ClassifierSettings.DefaultMaxTrackedCopies, double windowSeconds = 30) =>
        new(new ClassifierSettings(Component, ["localhost", "example.org"], TimeSpan.FromSeconds(windowSeconds), maxPresences) { MaxTrackedCopies = maxCopies });

    /// <summary>Parses one top-level stanza written without xmlns: it lands in <c>jabber:component:accept</c>, as from the stream.</summary>
    public static XElement Top(string xml)
    {
        var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null };
        using var reader = XmlReader.Create(new StringReader($"<root xmlns='jabber:component:accept'>{xml}</root>"), settings);
        var root = XElement.Load(reader);
        var stanza = root.Elements().Single();
        stanza.Remove();
        return stanza;
    }

    /// <summary>A copy from the server host: <paramref name="inner"/> (written without xmlns) goes into <c>jabber:client</c>.</summary>
    public static XElement Copy(string inner, string wrapperFrom = "localhost", string wrapperTo = Component) =>
        Top($"<message to='{wrapperTo}' from='{wrapperFrom}' id='w1'><forwarded xmlns='urn:xmpp:forward:0'>{ClientNs(inner)}</forwarded></message>");

    private static string ClientNs(string inner)
    {
        // Put xmlns='jabber:client' on the copied stanza (first tag), as ejabberd does.
        var end = inner.IndexOfAny([' ', '>', '/']);
        return inner[..end] + " xmlns='jabber:client'" + inner[end..];
    }

    public static XElement ChatCopy(string from, string to, string body, string? id = "m1", string type = "chat", string extra = "", string wrapperTo = Component)
    {
        var idAttr = id is null ? "" : $" id='{id}'";
        var typeAttr = type.Length == 0 ? "" : $" type='{type}'";
        return Copy($"<message xml:lang='en' to='{to}' from='{from}'{typeAttr}{idAttr}>{extra}<body>{body}</body></message>", wrapperTo: wrapperTo);
    }

    public static XElement PresenceCopy(string from, string? to, string type = "", string extra = "")
    {
        var toAttr = to is null ? "" : $" to='{to}'";
        var typeAttr = type.Length == 0 ? "" : $" type='{type}'";
        return Copy($"<presence from='{from}'{toAttr}{typeAttr}>{extra}</presence>");
    }

    public static XElement TopPresence(string from, string type = "", string extra = "")
    {
        var typeAttr = type.Length == 0 ? "" : $" type='{type}'";
        return Top($"<presence to='{Component}' from='{from}'{typeAttr}>{extra}</presence>");
    }

    public static ClassificationResult Run(EventClassifier c, params XElement[] stanzas) => Run(c, T0, stanzas);

    public static ClassificationResult Run(EventClassifier c, DateTimeOffset now, params XElement[] stanzas)
    {
        ClassificationResult last = default;
        foreach (var s in stanzas)
        {
            last = c.Classify(s, now);
            Assert.That(last.Fault, Is.Null, () => $"fault on {s}");
        }
        return last;
    }

    public static string Describe(ClassificationResult r) =>
        r.HasEvents ? string.Join(" | ", r.Events.Select(ExpectedEvent.Of)) : "skip:" + string.Join(",", r.Skips.Select(s => s.Label()));
}
