using XmppRabbitComponent.Events;

namespace XmppRabbitComponent.Classification;

/// <summary>
/// What <see cref="EventClassifier.Classify"/> made of one stanza: at most one event, or else one skip reason
/// (<c>docs/events.md</c>). A small struct that allocates nothing in the common no-event case.
/// </summary>
public readonly struct ClassificationResult
{
    private static readonly SkipReason[][] SingleSkips =
        Enum.GetValues<SkipReason>().Select(r => new[] { r }).ToArray();

    private ClassificationResult(XmppEvent? e, SkipReason? skip, bool presencePermissionMissing, Exception? fault)
    {
        Event = e;
        Skip = skip;
        PresencePermissionMissing = presencePermissionMissing;
        Fault = fault;
    }

    /// <summary>The event to publish; null when the stanza produced none (then <see cref="Skip"/> says why).</summary>
    public XmppEvent? Event { get; }

    /// <summary>Why the stanza produced no event; null when it produced one (and for <c>default</c>).</summary>
    public SkipReason? Skip { get; }

    /// <summary><see cref="Event"/> as a list of zero or one, for callers that iterate.</summary>
    public IReadOnlyList<XmppEvent> Events => Event is { } e ? [e] : [];

    /// <summary><see cref="Skip"/> as a list of zero or one (cached: no allocation).</summary>
    public IReadOnlyList<SkipReason> Skips => Skip is { } r ? CachedSkip(r) : [];

    /// <summary>
    /// True when this stanza was a privilege advertisement (XEP-0356) that does not grant presence
    /// (<c>managed_entity</c> or <c>roster</c>): the caller logs one warning (<c>docs/events.md</c>, "Everything else").
    /// Raised once per classifier, and again only after an advertisement granting presence was seen in between.
    /// </summary>
    public bool PresencePermissionMissing { get; }

    /// <summary>The unexpected exception behind <see cref="SkipReason.ClassifierFault"/>, for the caller to log; otherwise null.</summary>
    public Exception? Fault { get; }

    /// <summary>True when an event was produced.</summary>
    public bool HasEvents => Event is not null;

    internal static ClassificationResult Of(XmppEvent e) => new(e, null, false, null);

    internal static ClassificationResult Skipped(SkipReason reason) => new(null, reason, false, null);

    internal static ClassificationResult Privilege(bool presencePermissionMissing) =>
        new(null, SkipReason.PrivilegeAdvertisement, presencePermissionMissing, null);

    internal static ClassificationResult Faulted(Exception fault) => new(null, SkipReason.ClassifierFault, false, fault);

    private static SkipReason[] CachedSkip(SkipReason reason) =>
        (uint)reason < (uint)SingleSkips.Length ? SingleSkips[(int)reason] : [reason];
}
