using Microsoft.Extensions.Logging;
using XmppRabbitComponent.Observability;

namespace XmppRabbitComponent.Supervision;

/// <summary>
/// Runs a background loop so that no exception ends it unseen (<c>docs/publishing.md</c>, "Supervision"): the loop
/// body runs until it returns or the stop token is cancelled; an unexpected exception is logged as an error with its
/// stack, counted in <c>xmpp_component.loop.faults{loop}</c>, and the body is started again after a
/// <see cref="Backoff"/> delay (100 ms doubling to 5 s; reset after a run that lasted longer than the cap). The body
/// keeps its own state across restarts (a worker keeps the events it holds, in order).
/// </summary>
internal sealed partial class Supervisor(ComponentMetrics metrics, ILogger logger, TimeProvider time)
{
    private static readonly TimeSpan MinRestartDelay = TimeSpan.FromMilliseconds(100), MaxRestartDelay = TimeSpan.FromSeconds(5);

    /// <summary>Runs <paramref name="body"/> under supervision; completes when it returns or <paramref name="stop"/> is cancelled.</summary>
    /// <param name="loop">One of <see cref="ComponentMetrics.LoopNames"/>.</param>
    /// <param name="instance">Which one of several loops of that name (a worker index), for the log.</param>
    /// <param name="body">The loop; it gets <paramref name="stop"/>.</param>
    /// <param name="stop">Ends the loop; an <see cref="OperationCanceledException"/> after it fired is a normal end.</param>
    public Task RunAsync(string loop, int instance, Func<CancellationToken, Task> body, CancellationToken stop) =>
        Task.Run(async () =>
        {
            var failures = 0;
            while (!stop.IsCancellationRequested)
            {
                var started = time.GetTimestamp();
                TimeSpan delay;
                try
                {
                    await body(stop).ConfigureAwait(false);
                    return;
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    if (time.GetElapsedTime(started) > MaxRestartDelay) failures = 0;
                    delay = Backoff.Delay(failures++, MinRestartDelay, MaxRestartDelay, Random.Shared.NextDouble());
                    Fault(loop, instance, e, delay);
                }
                try { await Task.Delay(delay, time, stop).ConfigureAwait(false); }
                catch (OperationCanceledException) { return; }
            }
        }, CancellationToken.None);

    /// <summary>Records a fault of a loop that is not restarted by <see cref="RunAsync"/> (a timer callback): logged with its stack and counted.</summary>
    public void Fault(string loop, int instance, Exception e, TimeSpan? restartIn = null)
    {
        metrics.LoopFault(loop);
        LogFault(e, loop, instance, restartIn ?? TimeSpan.Zero);
    }

    [LoggerMessage(EventId = 2200, Level = LogLevel.Error, Message = "Background loop {Loop} #{Instance} failed unexpectedly; restarting it in {Delay} with the events it holds")]
    private partial void LogFault(Exception exception, string loop, int instance, TimeSpan delay);
}
