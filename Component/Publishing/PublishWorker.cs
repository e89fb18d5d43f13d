using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using XmppRabbitComponent.Configuration;
using XmppRabbitComponent.Observability;

namespace XmppRabbitComponent.Publishing;

/// <summary>What a worker works with: its dependencies, handed in by the <see cref="WorkerPool"/>; nothing of the publisher.</summary>
/// <param name="Buffer">Where events wait; the worker takes from its own queue.</param>
/// <param name="Ledger">Where outcomes are recorded.</param>
/// <param name="Broker">The open connection, re-declaration and the retry delay.</param>
/// <param name="Envelopes">AMQP properties per publish.</param>
/// <param name="Options">Confirms, mandatory, in-flight bound, confirm timeout, nack limit.</param>
/// <param name="Metrics">Failure and timeout metrics.</param>
/// <param name="Time">Clock for publish times and confirm deadlines.</param>
/// <param name="Logger">Log sink.</param>
internal sealed record WorkerContext(PublishBuffer Buffer, PublishLedger Ledger, BrokerConnection Broker, EnvelopeFactory Envelopes,
    RabbitOptions Options, ComponentMetrics Metrics, TimeProvider Time, ILogger Logger)
{
    /// <summary>Called before each publish; a test sets it to inject a fault into a worker. Null in production.</summary>
    public Action<PublishEnvelope>? BeforePublish { get; set; }
}

/// <summary>
/// One publishing worker: one channel, and one worker queue of the buffer (its own, or the shared one under
/// <c>available_worker</c>) taken in order (<c>docs/publishing.md</c>, "Confirms"). With confirms on, up to
/// <c>Rabbit:MaxInFlightPerWorker</c> publishes are outstanding; outcomes are read in publish order:
/// ack → published; nack → failed and published again (up to <c>Rabbit:MaxNacksPerEvent</c> nacks, then dropped,
/// reason <c>nacked</c>); return (mandatory, unroutable) → returned; no answer within <c>Rabbit:ConfirmTimeout</c>
/// → timed out, channel abandoned, everything in flight published again. When the channel or connection closes,
/// every unconfirmed event goes back to the front of the worker's retry queue, in order, and is published again on
/// the next channel (at-least-once; same <c>message_id</c>). The channel is replaced whenever it closes. The worker
/// keeps what it holds across a restart by the supervisor: <see cref="RunAsync"/> starts by putting it back in order.
/// </summary>
internal sealed class PublishWorker
{
    private readonly WorkerContext _c;
    private readonly int _id, _queue;
    private readonly LinkedList<PublishEnvelope> _retry = new();
    private readonly Queue<InFlight> _inFlight = new();
    private PublishEnvelope? _taken;
    private TaskCompletionSource _tick = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private readonly record struct InFlight(PublishEnvelope Envelope, Task Confirm, long Started);

    private sealed class ChannelBrokenException(string reason, Exception? inner = null) : Exception(reason, inner);

    /// <summary>Creates worker <paramref name="id"/> taking from worker queue <paramref name="queue"/>.</summary>
    public PublishWorker(WorkerContext context, int id, int queue)
    {
        _c = context;
        _id = id;
        _queue = queue;
    }

    /// <summary>Wakes the pump so that it checks confirm deadlines (called by the pool's timer).</summary>
    public void Tick() => Interlocked.Exchange(ref _tick, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>Runs until the buffer is completed and this worker has nothing left, or <paramref name="hardStop"/> fires.</summary>
    public async Task RunAsync(CancellationToken hardStop)
    {
        RestoreHeld();
        var failures = 0;
        var o = _c.Options;
        var buffer = _c.Buffer;
        while (!hardStop.IsCancellationRequested)
        {
            if (buffer.IsCompleted && _retry.Count == 0 && _inFlight.Count == 0 && buffer.QueueLength(_queue) == 0) return;
            var connection = await _c.Broker.WaitForConnectionAsync(hardStop).ConfigureAwait(false);
            IChannel channel;
            try
            {
                channel = await connection.CreateChannelAsync(_c.Broker.ChannelOptions, hardStop).ConfigureAwait(false);
            }
            catch (Exception e) when (!hardStop.IsCancellationRequested)
            {
                _c.Logger.LogDebug(new EventId(2101, "PublishWorker"), e, "Worker {Worker}: cannot open a channel; retrying", _id);
                await Task.Delay(_c.Broker.RetryDelay(failures++), _c.Time, hardStop).ConfigureAwait(false);
                continue;
            }
            if (o.Mandatory && !o.ConfirmsEnabled) channel.BasicReturnAsync += OnReturnWithoutConfirms;
            try
            {
                if (await PumpAsync(channel, hardStop).ConfigureAwait(false)) failures = 0;
                if (buffer.IsCompleted && _retry.Count == 0 && _inFlight.Count == 0) return;
            }
            catch (ChannelBrokenException e) when (!hardStop.IsCancellationRequested)
            {
                var requeued = RequeueInFlight();
                var reason = channel.CloseReason;
                _c.Logger.LogWarning(new EventId(2102, "PublishWorker"), "Worker {Worker}: channel lost ({Reason}; broker: {Code} {Text}); {Requeued} unconfirmed events will be published again",
                    _id, e.Message, reason?.ReplyCode, reason?.ReplyText, requeued);
                if (reason is { ReplyCode: 404 }) await _c.Broker.RedeclareAsync(connection, hardStop).ConfigureAwait(false);
                await Task.Delay(_c.Broker.RetryDelay(failures++), _c.Time, hardStop).ConfigureAwait(false);
            }
            finally
            {
                // A channel the broker closed needs no close handshake; disposing it would wait for one.
                if (channel.IsOpen) { try { await channel.DisposeAsync().ConfigureAwait(false); } catch (Exception) { /* racing a close */ } }
            }
        }
    }

    /// <summary>Publishes until its worker queue is drained after completion (returns) or the channel breaks (throws). True when something was published.</summary>
    private async Task<bool> PumpAsync(IChannel channel, CancellationToken hardStop)
    {
        var o = _c.Options;
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
                // Until it is in flight or published, the taken event is held in _taken so that a fault keeps it.
                _taken = env;
                _c.BeforePublish?.Invoke(env);
                var props = _c.Envelopes.Properties(env);
                var started = _c.Time.GetTimestamp();
                var publish = channel.BasicPublishAsync(env.Exchange, env.RoutingKey, o.Mandatory, props, env.Body, CancellationToken.None);
                if (confirms)
                {
                    _inFlight.Enqueue(new InFlight(env, publish.AsTask(), started));
                    _taken = null;
                    continue;
                }
                try
                {
                    await publish.ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    _taken = null;
                    _retry.AddFirst(env);
                    throw new ChannelBrokenException(e.GetType().Name, e);
                }
                _taken = null;
                _c.Ledger.Published(env, _c.Time.GetElapsedTime(started));
                any = true;
                continue;
            }

            if (_inFlight.Count == 0)
            {
                if (_retry.Count > 0) continue;
                if (!await _c.Buffer.WaitToTakeAsync(_queue, hardStop).ConfigureAwait(false)) return any;
                continue;
            }

            var head = _inFlight.Peek();
            var age = _c.Time.GetElapsedTime(head.Started);
            if (age >= o.ConfirmTimeout)
            {
                foreach (var f in _inFlight)
                    if (!f.Confirm.IsCompleted && _c.Time.GetElapsedTime(f.Started) >= o.ConfirmTimeout) _c.Metrics.MessageTimedOut(f.Envelope.Exchange);
                throw new ChannelBrokenException($"no confirm within {o.ConfirmTimeout}");
            }
            var tick = Volatile.Read(ref _tick).Task;
            if (_inFlight.Count < max && _retry.Count == 0)
            {
                var data = _c.Buffer.WaitToTakeAsync(_queue, hardStop);
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
            env = first.Value;
            return true;
        }
        return _c.Buffer.TryTake(_queue, out env);
    }

    /// <summary>Handles the completed head of the in-flight queue; throws <see cref="ChannelBrokenException"/> (head kept) on a channel failure.</summary>
    private void Reap()
    {
        var head = _inFlight.Peek();
        var env = head.Envelope;
        var elapsed = _c.Time.GetElapsedTime(head.Started);
        var t = head.Confirm;
        if (t.IsCompletedSuccessfully)
        {
            Done();
            _c.Ledger.Published(env, elapsed);
            return;
        }
        var ex = t.Exception?.InnerException ?? new TaskCanceledException();
        switch (ex)
        {
            case PublishException { IsReturn: true }:
                Done();
                _c.Ledger.Returned(env);
                return;
            case PublishException:
                Done();
                _c.Metrics.MessageFailed(env.Exchange, elapsed, "nack");
                env.Nacks++;
                if (env.Nacks >= _c.Options.MaxNacksPerEvent) _c.Ledger.Dropped("nacked");
                else _retry.AddFirst(env);
                return;
            default:
                throw new ChannelBrokenException(ex.GetType().Name, ex);
        }

        void Done() => _inFlight.Dequeue();
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

    /// <summary>
    /// Puts back, in order, what an earlier run left when it ended by a fault: the unconfirmed events first (they were
    /// published first), then the event it had taken but not yet published, then the retry queue.
    /// </summary>
    private void RestoreHeld()
    {
        if (_taken is { } taken)
        {
            _taken = null;
            _retry.AddFirst(taken);
        }
        RequeueInFlight();
    }

    /// <summary>Empties this worker at shutdown and returns how many events it held (the caller records them as dropped).</summary>
    public int Abandon()
    {
        var n = _retry.Count + _inFlight.Count + (_taken is null ? 0 : 1);
        _retry.Clear();
        _inFlight.Clear();
        _taken = null;
        return n;
    }

    private Task OnReturnWithoutConfirms(object sender, RabbitMQ.Client.Events.BasicReturnEventArgs e)
    {
        _c.Metrics.MessageReturned(e.Exchange);
        return Task.CompletedTask;
    }
}
