using System.Buffers;
using System.Diagnostics;
using System.Text;
using XmppRabbitComponent.Classification;
using XmppRabbitComponent.Configuration;
using XmppRabbitComponent.Events;
using XmppRabbitComponent.Xmpp;

namespace XmppRabbitComponent.Benchmarks;

/// <summary>
/// The stanza stream of the pipeline benchmark, in the exact shape ejabberd 23.01 sends to a component with
/// mod_service_log and mod_privilege (Component.Tests/TestData/captures/main-session.xml, a real ejabberd 23.01 capture):
/// <list type="bullet">
/// <item>the privilege advertisement (presence: managed_entity), as ejabberd sends right after the handshake;</item>
/// <item>every user logs in: the privileged top-level presence and the forwarded copy of the initial presence
///   (the same fact twice: 1 presence event);</item>
/// <item>chat turns between <see cref="Users"/> local users user0..user999@localhost (resource /phone):
///   60 % local→local (two byte-identical forwarded copies: sent + received = 2 events),
///   20 % local→remote (one copy: 1 sent event), 20 % remote→local (one copy: 1 received event);
///   every 4th turn is preceded by a chat-state copy (&lt;composing/&gt;, no body: 0 events, skipped);</item>
/// <item>every 50th turn a user goes unavailable and comes back (privileged + forwarded presence each: 2 events).</item>
/// </list>
/// The expected events are what the real classifier makes of the stream (checked against the count by construction).
/// </summary>
public sealed class Workload
{
    public const string ComponentDomain = "events.localhost";
    public const string Secret = "bench-secret";
    public const int Users = 1000;

    /// <summary>The server's stream header the framer expects before stanzas (for the in-memory pass).</summary>
    public static readonly byte[] ServerHeader = Encoding.UTF8.GetBytes(
        $"<?xml version='1.0'?><stream:stream id='bench-stream' xml:lang='en' xmlns:stream='http://etherx.jabber.org/streams' from='{ComponentDomain}' xmlns='jabber:component:accept'>");

    /// <summary>The stanzas after the handshake, as one byte stream (no separators, as ejabberd writes them).</summary>
    public required byte[] Stanzas { get; init; }
    public required int StanzaCount { get; init; }
    /// <summary>The events the classifier produces, in stream order.</summary>
    public required IReadOnlyList<XmppEvent> Events { get; init; }
    public required string Mix { get; init; }
    /// <summary>Per stanza: where it starts in <see cref="Stanzas"/>, its length, and the chat event it yields (for latency).</summary>
    public required IReadOnlyList<StanzaInfo> Index { get; init; }
    /// <summary>The <c>targetEvents</c> it was generated for (<see cref="Generate"/> with it and the same user base gives the same events).</summary>
    public required int Target { get; init; }

    /// <summary>One stanza of the stream: byte range, and the (turn, AMQP type) of the chat event it yields, or turn -1.</summary>
    public readonly record struct StanzaInfo(int Offset, int Length, int Turn, string? EventType, int Events);

    /// <summary>
    /// Generates a stream of at least <paramref name="targetEvents"/> events between users
    /// user{userBase}..user{userBase+999}: a stream for fresh users (other bases) is self-contained, so that several
    /// can go to one component process one after another (cold, then warm batches).
    /// </summary>
    public static Workload Generate(int targetEvents, int userBase = 0)
    {
        var sb = new StringBuilder(targetEvents * 400);
        var index = new List<StanzaInfo>(targetEvents * 13 / 10);
        var stanzas = 0;
        var expected = 0;
        long wrapperId = 1_570_822_058_745_754_492;
        string Wid() => (wrapperId += 7_919_171).ToString();
        var utf8Length = 0;
        void Add(string s, int turn = -1, string? type = null, int events = 0)
        {
            var n = Encoding.UTF8.GetByteCount(s);
            index.Add(new StanzaInfo(utf8Length, n, turn, type, events));
            utf8Length += n;
            sb.Append(s);
            stanzas++;
        }
        void Presence(int u, bool online)
        {
            u += userBase;
            var type = online ? "" : " type='unavailable'";
            var id = Guid.NewGuid().ToString("N");
            Add($"<presence xml:lang='en' to='{ComponentDomain}' from='user{u}@localhost/phone'{type} id='{id}'/>");
            Add($"<message to='{ComponentDomain}' from='localhost' id='{Wid()}'><forwarded xmlns='urn:xmpp:forward:0'><presence xml:lang='en' to='user{u}@localhost' from='user{u}@localhost/phone'{type} id='{id}' xmlns='jabber:client'/></forwarded></message>", events: 1);
            expected++;
        }
        string Copy(string from, string to, string id, string inner) =>
            $"<message to='{ComponentDomain}' from='localhost' id='{Wid()}'><forwarded xmlns='urn:xmpp:forward:0'><message xml:lang='en' to='{to}' from='{from}' type='chat' id='{id}' xmlns='jabber:client'>{inner}</message></forwarded></message>";

        Add($"<message to='{ComponentDomain}' from='localhost'><privilege xmlns='urn:xmpp:privilege:1'><perm type='none' access='message'/><perm type='none' access='roster'/><perm type='managed_entity' access='presence'/></privilege></message>");
        for (var u = 0; u < Users; u++) Presence(u, true);

        var offline = -1;
        for (var i = 0; expected < targetEvents; i++)
        {
            if (i % 50 == 49)
            {
                offline = (i * 13) % Users;
                Presence(offline, false);
                Presence(offline, true);
            }
            var a = (int)((i * 7_919L) % Users);
            var b = (a + 1 + (int)((i * 31L) % (Users - 1))) % Users;
            var turnKind = i % 10;
            a += userBase;
            b += userBase;
            var id = Guid.NewGuid().ToString("N");
            var body = $"<body>Hello user{b}, this is message {i} with a body of moderate length</body>";
            string from, to;
            int copies;
            switch (turnKind)
            {
                case < 6: from = $"user{a}@localhost/phone"; to = $"user{b}@localhost"; copies = 2; break;
                case < 8: from = $"user{a}@localhost/phone"; to = $"friend{b}@remote.example"; copies = 1; break;
                default: from = $"friend{a}@remote.example/laptop"; to = $"user{b}@localhost"; copies = 1; break;
            }
            if (i % 4 == 0)
            {
                var state = Copy(from, to, Guid.NewGuid().ToString("N"), "<composing xmlns='http://jabber.org/protocol/chatstates'/>");
                for (var c = 0; c < copies; c++) Add(state);
            }
            var copy = Copy(from, to, id, body);
            // local→local: the first copy makes the sent event, its twin the received one.
            for (var c = 0; c < copies; c++)
                Add(copy, i, turnKind >= 8 || c == 1 ? "chat_msg_recv" : "chat_msg_sent", 1);
            expected += copies;
        }

        var bytes = Encoding.UTF8.GetBytes(sb.ToString());
        if (bytes.Length != utf8Length) throw new InvalidOperationException("stanza index does not match the stream");
        var (events, parsed) = ParseAndClassify(bytes);
        if (parsed != stanzas || events.Count != expected)
            throw new InvalidOperationException($"workload check failed: {parsed}/{stanzas} stanzas parsed, classifier gave {events.Count} events, construction expects {expected}");
        return new Workload
        {
            Stanzas = bytes,
            StanzaCount = stanzas,
            Events = events,
            Index = index,
            Target = targetEvents,
            Mix = "60% local→local (2 copies, sent+recv), 20% local→remote (sent), 20% remote→local (recv), chat state before every 4th turn, presence: 1,000 logins + an away/back every 50 turns",
        };
    }

    /// <summary>
    /// The XMPP side alone, in memory: the product's framer, parser and classifier over the stream, as
    /// XmppComponentService does it (one clock read per stanza), without sockets and publishing.
    /// </summary>
    public static (List<XmppEvent> Events, int Stanzas) ParseAndClassify(byte[] stanzas)
    {
        var xmpp = new XmppOptions { ComponentDomain = ComponentDomain, Secret = Secret };
        var classifier = new EventClassifier(ClassifierSettings.From(xmpp, new EventPusherOptions()));
        var framer = new StanzaFramer(xmpp.MaxStanzaSize, xmpp.MaxDepth, xmpp.MaxAttributes);
        var buffer = new ReadOnlySequence<byte>([.. ServerHeader, .. stanzas]);
        StanzaParser? parser = null;
        var events = new List<XmppEvent>();
        var count = 0;
        while (framer.TryReadFrame(ref buffer, out var frame))
        {
            switch (frame.Kind)
            {
                case FrameKind.StreamHeader:
                    parser = new StanzaParser(StanzaParser.ParseHeader(frame.Bytes));
                    break;
                case FrameKind.Stanza:
                    count++;
                    var result = classifier.Classify(parser!.Parse(frame.Bytes), TimeProvider.System.GetUtcNow());
                    if (result.Fault is { } f) throw new InvalidOperationException("classifier fault", f);
                    events.AddRange(result.Events);
                    break;
            }
        }
        return (events, count);
    }

    /// <summary>Events per second of <see cref="ParseAndClassify"/> over this stream (one timed pass).</summary>
    public double ParseClassifyRate()
    {
        var sw = Stopwatch.StartNew();
        var (events, _) = ParseAndClassify(Stanzas);
        return events.Count / sw.Elapsed.TotalSeconds;
    }
}
