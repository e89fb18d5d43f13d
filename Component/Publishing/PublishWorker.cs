using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace XmppRabbitComponent.Publishing;

/// <summary>
/// One publishing channel (issue "Pool"). Takes events from its buffer lane (its own, or the shared one under
/// <c>available_worker</c>) in order and publishes them on its channel. With confirms on, up to
/// <c>Rabbit:MaxInFlightPerWorker</c> publishes are outstanding; outcomes are read in publish order:
/// ack → published; nack → failed and published again (up to <c>Rabbit:MaxNacksPerEvent</c> nacks, then dropped,
/// reason <c>nacked</c>); return (mandatory, unroutable) → returned; no answer within <c>Rabbit:ConfirmTimeout</c>
/// → timed out, channel abandoned, everything in flight published again. When the channel or connection closes,
/// every unconfirmed event goes back to the front of the worker's retry queue, in order, and is published again on
/// the next channel (at-least-once; same <c>message_id</c>). The channel is replaced whenever it closes.
/// </summary>
internal sealed class PublishWorker
{
    private readonly RabbitEventPublisher _owner;
    private readonly int _id, _lane;
    private readonly LinkedList<PublishEnvelope> _retry = new();
    private readonly Queue<InFlight> _inFlight = new();
    private TaskCompletionSource _tick = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private readonly record struct InFlight(PublishEnvelope Envelope, Task Confirm, long Started);

    private sealed class ChannelBrokenException(string reason, Exception? inner = null) : Exception(reason, inner);

    public PublishWorker(RabbitEventPublisher owner, int id, int lane)
    {
        _owner = owner;
        _id = id;
        _lane = lane;
    }

    /// <summary>Events this worker holds (retry queue plus in flight).</summary>
    public int Held => Volatile.Read(ref _held);
    private int _held;

    /// <summary>Wakes the pump so that it checks confirm deadlines (called by the publisher's timer).</summary>
    public void Tick() => Interlocked.Exchange(ref _tick, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>Runs until the buffer is completed and this worker has nothing left, or <paramref name="hardStop"/> fires.</summary>
    public async Task RunAsync(CancellationToken hardStop)
    {
        var failures = 0;
        var o = _owner.Options;
        while (!hardStop.IsCancellationRequested)
        {
            if (_owner.Buffer.IsCompleted && _retry.Count == 0 && _inFlight.Count == 0 && _owner.Buffer.LaneLength(_lane) == 0) return;
            var connection = await _owner.WaitForConnectionAsync(hardStop).ConfigureAwait(false);
            IChannel channel;
            try
            {
                channel = await connection.CreateChannelAsync(_owner.ChannelOptions, hardStop).ConfigureAwait(false);
            }
            catch (Exception e) when (!hardStop.IsCancellationRequested)
            {
                _owner.Logger.LogDebug(new EventId(2101, "PublishWorker"), e, "Worker {Worker}: cannot open a channel; retrying", _id);
                await _owner.DelayAsync(failures++, hardStop).ConfigureAwait(false);
                continue;
            }
            if (o.Mandatory && !o.ConfirmsEnabled) channel.BasicReturnAsync += OnReturnWithoutConfirms;
            try
            {
                if (await PumpAsync(channel, hardStop).ConfigureAwait(false)) failures = 0;
                if (_owner.Buffer.IsCompleted && _retry.Count == 0 && _inFlight.Count == 0) return;
            }
            catch (ChannelBrokenException e) when (!hardStop.IsCancellationRequested)
            {
                var requeued = RequeueInFlight();
                var reason = channel.CloseReason;
                _owner.Logger.LogWarning(new EventId(2102, "PublishWorker"), "Worker {Worker}: channel lost ({Reason}; broker: {Code} {Text}); {Requeued} unconfirmed events will be published again",
                    _id, e.Message, reason?.ReplyCode, reason?.ReplyText, requeued);
                if (reason is { ReplyCode: 404 }) await _owner.RedeclareAsync(connection, hardStop).ConfigureAwait(false);
                await _owner.DelayAsync(failures++, hardStop).ConfigureAwait(false);
            }
            finally
            {
                // A channel the broker closed needs no close handshake; disposing it would wait for one.
                if (channel.IsOpen) { try { await channel.DisposeAsync().ConfigureAwait(false); } catch (Exception) { /* racing a close */ } }
            }
        }
    }

    /// <summary>Publishes until the lane is drained after completion (returns) or the channel breaks (throws). True when something was published.</summary>
    private async Task<bool> PumpAsync(IChannel channel, CancellationToken hardStop)
    {
        var o = _owner.Options;
        var confirms = o.ConfirmsEnabled;
        var max = o.MaxInFlightPerWorker;
        var any = false;
        while (true)
        {
            if (!channel.IsOpen) throw new ChannelBrokenException("channel closed");
            // Outcomes in publish order.
            while (_inFlight.Count > 0 && _inFlight.Peek().Confirm.IsCompleted) { Reap(); any = true; }

            if ((!confirms || _inFlight.Count < max) && TryNext(out var env))
            {
                var props = _owner.Properties(env);
                var started = _owner.Time.GetTimestamp();
                env.Publishes++;
                var publish = channel.BasicPublishAsync(env.Exchange, env.RoutingKey, o.Mandatory, props, env.Body, CancellationToken.None);
                if (confirms)
                {
                    _inFlight.Enqueue(new InFlight(env, publish.AsTask(), started));
                    Interlocked.Increment(ref _held);
                    continue;
                }
                try
                {
                    await publish.ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    _retry.AddFirst(env);
                    Interlocked.Increment(ref _held);
                    throw new ChannelBrokenException(e.GetType().Name, e);
                }
                _owner.Published(env, _owner.Time.GetElapsedTime(started));
                any = true;
                continue;
            }

            if (_inFlight.Count == 0)
            {
                if (_retry.Count > 0) continue;
                if (!await _owner.Buffer.WaitToTakeAsync(_lane, hardStop).ConfigureAwait(false)) return any;
                continue;
            }

            var head = _inFlight.Peek();
            var age = _owner.Time.GetElapsedTime(head.Started);
            if (age >= o.ConfirmTimeout)
            {
                foreach (var f in _inFlight)
                    if (!f.Confirm.IsCompleted && _owner.Time.GetElapsedTime(f.Started) >= o.ConfirmTimeout) _owner.Metrics.MessageTimedOut(f.Envelope.Exchange);
                throw new ChannelBrokenException($"no confirm within {o.ConfirmTimeout}");
            }
            var tick = Volatile.Read(ref _tick).Task;
            if (_inFlight.Count < max && _retry.Count == 0)
            {
                var data = _owner.Buffer.WaitToTakeAsync(_lane, hardStop);
                if (data.IsCompleted && data.Result) continue;
                await Task.WhenAny(head.Confirm, data.AsTask(), tick).ConfigureAwait(false);
            }
            else
            {
                await Task.WhenAny(head.Confirm, tick).ConfigureAwait(false);
            }
            hardStop.ThrowIfCancellationRequested();
        }
    }

    private bool TryNext(out PublishEnvelope env)
    {
        if (_retry.First is { } first)
        {
            _retry.RemoveFirst();
            Interlocked.Decrement(ref _held);
            env = first.Value;
            return true;
        }
        return _owner.Buffer.TryTake(_lane, out env);
    }

    /// <summary>Handles the completed head of the in-flight queue; throws <see cref="ChannelBrokenException"/> (head kept) on a channel failure.</summary>
    private void Reap()
    {
        var head = _inFlight.Peek();
        var env = head.Envelope;
        var elapsed = _owner.Time.GetElapsedTime(head.Started);
        var t = head.Confirm;
        if (t.IsCompletedSuccessfully)
        {
            Done();
            _owner.Published(env, elapsed);
            return;
        }
        var ex = t.Exception?.InnerException ?? new TaskCanceledException();
        switch (ex)
        {
            case PublishException { IsReturn: true }:
                Done();
                _owner.Returned(env);
                return;
            case PublishException:
                Done();
                _owner.Metrics.MessageFailed(env.Exchange, elapsed, "nack");
                env.Nacks++;
                if (env.Nacks >= _owner.Options.MaxNacksPerEvent)
                    _owner.Dropped(env, "nacked");
                else
                {
                    _retry.AddFirst(env);
                    Interlocked.Increment(ref _held);
                }
                return;
            default:
                throw new ChannelBrokenException(ex.GetType().Name, ex);
        }

        void Done()
        {
            _inFlight.Dequeue();
            Interlocked.Decrement(ref _held);
        }
    }

    /// <summary>Moves every unconfirmed event to the front of the retry queue, keeping publish order; returns how many.</summary>
    private int RequeueInFlight()
    {
        var n = _inFlight.Count;
        var items = _inFlight.ToArray();
        _inFlight.Clear();
        for (var i = items.Length - 1; i >= 0; i--)
        {
            _retry.AddFirst(items[i].Envelope);
            // Observe the orphaned confirm so that its exception is not reported as unobserved.
            items[i].Confirm.ContinueWith(static t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously);
        }
        return n;
    }

    /// <summary>Events held by this worker at shutdown (dropped, counted by the caller).</summary>
    public int Abandon()
    {
        var n = _retry.Count + _inFlight.Count;
        foreach (var e in _retry) _owner.Dropped(e, "shutdown", count: false);
        foreach (var f in _inFlight) _owner.Dropped(f.Envelope, "shutdown", count: false);
        _retry.Clear();
        _inFlight.Clear();
        Volatile.Write(ref _held, 0);
        return n;
    }

    private Task OnReturnWithoutConfirms(object sender, RabbitMQ.Client.Events.BasicReturnEventArgs e)
    {
        _owner.Metrics.MessageReturned(e.Exchange);
        return Task.CompletedTask;
    }
}
