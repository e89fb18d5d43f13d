using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using XmppRabbitComponent.Configuration;
using XmppRabbitComponent.Observability;
using XmppRabbitComponent.Supervision;

namespace XmppRabbitComponent.Publishing;

/// <summary>
/// The broker connection's lifecycle (<c>docs/publishing.md</c>, "Connection"): one AMQP connection to one of
/// <c>Rabbit:Hosts</c>, tried forever with <see cref="Backoff"/> from <c>Rabbit:ReconnectMinDelay</c> to
/// <c>Rabbit:ReconnectMaxDelay</c> (the first attempt too), exchanges declared after every connect and re-declared on
/// request (<see cref="RedeclareAsync"/>). Workers ask it for the open connection (<see cref="WaitForConnectionAsync"/>).
/// An exchange that exists with other parameters, or a declaration the broker refuses, is a configuration error that
/// retrying cannot fix: it is reported once through the <c>onFatal</c> callback and the loop ends.
/// </summary>
internal sealed partial class BrokerConnection : IAsyncDisposable
{
    private readonly RabbitOptions _o;
    private readonly IReadOnlyList<ExchangeSpec> _exchanges;
    private readonly ComponentMetrics _metrics;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Func<long> _pending;
    private readonly Action<Exception> _onFatal;
    private readonly ConnectionFactory _factory;
    private readonly IReadOnlyList<AmqpTcpEndpoint> _endpoints;
    private readonly SemaphoreSlim _redeclareLock = new(1, 1);
    private readonly TaskCompletionSource<Exception?> _firstAttempt = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource<IConnection> _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile IConnection? _connection;
    private int _fatal;

    /// <param name="rabbit">Connection settings.</param>
    /// <param name="exchanges">The exchanges to declare after each connect.</param>
    /// <param name="metrics">Connection metrics (opened, closed, active, failed).</param>
    /// <param name="logger">Log sink; the password is never logged.</param>
    /// <param name="time">Clock for the backoff delays.</param>
    /// <param name="pending">Events waiting, for the log lines.</param>
    /// <param name="onFatal">Called once with an <see cref="ExchangeMismatchException"/> or <see cref="ExchangeDeclareException"/>.</param>
    public BrokerConnection(RabbitOptions rabbit, IReadOnlyList<ExchangeSpec> exchanges, ComponentMetrics metrics, ILogger logger,
        TimeProvider time, Func<long> pending, Action<Exception> onFatal)
    {
        _o = rabbit;
        _exchanges = exchanges;
        _metrics = metrics;
        _logger = logger;
        _time = time;
        _pending = pending;
        _onFatal = onFatal;
        _factory = RabbitConnectionFactory.Create(rabbit);
        _endpoints = RabbitConnectionFactory.Endpoints(rabbit);
        ChannelOptions = new CreateChannelOptions(
            publisherConfirmationsEnabled: rabbit.ConfirmsEnabled,
            publisherConfirmationTrackingEnabled: rabbit.ConfirmsEnabled,
            // Our own bound (MaxInFlightPerWorker) replaces the client's limiter, which throttles to ~130 msg/s.
            outstandingPublisherConfirmationsRateLimiter: null);
    }

    /// <summary>The options every publishing channel is opened with (confirms and their tracking per <c>Rabbit:ConfirmsEnabled</c>).</summary>
    public CreateChannelOptions ChannelOptions { get; }

    /// <summary>True while a connection is open and its exchanges are declared.</summary>
    public bool IsConnected => _connection is { IsOpen: true };

    /// <summary>Completes after the first connection attempt: with null (connected, or the broker is unreachable) or with the fatal configuration error.</summary>
    public Task<Exception?> FirstAttempt => _firstAttempt.Task;

    /// <summary>The delay before retry number <paramref name="failures"/> (0-based) of anything that failed against the broker.</summary>
    public TimeSpan RetryDelay(int failures) => Backoff.Delay(failures, _o.ReconnectMinDelay, _o.ReconnectMaxDelay, Random.Shared.NextDouble());

    /// <summary>
    /// Connects, declares, waits for the connection to close, and starts again, until <paramref name="ct"/> is
    /// cancelled or a fatal configuration error ends it. Unexpected exceptions escape to the supervisor, which restarts it.
    /// </summary>
    public async Task RunAsync(CancellationToken ct)
    {
        var attempt = 0;
        var hosts = string.Join(", ", _endpoints.Select(e => $"{e.HostName}:{e.Port}"));
        while (!ct.IsCancellationRequested && Volatile.Read(ref _fatal) == 0)
        {
            IConnection conn;
            try
            {
                conn = await _factory.CreateConnectionAsync(_endpoints, _o.AppId, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            catch (Exception e)
            {
                _metrics.ConnectionFailed();
                var delay = RetryDelay(attempt++);
                LogUnreachable(hosts, _o.Username, e.InnerException?.Message ?? e.Message, attempt, delay, _pending());
                _firstAttempt.TrySetResult(null);
                if (!await DelayAsync(delay, ct).ConfigureAwait(false)) return;
                continue;
            }

            var counted = 1;
            _metrics.ConnectionOpened();
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
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { await CloseAsync(conn, ref counted).ConfigureAwait(false); return; }
            catch (Exception e)
            {
                LogLostWhileDeclaring(e);
                await CloseAsync(conn, ref counted).ConfigureAwait(false);
                if (!await DelayAsync(RetryDelay(attempt++), ct).ConfigureAwait(false)) return;
                continue;
            }

            attempt = 0;
            _connection = conn;
            LogConnected(conn.Endpoint.ToString(), string.Join(", ", _exchanges.Select(x => x.Name)), _pending());
            _connected.TrySetResult(conn);
            _firstAttempt.TrySetResult(null);
            try
            {
                await closed.Task.WaitAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) { /* stopping: close below */ }
            finally
            {
                _connection = null;
                Interlocked.Exchange(ref _connected, new TaskCompletionSource<IConnection>(TaskCreationOptions.RunContinuationsAsynchronously));
                if (!ct.IsCancellationRequested) LogClosed(conn.CloseReason?.ReplyText ?? "unknown", _pending());
                await CloseAsync(conn, ref counted).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The open connection; waits while there is none.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    public async Task<IConnection> WaitForConnectionAsync(CancellationToken ct)
    {
        while (true)
        {
            var c = _connection;
            if (c is { IsOpen: true }) return c;
            var next = await Volatile.Read(ref _connected).Task.WaitAsync(ct).ConfigureAwait(false);
            if (next.IsOpen) return next;
            await Task.Delay(TimeSpan.FromMilliseconds(50), _time, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Re-declares the exchanges on <paramref name="conn"/>, e.g. after a channel was closed with 404 because an exchange was deleted.</summary>
    public async Task RedeclareAsync(IConnection conn, CancellationToken ct)
    {
        await _redeclareLock.WaitAsync(ct).ConfigureAwait(false);
        try { await ExchangeDeclarer.DeclareAllAsync(conn, _exchanges, ct).ConfigureAwait(false); }
        catch (Exception e) when (e is ExchangeMismatchException or ExchangeDeclareException) { Fail(e); }
        catch (Exception e) when (!ct.IsCancellationRequested) { LogRedeclareFailed(e); }
        finally { _redeclareLock.Release(); }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _redeclareLock.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task<bool> DelayAsync(TimeSpan delay, CancellationToken ct)
    {
        try { await Task.Delay(delay, _time, ct).ConfigureAwait(false); return true; }
        catch (OperationCanceledException) { return false; }
    }

    private void Fail(Exception e)
    {
        if (Interlocked.Exchange(ref _fatal, 1) == 1) return;
        LogFatal(e.Message);
        // Before start-up completed the error goes to StartAsync (the host does not start); afterwards to the owner.
        if (!_firstAttempt.TrySetResult(e)) _onFatal(e);
    }

    /// <summary>Closes <paramref name="conn"/> and counts it closed exactly once (connections_active must not drift).</summary>
    private ValueTask CloseAsync(IConnection conn, ref int counted)
    {
        if (Interlocked.Exchange(ref counted, 0) == 1) _metrics.ConnectionClosed();
        return CloseCore(conn);

        static async ValueTask CloseCore(IConnection c)
        {
            try { await c.CloseAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false); } catch (Exception) { /* already closed */ }
            try { await c.DisposeAsync().ConfigureAwait(false); } catch (Exception) { /* already disposed */ }
        }
    }

    [LoggerMessage(EventId = 2006, Level = LogLevel.Warning, Message = "RabbitMQ not reachable at {Hosts} as user {User} ({Error}); attempt {Attempt}, retrying in {Delay}; {Pending} events waiting")]
    private partial void LogUnreachable(string hosts, string user, string error, int attempt, TimeSpan delay, long pending);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Warning, Message = "RabbitMQ connection lost while declaring exchanges; reconnecting")]
    private partial void LogLostWhileDeclaring(Exception exception);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Information, Message = "RabbitMQ connected to {Endpoint}; exchanges declared: {Exchanges}; {Pending} events waiting")]
    private partial void LogConnected(string endpoint, string exchanges, long pending);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Warning, Message = "RabbitMQ connection closed ({Reason}); reconnecting; {Pending} events waiting")]
    private partial void LogClosed(string reason, long pending);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Critical, Message = "{Error}")]
    private partial void LogFatal(string error);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Debug, Message = "Re-declare failed; the connection loop will retry")]
    private partial void LogRedeclareFailed(Exception exception);
}
