using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace XmppRabbitComponent.Classification;

/// <summary>
/// Counts identical local→local copies (same from, to, id and body) seen within the window (docs/events.md
/// "Direction"): 1 = sent, 2 = received, more = duplicates. Bounded in time (entries older than the window
/// expire, oldest first, on every call) and in size (when full, the oldest entry goes). Keys are a 128-bit
/// SHA-256 prefix of the four fields, so a flood of large bodies does not keep the bodies alive.
/// Not thread-safe.
/// </summary>
internal sealed class CopyMatchTable
{
    private sealed class Entry(UInt128 key, DateTimeOffset first)
    {
        public UInt128 Key { get; } = key;
        public DateTimeOffset First { get; set; } = first;
        public int Count { get; set; } = 1;
    }

    private readonly TimeSpan _window;
    private readonly int _max;
    private readonly Dictionary<UInt128, LinkedListNode<Entry>> _map = new();
    private readonly LinkedList<Entry> _order = new(); // by First, oldest first (when the clock is monotonic)
    private readonly byte[] _scratch = new byte[4096];

    public CopyMatchTable(TimeSpan window, int max)
    {
        _window = window;
        _max = max;
    }

    public int Count => _map.Count;

    /// <summary>Drops entries whose window has passed.</summary>
    public void Expire(DateTimeOffset now)
    {
        while (_order.First is { } head && now - head.Value.First > _window)
        {
            _order.RemoveFirst();
            _map.Remove(head.Value.Key);
        }
    }

    /// <summary>Records one copy and returns how many identical copies (this one included) were seen within the window.</summary>
    public int Observe(string from, string to, string? id, string body, DateTimeOffset now)
    {
        Expire(now);
        var key = Key(from, to, id, body);
        if (_map.TryGetValue(key, out var node))
        {
            var entry = node.Value;
            if (now - entry.First > _window)
            {
                // Expired but not at the head (the clock went backwards at some point): start afresh.
                entry.First = now;
                entry.Count = 1;
                _order.Remove(node);
                _order.AddLast(node);
                return 1;
            }
            if (entry.Count < int.MaxValue) entry.Count++;
            return entry.Count;
        }

        if (_map.Count >= _max && _order.First is { } oldest)
        {
            _order.RemoveFirst();
            _map.Remove(oldest.Value.Key);
        }
        _map.Add(key, _order.AddLast(new Entry(key, now)));
        return 1;
    }

    private UInt128 Key(string from, string to, string? id, string body)
    {
        // The four fields, length-prefixed UTF-8, in one buffer and one hash call (XML text is valid UTF-16, so the
        // encoding is exact).
        var size = 16 + Encoding.UTF8.GetMaxByteCount(from.Length + to.Length + (id?.Length ?? 0) + body.Length);
        var rented = size <= _scratch.Length ? null : ArrayPool<byte>.Shared.Rent(size);
        var buffer = (rented ?? _scratch).AsSpan(0, size);
        var at = 0;
        Append(buffer, ref at, from);
        Append(buffer, ref at, to);
        Append(buffer, ref at, id);
        Append(buffer, ref at, body);
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(buffer[..at], digest);
        if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        return new UInt128(BinaryPrimitives.ReadUInt64LittleEndian(digest), BinaryPrimitives.ReadUInt64LittleEndian(digest[8..]));
    }

    // Length-prefixed so that field boundaries cannot be shifted ("a|b","c" vs "a","b|c"); -1 marks an absent id.
    private static void Append(Span<byte> buffer, ref int at, string? value)
    {
        if (value is null)
        {
            BinaryPrimitives.WriteInt32LittleEndian(buffer[at..], -1);
            at += 4;
            return;
        }
        var written = Encoding.UTF8.GetBytes(value, buffer[(at + 4)..]);
        BinaryPrimitives.WriteInt32LittleEndian(buffer[at..], written);
        at += 4 + written;
    }
}
