using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using XmppRabbitComponent.Configuration;
using XmppRabbitComponent.Publishing;

namespace XmppRabbitComponent.HighAvailability;

/// <summary>What one attempt to take the lease gave.</summary>
public enum LeaseOutcome
{
    /// <summary>This connection holds the lease (the exclusive queue is ours; declaring it again as its owner also says so).</summary>
    Acquired,
    /// <summary>Another connection holds it: the broker answered 405 RESOURCE_LOCKED.</summary>
    HeldElsewhere,
    /// <summary>Anything else (another refusal such as 403 or 406, or the connection went away meanwhile); see the detail.</summary>
    Failed,
}

/// <summary>One attempt's outcome and, for <see cref="LeaseOutcome.Failed"/>, the broker's reply text or the error.</summary>
public readonly record struct LeaseAttempt(LeaseOutcome Outcome, string? Detail = null);

/// <summary>One broker connection that can hold the lease; the lease lives exactly as long as the connection.</summary>
public interface ILeaseConnection : IAsyncDisposable
{
    /// <summary>Where the connection goes (<c>host:port</c>), for logs.</summary>
    string Endpoint { get; }

    /// <summary>Completes when the connection closed for any reason (the lease, if held, is gone with it).</summary>
    Task Closed { get; }

    /// <summary>Tries once to take the lease. Never throws for a broker refusal; throws only <see cref="OperationCanceledException"/>.</summary>
    Task<LeaseAttempt> TryAcquireAsync(CancellationToken ct);

    /// <summary>Before a planned release: leaves a hand-over notice for the next holder. Best effort; never throws.</summary>
    Task LeaveReleaseNoticeAsync(CancellationToken ct);

    /// <summary>After taking the lease: takes a hand-over notice left within the last few seconds; false when there is none
    /// (the previous holder crashed or lost its broker node) or it cannot be read. Never throws but for cancellation.</summary>
    Task<bool> TakeReleaseNoticeAsync(CancellationToken ct);

    /// <summary>
    /// Completes when a hand-over notice was delivered to this connection while it waits as a standby (the holder is
    /// about to release the lease: try now); each call after that returns a new task for the next notice.
    /// </summary>
    Task NoticeArrived { get; }

    /// <summary>Stops receiving hand-over notices (this connection holds the lease now: the notices are for standbys).</summary>
    Task StopWatchingNoticesAsync();
}

/// <summary>Opens lease connections (one at a time; the election owns each until it closes).</summary>
public interface ILeaseBroker
{
    /// <summary>Opens a connection to the broker.</summary>
    /// <exception cref="Exception">The broker is unreachable or refused the connection (any client exception).</exception>
    Task<ILeaseConnection> ConnectAsync(CancellationToken ct);
}

/// <summary>
/// The lease on RabbitMQ: an exclusive, non-durable queue named after the component domain, declared on a connection of
/// its own. RabbitMQ deletes an exclusive queue the moment its owning connection closes (a crash closes the socket; a
/// vanished machine is noticed through the AMQP heartbeat, <c>Rabbit:Heartbeat</c>), and refuses a declaration by any
/// other connection with 405 RESOURCE_LOCKED. The queue carries no messages. The connection's client-provided name
/// names the holder (<c>rabbitmqctl list_connections name</c>), host and PID.
/// <para>Hand-over notices go through a second, ordinary queue, <c>LEASE.handoff</c> (non-durable, messages expire after
/// <see cref="NoticeTtl"/>, the queue after an hour unused): a holder stopping on purpose publishes one message there
/// before closing its connection; the next holder takes it with <c>basic.get</c>.</para>
/// </summary>
public sealed class RabbitLeaseBroker(RabbitOptions options, string leaseName, string holderName) : ILeaseBroker
{
    private readonly ConnectionFactory _factory = WithName(RabbitConnectionFactory.Create(options), holderName);
    private readonly IReadOnlyList<AmqpTcpEndpoint> _endpoints = RabbitConnectionFactory.Endpoints(options);

    /// <summary>The queue that is the lease.</summary>
    public string LeaseName => leaseName;

    /// <summary>How long a hand-over notice counts: 10 s.</summary>
    public static readonly TimeSpan NoticeTtl = TimeSpan.FromSeconds(10);

    private static readonly Dictionary<string, object?> HandoffArguments = new()
    {
        ["x-message-ttl"] = (int)NoticeTtl.TotalMilliseconds,
        ["x-expires"] = 3_600_000,
    };

    /// <inheritdoc />
    public async Task<ILeaseConnection> ConnectAsync(CancellationToken ct)
    {
        var connection = await _factory.CreateConnectionAsync(_endpoints, holderName, ct).ConfigureAwait(false);
        var lease = new RabbitLeaseConnection(connection, leaseName);
        await lease.WatchNoticesAsync(ct).ConfigureAwait(false);
        return lease;
    }

    private static ConnectionFactory WithName(ConnectionFactory f, string name)
    {
        f.ClientProvidedName = name;
        return f;
    }

    private sealed class RabbitLeaseConnection : ILeaseConnection
    {
        private readonly IConnection _connection;
        private readonly string _queue;
        private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Lock _lock = new();
        private TaskCompletionSource _notice = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private IChannel? _noticeChannel;
        private long _noticeAt = long.MinValue;

        public RabbitLeaseConnection(IConnection connection, string queue)
        {
            _connection = connection;
            _queue = queue;
            connection.ConnectionShutdownAsync += (_, _) => { _closed.TrySetResult(); return Task.CompletedTask; };
            if (!connection.IsOpen) _closed.TrySetResult();
            Endpoint = $"{connection.Endpoint.HostName}:{connection.Endpoint.Port}";
        }

        public string Endpoint { get; }
        public Task Closed => _closed.Task;
        public Task NoticeArrived { get { lock (_lock) return _notice.Task; } }

        /// <summary>Consumes the hand-over queue while this connection is a standby. Best effort: without it, polling still works.</summary>
        public async Task WatchNoticesAsync(CancellationToken ct)
        {
            try
            {
                var channel = await _connection.CreateChannelAsync(cancellationToken: ct).ConfigureAwait(false);
                await channel.QueueDeclareAsync(_queue + ".handoff", durable: false, exclusive: false, autoDelete: false, arguments: HandoffArguments, cancellationToken: ct).ConfigureAwait(false);
                var consumer = new RabbitMQ.Client.Events.AsyncEventingBasicConsumer(channel);
                consumer.ReceivedAsync += (_, _) =>
                {
                    TaskCompletionSource arrived;
                    lock (_lock)
                    {
                        _noticeAt = Environment.TickCount64;
                        arrived = _notice;
                        _notice = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    }
                    arrived.TrySetResult();
                    return Task.CompletedTask;
                };
                await channel.BasicConsumeAsync(_queue + ".handoff", autoAck: true, consumer, ct).ConfigureAwait(false);
                _noticeChannel = channel;
            }
            catch (Exception e) when (e is not OperationCanceledException) { /* polling alone then */ }
        }

        public async Task StopWatchingNoticesAsync()
        {
            if (Interlocked.Exchange(ref _noticeChannel, null) is not { } channel) return;
            try { await channel.CloseAsync().ConfigureAwait(false); }
            catch (Exception) { /* the connection is going or gone */ }
            channel.Dispose();
        }

        public async Task<LeaseAttempt> TryAcquireAsync(CancellationToken ct)
        {
            IChannel channel;
            try { channel = await _connection.CreateChannelAsync(cancellationToken: ct).ConfigureAwait(false); }
            catch (Exception e) when (e is not OperationCanceledException) { return new LeaseAttempt(LeaseOutcome.Failed, e.Message); }
            try
            {
                await channel.QueueDeclareAsync(_queue, durable: false, exclusive: true, autoDelete: false, arguments: null, cancellationToken: ct).ConfigureAwait(false);
                await channel.CloseAsync(ct).ConfigureAwait(false);
                return new LeaseAttempt(LeaseOutcome.Acquired);
            }
            catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 405)
            {
                return new LeaseAttempt(LeaseOutcome.HeldElsewhere);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                var reason = e is OperationInterruptedException { ShutdownReason: { } r } ? $"{r.ReplyCode} {r.ReplyText}" : e.Message;
                return new LeaseAttempt(LeaseOutcome.Failed, reason);
            }
            finally
            {
                channel.Dispose();
            }
        }

        public async Task LeaveReleaseNoticeAsync(CancellationToken ct)
        {
            try
            {
                await using var channel = await _connection.CreateChannelAsync(cancellationToken: ct).ConfigureAwait(false);
                await channel.QueueDeclareAsync(_queue + ".handoff", durable: false, exclusive: false, autoDelete: false, arguments: HandoffArguments, cancellationToken: ct).ConfigureAwait(false);
                await channel.BasicPublishAsync("", _queue + ".handoff", mandatory: false, new BasicProperties { Type = "lease_released", Timestamp = new AmqpTimestamp(DateTimeOffset.UtcNow.ToUnixTimeSeconds()) },
                    System.Text.Encoding.UTF8.GetBytes(Endpoint), ct).ConfigureAwait(false);
                await channel.CloseAsync(ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException) { /* best effort: the next holder then waits TakeoverDelay */ }
        }

        public async Task<bool> TakeReleaseNoticeAsync(CancellationToken ct)
        {
            lock (_lock)
            {
                // A notice counts only while fresh: one received long ago belonged to another hand-over.
                var fresh = _noticeAt != long.MinValue && Environment.TickCount64 - _noticeAt <= (long)NoticeTtl.TotalMilliseconds;
                _noticeAt = long.MinValue;
                if (fresh) return true;
            }
            try
            {
                await using var channel = await _connection.CreateChannelAsync(cancellationToken: ct).ConfigureAwait(false);
                await channel.QueueDeclareAsync(_queue + ".handoff", durable: false, exclusive: false, autoDelete: false, arguments: HandoffArguments, cancellationToken: ct).ConfigureAwait(false);
                var found = false;
                // Take every notice (an old one may linger until its TTL); one is enough.
                while (await channel.BasicGetAsync(_queue + ".handoff", autoAck: true, ct).ConfigureAwait(false) is not null) found = true;
                await channel.CloseAsync(ct).ConfigureAwait(false);
                return found;
            }
            catch (Exception e) when (e is not OperationCanceledException) { return false; }
        }

        public async ValueTask DisposeAsync()
        {
            // Closing the connection deletes the exclusive queue: this is the release.
            try { await _connection.CloseAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false); }
            catch (Exception) { /* already closed or the broker is gone: the lease is gone with the connection either way */ }
            _connection.Dispose();
        }
    }
}
