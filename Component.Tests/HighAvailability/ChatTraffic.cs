using System.Diagnostics;
using System.Text.Json;
using XmppRabbitComponent.Tests.Integration;

namespace XmppRabbitComponent.Tests.HighAvailability;

/// <summary>What happened to one chat message of <see cref="ChatTraffic"/>, from the events that reached the consumer.</summary>
internal enum MessageFate
{
    /// <summary>One sent and one received event, both by the same instance: correct.</summary>
    Ok,
    /// <summary>No event at all: the server dropped both copies (no component connection for the domain then).</summary>
    Lost,
    /// <summary>Anything else: two sent, a lone sent or received, or the two events from different instances.</summary>
    Mislabelled,
}

/// <summary>
/// Steady local-to-local chat traffic (alice → bob, one message every <c>interval</c>, numbered bodies) and the
/// <c>chat_msg</c> events collected for it with their arrival time and <c>app_id</c>, so a test can tell for every
/// message which instance published it, whether it was lost, and when events flowed.
/// </summary>
internal sealed class ChatTraffic : IAsyncDisposable
{
    private readonly TestXmppClient _alice, _bob;
    private readonly TestEventConsumer _consumer;
    private readonly string _run = Guid.NewGuid().ToString("N")[..6];
    private readonly List<DateTime> _sent = [];
    private readonly List<(DateTime At, int N, string Type, string AppId, string MessageId)> _events = [];
    private readonly CancellationTokenSource _stop = new();
    private Task _sender = Task.CompletedTask, _collector = Task.CompletedTask;

    private ChatTraffic(TestXmppClient alice, TestXmppClient bob, TestEventConsumer consumer) { _alice = alice; _bob = bob; _consumer = consumer; }

    public static async Task<ChatTraffic> StartAsync(XmppTestServers servers, TestEventConsumer consumer)
    {
        var alice = await TestXmppClient.ConnectAsync(servers, "alice", "ha");
        var bob = await TestXmppClient.ConnectAsync(servers, "bob", "ha");
        await alice.SendPresenceAsync();
        await bob.SendPresenceAsync();
        var t = new ChatTraffic(alice, bob, consumer);
        t._collector = t.CollectAsync(t._stop.Token);
        return t;
    }

    /// <summary>Sends <paramref name="count"/> messages, one every <paramref name="interval"/>, in the background.</summary>
    public void Send(int count, TimeSpan interval) => _sender = SendAsync(count, interval, _stop.Token);

    /// <summary>Completes when the background sending finished.</summary>
    public Task Sending => _sender;

    public int SentCount { get { lock (_sent) return _sent.Count; } }

    private async Task SendAsync(int count, TimeSpan interval, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        for (var n = 0; n < count && !ct.IsCancellationRequested; n++)
        {
            var due = interval * n;
            if (clock.Elapsed < due) await Task.Delay(due - clock.Elapsed, ct);
            lock (_sent) _sent.Add(DateTime.UtcNow);
            await _alice.SendMessageAsync("bob@localhost", "chat", $"ha {_run} {n}", id: $"ha-{_run}-{n}", ct: ct);
        }
    }

    private async Task CollectAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            List<ReceivedEvent> got;
            try { got = await _consumer.TakeAsync(1, TimeSpan.FromMilliseconds(300)); }
            catch (TimeoutException) { continue; }
            foreach (var e in got)
            {
                var at = DateTime.UtcNow;
                using var doc = JsonDocument.Parse(e.Body);
                var text = doc.RootElement.GetProperty("message").GetString() ?? "";
                var parts = text.Split(' ');
                if (parts.Length != 3 || parts[0] != "ha" || parts[1] != _run) continue;
                lock (_events) _events.Add((at, int.Parse(parts[2]), e.Properties.Type ?? "", e.Properties.AppId ?? "", e.Properties.MessageId ?? ""));
            }
        }
    }

    /// <summary>Waits until no new event arrived for <paramref name="quiet"/> (at most <paramref name="max"/>).</summary>
    public async Task SettleAsync(TimeSpan quiet, TimeSpan max)
    {
        var deadline = DateTime.UtcNow + max;
        while (DateTime.UtcNow < deadline)
        {
            DateTime last;
            lock (_events) last = _events.Count == 0 ? DateTime.MinValue : _events.Max(e => e.At);
            if (DateTime.UtcNow - last > quiet && _sender.IsCompleted) return;
            await Task.Delay(100);
        }
    }

    /// <summary>Send time of message <paramref name="n"/>.</summary>
    public DateTime SentAt(int n) { lock (_sent) return _sent[n]; }

    /// <summary>Events collected so far.</summary>
    public IReadOnlyList<(DateTime At, int N, string Type, string AppId, string MessageId)> Events { get { lock (_events) return [.. _events]; } }

    /// <summary>
    /// The fate of every message sent, and the instance that published it (null when lost or mixed). A duplicate (a
    /// republish after a broker failure, same <c>message_id</c>) is the same event and counts once.
    /// </summary>
    public List<(int N, MessageFate Fate, string? By)> Fates()
    {
        var events = Events.DistinctBy(e => e.MessageId).ToLookup(e => e.N);
        var result = new List<(int, MessageFate, string?)>();
        for (var n = 0; n < SentCount; n++)
        {
            var es = events[n].ToList();
            if (es.Count == 0) { result.Add((n, MessageFate.Lost, null)); continue; }
            var ok = es.Count == 2 && es.Count(e => e.Type == "chat_msg_sent") == 1 && es.Count(e => e.Type == "chat_msg_recv") == 1 && es[0].AppId == es[1].AppId;
            result.Add((n, ok ? MessageFate.Ok : MessageFate.Mislabelled, ok ? es[0].AppId : null));
        }
        return result;
    }

    /// <summary>A summary for the test output: fates counted, and the mislabelled messages listed.</summary>
    public string Describe()
    {
        var f = Fates();
        var mis = f.Where(x => x.Fate == MessageFate.Mislabelled).Select(x => $"{x.N}: {string.Join(",", Events.Where(e => e.N == x.N).Select(e => e.Type + "@" + e.AppId))}");
        return $"{SentCount} sent; ok {string.Join(", ", f.Where(x => x.Fate == MessageFate.Ok).GroupBy(x => x.By).Select(g => $"{g.Key}={g.Count()}"))}; " +
               $"lost {f.Count(x => x.Fate == MessageFate.Lost)}; mislabelled {f.Count(x => x.Fate == MessageFate.Mislabelled)} [{string.Join("; ", mis.Take(10))}]";
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try { await _sender; } catch (OperationCanceledException) { }
        try { await _collector; } catch (OperationCanceledException) { }
        await _alice.LogoutAsync();
        await _bob.LogoutAsync();
        _stop.Dispose();
    }
}
