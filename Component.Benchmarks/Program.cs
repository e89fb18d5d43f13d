// Throughput benchmarks against a real RabbitMQ, each mode side by side with a bare RabbitMQ.Client loop that
// publishes the same payloads with the same routing keys, properties and confirm mode, a consumer counting
// deliveries. Mode families are entries of the Families table:
//   pipeline: the whole component (ComponentHost.Build, real host and services) fed by an in-process fake XMPP
//             server (XEP-0114 on loopback) writing ejabberd-shaped forwarded copies as fast as the socket takes
//             them; plus the XMPP side alone in memory (framer + parser + classifier, "parse+classify only").
//   engine:   the publishing engine (RabbitEventPublisher) alone, fed by EnqueueAsync.
// Usage: dotnet run -c Release --project Component.Benchmarks -- [--mode pipeline|engine|all] [--port 5673]
//        [--events 100000] [--reps 3] [--quick] [--confirms on|off|both] [--workers N|both] [--threads]
// --quick: 10,000 events, 1 repetition (a smoke run). --threads: CPU by thread name after each pipeline run.
// (ejabberd-test/bench.sh does this and starts the private broker when it is not running.)
using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using XmppRabbitComponent.Benchmarks;
using XmppRabbitComponent.Configuration;
using XmppRabbitComponent.Events;
using XmppRabbitComponent.Observability;
using XmppRabbitComponent.Publishing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

var quick = args.Contains("--quick");
var threads = args.Contains("--threads");
var port = Arg("--port", 5673);
var events = Arg("--events", quick ? 10_000 : 100_000);
var reps = Arg("--reps", quick ? 1 : 3);
var mode = ArgS("--mode", "pipeline");
var confirmsSet = ArgS("--confirms", "both") switch { "on" => new[] { true }, "off" => [false], _ => [false, true] };
var workersSet = ArgS("--workers", "both") switch { "both" => new[] { 1, 10 }, var n => [int.Parse(n)] };
var host = Environment.GetEnvironmentVariable("XRC_RABBIT_HOST") ?? "127.0.0.1";
var rabbit = new Rabbit(host, port);
Sample.FindBroker(port);

// Each family: the mode under test (by confirms and workers), and the messages the bare loop publishes for it.
var families = new Dictionary<string, Func<Task>>
{
    ["pipeline"] = PipelineFamilyAsync,
    ["engine"] = EngineFamilyAsync,
};
if (mode != "all" && !families.ContainsKey(mode)) { Console.Error.WriteLine($"unknown --mode {mode}; one of {string.Join(", ", families.Keys)}, all"); return 2; }

Console.WriteLine($"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}, broker {host}:{port} (pid {Sample.BrokerPid?.ToString() ?? "unknown"}), events={events}, reps={reps} (median; order alternates per repetition)");
var total = Stopwatch.StartNew();
foreach (var (name, run) in families)
    if (mode == "all" || mode == name) await run();
Console.WriteLine($"total {total.Elapsed.TotalSeconds:F0} s");
return 0;

async Task PipelineFamilyAsync()
{
    var w = Workload.Generate(events);
    var messages = w.Events.Select(Message.Of).ToArray();
    Console.WriteLine();
    Console.WriteLine($"## pipeline: {w.StanzaCount} stanzas ({w.Stanzas.Length / 1024} KiB) → {w.Events.Count} events");
    Console.WriteLine($"mix: {w.Mix}");
    Console.WriteLine();
    Console.WriteLine("| confirms | workers | pipeline ev/s | bare ev/s | pipeline/bare | paired ratios (per rep) | CPU µs/ev pipeline: process + broker | CPU µs/ev bare: process + broker |");
    Console.WriteLine("|---|---|---|---|---|---|---|---|");
    // Warm-up (JIT, connection paths), not counted: once per configuration, in that configuration, so that the
    // code paths of each confirm mode are compiled at full optimisation (tiered JIT) before they are measured.
    var warm = Workload.Generate(Math.Min(20_000, events));
    var warmMessages = warm.Events.Select(Message.Of).ToArray();
    var raw = new List<string>();
    foreach (var confirms in confirmsSet)
    foreach (var workers in workersSet)
    {
        await PipelineAsync(warm, confirms, workers);
        await rabbit.BareAsync(warmMessages, confirms, workers);
        var (p, b, ratios) = await SideBySideAsync(
            () => PipelineAsync(w, confirms, workers),
            () => rabbit.BareAsync(messages, confirms, workers));
        Console.WriteLine($"| {(confirms ? "on" : "off")} | {workers} | {Rate(p):F0} | {Rate(b):F0} | {Rate(p) / Rate(b):F2} | {string.Join(" ", ratios.Select(r => r.ToString("F2")))} | {CpuUs(p):F0} + {Cpu2(p):F0} | {CpuUs(b):F0} + {Cpu2(b):F0} |");
        raw.Add($"confirms {(confirms ? "on" : "off")}, workers {workers}: pipeline [{string.Join(", ", p.Select(x => x.Rate.ToString("F0")))}], bare [{string.Join(", ", b.Select(x => x.Rate.ToString("F0")))}]");
    }
    var pc = new List<double>();
    for (var i = 0; i < Math.Max(3, reps); i++) pc.Add(w.ParseClassifyRate());
    Console.WriteLine();
    Console.WriteLine($"parse+classify only (in memory: framer + parser + classifier, one thread, no socket, no publishing): {Median(pc):F0} ev/s, {Median(pc) * w.StanzaCount / w.Events.Count:F0} stanzas/s (median of {pc.Count})");
    var off = new List<Run>();
    for (var i = 0; i < Math.Max(3, reps); i++) off.Add(await PipelineAsync(w, false, 10, publish: false));
    Console.WriteLine($"component host, publishing off (fake server → socket → framer/parser/classifier → events dropped as disabled; end = reply to a ping after the last stanza): {Rate(off):F0} ev/s, CPU {CpuUs(off):F1} µs/ev in this process (median of {off.Count})");
    Console.WriteLine();
    foreach (var line in raw) Console.WriteLine(line);
}

async Task EngineFamilyAsync()
{
    var all = Enumerable.Range(0, events).Select(i => (XmppEvent)EngineEvent(i)).ToArray();
    var messages = all.Select(Message.Of).ToArray();
    Console.WriteLine();
    Console.WriteLine($"## engine: {events} chat_msg_sent events, 100 users");
    Console.WriteLine();
    await EngineAsync(all[..Math.Min(5_000, all.Length)], true, 10);
    await rabbit.BareAsync(messages[..Math.Min(5_000, messages.Length)], true, 10);
    Console.WriteLine("| confirms | workers | engine ev/s | bare ev/s | engine/bare | paired ratios (per rep) | CPU µs/ev engine: process + broker | CPU µs/ev bare: process + broker |");
    Console.WriteLine("|---|---|---|---|---|---|---|---|");
    foreach (var confirms in confirmsSet)
    foreach (var workers in workersSet)
    {
        var (e, b, ratios) = await SideBySideAsync(() => EngineAsync(all, confirms, workers), () => rabbit.BareAsync(messages, confirms, workers));
        Console.WriteLine($"| {(confirms ? "on" : "off")} | {workers} | {Rate(e):F0} | {Rate(b):F0} | {Rate(e) / Rate(b):F2} | {string.Join(" ", ratios.Select(r => r.ToString("F2")))} | {CpuUs(e):F0} + {Cpu2(e):F0} | {CpuUs(b):F0} + {Cpu2(b):F0} |");
    }
}

// Runs the mode and the bare loop reps times each, alternating which goes first.
async Task<(List<Run> Mode, List<Run> Bare, List<double> Ratios)> SideBySideAsync(Func<Task<Run>> modeRun, Func<Task<Run>> bareRun)
{
    List<Run> m = [], b = [];
    List<double> ratios = [];
    for (var i = 0; i < reps; i++)
    {
        Run x, y;
        if (i % 2 == 0) { x = await modeRun(); y = await bareRun(); }
        else { y = await bareRun(); x = await modeRun(); }
        m.Add(x); b.Add(y); ratios.Add(x.Rate / y.Rate);
    }
    return (m, b, ratios);
}

async Task<Run> PipelineAsync(Workload w, bool confirms, int workers, bool publish = true)
{
    var names = Rabbit.FreshNames();
    await using var counter = await rabbit.CounterAsync(names.Values);
    await using var server = new FakeXmppServer(w.Stanzas, Workload.Secret);
    var settings = new Dictionary<string, string?>
    {
        ["Urls"] = "http://127.0.0.1:0",
        ["Logging:LogLevel:Default"] = "Warning",
        ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Warning",
        ["Xmpp:Host"] = "127.0.0.1",
        ["Xmpp:Port"] = server.Port.ToString(),
        ["Xmpp:ComponentDomain"] = Workload.ComponentDomain,
        ["Xmpp:Secret"] = Workload.Secret,
        ["Rabbit:Host"] = host,
        ["Rabbit:Port"] = port.ToString(),
        ["Rabbit:Workers"] = workers.ToString(),
        ["Rabbit:ConfirmsEnabled"] = confirms.ToString(),
        ["EventPusher:Rabbit:PresenceExchange:Enabled"] = publish.ToString(),
        ["EventPusher:Rabbit:ChatMsgExchange:Enabled"] = publish.ToString(),
        ["EventPusher:Rabbit:GroupchatMsgExchange:Enabled"] = publish.ToString(),
        ["EventPusher:Rabbit:PresenceExchange:Name"] = names["presence"],
        ["EventPusher:Rabbit:ChatMsgExchange:Name"] = names["chat_msg"],
        ["EventPusher:Rabbit:GroupchatMsgExchange:Name"] = names["groupchat_msg"],
    };
    var app = XmppRabbitComponent.Hosting.ComponentHost.Build([], c => c.AddInMemoryCollection(settings));
    try
    {
        await app.StartAsync();
        await server.Authenticated.WaitAsync(TimeSpan.FromSeconds(20));
        var publisher = app.Services.GetRequiredService<IEventPublisher>();
        for (var i = 0; i < 200 && !publisher.IsConnected; i++) await Task.Delay(50);
        if (!publisher.IsConnected) throw new InvalidOperationException("the component did not connect to RabbitMQ within 10 s");

        var threads0 = threads ? ThreadCpu() : null;
        var cpu0 = Sample.Take();
        server.Go();
        var t0 = await server.FirstByte;
        var expected = w.Events.Count;
        if (!publish)
        {
            var end = await server.EndReply.WaitAsync(TimeSpan.FromMinutes(2));
            return Run.Measure(cpu0 with { Timestamp = t0 }, expected, end);
        }
        var deadline = Stopwatch.StartNew();
        while (counter.Count < expected)
        {
            if (deadline.Elapsed > TimeSpan.FromMinutes(2))
                throw new TimeoutException($"pipeline: {counter.Count} of {expected} events after 2 min");
            await Task.Delay(2);
        }
        var run = Run.Measure(cpu0 with { Timestamp = t0 }, expected);
        if (threads0 is not null)
        {
            var t1 = ThreadCpu();
            var by = t1.Select(kv => (kv.Key, Ms: kv.Value - threads0.GetValueOrDefault(kv.Key))).Where(x => x.Ms > 0).OrderByDescending(x => x.Ms);
            Console.WriteLine($"  threads (confirms {confirms}, workers {workers}, publish {publish}): " + string.Join(", ", by.Select(x => $"{x.Key} {x.Ms} ms")));
        }
        await Task.Delay(200);
        if (counter.Count != expected) throw new InvalidOperationException($"pipeline: {counter.Count} events delivered, {expected} expected");
        return run;
    }
    finally
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await app.StopAsync(cts.Token);
        await app.DisposeAsync();
    }
}

async Task<Run> EngineAsync(XmppEvent[] all, bool confirms, int workers)
{
    var names = Rabbit.FreshNames();
    await using var counter = await rabbit.CounterAsync([names["chat_msg"]]);
    var p = new EventPusherOptions();
    p.Rabbit.ChatMsgExchange.Name = names["chat_msg"];
    p.Rabbit.PresenceExchange.Enabled = p.Rabbit.GroupchatMsgExchange.Enabled = false;
    var o = new RabbitOptions { Host = host, Port = port, Workers = workers, ConfirmsEnabled = confirms };
    await using var pub = new RabbitEventPublisher(Microsoft.Extensions.Options.Options.Create(o), Microsoft.Extensions.Options.Options.Create(p),
        new ComponentMetrics(null, "localhost"), NullLogger<RabbitEventPublisher>.Instance, TimeProvider.System);
    await pub.StartAsync(default);
    var start = Sample.Take();
    foreach (var e in all) await pub.EnqueueAsync(e, default);
    while (counter.Count < all.Length || pub.Pending > 0) await Task.Delay(2);
    return Run.Measure(start, all.Length);
}

MessageEvent EngineEvent(int i) => new(EventKind.ChatMsgSent, "bob@localhost/res1", $"Hello, Bob {i:D6} with a body of moderate length", $"user{i % 100}@localhost/res1", $"user{i % 100}@localhost");

// CPU ms by thread name so far (Linux /proc/self/task), for --threads.
static Dictionary<string, long> ThreadCpu()
{
    var d = new Dictionary<string, long>();
    foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
    {
        try
        {
            var stat = File.ReadAllText(Path.Combine(task, "stat"));
            var name = stat[(stat.IndexOf('(') + 1)..stat.LastIndexOf(')')];
            var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            d[name] = d.GetValueOrDefault(name) + (long.Parse(f[11]) + long.Parse(f[12])) * 10;
        }
        catch (IOException) { }
    }
    return d;
}
static double Rate(List<Run> rs) => Median(rs.Select(r => r.Rate).ToList());
static double CpuUs(List<Run> rs) => Median(rs.Select(r => r.CpuUsPerEvent).ToList());
static double Cpu2(List<Run> rs) => Median(rs.Select(r => r.BrokerUsPerEvent).ToList());
static double Median(List<double> xs) { var s = xs.Order().ToList(); return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2; }
int Arg(string name, int fallback) { var i = Array.IndexOf(args, name); return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1]) : fallback; }
string ArgS(string name, string fallback) { var i = Array.IndexOf(args, name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback; }

/// <summary>One timed run: events/s, and CPU time of this whole process (component or bare loop, consumer, fake server) per event.</summary>


/// <summary>
/// One timed run: events/s; CPU time per event of this whole process (component or bare loop, plus the consumer
/// and the fake server, alike in both) and of the broker process (NaN when its PID is unknown).
/// </summary>
public readonly record struct Run(double Rate, double CpuUsPerEvent, double BrokerUsPerEvent)
{
    public static Run Measure(Sample start, int events, long? end = null)
    {
        var now = Sample.Take();
        var seconds = Stopwatch.GetElapsedTime(start.Timestamp, end ?? now.Timestamp).TotalSeconds;
        return new Run(events / seconds, (now.Process - start.Process).TotalMicroseconds / events, (now.BrokerSeconds - start.BrokerSeconds) * 1e6 / events);
    }
}

/// <summary>A point in time with the CPU consumed so far by this process and by the broker (seconds; NaN when unknown).</summary>
public readonly record struct Sample(long Timestamp, TimeSpan Process, double BrokerSeconds)
{
    public static int? BrokerPid { get; private set; }

    public static Sample Take() => new(Stopwatch.GetTimestamp(), System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime, BrokerCpu());

    /// <summary>The broker's user+system CPU from /proc/PID/stat (Linux; clock ticks of 10 ms).</summary>
    private static double BrokerCpu()
    {
        if (BrokerPid is not { } pid) return double.NaN;
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (long.Parse(f[11]) + long.Parse(f[12])) / 100.0;
        }
        catch (IOException) { return double.NaN; }
    }

    /// <summary>Finds the PID listening on the AMQP port with <c>ss -ltnp</c> (XRC_BROKER_PID overrides); none on failure.</summary>
    public static void FindBroker(int port)
    {
        if (int.TryParse(Environment.GetEnvironmentVariable("XRC_BROKER_PID"), out var p)) { BrokerPid = p; return; }
        try
        {
            using var ss = System.Diagnostics.Process.Start(new ProcessStartInfo("ss", ["-Hltnp", $"sport = :{port}"]) { RedirectStandardOutput = true })!;
            var text = ss.StandardOutput.ReadToEnd();
            ss.WaitForExit();
            var m = System.Text.RegularExpressions.Regex.Match(text, @"pid=(\d+)");
            if (m.Success) BrokerPid = int.Parse(m.Groups[1].Value);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException) { }
    }
}
