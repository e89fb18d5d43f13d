using System.Buffers;
using System.Xml.Linq;
using XmppRabbitComponent.Xmpp;
using Segment = XmppRabbitComponent.Tests.Xmpp.FramerHarness.Segment;

namespace XmppRabbitComponent.Tests.Fuzzing;

/// <summary>What <see cref="StreamReader.Read"/> made of a byte stream.</summary>
/// <param name="Stanzas">The stanzas parsed, in order.</param>
/// <param name="Ended">True when <c>&lt;/stream:stream&gt;</c> was read.</param>
/// <param name="Error">The protocol error that stopped the stream (an <see cref="XmppProtocolException"/> or a received
/// <see cref="StreamErrorException"/>), or null.</param>
public sealed record StreamReadResult(IReadOnlyList<XElement> Stanzas, bool Ended, XmppStreamException? Error);

/// <summary>
/// The component's read path without the socket: <see cref="StanzaFramer"/> then <see cref="StanzaParser"/>, fed the
/// way a <c>PipeReader</c> does, with the bytes arriving in the chunks given by cut positions and each chunk held in
/// its own buffer segment. Any exception other than the documented protocol errors escapes.
/// </summary>
public static class StreamReader
{
    /// <summary>Reads <paramref name="bytes"/>, arriving in chunks that end at <paramref name="cuts"/> (positions, any order, out-of-range ignored).</summary>
    public static StreamReadResult Read(byte[] bytes, IEnumerable<int>? cuts = null, int maxFrameBytes = 262_144, int maxDepth = 32, int maxAttributes = 64)
    {
        var ends = (cuts ?? []).Where(c => c > 0 && c < bytes.Length).Append(bytes.Length).Distinct().Order().ToList();
        var all = Segmented(bytes, ends);
        var framer = new StanzaFramer(maxFrameBytes, maxDepth, maxAttributes);
        StanzaParser? parser = null;
        var stanzas = new List<XElement>();
        var consumed = all.Start;
        try
        {
            foreach (var end in ends)
            {
                var buffer = all.Slice(consumed, all.GetPosition(end));
                while (framer.TryReadFrame(ref buffer, out var frame))
                {
                    switch (frame.Kind)
                    {
                        case FrameKind.StreamHeader:
                            parser = new StanzaParser(StanzaParser.ParseHeader(frame.Bytes));
                            break;
                        case FrameKind.Stanza:
                            stanzas.Add(parser!.Parse(frame.Bytes));
                            break;
                        case FrameKind.StreamEnd:
                            return new StreamReadResult(stanzas, true, null);
                    }
                }
                consumed = buffer.Start;
            }
        }
        catch (Exception e) when (e is XmppProtocolException or StreamErrorException)
        {
            return new StreamReadResult(stanzas, false, (XmppStreamException)e);
        }
        return new StreamReadResult(stanzas, false, null);
    }

    private static ReadOnlySequence<byte> Segmented(byte[] bytes, List<int> ends)
    {
        if (bytes.Length == 0) return ReadOnlySequence<byte>.Empty;
        Segment? first = null, last = null;
        var start = 0;
        foreach (var end in ends)
        {
            if (end <= start) continue;
            var memory = bytes.AsMemory(start, end - start).ToArray(); // a separate buffer per chunk, as a pipe would have
            last = last is null ? first = new Segment(memory, 0) : last.Append(memory);
            start = end;
        }
        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }
}
