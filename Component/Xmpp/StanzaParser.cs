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
/// <remarks>
/// One <see cref="XmlReader"/> (and its name table) serves every frame of the stream: each frame is fed to it
/// followed by an end-of-frame marker (a processing instruction), and the reader must meet the marker right after
/// the frame's one element. A frame holding <c>&lt;?</c> anywhere (a processing instruction, refused, or CDATA text)
/// is read by a reader of its own, so no frame can forge the marker. Creating a reader per frame cost more than the rest of
/// the parse. The reader is replaced after any error and once its name table holds
/// <see cref="MaxNamesPerReader"/> distinct names, so a stream of ever-new names cannot grow it without bound.
/// </remarks>
public sealed class StanzaParser
{
    private static readonly XName StreamError = XName.Get("error", XmppNamespaces.Streams);
    private static readonly XName StreamErrorText = XName.Get("text", StreamErrorConditions.Namespace);

    /// <summary>Distinct names (element and attribute names, prefixes, namespace URIs) one reader may atomize before it is replaced.</summary>
    public const int MaxNamesPerReader = 4096;

    private const string FrameEndTarget = "xrc-frame-end";
    private static readonly byte[] FrameEnd = "<?xrc-frame-end?>"u8.ToArray();

    private readonly XmlReaderSettings _settings;
    private readonly StreamHeader _header;
    private readonly FrameFeed _feed = new(FrameEnd);
    private CountingNameTable? _names;
    private XmlReader? _reader;

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
        try
        {
            XElement element;
            if (MayHoldMarkup(frame))
            {
                // "<?" in a frame is a processing instruction (refused) or text of a CDATA section: a reader of its own
                // reads such a frame, so that nothing in a frame can pass for the end-of-frame marker.
                using var alone = XmlReader.Create(new FrameFeed(null).Load(frame), _settings, CreateContext(new NameTable()));
                element = ReadFrame(alone, marker: false);
            }
            else
            {
                _feed.Load(frame);
                // The reader reads its first bytes when it is created, so it is created with the first frame loaded.
                _reader ??= XmlReader.Create(_feed, _settings, CreateContext(_names = new CountingNameTable()));
                element = ReadFrame(_reader, marker: true);
                if (_names!.Count > MaxNamesPerReader) Discard();
            }
            if (element.Name == StreamError) throw ToStreamError(element);
            return element;
        }
        catch (XmlException e)
        {
            Discard();
            throw new XmppProtocolException(StreamErrorCondition.NotWellFormed, e.Message, e);
        }
        catch (FrameFeed.UnderrunException)
        {
            Discard();
            throw new XmppProtocolException(StreamErrorCondition.NotWellFormed, "the frame ends inside an element");
        }
        catch
        {
            Discard();
            throw;
        }
    }

    private static bool MayHoldMarkup(ReadOnlySequence<byte> frame)
    {
        if (frame.IsSingleSegment) return frame.FirstSpan.IndexOf("<?"u8) >= 0;
        var reader = new SequenceReader<byte>(frame);
        return reader.TryReadTo(out ReadOnlySequence<byte> _, "<?"u8, advancePastDelimiter: false);
    }

    private void Discard()
    {
        _reader?.Dispose();
        _reader = null;
        _names = null;
    }

    // One frame: exactly one element, then (whitespace and) the end-of-frame marker. Builds the tree as
    // XNode.ReadFrom would (attributes without a prefix are in no namespace, xmlns included; adjacent text merges;
    // an element with an end tag and no content has empty content), refusing comments, processing instructions and
    // DTD constructs (RFC 6120 §11.1) wherever they appear.
    private static XElement ReadFrame(XmlReader reader, bool marker)
    {
        if (!reader.Read()) throw new XmppProtocolException(StreamErrorCondition.NotWellFormed, "a stanza frame must hold one element");
        while (reader.NodeType is XmlNodeType.Whitespace or XmlNodeType.SignificantWhitespace)
            if (!reader.Read()) throw new XmppProtocolException(StreamErrorCondition.NotWellFormed, "a stanza frame must hold one element");
        if (reader.NodeType != XmlNodeType.Element) throw marker && IsFrameEnd(reader)
            ? new XmppProtocolException(StreamErrorCondition.NotWellFormed, "a stanza frame must hold one element")
            : Violation(reader.NodeType);

        var root = NewElement(reader);
        if (!reader.IsEmptyElement)
        {
            var current = root;
            while (true)
            {
                if (!reader.Read()) throw new XmppProtocolException(StreamErrorCondition.NotWellFormed, "the frame ends inside an element");
                switch (reader.NodeType)
                {
                    case XmlNodeType.Element:
                        var child = NewElement(reader);
                        current.Add(child);
                        if (!reader.IsEmptyElement) current = child;
                        continue;
                    case XmlNodeType.EndElement:
                        if (current.IsEmpty) current.Add(string.Empty);
                        if (ReferenceEquals(current, root)) break;
                        current = current.Parent!;
                        continue;
                    case XmlNodeType.Text or XmlNodeType.Whitespace or XmlNodeType.SignificantWhitespace:
                        current.Add(reader.Value);
                        continue;
                    case XmlNodeType.CDATA:
                        current.Add(new XCData(reader.Value));
                        continue;
                    case XmlNodeType.ProcessingInstruction when marker && reader.LocalName == FrameEndTarget:
                        // Only our marker can be here (a frame holding "<?" has a reader of its own): the frame ended early.
                        throw new XmppProtocolException(StreamErrorCondition.NotWellFormed, "the frame ends inside an element");
                    default:
                        throw Violation(reader.NodeType);
                }
                break;
            }
        }

        // Nothing but whitespace may follow the element within the frame.
        while (true)
        {
            if (!reader.Read())
            {
                if (!marker) return root;
                throw new XmppProtocolException(StreamErrorCondition.NotWellFormed, "unexpected end of the frame");
            }
            if (reader.NodeType is XmlNodeType.Whitespace or XmlNodeType.SignificantWhitespace) continue;
            if (marker && IsFrameEnd(reader)) return root;
            throw Violation(reader.NodeType);
        }
    }

    private static bool IsFrameEnd(XmlReader reader) =>
        reader.NodeType == XmlNodeType.ProcessingInstruction && reader.Depth == 0 && reader.LocalName == FrameEndTarget && reader.Value.Length == 0;

    private static XElement NewElement(XmlReader reader)
    {
        var element = new XElement(XNamespace.Get(reader.NamespaceURI).GetName(reader.LocalName));
        if (reader.MoveToFirstAttribute())
        {
            do
            {
                var ns = reader.Prefix.Length == 0 ? XNamespace.None : XNamespace.Get(reader.NamespaceURI);
                element.Add(new XAttribute(ns.GetName(reader.LocalName), reader.Value));
            }
            while (reader.MoveToNextAttribute());
            reader.MoveToElement();
        }
        return element;
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
        XmlNodeType.DocumentType or XmlNodeType.EntityReference => new(StreamErrorCondition.RestrictedXml, "document type declaration"),
        _ => new(StreamErrorCondition.NotWellFormed, $"unexpected {type} after the stanza element"),
    };

    private XmlParserContext CreateContext(XmlNameTable names)
    {
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

/// <summary>
/// The stream a <see cref="StanzaParser"/>'s reader reads: the loaded frame's bytes, then the end-of-frame marker.
/// Asked for more than that, it throws <see cref="UnderrunException"/>: a frame cut by the framer never needs more.
/// Without a marker it simply ends after the frame.
/// </summary>
internal sealed class FrameFeed(byte[]? marker) : Stream
{
    /// <summary>The reader wanted bytes past the end-of-frame marker.</summary>
    internal sealed class UnderrunException() : Exception("read past the end of the frame");

    private ReadOnlySequence<byte> _frame;
    private int _markerAt;

    public FrameFeed Load(ReadOnlySequence<byte> frame)
    {
        _frame = frame;
        _markerAt = 0;
        return this;
    }

    public override int Read(Span<byte> buffer)
    {
        if (!_frame.IsEmpty)
        {
            var n = (int)Math.Min(buffer.Length, _frame.Length);
            _frame.Slice(0, n).CopyTo(buffer);
            _frame = _frame.Slice(n);
            return n;
        }
        if (marker is null) return 0;
        if (_markerAt < marker.Length)
        {
            var n = Math.Min(buffer.Length, marker.Length - _markerAt);
            marker.AsSpan(_markerAt, n).CopyTo(buffer);
            _markerAt += n;
            return n;
        }
        throw new UnderrunException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>A <see cref="NameTable"/> that counts the distinct strings it holds.</summary>
internal sealed class CountingNameTable : XmlNameTable
{
    private readonly NameTable _inner = new();

    public int Count { get; private set; }

    public override string Add(char[] array, int offset, int length) =>
        _inner.Get(array, offset, length) ?? Counted(_inner.Add(array, offset, length));

    public override string Add(string array) => _inner.Get(array) ?? Counted(_inner.Add(array));

    public override string? Get(char[] array, int offset, int length) => _inner.Get(array, offset, length);

    public override string? Get(string array) => _inner.Get(array);

    private string Counted(string s)
    {
        Count++;
        return s;
    }
}
