using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using XmppRabbitComponent.Configuration;
using XmppRabbitComponent.Events;
using XmppRabbitComponent.Hosting;
using XmppRabbitComponent.Observability;
using XmppRabbitComponent.Publishing;
using XmppRabbitComponent.Tests.Service;
using XmppRabbitComponent.Tests.Support;
using static XmppRabbitComponent.Tests.Publishing.RabbitTestEnv;

namespace XmppRabbitComponent.Tests.Publishing;

/// <summary>
/// Supervision of the publishing workers (docs/publishing.md, "Supervision"): a fault injected into a worker through
/// <see cref="RabbitEventPublisher.BeforePublish"/> is logged with its exception, counted, and the worker restarts with
/// the events it held, in order; a worker that cannot make progress makes the publisher, and readiness, report a stall.
/// </summary>
[Category("Integration")]
[NonParallelizable]
public class PublisherSupervisionTests
{
    private const string Faults = "xmpp_component.loop.faults";

    private static MessageEvent Msg(int n) => new(EventKind.ChatMsgSent, "bob@localhost", n.ToString(), "alice@localhost/r", "alice@localhost");

    private static int Number(string body) => int.Parse(JsonDocument.Parse(body).RootElement.GetProperty("message").GetString()!);

    private static string[] Names(EventPusherOptions p) => p.Rabbit.Enabled().Select(e => e.Exchange.Name).ToArray();

    /// <summary>The message numbers in the order of their first delivery (a re-publish after a fault may repeat one).</summary>
    private static List<int> FirstOccurrences(Collector col) => col.Snapshot().Select(x => Number(x.Body)).Distinct().ToList();

    [TestCase(true), TestCase(false)]
    [CancelAfter(60_000)]
    public async Task A_fault_in_a_worker_is_logged_with_its_exception_counted_and_its_events_still_arrive_in_order(bool confirms)
    {
        RequireBroker(Port);
        var p = Exchanges("fault");
        await using var col = await Collector.StartAsync(Port, Names(p));
        using var meters = new ScopedMeterFactory();
        using var metrics = new ComponentMetrics(meters, "localhost");
        using var probe = new MetricsProbe(meters.Scope);
        var log = new ExceptionLog<RabbitEventPublisher>();
        await using var pub = Publisher(Options(Port, o => { o.Workers = 1; o.ConfirmsEnabled = confirms; }), p, metrics, logger: log);
        var thrown = 0;
        pub.BeforePublish = env =>
        {
            if (Number(System.Text.Encoding.UTF8.GetString(env.Body)) == 3 && Interlocked.Increment(ref thrown) <= 2)
                throw new InvalidOperationException("injected fault");
        };
        await pub.StartAsync(default);

        const int n = 20;
        for (var i = 0; i < n; i++) await pub.EnqueueAsync(Msg(i), default);
        await WaitUntil(() => FirstOccurrences(col).Count >= n, TimeSpan.FromSeconds(30), $"{n} events after two faults");

        Assert.Multiple(() =>
        {
            Assert.That(FirstOccurrences(col), Is.EqualTo(Enumerable.Range(0, n).ToList()), "every event arrived, in order");
            Assert.That(probe.Sum(Faults, "loop=publish_worker"), Is.EqualTo(2), "each fault counted");
            var faults = log.Entries.Where(e => e.Level == LogLevel.Error && e.Exception is InvalidOperationException).ToList();
            Assert.That(faults, Has.Count.EqualTo(2), "each fault logged as an error with its exception");
            Assert.That(faults.Select(f => f.Exception!.StackTrace), Has.All.Contain(nameof(PublishWorker)), "with the stack of the worker");
            Assert.That(pub.Pending, Is.Zero);
            Assert.That(pub.IsStalled, Is.False);
        });
    }

    [Test, CancelAfter(60_000)]
    public async Task A_worker_that_cannot_progress_makes_readiness_report_a_stalled_publisher_after_StallTimeout()
    {
        RequireBroker(Port);
        var p = Exchanges("stall");
        await using var col = await Collector.StartAsync(Port, Names(p));
        await using var pub = Publisher(Options(Port, o => { o.Workers = 1; o.StallTimeout = TimeSpan.FromSeconds(1); }), p);
        var stuck = true;
        pub.BeforePublish = env =>
        {
            if (Volatile.Read(ref stuck) && Number(System.Text.Encoding.UTF8.GetString(env.Body)) == 5) throw new InvalidOperationException("injected fault");
        };
        await pub.StartAsync(default);
        var state = new ComponentState { XmppAuthenticated = true };
        var readiness = new ReadinessCheck(state, pub);

        for (var i = 0; i < 10; i++) await pub.EnqueueAsync(Msg(i), default);
        await WaitUntil(() => col.Count >= 5, TimeSpan.FromSeconds(20), "the events before the faulty one");
        await WaitUntil(() => pub.IsStalled, TimeSpan.FromSeconds(15), "the publisher to report a stall");
        var stalled = await readiness.CheckHealthAsync(new HealthCheckContext());

        Volatile.Write(ref stuck, false);
        await WaitUntil(() => col.Count >= 10, TimeSpan.FromSeconds(20), "the rest once the fault is gone");
        var recovered = await readiness.CheckHealthAsync(new HealthCheckContext());

        Assert.Multiple(() =>
        {
            Assert.That(stalled.Status, Is.EqualTo(HealthStatus.Unhealthy));
            Assert.That(stalled.Data["publisher"], Is.EqualTo("stalled"));
            Assert.That(stalled.Data["broker"], Is.EqualTo("connected"), "the connection is fine: only the stall check sees this");
            Assert.That(stalled.Description, Does.Contain("5 events waiting"));
            Assert.That(FirstOccurrences(col), Is.EqualTo(Enumerable.Range(0, 10).ToList()));
            Assert.That(recovered.Status, Is.EqualTo(HealthStatus.Healthy));
            Assert.That(recovered.Data["publisher"], Is.EqualTo("ok"));
        });
    }
}

/// <summary>Keeps every log entry with its level and exception object (so a test can look at the stack).</summary>
internal sealed class ExceptionLog<T> : ILogger<T>
{
    private readonly List<(LogLevel Level, EventId Id, string Message, Exception? Exception)> _entries = [];
    public IReadOnlyList<(LogLevel Level, EventId Id, string Message, Exception? Exception)> Entries { get { lock (_entries) return [.. _entries]; } }
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => true;
    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_entries) _entries.Add((logLevel, eventId, formatter(state, exception), exception));
    }
}
