using XmppRabbitComponent.Configuration;

namespace XmppRabbitComponent.Publishing;

/// <summary>
/// The bounded buffer between the XMPP side and the workers (docs/publishing.md, "Buffer"). One FIFO worker queue per
/// worker (or a single shared queue for <c>available_worker</c>). Bounds: <c>Rabbit:MaxBufferedEvents</c> over all
/// queues, and <c>Rabbit:MaxWorkerQueueLen</c> per queue when there is more than one queue (0 = no queue bound).
/// When a bound is reached:
/// <list type="bullet">
/// <item><c>backpressure</c>: <see cref="AddAsync"/> waits until there is room (the caller stops reading XMPP, the
/// XMPP server buffers). Nothing is dropped.</item>
/// <item><c>drop_oldest</c>: the oldest waiting event of the target queue is dropped (reason <c>worker_queue_full</c>
/// for the queue bound; <c>buffer_full</c> for the global bound, taken from the target queue, or from the longest queue
/// when the target queue is empty) and the new event is added. Never waits.</item>
/// </list>
/// Events taken by a worker (in flight) no longer count against the bounds.
/// </summary>
internal sealed class PublishBuffer
{
    private readonly object _lock = new();
    private readonly Queue<PublishEnvelope>[] _queues;
    private readonly int[] _queueCounts;
    private readonly TaskCompletionSource<bool>?[] _dataWaiters;
    private readonly List<TaskCompletionSource<bool>> _deferredWaiters = [];
    private int _deferredEvents;
    private TaskCompletionSource? _roomWaiter;
    private readonly int _maxTotal, _maxQueue;
    private readonly BufferFullPolicy _policy;
    private readonly Action<PublishEnvelope, string> _onDrop;
    private int _count;
    private bool _completed;

    /// <summary>Creates the buffer; <paramref name="onDrop"/> is called (outside the lock) for each dropped event with its reason.</summary>
    public PublishBuffer(int queues, int maxTotal, int maxQueue, BufferFullPolicy policy, Action<PublishEnvelope, string> onDrop)
    {
        _queues = new Queue<PublishEnvelope>[queues];
        for (var i = 0; i < queues; i++) _queues[i] = new Queue<PublishEnvelope>();
        _queueCounts = new int[queues];
        _dataWaiters = new TaskCompletionSource<bool>?[queues];
        _maxTotal = maxTotal;
        _maxQueue = queues > 1 ? maxQueue : 0;
        _policy = policy;
        _onDrop = onDrop;
    }

    /// <summary>Waiting events over all queues.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Waiting events in <paramref name="queue"/> (a racy read, good enough for <c>best_worker</c>).</summary>
    public int QueueLength(int queue) => Volatile.Read(ref _queueCounts[queue]);

    /// <summary>True after <see cref="Complete"/>.</summary>
    public bool IsCompleted { get { lock (_lock) return _completed; } }

    /// <summary>Adds <paramref name="e"/> to <paramref name="queue"/>, applying the full-buffer policy. False when the buffer is completed (shutting down): the event was not added.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled while waiting for room (backpressure).</exception>
    /// <param name="e">The event.</param>
    /// <param name="queue">Its worker queue.</param>
    /// <param name="deferWake">When true, a worker waiting on <paramref name="queue"/> is not woken now but by the next
    /// <see cref="WakeDeferred"/>, or once <see cref="MaxDeferredEvents"/> events were added this way (a producer with
    /// more events at hand wakes each worker once per run of events instead of once per event).</param>
    /// <param name="ct">Cancels a wait for room.</param>
    public ValueTask<bool> AddAsync(PublishEnvelope e, int queue, CancellationToken ct, bool deferWake = false)
    {
        PublishEnvelope? dropped = null;
        string? reason = null;
        TaskCompletionSource<bool>? wake;
        bool due;
        Task wait;
        lock (_lock)
        {
            if (_completed) return ValueTask.FromResult(false);
            var queueFull = _maxQueue > 0 && _queues[queue].Count >= _maxQueue;
            var totalFull = _count >= _maxTotal;
            if (queueFull || totalFull)
            {
                if (_policy != BufferFullPolicy.DropOldest)
                {
                    _roomWaiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    wait = _roomWaiter.Task;
                    goto Slow;
                }
                var victim = queueFull || _queues[queue].Count > 0 ? queue : LongestQueueLocked();
                reason = queueFull ? "worker_queue_full" : "buffer_full";
                dropped = DequeueLocked(victim);
            }
            wake = EnqueueLocked(e, queue, deferWake, out due);
        }
        // Outside the lock: completing the waiter queues the worker's continuation (a thread wake-up).
        wake?.TrySetResult(true);
        if (due) WakeDeferred();
        if (dropped is not null) _onDrop(dropped, reason!);
        return ValueTask.FromResult(true);
    Slow:
        // Before waiting for room, the workers must hold everything deferred so far, or the room might never come.
        WakeDeferred();
        return WaitForRoomAsync(e, queue, wait, ct);
    }

    /// <summary>Most events added with <c>deferWake</c> before the waiting workers are woken anyway.</summary>
    public const int MaxDeferredEvents = 64;

    /// <summary>Wakes every worker whose queue received events added with <c>deferWake</c> since the last wake-up.</summary>
    public void WakeDeferred()
    {
        TaskCompletionSource<bool>[] waiters;
        lock (_lock)
        {
            _deferredEvents = 0;
            if (_deferredWaiters.Count == 0) return;
            waiters = [.. _deferredWaiters];
            _deferredWaiters.Clear();
        }
        foreach (var w in waiters) w.TrySetResult(true);
    }

    private async ValueTask<bool> WaitForRoomAsync(PublishEnvelope e, int queue, Task wait, CancellationToken ct)
    {
        TaskCompletionSource<bool>? wake;
        while (true)
        {
            await wait.WaitAsync(ct).ConfigureAwait(false);
            lock (_lock)
            {
                if (_completed) return false;
                if ((_maxQueue == 0 || _queues[queue].Count < _maxQueue) && _count < _maxTotal)
                {
                    wake = EnqueueLocked(e, queue, deferWake: false, out _);
                    break;
                }
                _roomWaiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = _roomWaiter.Task;
            }
        }
        wake?.TrySetResult(true);
        return true;
    }

    /// <summary>Takes the oldest event of <paramref name="queue"/>, if any.</summary>
    public bool TryTake(int queue, out PublishEnvelope e)
    {
        // Without the lock when the queue looks empty: a worker asks after every confirm, and the reader holds the
        // lock for each event. A racing add is seen by the caller's next WaitToTakeAsync, which takes the lock.
        if (Volatile.Read(ref _queueCounts[queue]) == 0) { e = null!; return false; }
        TaskCompletionSource? room;
        lock (_lock)
        {
            if (_queues[queue].Count == 0) { e = null!; return false; }
            e = DequeueLocked(queue);
            room = _roomWaiter;
            _roomWaiter = null;
        }
        room?.TrySetResult();
        return true;
    }

    /// <summary>Completes when <paramref name="queue"/> has an event (true) or the buffer is completed and the queue empty (false).</summary>
    public ValueTask<bool> WaitToTakeAsync(int queue, CancellationToken ct)
    {
        Task<bool> t;
        lock (_lock)
        {
            if (_queues[queue].Count > 0) return ValueTask.FromResult(true);
            if (_completed) return ValueTask.FromResult(false);
            t = (_dataWaiters[queue] ??= new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }
        return ct.CanBeCanceled ? new ValueTask<bool>(t.WaitAsync(ct)) : new ValueTask<bool>(t);
    }

    /// <summary>Stops accepting events: later adds return false, waiting adds are released with false; workers drain what is left.</summary>
    public void Complete()
    {
        TaskCompletionSource? room;
        TaskCompletionSource<bool>?[] waiters;
        TaskCompletionSource<bool>[] deferred;
        lock (_lock)
        {
            _completed = true;
            room = _roomWaiter;
            _roomWaiter = null;
            waiters = (TaskCompletionSource<bool>?[])_dataWaiters.Clone();
            Array.Clear(_dataWaiters);
            // A deferred waiter's queue holds events: it is released with true, so that its worker takes them.
            deferred = [.. _deferredWaiters];
            _deferredWaiters.Clear();
        }
        room?.TrySetResult();
        foreach (var w in deferred) w.TrySetResult(true);
        foreach (var w in waiters) w?.TrySetResult(false);
    }

    /// <summary>Removes every waiting event (shutdown ran out of time) and returns how many there were.</summary>
    public int Clear()
    {
        lock (_lock)
        {
            var n = _count;
            foreach (var q in _queues) q.Clear();
            Array.Clear(_queueCounts);
            _count = 0;
            return n;
        }
    }

    /// <summary>
    /// Adds <paramref name="e"/>; returns the waiter to complete outside the lock (null: none, or deferred), and whether
    /// the deferred waiters are due (<see cref="MaxDeferredEvents"/> reached).
    /// </summary>
    private TaskCompletionSource<bool>? EnqueueLocked(PublishEnvelope e, int queue, bool deferWake, out bool deferredDue)
    {
        _queues[queue].Enqueue(e);
        _queueCounts[queue]++;
        _count++;
        var w = _dataWaiters[queue];
        if (w is not null) _dataWaiters[queue] = null;
        deferredDue = false;
        if (!deferWake) return w;
        if (w is not null) _deferredWaiters.Add(w);
        deferredDue = ++_deferredEvents >= MaxDeferredEvents;
        return null;
    }

    private PublishEnvelope DequeueLocked(int queue)
    {
        _queueCounts[queue]--;
        _count--;
        return _queues[queue].Dequeue();
    }

    private int LongestQueueLocked()
    {
        var best = 0;
        for (var i = 1; i < _queues.Length; i++) if (_queues[i].Count > _queues[best].Count) best = i;
        return best;
    }
}
