using XmppRabbitComponent.Tests.Support;
using RabbitMQ.Client;
using XmppRabbitComponent.Configuration;
using XmppRabbitComponent.Events;
using XmppRabbitComponent.Observability;
using XmppRabbitComponent.Publishing;
using static XmppRabbitComponent.Tests.Publishing.RabbitTestEnv;

namespace XmppRabbitComponent.Tests.Publishing;

[Category("Integration")]
[NonParallelizable]
public class PublisherIntegrationTests
{
    private static MessageEvent Msg(string user, int n) => new(EventKind.ChatMsgSent, "bob@localhost", n.ToString(), user + "/r", user);

    private static string[] Names(EventPusherOptions p) => p.Rabbit.Enabled().Select(e => e.Exchange.Name).ToArray();

    [TestCase("user_hash", true), TestCase("best_worker", true), TestCase("available_worker", true), TestCase("user_hash", false)]
    [CancelAfter(60_000)]
    public async Task Each_strategy_delivers_everything(string strategy, bool confirms)
    {
        RequireBroker(Port);
        var p = Exchanges("strat");
        await using var col = await Collector.StartAsync(Port, Names(p));
        await using var pub = Publisher(Options(Port, o => { o.Strategy = strategy; o.ConfirmsEnabled = confirms; }), p);
        await pub.StartAsync(default);
        const int n = 5000;
        for (var i = 0; i < n; i++) await pub.EnqueueAsync(Msg($"u{i % 37}@localhost", i), default);
        await WaitUntil(() => col.Count >= n, TimeSpan.FromSeconds(30), $"{n} deliveries ({strategy})");
        var got = col.Snapshot();
        Assert.That(got.Select(x => x.Body).Distinct().Count(), Is.EqualTo(n));
        Assert.That(got[0].Type, Is.EqualTo("chat_msg_sent"));
        Assert.That(pub.Pending, Is.Zero);
    }

    [Test, CancelAfter(90_000)]
    public async Task User_hash_keeps_one_users_10000_events_in_order_across_10_workers()
    {
        RequireBroker(Port);
        var p = Exchanges("order");
        await using var col = await Collector.StartAsync(Port, Names(p));
        await using var pub = Publisher(Options(Port, o => { o.Strategy = "user_hash"; o.Workers = 10; o.ConfirmsEnabled = true; }), p);
        await pub.StartAsync(default);
        Assert.That(pub.KeepsPerUserOrder, Is.True);
        var others = Enumerable.Range(0, 9).Select(u => Task.Run(async () =>
        {
            for (var i = 0; i < 3000; i++) await pub.EnqueueAsync(Msg($"other{u}@localhost", i), default);
        })).ToArray();
        for (var i = 0; i < 10_000; i++) await pub.EnqueueAsync(Msg("alice@localhost", i), default);
        await Task.WhenAll(others);
        const int total = 10_000 + 9 * 3000;
        await WaitUntil(() => col.Count >= total, TimeSpan.FromSeconds(60), "all deliveries");
        var alice = col.Snapshot().Where(x => x.Body.Contains("alice@localhost/r")).Select(x => int.Parse(System.Text.Json.JsonDocument.Parse(x.Body).RootElement.GetProperty("message").GetString()!)).ToList();
        Assert.That(alice, Is.EqualTo(Enumerable.Range(0, 10_000).ToList()));
    }

    [Test, CancelAfter(180_000)]
    public async Task Confirms_on_broker_sigkilled_mid_stream_loses_nothing()
    {
        RequireBroker(Port2);
        var p = Exchanges("crash", durable: true);
        string queue;
        await using (var setup = await Collector.StartAsync(Port2, Names(p), durableQueue: true, exchangeDurable: true, consume: false)) queue = setup.Queue;
        using var probe = new MetricsProbe();
        await using var pub = Publisher(Options(Port2, o => { o.ConfirmsEnabled = true; o.ConfirmTimeout = TimeSpan.FromSeconds(5); }), p);
        await pub.StartAsync(default);
        const int n = 20_000;
        var producer = Task.Run(async () =>
        {
            for (var i = 0; i < n; i++)
            {
                await pub.EnqueueAsync(Msg($"u{i % 50}@localhost", i), default);
                if (i % 100 == 0) await Task.Delay(5);
            }
        });
        await WaitUntil(() => probe["mod_event_pusher_rabbit.messages_published"] > 2000, TimeSpan.FromSeconds(30), "2000 published before the kill");
        Control("kill");
        await Task.Delay(1000);
        Assert.That(pub.IsConnected, Is.False);
        Control("start");
        await producer;
        await WaitUntil(() => pub.Pending == 0, TimeSpan.FromSeconds(90), "pending to reach 0 after the restart");

        await using var conn = await ConnectAsync(Port2);
        await using var ch = await conn.CreateChannelAsync();
        var ids = new Dictionary<string, string>();
        var dupes = 0;
        while (await ch.BasicGetAsync(queue, autoAck: true) is { } m)
        {
            var body = System.Text.Encoding.UTF8.GetString(m.Body.Span);
            var num = System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("message").GetString()!;
            if (ids.TryGetValue(num, out var id)) { dupes++; Assert.That(m.BasicProperties.MessageId, Is.EqualTo(id), "a duplicate carries the same message_id"); }
            else ids[num] = m.BasicProperties.MessageId!;
        }
        await ch.QueueDeleteAsync(queue);
        TestContext.Out.WriteLine($"distinct {ids.Count}, duplicates {dupes}, opened {probe["mod_event_pusher_rabbit.connections_opened"]}, failed {probe["mod_event_pusher_rabbit.connection_failed"]}");
        Assert.That(Enumerable.Range(0, n).Select(i => i.ToString()).Except(ids.Keys), Is.Empty, "missing events");
        Assert.That(probe["mod_event_pusher_rabbit.connections_opened"] - probe["mod_event_pusher_rabbit.connections_closed"], Is.EqualTo(1), "connections_active does not drift");
    }

    [Test, CancelAfter(180_000)]
    public async Task Broker_restart_with_non_durable_exchanges_resumes_publishing()
    {
        RequireBroker(Port2);
        var p = Exchanges("redecl", durable: false);
        await using var pub = Publisher(Options(Port2, o => o.ConfirmsEnabled = true), p);
        await pub.StartAsync(default);
        await WaitUntil(() => pub.IsConnected, TimeSpan.FromSeconds(10), "connected");
        Control("kill");
        Control("start");
        await WaitUntil(() => pub.IsConnected, TimeSpan.FromSeconds(30), "reconnected");
        // The exchanges vanished with the broker; the publisher declared them again.
        await using (var conn = await ConnectAsync(Port2))
        await using (var ch = await conn.CreateChannelAsync())
            foreach (var x in Names(p)) await ch.ExchangeDeclarePassiveAsync(x); // throws 404 if not re-declared
        await using var col = await Collector.StartAsync(Port2, Names(p));
        for (var i = 0; i < 100; i++) await pub.EnqueueAsync(Msg("a@localhost", i), default);
        await WaitUntil(() => col.Count >= 100, TimeSpan.FromSeconds(20), "100 deliveries after the restart");
    }

    [Test, CancelAfter(60_000)]
    public async Task Broker_down_at_start_up_component_waits_then_publishes()
    {
        RequireBroker(Port);
        await using var proxy = new ToggleProxy(Port);
        var p = Exchanges("late");
        await using var col = await Collector.StartAsync(Port, Names(p));
        using var probe = new MetricsProbe();
        await using var pub = Publisher(Options(proxy.Port, o => o.ConfirmsEnabled = true), p);
        var start = System.Diagnostics.Stopwatch.StartNew();
        await pub.StartAsync(default);
        Assert.That(start.Elapsed, Is.LessThan(TimeSpan.FromSeconds(3)), "StartAsync must not block while the broker is down");
        Assert.That(pub.IsConnected, Is.False);
        for (var i = 0; i < 500; i++) await pub.EnqueueAsync(Msg($"u{i % 7}@localhost", i), default);
        Assert.That(pub.Pending, Is.EqualTo(500));
        await WaitUntil(() => probe["mod_event_pusher_rabbit.connection_failed"] >= 2, TimeSpan.FromSeconds(10), "retries");
        proxy.Up();
        await WaitUntil(() => col.Count >= 500 && pub.Pending == 0, TimeSpan.FromSeconds(20), "500 deliveries once the broker appears");
    }

    [Test, CancelAfter(30_000)]
    public async Task Exchange_parameter_mismatch_fails_start_up_naming_exchange_and_both_parameter_sets()
    {
        RequireBroker(Port);
        var p = Exchanges("mismatch", durable: false, type: "topic");
        var chat = p.Rabbit.ChatMsgExchange.Name;
        await using (var conn = await ConnectAsync(Port))
        await using (var ch = await conn.CreateChannelAsync())
            await ch.ExchangeDeclareAsync(chat, "direct", durable: true, autoDelete: true);
        await using var pub = Publisher(Options(Port), p);
        var ex = Assert.ThrowsAsync<ExchangeMismatchException>(() => pub.StartAsync(default))!;
        TestContext.Out.WriteLine(ex.Message);
        Assert.That(ex.Message, Does.Contain($"'{chat}'"));
        Assert.That(ex.Message, Does.Contain("configured type=topic, durable=false, auto_delete=false"));
        Assert.That(ex.Message, Does.Contain("on the broker type=direct, durable=true, auto_delete=true"));
    }

    [Test, CancelAfter(60_000)]
    public async Task Buffer_full_drop_oldest_drops_and_counts_only_the_oldest()
    {
        RequireBroker(Port);
        await using var proxy = new ToggleProxy(Port);
        var p = Exchanges("dropold");
        await using var col = await Collector.StartAsync(Port, Names(p));
        using var probe = new MetricsProbe();
        await using var pub = Publisher(Options(proxy.Port, o => { o.ConfirmsEnabled = true; o.Workers = 1; o.MaxBufferedEvents = 100; o.BufferFullPolicy = "drop_oldest"; }), p);
        await pub.StartAsync(default);
        for (var i = 0; i < 150; i++) await pub.EnqueueAsync(Msg("a@localhost", i), default);
        Assert.That(probe["xmpp_component.events.dropped:buffer_full"], Is.EqualTo(50));
        proxy.Up();
        await WaitUntil(() => col.Count >= 100 && pub.Pending == 0, TimeSpan.FromSeconds(20), "the 100 newest");
        await Task.Delay(300);
        var got = col.Snapshot().Select(x => int.Parse(System.Text.Json.JsonDocument.Parse(x.Body).RootElement.GetProperty("message").GetString()!)).ToList();
        Assert.That(got, Is.EqualTo(Enumerable.Range(50, 100).ToList()));
    }

    [Test, CancelAfter(60_000)]
    public async Task Buffer_full_backpressure_blocks_the_caller_and_loses_nothing()
    {
        RequireBroker(Port);
        await using var proxy = new ToggleProxy(Port);
        var p = Exchanges("backp");
        await using var col = await Collector.StartAsync(Port, Names(p));
        using var probe = new MetricsProbe();
        await using var pub = Publisher(Options(proxy.Port, o => { o.ConfirmsEnabled = true; o.Workers = 2; o.MaxBufferedEvents = 100; o.BufferFullPolicy = "backpressure"; }), p);
        await pub.StartAsync(default);
        for (var i = 0; i < 100; i++) await pub.EnqueueAsync(Msg($"u{i % 3}@localhost", i), default);
        var blocked = pub.EnqueueAsync(Msg("u0@localhost", 100), default).AsTask();
        await Task.Delay(500);
        Assert.That(blocked.IsCompleted, Is.False, "the 101st event waits (the XMPP reader stops)");
        proxy.Up();
        await blocked.WaitAsync(TimeSpan.FromSeconds(20));
        await WaitUntil(() => col.Count >= 101, TimeSpan.FromSeconds(20), "all 101");
        Assert.That(probe["xmpp_component.events.dropped:buffer_full"], Is.Zero);
    }

    [Test, CancelAfter(60_000)]
    public async Task Properties_are_set_and_mandatory_returns_are_counted_not_published()
    {
        RequireBroker(Port);
        var p = Exchanges("props");
        using var probe = new MetricsProbe();
        await using var pub = Publisher(Options(Port, o => { o.ConfirmsEnabled = true; o.Mandatory = true; }), p);
        await pub.StartAsync(default);
        await pub.EnqueueAsync(new PresenceEvent("nobody@localhost/r", true, "nobody@localhost"), default);
        await WaitUntil(() => pub.Pending == 0, TimeSpan.FromSeconds(10), "the unroutable event to be settled");
        Assert.That(probe["xmpp_component.messages.returned"], Is.EqualTo(1));
        Assert.That(probe["mod_event_pusher_rabbit.messages_published"], Is.Zero);

        await using var conn = await ConnectAsync(Port);
        await using var ch = await conn.CreateChannelAsync();
        var q = await ch.QueueDeclareAsync("", false, true, true);
        await ch.QueueBindAsync(q.QueueName, p.Rabbit.PresenceExchange.Name, "#");
        await pub.EnqueueAsync(new PresenceEvent("alice@localhost/r", false, "alice@localhost"), default);
        await WaitUntil(() => pub.Pending == 0, TimeSpan.FromSeconds(10), "published");
        var m = await ch.BasicGetAsync(q.QueueName, true);
        Assert.That(m, Is.Not.Null);
        var pr = m!.BasicProperties;
        Assert.Multiple(() =>
        {
            Assert.That(pr.ContentType, Is.EqualTo("application/json"));
            Assert.That(pr.DeliveryMode, Is.EqualTo(DeliveryModes.Persistent));
            Assert.That(Guid.TryParse(pr.MessageId, out _), Is.True);
            Assert.That(pr.Timestamp.UnixTime, Is.GreaterThan(1_700_000_000));
            Assert.That(pr.Type, Is.EqualTo("presence"));
            Assert.That(pr.AppId, Is.EqualTo("xmpp-rabbit-component"));
            Assert.That(m.RoutingKey, Is.EqualTo("alice@localhost"));
            Assert.That(System.Text.Encoding.UTF8.GetString(m.Body.Span), Is.EqualTo("{\"user_id\":\"alice@localhost/r\",\"present\":false}"));
        });
    }

    [Test, CancelAfter(60_000)]
    public async Task Graceful_stop_publishes_what_is_buffered_and_disabled_or_too_long_events_are_counted()
    {
        RequireBroker(Port);
        var p = Exchanges("stop");
        p.Rabbit.GroupchatMsgExchange.Enabled = false;
        await using var col = await Collector.StartAsync(Port, Names(p));
        using var probe = new MetricsProbe();
        var pub = Publisher(Options(Port, o => o.ConfirmsEnabled = true), p);
        await pub.StartAsync(default);
        await pub.EnqueueAsync(new MessageEvent(EventKind.GroupchatMsgSent, "room@muc.localhost", "x", "a@localhost/r", "a@localhost"), default);
        await pub.EnqueueAsync(Msg(new string('a', 250) + "@localhost", 1), default);
        Assert.That(probe["xmpp_component.events.dropped:disabled"], Is.EqualTo(1));
        Assert.That(probe["xmpp_component.events.dropped:routing_key_too_long"], Is.EqualTo(1));
        for (var i = 0; i < 3000; i++) await pub.EnqueueAsync(Msg($"u{i % 5}@localhost", i), default);
        await pub.StopAsync(default);
        Assert.That(pub.Pending, Is.Zero);
        await WaitUntil(() => col.Count >= 3000, TimeSpan.FromSeconds(10), "all 3000 after stop");
        Assert.That(probe["mod_event_pusher_rabbit.connections_opened"], Is.EqualTo(1));
        Assert.That(probe["mod_event_pusher_rabbit.connections_closed"], Is.EqualTo(1));
        await pub.EnqueueAsync(Msg("late@localhost", 1), default);
        Assert.That(probe["xmpp_component.events.dropped:shutdown"], Is.EqualTo(1));
    }

    [Test, CancelAfter(60_000)]
    public async Task A_nacked_event_counts_as_failed_is_published_again_and_is_dropped_after_MaxNacksPerEvent()
    {
        RequireBroker(Port);
        var p = Exchanges("nack");
        // A queue that is always full and rejects publishes: with confirms on, the broker nacks every event routed to it.
        await using var conn = await ConnectAsync(Port);
        await using var ch = await conn.CreateChannelAsync();
        await ch.ExchangeDeclareAsync(p.Rabbit.ChatMsgExchange.Name, p.Rabbit.ChatMsgExchange.Type, p.Rabbit.ChatMsgExchange.Durable);
        var full = await ch.QueueDeclareAsync("", false, true, true,
            new Dictionary<string, object?> { ["x-max-length"] = 0, ["x-overflow"] = "reject-publish" });
        await ch.QueueBindAsync(full.QueueName, p.Rabbit.ChatMsgExchange.Name, "#");
        using var probe = new MetricsProbe();
        await using var pub = Publisher(Options(Port, o => { o.ConfirmsEnabled = true; o.MaxNacksPerEvent = 3; }), p);
        await pub.StartAsync(default);

        await pub.EnqueueAsync(Msg("alice@localhost", 1), default);
        await WaitUntil(() => pub.Pending == 0, TimeSpan.FromSeconds(20), "the nacked event to be settled");
        Assert.Multiple(() =>
        {
            Assert.That(probe["mod_event_pusher_rabbit.messages_failed"], Is.EqualTo(3), "each nack is a failed publish");
            Assert.That(probe["xmpp_component.events.dropped:nacked"], Is.EqualTo(1), "dropped after MaxNacksPerEvent nacks");
            Assert.That(probe["mod_event_pusher_rabbit.messages_published"], Is.Zero, "a nack is never a success");
        });

        // The worker is not blocked: once the broker accepts again, the next event is acked.
        await ch.QueueDeleteAsync(full.QueueName);
        await pub.EnqueueAsync(Msg("alice@localhost", 2), default);
        await WaitUntil(() => probe["mod_event_pusher_rabbit.messages_published"] == 1, TimeSpan.FromSeconds(20), "the next event acked");
    }
}
