using XmppRabbitComponent.Tests.Integration;
using XmppRabbitComponent.Tests.Publishing;

namespace XmppRabbitComponent.Tests.HighAvailability;

/// <summary>
/// Active/standby with the real component as separate processes on the real ejabberd and RabbitMQ
/// (docs/high-availability.md): one instance's events only, takeover after SIGKILL and SIGTERM under ~50 messages/s,
/// and a broker restart under two instances. Times are printed; they are noisy on a busy machine.
/// </summary>
[TestFixture, Category("Integration"), NonParallelizable]
public sealed class FailoverTests : ProcessFixture
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20); // ~50 messages/s
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(40);
    private readonly XmppTestServers _servers = XmppTestServers.Current;

    [SetUp]
    public Task RequireServers() => _servers.RequireAsync();


    /// <summary>Instance <paramref name="name"/> (its app_id), the <paramref name="index"/>-th HTTP port.</summary>
    private ComponentProcess Instance(string name, int index, Dictionary<string, string>? extra = null)
    {
        var settings = ComponentProcess.BaseSettings(_servers);
        if (extra is not null) foreach (var (k, v) in extra) settings[k] = v;
        return Track(ComponentProcess.Start(name, ComponentProcess.HttpPortBase + index, settings));
    }

    /// <summary>A active, then B warm standby (built, connected to the broker, refused the lease).</summary>
    private async Task<(ComponentProcess A, ComponentProcess B)> PairAsync(string tag, Dictionary<string, string>? extra = null)
    {
        var a = Instance($"{tag}-a", 0, extra);
        await a.WaitForRoleAsync("active", StartTimeout);
        var b = Instance($"{tag}-b", 1, extra);
        await b.WaitForRoleAsync("standby", StartTimeout);
        return (a, b);
    }

    private async Task<ChatTraffic> TrafficAsync()
    {
        var consumer = Track(await TestEventConsumer.StartAsync(_servers, ("chat_msg", "topic", false)));
        var traffic = Track(await ChatTraffic.StartAsync(_servers, consumer));
        await Task.Delay(300); // presence settles
        return traffic;
    }

    private static async Task WaitSentAsync(ChatTraffic traffic, int n)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (traffic.SentCount < n && DateTime.UtcNow < deadline) await Task.Delay(5);
    }

    [Test]
    public async Task Two_instances_under_steady_traffic_publish_exactly_the_events_of_one_instance()
    {
        var (a, b) = await PairAsync("steady");
        var traffic = await TrafficAsync();
        traffic.Send(150, Interval);
        await traffic.Sending;
        await traffic.SettleAsync(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(20));
        var fates = traffic.Fates();
        TestContext.Out.WriteLine(traffic.Describe());
        Assert.That(fates.Where(f => f.Fate != MessageFate.Ok || f.By != a.Name).Select(f => f.N), Is.Empty,
            $"every message: one sent and one received event, both by the active instance {a.Name}; {traffic.Describe()}");
        Assert.That(traffic.Events.Where(e => e.AppId == b.Name), Is.Empty, "the standby publishes nothing");
        var (_, bData) = await b.ReadinessAsync();
        Assert.That(bData.GetValueOrDefault("xmpp_stream"), Is.EqualTo("down"), "the standby has no XMPP stream");
    }

    [Test]
    public async Task SIGKILL_of_the_active_instance_under_load_hands_over_to_the_standby()
    {
        var (a, b) = await PairAsync("kill");
        var traffic = await TrafficAsync();
        traffic.Send(400, Interval);
        await WaitSentAsync(traffic, 100);
        var killedAt = DateTime.UtcNow;
        a.Kill();
        await traffic.Sending;
        await traffic.SettleAsync(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(20));

        var fates = traffic.Fates();
        var firstB = fates.FirstOrDefault(f => f.Fate == MessageFate.Ok && f.By == b.Name);
        Assert.That(firstB.By, Is.EqualTo(b.Name), $"the standby took over; {traffic.Describe()}\n{b.Tail()}");
        var flowing = traffic.Events.Where(e => e.AppId == b.Name).Min(e => e.At) - killedAt;
        var active = b.FindLine("Role Standby -> Active", killedAt);
        var after = fates.Where(f => f.N >= firstB.N).ToList();
        var lost = fates.Count(f => f.Fate == MessageFate.Lost);
        var boundary = fates.Where(f => f.N < firstB.N && f.Fate == MessageFate.Mislabelled).Select(f => f.N).ToList();
        TestContext.Out.WriteLine($"SIGKILL: events flow again through {b.Name} {flowing.TotalMilliseconds:0} ms after the kill " +
                                  $"(lease taken {(active is { } l ? (l.At - killedAt).TotalMilliseconds.ToString("0") + " ms" : "?")} after); " +
                                  $"{lost} messages ({2 * lost} copies) dropped by the server in the gap; split across the kill: {boundary.Count}; {traffic.Describe()}");
        Assert.That(after.Where(f => f.Fate != MessageFate.Ok || f.By != b.Name).Select(f => f.N), Is.Empty,
            "every message sent after the takeover: exactly one sent and one received event, by the new active instance");
        Assert.That(flowing, Is.LessThanOrEqualTo(TimeSpan.FromSeconds(2)), "goal: events flow again within 2 s with the default settings");
    }

    [Test]
    public async Task SIGTERM_of_the_active_instance_under_load_hands_over_with_a_short_gap_and_nothing_mislabelled()
    {
        var (a, b) = await PairAsync("term");
        var traffic = await TrafficAsync();
        traffic.Send(300, Interval);
        await WaitSentAsync(traffic, 100);
        var stoppedAt = DateTime.UtcNow;
        a.Terminate();
        await a.WaitForExitAsync(TimeSpan.FromSeconds(20));
        var exitedAfter = DateTime.UtcNow - stoppedAt;
        await traffic.Sending;
        await traffic.SettleAsync(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(20));

        var fates = traffic.Fates();
        var lastA = fates.LastOrDefault(f => f.Fate == MessageFate.Ok && f.By == a.Name);
        var firstB = fates.FirstOrDefault(f => f.Fate == MessageFate.Ok && f.By == b.Name);
        Assert.That((lastA.By, firstB.By), Is.EqualTo((a.Name, b.Name)), traffic.Describe());
        var gap = traffic.SentAt(firstB.N) - traffic.SentAt(lastA.N);
        var lost = fates.Count(f => f.Fate == MessageFate.Lost);
        TestContext.Out.WriteLine($"SIGTERM: gap {gap.TotalMilliseconds:0} ms between the last message published by {a.Name} and the first by {b.Name} " +
                                  $"(sent times); {lost} messages lost; {a.Name} exited {exitedAfter.TotalMilliseconds:0} ms after SIGTERM; {traffic.Describe()}");
        TestContext.Out.WriteLine("timeline after SIGTERM: " + string.Join("; ", new[]
        {
            (a, "closing the XMPP stream"), (a, "XMPP stream closed on stop"), (a, "Publisher stopping"), (a, "Publisher drained"), (a, "released"),
            (b, "Role Standby -> Active"), (b, "XMPP stream authenticated"),
        }.Select(m => m.Item1.FindLine(m.Item2, stoppedAt) is { } l ? $"{m.Item1.Name} '{m.Item2}' +{(l.At - stoppedAt).TotalMilliseconds:0} ms" : $"{m.Item1.Name} '{m.Item2}' -")));
        Assert.That(fates.Where(f => f.Fate == MessageFate.Mislabelled).Select(f => f.N), Is.Empty, "a planned stop mislabels nothing");
        Assert.That(fates.Where(f => f.N > firstB.N && f.By != b.Name).Select(f => f.N), Is.Empty, "after the hand-over only the new active instance publishes");
        Assert.That(gap, Is.LessThanOrEqualTo(TimeSpan.FromMilliseconds(500)), "goal: a planned stop leaves at most 0.5 s without a route");
    }

    [Test]
    public async Task After_a_broker_restart_under_two_instances_exactly_one_holds_the_stream()
    {
        RabbitTestEnv.RequireBroker(RabbitTestEnv.Port2);
        var onSecond = new Dictionary<string, string>
        {
            ["Rabbit:Port"] = RabbitTestEnv.Port2.ToString(),
            ["Rabbit:ReconnectMinDelay"] = "00:00:00.200",
            ["Rabbit:ReconnectMaxDelay"] = "00:00:01",
        };
        var (a, b) = await PairAsync("restart", onSecond);
        try
        {
            RabbitTestEnv.Control("stop");
            var (status, data) = await a.ReadinessAsync();
            TestContext.Out.WriteLine($"{a.Name} during the outage: {status} {string.Join(",", data.Select(kv => kv.Key + "=" + kv.Value))}");
            Assert.That(data.GetValueOrDefault("xmpp_stream"), Is.EqualTo("authenticated"), "a broker outage does not close the active stream");
        }
        finally { RabbitTestEnv.Control("start"); }

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        List<(ComponentProcess P, int Status, Dictionary<string, string> Data)> states = [];
        while (DateTime.UtcNow < deadline)
        {
            states = [];
            foreach (var p in new[] { a, b }) { var (s, d) = await p.ReadinessAsync(); states.Add((p, s, d)); }
            if (states.All(s => s.Status == 200)) break;
            await Task.Delay(100);
        }
        var summary = string.Join(" | ", states.Select(s => $"{s.P.Name}: {s.Status} {string.Join(",", s.Data.Select(kv => kv.Key + "=" + kv.Value))}"));
        TestContext.Out.WriteLine("after the restart: " + summary);
        Assert.That(states.Count(s => s.Data.GetValueOrDefault("xmpp_stream") == "authenticated"), Is.EqualTo(1), summary);
        Assert.That(states.Count(s => s.Data.GetValueOrDefault("role") == "active"), Is.EqualTo(1), summary);
        var active = states.Single(s => s.Data.GetValueOrDefault("role") == "active").P;

        // And the events are exactly those of the one active instance.
        await Task.Delay(1000);
        var consumer = Track(await TestEventConsumer.StartAsync(_servers with { RabbitPort = RabbitTestEnv.Port2 }, ("chat_msg", "topic", false)));
        var traffic = Track(await ChatTraffic.StartAsync(_servers, consumer));
        traffic.Send(50, Interval);
        await traffic.Sending;
        await traffic.SettleAsync(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(20));
        TestContext.Out.WriteLine(traffic.Describe());
        Assert.That(traffic.Fates().Where(f => f.Fate != MessageFate.Ok || f.By != active.Name).Select(f => f.N), Is.Empty, traffic.Describe());
    }
}
