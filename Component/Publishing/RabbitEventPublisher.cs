using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using XmppRabbitComponent.Configuration;
using XmppRabbitComponent.Events;
using XmppRabbitComponent.Observability;

namespace XmppRabbitComponent.Publishing;

/// <summary>
/// The RabbitMQ publishing engine (issue "Pool", "Publisher confirms", "No loss across outages", "Connection
/// lifecycle", "Message properties", "Graceful shutdown"). Register as a singleton, as <see cref="IEventPublisher"/>,
/// and as a hosted service registered <b>before</b> the XMPP reader (hosted services stop in reverse order, so the
/// reader stops first and the publisher then drains).
/// <para>One AMQP connection (to one of <c>Rabbit:Hosts</c>) carries <c>Rabbit:Workers</c> publishing channels. The
/// connection is retried forever with exponential backoff (also the first one); exchanges are declared after every
/// connect. Events wait in a bounded buffer while the broker is unreachable.</para>
/// <para>Start-up failure: <see cref="StartAsync"/> waits for the first connection attempt (at most
/// <c>Rabbit:ConnectTimeout</c>). If the broker answers and an exchange exists with other parameters (or the broker
/// refuses a declaration), <see cref="StartAsync"/> throws <see cref="ExchangeMismatchException"/> /
/// <see cref="ExchangeDeclareException"/> and the host does not start. If that happens later (the broker came up
/// after start-up, or on a reconnect), the error is logged as critical, <see cref="Fatal"/> completes with it,
/// <see cref="Environment.ExitCode"/> is set to 78 (EX_CONFIG) and the application is stopped through
/// <see cref="IHostApplicationLifetime"/>. A broker that is down never fails start-up.</para>
/// </summary>
public sealed class RabbitEventPublisher : IEventPublisher, IHostedService, IAsyncDisposable
{
    private readonly RabbitOptions _o;
    private readonly EventRouter _router;
    private readonly IReadOnlyList<ExchangeSpec> _exchanges;
    private readonly WorkerSelector _selector;
    private readonly PublishWorker[] _workers;
    private readonly IHostApplicationLifetime? _lifetime;
    private readonly ConnectionFactory _factory;
    private readonly IReadOnlyList<AmqpTcpEndpoint> _endpoints;
    private readonly CancellationTokenSource _stopConnecting = new(), _hardStop = new();
    private readonly TaskCompletionSource<Exception?> _firstAttempt = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<Exception> _fatal = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _redeclareLock = new(1, 1);
    private TaskCompletionSource<IConnection> _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile IConnection? _connection;
    private Task? _connectionLoop;
    private Task[] _workerTasks = [];
    private ITimer? _tickTimer;
    private long _pending;
    private int _started, _stopped;

    /// <summary>Creates the engine; nothing connects before <see cref="StartAsync"/>.</summary>
    /// <param name="rabbit">The <c>Rabbit</c> section (validated by <see cref="RabbitOptionsValidator"/>).</param>
    /// <param name="pusher">The <c>EventPusher</c> section: exchanges and topics.</param>
    /// <param name="metrics">The component's metrics.</param>
    /// <param name="logger">Log sink; the password is never logged.</param>
    /// <param name="time">Clock and timers (a fake one in tests).</param>
    /// <param name="lifetime">Used to stop the application on a fatal exchange error after start-up; optional.</param>
    public RabbitEventPublisher(IOptions<RabbitOptions> rabbit, IOptions<EventPusherOptions> pusher, ComponentMetrics metrics,
        ILogger<RabbitEventPublisher> logger, TimeProvider time, IHostApplicationLifetime? lifetime = null)
    {
        _o = rabbit.Value;
        Metrics = metrics;
        Logger = logger;
        Time = time;
        _lifetime = lifetime;
        _router = new EventRouter(pusher.Value.Rabbit);
        _exchanges = ExchangeDeclarer.Specs(pusher.Value.Rabbit);
        _selector = new WorkerSelector(_o.ParsedStrategy(), _o.Workers);
        Buffer = new PublishBuffer(_selector.Lanes, _o.MaxBufferedEvents, _o.MaxWorkerQueueLen, _o.ParsedBufferFullPolicy(),
            (e, reason) => Dropped(e, reason));
        _workers = Enumerable.Range(0, _o.Workers).Select(i => new PublishWorker(this, i, _selector.Lanes == 1 ? 0 : i)).ToArray();
        _factory = RabbitConnectionFactory.Create(_o);
        _endpoints = RabbitConnectionFactory.Endpoints(_o);
        ChannelOptions = new CreateChannelOptions(
            publisherConfirmationsEnabled: _o.ConfirmsEnabled,
            publisherConfirmationTrackingEnabled: _o.ConfirmsEnabled,
            // Our own bound (MaxInFlightPerWorker) replaces the client's limiter, which throttles to ~130 msg/s.
            outstandingPublisherConfirmationsRateLimiter: null);
        metrics.ObserveBufferDepth(() => Pending);
    }

    internal RabbitOptions Options => _o;
    internal ComponentMetrics Metrics { get; }
    internal ILogger Logger { get; }
    internal TimeProvider Time { get; }
    internal PublishBuffer Buffer { get; }
    internal CreateChannelOptions ChannelOptions { get; }

    /// <inheritdoc />
    public bool IsConnected => _connection is { IsOpen: true };

    /// <inheritdoc />
    public long Pending => Interlocked.Read(ref _pending);

    /// <summary>True when the configured strategy keeps one user's events in order (<c>user_hash</c>, or one worker).</summary>
    public bool KeepsPerUserOrder => _selector.KeepsPerUserOrder;

    /// <summary>Completes with the fatal configuration error (exchange mismatch, refused declaration) if one happens; never otherwise.</summary>
    public Task<Exception> Fatal => _fatal.Task;

    /// <inheritdoc />
    public async ValueTask EnqueueAsync(XmppEvent e, CancellationToken ct)
    {
        if (!_router.IsEnabled(e.Kind)) { Metrics.EventDropped("disabled"); return; }
        var route = _router.Route(e);
        if (!EventRouter.IsRoutable(route))
        {
            Metrics.MessageFailed(route.Exchange, TimeSpan.Zero, "routing_key_too_long");
            Metrics.EventDropped("routing_key_too_long");
            Logger.LogWarning(new EventId(2001, "Publisher"), "Event {Kind} not published: routing key of {Bytes} bytes exceeds the AMQP limit of 255",
                e.Kind.Name(), System.Text.Encoding.UTF8.GetByteCount(route.RoutingKey));
            return;
        }
        byte[] body;
        try { body = EventJson.Serialize(e); }
        catch (ArgumentException ex)
        {
            Metrics.EventDropped("invalid_payload");
            Logger.LogWarning(new EventId(2002, "Publisher"), "Event {Kind} not published: {Error}", e.Kind.Name(), ex.Message);
            return;
        }
        var now = Time.GetUtcNow();
        var env = new PublishEnvelope(route.Exchange, route.RoutingKey, e.Kind.Name(), body, Guid.CreateVersion7(now).ToString(), now.ToUnixTimeSeconds());
        var lane = _selector.Select(e.RoutingUser, Buffer.LaneLength);
        Interlocked.Increment(ref _pending);
        bool added;
        try { added = await Buffer.AddAsync(env, lane, ct).ConfigureAwait(false); }
        catch { Interlocked.Decrement(ref _pending); throw; }
        if (!added)
        {
            Interlocked.Decrement(ref _pending);
            Metrics.EventDropped("shutdown");
        }
    }

    /// <summary>
    /// Starts the connection loop and the workers, then waits for the first connection attempt (at most
    /// <c>Rabbit:ConnectTimeout</c>). Returns while the broker is down.
    /// </summary>
    /// <exception cref="ExchangeMismatchException">The broker answered and an exchange exists with other parameters.</exception>
    /// <exception cref="ExchangeDeclareException">The broker refused a declaration (access, unknown type).</exception>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _started, 1) == 1) return;
        _connectionLoop = Task.Run(() => ConnectionLoopAsync(_stopConnecting.Token), CancellationToken.None);
        _workerTasks = _workers.Select(w => Task.Run(() => w.RunAsync(_hardStop.Token), CancellationToken.None)).ToArray();
        var period = TimeSpan.FromTicks(Math.Clamp(_o.ConfirmTimeout.Ticks / 4, TimeSpan.FromMilliseconds(10).Ticks, TimeSpan.FromSeconds(1).Ticks));
        if (_o.ConfirmsEnabled) _tickTimer = Time.CreateTimer(_ => { foreach (var w in _workers) w.Tick(); }, null, period, period);
        var first = _firstAttempt.Task;
        await Task.WhenAny(first, Task.Delay(_o.ConnectTimeout + TimeSpan.FromSeconds(1), Time, cancellationToken)).ConfigureAwait(false);
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
        Buffer.Complete();
        var drained = Task.WhenAll(_workerTasks);
        var start = Time.GetTimestamp();
        Logger.LogInformation(new EventId(2003, "Publisher"), "Publisher stopping: draining {Pending} events (timeout {Timeout})", Pending, _o.ShutdownTimeout);
        try { await drained.WaitAsync(_o.ShutdownTimeout, Time, cancellationToken).ConfigureAwait(false); }
        catch (Exception) when (!drained.IsCompleted) { /* time ran out */ }
        _hardStop.Cancel();
        try { await drained.ConfigureAwait(false); } catch (Exception) { /* cancelled workers */ }
        var left = Buffer.Clear() + _workers.Sum(w => w.Abandon());
        if (left > 0)
        {
            Metrics.EventDropped("shutdown", left);
            Interlocked.Add(ref _pending, -left);
            Logger.LogWarning(new EventId(2004, "Publisher"), "Publisher stopped after {Elapsed}: {Left} events were not published (shutdown timeout {Timeout})",
                Time.GetElapsedTime(start), left, _o.ShutdownTimeout);
        }
        else Logger.LogInformation(new EventId(2005, "Publisher"), "Publisher drained in {Elapsed}", Time.GetElapsedTime(start));
        _tickTimer?.Dispose();
        await _stopConnecting.CancelAsync().ConfigureAwait(false);
        if (_connectionLoop is not null) { try { await _connectionLoop.ConfigureAwait(false); } catch (Exception) { } }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _stopConnecting.Dispose();
        _hardStop.Dispose();
        _redeclareLock.Dispose();
    }

    private async Task ConnectionLoopAsync(CancellationToken ct)
    {
        var attempt = 0;
        var hosts = string.Join(", ", _endpoints.Select(e => $"{e.HostName}:{e.Port}"));
        while (!ct.IsCancellationRequested)
        {
            IConnection conn;
            try
            {
                conn = await _factory.CreateConnectionAsync(_endpoints, _o.AppId, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                Metrics.ConnectionFailed();
                var delay = Backoff.Delay(attempt++, _o.ReconnectMinDelay, _o.ReconnectMaxDelay, Random.Shared.NextDouble());
                Logger.LogWarning(new EventId(2006, "Publisher"), "RabbitMQ not reachable at {Hosts} as user {User} ({Error}); attempt {Attempt}, retrying in {Delay}; {Pending} events waiting",
                    hosts, _o.Username, e.InnerException?.Message ?? e.Message, attempt, delay, Pending);
                _firstAttempt.TrySetResult(null);
                try { await Task.Delay(delay, Time, ct).ConfigureAwait(false); } catch (OperationCanceledException) { return; }
                continue;
            }
            catch (OperationCanceledException) { return; }

            var counted = 1;
            Metrics.ConnectionOpened();
            var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            conn.ConnectionShutdownAsync += (_, _) => { closed.TrySetResult(); return Task.CompletedTask; };
            try
            {
                await ExchangeDeclarer.DeclareAllAsync(conn, _exchanges, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is ExchangeMismatchException or ExchangeDeclareException)
            {
                await CloseAsync(conn, ref counted).ConfigureAwait(false);
                Fail(e);
                return;
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                Logger.LogWarning(new EventId(2007, "Publisher"), e, "RabbitMQ connection lost while declaring exchanges; reconnecting");
                await CloseAsync(conn, ref counted).ConfigureAwait(false);
                try { await Task.Delay(Backoff.Delay(attempt++, _o.ReconnectMinDelay, _o.ReconnectMaxDelay, Random.Shared.NextDouble()), Time, ct).ConfigureAwait(false); }
                catch (OperationCanceledException) { return; }
                continue;
            }
            catch (OperationCanceledException) { await CloseAsync(conn, ref counted).ConfigureAwait(false); return; }

            attempt = 0;
            _connection = conn;
            Logger.LogInformation(new EventId(2008, "Publisher"), "RabbitMQ connected to {Endpoint}; exchanges declared: {Exchanges}; {Pending} events waiting",
                conn.Endpoint, string.Join(", ", _exchanges.Select(x => x.Name)), Pending);
            _connected.TrySetResult(conn);
            _firstAttempt.TrySetResult(null);
            try { await closed.Task.WaitAsync(ct).ConfigureAwait(false); }
            catch (OperationCanceledException) { }
            _connection = null;
            Interlocked.Exchange(ref _connected, new TaskCompletionSource<IConnection>(TaskCreationOptions.RunContinuationsAsynchronously));
            if (!ct.IsCancellationRequested)
                Logger.LogWarning(new EventId(2009, "Publisher"), "RabbitMQ connection closed ({Reason}); reconnecting; {Pending} events waiting", conn.CloseReason?.ReplyText ?? "unknown", Pending);
            await CloseAsync(conn, ref counted).ConfigureAwait(false);
        }
    }

    /// <summary>Closes <paramref name="conn"/> and counts it closed exactly once (connections_active must not drift).</summary>
    private ValueTask CloseAsync(IConnection conn, ref int counted)
    {
        if (Interlocked.Exchange(ref counted, 0) == 1) Metrics.ConnectionClosed();
        return CloseCore(conn);

        static async ValueTask CloseCore(IConnection c)
        {
            try { await c.CloseAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false); } catch (Exception) { }
            try { await c.DisposeAsync().ConfigureAwait(false); } catch (Exception) { }
        }
    }

    private void Fail(Exception e)
    {
        Logger.LogCritical(new EventId(2010, "Publisher"), "{Error}", e.Message);
        _fatal.TrySetResult(e);
        if (!_firstAttempt.TrySetResult(e))
        {
            Environment.ExitCode = 78;
            _lifetime?.StopApplication();
        }
    }

    internal async Task<IConnection> WaitForConnectionAsync(CancellationToken ct)
    {
        while (true)
        {
            var c = _connection;
            if (c is { IsOpen: true }) return c;
            var next = await Volatile.Read(ref _connected).Task.WaitAsync(ct).ConfigureAwait(false);
            if (next.IsOpen) return next;
            await Task.Delay(TimeSpan.FromMilliseconds(50), Time, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Re-declares the exchanges after a channel was closed with 404 (an exchange was deleted while running).</summary>
    internal async Task RedeclareAsync(IConnection conn, CancellationToken ct)
    {
        await _redeclareLock.WaitAsync(ct).ConfigureAwait(false);
        try { await ExchangeDeclarer.DeclareAllAsync(conn, _exchanges, ct).ConfigureAwait(false); }
        catch (Exception e) when (e is ExchangeMismatchException or ExchangeDeclareException) { Fail(e); }
        catch (Exception e) when (!ct.IsCancellationRequested) { Logger.LogDebug(new EventId(2011, "Publisher"), e, "Re-declare failed; the connection loop will retry"); }
        finally { _redeclareLock.Release(); }
    }

    internal Task DelayAsync(int failures, CancellationToken ct) =>
        Task.Delay(Backoff.Delay(failures, _o.ReconnectMinDelay, _o.ReconnectMaxDelay, Random.Shared.NextDouble()), Time, ct);

    /// <summary>Fresh properties per publish (the client writes a sequence-number header into them when tracking confirms).</summary>
    internal BasicProperties Properties(PublishEnvelope e) => new()
    {
        ContentType = "application/json",
        DeliveryMode = _o.Persistent ? DeliveryModes.Persistent : DeliveryModes.Transient,
        MessageId = e.MessageId,
        Timestamp = new AmqpTimestamp(e.UnixSeconds),
        Type = e.Type,
        AppId = _o.AppId,
    };

    internal void Published(PublishEnvelope e, TimeSpan elapsed)
    {
        Interlocked.Decrement(ref _pending);
        Metrics.MessagePublished(e.Exchange, elapsed, e.Body.Length);
    }

    internal void Returned(PublishEnvelope e)
    {
        Interlocked.Decrement(ref _pending);
        Metrics.MessageReturned(e.Exchange);
        Logger.LogDebug(new EventId(2012, "Publisher"), "Message {MessageId} returned unroutable by exchange {Exchange}", e.MessageId, e.Exchange);
    }

    internal void Dropped(PublishEnvelope e, string reason, bool count = true)
    {
        if (!count) return;
        Interlocked.Decrement(ref _pending);
        Metrics.EventDropped(reason);
    }
}
