using XmppRabbitComponent.Events;

namespace XmppRabbitComponent.Publishing;

/// <summary>
/// The publishing engine as the XMPP side sees it (<c>docs/publishing.md</c>): events go in, in the order they
/// happened; the engine owns the broker connection, the channel pool and the buffer.
/// </summary>
public interface IEventPublisher
{
    /// <summary>
    /// Accepts one event for publishing. Returns when the event is buffered. Under the
    /// <c>backpressure</c> policy it waits while the buffer is full (so the caller stops reading XMPP);
    /// under <c>drop_oldest</c> it never waits.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled while waiting.</exception>
    ValueTask EnqueueAsync(XmppEvent e, CancellationToken ct);

    /// <summary>
    /// Accepts one event as <see cref="EnqueueAsync"/> does, for a producer with more events at hand: the worker that
    /// will publish it may be woken only by the next <see cref="WakeWorkers"/> (or after a bounded number of such
    /// events), so that a run of events costs one wake-up per worker instead of one per event. The producer calls
    /// <see cref="WakeWorkers"/> before it waits for anything else. The default does what <see cref="EnqueueAsync"/> does.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled while waiting.</exception>
    ValueTask EnqueueDeferredAsync(XmppEvent e, CancellationToken ct) => EnqueueAsync(e, ct);

    /// <summary>Wakes the workers for every event accepted by <see cref="EnqueueDeferredAsync"/> so far. Never blocks.</summary>
    void WakeWorkers() { }

    /// <summary>True while a broker connection is open.</summary>
    bool IsConnected { get; }

    /// <summary>Events accepted and not yet published (buffered or in flight).</summary>
    long Pending { get; }

    /// <summary>How long events have been pending with none reaching an outcome (published, returned, dropped); zero when none is pending.</summary>
    TimeSpan WaitingWithoutProgress { get; }

    /// <summary>True when <see cref="WaitingWithoutProgress"/> reached <c>Rabbit:StallTimeout</c>: readiness then fails.</summary>
    bool IsStalled { get; }
}
