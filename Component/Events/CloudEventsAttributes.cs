using System.Globalization;
using System.Text;

namespace XmppRabbitComponent.Events;

/// <summary>
/// The CloudEvents 1.0 attributes of an event in the AMQP protocol binding's binary content mode
/// (<c>EventPusher:Format</c> = <c>cloudevents</c>; docs/asyncapi.yaml, <c>cloudEventsHeaders</c>): the body stays the
/// seed JSON (the event's <c>data</c>) and the attributes become application properties named
/// <c>cloudEvents:&lt;attribute&gt;</c>, which AMQP 0-9-1 carries in the message's <c>headers</c> table. Every value is
/// written as a string (the binding allows the string form of every attribute type):
/// <list type="table">
/// <item><term><c>cloudEvents:specversion</c></term><description><c>1.0</c></description></item>
/// <item><term><c>cloudEvents:id</c></term><description>the AMQP <c>message_id</c>, stable across re-publishes (CloudEvents §3.1.1 "id": source + id is unique)</description></item>
/// <item><term><c>cloudEvents:source</c></term><description><c>xmpp:</c> + the component domain, an XMPP URI (RFC 5122)</description></item>
/// <item><term><c>cloudEvents:type</c></term><description><c>EventPusher:CloudEvents:TypePrefix</c> + the event kind, e.g. <c>xmpp.chat_msg_sent</c></description></item>
/// <item><term><c>cloudEvents:subject</c></term><description>the bare JID the routing key is about</description></item>
/// <item><term><c>cloudEvents:time</c></term><description>when the event was accepted, RFC 3339 UTC with milliseconds</description></item>
/// <item><term><c>cloudEvents:datacontenttype</c></term><description><c>application/json</c>, the same as the AMQP <c>content_type</c></description></item>
/// </list>
/// <para>Why not the CNCF SDK (CloudNative.CloudEvents): it has no AMQP 0-9-1 binding (its AMQP package targets AMQP
/// 1.0 through another client), so the mapping to the headers table would be ours anyway, and building and
/// validating a <c>CloudEvent</c> object per event only adds allocations to the publishing path. The constant
/// values (specversion, source, the five types, datacontenttype) are encoded once here; per event only the id,
/// subject and time are new. The tests read the headers back with the SDK to check them.</para>
/// </summary>
public sealed class CloudEventsAttributes
{
    /// <summary>Prefix of the application property names (CloudEvents AMQP binding §3.1.3.1).</summary>
    public const string Prefix = "cloudEvents:";

    /// <summary>The CloudEvents version written in <c>specversion</c>.</summary>
    public const string SpecVersion = "1.0";

    /// <summary>The <c>datacontenttype</c>: the seed JSON body.</summary>
    public const string DataContentType = "application/json";

    /// <summary>Default of <c>EventPusher:CloudEvents:TypePrefix</c>.</summary>
    public const string DefaultTypePrefix = "xmpp.";

    /// <summary>The property names written, in this order.</summary>
    public static IReadOnlyList<string> Names { get; } =
        [Prefix + "specversion", Prefix + "id", Prefix + "source", Prefix + "type", Prefix + "subject", Prefix + "time", Prefix + "datacontenttype"];

    private static readonly byte[] SpecVersionBytes = Encoding.UTF8.GetBytes(SpecVersion);
    private static readonly byte[] DataContentTypeBytes = Encoding.UTF8.GetBytes(DataContentType);
    private readonly byte[] _source;
    private readonly byte[][] _types;

    /// <summary>Prepares the constant attributes.</summary>
    /// <param name="componentDomain">The component's domain (<c>Xmpp:ComponentDomain</c>), e.g. <c>events.example.com</c>.</param>
    /// <param name="typePrefix">Put before the event kind in <c>type</c> (<c>EventPusher:CloudEvents:TypePrefix</c>); may be empty.</param>
    public CloudEventsAttributes(string componentDomain, string typePrefix)
    {
        ArgumentException.ThrowIfNullOrEmpty(componentDomain);
        ArgumentNullException.ThrowIfNull(typePrefix);
        Source = "xmpp:" + componentDomain;
        TypePrefix = typePrefix;
        _source = Encoding.UTF8.GetBytes(Source);
        _types = Enum.GetValues<EventKind>().Select(k => Encoding.UTF8.GetBytes(Type(k))).ToArray();
    }

    /// <summary>The <c>source</c> attribute: <c>xmpp:</c> + the component domain.</summary>
    public string Source { get; }

    /// <summary>The prefix of <c>type</c>.</summary>
    public string TypePrefix { get; }

    /// <summary>The <c>type</c> attribute of <paramref name="kind"/>: the prefix and the kind name.</summary>
    public string Type(EventKind kind) => TypePrefix + kind.Name();

    /// <summary>The <c>time</c> attribute: RFC 3339 (§5.6), UTC, milliseconds, e.g. <c>2026-12-01T09:42:15.123Z</c>.</summary>
    public static string Time(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>
    /// The application properties of one event, a new dictionary (the caller may add to it; the RabbitMQ client adds
    /// its sequence-number header when it tracks publisher confirms). Values are UTF-8 <see cref="byte"/> arrays
    /// (the constants) or strings, both written as AMQP long strings.
    /// </summary>
    /// <param name="kind">The event kind.</param>
    /// <param name="id">The event's <c>message_id</c>.</param>
    /// <param name="subject">The bare JID of the routing key's user (<see cref="XmppEvent.RoutingUser"/>).</param>
    /// <param name="time">When the event was accepted.</param>
    public Dictionary<string, object?> Headers(EventKind kind, string id, string subject, DateTimeOffset time) => new(8)
    {
        [Names[0]] = SpecVersionBytes,
        [Names[1]] = id,
        [Names[2]] = _source,
        [Names[3]] = _types[(int)kind],
        [Names[4]] = subject,
        [Names[5]] = Time(time),
        [Names[6]] = DataContentTypeBytes,
    };
}
