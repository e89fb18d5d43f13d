using System.Buffers;
using System.Xml;
using System.Xml.Linq;

namespace XmppRabbitComponent.Xmpp;

/// <summary>XML namespaces of the XEP-0114 stream.</summary>
public static class XmppNamespaces
{
    /// <summary><c>http://etherx.jabber.org/streams</c>, the stream namespace (RFC 6120 §4.8.1), conventionally prefix <c>stream</c>.</summary>
    public const string Streams = "http://etherx.jabber.org/streams";
    /// <summary><c>jabber:component:accept</c>, the content namespace of a component stream the server accepts (XEP-0114 §3).</summary>
    public const string ComponentAccept = "jabber:component:accept";
    /// <summary><c>urn:ietf:params:xml:ns:xmpp-stanzas</c>, stanza error conditions (RFC 6120 §8.3.3).</summary>
    public const string Stanzas = "urn:ietf:params:xml:ns:xmpp-stanzas";

    /// <summary><see cref="ComponentAccept"/> as an <see cref="XNamespace"/>.</summary>
    public static readonly XNamespace Component = ComponentAccept;
}

/// <summary>
/// The server's stream header (RFC 6120 §4.7; XEP-0114 §3: it carries the stream <c>id</c> the handshake digest uses).
/// </summary>
/// <param name="Id">The stream id, or null when absent.</param>
/// <param name="From">The <c>from</c> attribute (the component domain), or null.</param>
/// <param name="Lang">The <c>xml:lang</c> attribute, or null.</param>
/// <param name="DefaultNamespace">The default namespace declared on the header (<c>jabber:component:accept</c>).</param>
/// <param name="Namespaces">Every namespace declared on the header: prefix (empty for the default) to URI.</param>
public sealed record StreamHeader(
    string? Id, string? From, string? Lang, string DefaultNamespace, IReadOnlyDictionary<string, string> Namespaces);

/// <summary>
/// Parses frames cut by <see cref="StanzaFramer"/> into <see cref="XElement"/>s, safely: <see cref="XmlReader"/> with
/// DTDs prohibited, no resolver and character checking, in a namespace context built from the stream header, so
/// top-level stanzas come out in <c>jabber:component:accept</c> (RFC 6120 §4.8.3) while nested content keeps its own
/// namespace (e.g. <c>jabber:client</c> inside XEP-0297 <c>&lt;forwarded/&gt;</c>). Never uses
/// <c>XElement.Parse</c>/<c>XDocument.Parse</c>, which process DTDs. Pure: no I/O.
/// </summary>
public sealed class StanzaParser
{
    private static readonly XName StreamError = XName.Get("error", XmppNamespaces.Streams);
    private static readonly XName StreamErrorText = XName.Get("text", StreamErrorConditions.Namespace);

    private readonly XmlReaderSettings _settings;
    private readonly StreamHeader _header;

    /// <summary>Creates a parser for stanzas of the stream that <paramref name="header"/> opened.</summary>
    public StanzaParser(StreamHeader header)
    {
        _header = header;
        _settings = CreateSettings();
    }

    /// <summary>
    /// Parses the stream header frame: the <c>&lt;stream:stream ...&gt;</c> start tag alone.
    /// </summary>
    /// <exception cref="XmppProtocolException">not-well-formed for bad XML; invalid-namespace (RFC 6120 §4.9.3.10)
    /// when the element is not <c>{http://etherx.jabber.org/streams}stream</c> or the default namespace is not
    /// <c>jabber:component:accept</c>.</exception>
    public static StreamHeader ParseHeader(ReadOnlySequence<byte> frame)
    {
        var bytes = frame.ToArray();
        try
        {
            using var stream = new MemoryStream(bytes, writable: false);
            var settings = CreateSettings();
            using var reader = XmlReader.Create(stream, settings);
            // Only the start tag is read: the element is never closed within this frame, which XmlReader reports
            // only on a later Read().
            if (reader.MoveToContent() != XmlNodeType.Element)
                throw new XmppProtocolException(StreamErrorCondition.NotWellFormed, "expected the stream header");
            if (reader.LocalName != "stream" || reader.NamespaceURI != XmppNamespaces.Streams)
                throw new XmppProtocolException(StreamErrorCondition.InvalidNamespace, $"stream header is <{reader.Name}> in namespace '{reader.NamespaceURI}'");

            string? id = null, from = null, lang = null;
            var namespaces = new Dictionary<string, string>(StringComparer.Ordinal);
            while (reader.MoveToNextAttribute())
            {
                if (reader.NamespaceURI == "http://www.w3.org/2000/xmlns/")
                    namespaces[reader.Prefix.Length == 0 ? "" : reader.LocalName] = reader.Value;
                else if (reader.NamespaceURI.Length == 0 && reader.LocalName == "id") id = reader.Value;
                else if (reader.NamespaceURI.Length == 0 && reader.LocalName == "from") from = reader.Value;
                else if (reader.LocalName == "lang" && reader.Prefix == "xml") lang = reader.Value;
            }
            namespaces.TryGetValue("", out var defaultNs);
            if (defaultNs != XmppNamespaces.ComponentAccept)
                throw new XmppProtocolException(StreamErrorCondition.InvalidNamespace, $"stream content namespace is '{defaultNs}', expected '{XmppNamespaces.ComponentAccept}'");
            return new StreamHeader(id, from, lang, defaultNs, namespaces);
        }
        catch (XmlException e)
        {
            throw new XmppProtocolException(StreamErrorCondition.NotWellFormed, "stream header: " + e.Message, e);
        }
    }

    /// <summary>
    /// Parses one stanza frame into an element. A <c>&lt;stream:error/&gt;</c> frame is not returned: it is raised.
    /// </summary>
    /// <exception cref="StreamErrorException">The frame is the server's <c>&lt;stream:error/&gt;</c> (RFC 6120 §4.9).</exception>
    /// <exception cref="XmppProtocolException">not-well-formed (RFC 6120 §4.9.3.13) for XML or namespace
    /// well-formedness errors (unbound prefix, illegal character, mismatched tags); restricted-xml for a DTD,
    /// comment or processing instruction.</exception>
    public XElement Parse(ReadOnlySequence<byte> frame)
    {
        var length = checked((int)frame.Length);
        var rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            frame.CopyTo(rented);
            using var stream = new MemoryStream(rented, 0, length, writable: false);
            using var reader = XmlReader.Create(stream, _settings, CreateContext());
            if (reader.MoveToContent() != XmlNodeType.Element)
                throw new XmppProtocolException(StreamErrorCondition.NotWellFormed, "a stanza frame must hold one element");
            var element = (XElement)XNode.ReadFrom(reader);
            // ReadFrom leaves the reader after the element; nothing but whitespace may follow within the frame.
            while (reader.Read())
            {
                if (reader.NodeType is not (XmlNodeType.Whitespace or XmlNodeType.SignificantWhitespace))
                    throw Violation(reader.NodeType);
            }
            CheckRestricted(element);
            if (element.Name == StreamError) throw ToStreamError(element);
            return element;
        }
        catch (XmlException e)
        {
            throw new XmppProtocolException(StreamErrorCondition.NotWellFormed, e.Message, e);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Builds the exception for a received <c>&lt;stream:error/&gt;</c> (RFC 6120 §4.9.2): the condition is the
    /// first child in <c>urn:ietf:params:xml:ns:xmpp-streams</c> other than <c>&lt;text/&gt;</c>.</summary>
    public static StreamErrorException ToStreamError(XElement error)
    {
        var condition = error.Elements()
            .FirstOrDefault(e => e.Name.NamespaceName == StreamErrorConditions.Namespace && e.Name != StreamErrorText);
        var text = error.Element(StreamErrorText)?.Value;
        return new StreamErrorException(condition?.Name.LocalName ?? "undefined-condition", string.IsNullOrEmpty(text) ? null : text);
    }

    private static XmppProtocolException Violation(XmlNodeType type) => type switch
    {
        XmlNodeType.Comment => new(StreamErrorCondition.RestrictedXml, "XML comment"),
        XmlNodeType.ProcessingInstruction => new(StreamErrorCondition.RestrictedXml, "processing instruction"),
        XmlNodeType.DocumentType => new(StreamErrorCondition.RestrictedXml, "document type declaration"),
        _ => new(StreamErrorCondition.NotWellFormed, $"unexpected {type} after the stanza element"),
    };

    // RFC 6120 §11.1: comments and processing instructions are forbidden. The framer rejects them first; this is the
    // second line of defence should a frame arrive from elsewhere.
    private static void CheckRestricted(XElement element)
    {
        foreach (var node in element.DescendantNodes())
        {
            if (node is XComment) throw Violation(XmlNodeType.Comment);
            if (node is XProcessingInstruction) throw Violation(XmlNodeType.ProcessingInstruction);
        }
    }

    private XmlParserContext CreateContext()
    {
        var names = new NameTable();
        var manager = new XmlNamespaceManager(names);
        // Defaults per RFC 6120 §4.8 / XEP-0114, then whatever the header actually declared.
        manager.AddNamespace("", XmppNamespaces.ComponentAccept);
        manager.AddNamespace("stream", XmppNamespaces.Streams);
        foreach (var (prefix, uri) in _header.Namespaces)
        {
            if (prefix is "xml" or "xmlns") continue;
            manager.AddNamespace(prefix, uri);
        }
        return new XmlParserContext(names, manager, _header.Lang, XmlSpace.None);
    }

    private static XmlReaderSettings CreateSettings() => new()
    {
        DtdProcessing = DtdProcessing.Prohibit,
        XmlResolver = null,
        ConformanceLevel = ConformanceLevel.Fragment,
        CheckCharacters = true,
        IgnoreComments = false,
        IgnoreProcessingInstructions = false,
        IgnoreWhitespace = false,
        MaxCharactersFromEntities = 1024,
        CloseInput = true,
    };
}
