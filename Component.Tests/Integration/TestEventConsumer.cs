using System.Text;
using System.Threading.Channels;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using XmppRabbitComponent.Tests.Contract;

namespace XmppRabbitComponent.Tests.Integration;

/// <summary>One message as a consumer received it.</summary>
public sealed record ReceivedEvent(string Exchange, string RoutingKey, string Body, IReadOnlyBasicProperties Properties)
{
    /// <summary>How the message breaks the documented contract (<see cref="EventContract.CheckMessage"/>); empty when it keeps it.</summary>
    public IReadOnlyList<string> ContractViolations { get; init; } = [];

    /// <inheritdoc />
    public override string ToString() => $"{Exchange} {RoutingKey} {Body}";
}

/// <summary>A consumed message breaks the documented event contract (thrown, not asserted, so a test can expect it).</summary>
public sealed class ContractViolationException(string message) : Exception(message);

/// <summary>
/// A real AMQP consumer for integration tests: an exclusive, auto-delete queue bound with <c>#</c> to each
/// given exchange (declared first with the component's defaults when missing, so binding never races the
/// component's own declare).
/// <para>Every message it receives is checked against the documented event contract (<c>docs/schemas/</c>,
/// <c>docs/asyncapi.yaml</c>: body schema, AMQP properties, routing key, CloudEvents headers), so every suite that
/// consumes events through it proves the component keeps the contract: <see cref="TakeAsync"/> and
/// <see cref="DrainAsync"/> fail the test on the first message that breaks it.</para>
/// </summary>
public sealed class TestEventConsumer : IAsyncDisposable
{
    private readonly IConnection _connection;
    private readonly IChannel _channel;
    private readonly Channel<ReceivedEvent> _received = Channel.CreateUnbounded<ReceivedEvent>();

    private string _queue = "";

    private TestEventConsumer(IConnection connection, IChannel channel) { _connection = connection; _channel = channel; }

    /// <summary>Connects and binds to <paramref name="exchanges"/> (name, type, durable).</summary>
    public static async Task<TestEventConsumer> StartAsync(XmppTestServers servers, params (string Name, string Type, bool Durable)[] exchanges)
    {
        var factory = new ConnectionFactory { HostName = servers.RabbitHost, Port = servers.RabbitPort, UserName = servers.RabbitUser, Password = servers.RabbitPassword };
        var connection = await factory.CreateConnectionAsync("test-consumer");
        var channel = await connection.CreateChannelAsync();
        var consumer = new TestEventConsumer(connection, channel);
        var queue = await channel.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true);
        consumer._queue = queue.QueueName;
        foreach (var (name, type, durable) in exchanges)
        {
            await channel.ExchangeDeclareAsync(name, type, durable, autoDelete: false);
            await channel.QueueBindAsync(queue.QueueName, name, type == "fanout" ? "" : "#");
        }
        var basic = new AsyncEventingBasicConsumer(channel);
        basic.ReceivedAsync += (_, e) =>
        {
            var violations = EventContract.Current.CheckMessage(e.RoutingKey, e.Body.Span, e.BasicProperties);
            consumer._received.Writer.TryWrite(new ReceivedEvent(e.Exchange, e.RoutingKey, Encoding.UTF8.GetString(e.Body.Span), e.BasicProperties)
            {
                ContractViolations = violations,
            });
            return Task.CompletedTask;
        };
        await channel.BasicConsumeAsync(queue.QueueName, autoAck: true, basic);
        return consumer;
    }

    /// <summary>Binds to one direct exchange with exact <paramref name="keys"/>.</summary>
    public static async Task<TestEventConsumer> StartDirectAsync(XmppTestServers servers, string exchange, params string[] keys)
    {
        var c = await StartAsync(servers);
        await c._channel.ExchangeDeclareAsync(exchange, "direct", durable: false, autoDelete: false);
        foreach (var key in keys) await c._channel.QueueBindAsync(c._queue, exchange, key);
        return c;
    }

    /// <summary>True when <paramref name="exchange"/> exists on the broker (passive declare on a throwaway channel).</summary>
    public static async Task<bool> ExchangeExistsAsync(XmppTestServers servers, string exchange)
    {
        var factory = new ConnectionFactory { HostName = servers.RabbitHost, Port = servers.RabbitPort, UserName = servers.RabbitUser, Password = servers.RabbitPassword };
        await using var connection = await factory.CreateConnectionAsync("test-probe");
        await using var channel = await connection.CreateChannelAsync();
        try { await channel.ExchangeDeclarePassiveAsync(exchange); return true; }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 404) { return false; }
    }

    /// <summary>Binds to the three default exchanges (presence, chat_msg, groupchat_msg; topic, non-durable).</summary>
    public static Task<TestEventConsumer> StartDefaultAsync(XmppTestServers servers) =>
        StartAsync(servers, ("presence", "topic", false), ("chat_msg", "topic", false), ("groupchat_msg", "topic", false));

    /// <summary>Receives the next <paramref name="count"/> events, failing if they do not come within <paramref name="timeout"/>.</summary>
    public async Task<List<ReceivedEvent>> TakeAsync(int count, TimeSpan timeout)
    {
        var list = new List<ReceivedEvent>();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (list.Count < count) list.Add(KeepsContract(await _received.Reader.ReadAsync(cts.Token)));
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"expected {count} events within {timeout}, got {list.Count}: {string.Join(" | ", list)}");
        }
        return list;
    }

    /// <summary>Returns what arrives within <paramref name="quiet"/>; used to assert that nothing (more) was published.</summary>
    public async Task<List<ReceivedEvent>> DrainAsync(TimeSpan quiet)
    {
        var list = new List<ReceivedEvent>();
        using var cts = new CancellationTokenSource(quiet);
        try { while (true) list.Add(KeepsContract(await _received.Reader.ReadAsync(cts.Token))); }
        catch (OperationCanceledException) { }
        return list;
    }

    private static ReceivedEvent KeepsContract(ReceivedEvent e)
    {
        if (e.ContractViolations.Count > 0)
            throw new ContractViolationException($"published event breaks the contract of docs/asyncapi.yaml and docs/schemas/: {e}\n  - {string.Join("\n  - ", e.ContractViolations)}");
        return e;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _channel.CloseAsync();
        await _connection.CloseAsync();
        _channel.Dispose();
        _connection.Dispose();
    }
}
