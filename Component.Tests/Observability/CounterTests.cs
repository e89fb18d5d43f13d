using System.Net;
using System.Net.Sockets;
using System.Xml.Linq;
using Microsoft.Extensions.Logging.Abstractions;
using XmppRabbitComponent.Classification;
using XmppRabbitComponent.Configuration;
using XmppRabbitComponent.Events;
using XmppRabbitComponent.Observability;
using XmppRabbitComponent.Publishing;
using XmppRabbitComponent.Tests.Classification;
using XmppRabbitComponent.Tests.Service;
using XmppRabbitComponent.Tests.Support;
using XmppRabbitComponent.Xmpp;

namespace XmppRabbitComponent.Tests.Observability;

/// <summary>
/// Each skip and drop reason increments its own counter: xmpp_component.stanzas.skipped{reason}
/// and xmpp_component.events.dropped{reason}, read in-process through a <see cref="MetricsProbe"/> scoped to one
/// <see cref="ComponentMetrics"/> instance.
/// </summary>
[CancelAfter(60_000)]
[NonParallelizable]
public class CounterTests
{
    private const string Skipped = "xmpp_component.stanzas.skipped";
    private const string Dropped = "xmpp_component.events.dropped";

    private static IEnumerable<SkipReason> AllSkipReasons() => Enum.GetValues<SkipReason>();

    [TestCaseSource(nameof(AllSkipReasons))]
    public void Each_skip_reason_label_increments_only_its_own_skip_counter(SkipReason reason)
    {
        using var factory = new ScopedMeterFactory();
        using var metrics = new ComponentMetrics(factory, "localhost");
        using var probe = new MetricsProbe(factory.Scope);
        metrics.StanzaSkipped(reason.Label());
        Assert.Multiple(() =>
        {
            Assert.That(probe.Sum(Skipped, "reason=" + reason.Label()), Is.EqualTo(1));
            Assert.That(probe.Sum(Skipped), Is.EqualTo(1));
            foreach (var other in AllSkipReasons().Where(r => r != reason))
                Assert.That(probe.Sum(Skipped, "reason=" + other.Label()), Is.Zero, other.Label());
        });
    }

    /// <summary>
    /// The rule table of <see cref="SkipRuleTests"/>, serialized with the component's own writer and sent over the
    /// wire to the real service: the last stanza of each row increments its reason's counter exactly once.
    /// Rows whose element does not survive the wire unchanged (e.g. a lone surrogate, a no-namespace element) are
    /// left to the classifier-level table.
    /// </summary>
    public static IEnumerable<TestCaseData> WireRows()
    {
        foreach (var row in SkipRuleTests.Cases())
        {
            var stanzas = ((Func<XElement>[])row.Arguments[0]!).Select(f => f()).ToArray();
            var label = (string)row.Arguments[1]!;
            if (!stanzas.All(SurvivesTheWire)) continue;
            yield return new TestCaseData(stanzas.Select(StanzaWriter.ToWireString).ToArray(), label)
                .SetName($"Over the wire, the service counts one skip as {label}: {row.TestName!.Split(": ", 2)[1]}");
        }
    }

    private static bool SurvivesTheWire(XElement e)
    {
        try
        {
            var wire = StanzaWriter.Serialize(e);
            var parser = new StanzaParser(new StreamHeader("1", null, null, XmppNamespaces.ComponentAccept, new Dictionary<string, string> { [""] = XmppNamespaces.ComponentAccept, ["stream"] = XmppNamespaces.Streams }));
            return XNode.DeepEquals(WithoutNamespaceDeclarations(parser.Parse(new System.Buffers.ReadOnlySequence<byte>(wire))), WithoutNamespaceDeclarations(e));
        }
        catch (Exception) { return false; }
    }

    private static XElement WithoutNamespaceDeclarations(XElement e)
    {
        var copy = new XElement(e);
        foreach (var el in copy.DescendantsAndSelf())
        {
            el.Attributes().Where(a => a.IsNamespaceDeclaration).Remove();
            if (!el.Nodes().Any()) el.Value = ""; // <a/> and <a></a> are the same element
        }
        return copy;
    }

    [Test]
    public void Every_skip_reason_the_stream_can_carry_has_a_wire_row()
    {
        var covered = WireRows().Select(r => (string)r.Arguments[1]!).ToHashSet();
        // invalid_text needs an unpaired surrogate, which no well-formed UTF-8 stream can carry (the framer closes it
        // with not-well-formed); classifier_fault is a classifier bug. Both are counted by the same loop line.
        var expected = AllSkipReasons().Except([SkipReason.InvalidText, SkipReason.ClassifierFault]).Select(r => r.Label());
        Assert.That(expected, Is.SubsetOf(covered));
    }

    [TestCaseSource(nameof(WireRows))]
    public async Task Skip_over_the_wire(string[] wire, string label, CancellationToken ct)
    {
        await using var sut = await ServiceUnderTest.StartAsync();
        var session = await sut.NextSessionAsync(ct);
        for (var i = 0; i < wire.Length - 1; i++) await SendAndWaitAsync(sut, session, wire[i], i + 1, ct);
        var before = sut.Probe.Sum(Skipped, "reason=" + label);
        var totalBefore = sut.Probe.Sum(Skipped);
        await SendAndWaitAsync(sut, session, wire[^1], wire.Length, ct);
        Assert.Multiple(() =>
        {
            Assert.That(sut.Probe.Sum(Skipped, "reason=" + label) - before, Is.EqualTo(1), () => $"events: {string.Join(" | ", sut.Publisher.Json)}");
            Assert.That(sut.Probe.Sum(Skipped) - totalBefore, Is.EqualTo(1), "no other reason counted for the last stanza");
            Assert.That(sut.Running.IsCompleted, Is.False);
        });
    }

    private static async Task SendAndWaitAsync(ServiceUnderTest sut, ServerSession session, string stanza, int handled, CancellationToken ct)
    {
        await session.SendAsync(stanza, ct);
        var deadline = DateTime.UtcNow + ServiceUnderTest.Step;
        // Every stanza ends as exactly one event or one skip.
        while (sut.Probe.Sum(Skipped) + sut.Probe.Sum("xmpp_component.events.produced") < handled)
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"stanza {handled} not handled: {stanza}");
            await Task.Delay(5, ct);
        }
    }

    // ----- drops -----

    [Test]
    public async Task The_service_hands_events_of_a_disabled_exchange_on_and_leaves_the_decision_to_the_publisher(CancellationToken ct)
    {
        var pusher = new EventPusherOptions();
        pusher.Rabbit.ChatMsgExchange.Enabled = false;
        await using var sut = await ServiceUnderTest.StartAsync(pusher: pusher);
        var session = await sut.NextSessionAsync(ct);
        await session.SendAsync(Stanzas.ChatCopy("hi") + Stanzas.Presence("carol@localhost/x"), ct);
        await sut.Publisher.WaitForCountAsync(2, ServiceUnderTest.Step, ct);
        Assert.Multiple(() =>
        {
            Assert.That(sut.Publisher.Events.Select(e => e.Kind), Is.EqualTo(new[] { EventKind.ChatMsgSent, EventKind.Presence }));
            Assert.That(sut.Probe.Sum(Dropped), Is.Zero, "one place drops disabled events: the publisher (counted once there)");
        });
    }

    private static int ClosedPort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    private sealed class PublisherUnderTest : IAsyncDisposable
    {
        private readonly ScopedMeterFactory _factory = new();
        public PublisherUnderTest(Action<RabbitOptions>? configure = null, EventPusherOptions? pusher = null)
        {
            var o = new RabbitOptions
            {
                Host = "127.0.0.1", Port = ClosedPort(), Workers = 1, ConnectTimeout = TimeSpan.FromMilliseconds(500),
                ReconnectMinDelay = TimeSpan.FromSeconds(5), ReconnectMaxDelay = TimeSpan.FromSeconds(5), ShutdownTimeout = TimeSpan.FromMilliseconds(200),
            };
            configure?.Invoke(o);
            Metrics = new ComponentMetrics(_factory, "localhost");
            Probe = new MetricsProbe(_factory.Scope);
            Publisher = new RabbitEventPublisher(Microsoft.Extensions.Options.Options.Create(o), Microsoft.Extensions.Options.Options.Create(pusher ?? new EventPusherOptions()),
                Metrics, NullLogger<RabbitEventPublisher>.Instance, TimeProvider.System);
        }
        public ComponentMetrics Metrics { get; }
        public MetricsProbe Probe { get; }
        public RabbitEventPublisher Publisher { get; }
        public async ValueTask DisposeAsync()
        {
            await Publisher.DisposeAsync();
            Probe.Dispose();
            Metrics.Dispose();
            _factory.Dispose();
        }
    }

    private static MessageEvent Chat(string body, string from = "alice@localhost/r1") =>
        new(EventKind.ChatMsgSent, "eve@remote.example", body, from, Jid.ParseOrNull(from)?.Bare ?? from);

    private static readonly string[] DropReasons = ComponentMetrics.DropReasons;

    private static void AssertOnlyDrop(MetricsProbe probe, string reason, double count)
    {
        Assert.Multiple(() =>
        {
            Assert.That(probe.Sum(Dropped, "reason=" + reason), Is.EqualTo(count), reason);
            Assert.That(probe.Sum(Dropped), Is.EqualTo(count), "no other drop reason");
            foreach (var other in DropReasons.Where(r => r != reason)) Assert.That(probe.Sum(Dropped, "reason=" + other), Is.Zero, other);
        });
    }

    [Test]
    public async Task The_publisher_drops_an_event_of_a_disabled_exchange_as_disabled(CancellationToken ct)
    {
        var pusher = new EventPusherOptions();
        pusher.Rabbit.ChatMsgExchange.Enabled = false;
        await using var p = new PublisherUnderTest(pusher: pusher);
        await p.Publisher.EnqueueAsync(Chat("hi"), ct);
        AssertOnlyDrop(p.Probe, "disabled", 1);
    }

    [Test]
    public async Task The_publisher_drops_an_event_whose_routing_key_is_over_255_bytes_as_routing_key_too_long(CancellationToken ct)
    {
        await using var p = new PublisherUnderTest();
        await p.Publisher.EnqueueAsync(Chat("hi", new string('a', 300) + "@localhost/r1"), ct);
        AssertOnlyDrop(p.Probe, "routing_key_too_long", 1);
        Assert.That(p.Publisher.Pending, Is.Zero);
    }

    [Test]
    public async Task The_publisher_drops_an_event_that_cannot_be_serialized_as_invalid_payload(CancellationToken ct)
    {
        await using var p = new PublisherUnderTest();
        await p.Publisher.EnqueueAsync(Chat("lone \uD800 surrogate"), ct);
        AssertOnlyDrop(p.Probe, "invalid_payload", 1);
    }

    [Test]
    public async Task With_drop_oldest_and_no_broker_a_full_buffer_drops_the_oldest_as_buffer_full(CancellationToken ct)
    {
        await using var p = new PublisherUnderTest(o => { o.BufferFullPolicy = "drop_oldest"; o.MaxBufferedEvents = 3; });
        await p.Publisher.StartAsync(ct); // the broker port is closed: the first attempt fails, events wait in the buffer
        for (var i = 0; i < 5; i++) await p.Publisher.EnqueueAsync(Chat("m" + i), ct);
        AssertOnlyDrop(p.Probe, "buffer_full", 2);
        Assert.That(p.Publisher.Pending, Is.EqualTo(3));
    }

    [Test]
    public async Task With_drop_oldest_and_no_broker_a_full_worker_queue_drops_the_oldest_as_worker_queue_full(CancellationToken ct)
    {
        await using var p = new PublisherUnderTest(o => { o.BufferFullPolicy = "drop_oldest"; o.Workers = 2; o.MaxBufferedEvents = 100; o.MaxWorkerQueueLen = 2; });
        await p.Publisher.StartAsync(ct);
        for (var i = 0; i < 5; i++) await p.Publisher.EnqueueAsync(Chat("m" + i), ct);
        AssertOnlyDrop(p.Probe, "worker_queue_full", 3);
    }

    [Test]
    public async Task Events_left_at_shutdown_and_events_after_it_are_dropped_as_shutdown(CancellationToken ct)
    {
        await using var p = new PublisherUnderTest();
        await p.Publisher.StartAsync(ct);
        for (var i = 0; i < 4; i++) await p.Publisher.EnqueueAsync(Chat("m" + i), ct);
        await p.Publisher.StopAsync(ct).WaitAsync(TimeSpan.FromSeconds(10), ct);
        AssertOnlyDrop(p.Probe, "shutdown", 4);
        await p.Publisher.EnqueueAsync(Chat("late"), ct);
        AssertOnlyDrop(p.Probe, "shutdown", 5);
        Assert.That(p.Publisher.Pending, Is.Zero);
    }
}
