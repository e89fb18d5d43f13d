using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using XmppRabbitComponent.Hosting;
using XmppRabbitComponent.Publishing;
using XmppRabbitComponent.Tests.Integration;
using XmppRabbitComponent.Tests.Support;

namespace XmppRabbitComponent.Tests.Operations;

/// <summary>
/// A real <c>mongooseim.toml</c> of each layout drives the real component against the private broker and ejabberd:
/// the broker settings, pool size and exchanges all come from the file; the test checks the exchanges on the broker
/// (name, type, durability), the channels of the component's connection, and a chat message on the file's topics.
/// </summary>
[TestFixture, Category("Integration"), NonParallelizable]
public sealed class MongooseImEndToEndTests
{
    private readonly XmppTestServers _servers = XmppTestServers.Current;

    [SetUp]
    public Task RequireServers() => _servers.RequireAsync();

    private string WriteToml(string fixture, string prefix)
    {
        var text = File.ReadAllText(MongooseImImportTests.Fixture(fixture))
            .Replace("mim_", prefix + "_")
            .Replace("\"127.0.0.1\"", $"\"{_servers.RabbitHost}\"")
            .Replace("port = 5672", $"port = {_servers.RabbitPort}")
            .Replace("\"guest\"", $"\"{_servers.RabbitUser}\"");
        var path = Path.Combine(Path.GetTempPath(), $"{prefix}-{fixture}");
        File.WriteAllText(path, text);
        return path;
    }

    private async Task<WebApplication> StartAsync(string toml, string appId)
    {
        // Only the XMPP side and the application id come from the component's own settings; the rest is the file's.
        var app = ComponentHost.Build(["--mongooseim-config", toml], c => c.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Urls"] = "http://127.0.0.1:0",
            ["Xmpp:Host"] = _servers.XmppHost,
            ["Xmpp:Port"] = _servers.ComponentPort.ToString(),
            ["Xmpp:ComponentDomain"] = _servers.ComponentDomain,
            ["Xmpp:Secret"] = _servers.ComponentSecret,
            ["Rabbit:AppId"] = appId,
            ["Logging:LogLevel:Default"] = "Warning",
        }));
        await app.StartAsync();
        await app.Services.GetRequiredService<ComponentState>().FirstAuthenticated.WaitAsync(TimeSpan.FromSeconds(20));
        var publisher = app.Services.GetRequiredService<IEventPublisher>();
        for (var i = 0; i < 200 && !publisher.IsConnected; i++) await Task.Delay(100);
        Assert.That(publisher.IsConnected, "connected to the broker named in the file");
        await Task.Delay(200);
        return app;
    }

    /// <summary>Declares <paramref name="name"/> with the given type and durability: the broker accepts that only when an existing exchange has exactly those.</summary>
    private async Task<string> ExchangeStateAsync(string name, string type, bool durable)
    {
        var factory = new ConnectionFactory { HostName = _servers.RabbitHost, Port = _servers.RabbitPort, UserName = _servers.RabbitUser, Password = _servers.RabbitPassword };
        await using var connection = await factory.CreateConnectionAsync("test-exchange-probe");
        await using (var passive = await connection.CreateChannelAsync())
        {
            try { await passive.ExchangeDeclarePassiveAsync(name); }
            catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 404) { return "absent"; }
        }
        await using var channel = await connection.CreateChannelAsync();
        try
        {
            await channel.ExchangeDeclareAsync(name, type, durable, autoDelete: false);
            return $"{type} durable={durable}";
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 406) { return "other type or durability"; }
    }

    /// <summary>The channels open on the connection named <paramref name="connectionName"/>, from <c>rabbitmqctl list_connections</c>.</summary>
    private static async Task<int> ChannelsAsync(string connectionName)
    {
        string[] ctl = ["-q", "list_connections", "channels", "client_properties"];
        var (code, output, error) = TestServers.Backend is ContainerServers containers
            ? await containers.RabbitCtlAsync("main", ctl)
            : await Tool.RunAsync("bash", [Path.Combine(ServerControl.RepositoryRoot, "ejabberd-test", "rabbitmq.sh"), "ctl", "main", .. ctl], TimeSpan.FromSeconds(60));
        if (code != 0) Assert.Fail($"rabbitmqctl list_connections failed ({code}): {error}");
        var lines = output.Split('\n').Where(l => l.Contains($"\"{connectionName}\"")).ToList();
        Assert.That(lines, Has.Count.EqualTo(1), $"one connection named {connectionName}:\n{output}");
        return int.Parse(lines[0].Split('\t')[0]);
    }

    private async Task AssertChannelsAsync(string appId, int expected)
    {
        var channels = -1;
        for (var i = 0; i < 50 && channels != expected; i++)
        {
            channels = await ChannelsAsync(appId);
            if (channels != expected) await Task.Delay(200);
        }
        Assert.That(channels, Is.EqualTo(expected), "channels of the component's broker connection = the pool's workers");
    }

    [Test]
    public async Task The_current_layout_declares_its_exchanges_opens_its_workers_and_publishes_on_its_topics()
    {
        var prefix = "mimcur" + Guid.NewGuid().ToString("N")[..6];
        var appId = prefix + "-component";
        var app = await StartAsync(WriteToml("current.toml", prefix), appId);
        try
        {
            Assert.That(await ExchangeStateAsync($"{prefix}_presence", "topic", durable: true), Is.EqualTo("topic durable=True"));
            Assert.That(await ExchangeStateAsync($"{prefix}_chat", "direct", durable: false), Is.EqualTo("direct durable=False"));
            // No groupchat_msg_exchange section in the current layout: no groupchat exchange at all.
            Assert.That(await ExchangeStateAsync($"{prefix}_groupchat", "topic", durable: false), Is.EqualTo("absent"));
            await AssertChannelsAsync(appId, 3);

            await using var consumer = await TestEventConsumer.StartDirectAsync(_servers, $"{prefix}_chat", "alice@localhost.pm_sent", "bob@localhost.pm_recv");
            await using var alice = await TestXmppClient.ConnectAsync(_servers, "alice", "mim1");
            await using var bob = await TestXmppClient.ConnectAsync(_servers, "bob", "mim1");
            await alice.SendPresenceAsync();
            await bob.SendPresenceAsync();
            await alice.SendMessageAsync("bob@localhost", "chat", "from a mongooseim.toml");
            var events = await consumer.TakeAsync(2, TimeSpan.FromSeconds(10));
            Assert.That(events.Select(e => e.RoutingKey), Is.EquivalentTo(new[] { "alice@localhost.pm_sent", "bob@localhost.pm_recv" }));
            await alice.LogoutAsync();
            await bob.LogoutAsync();
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    [Test]
    public async Task The_older_layout_declares_its_exchanges_and_opens_its_workers()
    {
        var prefix = "mimold" + Guid.NewGuid().ToString("N")[..6];
        var appId = prefix + "-component";
        var app = await StartAsync(WriteToml("older.toml", prefix), appId);
        try
        {
            Assert.That(await ExchangeStateAsync($"{prefix}_presence", "topic", durable: false), Is.EqualTo("topic durable=False"));
            Assert.That(await ExchangeStateAsync($"{prefix}_chat", "topic", durable: false), Is.EqualTo("topic durable=False"));
            Assert.That(await ExchangeStateAsync($"{prefix}_groupchat", "topic", durable: false), Is.EqualTo("topic durable=False"));
            await AssertChannelsAsync(appId, 2);

            await using var consumer = await TestEventConsumer.StartAsync(_servers, ($"{prefix}_presence", "topic", false));
            await using var carol = await TestXmppClient.ConnectAsync(_servers, "carol", "mim2");
            await carol.SendPresenceAsync();
            var events = await consumer.TakeAsync(1, TimeSpan.FromSeconds(10));
            Assert.That(events.Single().Exchange, Is.EqualTo($"{prefix}_presence"));
            await carol.LogoutAsync();
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
