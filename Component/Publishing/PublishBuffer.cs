using XmppRabbitComponent.Configuration;

namespace XmppRabbitComponent.Publishing;

/// <summary>
/// The bounded buffer between the XMPP side and the workers (issue "No loss across outages"). One FIFO lane per
/// worker (or a single shared lane for <c>available_worker</c>). Bounds: <c>Rabbit:MaxBufferedEvents</c> over all
/// lanes, and <c>Rabbit:MaxWorkerQueueLen</c> per lane when there is more than one lane (0 = no lane bound).
/// When a bound is reached:
/// <list type="bullet">
/// <item><c>backpressure</c>: <see cref="AddAsync"/> waits until there is room (the caller stops reading XMPP, the
/// XMPP server buffers). Nothing is dropped.</item>
/// <item><c>drop_oldest</c>: the oldest waiting event of the target lane is dropped (reason <c>worker_queue_full</c>
/// for the lane bound; <c>buffer_full</c> for the global bound, taken from the target lane, or from the longest lane
/// when the target lane is empty) and the new event is added. Never waits.</item>
/// </list>
/// Events taken by a worker (in flight) no longer count against the bounds.
/// </summary>
internal sealed class PublishBuffer
{
    private readonly object _lock = new();
    private readonly Queue<PublishEnvelope>[] _lanes;
    private readonly int[] _laneCounts;
    private readonly TaskCompletionSource<bool>?[] _dataWaiters;
    private TaskCompletionSource? _roomWaiter;
    private readonly int _maxTotal, _maxLane;
    private readonly BufferFullPolicy _policy;
    private readonly Action<PublishEnvelope, string> _onDrop;
    private int _count;
    private bool _completed;

    /// <summary>Creates the buffer; <paramref name="onDrop"/> is called (outside the lock) for each dropped event with its reason.</summary>
    public PublishBuffer(int lanes, int maxTotal, int maxLane, BufferFullPolicy policy, Action<PublishEnvelope, string> onDrop)
    {
        _lanes = new Queue<PublishEnvelope>[lanes];
        for (var i = 0; i < lanes; i++) _lanes[i] = new Queue<PublishEnvelope>();
        _laneCounts = new int[lanes];
        _dataWaiters = new TaskCompletionSource<bool>?[lanes];
        _maxTotal = maxTotal;
        _maxLane = lanes > 1 ? maxLane : 0;
        _policy = policy;
        _onDrop = onDrop;
    }

    /// <summary>Waiting events over all lanes.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Waiting events in <paramref name="lane"/> (a racy read, good enough for <c>best_worker</c>).</summary>
    public int LaneLength(int lane) => Volatile.Read(ref _laneCounts[lane]);

    /// <summary>True after <see cref="Complete"/>.</summary>
    public bool IsCompleted { get { lock (_lock) return _completed; } }

    /// <summary>Adds <paramref name="e"/> to <paramref name="lane"/>, applying the full-buffer policy. False when the buffer is completed (shutting down): the event was not added.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled while waiting for room (backpressure).</exception>
    public ValueTask<bool> AddAsync(PublishEnvelope e, int lane, CancellationToken ct)
    {
        PublishEnvelope? dropped = null;
        string? reason = null;
        Task wait;
        lock (_lock)
        {
            if (_completed) return ValueTask.FromResult(false);
            var laneFull = _maxLane > 0 && _lanes[lane].Count >= _maxLane;
            var totalFull = _count >= _maxTotal;
            if (!laneFull && !totalFull)
            {
                EnqueueLocked(e, lane);
                return ValueTask.FromResult(true);
            }
            if (_policy == BufferFullPolicy.DropOldest)
            {
                var victim = laneFull || _lanes[lane].Count > 0 ? lane : LongestLocked();
                reason = laneFull ? "worker_queue_full" : "buffer_full";
                dropped = DequeueLocked(victim);
                EnqueueLocked(e, lane);
            }
            else
            {
                _roomWaiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = _roomWaiter.Task;
                goto Slow;
            }
        }
        _onDrop(dropped!, reason!);
        return ValueTask.FromResult(true);
    Slow:
        return WaitForRoomAsync(e, lane, wait, ct);
    }

    private async ValueTask<bool> WaitForRoomAsync(PublishEnvelope e, int lane, Task wait, CancellationToken ct)
    {
        while (true)
        {
            await wait.WaitAsync(ct).ConfigureAwait(false);
            lock (_lock)
            {
                if (_completed) return false;
                if ((_maxLane == 0 || _lanes[lane].Count < _maxLane) && _count < _maxTotal)
                {
                    EnqueueLocked(e, lane);
                    return true;
                }
                _roomWaiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = _roomWaiter.Task;
            }
        }
    }

    /// <summary>Takes the oldest event of <paramref name="lane"/>, if any.</summary>
    public bool TryTake(int lane, out PublishEnvelope e)
    {
        TaskCompletionSource? room;
        lock (_lock)
        {
            if (_lanes[lane].Count == 0) { e = null!; return false; }
            e = DequeueLocked(lane);
            room = _roomWaiter;
            _roomWaiter = null;
        }
        room?.TrySetResult();
        return true;
    }

    /// <summary>Completes when <paramref name="lane"/> has an event (true) or the buffer is completed and the lane empty (false).</summary>
    public ValueTask<bool> WaitToTakeAsync(int lane, CancellationToken ct)
    {
        Task<bool> t;
        lock (_lock)
        {
            if (_lanes[lane].Count > 0) return ValueTask.FromResult(true);
            if (_completed) return ValueTask.FromResult(false);
            t = (_dataWaiters[lane] ??= new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }
        return ct.CanBeCanceled ? new ValueTask<bool>(t.WaitAsync(ct)) : new ValueTask<bool>(t);
    }

    /// <summary>Stops accepting events: later adds return false, waiting adds are released with false; workers drain what is left.</summary>
    public void Complete()
    {
        TaskCompletionSource? room;
        TaskCompletionSource<bool>?[] waiters;
        lock (_lock)
        {
            _completed = true;
            room = _roomWaiter;
            _roomWaiter = null;
            waiters = (TaskCompletionSource<bool>?[])_dataWaiters.Clone();
            Array.Clear(_dataWaiters);
        }
        room?.TrySetResult();
        foreach (var w in waiters) w?.TrySetResult(false);
    }

    /// <summary>Removes every waiting event (shutdown ran out of time) and returns how many there were.</summary>
    public int Clear()
    {
        lock (_lock)
        {
            var n = _count;
            foreach (var q in _lanes) q.Clear();
            Array.Clear(_laneCounts);
            _count = 0;
            return n;
        }
    }

    private void EnqueueLocked(PublishEnvelope e, int lane)
    {
        _lanes[lane].Enqueue(e);
        _laneCounts[lane]++;
        _count++;
        var w = _dataWaiters[lane];
        if (w is not null) { _dataWaiters[lane] = null; w.TrySetResult(true); }
    }

    private PublishEnvelope DequeueLocked(int lane)
    {
        _laneCounts[lane]--;
        _count--;
        return _lanes[lane].Dequeue();
    }

    private int LongestLocked()
    {
        var best = 0;
        for (var i = 1; i < _lanes.Length; i++) if (_lanes[i].Count > _lanes[best].Count) best = i;
        return best;
    }
}
