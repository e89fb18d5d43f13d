using System.Text;
using RabbitMQ.Client;
using XmppRabbitComponent.Tests.Integration;

namespace XmppRabbitComponent.Tests.Contract;

/// <summary>
/// The contract check inside <see cref="TestEventConsumer"/> can fail: messages published straight to a real
/// broker, each breaking the contract in one way, are refused by <see cref="TestEventConsumer.TakeAsync"/>; a
/// message that keeps it passes.
/// </summary>
[TestFixture, Category("Integration"), NonParallelizable]
public sealed class ContractHookTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly XmppTestServers _servers = XmppTestServers.Current;

    [SetUp]
    public Task RequireBroker() => _servers.RequireAsync(xmpp: false);

    private const string GoodBody = """{"to_user_id":"bob@localhost","message":"Hello, Bob","from_user_id":"alice@localhost/res1"}""";

    private static BasicProperties Good() => new()
    {
        ContentType = "application/json",
        DeliveryMode = DeliveryModes.Persistent,
        MessageId = Guid.CreateVersion7().ToString(),
        Timestamp = new AmqpTimestamp(DateTimeOffset.UtcNow.ToUnixTimeSeconds()),
        Type = "chat_msg_sent",
        AppId = "xmpp-rabbit-component",
    };

    private static IEnumerable<TestCaseData> Broken()
    {
        yield return new TestCaseData(GoodBody.Replace("\"message\":\"Hello, Bob\",", "", StringComparison.Ordinal), "alice@localhost.chat_msg_sent", Good(), "required").SetName("body without message");
        yield return new TestCaseData(GoodBody.Replace("alice@localhost/res1", "Alice@Localhost/res1", StringComparison.Ordinal), "alice@localhost.chat_msg_sent", Good(), "pattern").SetName("sender's domain not lowercased");
        yield return new TestCaseData(GoodBody, "bob@localhost.chat_msg_sent", Good(), "routing key").SetName("routing key of the wrong user");
        yield return new TestCaseData(GoodBody, "alice@localhost.chat_msg_sent", With(p => p.ContentType = "text/plain"), "content_type").SetName("content type text/plain");
        yield return new TestCaseData(GoodBody, "alice@localhost.chat_msg_sent", With(p => p.MessageId = "42"), "message_id").SetName("message id not a UUIDv7");
        yield return new TestCaseData(GoodBody, "alice@localhost.chat_msg_sent", With(p => p.Type = "chat_message"), "not a documented event kind").SetName("unknown type");
        yield return new TestCaseData(GoodBody, "alice@localhost.chat_msg_sent", With(p => p.Headers = new Dictionary<string, object?> { ["x-trace"] = "1"u8.ToArray() }), "header 'x-trace'").SetName("a header in the seed format");
        yield return new TestCaseData(GoodBody, "alice@localhost.chat_msg_sent", With(p => p.Headers = new Dictionary<string, object?> { ["cloudEvents:id"] = Encoding.UTF8.GetBytes(p.MessageId!) }), "required").SetName("CloudEvents headers incomplete");
    }

    private static BasicProperties With(Action<BasicProperties> change) { var p = Good(); change(p); return p; }

    [TestCaseSource(nameof(Broken))]
    public async Task A_message_that_breaks_the_contract_fails_the_consuming_test(string body, string key, BasicProperties props, string expected)
    {
        var exchange = "contract_hook_" + Guid.NewGuid().ToString("N")[..8];
        await using var consumer = await TestEventConsumer.StartAsync(_servers, (exchange, "topic", false));
        await PublishAsync(exchange, key, body, props);

        var failure = Assert.ThrowsAsync<ContractViolationException>(() => consumer.TakeAsync(1, Timeout));
        Assert.That(failure!.Message, Does.Contain("breaks the contract").And.Contain(expected));
    }

    [Test]
    public async Task A_message_that_keeps_the_contract_passes()
    {
        var exchange = "contract_hook_" + Guid.NewGuid().ToString("N")[..8];
        await using var consumer = await TestEventConsumer.StartAsync(_servers, (exchange, "topic", false));
        await PublishAsync(exchange, "alice@localhost.chat_msg_sent", GoodBody, Good());

        var got = (await consumer.TakeAsync(1, Timeout)).Single();
        Assert.That(got.ContractViolations, Is.Empty);
        Assert.That(got.Body, Is.EqualTo(GoodBody));
    }

    private async Task PublishAsync(string exchange, string key, string body, BasicProperties props)
    {
        var factory = new ConnectionFactory { HostName = _servers.RabbitHost, Port = _servers.RabbitPort, UserName = _servers.RabbitUser, Password = _servers.RabbitPassword };
        await using var connection = await factory.CreateConnectionAsync("contract-hook-test");
        await using var channel = await connection.CreateChannelAsync();
        await channel.BasicPublishAsync(exchange, key, mandatory: true, props, Encoding.UTF8.GetBytes(body));
        await channel.CloseAsync();
    }
}
