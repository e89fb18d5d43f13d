// Throughput benchmarks against a real RabbitMQ, each mode side by side with a bare RabbitMQ.Client loop that
// publishes the same payloads with the same routing keys, properties and confirm mode, a consumer counting
// deliveries. Mode families are entries of the Families table:
//   pipeline: the whole component (ComponentHost.Build, real host and services) fed by an in-process fake XMPP
//             server (XEP-0114 on loopback) writing ejabberd-shaped forwarded copies as fast as the socket takes
//             them; plus the XMPP side alone in memory (framer + parser + classifier, "parse+classify only").
//   engine:   the publishing engine (RabbitEventPublisher) alone, fed by EnqueueAsync.
//   e2e:      the issue's end-to-end shape: a fake XEP-0114 server writing into a freshly started, separate
//             component process (the built Release dll), against the bare client in its best shape (1 channel ×
//             256 in flight, 8 × 32) in its own fresh process; cold (first batch) and warm; until all events sit in
//             one durable queue. CPU of the measured process alone; allocation per event of the component.
//   stages:   the XMPP side in memory, one thread: allocation and thread CPU per event, stage by stage.
//   latency:  confirms on, paced at 2,000 and 8,000 events/s: server write → consumer read, p50/p99/p99.9/max;
//             the same for the bare client paced in its own process (publish call → consumer read).
//   soak:     confirms on, 2,000 events/s for N minutes: resident memory, GC heap and CPU of the component.
// Usage: dotnet run -c Release --project Component.Benchmarks -- [--mode e2e|stages|latency|soak|all|pipeline|engine]
//        [--port 5673] [--events N] [--reps N] [--warm-batches 2] [--confirms on|off|both] [--workers N|both]
//        [--latency-rates 2000,8000] [--latency-seconds 30] [--soak-minutes 10] [--soak-rate 2000] [--soak-sample 30]
//        [--stage-events 100000] [--component-dll PATH] [--component-env KEY=VALUE]... [--quick] [--threads]
// --mode all (the default) runs e2e, stages, latency and soak. --quick: a smoke run of everything (small batches,
// 1 repetition, 5 s latency runs, a 1-minute soak). --threads: CPU by thread name after each in-process pipeline run.
// (ejabberd-test/bench.sh does this, builds the component, and starts the private broker when it is not running.)
using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using XmppRabbitComponent.Benchmarks;
using XmppRabbitComponent.Configuration;
using XmppRabbitComponent.Events;
using XmppRabbitComponent.Observability;
using XmppRabbitComponent.Publishing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

if (args.Contains("--child-bare")) return await EndToEnd.ChildMainAsync(args);
if (args.Contains("--child-bare-paced")) return await EndToEnd.PacedChildMainAsync(args);

var quick = args.Contains("--quick");
var threads = args.Contains("--threads");
var port = Arg("--port", 5673);
var mode = ArgS("--mode", "all");
var inProcess = mode is "pipeline" or "engine";
var events = Arg("--events", quick ? 10_000 : inProcess ? 100_000 : 60_000);
var reps = Arg("--reps", quick ? 1 : inProcess ? 3 : 5);
var confirmsSet = ArgS("--confirms", "both") switch { "on" => new[] { true }, "off" => [false], _ => [false, true] };
var workersSet = ArgS("--workers", "both") switch { "both" => new[] { 1, 10 }, var n => [int.Parse(n)] };
var host = Environment.GetEnvironmentVariable("XRC_RABBIT_HOST") ?? "127.0.0.1";
var rabbit = new Rabbit(host, port);
Sample.FindBroker(port);

var componentDll = ArgS("--component-dll", Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../Component/bin/Release/net10.0/XmppRabbitComponent.dll")));
var componentEnv = new Dictionary<string, string>();
for (var i = 0; i + 1 < args.Length; i++)
    if (args[i] == "--component-env" && args[i + 1].Split('=', 2) is [var key, var value]) componentEnv[key] = value;
var e2e = new EndToEnd(host, port, componentDll, componentEnv);

// Each family: the mode under test (by confirms and workers), and the messages the bare loop publishes for it.
var families = new Dictionary<string, Func<Task>>
{
    ["e2e"] = EndToEndFamilyAsync,
    ["stages"] = StagesFamilyAsync,
    ["latency"] = LatencyFamilyAsync,
    ["soak"] = SoakFamilyAsync,
    ["pipeline"] = PipelineFamilyAsync,
    ["engine"] = EngineFamilyAsync,
};
string[] allModes = ["e2e", "stages", "latency", "soak"];
if (mode != "all" && !families.ContainsKey(mode)) { Console.Error.WriteLine($"unknown --mode {mode}; one of {string.Join(", ", families.Keys)}, all"); return 2; }

Console.WriteLine($"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}, broker {host}:{port} (pid {Sample.BrokerPid?.ToString() ?? "unknown"}), events={events}, reps={reps} (median; order alternates per repetition)");
var total = Stopwatch.StartNew();
foreach (var (name, run) in families)
    if (mode == name || (mode == "all" && allModes.Contains(name))) await run();
Console.WriteLine($"total {total.Elapsed.TotalSeconds:F0} s");
return 0;

async Task EndToEndFamilyAsync()
{
    if (!File.Exists(componentDll)) throw new FileNotFoundException($"the built component is missing: run dotnet build -c Release Component (or pass --component-dll)", componentDll);
    var warmBatches = Arg("--warm-batches", quick ? 1 : 2);
    // Batch k is for users k*1000..k*1000+999: every batch is self-contained and alike; batch 0 is the cold one.
    var batches = Enumerable.Range(0, 1 + warmBatches).Select(k => Workload.Generate(events, userBase: k * Workload.Users)).ToArray();
    var w0 = batches[0];
    Console.WriteLine();
    Console.WriteLine($"## e2e: separate processes, {w0.StanzaCount} stanzas ({w0.Stanzas.Length / 1024} KiB) → {w0.Events.Count} events per batch; cold = first batch of a fresh process, warm = batch {warmBatches} after it");
    Console.WriteLine($"component: dotnet {componentDll} (default settings{(componentEnv.Count > 0 ? ", " + string.Join(" ", componentEnv.Select(kv => kv.Key + "=" + kv.Value)) : "")}); bare: RabbitMQ.Client loop in its own process, shapes {string.Join(", ", EndToEnd.BareShapes.Select(s => $"{s.Channels}×{s.InFlight}"))}");
    Console.WriteLine($"mix: {w0.Mix}");
    // results[(confirms, who)] = one List<Batch> per repetition; who = "component" or the bare shape.
    var results = new Dictionary<(bool, string), List<List<Batch>>>();
    void Add(bool confirms, string who, List<Batch> r)
    {
        if (!results.TryGetValue((confirms, who), out var l)) results[(confirms, who)] = l = [];
        l.Add(r);
    }
    for (var rep = 0; rep < reps; rep++)
    foreach (var confirms in confirmsSet)
    {
        var runs = new List<(string Who, Func<Task<List<Batch>>> Run)> { ("component", () => e2e.ComponentAsync(batches, confirms)) };
        foreach (var (ch, fl) in EndToEnd.BareShapes) runs.Add(($"bare {ch}×{fl}", () => e2e.BareAsync(batches, confirms, ch, fl)));
        if (rep % 2 == 1) runs.Reverse();
        foreach (var (who, run) in runs)
        {
            var r = await run();
            Add(confirms, who, r);
            Console.WriteLine($"  rep {rep + 1} confirms {(confirms ? "on" : "off")} {who}: cold {r[0].Rate:F0} ev/s {r[0].CpuUs:F1} µs/ev, warm {r[^1].Rate:F0} ev/s {r[^1].CpuUs:F1} µs/ev{(double.IsNaN(r[^1].AllocBytes) ? "" : $", {r[0].AllocBytes:F0} / {r[^1].AllocBytes:F0} B/ev allocated cold / warm")}");
        }
    }
    Console.WriteLine();
    Console.WriteLine("| phase | confirms | component ev/s | best bare ev/s (shape) | component/bare | per-rep ratios | CPU µs/ev component | CPU µs/ev bare | bare 1×256 ev/s | bare 8×32 ev/s | allocated B/ev component |");
    Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
    foreach (var (phase, pick) in new (string, Func<List<Batch>, Batch>)[] { ("cold", b => b[0]), ("warm", b => b[^1]) })
    foreach (var confirms in confirmsSet)
    {
        List<Batch> Of(string who) => results[(confirms, who)].Select(pick).ToList();
        var comp = Of("component");
        var shapes = EndToEnd.BareShapes.Select(s => (Name: $"{s.Channels}×{s.InFlight}", Runs: Of($"bare {s.Channels}×{s.InFlight}"))).ToList();
        var best = shapes.MaxBy(s => Median(s.Runs.Select(b => b.Rate).ToList()));
        double M(List<Batch> xs, Func<Batch, double> f) => Median(xs.Select(f).ToList());
        var ratios = comp.Zip(best.Runs, (a, b) => (a.Rate / b.Rate).ToString("F2"));
        Console.WriteLine($"| {phase} | {(confirms ? "on" : "off")} | {M(comp, b => b.Rate):F0} | {M(best.Runs, b => b.Rate):F0} ({best.Name}) | {M(comp, b => b.Rate) / M(best.Runs, b => b.Rate):F2} | {string.Join(" ", ratios)} | {M(comp, b => b.CpuUs):F1} | {M(best.Runs, b => b.CpuUs):F1} | {string.Join(" | ", shapes.Select(s => M(s.Runs, b => b.Rate).ToString("F0")))} | {M(comp, b => b.AllocBytes):F0} |");
    }
    Console.WriteLine();
    foreach (var ((confirms, who), l) in results)
        Console.WriteLine($"raw confirms {(confirms ? "on" : "off")} {who}: cold [{string.Join(", ", l.Select(b => b[0].Rate.ToString("F0")))}] warm [{string.Join(", ", l.Select(b => b[^1].Rate.ToString("F0")))}]");
}

async Task StagesFamilyAsync()
{
    var w = Workload.Generate(Arg("--stage-events", quick ? 20_000 : 100_000));
    Console.WriteLine();
    Console.WriteLine($"## stages: in memory, one thread, {w.StanzaCount} stanzas → {w.Events.Count} events (same mix); median of {Math.Max(3, reps)} after 2 warm-up passes");
    Console.WriteLine("CPU is this thread's CPU time (CLOCK_THREAD_CPUTIME_ID): it holds on a busy machine; wall-clock ev/s does not.");
    Console.WriteLine();
    Console.WriteLine("| up to stage | allocated B/ev (cumulative) | this stage B/ev | CPU µs/ev (cumulative) | ev/s per CPU second | ev/s wall |");
    Console.WriteLine("|---|---|---|---|---|---|");
    var before = 0.0;
    foreach (var r in Stages.Measure(w, Math.Max(3, reps)))
    {
        Console.WriteLine($"| {r.Stage} | {r.BytesPerEvent:F0} | {r.BytesPerEvent - before:F0} | {r.CpuUsPerEvent:F2} | {r.EventsPerCpuSecond:F0} | {r.EventsPerWallSecond:F0} |");
        before = r.BytesPerEvent;
    }
    await Task.CompletedTask;
}

async Task LatencyFamilyAsync()
{
    var paced = new Paced(host, port, e2e);
    var seconds = Arg("--latency-seconds", quick ? 5 : 30);
    var rates = ArgS("--latency-rates", "2000,8000").Split(',').Select(double.Parse).ToArray();
    Console.WriteLine();
    Console.WriteLine($"## latency: confirms on, fresh process per rate, {seconds} s paced, ms; component: server write → consumer read (chat events); bare: publish call → consumer read (the same chat payloads, 1 channel, ≤ 256 unconfirmed)");
    Console.WriteLine();
    Console.WriteLine("| events/s | publisher | window | events | p50 | p99 | p99.9 | max |");
    Console.WriteLine("|---|---|---|---|---|---|---|---|");
    var k = 0;
    foreach (var rate in rates)
    {
        var userBase = (k++ + 10) * Workload.Users;
        foreach (var who in new[] { "component", "bare" })
        {
            var (all, afterTen, lost) = who == "component" ? await paced.LatencyAsync(rate, seconds, userBase) : await paced.BareLatencyAsync(rate, seconds, userBase);
            Console.WriteLine($"| {rate:F0} | {who} | whole run | {all.Count} | {all.P50:F2} | {all.P99:F2} | {all.P999:F2} | {all.Max:F1} |");
            Console.WriteLine($"| {rate:F0} | {who} | after the first 10 s | {afterTen.Count} | {afterTen.P50:F2} | {afterTen.P99:F2} | {afterTen.P999:F2} | {afterTen.Max:F1} |");
            if (lost > 0) Console.WriteLine($"  {who}: {lost} chat events not received within 10 s of the last write");
        }
    }
}

async Task SoakFamilyAsync()
{
    var paced = new Paced(host, port, e2e);
    var minutes = double.Parse(ArgS("--soak-minutes", quick ? "1" : "10"), System.Globalization.CultureInfo.InvariantCulture);
    var rate = Arg("--soak-rate", 2000);
    var sample = Arg("--soak-sample", quick ? 10 : 30);
    Console.WriteLine();
    Console.WriteLine($"## soak: confirms on, {rate} events/s for {minutes} min, fresh component process, a sample every {sample} s");
    Console.WriteLine();
    Console.WriteLine("| minute | RSS MB | GC heap MB (last collection) | events consumed | component CPU s |");
    Console.WriteLine("|---|---|---|---|---|");
    var points = await paced.SoakAsync(rate, minutes, sample, p => Console.WriteLine($"| {p.Minutes:F1} | {p.RssMb:F1} | {p.HeapMb:F1} | {p.Events} | {p.CpuSeconds:F1} |"));
    var second = points.Where(p => p.Minutes >= minutes / 2).ToList();
    if (second.Count >= 2)
    {
        var slope = (second[^1].RssMb - second[0].RssMb) / (second[^1].Minutes - second[0].Minutes);
        Console.WriteLine($"RSS slope over the second half: {slope:+0.00;-0.00} MB/min; consumed {points[^1].Events / (points[^1].Minutes * 60):F0} events/s on average");
    }
}

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
