using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using XmppRabbitComponent.Configuration;
using XmppRabbitComponent.Events;
using XmppRabbitComponent.Observability;
using XmppRabbitComponent.Supervision;

namespace XmppRabbitComponent.Publishing;

/// <summary>
/// The RabbitMQ publishing engine (<c>docs/publishing.md</c>). Register as a singleton, as <see cref="IEventPublisher"/>,
/// and as a hosted service registered <b>before</b> the XMPP reader (hosted services stop in reverse order, so the
/// reader closes its stream first and the publisher then drains). It composes four pieces:
/// <see cref="EnvelopeFactory"/> (enabled? route, JSON, <c>message_id</c>, properties), <see cref="PublishBuffer"/>
/// (bounded worker queues), <see cref="WorkerPool"/> (the supervised workers, one channel each) and
/// <see cref="BrokerConnection"/> (connect, backoff, declare), with <see cref="PublishLedger"/> counting what is pending.
/// <para>Start-up: <see cref="StartAsync"/> waits for the first connection attempt (at most <c>Rabbit:ConnectTimeout</c>
/// + 1 s) and never fails because the broker is down. If the broker answers and an exchange exists with other
/// parameters (or the broker refuses a declaration), <see cref="StartAsync"/> throws <see cref="ExchangeMismatchException"/>
/// / <see cref="ExchangeDeclareException"/>. If that happens later, the error is logged as critical and handed to the
/// <see cref="IFatalErrorHandler"/>.</para>
/// </summary>
public sealed partial class RabbitEventPublisher : IEventPublisher, IHostedService, IAsyncDisposable
{
    private readonly RabbitOptions _o;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly EnvelopeFactory _envelopes;
    private readonly WorkerSelector _selector;
    private readonly PublishBuffer _buffer;
    private readonly PublishLedger _ledger;
    private readonly BrokerConnection _broker;
    private readonly WorkerPool _pool;
    private readonly WorkerContext _workerContext;
    private readonly Supervisor _supervisor;
    private readonly CancellationTokenSource _stopConnecting = new();
    private Task _connectionLoop = Task.CompletedTask;
    private int _started, _stopped;

    /// <summary>Creates the engine; nothing connects before <see cref="StartAsync"/>.</summary>
    /// <param name="rabbit">The <c>Rabbit</c> section (validated by <see cref="RabbitOptionsValidator"/>).</param>
    /// <param name="pusher">The <c>EventPusher</c> section: exchanges and topics.</param>
    /// <param name="metrics">The component's metrics.</param>
    /// <param name="logger">Log sink; the password is never logged.</param>
    /// <param name="time">Clock and timers (a fake one in tests).</param>
    /// <param name="fatal">Told about a fatal configuration error after start-up; optional (then it is only logged).</param>
    /// <param name="xmpp">The <c>Xmpp</c> section: its component domain is the CloudEvents <c>source</c>; needed only by <c>EventPusher:Format</c> = <c>cloudevents</c>.</param>
    public RabbitEventPublisher(IOptions<RabbitOptions> rabbit, IOptions<EventPusherOptions> pusher, ComponentMetrics metrics,
        ILogger<RabbitEventPublisher> logger, TimeProvider time, IFatalErrorHandler? fatal = null, IOptions<XmppOptions>? xmpp = null)
    {
        _o = rabbit.Value;
        _logger = logger;
        _time = time;
        _envelopes = EnvelopeFactory.For(_o, pusher.Value, xmpp?.Value.ComponentDomain, time);
        _selector = new WorkerSelector(_o.ParsedStrategy(), _o.Workers);
        _ledger = new PublishLedger(metrics, time, _o.StallTimeout);
        _buffer = new PublishBuffer(_selector.Queues, _o.MaxBufferedEvents, _o.MaxWorkerQueueLen, _o.ParsedBufferFullPolicy(),
            (_, reason) => _ledger.Dropped(reason));
        var exchanges = ExchangeDeclarer.Specs(pusher.Value.Rabbit);
        metrics.SeedExchanges(exchanges.Select(x => x.Name));
        _broker = new BrokerConnection(_o, exchanges, metrics, logger, time, () => _ledger.Pending,
            e => fatal?.OnFatalError(e));
        _supervisor = new Supervisor(metrics, logger, time);
        _workerContext = new WorkerContext(_buffer, _ledger, _broker, _envelopes, _o, metrics, time, logger);
        _pool = new WorkerPool(_workerContext, _supervisor, _o.Workers, _selector.Queues);
        metrics.ObserveBufferDepth(() => _ledger.Pending);
    }

    /// <inheritdoc />
    public bool IsConnected => _broker.IsConnected;

    /// <inheritdoc />
    public long Pending => _ledger.Pending;

    /// <inheritdoc />
    public TimeSpan WaitingWithoutProgress => _ledger.WaitingWithoutProgress;

    /// <inheritdoc />
    public bool IsStalled => _ledger.IsStalled;

    /// <summary>True when the configured strategy keeps one user's events in order (<c>user_hash</c>, or one worker).</summary>
    public bool KeepsPerUserOrder => _selector.KeepsPerUserOrder;

    /// <summary>Called by every worker before each publish; tests set it to inject a fault into a worker.</summary>
    internal Action<PublishEnvelope>? BeforePublish
    {
        get => _workerContext.BeforePublish;
        set => _workerContext.BeforePublish = value;
    }

    /// <inheritdoc />
    public ValueTask EnqueueAsync(XmppEvent e, CancellationToken ct) => EnqueueAsync(e, deferWake: false, ct);

    /// <inheritdoc />
    public ValueTask EnqueueDeferredAsync(XmppEvent e, CancellationToken ct) => EnqueueAsync(e, deferWake: true, ct);

    /// <inheritdoc />
    public void WakeWorkers() => _buffer.WakeDeferred();

    private async ValueTask EnqueueAsync(XmppEvent e, bool deferWake, CancellationToken ct)
    {
        var env = _envelopes.Create(e, out var refusal);
        if (env is null)
        {
            _ledger.Accept();
            _ledger.Dropped(refusal.Reason);
            if (refusal.Reason == "routing_key_too_long") _workerContext.Metrics.MessageFailed(refusal.Exchange, TimeSpan.Zero, refusal.Reason);
            if (refusal.Detail is { } detail) LogRefused(e.Kind.Name(), refusal.Reason, detail);
            return;
        }
        var queue = _selector.Select(e.RoutingUser, _buffer.QueueLength);
        _ledger.Accept();
        bool added;
        try { added = await _buffer.AddAsync(env, queue, ct, deferWake).ConfigureAwait(false); }
        catch { _ledger.Withdraw(); throw; }
        if (!added) _ledger.Dropped("shutdown");
    }

    /// <summary>
    /// Starts the connection loop and the workers, then waits for the first connection attempt (at most
    /// <c>Rabbit:ConnectTimeout</c> + 1 s). Returns while the broker is down.
    /// </summary>
    /// <exception cref="ExchangeMismatchException">The broker answered and an exchange exists with other parameters.</exception>
    /// <exception cref="ExchangeDeclareException">The broker refused a declaration (access, unknown type).</exception>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _started, 1) == 1) return;
        _connectionLoop = _supervisor.RunAsync("broker_connection", 0, _broker.RunAsync, _stopConnecting.Token);
        _pool.Start();
        var first = _broker.FirstAttempt;
        await Task.WhenAny(first, Task.Delay(_o.ConnectTimeout + TimeSpan.FromSeconds(1), _time, cancellationToken)).ConfigureAwait(false);
        if (first.IsCompleted && first.Result is { } fatal) throw fatal;
    }

    /// <summary>
    /// Graceful shutdown: accepts no more events (later ones are dropped, reason <c>shutdown</c>), publishes and
    /// confirms what is buffered within <c>Rabbit:ShutdownTimeout</c> (or until <paramref name="cancellationToken"/>),
    /// then closes. Whatever is left is counted as dropped (<c>shutdown</c>) and logged with its number.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1 || _started == 0) return;
        _buffer.Complete();
        var start = _time.GetTimestamp();
        LogDraining(Pending, _o.ShutdownTimeout);
        var held = await _pool.DrainAsync(_o.ShutdownTimeout, cancellationToken).ConfigureAwait(false);
        var left = _buffer.Clear() + held;
        if (left > 0)
        {
            _ledger.Dropped("shutdown", left);
            LogNotDrained(_time.GetElapsedTime(start), left, _o.ShutdownTimeout);
        }
        else LogDrained(_time.GetElapsedTime(start));
        await _stopConnecting.CancelAsync().ConfigureAwait(false);
        await _connectionLoop.ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _pool.Dispose();
        await _broker.DisposeAsync().ConfigureAwait(false);
        _stopConnecting.Dispose();
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Event {Kind} not published ({Reason}): {Detail}")]
    private partial void LogRefused(string kind, string reason, string detail);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "Publisher stopping: draining {Pending} events (timeout {Timeout})")]
    private partial void LogDraining(long pending, TimeSpan timeout);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "Publisher stopped after {Elapsed}: {Left} events were not published (shutdown timeout {Timeout})")]
    private partial void LogNotDrained(TimeSpan elapsed, long left, TimeSpan timeout);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Information, Message = "Publisher drained in {Elapsed}")]
    private partial void LogDrained(TimeSpan elapsed);
}
