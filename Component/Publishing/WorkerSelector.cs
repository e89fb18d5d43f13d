using System.Text;
using XmppRabbitComponent.Configuration;

namespace XmppRabbitComponent.Publishing;

/// <summary>
/// Picks the buffer queue (= worker) for an event (docs/publishing.md, "Ordering"). Pure: no I/O, no clock.
/// <list type="bullet">
/// <item><c>user_hash</c>: FNV-1a (32 bit) of the UTF-8 bare JID modulo the worker count. Stable across
/// processes, so one user's events always go through one worker, one channel, in order.</item>
/// <item><c>best_worker</c>: the queue with the fewest waiting events; ties go round-robin.</item>
/// <item><c>available_worker</c>: queue 0, the one queue every worker takes from.</item>
/// </list>
/// </summary>
internal sealed class WorkerSelector(WorkerStrategy strategy, int workers)
{
    private int _roundRobin = -1;

    /// <summary>Number of queues the buffer needs: 1 for <c>available_worker</c>, else one per worker.</summary>
    public int Queues => strategy == WorkerStrategy.AvailableWorker ? 1 : workers;

    /// <summary>True when the strategy keeps one user's events in the order they were enqueued.</summary>
    public bool KeepsPerUserOrder => strategy == WorkerStrategy.UserHash || workers == 1;

    /// <summary>The queue for an event of <paramref name="routingUser"/>; <paramref name="queueLength"/> reports a queue's waiting events.</summary>
    public int Select(string routingUser, Func<int, int> queueLength) => strategy switch
    {
        WorkerStrategy.UserHash => UserHash(routingUser, workers),
        WorkerStrategy.BestWorker => LeastLoaded(queueLength, workers, (int)((uint)Interlocked.Increment(ref _roundRobin) % (uint)workers)),
        _ => 0,
    };

    /// <summary>The <c>user_hash</c> queue of <paramref name="bareJid"/>.</summary>
    public static int UserHash(string bareJid, int workers) => (int)(Fnv1a(bareJid) % (uint)workers);

    /// <summary>The index of the smallest load, scanning from <paramref name="start"/> so that ties rotate.</summary>
    public static int LeastLoaded(Func<int, int> load, int count, int start)
    {
        var best = start % count;
        var bestLoad = load(best);
        for (var i = 1; i < count && bestLoad > 0; i++)
        {
            var idx = (start + i) % count;
            var l = load(idx);
            if (l < bestLoad) { best = idx; bestLoad = l; }
        }
        return best;
    }

    /// <summary>32-bit FNV-1a of the UTF-8 bytes of <paramref name="s"/>.</summary>
    public static uint Fnv1a(string s)
    {
        Span<byte> stack = stackalloc byte[256];
        var max = Encoding.UTF8.GetMaxByteCount(s.Length);
        var bytes = max <= stack.Length ? stack : new byte[max];
        var n = Encoding.UTF8.GetBytes(s, bytes);
        var h = 2166136261u;
        foreach (var b in bytes[..n]) { h ^= b; h *= 16777619u; }
        return h;
    }
}
