using XmppRabbitComponent.Supervision;

namespace XmppRabbitComponent.Publishing;

/// <summary>
/// The <c>Rabbit:Workers</c> publishing workers, each run under the <see cref="Supervisor"/>, and the timer that wakes
/// them to check confirm deadlines (confirms on only; period a quarter of <c>Rabbit:ConfirmTimeout</c>, between 10 ms
/// and 1 s). Worker <c>i</c> takes from worker queue <c>i</c>, or every worker from queue 0 when the buffer has one
/// shared queue (<c>available_worker</c>).
/// </summary>
internal sealed class WorkerPool : IDisposable
{
    private readonly WorkerContext _context;
    private readonly Supervisor _supervisor;
    private readonly PublishWorker[] _workers;
    private readonly CancellationTokenSource _hardStop = new();
    private Task _running = Task.CompletedTask;
    private ITimer? _tickTimer;

    /// <summary>Creates the workers; nothing runs before <see cref="Start"/>.</summary>
    public WorkerPool(WorkerContext context, Supervisor supervisor, int workers, int queues)
    {
        _context = context;
        _supervisor = supervisor;
        _workers = Enumerable.Range(0, workers).Select(i => new PublishWorker(context, i, queues == 1 ? 0 : i)).ToArray();
    }

    /// <summary>Starts every worker under supervision, and the confirm-deadline timer when confirms are on.</summary>
    public void Start()
    {
        _running = Task.WhenAll(_workers.Select((w, i) => _supervisor.RunAsync("publish_worker", i, w.RunAsync, _hardStop.Token)));
        var o = _context.Options;
        if (!o.ConfirmsEnabled) return;
        var period = TimeSpan.FromTicks(Math.Clamp(o.ConfirmTimeout.Ticks / 4, TimeSpan.FromMilliseconds(10).Ticks, TimeSpan.FromSeconds(1).Ticks));
        _tickTimer = _context.Time.CreateTimer(_ => TickAll(), null, period, period);
    }

    /// <summary>
    /// After the buffer was completed: waits until every worker has published what it holds and its queue is empty, or
    /// <paramref name="timeout"/> passes (or <paramref name="ct"/> fires); then stops the workers and returns how many
    /// events they still held (not published; the caller records them as dropped).
    /// </summary>
    public async Task<int> DrainAsync(TimeSpan timeout, CancellationToken ct)
    {
        var drained = _running;
        try { await drained.WaitAsync(timeout, _context.Time, ct).ConfigureAwait(false); }
        catch (Exception) when (!drained.IsCompleted) { /* time ran out: stop them below */ }
        await _hardStop.CancelAsync().ConfigureAwait(false);
        await drained.ConfigureAwait(false); // supervised: ends without throwing once stopped
        _tickTimer?.Dispose();
        return _workers.Sum(w => w.Abandon());
    }

    private void TickAll()
    {
        try
        {
            foreach (var w in _workers) w.Tick();
        }
        catch (Exception e)
        {
            _supervisor.Fault("confirm_timer", 0, e);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _tickTimer?.Dispose();
        _hardStop.Dispose();
    }
}
