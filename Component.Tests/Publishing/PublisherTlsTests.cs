using XmppRabbitComponent.Events;
using XmppRabbitComponent.Tests.Support;
using static XmppRabbitComponent.Tests.Publishing.RabbitTestEnv;

namespace XmppRabbitComponent.Tests.Publishing;

/// <summary>
/// TLS to the broker: the engine against the private broker's <c>amqps</c> listener
/// (<c>ejabberd-test/rabbitmq.sh</c> makes a private CA, a server certificate for localhost/127.0.0.1 and a client
/// certificate).
/// </summary>
[Category("Integration"), NonParallelizable]
public sealed class PublisherTlsTests
{
    private static int TlsPort => int.Parse(Environment.GetEnvironmentVariable("XRC_RABBIT_TLS_PORT") is { Length: > 0 } p ? p : "5683");

    private static string TlsDir => Environment.GetEnvironmentVariable("XRC_RABBIT_TLS_DIR") is { Length: > 0 } d
        ? d
        : Path.Combine(ServerControl.RepositoryRoot, "ejabberd-test", ".run", "rabbit-main", "tls");

    private static void RequireTls()
    {
        RequireBroker(TlsPort);
        if (!File.Exists(Path.Combine(TlsDir, "ca.pem")))
            Assert.Fail($"the test CA {Path.Combine(TlsDir, "ca.pem")} is missing: start the broker with ejabberd-test/servers.sh start");
    }

    [TestCase(false), TestCase(true)]
    [CancelAfter(60_000)]
    public async Task Publishes_over_amqps_checking_the_server_certificate_against_the_configured_CA(bool clientCertificate)
    {
        RequireTls();
        var p = Exchanges("tls");
        await using var col = await Collector.StartAsync(Port, p.Rabbit.Enabled().Select(e => e.Exchange.Name));
        await using var pub = Publisher(Options(TlsPort, o =>
        {
            o.Tls.Enabled = true;
            o.Tls.CaCertificatePath = Path.Combine(TlsDir, "ca.pem");
            if (clientCertificate) o.Tls.ClientCertificatePath = Path.Combine(TlsDir, "client.pem");
        }), p);
        await pub.StartAsync(default);
        await WaitUntil(() => pub.IsConnected, TimeSpan.FromSeconds(15), "a TLS connection");
        await pub.EnqueueAsync(new PresenceEvent("alice@localhost/tls", true, "alice@localhost"), default);
        await WaitUntil(() => col.Count == 1, TimeSpan.FromSeconds(15), "the event published over TLS");
        Assert.That(col.Snapshot()[0].Body, Is.EqualTo("{\"user_id\":\"alice@localhost/tls\",\"present\":true}"));
    }

    [Test, CancelAfter(60_000)]
    public async Task A_server_name_that_does_not_match_the_certificate_is_refused()
    {
        RequireTls();
        using var probe = new MetricsProbe();
        await using var pub = Publisher(Options(TlsPort, o =>
        {
            o.Tls.Enabled = true;
            o.Tls.CaCertificatePath = Path.Combine(TlsDir, "ca.pem");
            o.Tls.ServerName = "not-the-broker.example";
        }), Exchanges("tlsname"));
        await pub.StartAsync(default);
        await WaitUntil(() => probe["mod_event_pusher_rabbit.connection_failed"] >= 1, TimeSpan.FromSeconds(15), "a failed TLS attempt");
        Assert.That(pub.IsConnected, Is.False);
        Assert.That(probe["mod_event_pusher_rabbit.connections_opened"], Is.Zero);
    }

    [Test, CancelAfter(60_000)]
    public async Task Without_the_CA_the_private_certificate_is_not_trusted()
    {
        RequireTls();
        using var probe = new MetricsProbe();
        await using var pub = Publisher(Options(TlsPort, o => o.Tls.Enabled = true), Exchanges("tlsca"));
        await pub.StartAsync(default);
        await WaitUntil(() => probe["mod_event_pusher_rabbit.connection_failed"] >= 1, TimeSpan.FromSeconds(15), "a failed TLS attempt");
        Assert.That(pub.IsConnected, Is.False);
    }
}
