namespace XmppRabbitComponent.Events;

/// <summary>Where an event goes: exchange and routing key (<c>docs/events.md</c>, "Routing").</summary>
/// <param name="Exchange">The exchange name.</param>
/// <param name="RoutingKey">Presence: the bare JID; sent: <c>&lt;sender bare&gt;.&lt;sent_topic&gt;</c>; received: <c>&lt;recipient bare&gt;.&lt;recv_topic&gt;</c>.</param>
public readonly record struct EventRoute(string Exchange, string RoutingKey);
