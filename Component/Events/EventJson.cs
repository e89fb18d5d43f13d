using System.Buffers;
using System.Text;

namespace XmppRabbitComponent.Events;

/// <summary>
/// Writes events as the seed's JSON: its field names in its order, compact, UTF-8, non-ASCII left raw.
/// Only <c>"</c>, <c>\</c> and U+0000–U+001F are escaped (<c>\b \f \n \r \t</c>, others as lowercase
/// <c>\u00xx</c>), as the reference's encoder does (docs/events.md, "JSON"). System.Text.Json's encoders
/// escape far more (even emoji), hence this writer.
/// </summary>
public static class EventJson
{
    private static ReadOnlySpan<byte> Hex => "0123456789abcdef"u8;

    // Per-thread scratch space: the JSON is written here, then copied once into an array of its exact length.
    [ThreadStatic] private static ArrayBufferWriter<byte>? t_scratch;

    /// <summary>The JSON of <paramref name="e"/> as UTF-8 bytes (one allocation: the returned array).</summary>
    /// <exception cref="ArgumentException">A string field holds an unpaired surrogate (cannot be UTF-8).</exception>
    public static byte[] Serialize(XmppEvent e)
    {
        var scratch = t_scratch ??= new ArrayBufferWriter<byte>(512);
        scratch.ResetWrittenCount();
        Write(scratch, e);
        var bytes = scratch.WrittenSpan.ToArray();
        // Do not keep a huge buffer (a 100 KB body) for the thread's lifetime.
        if (scratch.Capacity > 64 * 1024) t_scratch = null;
        return bytes;
    }

    /// <summary>Writes the JSON of <paramref name="e"/> to <paramref name="output"/>.</summary>
    /// <exception cref="ArgumentException">A string field holds an unpaired surrogate (cannot be UTF-8).</exception>
    public static void Write(IBufferWriter<byte> output, XmppEvent e)
    {
        switch (e)
        {
            case PresenceEvent p:
                Raw(output, "{\"user_id\":"u8);
                String(output, p.UserId);
                Raw(output, p.Present ? ",\"present\":true}"u8 : ",\"present\":false}"u8);
                break;
            case MessageEvent m:
                Raw(output, "{\"to_user_id\":"u8);
                String(output, m.ToUserId);
                Raw(output, ",\"message\":"u8);
                String(output, m.Message);
                Raw(output, ",\"from_user_id\":"u8);
                String(output, m.FromUserId);
                Raw(output, "}"u8);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(e), e.GetType().Name, "unknown event type");
        }
    }

    private static void Raw(IBufferWriter<byte> output, ReadOnlySpan<byte> bytes) => output.Write(bytes);

    private static void String(IBufferWriter<byte> output, string value)
    {
        Raw(output, "\""u8);
        var rest = value.AsSpan();
        while (rest.Length > 0)
        {
            // At most 3 UTF-8 bytes per UTF-16 unit; chunks keep the scratch span small for long bodies.
            var chunk = Math.Min(rest.Length, 1024);
            if (chunk < rest.Length && char.IsHighSurrogate(rest[chunk - 1])) chunk--; // keep a pair together
            var span = output.GetSpan(chunk * 3);
            // Strict UTF-8: an unpaired surrogate cannot be encoded and must not become U+FFFD silently.
            var status = System.Text.Unicode.Utf8.FromUtf16(rest[..chunk], span, out var read, out var written, replaceInvalidSequences: false);
            if (status != OperationStatus.Done)
                throw new ArgumentException("the text holds an unpaired surrogate, which cannot be encoded as UTF-8", nameof(value));
            rest = rest[read..];
            if (span[..written].IndexOfAny(Escaped) < 0)
            {
                output.Advance(written);
                continue;
            }
            // Something to escape (quotes, backslashes, line breaks): copy the encoded bytes out of the writer's span, then write them escaped.
            var utf8 = span[..written].ToArray();
            WriteEscaped(output, utf8);
        }
        Raw(output, "\""u8);
    }

    private static readonly SearchValues<byte> Escaped = SearchValues.Create(
        [(byte)'"', (byte)'\\', 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31]);

    private static void WriteEscaped(IBufferWriter<byte> output, ReadOnlySpan<byte> utf8)
    {
        var start = 0;
        for (var i = 0; i < utf8.Length; i++)
        {
            var b = utf8[i];
            if (b >= 0x20 && b != (byte)'"' && b != (byte)'\\') continue;
            Raw(output, utf8[start..i]);
            start = i + 1;
            switch (b)
            {
                case (byte)'"': Raw(output, "\\\""u8); break;
                case (byte)'\\': Raw(output, "\\\\"u8); break;
                case (byte)'\b': Raw(output, "\\b"u8); break;
                case (byte)'\f': Raw(output, "\\f"u8); break;
                case (byte)'\n': Raw(output, "\\n"u8); break;
                case (byte)'\r': Raw(output, "\\r"u8); break;
                case (byte)'\t': Raw(output, "\\t"u8); break;
                default:
                    Span<byte> esc = [(byte)'\\', (byte)'u', (byte)'0', (byte)'0', Hex[b >> 4], Hex[b & 0xF]];
                    Raw(output, esc);
                    break;
            }
        }
        Raw(output, utf8[start..]);
    }
}
