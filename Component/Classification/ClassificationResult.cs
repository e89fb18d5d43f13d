using XmppRabbitComponent.Events;

namespace XmppRabbitComponent.Classification;

/// <summary>
/// What <see cref="EventClassifier.Classify"/> made of one stanza: the events to publish, in order, and the
/// reasons why nothing (or less) was produced. A small struct: the common no-event case allocates nothing
/// (the skip lists are cached, the empty event list is <see cref="Array.Empty{T}"/>).
/// One stanza yields at most one event, or else one skip reason.
/// </summary>
public readonly struct ClassificationResult
{
    private static readonly SkipReason[][] SingleSkips =
        Enum.GetValues<SkipReason>().Select(r => new[] { r }).ToArray();

    private readonly XmppEvent[]? _events;
    private readonly SkipReason[]? _skips;

    private ClassificationResult(XmppEvent[]? events, SkipReason[]? skips, bool presencePermissionMissing, Exception? fault)
    {
        _events = events;
        _skips = skips;
        PresencePermissionMissing = presencePermissionMissing;
        Fault = fault;
    }

    /// <summary>The events to publish, in order (empty when none).</summary>
    public IReadOnlyList<XmppEvent> Events => _events ?? [];

    /// <summary>Why nothing or less was produced, one entry per skipped part (empty when events were produced).</summary>
    public IReadOnlyList<SkipReason> Skips => _skips ?? [];

    /// <summary>
    /// True when this stanza was a privilege advertisement (XEP-0356) that does not grant presence
    /// (<c>managed_entity</c> or <c>roster</c>): the caller logs one warning (docs/events.md "Everything else").
    /// Raised once per classifier, and again only after an advertisement granting presence was seen in between.
    /// </summary>
    public bool PresencePermissionMissing { get; }

    /// <summary>The unexpected exception behind <see cref="SkipReason.ClassifierFault"/>, for the caller to log; otherwise null.</summary>
    public Exception? Fault { get; }

    /// <summary>True when at least one event was produced.</summary>
    public bool HasEvents => _events is { Length: > 0 };

    internal static ClassificationResult Of(XmppEvent e) => new([e], null, false, null);

    internal static ClassificationResult Skipped(SkipReason reason) => new(null, CachedSkip(reason), false, null);

    internal static ClassificationResult Privilege(bool presencePermissionMissing) =>
        new(null, CachedSkip(SkipReason.PrivilegeAdvertisement), presencePermissionMissing, null);

    internal static ClassificationResult Faulted(Exception fault) => new(null, CachedSkip(SkipReason.ClassifierFault), false, fault);

    private static SkipReason[] CachedSkip(SkipReason reason) =>
        (uint)reason < (uint)SingleSkips.Length ? SingleSkips[(int)reason] : [reason];
}
