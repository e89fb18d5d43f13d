namespace XmppRabbitComponent.Publishing;

/// <summary>
/// One event ready to publish: routed, serialized, and given its stable <c>message_id</c> once, at enqueue time,
/// so that every re-publish of it (after a lost connection, a nack or a confirm timeout) carries the same id.
/// </summary>
internal sealed class PublishEnvelope(string exchange, string routingKey, string type, byte[] body, string messageId, long unixSeconds,
    IReadOnlyDictionary<string, object?>? headers = null)
{
    /// <summary>Destination exchange.</summary>
    public string Exchange { get; } = exchange;
    /// <summary>Routing key (at most 255 UTF-8 bytes; checked before the envelope is made).</summary>
    public string RoutingKey { get; } = routingKey;
    /// <summary>AMQP <c>type</c>: the event kind name, e.g. <c>chat_msg_sent</c>.</summary>
    public string Type { get; } = type;
    /// <summary>UTF-8 JSON body.</summary>
    public byte[] Body { get; } = body;
    /// <summary>AMQP <c>message_id</c>: a UUIDv7 string, stable across re-publishes.</summary>
    public string MessageId { get; } = messageId;
    /// <summary>AMQP <c>timestamp</c>: seconds since the Unix epoch when the event was accepted.</summary>
    public long UnixSeconds { get; } = unixSeconds;
    /// <summary>AMQP headers (the <c>cloudEvents:*</c> attributes in the <c>cloudevents</c> format); null in the <c>seed</c> format.</summary>
    public IReadOnlyDictionary<string, object?>? Headers { get; } = headers;
    /// <summary>Publishes that ended in a nack so far.</summary>
    public int Nacks { get; set; }
}
