using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml;
using System.Xml.Linq;

namespace XmppRabbitComponent.Tests.Classification;

/// <summary>One stanza of a capture, with its time relative to the capture's start.</summary>
public sealed record CaptureStanza(XElement Element, TimeSpan Offset);

/// <summary>One scripted user action of a capture (<c>&lt;!-- ===== S06 … ===== --&gt;</c>) and what the component received after it.</summary>
public sealed record CaptureAction(string Id, string Title, IReadOnlyList<CaptureStanza> Stanzas);

/// <summary>
/// Reads a capture from TestData/captures (a name such as <c>main-session.xml</c> or <c>prosody-0.12/main-session.xml</c>): strips the stream headers and closing tags, wraps the rest in a
/// synthetic root declaring the stream's namespaces, and splits it into actions at the
/// <c>&lt;!-- ===== Xnn … ===== --&gt;</c> comments. Stanzas before the first action (the privilege
/// advertisement) form an action with id <c>prelude</c>; <c>&lt;handshake/&gt;</c> is skipped.
/// </summary>
public static partial class CaptureFile
{
    /// <summary>The capture's t=0, an arbitrary fixed instant.</summary>
    public static readonly DateTimeOffset Epoch = new(2026, 11, 29, 14, 45, 0, TimeSpan.Zero);

    private static readonly XNamespace Accept = "jabber:component:accept";

    [GeneratedRegex(@"<\?xml[^>]*\?>|<stream:stream\b[^>]*>|</stream:stream>")]
    private static partial Regex StreamFraming();

    [GeneratedRegex(@"^\s*=====\s+(?<id>[A-Z][0-9]{2}[a-z]?|END)\s+(?<title>.*?)\s*=====\s*$")]
    private static partial Regex ActionMarker();

    // "#12 +3.147s", optionally followed by a label: "#12 +3.147s [SENT copy of presence]".
    [GeneratedRegex(@"^\s*#\d+\s+\+(?<s>-?[0-9]+(\.[0-9]+)?)s(\s+\[[^\]]*\])?\s*$")]
    private static partial Regex StanzaMarker();

    public static string PathOf(string name) => Path.Combine(TestContext.CurrentContext.TestDirectory, "TestData", "captures", name);

    public static IReadOnlyList<CaptureAction> Read(string name)
    {
        var text = StreamFraming().Replace(File.ReadAllText(PathOf(name)), "");
        var wrapped = "<root xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams'>" + text + "</root>";
        var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null, IgnoreWhitespace = true };
        using var reader = XmlReader.Create(new StringReader(wrapped), settings);

        var actions = new List<CaptureAction>();
        var id = "prelude";
        var title = "";
        var stanzas = new List<CaptureStanza>();
        var offset = TimeSpan.Zero;

        reader.MoveToContent(); // <root>
        reader.Read();
        while (!reader.EOF && reader.Depth >= 1)
        {
            switch (reader.NodeType)
            {
                case XmlNodeType.Comment:
                    var comment = reader.Value;
                    if (ActionMarker().Match(comment) is { Success: true } action)
                    {
                        actions.Add(new CaptureAction(id, title, stanzas));
                        id = action.Groups["id"].Value;
                        title = action.Groups["title"].Value;
                        stanzas = [];
                    }
                    else if (StanzaMarker().Match(comment) is { Success: true } stanza)
                    {
                        offset = TimeSpan.FromSeconds(double.Parse(stanza.Groups["s"].Value, CultureInfo.InvariantCulture));
                    }
                    reader.Read();
                    break;
                case XmlNodeType.Element:
                    var element = (XElement)XNode.ReadFrom(reader);
                    if (element.Name != Accept + "handshake") stanzas.Add(new CaptureStanza(element, offset));
                    break;
                default:
                    reader.Read();
                    break;
            }
        }
        actions.Add(new CaptureAction(id, title, stanzas));
        return actions;
    }
}
