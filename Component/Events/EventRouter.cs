using XmppRabbitComponent.Configuration;

namespace XmppRabbitComponent.Events;

/// <summary>Maps events to exchanges and routing keys from <see cref="EventPusherRabbitOptions"/>.</summary>
public sealed class EventRouter(EventPusherRabbitOptions options)
{
    /// <summary>AMQP short-string limit of a routing key, in bytes (AMQP 0-9-1 §4.2.5.3; <c>docs/events.md</c>, "Routing").</summary>
    public const int MaxRoutingKeyBytes = 255;

    /// <summary>True when events of <paramref name="kind"/> are enabled (their exchange section has <c>Enabled: true</c>).</summary>
    public bool IsEnabled(EventKind kind) => Section(kind).Enabled;

    /// <summary>The route of <paramref name="e"/>. The key may exceed <see cref="MaxRoutingKeyBytes"/>; see <see cref="IsRoutable"/>.</summary>
    public EventRoute Route(XmppEvent e)
    {
        var section = Section(e.Kind);
        var key = e.Kind switch
        {
            EventKind.Presence => e.RoutingUser,
            EventKind.ChatMsgSent or EventKind.GroupchatMsgSent => $"{e.RoutingUser}.{section.SentTopic}",
            _ => $"{e.RoutingUser}.{section.RecvTopic}",
        };
        return new EventRoute(section.Name, key);
    }

    /// <summary>False when the routing key is longer than 255 UTF-8 bytes: such an event cannot be published and is a counted failure, never truncated.</summary>
    public static bool IsRoutable(EventRoute route) => System.Text.Encoding.UTF8.GetByteCount(route.RoutingKey) <= MaxRoutingKeyBytes;

    private ExchangeOptions Section(EventKind kind) => kind switch
    {
        EventKind.Presence => options.PresenceExchange,
        EventKind.ChatMsgSent or EventKind.ChatMsgRecv => options.ChatMsgExchange,
        _ => options.GroupchatMsgExchange,
    };
}
