using System.Diagnostics;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using XmppRabbitComponent.Configuration;
using XmppRabbitComponent.Events;

namespace XmppRabbitComponent.Benchmarks;

/// <summary>One message as the component would publish it: logical exchange (presence, chat_msg, groupchat_msg), routing key, type, JSON.</summary>
public sealed record Message(string Exchange, string RoutingKey, string Type, byte[] Body)
{
    private static readonly EventRouter Router = new(new EventPusherRabbitOptions());

    public static Message Of(XmppEvent e)
    {
        var route = Router.Route(e);
        return new Message(route.Exchange, route.RoutingKey, e.Kind.Name(), EventJson.Serialize(e));
    }
}

/// <summary>A consumer on an exclusive queue bound with <c>#</c> to the given exchanges; deletes them when disposed.</summary>
public sealed class Counter(IConnection connection, IChannel channel, IReadOnlyCollection<string> exchanges) : IAsyncDisposable
{
    private int _count;
    public int Count => Volatile.Read(ref _count);
    internal void Increment() => Interlocked.Increment(ref _count);

    public async ValueTask DisposeAsync()
    {
        foreach (var x in exchanges) await channel.ExchangeDeleteAsync(x);
        await connection.CloseAsync();
        connection.Dispose();
    }
}

/// <summary>The broker side of the benchmark: fresh exchange names, the counting consumer, the bare client loop.</summary>
public sealed class Rabbit(string host, int port)
{
    /// <summary>Unique exchange names for one run, by logical name, so that runs (and other sessions on the broker) never mix.</summary>
    public static Dictionary<string, string> FreshNames()
    {
        var prefix = "bench_" + Guid.NewGuid().ToString("N")[..8] + "_";
        return new[] { "presence", "chat_msg", "groupchat_msg" }.ToDictionary(n => n, n => prefix + n);
    }

    /// <summary>Declares the exchanges as the component does (topic, non-durable, not auto-delete) and starts counting.</summary>
    public async Task<Counter> CounterAsync(IReadOnlyCollection<string> exchanges)
    {
        var conn = await new ConnectionFactory { HostName = host, Port = port }.CreateConnectionAsync();
        var ch = await conn.CreateChannelAsync();
        var q = await ch.QueueDeclareAsync("", false, true, true);
        foreach (var x in exchanges)
        {
            await ch.ExchangeDeclareAsync(x, "topic", false, false);
            await ch.QueueBindAsync(q.QueueName, x, "#");
        }
        var counter = new Counter(conn, ch, exchanges);
        var consumer = new AsyncEventingBasicConsumer(ch);
        consumer.ReceivedAsync += (_, _) => { counter.Increment(); return Task.CompletedTask; };
        await ch.BasicConsumeAsync(q.QueueName, true, consumer);
        return counter;
    }

    /// <summary>
    /// The bare RabbitMQ.Client loop: <paramref name="workers"/> channels on one connection, each publishing every
    /// workers-th message with the engine's properties (persistent, JSON, UUIDv7 message_id, timestamp, type, app_id);
    /// with confirms, 64 in flight per channel and the client's rate limiter off (as the engine). Payloads are
    /// serialized beforehand. Timed from the first publish until the consumer has counted every message.
    /// </summary>
    public async Task<Run> BareAsync(IReadOnlyList<Message> messages, bool confirms, int workers)
    {
        var names = FreshNames();
        await using var counter = await CounterAsync(messages.Select(m => names[m.Exchange]).Distinct().ToArray());
        var pubConn = await new ConnectionFactory { HostName = host, Port = port }.CreateConnectionAsync();
        var start = Sample.Take();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(async w =>
        {
            await using var ch = await pubConn.CreateChannelAsync(new CreateChannelOptions(confirms, confirms, outstandingPublisherConfirmationsRateLimiter: null));
            var inflight = new Queue<Task>();
            for (var i = w; i < messages.Count; i += workers)
            {
                var m = messages[i];
                var t = ch.BasicPublishAsync(names[m.Exchange], m.RoutingKey, false, BareLoop.Properties(m), m.Body);
                if (!confirms) { await t; continue; }
                inflight.Enqueue(t.AsTask());
                if (inflight.Count >= 64) await inflight.Dequeue();
            }
            while (inflight.Count > 0) await inflight.Dequeue();
        }));
        while (counter.Count < messages.Count) await Task.Delay(2);
        var run = Run.Measure(start, messages.Count);
        await pubConn.CloseAsync();
        pubConn.Dispose();
        return run;
    }
}

/// <summary>
/// The end of every timed run: one durable queue bound with <c>#</c> to the run's exchanges (declared as the
/// component declares them). A run ends when the queue holds the expected number of messages
/// (<see cref="WaitForDepthAsync"/>, a passive declare every 5 ms); <see cref="ConsumeAsync"/> reads them instead
/// (latency, soak). Deletes the queue and the exchanges when disposed.
/// </summary>
public sealed class Sink : IAsyncDisposable
{
    private readonly IConnection _connection;
    private readonly IChannel _channel, _poll;
    private readonly IReadOnlyCollection<string> _exchanges;

    private Sink(IConnection connection, IChannel channel, IChannel poll, string queue, IReadOnlyCollection<string> exchanges)
    {
        _connection = connection; _channel = channel; _poll = poll; Queue = queue; _exchanges = exchanges;
    }

    public string Queue { get; }

    public static async Task<Sink> CreateAsync(string host, int port, IReadOnlyCollection<string> exchanges)
    {
        var conn = await new ConnectionFactory { HostName = host, Port = port, ClientProvidedName = "bench-sink" }.CreateConnectionAsync();
        var ch = await conn.CreateChannelAsync();
        var queue = "bench_q_" + Guid.NewGuid().ToString("N")[..8];
        await ch.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false);
        foreach (var x in exchanges)
        {
            await ch.ExchangeDeclareAsync(x, "topic", false, false);
            await ch.QueueBindAsync(queue, x, "#");
        }
        return new Sink(conn, ch, await conn.CreateChannelAsync(), queue, exchanges);
    }

    public async Task<uint> DepthAsync() => (await _poll.QueueDeclarePassiveAsync(Queue)).MessageCount;

    /// <summary>Waits until the queue holds <paramref name="expected"/> messages; the Stopwatch timestamp of the poll that saw them.</summary>
    public async Task<long> WaitForDepthAsync(int expected, TimeSpan timeout, Func<string>? whileWaiting = null)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var depth = await DepthAsync();
            if (depth >= expected) return Stopwatch.GetTimestamp();
            if (deadline.Elapsed > timeout)
                throw new TimeoutException($"{depth} of {expected} messages in the queue after {timeout.TotalSeconds:F0} s {whileWaiting?.Invoke()}");
            await Task.Delay(5);
        }
    }

    /// <summary>Checks, 200 ms later, that exactly <paramref name="expected"/> arrived, then empties the queue.</summary>
    public async Task CheckAndPurgeAsync(int expected, string what)
    {
        await Task.Delay(200);
        var depth = await DepthAsync();
        if (depth != expected) throw new InvalidOperationException($"{what}: {depth} messages in the queue, {expected} expected");
        await _channel.QueuePurgeAsync(Queue);
    }

    /// <summary>Consumes (auto-ack) and calls <paramref name="onMessage"/> with the receive timestamp (<see cref="Stopwatch"/> ticks), the AMQP properties and the body.</summary>
    public async Task ConsumeAsync(Action<long, IReadOnlyBasicProperties, ReadOnlyMemory<byte>> onMessage)
    {
        var consumer = new AsyncEventingBasicConsumer(_channel);
        consumer.ReceivedAsync += (_, e) =>
        {
            onMessage(Stopwatch.GetTimestamp(), e.BasicProperties, e.Body);
            return Task.CompletedTask;
        };
        await _channel.BasicConsumeAsync(Queue, true, consumer);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _channel.QueueDeleteAsync(Queue);
            foreach (var x in _exchanges) await _channel.ExchangeDeleteAsync(x);
        }
        finally
        {
            await _connection.CloseAsync();
            _connection.Dispose();
        }
    }
}

/// <summary>
/// The bare RabbitMQ.Client 7.2.2 loop in a given shape: <c>channels</c> channels on one connection, each
/// publishing every channels-th message with the component's properties (persistent, JSON, UUIDv7 message_id,
/// timestamp, type, app_id), keeping up to <c>inFlight</c> publishes outstanding per channel (with confirms: awaiting
/// the confirm; without: the write), the client's outstanding-confirm rate limiter off.
/// </summary>
public static class BareLoop
{
    /// <summary>The component's message properties for <paramref name="m"/>, stamped now.</summary>
    public static BasicProperties Properties(Message m)
    {
        var now = DateTimeOffset.UtcNow;
        return new BasicProperties
        {
            ContentType = "application/json", DeliveryMode = DeliveryModes.Persistent, MessageId = Guid.CreateVersion7(now).ToString(),
            Timestamp = new AmqpTimestamp(now.ToUnixTimeSeconds()), Type = m.Type, AppId = "xmpp-rabbit-component",
        };
    }

    public static async Task<IChannel[]> OpenAsync(IConnection connection, bool confirms, int channels)
    {
        var result = new IChannel[channels];
        for (var i = 0; i < channels; i++)
            result[i] = await connection.CreateChannelAsync(new CreateChannelOptions(confirms, confirms, outstandingPublisherConfirmationsRateLimiter: null));
        return result;
    }

    public static Task PublishAsync(IChannel[] channels, IReadOnlyList<Message> messages, IReadOnlyDictionary<string, string> names, int inFlight) =>
        Task.WhenAll(channels.Select(async (ch, w) =>
        {
            var pending = new Queue<Task>(inFlight);
            for (var i = w; i < messages.Count; i += channels.Length)
            {
                var m = messages[i];
                var t = ch.BasicPublishAsync(names[m.Exchange], m.RoutingKey, false, Properties(m), m.Body);
                if (t.IsCompletedSuccessfully) continue;
                pending.Enqueue(t.AsTask());
                if (pending.Count >= inFlight) await pending.Dequeue();
            }
            while (pending.Count > 0) await pending.Dequeue();
        }));
}
