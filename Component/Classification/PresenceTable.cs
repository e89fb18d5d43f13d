namespace XmppRabbitComponent.Classification;

/// <summary>
/// Last known state of each full JID (<c>docs/events.md</c>, "Presence"), bounded: when full, the least recently
/// signalled offline entry goes first, then the least recently signalled online one. Every operation is O(1):
/// two intrusive LRU lists (online, offline) plus a dictionary. Not thread-safe.
/// <para>Stale copies (<c>docs/events.md</c>, "Session replaced"): the top-level feed (privileged presence, presence to
/// the component) comes from the session manager in order; copies come per recipient and may lag behind it. After a
/// top-level signal, a copy to recipient R counts only once R's copies have shown that same signal (R has seen the
/// broadcast of it); a contradicting copy before that was sent before the top-level signal and is skipped as
/// <see cref="SkipReason.PresenceStaleCopy"/>. Without a top-level signal for a JID, copies decide alone.</para>
/// </summary>
internal sealed class PresenceTable
{
    private sealed class Entry(string key, bool online)
    {
        public string Key { get; } = key;
        public bool Online { get; set; } = online;
        /// <summary>The last top-level signal (true available, false unavailable); null when none was seen.</summary>
        public bool? TopLevel { get; set; }
        /// <summary>Hashes of the recipients whose copies have shown <see cref="TopLevel"/> since it came.</summary>
        public HashSet<int>? CaughtUp { get; set; }
    }

    private readonly int _max;
    private readonly Dictionary<string, LinkedListNode<Entry>> _map = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> _online = new();
    private readonly LinkedList<Entry> _offline = new();

    public PresenceTable(int max) => _max = max;

    public int Count => _map.Count;

    /// <summary>
    /// Applies a signal. Returns null when an event must be emitted (the state changed and the signal is not
    /// delayed), else the skip reason (<see cref="SkipReason.PresenceDelayed"/>, <see cref="SkipReason.PresenceUnchanged"/>
    /// or <see cref="SkipReason.PresenceStaleCopy"/>).
    /// </summary>
    /// <param name="fullJid">The full JID the signal is about.</param>
    /// <param name="online">Available (true) or unavailable (false).</param>
    /// <param name="delayed">The presence carries a <c>&lt;delay&gt;</c>: update the state silently.</param>
    /// <param name="copyRecipient">The <c>to</c> of a forwarded copy (empty when it has none); null for a top-level presence.</param>
    public SkipReason? Apply(string fullJid, bool online, bool delayed, string? copyRecipient)
    {
        bool? known = null;
        if (_map.TryGetValue(fullJid, out var node))
        {
            var entry = node.Value;
            if (copyRecipient is not null && IsStale(entry, online, copyRecipient)) return SkipReason.PresenceStaleCopy;
            known = entry.Online;
            node.List!.Remove(node);
            entry.Online = online;
            (online ? _online : _offline).AddLast(node);
        }
        else
        {
            if (_map.Count >= _max) Evict();
            node = (online ? _online : _offline).AddLast(new Entry(fullJid, online));
            _map.Add(fullJid, node);
        }
        if (copyRecipient is null)
        {
            node.Value.TopLevel = online;
            node.Value.CaughtUp?.Clear();
        }

        if (delayed) return SkipReason.PresenceDelayed;
        // unknown → either signal emits; otherwise only a change emits.
        return known == online ? SkipReason.PresenceUnchanged : null;
    }

    private static bool IsStale(Entry entry, bool online, string recipient)
    {
        if (entry.TopLevel is not { } topLevel) return false;
        var key = StringComparer.Ordinal.GetHashCode(recipient);
        if (entry.CaughtUp?.Contains(key) == true) return false;
        if (online != topLevel) return true;
        (entry.CaughtUp ??= []).Add(key);
        return false;
    }

    private void Evict()
    {
        var victim = _offline.First ?? _online.First;
        if (victim is null) return;
        victim.List!.Remove(victim);
        _map.Remove(victim.Value.Key);
    }
}
