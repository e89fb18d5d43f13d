namespace XmppRabbitComponent.Configuration;

/// <summary>
/// One exchange section of <c>EventPusher:Rabbit</c> (seed: <c>presence_exchange</c>, <c>chat_msg_exchange</c>,
/// <c>groupchat_msg_exchange</c>). Topics are used only by the message exchanges.
/// </summary>
public sealed class ExchangeOptions
{
    /// <summary><c>Enabled</c>: false disables this kind of event and its exchange. Default true.</summary>
    public bool Enabled { get; set; } = true;
    /// <summary><c>Name</c>: the exchange name (non-empty).</summary>
    public string Name { get; set; } = "";
    /// <summary><c>Type</c>: the exchange type (non-empty). Default <c>topic</c>.</summary>
    public string Type { get; set; } = "topic";
    /// <summary><c>Durable</c>: declare the exchange durable. Default false (the seed's).</summary>
    public bool Durable { get; set; }
    /// <summary><c>SentTopic</c>: routing-key suffix of sent events (message exchanges only).</summary>
    public string SentTopic { get; set; } = "";
    /// <summary><c>RecvTopic</c>: routing-key suffix of received events (message exchanges only).</summary>
    public string RecvTopic { get; set; } = "";
}

/// <summary><c>EventPusher:Rabbit</c>: the three exchanges with the seed's defaults.</summary>
public sealed class EventPusherRabbitOptions
{
    /// <summary><c>EventPusher:Rabbit:PresenceExchange</c>; default name <c>presence</c>, type <c>topic</c>.</summary>
    public ExchangeOptions PresenceExchange { get; set; } = new() { Name = "presence" };
    /// <summary><c>EventPusher:Rabbit:ChatMsgExchange</c>; default <c>chat_msg</c>, topics <c>chat_msg_sent</c>/<c>chat_msg_recv</c>.</summary>
    public ExchangeOptions ChatMsgExchange { get; set; } = new() { Name = "chat_msg", SentTopic = "chat_msg_sent", RecvTopic = "chat_msg_recv" };
    /// <summary><c>EventPusher:Rabbit:GroupchatMsgExchange</c>; default <c>groupchat_msg</c>, topics <c>groupchat_msg_sent</c>/<c>groupchat_msg_recv</c>.</summary>
    public ExchangeOptions GroupchatMsgExchange { get; set; } = new() { Name = "groupchat_msg", SentTopic = "groupchat_msg_sent", RecvTopic = "groupchat_msg_recv" };

    /// <summary>The enabled exchange sections, with their configuration key prefix.</summary>
    public IEnumerable<(string Key, ExchangeOptions Exchange)> Enabled()
    {
        if (PresenceExchange.Enabled) yield return ("EventPusher:Rabbit:PresenceExchange", PresenceExchange);
        if (ChatMsgExchange.Enabled) yield return ("EventPusher:Rabbit:ChatMsgExchange", ChatMsgExchange);
        if (GroupchatMsgExchange.Enabled) yield return ("EventPusher:Rabbit:GroupchatMsgExchange", GroupchatMsgExchange);
    }
}

/// <summary>The wire format of published events (<c>EventPusher:Format</c>; docs/asyncapi.yaml).</summary>
public enum EventFormat
{
    /// <summary><c>seed</c>: the seed's JSON body and AMQP properties, no headers. Default.</summary>
    Seed,
    /// <summary><c>cloudevents</c>: the same body and properties plus the CloudEvents 1.0 attributes as <c>cloudEvents:*</c> headers (AMQP binding, binary content mode).</summary>
    CloudEvents,
}

/// <summary><c>EventPusher:CloudEvents</c>: settings of the <c>cloudevents</c> format.</summary>
public sealed class CloudEventsOptions
{
    /// <summary><c>EventPusher:CloudEvents:TypePrefix</c>: put before the event kind in the CloudEvents <c>type</c> (<c>xmpp.</c> gives <c>xmpp.chat_msg_sent</c>); a reverse-DNS name of yours is the CloudEvents convention. Default <c>xmpp.</c>.</summary>
    public string TypePrefix { get; set; } = Events.CloudEventsAttributes.DefaultTypePrefix;
}

/// <summary>The <c>EventPusher</c> section: exchanges and classification settings (docs/events.md).</summary>
public sealed class EventPusherOptions
{
    /// <summary>Configuration section name: <c>EventPusher</c>.</summary>
    public const string Section = "EventPusher";

    /// <summary><c>EventPusher:Rabbit</c>: the exchanges.</summary>
    public EventPusherRabbitOptions Rabbit { get; set; } = new();

    /// <summary><c>EventPusher:CopyMatchWindow</c>: how long the first copy of a local→local message waits for its twin (docs/events.md, "Direction"). Default 30 s.</summary>
    public TimeSpan CopyMatchWindow { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary><c>EventPusher:Format</c>: <c>seed</c> (default) or <c>cloudevents</c>; see <see cref="EventFormat"/>.</summary>
    public string Format { get; set; } = "seed";

    /// <summary><c>EventPusher:CloudEvents</c>: settings of the <c>cloudevents</c> format.</summary>
    public CloudEventsOptions CloudEvents { get; set; } = new();

    /// <summary>The parsed <see cref="Format"/>; throws <see cref="FormatException"/> naming the key on an unknown value.</summary>
    public EventFormat ParsedFormat() => Format.Trim().ToLowerInvariant() switch
    {
        "seed" => EventFormat.Seed,
        "cloudevents" => EventFormat.CloudEvents,
        _ => throw new FormatException($"EventPusher:Format: '{Format}' is not one of seed, cloudevents"),
    };

    /// <summary><c>EventPusher:MaxTrackedPresences</c>: bound of the presence state table; offline entries are evicted first. Default 1,000,000.</summary>
    public int MaxTrackedPresences { get; set; } = 1_000_000;
}
