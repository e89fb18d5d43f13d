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

    /// <summary>The JSON of <paramref name="e"/> as UTF-8 bytes.</summary>
    /// <exception cref="ArgumentException">A string field holds an unpaired surrogate (cannot be UTF-8).</exception>
    public static byte[] Serialize(XmppEvent e)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        Write(buffer, e);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Writes the JSON of <paramref name="e"/> to <paramref name="output"/>.</summary>
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
        // Strict UTF-8: an unpaired surrogate cannot be encoded and must not become U+FFFD silently.
        var utf8 = StrictUtf8.GetBytes(value);
        Raw(output, "\""u8);
        var start = 0;
        for (var i = 0; i < utf8.Length; i++)
        {
            var b = utf8[i];
            if (b >= 0x20 && b != (byte)'"' && b != (byte)'\\') continue;
            Raw(output, utf8.AsSpan(start, i - start));
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
        Raw(output, utf8.AsSpan(start));
        Raw(output, "\""u8);
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
}
