using System.Diagnostics;
using System.Text;

namespace XmppRabbitComponent.Benchmarks;

/// <summary>
/// Paced runs into a fresh component process with confirms on: the fake server writes the workload at a set event
/// rate (<see cref="FakeXmppServer.WritePaced"/>) and a consumer on the durable queue reads every event.
/// Latency: from the server's write of the copy to the consumer's read of its event, chat events only (matched by
/// turn number in the body and AMQP type). Soak: resident memory, GC heap and CPU of the component over time.
/// </summary>
public sealed class Paced(string host, int port, EndToEnd e2e)
{
    public readonly record struct Latency(int Count, double P50, double P99, double P999, double Max);

    private static readonly byte[] TurnMarker = Encoding.UTF8.GetBytes("this is message ");

    /// <summary>Runs <paramref name="seconds"/> at <paramref name="rate"/> events/s; latency in ms over the whole run and after the first 10 s.</summary>
    public async Task<(Latency All, Latency AfterTen, int Lost)> LatencyAsync(double rate, int seconds, int userBase)
    {
        var w = Workload.Generate((int)(rate * (seconds + 2)), userBase);
        var byKey = new Dictionary<(int, string), int>();
        for (var k = 0; k < w.Index.Count; k++)
            if (w.Index[k].EventType is { } type) byKey[(w.Index[k].Turn, type)] = k;
        var written = new long[w.Index.Count];
        var received = new long[w.Index.Count];
        var names = Rabbit.FreshNames();
        await using var sink = await Sink.CreateAsync(host, port, names.Values);
        await using var c = await e2e.StartComponentAsync(confirms: true, names);
        var consumed = 0;
        await sink.ConsumeAsync((at, props, body) =>
        {
            Interlocked.Increment(ref consumed);
            var type = props.Type;
            if (type is null || !type.StartsWith("chat_msg", StringComparison.Ordinal)) return;
            var span = body.Span;
            var i = span.IndexOf(TurnMarker);
            if (i < 0) return;
            var turn = 0;
            for (i += TurnMarker.Length; i < span.Length && span[i] is >= (byte)'0' and <= (byte)'9'; i++) turn = turn * 10 + span[i] - '0';
            if (byKey.TryGetValue((turn, type), out var k)) received[k] = at;
        });
        var writer = Task.Factory.StartNew(() => c.Server.WritePaced(w, rate, TimeSpan.FromSeconds(seconds), written, CancellationToken.None),
            TaskCreationOptions.LongRunning);
        var count = await writer;
        var start = written[0];
        var expected = w.Index.Take(count).Sum(s => s.Events);
        await WaitForConsumedAsync(() => Volatile.Read(ref consumed), expected);
        List<double> all = [], afterTen = [];
        var lost = 0;
        for (var k = 0; k < count; k++)
        {
            if (w.Index[k].EventType is null) continue;
            if (received[k] == 0) { lost++; continue; }
            var ms = Stopwatch.GetElapsedTime(written[k], received[k]).TotalMilliseconds;
            all.Add(ms);
            if (Stopwatch.GetElapsedTime(start, written[k]) > TimeSpan.FromSeconds(10)) afterTen.Add(ms);
        }
        return (Summarize(all), Summarize(afterTen), lost);
    }

    /// <summary>
    /// The same paced run for the bare client in its own fresh process (<c>--child-bare-paced</c>): one channel, confirms
    /// on, up to 256 in flight, the same payloads (every event of the workload, chat and presence) and properties at the same rate; each message carries the
    /// publish time (<see cref="Stopwatch"/> ticks, one clock for every process of the machine) in the header
    /// <c>bench-sent</c>. Latency from that publish call to the consumer's read: the floor of this harness, broker and
    /// client library included, for the component's figure to be read against.
    /// </summary>
    public async Task<(Latency All, Latency AfterTen, int Lost)> BareLatencyAsync(double rate, int seconds, int userBase)
    {
        var names = Rabbit.FreshNames();
        await using var sink = await Sink.CreateAsync(host, port, names.Values);
        var sent = new List<(long Sent, long Received)>();
        var consumed = 0;
        await sink.ConsumeAsync((at, props, _) =>
        {
            Interlocked.Increment(ref consumed);
            if (props.Headers is { } h && h.TryGetValue(EndToEnd.SentHeader, out var v) && v is long t)
                lock (sent) sent.Add((t, at));
        });
        var args = new List<string>
        {
            "--child-bare-paced", "--host", host, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--rate", rate.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--seconds", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--user-base", userBase.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--names", EndToEnd.ChildArgs.FormatNames(names),
        };
        await using var child = Child.Start(typeof(EndToEnd).Assembly.Location, args, new Dictionary<string, string>());
        await child.ExpectAsync("ready", TimeSpan.FromMinutes(2));
        await child.SendAsync("go");
        var line = await child.ExpectAsync("sent", TimeSpan.FromSeconds(seconds + 60));
        var published = int.Parse(line.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        await WaitForConsumedAsync(() => Volatile.Read(ref consumed), published);
        List<(long Sent, long Received)> got;
        lock (sent) got = [.. sent];
        if (got.Count == 0) return (Summarize([]), Summarize([]), published);
        var start = got.Min(x => x.Sent);
        var all = got.Select(x => Stopwatch.GetElapsedTime(x.Sent, x.Received).TotalMilliseconds).ToList();
        var afterTen = got.Where(x => Stopwatch.GetElapsedTime(start, x.Sent) > TimeSpan.FromSeconds(10))
            .Select(x => Stopwatch.GetElapsedTime(x.Sent, x.Received).TotalMilliseconds).ToList();
        return (Summarize(all), Summarize(afterTen), published - got.Count);
    }

    /// <summary>One sample of the soak curve.</summary>
    public readonly record struct Point(double Minutes, double RssMb, double HeapMb, long Events, double CpuSeconds);

    /// <summary>Runs <paramref name="minutes"/> at <paramref name="rate"/> events/s, sampling every <paramref name="sampleSeconds"/>.</summary>
    public async Task<List<Point>> SoakAsync(double rate, double minutes, int sampleSeconds, Action<Point> onPoint)
    {
        // Five self-contained chunks (their own users) written in turn; a chunk repeats after four others, well past
        // the copy-match window, so its events are classified like new ones.
        var chunks = Enumerable.Range(0, 5).Select(k => Workload.Generate(20_000, userBase: k * Workload.Users)).ToArray();
        var names = Rabbit.FreshNames();
        await using var sink = await Sink.CreateAsync(host, port, names.Values);
        await using var c = await e2e.StartComponentAsync(confirms: true, names);
        long consumed = 0;
        await sink.ConsumeAsync((_, _, _) => Interlocked.Increment(ref consumed));
        var points = new List<Point>();
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(minutes));
        var writer = Task.Factory.StartNew(() =>
        {
            for (var k = 0; !stop.IsCancellationRequested; k++)
            {
                var w = chunks[k % chunks.Length];
                c.Server.WritePaced(w, rate, TimeSpan.FromHours(1), new long[w.Index.Count], stop.Token);
            }
        }, TaskCreationOptions.LongRunning);
        var t0 = Stopwatch.GetTimestamp();
        var cpu0 = c.Process.CpuSeconds();
        while (true)
        {
            var p = new Point(Stopwatch.GetElapsedTime(t0).TotalMinutes, c.Process.RssBytes() / 1048576.0,
                await c.MetricAsync("dotnet_gc_last_collection_heap_size_bytes") / 1048576.0, Interlocked.Read(ref consumed), c.Process.CpuSeconds() - cpu0);
            points.Add(p);
            onPoint(p);
            if (stop.IsCancellationRequested) break;
            try { await Task.Delay(TimeSpan.FromSeconds(sampleSeconds), stop.Token); } catch (OperationCanceledException) { }
        }
        await writer;
        return points;
    }

    /// <summary>Waits until <paramref name="consumed"/> reaches <paramref name="expected"/>, or nothing more arrived for 10 s.</summary>
    private static async Task WaitForConsumedAsync(Func<int> consumed, int expected)
    {
        var idle = Stopwatch.StartNew();
        var last = -1;
        while (consumed() is var now && now < expected && idle.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (now != last) { last = now; idle.Restart(); }
            await Task.Delay(20);
        }
    }

    private static Latency Summarize(List<double> ms)
    {
        if (ms.Count == 0) return new Latency(0, double.NaN, double.NaN, double.NaN, double.NaN);
        ms.Sort();
        double P(double q) => ms[Math.Min(ms.Count - 1, (int)Math.Ceiling(q * ms.Count) - 1)];
        return new Latency(ms.Count, P(0.5), P(0.99), P(0.999), ms[^1]);
    }
}
