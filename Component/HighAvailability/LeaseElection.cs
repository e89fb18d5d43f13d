using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using XmppRabbitComponent.Observability;

namespace XmppRabbitComponent.HighAvailability;

/// <summary>
/// What the XMPP side asks the election: may it open its stream, and when must it close it again.
/// </summary>
public interface IRoleGate
{
    /// <summary>False when the election is off (<c>HighAvailability:Enabled=false</c>): the instance is always active.</summary>
    bool Enabled { get; }

    /// <summary>The role now.</summary>
    InstanceRole Role { get; }

    /// <summary>The election state now (finer than <see cref="Role"/>).</summary>
    LeaseState State { get; }

    /// <summary>True while the lease connection to the broker is open (always true when the election is off).</summary>
    bool LeaseConnected { get; }

    /// <summary>
    /// Completes when this instance may open the XMPP stream: it holds the lease on a live broker connection. The token it
    /// returns is cancelled when the instance must close its stream because another instance took the lease
    /// (never cancelled by a mere broker outage: the stream is kept then).
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled while waiting.</exception>
    Task<CancellationToken> WaitForActiveAsync(CancellationToken ct);
}

/// <summary>The gate when the election is off: always active, never asked to close.</summary>
public sealed class AlwaysActiveGate : IRoleGate
{
    /// <inheritdoc />
    public bool Enabled => false;
    /// <inheritdoc />
    public InstanceRole Role => InstanceRole.Active;
    /// <inheritdoc />
    public LeaseState State => LeaseState.Active;
    /// <inheritdoc />
    public bool LeaseConnected => true;
    /// <inheritdoc />
    public Task<CancellationToken> WaitForActiveAsync(CancellationToken ct) => Task.FromResult(CancellationToken.None);
}

/// <summary>
/// The election of the active instance (<c>docs/high-availability.md</c>): one supervised loop on its own broker
/// connection. A standby tries the lease every <c>HighAvailability:RetryInterval</c>; the active one holds it and
/// watches its connection. Losing the connection while active keeps the XMPP stream (state
/// <see cref="LeaseState.ActiveBrokerLost"/>); once the broker answers again the lease is tried first thing, and a
/// refusal then (another instance took it) closes the stream and makes this instance a standby.
/// <para>Register as a hosted service <b>before</b> the publisher and the XMPP service: hosted services stop in reverse
/// order, so a planned stop closes the stream, drains the publisher, and releases the lease last.</para>
/// Every role change is logged with its reason (event ids 3000–3099) and counted; <see cref="ComponentMetrics"/>
/// exports the role.
/// </summary>
public sealed partial class LeaseElection : IRoleGate, IHostedService, IAsyncDisposable
{
    private readonly HighAvailabilityOptions _o;
    private readonly string _leaseName;
    private readonly ILeaseBroker _broker;
    private readonly ComponentMetrics? _metrics;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly RoleStateMachine _machine = new();
    private readonly CancellationTokenSource _stop = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationTokenSource _tenure = Cancelled();
    private ILeaseConnection? _connection;
    private volatile bool _leaseConnected;
    private Task? _loop;
    private int _started, _stopped;

    /// <summary>Creates the election; nothing connects before <see cref="StartAsync"/>.</summary>
    /// <param name="options">The <c>HighAvailability</c> section.</param>
    /// <param name="leaseName">The lease queue's name (<see cref="HighAvailabilityOptions.EffectiveLeaseName"/>).</param>
    /// <param name="broker">Opens lease connections (RabbitMQ in production, a fake in unit tests).</param>
    /// <param name="metrics">Role gauge and role change counter; optional.</param>
    /// <param name="logger">One line per role change, with its reason.</param>
    /// <param name="time">Clock for the retry delays.</param>
    public LeaseElection(HighAvailabilityOptions options, string leaseName, ILeaseBroker broker, ComponentMetrics? metrics, ILogger<LeaseElection> logger, TimeProvider time)
    {
        _o = options;
        _leaseName = leaseName;
        _broker = broker;
        _metrics = metrics;
        _logger = logger;
        _time = time;
        metrics?.ObserveRole(() => Role == InstanceRole.Active ? "active" : "standby");
    }

    /// <inheritdoc />
    public bool Enabled => true;

    /// <inheritdoc />
    public InstanceRole Role { get { lock (_lock) return _machine.Role; } }

    /// <inheritdoc />
    public LeaseState State { get { lock (_lock) return _machine.State; } }

    /// <inheritdoc />
    public bool LeaseConnected => _leaseConnected;

    /// <inheritdoc />
    public async Task<CancellationToken> WaitForActiveAsync(CancellationToken ct)
    {
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                if (_machine.MayOpenStream) return _tenure.Token;
                changed = _changed.Task;
            }
            await changed.WaitAsync(ct).ConfigureAwait(false);
        }
    }

    /// <summary>Starts the election loop and returns at once (a standby must start as well as an active instance).</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _started, 1) == 1) return Task.CompletedTask;
        LogContending(_leaseName, _o.RetryInterval.TotalMilliseconds);
        _loop = Task.Run(() => LoopAsync(_stop.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Stops contending and releases the lease by closing the lease connection (the broker deletes the exclusive queue,
    /// a standby takes it at its next try). Called last on a planned stop, after the stream closed and the publisher drained.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1 || _started == 0) return;
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            try { await _loop.ConfigureAwait(false); }
            catch (Exception e) { LogLoopFault(e); }
        }
        var held = Role == InstanceRole.Active;
        Apply(_machine.Stop);
        if (_connection is { } c)
        {
            if (held && _leaseConnected) await c.LeaveReleaseNoticeAsync(cancellationToken).ConfigureAwait(false);
            _connection = null;
            _leaseConnected = false;
            await c.DisposeAsync().ConfigureAwait(false);
        }
        if (held) LogReleased(_leaseName);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task LoopAsync(CancellationToken ct)
    {
        var everConnected = false;
        var unreachableLogged = false;
        while (!ct.IsCancellationRequested)
        {
            ILeaseConnection conn;
            try
            {
                conn = await _broker.ConnectAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            catch (Exception e)
            {
                if (!unreachableLogged) LogBrokerUnreachable(e.InnerException?.Message ?? e.Message, _o.RetryInterval.TotalMilliseconds, Role);
                unreachableLogged = true;
                if (!await DelayAsync(_o.RetryInterval, null, ct).ConfigureAwait(false)) return;
                continue;
            }
            unreachableLogged = false;
            _connection = conn;
            _leaseConnected = true;
            LogLeaseConnected(conn.Endpoint, Role);
            try
            {
                // After an outage the instance that was active (and kept its stream) gets the first go at the lease.
                if (everConnected && State == LeaseState.Standby && _o.StandbyReconnectDelay > TimeSpan.Zero)
                    await DelayAsync(_o.StandbyReconnectDelay, conn.Closed, ct).ConfigureAwait(false);
                everConnected = true;
                await HoldOrContendAsync(conn, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return; // StopAsync releases the lease with the connection.
            }
            catch (Exception e)
            {
                // Not a broker answer: a bug. Logged with its stack; the connection is dropped and the loop goes on.
                LogLoopFault(e);
            }
            _connection = null;
            _leaseConnected = false;
            if (conn.Closed.IsCompleted) LogLeaseConnectionLost(conn.Endpoint, Role);
            var wasActive = State == LeaseState.Active;
            Apply(_machine.ConnectionLost);
            await conn.DisposeAsync().ConfigureAwait(false);
            // The instance that had the lease tries again at once: it should be the first back (a standby polls).
            if (!wasActive && !await DelayAsync(_o.RetryInterval, null, ct).ConfigureAwait(false)) return;
        }
    }

    /// <summary>After a hand-over notice, the lease is tried this often (the holder releases it right after the notice).</summary>
    private static readonly TimeSpan NoticeRetryInterval = TimeSpan.FromMilliseconds(10);

    private async Task HoldOrContendAsync(ILeaseConnection conn, CancellationToken ct)
    {
        var refusalLogged = false;
        string? lastFailure = null;
        var fastTries = 0;
        while (!conn.Closed.IsCompleted)
        {
            var attempt = await conn.TryAcquireAsync(ct).ConfigureAwait(false);
            switch (attempt.Outcome)
            {
                case LeaseOutcome.Acquired:
                    await conn.StopWatchingNoticesAsync().ConfigureAwait(false);
                    if (State == LeaseState.Standby && !await conn.TakeReleaseNoticeAsync(ct).ConfigureAwait(false) && _o.TakeoverDelay > TimeSpan.Zero)
                    {
                        // Not handed over: the previous holder crashed, or lost its broker node and may still hold a stream.
                        // Give it the time to be refused and close it before ours opens (break-before-make).
                        LogTakeoverDelay(_leaseName, _o.TakeoverDelay.TotalMilliseconds);
                        await DelayAsync(_o.TakeoverDelay, conn.Closed, ct).ConfigureAwait(false);
                        ct.ThrowIfCancellationRequested();
                        if (conn.Closed.IsCompleted) return;
                    }
                    Apply(_machine.LeaseAcquired, conn.Endpoint);
                    await conn.Closed.WaitAsync(ct).ConfigureAwait(false);
                    return;
                case LeaseOutcome.HeldElsewhere:
                    var t = Apply(_machine.LeaseRefused);
                    if (!t.Changed && !refusalLogged) LogHeldElsewhere(_leaseName);
                    refusalLogged = true;
                    break;
                default:
                    if (conn.Closed.IsCompleted) return;
                    if (attempt.Detail != lastFailure) LogAcquireFailed(_leaseName, attempt.Detail ?? "unknown");
                    lastFailure = attempt.Detail;
                    break;
            }
            // A standby sleeps RetryInterval, or until a hand-over notice says the holder is releasing: then it tries every
            // few milliseconds for up to a second, so a planned hand-over does not wait for the next poll.
            var notice = conn.NoticeArrived;
            var interval = fastTries > 0 ? NoticeRetryInterval : _o.RetryInterval;
            if (fastTries > 0) fastTries--;
            var wait = Task.Delay(interval, _time, ct);
            var woke = await Task.WhenAny(wait, conn.Closed, notice).ConfigureAwait(false);
            ct.ThrowIfCancellationRequested();
            if (woke == notice) fastTries = (int)(TimeSpan.FromSeconds(1) / NoticeRetryInterval);
        }
    }

    /// <summary>Waits <paramref name="delay"/> or until <paramref name="until"/> completes; false when <paramref name="ct"/> was cancelled.</summary>
    private async Task<bool> DelayAsync(TimeSpan delay, Task? until, CancellationToken ct)
    {
        var wait = Task.Delay(delay, _time, ct);
        await (until is null ? wait : Task.WhenAny(wait, until)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        return !ct.IsCancellationRequested;
    }

    private RoleTransition Apply(Func<RoleTransition> step, string? endpoint = null)
    {
        RoleTransition t;
        TaskCompletionSource changed;
        lock (_lock)
        {
            t = step();
            if (!t.Changed) return t;
            if (t.From == LeaseState.Standby && t.To == LeaseState.Active) _tenure = new CancellationTokenSource();
            if (t.CloseStream) _tenure.Cancel();
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        var fromRole = t.From is LeaseState.Active or LeaseState.ActiveBrokerLost ? InstanceRole.Active : InstanceRole.Standby;
        var toRole = t.To is LeaseState.Active or LeaseState.ActiveBrokerLost ? InstanceRole.Active : InstanceRole.Standby;
        if (t.To == LeaseState.Stopped) LogStopped(t.From, t.Reason);
        else if (fromRole != toRole)
        {
            _metrics?.RoleChanged(toRole == InstanceRole.Active ? "active" : "standby");
            if (t.CloseStream) LogDemoted(fromRole, toRole, t.Reason, _leaseName);
            else LogRoleChanged(fromRole, toRole, t.Reason, _leaseName, endpoint ?? "-");
        }
        else LogStateChanged(t.From, t.To, t.Reason);
        changed.TrySetResult();
        return t;
    }

    private static CancellationTokenSource Cancelled()
    {
        var c = new CancellationTokenSource();
        c.Cancel();
        return c;
    }

    [LoggerMessage(EventId = 3000, Level = LogLevel.Information, Message = "High availability: contending for lease {LeaseName} (standby retries every {RetryIntervalMs} ms)")]
    private partial void LogContending(string leaseName, double retryIntervalMs);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Role {From} -> {To}: {Reason} (lease {LeaseName} on {Endpoint})")]
    private partial void LogRoleChanged(InstanceRole from, InstanceRole to, string reason, string leaseName, string endpoint);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Role {From} -> {To}: {Reason} (lease {LeaseName})")]
    private partial void LogDemoted(InstanceRole from, InstanceRole to, string reason, string leaseName);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Lease state {From} -> {To}: {Reason}")]
    private partial void LogStateChanged(LeaseState from, LeaseState to, string reason);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information, Message = "Lease connection open to {Endpoint} (role {Role})")]
    private partial void LogLeaseConnected(string endpoint, InstanceRole role);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning, Message = "Lease connection to {Endpoint} lost (role {Role}); reconnecting")]
    private partial void LogLeaseConnectionLost(string endpoint, InstanceRole role);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Warning, Message = "Broker not reachable for the lease ({Error}); retrying every {RetryIntervalMs} ms (role {Role})")]
    private partial void LogBrokerUnreachable(string error, double retryIntervalMs, InstanceRole role);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Information, Message = "Standby: lease {LeaseName} is held by another instance; taking over when it is free")]
    private partial void LogHeldElsewhere(string leaseName);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Error, Message = "The broker refused lease queue {LeaseName}: {Detail}; retrying (is another application using this queue name? see HighAvailability:LeaseName)")]
    private partial void LogAcquireFailed(string leaseName, string detail);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Information, Message = "Lease {LeaseName} released")]
    private partial void LogReleased(string leaseName);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Information, Message = "Role {From} -> stopped: {Reason}")]
    private partial void LogStopped(LeaseState from, string reason);

    [LoggerMessage(EventId = 3012, Level = LogLevel.Information, Message = "Lease {LeaseName} taken without a hand-over notice (the previous holder crashed or lost its broker node): opening the XMPP stream in {DelayMs} ms")]
    private partial void LogTakeoverDelay(string leaseName, double delayMs);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Error, Message = "Unexpected failure in the lease loop; dropping the lease connection and going on")]
    private partial void LogLoopFault(Exception exception);
}
