using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;
using XmppRabbitComponent.Xmpp;

namespace XmppRabbitComponent.Tests.Xmpp;

/// <summary>How bytes reach the framer in a parser test (StackExchange.Redis style: every case runs both ways).</summary>
public enum Feed
{
    /// <summary>All bytes at once, in one segment.</summary>
    Whole,
    /// <summary>One byte per segment, arriving one byte at a time (each call sees one more byte).</summary>
    OneBytePerSegment,
}

/// <summary>A decoded frame for assertions.</summary>
public sealed record FrameText(FrameKind Kind, string Text);

internal static partial class FramerHarness
{
    public const int MaxSize = 262_144, MaxDepth = 32, MaxAttributes = 64;

    public static StanzaFramer NewFramer(int maxSize = MaxSize, int maxDepth = MaxDepth, int maxAttributes = MaxAttributes) =>
        new(maxSize, maxDepth, maxAttributes);

    /// <summary>Runs the framer over <paramref name="bytes"/> the way <paramref name="feed"/> says, like a PipeReader loop.</summary>
    public static List<FrameText> Run(byte[] bytes, Feed feed, StanzaFramer? framer = null)
    {
        framer ??= NewFramer();
        var frames = new List<FrameText>();
        if (feed == Feed.Whole)
        {
            var buffer = new ReadOnlySequence<byte>(bytes);
            while (framer.TryReadFrame(ref buffer, out var f)) frames.Add(Decode(f));
            return frames;
        }

        var all = OneBytePerSegment(bytes);
        var consumed = all.Start;
        for (var end = 1; end <= bytes.Length; end++)
        {
            var buffer = all.Slice(consumed, all.GetPosition(end));
            while (framer.TryReadFrame(ref buffer, out var f)) frames.Add(Decode(f));
            consumed = buffer.Start;
        }
        return frames;
    }

    public static List<FrameText> Run(string text, Feed feed, StanzaFramer? framer = null) =>
        Run(Encoding.UTF8.GetBytes(text), feed, framer);

    public static FrameText Decode(Frame f) => new(f.Kind, Encoding.UTF8.GetString(f.Bytes.ToArray()));

    public static ReadOnlySequence<byte> OneBytePerSegment(byte[] bytes)
    {
        if (bytes.Length == 0) return ReadOnlySequence<byte>.Empty;
        var first = new Segment(bytes.AsMemory(0, 1), 0);
        var last = first;
        for (var i = 1; i < bytes.Length; i++) last = last.Append(bytes.AsMemory(i, 1));
        return new ReadOnlySequence<byte>(first, 0, last, 1);
    }

    /// <summary>The main-session capture with the capture tool's XML comments removed (they were never on the wire).</summary>
    public static string Capture(string name)
    {
        var text = File.ReadAllText(Path.Combine(TestContext.CurrentContext.TestDirectory, "TestData", "captures", name));
        // The first comment line precedes the XML declaration; its newline was not on the wire either.
        return CaptureComment().Replace(text, "").TrimStart();
    }

    [GeneratedRegex("<!--.*?-->", RegexOptions.Singleline)]
    private static partial Regex CaptureComment();

    /// <summary>One buffer segment of a hand-built <see cref="ReadOnlySequence{T}"/>, as a pipe would hand them out.</summary>
    internal sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex) { Memory = memory; RunningIndex = runningIndex; }
        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
