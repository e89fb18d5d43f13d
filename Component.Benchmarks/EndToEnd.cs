using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using RabbitMQ.Client;

namespace XmppRabbitComponent.Benchmarks;

/// <summary>Measured batch: events/s, CPU µs per event of the measured process alone, bytes allocated per event (NaN when unknown).</summary>
public readonly record struct Batch(double Rate, double CpuUs, double AllocBytes);

/// <summary>
/// The end-to-end family: a fake XEP-0114 server (this process) writes the workload into a freshly started,
/// separate component process (the built Release dll, default settings but the addresses); against it, the bare
/// RabbitMQ.Client loop runs in its own freshly started process. Both are timed from the first byte (the first
/// publish) until every event sits in one durable queue bound with <c>#</c>. Each process gets a cold batch (its
/// first events, compilation included) and then warm batches (fresh users each, so the batches are alike).
/// </summary>
public sealed class EndToEnd(string host, int port, string componentDll, IReadOnlyDictionary<string, string> componentEnv)
{
    public static readonly (int Channels, int InFlight)[] BareShapes = [(1, 256), (8, 32)];

    /// <summary>Environment of a component process: the built dll with default settings but where the servers are.</summary>
    public IReadOnlyDictionary<string, string> ComponentEnv(int xmppPort, int httpPort, bool confirms, IReadOnlyDictionary<string, string> names,
        IReadOnlyDictionary<string, string>? extra = null)
    {
        var env = new Dictionary<string, string>
        {
            ["DOTNET_ENVIRONMENT"] = "Production",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{httpPort}",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Xmpp__Host"] = "127.0.0.1",
            ["Xmpp__Port"] = xmppPort.ToString(CultureInfo.InvariantCulture),
            ["Xmpp__ComponentDomain"] = Workload.ComponentDomain,
            ["Xmpp__Secret"] = Workload.Secret,
            ["Rabbit__Host"] = host,
            ["Rabbit__Port"] = port.ToString(CultureInfo.InvariantCulture),
            ["Rabbit__ConfirmsEnabled"] = confirms ? "true" : "false",
            ["EventPusher__Rabbit__PresenceExchange__Name"] = names["presence"],
            ["EventPusher__Rabbit__ChatMsgExchange__Name"] = names["chat_msg"],
            ["EventPusher__Rabbit__GroupchatMsgExchange__Name"] = names["groupchat_msg"],
        };
        foreach (var (k, v) in componentEnv) env[k] = v;
        foreach (var (k, v) in extra ?? new Dictionary<string, string>()) env[k] = v;
        return env;
    }

    /// <summary>A started component process connected to a fake server and ready (health/ready answers 200).</summary>
    public sealed class RunningComponent(Child process, FakeXmppServer server, int httpPort) : IAsyncDisposable
    {
        private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };
        public Child Process => process;
        public FakeXmppServer Server => server;

        /// <summary>A metric of the component's /metrics (Prometheus text) by name, summed over its label sets (NaN when absent).</summary>
        public async Task<double> MetricAsync(string name)
        {
            var text = await Http.GetStringAsync($"http://127.0.0.1:{httpPort}/metrics");
            var sum = double.NaN;
            foreach (var line in text.Split('\n'))
            {
                if (!line.StartsWith(name, StringComparison.Ordinal)) continue;
                var rest = line[name.Length..];
                if (rest.Length == 0 || (rest[0] != ' ' && rest[0] != '{')) continue;
                if (rest[0] == '{') rest = rest[(rest.LastIndexOf('}') + 1)..];
                var value = double.Parse(rest.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0], CultureInfo.InvariantCulture);
                sum = double.IsNaN(sum) ? value : sum + value;
            }
            return sum;
        }

        public async ValueTask DisposeAsync()
        {
            await process.DisposeAsync();
            await server.DisposeAsync();
        }
    }

    public async Task<RunningComponent> StartComponentAsync(bool confirms, IReadOnlyDictionary<string, string> names, IReadOnlyDictionary<string, string>? extra = null)
    {
        var server = new FakeXmppServer(Workload.Secret);
        var httpPort = FreePort();
        var process = Child.Start(componentDll, [], ComponentEnv(server.Port, httpPort, confirms, names, extra));
        var running = new RunningComponent(process, server, httpPort);
        try
        {
            await server.Authenticated.WaitAsync(TimeSpan.FromSeconds(60));
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            var deadline = Stopwatch.StartNew();
            while (true)
            {
                try
                {
                    if ((await http.GetAsync($"http://127.0.0.1:{httpPort}/health/ready")).IsSuccessStatusCode) break;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
                if (deadline.Elapsed > TimeSpan.FromSeconds(30)) throw new TimeoutException($"component not ready within 30 s; stderr: {process.Stderr}");
                await Task.Delay(50);
            }
            return running;
        }
        catch
        {
            await running.DisposeAsync();
            throw;
        }
    }

    /// <summary>One component process: cold batch, then the warm ones. Allocation per event from the runtime's meter on /metrics.</summary>
    public async Task<List<Batch>> ComponentAsync(IReadOnlyList<Workload> batches, bool confirms)
    {
        var names = Rabbit.FreshNames();
        await using var sink = await Sink.CreateAsync(host, port, names.Values);
        await using var c = await StartComponentAsync(confirms, names);
        var result = new List<Batch>();
        foreach (var w in batches)
        {
            await Task.Delay(1100); // the Prometheus exporter may serve a cached scrape for up to a second
            var alloc0 = await c.MetricAsync("dotnet_gc_heap_total_allocated_bytes_total");
            var cpu0 = c.Process.CpuSeconds();
            var t0 = await c.Server.WriteAsync(w.Stanzas);
            var t1 = await sink.WaitForDepthAsync(w.Events.Count, TimeSpan.FromMinutes(3), () => c.Process.Stderr);
            var cpu1 = c.Process.CpuSeconds();
            await sink.CheckAndPurgeAsync(w.Events.Count, "component");
            await Task.Delay(1100);
            var alloc1 = await c.MetricAsync("dotnet_gc_heap_total_allocated_bytes_total");
            var n = w.Events.Count;
            result.Add(new Batch(n / Stopwatch.GetElapsedTime(t0, t1).TotalSeconds, (cpu1 - cpu0) * 1e6 / n, (alloc1 - alloc0) / n));
        }
        return result;
    }

    /// <summary>One bare-loop process in one shape: cold batch, then the warm ones, the same messages as the component's events.</summary>
    public async Task<List<Batch>> BareAsync(IReadOnlyList<Workload> batches, bool confirms, int channels, int inFlight)
    {
        var names = Rabbit.FreshNames();
        await using var sink = await Sink.CreateAsync(host, port, names.Values);
        var args = new List<string>
        {
            "--child-bare", "--host", host, "--port", port.ToString(CultureInfo.InvariantCulture),
            "--confirms", confirms ? "on" : "off", "--channels", channels.ToString(CultureInfo.InvariantCulture),
            "--inflight", inFlight.ToString(CultureInfo.InvariantCulture),
            "--batch-events", string.Join(",", batches.Select(b => b.Events.Count.ToString(CultureInfo.InvariantCulture))),
            "--batch-target", batches[0].Target.ToString(CultureInfo.InvariantCulture),
            "--names", ChildArgs.FormatNames(names),
        };
        await using var child = Child.Start(typeof(EndToEnd).Assembly.Location, args, new Dictionary<string, string>());
        await child.ExpectAsync("ready", TimeSpan.FromMinutes(2));
        var result = new List<Batch>();
        foreach (var w in batches)
        {
            var cpu0 = child.CpuSeconds();
            var t0 = Stopwatch.GetTimestamp();
            await child.SendAsync("go");
            var t1 = await sink.WaitForDepthAsync(w.Events.Count, TimeSpan.FromMinutes(3), () => child.Stderr);
            await child.ExpectAsync("sent", TimeSpan.FromSeconds(30));
            var cpu1 = child.CpuSeconds();
            await sink.CheckAndPurgeAsync(w.Events.Count, "bare");
            var n = w.Events.Count;
            result.Add(new Batch(n / Stopwatch.GetElapsedTime(t0, t1).TotalSeconds, (cpu1 - cpu0) * 1e6 / n, double.NaN));
        }
        return result;
    }

    /// <summary>
    /// The bare loop's process (<c>--child-bare</c>): connects, opens its channels, builds every batch's messages
    /// (the same workload the parent generated, so the same payloads), prints <c>ready</c>; then per <c>go</c> line
    /// on stdin publishes one batch and prints <c>sent</c>.
    /// </summary>
    public static async Task<int> ChildMainAsync(string[] args)
    {
        string Get(string name) => ChildArgs.Get(args, name);
        var confirms = Get("--confirms") == "on";
        var names = ChildArgs.ParseNames(Get("--names"));
        var counts = Get("--batch-events").Split(',').Select(int.Parse).ToArray();
        var target = int.Parse(Get("--batch-target"), CultureInfo.InvariantCulture);
        var batches = new List<Message[]>();
        for (var k = 0; k < counts.Length; k++)
        {
            var w = Workload.Generate(target, userBase: k * Workload.Users);
            if (w.Events.Count != counts[k]) throw new InvalidOperationException($"batch {k}: {w.Events.Count} events, the parent has {counts[k]}");
            batches.Add(w.Events.Select(Message.Of).ToArray());
        }
        await using var conn = await ChildArgs.ConnectAsync(args, "bench-bare");
        var channels = await BareLoop.OpenAsync(conn, confirms, int.Parse(Get("--channels"), CultureInfo.InvariantCulture));
        var inFlight = int.Parse(Get("--inflight"), CultureInfo.InvariantCulture);
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        Console.WriteLine("ready");
        foreach (var messages in batches)
        {
            if (Console.ReadLine() != "go") return 1;
            await BareLoop.PublishAsync(channels, messages, names, inFlight);
            Console.WriteLine("sent");
        }
        // Stay until the parent has read this process's CPU time and closes stdin (or stops it).
        Console.ReadLine();
        foreach (var ch in channels) await ch.DisposeAsync();
        return 0;
    }

    /// <summary>Header of the bare paced child's messages: the publish time in <see cref="Stopwatch"/> ticks.</summary>
    public const string SentHeader = "bench-sent";

    /// <summary>
    /// The bare paced child (<c>--child-bare-paced</c>): one channel with confirms on, every event of a workload
    /// for <c>--rate</c> events/s over <c>--seconds</c>, published at that rate (due events every millisecond, as the
    /// fake server paces its writes), at most 256 unconfirmed; prints <c>ready</c>, waits for <c>go</c>, prints
    /// <c>sent N</c>.
    /// </summary>
    public static async Task<int> PacedChildMainAsync(string[] args)
    {
        string Get(string name) => ChildArgs.Get(args, name);
        var rate = double.Parse(Get("--rate"), CultureInfo.InvariantCulture);
        var seconds = int.Parse(Get("--seconds"), CultureInfo.InvariantCulture);
        var names = ChildArgs.ParseNames(Get("--names"));
        var w = Workload.Generate((int)(rate * (seconds + 2)), int.Parse(Get("--user-base"), CultureInfo.InvariantCulture));
        var messages = w.Events.Select(Message.Of).ToArray();
        await using var conn = await ChildArgs.ConnectAsync(args, "bench-bare-paced");
        var ch = (await BareLoop.OpenAsync(conn, confirms: true, 1))[0];
        Console.WriteLine("ready");
        if (Console.ReadLine() != "go") return 1;
        var pending = new Queue<Task>();
        var start = Stopwatch.GetTimestamp();
        var end = start + (long)(seconds * Stopwatch.Frequency);
        var next = 0;
        while (next < messages.Length)
        {
            var now = Stopwatch.GetTimestamp();
            if (now >= end) break;
            var due = (long)((now - start) * rate / Stopwatch.Frequency);
            if (next >= due) { Thread.Sleep(1); continue; }
            while (next < messages.Length && next < due)
            {
                var m = messages[next++];
                var props = BareLoop.Properties(m);
                props.Headers = new Dictionary<string, object?> { [SentHeader] = Stopwatch.GetTimestamp() };
                var t = ch.BasicPublishAsync(names[m.Exchange], m.RoutingKey, false, props, m.Body);
                if (t.IsCompletedSuccessfully) continue;
                pending.Enqueue(t.AsTask());
                while (pending.Count > 0 && pending.Peek().IsCompleted) await pending.Dequeue();
                if (pending.Count >= 256) await pending.Dequeue();
            }
        }
        while (pending.Count > 0) await pending.Dequeue();
        Console.WriteLine($"sent {next}");
        await ch.DisposeAsync();
        return 0;
    }

    /// <summary>The command line shared by the bare child processes: <c>--host</c>, <c>--port</c>, <c>--names</c>.</summary>
    public static class ChildArgs
    {
        /// <summary>The value after <paramref name="name"/>.</summary>
        public static string Get(string[] args, string name) => args[Array.IndexOf(args, name) + 1];

        /// <summary>The run's exchange names as one <c>--names</c> value: presence, chat_msg, groupchat_msg.</summary>
        public static string FormatNames(IReadOnlyDictionary<string, string> names) => $"{names["presence"]},{names["chat_msg"]},{names["groupchat_msg"]}";

        /// <summary>The inverse of <see cref="FormatNames"/>.</summary>
        public static Dictionary<string, string> ParseNames(string value)
        {
            var n = value.Split(',');
            return new Dictionary<string, string> { ["presence"] = n[0], ["chat_msg"] = n[1], ["groupchat_msg"] = n[2] };
        }

        /// <summary>A connection to the broker at <c>--host</c>:<c>--port</c>, named <paramref name="clientName"/>.</summary>
        public static Task<IConnection> ConnectAsync(string[] args, string clientName) =>
            new ConnectionFactory { HostName = Get(args, "--host"), Port = int.Parse(Get(args, "--port"), CultureInfo.InvariantCulture), ClientProvidedName = clientName }.CreateConnectionAsync();
    }

    public static int FreePort()
    {
        using var l = new TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        return ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
    }
}
