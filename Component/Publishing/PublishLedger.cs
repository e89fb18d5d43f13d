using XmppRabbitComponent.Observability;

namespace XmppRabbitComponent.Publishing;

/// <summary>
/// The one count of events accepted and not yet finished (<see cref="Pending"/>), and the one place where an
/// event's final outcome is recorded: published, returned, or dropped with a reason. Every outcome also updates the
/// metrics and counts as progress for the stall check (<c>Rabbit:StallTimeout</c>, <c>docs/publishing.md</c>,
/// "Supervision"). Thread-safe.
/// </summary>
internal sealed class PublishLedger(ComponentMetrics metrics, TimeProvider time, TimeSpan stallTimeout)
{
    private long _pending;
    private long _lastProgress = time.GetTimestamp();

    /// <summary>Events accepted and not yet published, returned or dropped (buffered, held by a worker or in flight).</summary>
    public long Pending => Interlocked.Read(ref _pending);

    /// <summary>
    /// How long events have been waiting with no outcome recorded: zero when nothing is pending, else the time since the
    /// last outcome or since the first of the waiting events was accepted, whichever is later.
    /// </summary>
    public TimeSpan WaitingWithoutProgress => Pending == 0 ? TimeSpan.Zero : time.GetElapsedTime(Interlocked.Read(ref _lastProgress));

    /// <summary>True when events are waiting and none has reached an outcome for <c>Rabbit:StallTimeout</c> or longer.</summary>
    public bool IsStalled => WaitingWithoutProgress >= stallTimeout;

    /// <summary>One event accepted; it must later reach exactly one outcome (or <see cref="Withdraw"/>).</summary>
    public void Accept()
    {
        if (Interlocked.Increment(ref _pending) == 1) Progress();
    }

    /// <summary>An accepted event did not enter the buffer after all (its add was cancelled); no outcome, no metric.</summary>
    public void Withdraw() => Interlocked.Decrement(ref _pending);

    /// <summary>Published (acked when confirms are on) after <paramref name="elapsed"/>.</summary>
    public void Published(PublishEnvelope e, TimeSpan elapsed)
    {
        Finish(1);
        metrics.MessagePublished(e.Exchange, elapsed, e.Body.Length);
    }

    /// <summary>Returned unroutable by the broker (mandatory flag, confirms on): not a success, not retried.</summary>
    public void Returned(PublishEnvelope e)
    {
        Finish(1);
        metrics.MessageReturned(e.Exchange);
    }

    /// <summary><paramref name="count"/> accepted events will never be published, for <paramref name="reason"/>.</summary>
    public void Dropped(string reason, long count = 1)
    {
        if (count <= 0) return;
        Finish(count);
        metrics.EventDropped(reason, count);
    }

    private void Finish(long count)
    {
        Interlocked.Add(ref _pending, -count);
        Progress();
    }

    private void Progress() => Interlocked.Exchange(ref _lastProgress, time.GetTimestamp());
}
