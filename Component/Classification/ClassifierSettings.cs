using XmppRabbitComponent.Configuration;

namespace XmppRabbitComponent.Classification;

/// <summary>
/// What the <see cref="EventClassifier"/> needs to know (docs/events.md "Local domains", "Direction", "Presence").
/// </summary>
/// <param name="ComponentDomain">The component's own domain (<c>Xmpp:ComponentDomain</c>), e.g. <c>events.localhost</c>: never local, never a party.</param>
/// <param name="LocalDomains">The domains whose users are this server's users (<see cref="XmppOptions.EffectiveLocalDomains"/>); at least one. Their bare domains are the trusted server hosts.</param>
/// <param name="CopyMatchWindow"><c>EventPusher:CopyMatchWindow</c>: how long the first copy of a local→local message waits for its twin.</param>
/// <param name="MaxTrackedPresences"><c>EventPusher:MaxTrackedPresences</c>: bound of the presence state table (offline entries evicted first).</param>
public sealed record ClassifierSettings(
    string ComponentDomain,
    IReadOnlyCollection<string> LocalDomains,
    TimeSpan CopyMatchWindow,
    int MaxTrackedPresences)
{
    /// <summary>Default of <see cref="MaxTrackedCopies"/>: 100,000.</summary>
    public const int DefaultMaxTrackedCopies = 100_000;

    /// <summary>
    /// Bound of the copy-match table (pending local→local copies waiting for their twin). When full, the oldest
    /// entry goes; entries older than <see cref="CopyMatchWindow"/> expire anyway. Default 100,000.
    /// </summary>
    public int MaxTrackedCopies { get; init; } = DefaultMaxTrackedCopies;

    /// <summary>Settings from the bound options: <see cref="XmppOptions.ComponentDomain"/>, <see cref="XmppOptions.EffectiveLocalDomains"/> and the <c>EventPusher</c> classification settings.</summary>
    public static ClassifierSettings From(XmppOptions xmpp, EventPusherOptions pusher)
    {
        ArgumentNullException.ThrowIfNull(xmpp);
        ArgumentNullException.ThrowIfNull(pusher);
        return new ClassifierSettings(xmpp.ComponentDomain, xmpp.EffectiveLocalDomains(), pusher.CopyMatchWindow, pusher.MaxTrackedPresences);
    }
}
