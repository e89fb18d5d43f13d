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

    public override string ToString() => $"{Kind} [{RoutingKey}] {Json}";
}
