using System.Buffers;
using System.Text;

namespace XmppRabbitComponent.Xmpp;

/// <summary>What a <see cref="Frame"/> holds.</summary>
public enum FrameKind
{
    /// <summary>The stream header start tag <c>&lt;stream:stream ...&gt;</c> (RFC 6120 §4.7), without the XML declaration.</summary>
    StreamHeader,
    /// <summary>One complete top-level element (depth 1): a stanza, <c>&lt;handshake/&gt;</c> or <c>&lt;stream:error/&gt;</c>.</summary>
    Stanza,
    /// <summary>The stream close tag <c>&lt;/stream:stream&gt;</c> (RFC 6120 §4.4).</summary>
    StreamEnd,
}

/// <summary>
/// One frame cut from the byte stream by <see cref="StanzaFramer"/>. <see cref="Bytes"/> is a slice of the buffer
/// passed to <see cref="StanzaFramer.TryReadFrame"/>: valid only until that buffer is released (e.g. by
/// <c>PipeReader.AdvanceTo</c>); parse or copy it first.
/// </summary>
/// <param name="Kind">What the frame holds.</param>
/// <param name="Bytes">The frame's exact UTF-8 bytes.</param>
public readonly record struct Frame(FrameKind Kind, ReadOnlySequence<byte> Bytes);

/// <summary>
/// An incremental, byte-level framer for an XMPP stream (RFC 6120 §4) over UTF-8. It cuts the stream header, each
/// top-level element and the stream end out of bytes as they arrive, scanning every byte exactly once, and enforces
/// limits before buffering past them. Pure: no I/O, logging or allocation per byte.
/// </summary>
/// <remarks>
/// Rejections, all raised as <see cref="XmppProtocolException"/>:
/// <list type="bullet">
/// <item>policy-violation (RFC 6120 §4.9.3.14): a frame over <c>maxFrameBytes</c>, nesting deeper than
/// <c>maxDepth</c>, an element with more than <c>maxAttributes</c> attributes.</item>
/// <item>restricted-xml (RFC 6120 §11.1, §4.9.3.18): comments, processing instructions (other than the initial XML
/// declaration), <c>&lt;!DOCTYPE</c>/<c>&lt;!ENTITY</c> and other markup declarations, entity references other
/// than the five predefined ones.</item>
/// <item>not-well-formed (RFC 6120 §4.9.3.13): ill-formed UTF-8, characters outside the XML 1.0 <c>Char</c>
/// production (raw or as character references), mismatched tags, text at stream level, a second stream header.</item>
/// <item>unsupported-encoding (RFC 6120 §11.6, §4.9.3.22): an XML declaration naming an encoding other than UTF-8.</item>
/// </list>
/// Namespace well-formedness (unbound prefixes) and the remaining XML rules are checked by <see cref="StanzaParser"/>.
/// </remarks>
public sealed class StanzaFramer
{
    private enum State : byte
    {
        Start, Prolog, PrologLt, XmlDeclName, XmlDecl, StreamLevel, Lt, Bang, CDataOpen, CData,
        StartTagName, InTag, AttrName, AfterAttrName, BeforeAttrValue, AttrValue, EmptyTagSlash,
        EndTagName, EndTagTrail, Content, EntityRef, Ended, Faulted,
    }

    private const int MaxXmlDeclBytes = 256;
    private const int MaxEntityNameBytes = 12;
    private const ulong FnvOffset = 14695981039346656037UL, FnvPrime = 1099511628211UL;
    private static ReadOnlySpan<byte> CDataMarker => "CDATA["u8;

    // Bytes the fast path stops at, per state: the state's markup bytes, control characters (checked by
    // CheckUtf8) and every non-ASCII byte (UTF-8 validation).
    private static readonly SearchValues<byte> ContentStops = Stops("<&"u8);
    private static readonly SearchValues<byte> AttrValueStops = Stops("<&'\""u8);
    private static readonly SearchValues<byte> CDataStops = Stops("]"u8);

    private static SearchValues<byte> Stops(ReadOnlySpan<byte> markup)
    {
        var bytes = new List<byte>(markup.ToArray());
        for (var b = 0; b < 0x20; b++) bytes.Add((byte)b);
        for (var b = 0x80; b <= 0xFF; b++) bytes.Add((byte)b);
        return SearchValues.Create(bytes.ToArray());
    }

    private readonly int _maxFrameBytes, _maxDepth, _maxAttributes;
    private readonly ulong[] _nameStack;

    private State _state = State.Start;
    private long _scanned;          // bytes of the caller's buffer already scanned
    private long _frameStart = -1;  // offset in the caller's buffer where the current frame starts, or -1
    private bool _headerSeen, _inHeader;
    private ulong _headerName, _name;
    private int _depth, _attributes, _subIndex, _brackets;
    private byte _quote;
    private State _entityReturn;
    private readonly byte[] _entity = new byte[MaxEntityNameBytes];
    private readonly byte[] _xmlDecl = new byte[MaxXmlDeclBytes];
    private int _entityLength, _xmlDeclLength;
    // Incremental UTF-8 validation: continuation bytes still expected, the code point so far, the allowed range of the next byte.
    private int _utf8Need, _codePoint;
    private byte _utf8Lo = 0x80, _utf8Hi = 0xBF;

    /// <summary>Creates a framer for one stream.</summary>
    /// <param name="maxFrameBytes">Largest frame (stanza or header) in bytes (<c>Xmpp:MaxStanzaSize</c>).</param>
    /// <param name="maxDepth">Deepest element nesting inside a stanza; the stanza element is depth 1 (<c>Xmpp:MaxDepth</c>).</param>
    /// <param name="maxAttributes">Most attributes on one element, namespace declarations included (<c>Xmpp:MaxAttributes</c>).</param>
    public StanzaFramer(int maxFrameBytes, int maxDepth, int maxAttributes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxFrameBytes, 16);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDepth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAttributes, 0);
        _maxFrameBytes = maxFrameBytes;
        _maxDepth = maxDepth;
        _maxAttributes = maxAttributes;
        _nameStack = new ulong[maxDepth];
    }

    /// <summary>True while bytes of an unfinished frame are buffered (useful to tell a clean EOF from a truncated stanza).</summary>
    public bool HasPartialFrame => _frameStart >= 0 || _state is State.XmlDeclName or State.XmlDecl;

    /// <summary>
    /// Scans <paramref name="buffer"/> for the next frame. The caller passes the same unconsumed bytes again, with more
    /// appended, on the next call (the <c>PipeReader</c> pattern); bytes already scanned are not scanned again.
    /// </summary>
    /// <param name="buffer">On entry the unconsumed bytes. On return it starts after the bytes consumed: after the
    /// frame when one is returned, otherwise after ignored whitespace (the caller then calls
    /// <c>AdvanceTo(buffer.Start, buffer.End)</c>).</param>
    /// <param name="frame">The frame, whose bytes are a slice of the buffer on entry.</param>
    /// <returns>True when a frame is complete.</returns>
    /// <exception cref="XmppProtocolException">The bytes violate a limit or a rule; the framer is then faulted.</exception>
    public bool TryReadFrame(ref ReadOnlySequence<byte> buffer, out Frame frame)
    {
        frame = default;
        if (_state == State.Faulted) throw new InvalidOperationException("The framer already rejected this stream.");
        if (_state == State.Ended) return false;
        if (_scanned > buffer.Length) throw new InvalidOperationException("The buffer is shorter than the bytes already scanned; pass the unconsumed bytes again.");

        var offset = _scanned;
        foreach (var segment in buffer.Slice(_scanned))
        {
            var span = segment.Span;
            for (var i = 0; i < span.Length; i++, offset++)
            {
                // Fast path: a run of plain ASCII in text, an attribute value or CDATA changes no state but the
                // offset (each such byte is a valid XML Char, needs no UTF-8 check and is not markup), so it is
                // skipped in one vectorized search; the run stops before the byte that would exceed the frame limit.
                if (_utf8Need == 0 && (_state is State.Content or State.AttrValue || (_state == State.CData && _brackets == 0)))
                {
                    var run = span[i..].IndexOfAny(_state switch { State.Content => ContentStops, State.AttrValue => AttrValueStops, _ => CDataStops });
                    if (run < 0) run = span.Length - i;
                    run = (int)Math.Min(run, _maxFrameBytes - (offset - _frameStart));
                    if (run > 0)
                    {
                        i += run;
                        offset += run;
                        if (i == span.Length) break;
                    }
                }

                FrameKind? done;
                try
                {
                    done = Step(span[i], offset);
                }
                catch (XmppProtocolException)
                {
                    _state = State.Faulted;
                    throw;
                }
                if (done is not { } kind) continue;

                var end = offset + 1;
                frame = new Frame(kind, buffer.Slice(_frameStart, end - _frameStart));
                buffer = buffer.Slice(end);
                _frameStart = -1;
                _scanned = 0;
                return true;
            }
        }

        // No frame: release what is not part of a frame in progress, keep the rest for the next call.
        _scanned = offset;
        var keepFrom = _frameStart >= 0 ? _frameStart : _scanned;
        if (keepFrom > 0)
        {
            buffer = buffer.Slice(keepFrom);
            _scanned -= keepFrom;
            if (_frameStart >= 0) _frameStart -= keepFrom;
        }
        return false;
    }

    private static bool IsWhitespace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n';

    private static XmppProtocolException Error(StreamErrorCondition c, string message) => new(c, message);
    private static XmppProtocolException NotWellFormed(string message) => new(StreamErrorCondition.NotWellFormed, message);

    private FrameKind? Step(byte b, long offset)
    {
        CheckUtf8(b);
        if (_frameStart >= 0 && offset - _frameStart + 1 > _maxFrameBytes)
            throw Error(StreamErrorCondition.PolicyViolation, $"{(_inHeader ? "stream header" : "stanza")} exceeds {_maxFrameBytes} bytes");

        switch (_state)
        {
            case State.Start:
                // _subIndex 1: the XML declaration is allowed only as the very first bytes (XML 1.0 §2.8).
                if (b == '<') { _state = State.PrologLt; _subIndex = 1; _frameStart = offset; return null; }
                goto case State.Prolog;

            case State.Prolog:
                if (IsWhitespace(b)) { _state = State.Prolog; return null; }
                if (b == '<') { _state = State.PrologLt; _subIndex = 0; _frameStart = offset; return null; }
                throw NotWellFormed("text before the stream header");

            case State.PrologLt:
                if (b == '?')
                {
                    if (_subIndex == 0) throw Error(StreamErrorCondition.RestrictedXml, "processing instruction");
                    // The declaration is not a frame: it is checked here and dropped.
                    _state = State.XmlDeclName; _subIndex = 0; _xmlDeclLength = 0; _frameStart = -1;
                    return null;
                }
                if (b == '!') { _state = State.Bang; return null; }
                if (b == '/' || IsWhitespace(b) || b == '>') throw NotWellFormed("expected the stream header");
                _inHeader = true;
                return BeginName(b);

            case State.XmlDeclName:
                // "<?xml" followed by whitespace; anything else ("<?xml-stylesheet", "<?foo") is a processing instruction.
                if (_subIndex < 3)
                {
                    if (b != "xml"[_subIndex]) throw Error(StreamErrorCondition.RestrictedXml, "processing instruction");
                    _subIndex++;
                    return null;
                }
                if (!IsWhitespace(b)) throw Error(StreamErrorCondition.RestrictedXml, "processing instruction");
                _state = State.XmlDecl; _subIndex = 0;
                return null;

            case State.XmlDecl:
                if (_xmlDeclLength == MaxXmlDeclBytes) throw NotWellFormed("XML declaration too long");
                _xmlDecl[_xmlDeclLength++] = b;
                if (b == '>' && _xmlDeclLength >= 2 && _xmlDecl[_xmlDeclLength - 2] == '?')
                {
                    CheckXmlDeclaration(_xmlDecl.AsSpan(0, _xmlDeclLength - 2));
                    _state = State.Prolog;
                }
                return null;

            case State.StreamLevel:
                if (IsWhitespace(b)) return null;
                if (b != '<') throw NotWellFormed("text at stream level");
                _frameStart = offset;
                _state = State.Lt;
                return null;

            case State.Lt:
                if (b == '/') { _state = State.EndTagName; _name = FnvOffset; _subIndex = 0; return null; }
                if (b == '!') { _state = State.Bang; return null; }
                if (b == '?') throw Error(StreamErrorCondition.RestrictedXml, "processing instruction");
                if (IsWhitespace(b) || b is (byte)'>' or (byte)'<' or (byte)'=' or (byte)'"' or (byte)'\'')
                    throw NotWellFormed("invalid start tag");
                return BeginName(b);

            case State.Bang:
                // After "<!": comments are restricted (RFC 6120 §11.1), CDATA is text (only inside a stanza),
                // everything else (<!DOCTYPE, <!ENTITY, <!ELEMENT, <!ATTLIST, <!NOTATION) is a DTD construct.
                if (b == '-') throw Error(StreamErrorCondition.RestrictedXml, "XML comment");
                if (b == '[')
                {
                    if (_depth == 0) throw NotWellFormed("CDATA section at stream level");
                    _state = State.CDataOpen; _subIndex = 0;
                    return null;
                }
                throw Error(StreamErrorCondition.RestrictedXml, b switch
                {
                    (byte)'D' => "document type declaration (<!DOCTYPE)",
                    (byte)'E' => "entity or element declaration (<!ENTITY, <!ELEMENT)",
                    _ => "markup declaration",
                });

            case State.CDataOpen:
                if (b != CDataMarker[_subIndex]) throw NotWellFormed("invalid CDATA section start");
                if (++_subIndex == CDataMarker.Length) { _state = State.CData; _brackets = 0; }
                return null;

            case State.CData:
                if (b == ']') _brackets++;
                else if (b == '>' && _brackets >= 2) _state = State.Content;
                else _brackets = 0;
                return null;

            case State.StartTagName:
                if (IsWhitespace(b)) { EndStartTagName(); _state = State.InTag; return null; }
                if (b == '>') { EndStartTagName(); return EndStartTag(); }
                if (b == '/') { EndStartTagName(); _state = State.EmptyTagSlash; return null; }
                if (b is (byte)'<' or (byte)'=' or (byte)'"' or (byte)'\'') throw NotWellFormed("invalid element name");
                _name = (_name ^ b) * FnvPrime;
                return null;

            case State.InTag:
                if (IsWhitespace(b)) return null;
                if (b == '>') return EndStartTag();
                if (b == '/') { _state = State.EmptyTagSlash; return null; }
                if (b is (byte)'<' or (byte)'=' or (byte)'"' or (byte)'\'') throw NotWellFormed("invalid attribute");
                if (++_attributes > _maxAttributes)
                    throw Error(StreamErrorCondition.PolicyViolation, $"an element has more than {_maxAttributes} attributes");
                _state = State.AttrName;
                return null;

            case State.AttrName:
                if (b == '=') { _state = State.BeforeAttrValue; return null; }
                if (IsWhitespace(b)) { _state = State.AfterAttrName; return null; }
                if (b is (byte)'>' or (byte)'/' or (byte)'<' or (byte)'"' or (byte)'\'') throw NotWellFormed("attribute without value");
                return null;

            case State.AfterAttrName:
                if (IsWhitespace(b)) return null;
                if (b == '=') { _state = State.BeforeAttrValue; return null; }
                throw NotWellFormed("attribute without value");

            case State.BeforeAttrValue:
                if (IsWhitespace(b)) return null;
                if (b is (byte)'"' or (byte)'\'') { _quote = b; _state = State.AttrValue; return null; }
                throw NotWellFormed("unquoted attribute value");

            case State.AttrValue:
                if (b == _quote) { _state = State.InTag; return null; }
                if (b == '<') throw NotWellFormed("'<' in an attribute value");
                if (b == '&') { _entityReturn = State.AttrValue; _entityLength = 0; _state = State.EntityRef; }
                return null;

            case State.EmptyTagSlash:
                if (b != '>') throw NotWellFormed("'/' not followed by '>' in a tag");
                if (_inHeader) throw NotWellFormed("the stream header must not be an empty element");
                return CloseElement();

            case State.EndTagName:
                if (b == '>') return EndTag();
                if (IsWhitespace(b))
                {
                    if (_subIndex == 0) throw NotWellFormed("invalid end tag");
                    _state = State.EndTagTrail;
                    return null;
                }
                _subIndex++;
                _name = (_name ^ b) * FnvPrime;
                return null;

            case State.EndTagTrail:
                if (IsWhitespace(b)) return null;
                if (b == '>') return EndTag();
                throw NotWellFormed("invalid end tag");

            case State.Content:
                if (b == '<') { _state = State.Lt; return null; }
                if (b == '&') { _entityReturn = State.Content; _entityLength = 0; _state = State.EntityRef; }
                return null;

            case State.EntityRef:
                if (b == ';') { CheckEntity(_entity.AsSpan(0, _entityLength)); _state = _entityReturn; return null; }
                if (_entityLength == MaxEntityNameBytes)
                {
                    if (_entity[0] == '#') throw NotWellFormed("character reference too long");
                    throw Error(StreamErrorCondition.RestrictedXml, "entity reference other than the predefined ones");
                }
                if (IsWhitespace(b) || b is (byte)'<' or (byte)'&' or (byte)'>' or (byte)'"' or (byte)'\'')
                    throw NotWellFormed("'&' not starting an entity or character reference");
                _entity[_entityLength++] = b;
                return null;

            default:
                throw new InvalidOperationException($"framer state {_state}");
        }
    }

    private FrameKind? BeginName(byte b)
    {
        _name = (FnvOffset ^ b) * FnvPrime;
        _state = State.StartTagName;
        return null;
    }

    private void EndStartTagName()
    {
        _attributes = 0;
        if (_inHeader)
        {
            _headerName = _name;
            return;
        }
        if (_depth == 0 && _headerSeen && _name == _headerName)
            throw NotWellFormed("a second stream header inside the stream");
        if (_depth == _maxDepth)
            throw Error(StreamErrorCondition.PolicyViolation, $"elements nested deeper than {_maxDepth}");
        _nameStack[_depth++] = _name;
    }

    private FrameKind? EndStartTag()
    {
        if (_inHeader)
        {
            _inHeader = false;
            _headerSeen = true;
            _state = State.StreamLevel;
            return FrameKind.StreamHeader;
        }
        _state = State.Content;
        return null;
    }

    private FrameKind? EndTag()
    {
        if (_depth == 0)
        {
            if (_name != _headerName) throw NotWellFormed("end tag at stream level that does not close the stream");
            _state = State.Ended;
            return FrameKind.StreamEnd;
        }
        if (_nameStack[_depth - 1] != _name) throw NotWellFormed("end tag does not match the start tag");
        return CloseElement();
    }

    private FrameKind? CloseElement()
    {
        if (--_depth > 0)
        {
            _state = State.Content;
            return null;
        }
        _state = State.StreamLevel;
        return FrameKind.Stanza;
    }

    private static void CheckEntity(ReadOnlySpan<byte> name)
    {
        if (name.Length == 0) throw NotWellFormed("empty entity reference '&;'");
        if (name[0] == '#')
        {
            var hex = name.Length > 1 && name[1] == 'x';
            var digits = name[(hex ? 2 : 1)..];
            if (digits.Length == 0) throw NotWellFormed("empty character reference");
            var value = 0;
            foreach (var d in digits)
            {
                int v = d switch
                {
                    >= (byte)'0' and <= (byte)'9' => d - '0',
                    >= (byte)'a' and <= (byte)'f' when hex => d - 'a' + 10,
                    >= (byte)'A' and <= (byte)'F' when hex => d - 'A' + 10,
                    _ => throw NotWellFormed("invalid character reference"),
                };
                value = value * (hex ? 16 : 10) + v;
                if (value > 0x10FFFF) throw NotWellFormed("character reference out of range");
            }
            // XML 1.0 §4.1 WFC "Legal Character": the referenced character must match the Char production.
            if (!IsXmlChar(value)) throw NotWellFormed($"character reference to U+{value:X4}, not allowed in XML 1.0");
            return;
        }
        if (name.SequenceEqual("lt"u8) || name.SequenceEqual("gt"u8) || name.SequenceEqual("amp"u8)
            || name.SequenceEqual("apos"u8) || name.SequenceEqual("quot"u8))
            return;
        // RFC 6120 §11.1: entity references other than the predefined ones are restricted (and would need a DTD).
        throw Error(StreamErrorCondition.RestrictedXml, "entity reference other than the predefined ones");
    }

    /// <summary>XML 1.0 §2.2 <c>Char</c>: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].</summary>
    internal static bool IsXmlChar(int c) =>
        c is 0x9 or 0xA or 0xD or (>= 0x20 and <= 0xD7FF) or (>= 0xE000 and <= 0xFFFD) or (>= 0x10000 and <= 0x10FFFF);

    private static void CheckXmlDeclaration(ReadOnlySpan<byte> body)
    {
        // RFC 6120 §11.6: the stream is UTF-8; a declaration naming another encoding is refused.
        var text = Encoding.ASCII.GetString(body);
        var at = text.IndexOf("encoding", StringComparison.Ordinal);
        if (at < 0) return;
        var rest = text[(at + "encoding".Length)..].TrimStart(' ', '\t', '\r', '\n');
        if (rest.Length == 0 || rest[0] != '=') throw NotWellFormed("invalid XML declaration");
        rest = rest[1..].TrimStart(' ', '\t', '\r', '\n');
        if (rest.Length == 0 || rest[0] is not ('\'' or '"')) throw NotWellFormed("invalid XML declaration");
        var close = rest.IndexOf(rest[0], 1);
        if (close < 0) throw NotWellFormed("invalid XML declaration");
        var encoding = rest[1..close];
        if (!encoding.Equals("UTF-8", StringComparison.OrdinalIgnoreCase) && !encoding.Equals("UTF8", StringComparison.OrdinalIgnoreCase))
            throw Error(StreamErrorCondition.UnsupportedEncoding, $"encoding '{encoding}' is not UTF-8");
    }

    private void CheckUtf8(byte b)
    {
        if (_utf8Need == 0)
        {
            if (b < 0x80)
            {
                if (b < 0x20 && b is not (0x9 or 0xA or 0xD))
                    throw NotWellFormed($"character U+{b:X4} is not allowed in XML 1.0");
                return;
            }
            (_utf8Need, _codePoint, _utf8Lo, _utf8Hi) = b switch
            {
                >= 0xC2 and <= 0xDF => (1, b & 0x1F, (byte)0x80, (byte)0xBF),
                0xE0 => (2, b & 0x0F, (byte)0xA0, (byte)0xBF),              // no overlong 3-byte forms
                0xED => (2, b & 0x0F, (byte)0x80, (byte)0x9F),              // no surrogates
                >= 0xE1 and <= 0xEF => (2, b & 0x0F, (byte)0x80, (byte)0xBF),
                0xF0 => (3, b & 0x07, (byte)0x90, (byte)0xBF),              // no overlong 4-byte forms
                >= 0xF1 and <= 0xF3 => (3, b & 0x07, (byte)0x80, (byte)0xBF),
                0xF4 => (3, b & 0x07, (byte)0x80, (byte)0x8F),              // nothing above U+10FFFF
                _ => throw NotWellFormed("invalid UTF-8"),
            };
            return;
        }
        if (b < _utf8Lo || b > _utf8Hi) throw NotWellFormed("invalid UTF-8");
        _utf8Lo = 0x80;
        _utf8Hi = 0xBF;
        _codePoint = (_codePoint << 6) | (b & 0x3F);
        if (--_utf8Need == 0 && _codePoint is 0xFFFE or 0xFFFF)
            throw NotWellFormed($"character U+{_codePoint:X4} is not allowed in XML 1.0");
    }
}
