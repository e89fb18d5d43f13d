using XmppRabbitComponent.HighAvailability;

namespace XmppRabbitComponent.Tests.HighAvailability;

/// <summary>
/// An in-memory broker with the lease semantics of an exclusive queue: one owning connection at a time, released when
/// that connection closes; can go down (connections closed, new ones refused) and come back. One per test.
/// </summary>
internal sealed class FakeLeaseBroker
{
    private readonly Lock _lock = new();
    private readonly List<Connection> _open = [];
    private bool _down;

    /// <summary>Hand-over notices waiting (a planned stop leaves one).</summary>
    public int Notices;

    /// <summary>The connection holding the lease, or null.</summary>
    public Connection? Owner { get; private set; }

    /// <summary>Connections the broker refuses to open for a client name (simulates one instance that cannot reach the broker).</summary>
    public HashSet<string> Unreachable { get; } = [];

    /// <summary>Attempts per client name.</summary>
    public int Attempts(string client) { lock (_lock) return _attempts.GetValueOrDefault(client); }
    private readonly Dictionary<string, int> _attempts = [];

    /// <summary>The broker as one client sees it.</summary>
    public ILeaseBroker For(string client) => new Client(this, client);

    /// <summary>Broker outage: every connection closes, new ones fail until <see cref="Up"/>.</summary>
    public void Down()
    {
        List<Connection> open;
        lock (_lock) { _down = true; open = [.. _open]; _open.Clear(); Owner = null; }
        foreach (var c in open) c.CloseFromBroker();
    }

    /// <summary>The broker answers again.</summary>
    public void Up() { lock (_lock) _down = false; }

    /// <summary>Closes one client's connections (a dead node, a cut TCP connection).</summary>
    public void Cut(string client)
    {
        List<Connection> cut;
        lock (_lock) { cut = _open.Where(c => c.ClientName == client).ToList(); foreach (var c in cut) Release(c); }
        foreach (var c in cut) c.CloseFromBroker();
    }

    private void Release(Connection c)
    {
        _open.Remove(c);
        if (Owner == c) Owner = null;
    }

    private sealed class Client(FakeLeaseBroker broker, string name) : ILeaseBroker
    {
        public Task<ILeaseConnection> ConnectAsync(CancellationToken ct)
        {
            lock (broker._lock)
            {
                if (broker._down || broker.Unreachable.Contains(name)) throw new IOException("connection refused (fake broker down)");
                var c = new Connection(broker, name);
                broker._open.Add(c);
                return Task.FromResult<ILeaseConnection>(c);
            }
        }
    }

    internal sealed class Connection(FakeLeaseBroker broker, string client) : ILeaseConnection
    {
        private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public string ClientName => client;
        public string Endpoint => "fake:5672";
        public Task Closed => _closed.Task;

        public Task<LeaseAttempt> TryAcquireAsync(CancellationToken ct)
        {
            ct.ThrowIfCancellationRequested();
            lock (broker._lock)
            {
                broker._attempts[client] = broker._attempts.GetValueOrDefault(client) + 1;
                if (_closed.Task.IsCompleted) return Task.FromResult(new LeaseAttempt(LeaseOutcome.Failed, "connection closed"));
                if (broker.Owner is null || broker.Owner == this)
                {
                    broker.Owner = this;
                    return Task.FromResult(new LeaseAttempt(LeaseOutcome.Acquired));
                }
                return Task.FromResult(new LeaseAttempt(LeaseOutcome.HeldElsewhere));
            }
        }

        public Task LeaveReleaseNoticeAsync(CancellationToken ct)
        {
            Interlocked.Increment(ref broker.Notices);
            return Task.CompletedTask;
        }

        // The fake has no notice delivery: standbys find the notice by polling (TakeReleaseNoticeAsync).
        public Task NoticeArrived { get; } = new TaskCompletionSource().Task;
        public Task StopWatchingNoticesAsync() => Task.CompletedTask;

        public Task<bool> TakeReleaseNoticeAsync(CancellationToken ct) => Task.FromResult(Interlocked.Exchange(ref broker.Notices, 0) > 0);

        public void CloseFromBroker() => _closed.TrySetResult();

        public ValueTask DisposeAsync()
        {
            lock (broker._lock) broker.Release(this);
            _closed.TrySetResult();
            return ValueTask.CompletedTask;
        }
    }
}
