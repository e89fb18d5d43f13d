using XmppRabbitComponent.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using XmppRabbitComponent.Configuration;
using XmppRabbitComponent.Publishing;
using XmppRabbitComponent.Supervision;

namespace XmppRabbitComponent.Tests.Publishing;

public class WorkerSelectorTests
{
    [Test]
    public void User_hash_is_stable_in_range_and_spreads()
    {
        var queues = Enumerable.Range(0, 1000).Select(i => WorkerSelector.UserHash($"user{i}@localhost", 10)).ToList();
        Assert.That(queues, Is.All.InRange(0, 9));
        Assert.That(queues.Distinct().Count(), Is.EqualTo(10));
        Assert.That(queues.GroupBy(x => x).Min(g => g.Count()), Is.GreaterThan(50));
        Assert.That(WorkerSelector.UserHash("alice@localhost", 10), Is.EqualTo(WorkerSelector.UserHash("alice@localhost", 10)));
        Assert.That(WorkerSelector.Fnv1a(""), Is.EqualTo(2166136261u));
        Assert.That(WorkerSelector.Fnv1a("a"), Is.EqualTo(0xe40c292cu));
    }

    [Test]
    public void Best_worker_takes_the_shortest_worker_queue_and_rotates_ties()
    {
        int[] loads = [3, 1, 2, 1];
        var s = new WorkerSelector(WorkerStrategy.BestWorker, 4);
        var picks = Enumerable.Range(0, 4).Select(_ => s.Select("x", i => loads[i])).ToList();
        Assert.That(picks, Is.All.AnyOf(1, 3));
        Assert.That(picks.Distinct().Count(), Is.EqualTo(2));
        int[] zero = [0, 0, 0];
        var z = new WorkerSelector(WorkerStrategy.BestWorker, 3);
        Assert.That(Enumerable.Range(0, 3).Select(_ => z.Select("x", i => zero[i])), Is.EquivalentTo(new[] { 0, 1, 2 }));
    }

    [Test]
    public void Available_worker_uses_one_shared_worker_queue_and_only_user_hash_keeps_order()
    {
        Assert.That(new WorkerSelector(WorkerStrategy.AvailableWorker, 10).Queues, Is.EqualTo(1));
        Assert.That(new WorkerSelector(WorkerStrategy.AvailableWorker, 10).Select("a@b", _ => 0), Is.Zero);
        Assert.That(new WorkerSelector(WorkerStrategy.UserHash, 10).KeepsPerUserOrder, Is.True);
        Assert.That(new WorkerSelector(WorkerStrategy.BestWorker, 10).KeepsPerUserOrder, Is.False);
        Assert.That(new WorkerSelector(WorkerStrategy.AvailableWorker, 10).KeepsPerUserOrder, Is.False);
        Assert.That(new WorkerSelector(WorkerStrategy.BestWorker, 1).KeepsPerUserOrder, Is.True);
    }
}

public class BackoffTests
{
    private static readonly TimeSpan Min = TimeSpan.FromMilliseconds(500), Max = TimeSpan.FromSeconds(15);

    [TestCase(0, 500), TestCase(1, 1000), TestCase(2, 2000), TestCase(5, 15000), TestCase(40, 15000)]
    public void Doubles_up_to_the_cap_with_jitter_between_half_and_full(int attempt, int cappedMs)
    {
        Assert.That(Backoff.Delay(attempt, Min, Max, 0.999999).TotalMilliseconds, Is.EqualTo(cappedMs).Within(1));
        Assert.That(Backoff.Delay(attempt, Min, Max, 0).TotalMilliseconds, Is.EqualTo(cappedMs / 2.0).Within(1));
    }

    [Test]
    public async Task Publisher_retries_the_first_connection_on_the_backoff_schedule_of_the_fake_clock()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddYears(55));
        using var probe = new MetricsProbe();
        var o = new RabbitOptions { Host = "127.0.0.1", Port = 1, ReconnectMinDelay = TimeSpan.FromSeconds(10), ReconnectMaxDelay = TimeSpan.FromSeconds(40), ConnectTimeout = TimeSpan.FromSeconds(2) };
        await using var pub = RabbitTestEnv.Publisher(o, new EventPusherOptions(), time: time);
        var start = pub.StartAsync(default);
        await RabbitTestEnv.WaitUntil(() => probe["mod_event_pusher_rabbit.connection_failed"] == 1, TimeSpan.FromSeconds(10), "first failed attempt");
        await start.WaitAsync(TimeSpan.FromSeconds(5)); // returns although the broker is down
        await Task.Delay(300);
        Assert.That(probe["mod_event_pusher_rabbit.connection_failed"], Is.EqualTo(1), "no retry before the clock moves");
        time.Advance(TimeSpan.FromSeconds(4.9)); // below the minimum (half of 10 s)
        await Task.Delay(300);
        Assert.That(probe["mod_event_pusher_rabbit.connection_failed"], Is.EqualTo(1));
        time.Advance(TimeSpan.FromSeconds(5.2)); // past 10 s: the first delay is over whatever the jitter
        await RabbitTestEnv.WaitUntil(() => probe["mod_event_pusher_rabbit.connection_failed"] == 2, TimeSpan.FromSeconds(10), "second attempt");
        Assert.That(pub.IsConnected, Is.False);
        var stop = pub.StopAsync(default);
        while (!stop.IsCompleted) { time.Advance(TimeSpan.FromSeconds(5)); await Task.Delay(20); }
        await stop;
    }
}

public class PublishBufferTests
{
    private static PublishEnvelope Env(int n) => new("x", "k", "presence", [], n.ToString(), 0);

    [Test]
    public void Drop_oldest_drops_the_oldest_of_the_worker_queue_and_counts_the_reason()
    {
        var dropped = new List<(string, string)>();
        var b = new PublishBuffer(2, maxTotal: 4, maxQueue: 3, BufferFullPolicy.DropOldest, (e, r) => dropped.Add((e.MessageId, r)));
        for (var i = 0; i < 4; i++) Assert.That(b.AddAsync(Env(i), 0, default).Result, Is.True);
        Assert.That(dropped, Is.EqualTo(new[] { ("0", "worker_queue_full") }));
        Assert.That(b.AddAsync(Env(10), 1, default).Result, Is.True);
        Assert.That(b.AddAsync(Env(11), 1, default).Result, Is.True); // total 5 > 4: oldest of worker queue 1
        Assert.That(dropped[1..], Is.EqualTo(new[] { ("10", "buffer_full") }));
        Assert.That(b.Count, Is.EqualTo(4));
        Assert.That(b.TryTake(0, out var e) && e.MessageId == "1", Is.True);
    }

    [Test]
    public void Drop_oldest_takes_from_the_longest_worker_queue_when_the_target_is_empty()
    {
        var dropped = new List<string>();
        var b = new PublishBuffer(3, maxTotal: 3, maxQueue: 0, BufferFullPolicy.DropOldest, (e, _) => dropped.Add(e.MessageId));
        b.AddAsync(Env(1), 0, default); b.AddAsync(Env(2), 1, default); b.AddAsync(Env(3), 1, default);
        b.AddAsync(Env(4), 2, default);
        Assert.That(dropped, Is.EqualTo(new[] { "2" }));
    }

    [Test]
    public async Task Backpressure_waits_for_room_and_never_drops()
    {
        var dropped = 0;
        var b = new PublishBuffer(1, maxTotal: 2, maxQueue: 0, BufferFullPolicy.Backpressure, (_, _) => dropped++);
        await b.AddAsync(Env(1), 0, default); await b.AddAsync(Env(2), 0, default);
        var third = b.AddAsync(Env(3), 0, default).AsTask();
        await Task.Delay(50);
        Assert.That(third.IsCompleted, Is.False);
        Assert.That(b.TryTake(0, out _), Is.True);
        Assert.That(await third.WaitAsync(TimeSpan.FromSeconds(5)), Is.True);
        Assert.That(dropped, Is.Zero);
        var cts = new CancellationTokenSource();
        var fourth = b.AddAsync(Env(4), 0, cts.Token).AsTask();
        cts.Cancel();
        Assert.ThrowsAsync<TaskCanceledException>(() => fourth);
    }

    [Test]
    public async Task Complete_releases_waiters_and_refuses_new_events()
    {
        var b = new PublishBuffer(1, 1, 0, BufferFullPolicy.Backpressure, (_, _) => { });
        await b.AddAsync(Env(1), 0, default);
        var waiting = b.AddAsync(Env(2), 0, default).AsTask();
        b.Complete();
        Assert.That(await waiting, Is.False);
        Assert.That(await b.AddAsync(Env(3), 0, default), Is.False);
        Assert.That(await b.WaitToTakeAsync(0, default), Is.True);
        Assert.That(b.TryTake(0, out _), Is.True);
        Assert.That(await b.WaitToTakeAsync(0, default), Is.False);
    }

    [Test]
    public async Task A_deferred_add_wakes_the_waiting_worker_only_on_WakeDeferred()
    {
        var b = new PublishBuffer(2, 100, 0, BufferFullPolicy.Backpressure, (_, _) => { });
        var w0 = b.WaitToTakeAsync(0, default).AsTask();
        var w1 = b.WaitToTakeAsync(1, default).AsTask();
        Assert.That(await b.AddAsync(Env(1), 0, default, deferWake: true), Is.True);
        Assert.That(await b.AddAsync(Env(2), 1, default, deferWake: true), Is.True);
        await Task.Delay(50);
        Assert.That(w0.IsCompleted || w1.IsCompleted, Is.False, "deferred: no worker woken yet");
        // A worker that looks by itself finds the event at once.
        Assert.That(await b.WaitToTakeAsync(0, default), Is.True);
        b.WakeDeferred();
        Assert.That(await w0.WaitAsync(TimeSpan.FromSeconds(5)), Is.True);
        Assert.That(await w1.WaitAsync(TimeSpan.FromSeconds(5)), Is.True);
        // An immediate add wakes at once.
        Assert.That(b.TryTake(0, out _) && b.TryTake(1, out _), Is.True);
        var again = b.WaitToTakeAsync(0, default).AsTask();
        await b.AddAsync(Env(3), 0, default);
        Assert.That(await again.WaitAsync(TimeSpan.FromSeconds(5)), Is.True);
    }

    [Test]
    public async Task Deferred_adds_wake_the_workers_after_MaxDeferredEvents()
    {
        var b = new PublishBuffer(2, 1000, 0, BufferFullPolicy.Backpressure, (_, _) => { });
        var w1 = b.WaitToTakeAsync(1, default).AsTask();
        await b.AddAsync(Env(0), 1, default, deferWake: true);
        for (var i = 1; i < PublishBuffer.MaxDeferredEvents - 1; i++) await b.AddAsync(Env(i), 0, default, deferWake: true);
        await Task.Delay(50);
        Assert.That(w1.IsCompleted, Is.False);
        await b.AddAsync(Env(99), 0, default, deferWake: true);
        Assert.That(await w1.WaitAsync(TimeSpan.FromSeconds(5)), Is.True);
    }

    [Test]
    public async Task Deferred_wake_ups_are_released_before_waiting_for_room_and_on_complete()
    {
        var b = new PublishBuffer(2, maxTotal: 2, maxQueue: 0, BufferFullPolicy.Backpressure, (_, _) => { });
        var w0 = b.WaitToTakeAsync(0, default).AsTask();
        await b.AddAsync(Env(1), 0, default, deferWake: true);
        await b.AddAsync(Env(2), 1, default, deferWake: true);
        // Full: the producer is about to wait for room a worker must make, so the worker is woken first.
        var third = b.AddAsync(Env(3), 1, default, deferWake: true).AsTask();
        Assert.That(await w0.WaitAsync(TimeSpan.FromSeconds(5)), Is.True);
        Assert.That(b.TryTake(0, out _), Is.True);
        Assert.That(await third.WaitAsync(TimeSpan.FromSeconds(5)), Is.True);

        var c = new PublishBuffer(1, 10, 0, BufferFullPolicy.Backpressure, (_, _) => { });
        var waiting = c.WaitToTakeAsync(0, default).AsTask();
        await c.AddAsync(Env(1), 0, default, deferWake: true);
        c.Complete();
        Assert.That(await waiting.WaitAsync(TimeSpan.FromSeconds(5)), Is.True, "the worker is released and finds its event");
    }
}

public class DeclarerAndHostTests
{
    [Test]
    public void Parses_the_brokers_inequivalent_arg_text()
    {
        Assert.That(ExchangeDeclarer.TryParseInequivalent(
            "PRECONDITION_FAILED - inequivalent arg 'durable' for exchange 'chat_msg' in vhost '/': received 'false' but current is 'true'",
            out var arg, out var rec, out var cur), Is.True);
        Assert.That((arg, rec, cur), Is.EqualTo(("durable", "false", "true")));
        Assert.That(ExchangeDeclarer.TryParseInequivalent("NOT_FOUND - no exchange", out _, out _, out _), Is.False);
    }

    [TestCase("rabbit1", "rabbit1", 5672), TestCase("rabbit2:5673", "rabbit2", 5673), TestCase("[::1]:5674", "::1", 5674), TestCase("::1", "::1", 5672)]
    public void Parses_hosts(string entry, string host, int port) =>
        Assert.That(RabbitConnectionFactory.ParseHost(entry, 5672), Is.EqualTo((host, port)));

    [Test]
    public void Only_enabled_exchanges_are_declared()
    {
        var p = new EventPusherRabbitOptions();
        p.ChatMsgExchange.Enabled = false;
        Assert.That(ExchangeDeclarer.Specs(p).Select(s => s.Name), Is.EqualTo(new[] { "presence", "groupchat_msg" }));
    }
}
