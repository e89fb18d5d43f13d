using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using XmppRabbitComponent.Configuration;
using XmppRabbitComponent.Observability;
using XmppRabbitComponent.Publishing;

namespace XmppRabbitComponent.Tests.Publishing;

/// <summary>Where the test brokers are (env XRC_RABBIT_*), and how to kill/start the killable one (XRC_RABBIT_CTL or ejabberd-test/rabbitmq.sh).</summary>
internal static class RabbitTestEnv
{
    public static string Host => Env("XRC_RABBIT_HOST", "127.0.0.1");
    public static int Port => int.Parse(Env("XRC_RABBIT_PORT", "5673"));
    public static int Port2 => int.Parse(Env("XRC_RABBIT2_PORT", "5674"));
    public static string User => Env("XRC_RABBIT_USER", "guest");
    public static string Pass => Env("XRC_RABBIT_PASS", "guest");

    private static string Env(string name, string fallback) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : fallback;

    /// <summary>Starts the run's servers when that is the back end's job (containers), then fails (never skips) when nothing listens on <paramref name="port"/>.</summary>
    public static void RequireBroker(int port)
    {
        Support.TestServers.EnsureStartedAsync().GetAwaiter().GetResult();
        using var c = new TcpClient();
        try { c.Connect(Host, port); }
        catch (SocketException)
        {
            Assert.Fail($"RabbitMQ not reachable at {Host}:{port}: start it with ejabberd-test/servers.sh start " +
                        "(or ejabberd-test/rabbitmq.sh start main|second; ports from XRC_RABBIT_PORT / XRC_RABBIT2_PORT)");
        }
    }

    /// <summary>Runs the broker control script: <c>kill second</c>, <c>start second</c>.</summary>
    public static void Control(string command)
    {
        if (Support.TestServers.Backend is not Support.ScriptServers && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("XRC_RABBIT_CTL")))
        {
            Support.ServerControl.RabbitAsync(command, "second").GetAwaiter().GetResult();
            return;
        }
        var script = Environment.GetEnvironmentVariable("XRC_RABBIT_CTL");
        if (string.IsNullOrEmpty(script))
        {
            var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "XmppRabbitComponent.sln"))) dir = dir.Parent;
            if (dir is null) Assert.Fail("cannot find XmppRabbitComponent.sln above the test directory to locate ejabberd-test/rabbitmq.sh");
            script = Path.Combine(dir!.FullName, "ejabberd-test", "rabbitmq.sh");
        }
        if (!File.Exists(script)) Assert.Fail($"broker control script {script} is missing (set XRC_RABBIT_CTL)");
        var psi = new ProcessStartInfo("bash", [script, command, "second"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        if (!p.WaitForExit(120_000)) Assert.Fail($"{script} {command} second did not finish in 120 s");
        if (p.ExitCode != 0) Assert.Fail($"{script} {command} second failed: {p.StandardError.ReadToEnd()} {p.StandardOutput.ReadToEnd()}");
    }

    public static async Task<IConnection> ConnectAsync(int port) =>
        await new ConnectionFactory { HostName = Host, Port = port, UserName = User, Password = Pass }.CreateConnectionAsync();

    public static RabbitOptions Options(int port, Action<RabbitOptions>? configure = null)
    {
        var o = new RabbitOptions
        {
            Host = Host, Port = port, Username = User, Password = Pass,
            ReconnectMinDelay = TimeSpan.FromMilliseconds(100), ReconnectMaxDelay = TimeSpan.FromSeconds(1),
            ConnectTimeout = TimeSpan.FromSeconds(5),
        };
        configure?.Invoke(o);
        return o;
    }

    /// <summary>Exchange names unique to one test run so tests do not share state.</summary>
    public static EventPusherOptions Exchanges(string prefix, bool durable = false, string type = "topic")
    {
        var id = prefix + "_" + Guid.NewGuid().ToString("N")[..8];
        var p = new EventPusherOptions();
        foreach (var (_, e) in p.Rabbit.Enabled()) { e.Name = id + "_" + e.Name; e.Durable = durable; e.Type = type; }
        return p;
    }

    public static RabbitEventPublisher Publisher(RabbitOptions o, EventPusherOptions p, ComponentMetrics? metrics = null, TimeProvider? time = null,
        Microsoft.Extensions.Logging.ILogger<RabbitEventPublisher>? logger = null) =>
        new(Microsoft.Extensions.Options.Options.Create(o), Microsoft.Extensions.Options.Options.Create(p), metrics ?? new ComponentMetrics(null, "localhost"),
            logger ?? NullLogger<RabbitEventPublisher>.Instance, time ?? TimeProvider.System);

    public static async Task WaitUntil(Func<bool> condition, TimeSpan timeout, string what)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed > timeout) Assert.Fail($"timed out after {timeout} waiting for {what}");
            await Task.Delay(50);
        }
    }
}

/// <summary>A queue bound to exchanges with <c>#</c>, collecting (message_id, body) of every delivery.</summary>
internal sealed class Collector : IAsyncDisposable
{
    private readonly IConnection _conn;
    private readonly IChannel _ch;
    public readonly List<(string MessageId, string Body, string? Type)> Received = [];
    public string Queue { get; private set; } = "";

    private Collector(IConnection conn, IChannel ch) { _conn = conn; _ch = ch; }

    public int Count { get { lock (Received) return Received.Count; } }

    public static async Task<Collector> StartAsync(int port, IEnumerable<string> exchanges, bool durableQueue = false, string exchangeType = "topic", bool exchangeDurable = false, bool consume = true)
    {
        var conn = await RabbitTestEnv.ConnectAsync(port);
        var ch = await conn.CreateChannelAsync();
        var c = new Collector(conn, ch);
        var q = await ch.QueueDeclareAsync(durableQueue ? "q_" + Guid.NewGuid().ToString("N")[..8] : "", durable: durableQueue, exclusive: !durableQueue, autoDelete: !durableQueue);
        c.Queue = q.QueueName;
        foreach (var x in exchanges)
        {
            await ch.ExchangeDeclareAsync(x, exchangeType, exchangeDurable);
            await ch.QueueBindAsync(q.QueueName, x, "#");
        }
        if (consume) await c.ConsumeAsync();
        return c;
    }

    public async Task ConsumeAsync()
    {
        var consumer = new AsyncEventingBasicConsumer(_ch);
        consumer.ReceivedAsync += (_, ea) =>
        {
            lock (Received) Received.Add((ea.BasicProperties.MessageId ?? "", System.Text.Encoding.UTF8.GetString(ea.Body.Span), ea.BasicProperties.Type));
            return Task.CompletedTask;
        };
        await _ch.BasicConsumeAsync(Queue, autoAck: true, consumer);
    }

    public List<(string MessageId, string Body, string? Type)> Snapshot() { lock (Received) return [.. Received]; }

    public async ValueTask DisposeAsync()
    {
        try { await _ch.CloseAsync(); await _conn.CloseAsync(); } catch (Exception) { }
        _conn.Dispose();
    }
}

/// <summary>A TCP forwarder to a broker that can refuse connections and cut existing ones: a broker "down" without restarting one.</summary>
internal sealed class ToggleProxy : IAsyncDisposable
{
    private readonly int _target;
    private TcpListener? _listener;
    private readonly List<TcpClient> _open = [];
    private CancellationTokenSource _cts = new();
    public int Port { get; }

    public ToggleProxy(int target)
    {
        _target = target;
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        Port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
    }

    public void Up()
    {
        _cts = new CancellationTokenSource();
        _listener = new TcpListener(IPAddress.Loopback, Port);
        _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Start();
        var ct = _cts.Token;
        _ = Task.Run(async () =>
        {
            while (!ct.IsCancellationRequested)
            {
                TcpClient client;
                try { client = await _listener.AcceptTcpClientAsync(ct); } catch (Exception) { return; }
                var upstream = new TcpClient();
                try { await upstream.ConnectAsync(RabbitTestEnv.Host, _target, ct); } catch (Exception) { client.Dispose(); continue; }
                lock (_open) { _open.Add(client); _open.Add(upstream); }
                _ = Pump(client, upstream, ct);
                _ = Pump(upstream, client, ct);
            }
        });
    }

    private static async Task Pump(TcpClient from, TcpClient to, CancellationToken ct)
    {
        try { await from.GetStream().CopyToAsync(to.GetStream(), ct); } catch (Exception) { }
        from.Dispose(); to.Dispose();
    }

    public void Down()
    {
        _cts.Cancel();
        _listener?.Stop();
        lock (_open) { foreach (var c in _open) c.Dispose(); _open.Clear(); }
    }

    public ValueTask DisposeAsync() { Down(); return ValueTask.CompletedTask; }
}
