namespace XmppRabbitComponent.Classification;

/// <summary>
/// Last known state of each full JID (events.md "Presence"), bounded: when full, the least recently
/// signalled offline entry goes first, then the least recently signalled online one. Every operation is O(1):
/// two intrusive LRU lists (online, offline) plus a dictionary. Not thread-safe.
/// </summary>
internal sealed class PresenceTable
{
    private sealed class Entry(string key, bool online)
    {
        public string Key { get; } = key;
        public bool Online { get; set; } = online;
    }

    private readonly int _max;
    private readonly Dictionary<string, LinkedListNode<Entry>> _map = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> _online = new();
    private readonly LinkedList<Entry> _offline = new();

    public PresenceTable(int max) => _max = max;

    public int Count => _map.Count;

    /// <summary>
    /// Applies a signal. Returns null when an event must be emitted (the state changed and the signal is not
    /// delayed), else the skip reason (<see cref="SkipReason.PresenceDelayed"/> or <see cref="SkipReason.PresenceUnchanged"/>).
    /// </summary>
    public SkipReason? Apply(string fullJid, bool online, bool delayed)
    {
        bool? known = null;
        if (_map.TryGetValue(fullJid, out var node))
        {
            var entry = node.Value;
            known = entry.Online;
            node.List!.Remove(node);
            entry.Online = online;
            (online ? _online : _offline).AddLast(node);
        }
        else
        {
            if (_map.Count >= _max) Evict();
            var added = (online ? _online : _offline).AddLast(new Entry(fullJid, online));
            _map.Add(fullJid, added);
        }

        if (delayed) return SkipReason.PresenceDelayed;
        // unknown → either signal emits; otherwise only a change emits.
        return known == online ? SkipReason.PresenceUnchanged : null;
    }

    private void Evict()
    {
        var victim = _offline.First ?? _online.First;
        if (victim is null) return;
        victim.List!.Remove(victim);
        _map.Remove(victim.Value.Key);
    }
}
