using System.Text;
using XmppRabbitComponent.Configuration;
using XmppRabbitComponent.Events;

namespace XmppRabbitComponent.Tests.Classification;

/// <summary>An event as the broker would see it: kind name, routing key (default options) and exact JSON.</summary>
public sealed record ExpectedEvent(string Kind, string RoutingKey, string Json)
{
    private static readonly EventRouter Router = new(new EventPusherRabbitOptions());

    public static ExpectedEvent Of(XmppEvent e) =>
        new(e.Kind.Name(), Router.Route(e).RoutingKey, Encoding.UTF8.GetString(EventJson.Serialize(e)));

    /// <summary>A presence event of <paramref name="user"/> (full JID), routed by <paramref name="bare"/>.</summary>
    public static ExpectedEvent Presence(string user, string bare, bool present) =>
        new("presence", bare, $$"""{"user_id":"{{user}}","present":{{(present ? "true" : "false")}}}""");

    /// <summary>A chat or groupchat event of <paramref name="kind"/> (<c>chat_msg_sent</c>, …) with its routing key and JSON fields.</summary>
    public static ExpectedEvent Msg(string kind, string key, string to, string body, string from) =>
        new(kind, key, $$"""{"to_user_id":"{{to}}","message":"{{body}}","from_user_id":"{{from}}"}""");

    public override string ToString() => $"{Kind} [{RoutingKey}] {Json}";
}
