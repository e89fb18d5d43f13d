namespace XmppRabbitComponent.Events;

/// <summary>Which of the seed's five notifications an event is; the AMQP <c>type</c> property is <see cref="EventKindNames.Name"/>.</summary>
public enum EventKind
{
    /// <summary>User presence changed (seed "Presence updates").</summary>
    Presence,
    /// <summary>One-to-one chat message sent by a local user.</summary>
    ChatMsgSent,
    /// <summary>One-to-one chat message received by a local user.</summary>
    ChatMsgRecv,
    /// <summary>Groupchat message sent by a local user to a room.</summary>
    GroupchatMsgSent,
    /// <summary>Groupchat message received by a local occupant.</summary>
    GroupchatMsgRecv,
}

/// <summary>Stable lowercase names of <see cref="EventKind"/>, used as AMQP <c>type</c> and metric label.</summary>
public static class EventKindNames
{
    /// <summary><c>presence</c>, <c>chat_msg_sent</c>, <c>chat_msg_recv</c>, <c>groupchat_msg_sent</c>, <c>groupchat_msg_recv</c>.</summary>
    public static string Name(this EventKind kind) => kind switch
    {
        EventKind.Presence => "presence",
        EventKind.ChatMsgSent => "chat_msg_sent",
        EventKind.ChatMsgRecv => "chat_msg_recv",
        EventKind.GroupchatMsgSent => "groupchat_msg_sent",
        EventKind.GroupchatMsgRecv => "groupchat_msg_recv",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}

/// <summary>
/// One notification produced by the classifier (docs/events.md). A closed set: <see cref="PresenceEvent"/> and
/// <see cref="MessageEvent"/>.
/// </summary>
public abstract record XmppEvent
{
    /// <summary>The event kind.</summary>
    public abstract EventKind Kind { get; }

    /// <summary>
    /// The bare JID (lowercased node and domain) of the local user the routing key is about: the presence's
    /// user, the sender of a sent event, the recipient of a received one. It also selects the worker under
    /// the <c>user_hash</c> strategy, which keeps one user's events in order.
    /// </summary>
    public abstract string RoutingUser { get; }
}

/// <summary>
/// <c>{"user_id": FULL_JID, "present": true|false}</c> (seed "Presence updates").
/// </summary>
/// <param name="UserId">The user's full JID, node and domain lowercased, resource as sent.</param>
/// <param name="Present">True for online, false for offline.</param>
/// <param name="BareJid">The bare JID of <paramref name="UserId"/>: the routing key.</param>
public sealed record PresenceEvent(string UserId, bool Present, string BareJid) : XmppEvent
{
    /// <inheritdoc />
    public override EventKind Kind => EventKind.Presence;
    /// <inheritdoc />
    public override string RoutingUser => BareJid;
}

/// <summary>
/// <c>{"to_user_id": …, "message": BODY, "from_user_id": …}</c> for chat and groupchat, sent and received
/// (seed "Sent/received messages").
/// </summary>
/// <param name="Kind">One of the four message kinds.</param>
/// <param name="ToUserId">The recipient as addressed (bare or full JID), node and domain lowercased.</param>
/// <param name="Message">The body text, exactly as decoded from XML.</param>
/// <param name="FromUserId">The sender's JID as the stanza carries it, node and domain lowercased.</param>
/// <param name="RoutingUser">The bare JID of the local user of the routing key (sender for sent, recipient for received).</param>
public sealed record MessageEvent(EventKind Kind, string ToUserId, string Message, string FromUserId, string RoutingUser) : XmppEvent
{
    /// <inheritdoc />
    public override EventKind Kind { get; } = Kind is EventKind.Presence
        ? throw new ArgumentOutOfRangeException(nameof(Kind), "a message event cannot be of kind Presence")
        : Kind;

    /// <inheritdoc />
    public override string RoutingUser { get; } = RoutingUser;
}
