using System.Text.RegularExpressions;
using XmppRabbitComponent.Tests.Support;

namespace XmppRabbitComponent.Tests.Integration;

/// <summary>Observability against the real servers: the seed's instrumentation cases, the Prometheus endpoint, readiness.</summary>
[TestFixture, Category("Integration"), NonParallelizable]
public sealed class ObservabilityTests
{
    private static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(10);
    private readonly XmppTestServers _servers = XmppTestServers.Current;

    [SetUp]
    public Task RequireServers() => _servers.RequireAsync();

    private static async Task Eventually(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out waiting for: {what}");
            await Task.Delay(100);
        }
    }

    /// <summary>
    /// Every counter exists from start-up at 0 for its known labels, so that <c>rate()</c> and alerts see 0 instead of
    /// "no data" (docs/publishing.md, "Metrics"): scraped right after start, before any user traffic.
    /// </summary>
    [Test]
    public async Task Every_seed_counter_and_component_counter_is_exported_at_0_before_any_traffic()
    {
        var component = await ComponentUnderTest.StartAsync(_servers);
        string text;
        try
        {
            (_, text) = await component.GetAsync("/metrics");
        }
        finally
        {
            await component.DisposeAsync();
        }
        TestContext.Out.WriteLine(string.Join("\n", text.Split('\n').Where(l => l.StartsWith("mod_event_pusher_rabbit") || l.StartsWith("xmpp_component"))));
        static string Zero(string name, string label) => $@"(?m)^{name}\{{[^}}]*{label}[^}}]*\}} 0( |$)";
        Assert.Multiple(() =>
        {
            foreach (var seed in new[] { "connections_closed", "connection_failed", "messages_failed", "messages_timeout" })
                Assert.That(text, Does.Match(Zero($"mod_event_pusher_rabbit_{seed}_total", @"host=""localhost""")), seed);
            foreach (var reason in XmppRabbitComponent.Observability.ComponentMetrics.DropReasons)
                Assert.That(text, Does.Match(Zero("xmpp_component_events_dropped_total", $@"reason=""{reason}""")), "dropped " + reason);
            foreach (var kind in new[] { "presence", "chat_msg_sent", "chat_msg_recv", "groupchat_msg_sent", "groupchat_msg_recv" })
                Assert.That(text, Does.Match(Zero("xmpp_component_events_produced_total", $@"kind=""{kind}""")), "produced " + kind);
            foreach (var reason in Enum.GetValues<XmppRabbitComponent.Classification.SkipReason>().Select(XmppRabbitComponent.Classification.SkipReasons.Label)
                         .Where(r => r is not "privilege_advertisement" and not "iq"))
                Assert.That(text, Does.Match(Zero("xmpp_component_stanzas_skipped_total", $@"reason=""{reason}""")), "skipped " + reason);
            foreach (var loop in XmppRabbitComponent.Observability.ComponentMetrics.LoopNames)
                Assert.That(text, Does.Match(Zero("xmpp_component_loop_faults_total", $@"loop=""{loop}""")), "loop " + loop);
            foreach (var cause in new[] { "eof", "io", "timeout", "conflict", "system-shutdown" })
                Assert.That(text, Does.Match(Zero("xmpp_component_stream_reconnects_total", $@"cause=""{cause}""")), "reconnect " + cause);
            Assert.That(text, Does.Match(Zero("xmpp_component_messages_returned_total", @"messaging_destination_name=""chat_msg""")), "returned chat_msg");
        });
    }

    [Test]
    public async Task Seed_metrics_move_as_the_reference_instrumentation_cases_say()
    {
        using var probe = new MetricsProbe();
        const string p = "mod_event_pusher_rabbit.";
        var component = await ComponentUnderTest.StartAsync(_servers);
        TestXmppClient? alice = null, bob = null;
        try
        {
            Assert.That(probe.Sum(p + "connections_active", "host=localhost"), Is.EqualTo(1), "connect: active 1");
            Assert.That(probe.Sum(p + "connections_opened", "host=localhost"), Is.EqualTo(1), "connect: opened 1");
            Assert.That(probe.Sum(p + "connection_failed"), Is.Zero);

            await using var consumer = await TestEventConsumer.StartDefaultAsync(_servers);
            alice = await TestXmppClient.ConnectAsync(_servers, "alice", "metrics");
            bob = await TestXmppClient.ConnectAsync(_servers, "bob", "metrics");
            await alice.SendPresenceAsync();
            await bob.SendPresenceAsync();
            await consumer.TakeAsync(2, EventTimeout);
            await Eventually(() => probe.Sum(p + "messages_published") >= 2 && probe.Count(p + "message_publish_time") >= 2
                && probe.Count(p + "message_payload_size") >= 2, "the two presence events counted");
            var published = probe.Sum(p + "messages_published");
            var timed = probe.Count(p + "message_publish_time");
            var sized = probe.Count(p + "message_payload_size");
            var bytes = probe.Sum(p + "message_payload_size");

            TestContext.Out.WriteLine($"snapshot published={published} timed={timed} sized={sized} bytes={bytes}");
            await alice.SendMessageAsync("bob@localhost", "chat", "metrics");
            var chat = await consumer.TakeAsync(2, EventTimeout);
            await Eventually(() => probe.Count(p + "message_payload_size") >= sized + 2, "two more published");
            await Task.Delay(300); // anything extra would show up now
            Assert.Multiple(() =>
            {
                Assert.That(probe.Sum(p + "messages_published"), Is.EqualTo(published + 2), "one chat message: exactly two published (sent + received)");
                Assert.That(probe.Count(p + "message_publish_time"), Is.EqualTo(timed + 2), "publish time recorded per success");
                Assert.That(probe.Count(p + "message_payload_size"), Is.EqualTo(sized + 2), "payload size recorded per success");
                Assert.That(probe.Sum(p + "message_payload_size") - bytes, Is.EqualTo(chat.Sum(e => System.Text.Encoding.UTF8.GetByteCount(e.Body))), "payload size is the body's bytes");
                Assert.That(probe.Sum(p + "messages_failed") + probe.Sum(p + "messages_timeout"), Is.Zero);
                Assert.That(probe.Sum("xmpp_component.events.produced", "kind=chat_msg_sent"), Is.EqualTo(1));
                Assert.That(probe.Sum("xmpp_component.events.produced", "kind=chat_msg_recv"), Is.EqualTo(1));
                Assert.That(probe.Sum("messaging.client.sent.messages", "messaging.destination.name=chat_msg"), Is.EqualTo(2));
            });

            var (status, text) = await component.GetAsync("/metrics");
            Assert.That(status, Is.EqualTo(200));
            TestContext.Out.WriteLine(string.Join("\n", text.Split('\n').Where(l => l.StartsWith("mod_event_pusher_rabbit") || l.StartsWith("xmpp_component"))));
            Assert.That(text, Does.Match(@"mod_event_pusher_rabbit_messages_published_total\{[^}]*host=""localhost""[^}]*\} \d+"));
            Assert.That(text, Does.Contain("mod_event_pusher_rabbit_connections_active"));
            Assert.That(text, Does.Contain("mod_event_pusher_rabbit_message_publish_time_seconds_bucket"));
            Assert.That(text, Does.Contain("mod_event_pusher_rabbit_message_payload_size_bytes_bucket"));
            Assert.That(text, Does.Contain("messaging_client_sent_messages_total"));
            Assert.That(text, Does.Match(@"xmpp_component_stanzas_received_total\{[^}]*kind=""message"""));
            Assert.That(Regex.IsMatch(text, @"alice@|bob@"), Is.False, "never a JID in a label");
        }
        finally
        {
            if (alice is not null) await alice.LogoutAsync();
            if (bob is not null) await bob.LogoutAsync();
            await component.DisposeAsync();
        }
        Assert.That(probe.Sum(p + "connections_active", "host=localhost"), Is.Zero, "stop: active back to 0");
        Assert.That(probe.Sum(p + "connections_closed", "host=localhost"), Is.EqualTo(1), "stop: closed 1");
    }

    [Test]
    public async Task A_refused_broker_connection_counts_connection_failed_and_is_not_ready()
    {
        using var probe = new MetricsProbe();
        await using var component = await ComponentUnderTest.StartAsync(_servers,
            new Dictionary<string, string?> { ["Rabbit:Port"] = "1", ["Rabbit:ReconnectMinDelay"] = "00:00:05" }, waitForXmpp: false);
        await Eventually(() => probe.Sum("mod_event_pusher_rabbit.connection_failed") >= 1, "connection_failed +1");
        Assert.That(probe.Sum("mod_event_pusher_rabbit.connections_opened"), Is.Zero);
        var (status, body) = await component.GetAsync("/health/ready");
        Assert.That(status, Is.EqualTo(503), body);
        var (live, _) = await component.GetAsync("/health/live");
        Assert.That(live, Is.EqualTo(200), "the process is serving");
    }

    [TestCaseSource(typeof(TestServers), nameof(TestServers.XmppKinds))]
    public async Task Readiness_follows_the_XMPP_stream_when_the_server_stops_and_starts(XmppServerKind kind)
    {
        var server = TestServers.Xmpp(kind);
        await server.Facts.RequireAsync();
        await using var component = await ComponentUnderTest.StartAsync(server.Facts);
        Assert.That((await component.GetAsync("/health/ready")).Status, Is.EqualTo(200), "ready with both connections up");
        try
        {
            await server.StopAsync();
            await EventuallyAsync(async () => (await component.GetAsync("/health/ready")).Status == 503, $"not ready once {server.Name} is gone");
            Assert.That((await component.GetAsync("/health/live")).Status, Is.EqualTo(200));
        }
        finally
        {
            await server.StartAsync();
        }
        await EventuallyAsync(async () => (await component.GetAsync("/health/ready")).Status == 200, $"ready again after {server.Name} is back", TimeSpan.FromSeconds(30));
    }

    private static async Task EventuallyAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out waiting for: {what}");
            await Task.Delay(200);
        }
    }
}
