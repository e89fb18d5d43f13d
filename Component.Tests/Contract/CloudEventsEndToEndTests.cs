using System.Text;
using XmppRabbitComponent.Tests.Integration;
using XmppRabbitComponent.Tests.Support;

namespace XmppRabbitComponent.Tests.Contract;

/// <summary>
/// <c>EventPusher:Format</c> = <c>cloudevents</c> end to end, once per XMPP server: real users, the real component, a
/// real broker. The messages carry the seed JSON unchanged as body and the CloudEvents attributes as
/// <c>cloudEvents:*</c> headers as docs/asyncapi.yaml documents them (the consumer checks every message against the
/// document; the assertions here check the values against what happened).
/// </summary>
[TestFixtureSource(typeof(TestServers), nameof(TestServers.XmppKinds))]
[Category("Integration"), NonParallelizable]
public sealed class CloudEventsEndToEndTests(XmppServerKind kind)
{
    private static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(10);
    private readonly XmppTestServers _servers = TestServers.Xmpp(kind).Facts;
    private readonly List<IAsyncDisposable> _cleanup = [];

    [SetUp]
    public Task RequireServers() => _servers.RequireAsync();

    [TearDown]
    public async Task CleanUp()
    {
        for (var i = _cleanup.Count - 1; i >= 0; i--)
        {
            try
            {
                if (_cleanup[i] is TestXmppClient c) await c.LogoutAsync();
                else await _cleanup[i].DisposeAsync();
            }
            catch (Exception e) { TestContext.Out.WriteLine($"cleanup: {e.Message}"); }
        }
        _cleanup.Clear();
    }

    private T Track<T>(T item) where T : IAsyncDisposable { _cleanup.Add(item); return item; }

    [Test]
    public async Task Presence_and_chat_carry_the_CloudEvents_headers_and_the_seed_body()
    {
        var overrides = new Dictionary<string, string?>
        {
            ["EventPusher:Format"] = "cloudevents",
            ["EventPusher:CloudEvents:TypePrefix"] = "com.example.xmpp.",
            ["Rabbit:ConfirmsEnabled"] = "true", // the client then adds its own sequence header: it must not disturb ours
        };
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        await using var component = Track(await ComponentUnderTest.StartAsync(_servers, overrides));
        var consumer = Track(await TestEventConsumer.StartDefaultAsync(_servers));
        var domain = _servers.XmppDomain;

        var alice = Track(await TestXmppClient.ConnectAsync(_servers, "alice", "ce1"));
        await alice.SendPresenceAsync();
        var presence = (await consumer.TakeAsync(1, EventTimeout)).Single();
        AssertCloudEvent(presence, "presence", $"alice@{domain}", before);
        Assert.That(presence.Body, Is.EqualTo($"{{\"user_id\":\"alice@{domain}/ce1\",\"present\":true}}"));

        var bob = Track(await TestXmppClient.ConnectAsync(_servers, "bob", "ce1"));
        await bob.SendPresenceAsync();
        (await consumer.TakeAsync(1, EventTimeout)).Single();
        await alice.SendMessageAsync($"bob@{domain}", "chat", "Hello, \"Bob\" ✓");
        var chat = (await consumer.TakeAsync(2, EventTimeout)).OrderBy(e => e.RoutingKey, StringComparer.Ordinal).ToList();
        var json = $"{{\"to_user_id\":\"bob@{domain}\",\"message\":\"Hello, \\\"Bob\\\" ✓\",\"from_user_id\":\"alice@{domain}/ce1\"}}";
        Assert.That(chat.Select(e => (e.RoutingKey, e.Body)), Is.EqualTo(new[]
        {
            ($"alice@{domain}.chat_msg_sent", json),
            ($"bob@{domain}.chat_msg_recv", json),
        }));
        AssertCloudEvent(chat[0], "chat_msg_sent", $"alice@{domain}", before);
        AssertCloudEvent(chat[1], "chat_msg_recv", $"bob@{domain}", before);
        Assert.That(chat[0].Properties.MessageId, Is.Not.EqualTo(chat[1].Properties.MessageId), "two events, two ids");
    }

    private void AssertCloudEvent(ReceivedEvent e, string kindName, string subject, DateTimeOffset notBefore)
    {
        var headers = e.Properties.Headers!;
        var ce = CloudEventsReader.FromHeaders(headers);
        Assert.Multiple(() =>
        {
            Assert.That(headers.Keys.Where(k => k.StartsWith("cloudEvents:", StringComparison.Ordinal)), Is.EquivalentTo(Events.CloudEventsAttributes.Names));
            Assert.That(Encoding.UTF8.GetString((byte[])headers["cloudEvents:specversion"]!), Is.EqualTo("1.0"));
            Assert.That(ce.Id, Is.EqualTo(e.Properties.MessageId));
            Assert.That(ce.Source, Is.EqualTo(new Uri("xmpp:" + _servers.ComponentDomain)));
            Assert.That(ce.Type, Is.EqualTo("com.example.xmpp." + kindName));
            Assert.That(ce.Subject, Is.EqualTo(subject));
            Assert.That(ce.Time, Is.InRange(notBefore, DateTimeOffset.UtcNow.AddSeconds(1)));
            Assert.That(ce.Time!.Value.ToUnixTimeSeconds(), Is.EqualTo(e.Properties.Timestamp.UnixTime), "time and the AMQP timestamp are the same instant");
            Assert.That(ce.DataContentType, Is.EqualTo("application/json"));
            Assert.That(e.Properties.ContentType, Is.EqualTo("application/json"));
            Assert.That(e.Properties.Type, Is.EqualTo(kindName));
        });
    }
}
