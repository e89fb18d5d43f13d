// Publishing throughput: the engine (RabbitEventPublisher) against a bare RabbitMQ.Client loop, same payloads,
// same confirm mode, a consumer counting deliveries. Modes are entries of the Modes table; a "pipeline" mode
// (stanzas through the XMPP reader) can be added there.
// Usage: dotnet run -c Release --project Component.Benchmarks -- [--port 5673] [--events 50000] [--reps 3]
using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using XmppRabbitComponent.Configuration;
using XmppRabbitComponent.Events;
using XmppRabbitComponent.Observability;
using XmppRabbitComponent.Publishing;

var port = Arg("--port", 5673);
var events = Arg("--events", 50_000);
var reps = Arg("--reps", 3);
var host = Environment.GetEnvironmentVariable("XRC_RABBIT_HOST") ?? "127.0.0.1";

var modes = new Dictionary<string, Func<bool, int, Task<double>>>
{
    ["engine"] = EngineAsync,
    ["bare"] = BareAsync,
};

Console.WriteLine($"events={events} reps={reps} broker={host}:{port}; events/s, median of {reps}");
Console.WriteLine("| confirms | workers | engine ev/s | bare ev/s | engine/bare |");
Console.WriteLine("|---|---|---|---|---|");
foreach (var confirms in new[] { false, true })
foreach (var workers in new[] { 1, 10 })
{
    var r = new Dictionary<string, double>();
    foreach (var (name, run) in modes)
    {
        var xs = new List<double>();
        for (var i = 0; i < reps; i++) xs.Add(await run(confirms, workers));
        xs.Sort();
        r[name] = xs[xs.Count / 2];
    }
    Console.WriteLine($"| {(confirms ? "on" : "off")} | {workers} | {r["engine"]:F0} | {r["bare"]:F0} | {r["engine"] / r["bare"]:F2} |");
}

int Arg(string name, int fallback) { var i = Array.IndexOf(args, name); return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1]) : fallback; }

MessageEvent Event(int i) => new(EventKind.ChatMsgSent, "bob@localhost/res1", $"Hello, Bob {i:D6} with a body of moderate length", $"user{i % 100}@localhost/res1", $"user{i % 100}@localhost");

async Task<(IConnection, IChannel, Func<int>)> CounterAsync(string exchange)
{
    var conn = await new ConnectionFactory { HostName = host, Port = port }.CreateConnectionAsync();
    var ch = await conn.CreateChannelAsync();
    await ch.ExchangeDeclareAsync(exchange, "topic", false);
    var q = await ch.QueueDeclareAsync("", false, true, true);
    await ch.QueueBindAsync(q.QueueName, exchange, "#");
    var count = 0;
    var consumer = new AsyncEventingBasicConsumer(ch);
    consumer.ReceivedAsync += (_, _) => { Interlocked.Increment(ref count); return Task.CompletedTask; };
    await ch.BasicConsumeAsync(q.QueueName, true, consumer);
    return (conn, ch, () => Volatile.Read(ref count));
}

async Task<double> EngineAsync(bool confirms, int workers)
{
    var p = new EventPusherOptions();
    p.Rabbit.ChatMsgExchange.Name = "bench_" + Guid.NewGuid().ToString("N")[..8];
    var (conn, _, count) = await CounterAsync(p.Rabbit.ChatMsgExchange.Name);
    var o = new RabbitOptions { Host = host, Port = port, Workers = workers, ConfirmsEnabled = confirms };
    await using var pub = new RabbitEventPublisher(Microsoft.Extensions.Options.Options.Create(o), Microsoft.Extensions.Options.Options.Create(p),
        new ComponentMetrics(null, "localhost"), NullLogger<RabbitEventPublisher>.Instance, TimeProvider.System);
    await pub.StartAsync(default);
    var sw = Stopwatch.StartNew();
    for (var i = 0; i < events; i++) await pub.EnqueueAsync(Event(i), default);
    while (count() < events || pub.Pending > 0) await Task.Delay(5);
    var rate = events / sw.Elapsed.TotalSeconds;
    await conn.CloseAsync();
    return rate;
}

async Task<double> BareAsync(bool confirms, int workers)
{
    var exchange = "bench_" + Guid.NewGuid().ToString("N")[..8];
    var (conn, _, count) = await CounterAsync(exchange);
    var pubConn = await new ConnectionFactory { HostName = host, Port = port }.CreateConnectionAsync();
    var payloads = Enumerable.Range(0, events).Select(i => EventJson.Serialize(Event(i))).ToArray();
    var sw = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, workers).Select(async w =>
    {
        await using var ch = await pubConn.CreateChannelAsync(new CreateChannelOptions(confirms, confirms, outstandingPublisherConfirmationsRateLimiter: null));
        var inflight = new Queue<Task>();
        for (var i = w; i < events; i += workers)
        {
            var props = new BasicProperties { ContentType = "application/json", DeliveryMode = DeliveryModes.Persistent, MessageId = Guid.NewGuid().ToString(), Type = "chat_msg_sent" };
            var t = ch.BasicPublishAsync(exchange, $"user{i % 100}@localhost.chat_msg_sent", false, props, payloads[i]);
            if (!confirms) { await t; continue; }
            inflight.Enqueue(t.AsTask());
            if (inflight.Count >= 64) await inflight.Dequeue();
        }
        while (inflight.Count > 0) await inflight.Dequeue();
    }));
    while (count() < events) await Task.Delay(5);
    var rate = events / sw.Elapsed.TotalSeconds;
    await pubConn.CloseAsync();
    await conn.CloseAsync();
    return rate;
}
