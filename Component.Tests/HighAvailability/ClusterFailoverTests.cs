using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using RabbitMQ.Client;
using XmppRabbitComponent.Tests.Integration;
using XmppRabbitComponent.Tests.Support;

namespace XmppRabbitComponent.Tests.HighAvailability;

/// <summary>
/// The broker side on a real 3-node RabbitMQ cluster (<c>ejabberd-test/rabbitmq-cluster.sh</c>, started by this fixture
/// and stopped after it): two instances with <c>Rabbit:Hosts</c> listing all three nodes and publisher confirms on,
/// events flowing into a quorum queue; the node the active instance publishes through is SIGKILLed under traffic.
/// </summary>
[TestFixture, Category("Integration"), NonParallelizable]
public sealed partial class ClusterFailoverTests : ProcessFixture
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);
    private readonly XmppTestServers _servers = XmppTestServers.Current;
    private string[] _hosts = [];

    [OneTimeSetUp]
    public async Task StartCluster()
    {
        await _servers.RequireAsync();
        var sw = Stopwatch.StartNew();
        await ClusterAsync("start");
        var env = File.ReadAllLines(Path.Combine(ServerControl.RepositoryRoot, "ejabberd-test", ".run", "rabbit-cluster", "cluster.env"))
            .Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        _hosts = env["XRC_CLUSTER_HOSTS"].Split(',');
        TestContext.Progress.WriteLine($"3-node RabbitMQ cluster up in {sw.Elapsed.TotalSeconds:0} s: {string.Join(", ", _hosts)}");
    }

    [OneTimeTearDown]
    public Task StopCluster() => ClusterAsync("stop");


    /// <summary>Runs <c>ejabberd-test/rabbitmq-cluster.sh</c>; fails the test (never skips) with its output when it fails.</summary>
    private static async Task ClusterAsync(params string[] args)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = ServerControl.RepositoryRoot };
        psi.ArgumentList.Add(Path.Combine(ServerControl.RepositoryRoot, "ejabberd-test", "rabbitmq-cluster.sh"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var output = Task.WhenAll(p.StandardOutput.ReadToEndAsync(), p.StandardError.ReadToEndAsync());
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await p.WaitForExitAsync(cts.Token);
        if (p.ExitCode != 0)
            Assert.Fail($"ejabberd-test/rabbitmq-cluster.sh {string.Join(' ', args)} exited {p.ExitCode} (the cluster needs rabbitmq-server; " +
                        $"ports from XRC_CLUSTER_* / XRC_PORT_OFFSET): {string.Join("", await output)}");
    }

    private static int Port(string host) => int.Parse(host[(host.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);

    [Test]
    public async Task Killing_the_node_the_active_instance_publishes_through_loses_no_event_and_the_lease_is_re_elected()
    {
        var id = Guid.NewGuid().ToString("N")[..6];
        var exchange = "ha_chat_" + id;
        var settings = ComponentProcess.BaseSettings(_servers);
        settings.Remove("Rabbit:Host");
        settings.Remove("Rabbit:Port");
        for (var i = 0; i < _hosts.Length; i++) settings[$"Rabbit:Hosts:{i}"] = _hosts[i];
        settings["Rabbit:ConfirmsEnabled"] = "true";
        settings["Rabbit:ConfirmTimeout"] = "00:00:05";
        settings["Rabbit:ReconnectMinDelay"] = "00:00:00.100";
        settings["Rabbit:ReconnectMaxDelay"] = "00:00:01";
        settings["EventPusher:Rabbit:ChatMsgExchange:Name"] = exchange;
        settings["EventPusher:Rabbit:ChatMsgExchange:Durable"] = "true";
        settings["EventPusher:Rabbit:PresenceExchange:Enabled"] = "false";
        settings["EventPusher:Rabbit:GroupchatMsgExchange:Enabled"] = "false";

        var a = Track(ComponentProcess.Start($"cluster-a-{id}", ComponentProcess.HttpPortBase + 0, settings));
        await a.WaitForRoleAsync("active", TimeSpan.FromSeconds(40));
        var b = Track(ComponentProcess.Start($"cluster-b-{id}", ComponentProcess.HttpPortBase + 1, settings));
        await b.WaitForRoleAsync("standby", TimeSpan.FromSeconds(40));

        // The node a publishes through ("RabbitMQ connected to amqp://127.0.0.1:PORT"), and where its lease is.
        var victim = NodeOf(a, "RabbitMQ connected to");
        var leaseNode = NodeOf(a, "Lease connection open to");
        var survivor = _hosts.First(h => Port(h) != victim);
        TestContext.Out.WriteLine($"{a.Name} publishes through node :{victim}, holds its lease through :{leaseNode}; the quorum queue is read through {survivor}");

        // A quorum queue bound to the (durable) chat exchange, declared through a node that stays.
        var factory = new ConnectionFactory { HostName = "127.0.0.1", Port = Port(survivor), UserName = _servers.RabbitUser, Password = _servers.RabbitPassword };
        await using var conn = await factory.CreateConnectionAsync("ha-cluster-test");
        await using var ch = await conn.CreateChannelAsync();
        var queue = "ha_quorum_" + id;
        await ch.ExchangeDeclareAsync(exchange, "topic", durable: true);
        await ch.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, arguments: new Dictionary<string, object?> { ["x-queue-type"] = "quorum" });
        await ch.QueueBindAsync(queue, exchange, "#");

        var consumer = Track(await TestEventConsumer.StartAsync(_servers with { RabbitPort = Port(survivor) }, (exchange, "topic", true)));
        var traffic = Track(await ChatTraffic.StartAsync(_servers, consumer));
        await Task.Delay(300);
        traffic.Send(300, Interval);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (traffic.SentCount < 100 && DateTime.UtcNow < deadline) await Task.Delay(5);
        var node = Array.FindIndex(_hosts, h => Port(h) == victim) + 1;
        var killedAt = DateTime.UtcNow;
        await ClusterAsync("kill", node.ToString(CultureInfo.InvariantCulture));
        await traffic.Sending;
        await traffic.SettleAsync(TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(40));

        // Exactly one instance holds the stream afterwards.
        var roles = new List<(ComponentProcess P, Dictionary<string, string> Data)>();
        foreach (var p in new[] { a, b }) roles.Add((p, (await p.ReadinessAsync()).Data));
        var summary = string.Join(" | ", roles.Select(r => $"{r.P.Name}: {string.Join(",", r.Data.Select(kv => kv.Key + "=" + kv.Value))}"));
        Assert.That(roles.Count(r => r.Data.GetValueOrDefault("xmpp_stream") == "authenticated"), Is.EqualTo(1), summary);

        // Every event the instances produced is in the quorum queue (duplicates allowed, with the same message_id).
        var produced = 0L;
        foreach (var p in new[] { a, b }) produced += await ProducedChatEventsAsync(p);
        var inQueue = await ReadQueueAsync(ch, queue);
        var distinct = inQueue.Select(e => e.MessageId).Distinct().Count();
        var sameIdSameEvent = inQueue.GroupBy(e => e.MessageId).All(g => g.Select(e => e.Body).Distinct().Count() == 1);
        var resumed = b.FindLine("Role Standby -> Active", killedAt) is { } took ? $"{b.Name} took the lease {(took.At - killedAt).TotalMilliseconds:0} ms after the kill" : $"{a.Name} kept the lease";
        TestContext.Out.WriteLine($"node :{victim} killed; {resumed}; produced {produced} chat events, quorum queue holds {inQueue.Count} messages, {distinct} distinct message_ids " +
                                  $"({inQueue.Count - distinct} duplicates); {summary}; {traffic.Describe()}");
        Assert.That(sameIdSameEvent, Is.True, "a duplicate carries the message_id of its original, with the same body");
        Assert.That(distinct, Is.EqualTo(produced), "every event produced reached the quorum queue");
        var fates = traffic.Fates();
        var tail = fates.Skip(fates.Count - 50).ToList();
        Assert.That(tail.Where(f => f.Fate != MessageFate.Ok).Select(f => f.N), Is.Empty, $"events flow after the node loss; {traffic.Describe()}");
    }

    private static int NodeOf(ComponentProcess p, string logText)
    {
        var line = p.FindLine(logText)?.Line ?? "";
        var m = PortInLine().Match(line[(line.IndexOf(logText, StringComparison.Ordinal) + logText.Length)..]);
        if (!m.Success) Assert.Fail($"no '{logText} ...:PORT' line in {p.Name}'s log:\n{p.Tail()}");
        return int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    /// <summary><c>xmpp_component_events_produced_total</c> for the chat kinds, from the instance's <c>/metrics</c>.</summary>
    private static async Task<long> ProducedChatEventsAsync(ComponentProcess p)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{p.HttpPort}"), Timeout = TimeSpan.FromSeconds(5) };
        var text = await http.GetStringAsync("/metrics");
        return text.Split('\n')
            .Where(l => l.StartsWith("xmpp_component_events_produced_total{", StringComparison.Ordinal) && l.Contains("kind=\"chat_msg_", StringComparison.Ordinal))
            .Sum(l => (long)double.Parse(l[(l.LastIndexOf('}') + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture));
    }

    private static async Task<List<(string MessageId, string Body)>> ReadQueueAsync(IChannel ch, string queue)
    {
        var list = new List<(string, string)>();
        var quiet = Stopwatch.StartNew();
        while (quiet.Elapsed < TimeSpan.FromSeconds(2))
        {
            var r = await ch.BasicGetAsync(queue, autoAck: true);
            if (r is null) { await Task.Delay(50); continue; }
            list.Add((r.BasicProperties.MessageId ?? "", System.Text.Encoding.UTF8.GetString(r.Body.Span)));
            quiet.Restart();
        }
        return list;
    }

    [GeneratedRegex(@":(\d+)")]
    private static partial Regex PortInLine();
}
