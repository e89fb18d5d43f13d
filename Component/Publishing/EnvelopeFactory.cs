using System.Text;
using RabbitMQ.Client;
using XmppRabbitComponent.Configuration;
using XmppRabbitComponent.Events;

namespace XmppRabbitComponent.Publishing;

/// <summary>
/// Turns an event into what goes on the wire: the one place that decides whether its kind is enabled
/// (<c>EventPusher:Rabbit:*Exchange:Enabled</c>), routes it (exchange, routing key), serializes it, gives it its stable
/// <c>message_id</c> and builds its AMQP properties (<c>docs/publishing.md</c>, "Message properties"). Pure apart from
/// the clock; thread-safe. With <paramref name="cloudEvents"/> (<c>EventPusher:Format</c> = <c>cloudevents</c>) every
/// envelope also carries the CloudEvents attributes as headers; without it (<c>seed</c>) there are no headers.
/// </summary>
internal sealed class EnvelopeFactory(RabbitOptions rabbit, EventPusherRabbitOptions exchanges, TimeProvider time, CloudEventsAttributes? cloudEvents = null)
{
    /// <summary>The factory of the configured <c>EventPusher:Format</c>.</summary>
    /// <param name="rabbit">The <c>Rabbit</c> section (delivery mode, app id).</param>
    /// <param name="pusher">The <c>EventPusher</c> section (exchanges, format, CloudEvents type prefix).</param>
    /// <param name="time">The clock of message ids and timestamps.</param>
    /// <param name="componentDomain"><c>Xmpp:ComponentDomain</c>, the CloudEvents <c>source</c>; needed only by the <c>cloudevents</c> format.</param>
    /// <exception cref="ArgumentException">The <c>cloudevents</c> format without a component domain.</exception>
    public static EnvelopeFactory For(RabbitOptions rabbit, EventPusherOptions pusher, string? componentDomain, TimeProvider time) =>
        new(rabbit, pusher.Rabbit, time, pusher.ParsedFormat() != EventFormat.CloudEvents ? null
            : new CloudEventsAttributes(
                string.IsNullOrEmpty(componentDomain) ? throw new ArgumentException("EventPusher:Format cloudevents needs Xmpp:ComponentDomain (the CloudEvents source)", nameof(componentDomain)) : componentDomain,
                pusher.CloudEvents.TypePrefix));

    private readonly EventRouter _router = new(exchanges);
    private readonly DeliveryModes _deliveryMode = rabbit.Persistent ? DeliveryModes.Persistent : DeliveryModes.Transient;

    /// <summary>Why an event cannot be published, as the <c>reason</c> of <c>xmpp_component.events.dropped</c>, and for the log.</summary>
    /// <param name="Reason"><c>disabled</c>, <c>routing_key_too_long</c> or <c>invalid_payload</c>.</param>
    /// <param name="Exchange">The exchange the event would have gone to.</param>
    /// <param name="Detail">What was wrong, for the log; null for <c>disabled</c> (no log line).</param>
    public readonly record struct Refusal(string Reason, string Exchange, string? Detail);

    /// <summary>
    /// Builds the envelope of <paramref name="e"/>: routed, serialized, its <c>message_id</c> a UUIDv7 of now and its
    /// <c>timestamp</c> now in Unix seconds. Returns null and sets <paramref name="refusal"/> when the event cannot be
    /// published: its kind is disabled, its routing key exceeds 255 UTF-8 bytes (AMQP 0-9-1 short string; never
    /// truncated), or its text cannot be encoded as JSON (a lone surrogate).
    /// </summary>
    public PublishEnvelope? Create(XmppEvent e, out Refusal refusal)
    {
        refusal = default;
        var route = _router.Route(e);
        if (!_router.IsEnabled(e.Kind))
        {
            refusal = new Refusal("disabled", route.Exchange, null);
            return null;
        }
        if (!EventRouter.IsRoutable(route))
        {
            refusal = new Refusal("routing_key_too_long", route.Exchange,
                $"routing key of {Encoding.UTF8.GetByteCount(route.RoutingKey)} bytes exceeds the AMQP limit of {EventRouter.MaxRoutingKeyBytes}");
            return null;
        }
        byte[] body;
        try { body = EventJson.Serialize(e); }
        catch (ArgumentException ex)
        {
            refusal = new Refusal("invalid_payload", route.Exchange, ex.Message);
            return null;
        }
        var now = time.GetUtcNow();
        var id = Guid.CreateVersion7(now).ToString();
        return new PublishEnvelope(route.Exchange, route.RoutingKey, e.Kind.Name(), body, id, now.ToUnixTimeSeconds(),
            cloudEvents?.Headers(e.Kind, id, e.RoutingUser, now));
    }

    /// <summary>
    /// Fresh AMQP properties for one publish of <paramref name="e"/> (the client writes a sequence-number header into
    /// them when it tracks confirms, so they are never shared): <c>content_type=application/json</c>,
    /// <c>delivery_mode</c> from <c>Rabbit:Persistent</c>, <c>message_id</c>, <c>timestamp</c>, <c>type</c> = the event
    /// kind, <c>app_id</c> from <c>Rabbit:AppId</c>; in the <c>cloudevents</c> format a copy of the envelope's headers.
    /// </summary>
    public BasicProperties Properties(PublishEnvelope e) => new()
    {
        ContentType = "application/json",
        DeliveryMode = _deliveryMode,
        MessageId = e.MessageId,
        Timestamp = new AmqpTimestamp(e.UnixSeconds),
        Type = e.Type,
        AppId = rabbit.AppId,
        Headers = e.Headers is null ? null : new Dictionary<string, object?>(e.Headers),
    };
}
