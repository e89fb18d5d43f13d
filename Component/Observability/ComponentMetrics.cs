using System.Diagnostics;
using System.Diagnostics.Metrics;
using XmppRabbitComponent.Classification;
using XmppRabbitComponent.Events;
using XmppRabbitComponent.Xmpp;

namespace XmppRabbitComponent.Observability;

/// <summary>
/// The component's one <see cref="Meter"/> (<c>docs/publishing.md</c>, "Metrics"). Instruments are created once here.
/// The seed's nine metrics keep their names under the <c>mod_event_pusher_rabbit.</c> prefix and carry the XMPP host
/// as the <c>host</c> tag; OpenTelemetry messaging metrics and the component's own sit beside them.
/// Tags are low-cardinality only: a JID or routing key is never a tag. Every counter is exported from start-up at 0
/// for each of its known label values (<see cref="DropReasons"/>, skip reasons, event kinds, stanza kinds, reconnect
/// causes, loop names; exchanges once <see cref="SeedExchanges"/> names them), so that <c>rate()</c> sees 0, not
/// "no data". The two histograms appear with the first published message (a histogram has no zero measurement).
/// </summary>
public sealed class ComponentMetrics : IDisposable
{
    /// <summary>The meter name, <c>XmppRabbitComponent</c>; register it with OpenTelemetry's <c>AddMeter</c>.</summary>
    public const string MeterName = "XmppRabbitComponent";

    private readonly Meter _meter;
    private readonly KeyValuePair<string, object?> _host;
    private readonly Counter<long> _connectionsOpened, _connectionsClosed, _connectionFailed;
    private readonly UpDownCounter<long> _connectionsActive;
    private readonly Counter<long> _messagesPublished, _messagesFailed, _messagesTimeout, _messagesReturned;
    private readonly Histogram<double> _publishTime;
    private readonly Histogram<long> _payloadSize;
    private readonly Counter<long> _otelSent;
    private readonly Histogram<double> _otelDuration;
    private readonly Counter<long> _streamReconnects, _stanzasReceived, _eventsProduced, _stanzasSkipped, _eventsDropped;
    private readonly Counter<long> _loopFaults;
    private int _streamUp;
    private Func<long> _bufferDepth = () => 0;

    /// <summary>Creates the meter through <paramref name="meterFactory"/> (or a plain one when null); <paramref name="xmppHost"/> is the <c>host</c> tag of the seed's metrics.</summary>
    public ComponentMetrics(IMeterFactory? meterFactory, string xmppHost)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _host = new("host", xmppHost);
        const string p = "mod_event_pusher_rabbit.";
        _connectionsActive = _meter.CreateUpDownCounter<long>(p + "connections_active", "{connection}", "Broker connections open now: +1 on open, -1 on close (seed).");
        _connectionsOpened = _meter.CreateCounter<long>(p + "connections_opened", "{connection}", "Broker connections opened (seed).");
        _connectionsClosed = _meter.CreateCounter<long>(p + "connections_closed", "{connection}", "Broker connections closed (seed).");
        _connectionFailed = _meter.CreateCounter<long>(p + "connection_failed", "{attempt}", "Failed broker connection attempts, one per attempt (seed).");
        _messagesPublished = _meter.CreateCounter<long>(p + "messages_published", "{message}", "Messages published (acked when confirms are on) (seed).");
        _messagesFailed = _meter.CreateCounter<long>(p + "messages_failed", "{message}", "Messages nacked or failed to publish (seed).");
        _messagesTimeout = _meter.CreateCounter<long>(p + "messages_timeout", "{message}", "Messages not confirmed within Rabbit:ConfirmTimeout (seed).");
        _publishTime = _meter.CreateHistogram<double>(p + "message_publish_time", "s", "Publish plus confirm wait, successes only (seed).");
        _payloadSize = _meter.CreateHistogram<long>(p + "message_payload_size", "By", "Size of the published body, successes only (seed).");
        _messagesReturned = _meter.CreateCounter<long>("xmpp_component.messages.returned", "{message}", "Mandatory messages the broker returned as unroutable.");

        _otelSent = _meter.CreateCounter<long>("messaging.client.sent.messages", "{message}", "OpenTelemetry messaging: messages sent.");
        _otelDuration = _meter.CreateHistogram<double>("messaging.client.operation.duration", "s", "OpenTelemetry messaging: duration of a publish (and its confirm).");

        _meter.CreateObservableGauge("xmpp_component.stream.up", () => Volatile.Read(ref _streamUp), "1", "1 while the XEP-0114 stream is authenticated, else 0.");
        _streamReconnects = _meter.CreateCounter<long>("xmpp_component.stream.reconnects", "{reconnect}", "XMPP stream ends followed by a reconnect, by cause (stream error condition or fault).");
        _stanzasReceived = _meter.CreateCounter<long>("xmpp_component.stanzas.received", "{stanza}", "Top-level stanzas received, by kind (message, presence, iq, other).");
        _eventsProduced = _meter.CreateCounter<long>("xmpp_component.events.produced", "{event}", "Events produced by the classifier, by kind.");
        _stanzasSkipped = _meter.CreateCounter<long>("xmpp_component.stanzas.skipped", "{stanza}", "Stanzas that produced no event, by reason.");
        _eventsDropped = _meter.CreateCounter<long>("xmpp_component.events.dropped", "{event}", "Events that will never be published, by reason.");
        _meter.CreateObservableGauge("xmpp_component.buffer.depth", () => _bufferDepth(), "{event}", "Events waiting to be published.");
        _loopFaults = _meter.CreateCounter<long>("xmpp_component.loop.faults", "{fault}", "Unexpected exceptions in a background loop, which was restarted, by loop.");
        SeedZeros();
    }

    /// <summary>The <c>reason</c> values of <c>xmpp_component.events.dropped</c>.</summary>
    public static readonly string[] DropReasons =
        ["disabled", "routing_key_too_long", "invalid_payload", "shutdown", "buffer_full", "worker_queue_full", "nacked"];

    /// <summary>The <c>loop</c> values of <c>xmpp_component.loop.faults</c>.</summary>
    public static readonly string[] LoopNames = ["xmpp_stream", "broker_connection", "publish_worker", "confirm_timer"];

    /// <summary>The fixed <c>cause</c> values of <c>xmpp_component.stream.reconnects</c> besides the stream error conditions.</summary>
    private static readonly string[] FaultCauses = ["eof", "socket", "io", "timeout", "connect_timeout", "other"];

    private void SeedZeros()
    {
        foreach (var c in new[] { _connectionsOpened, _connectionsClosed, _connectionFailed, _messagesPublished, _messagesFailed, _messagesTimeout })
            c.Add(0, _host);
        _connectionsActive.Add(0, _host);
        foreach (var kind in new[] { "message", "presence", "iq", "other" }) StanzaReceived(kind, 0);
        foreach (var kind in Enum.GetValues<EventKind>()) EventProduced(kind.Name(), 0);
        foreach (var reason in Enum.GetValues<SkipReason>()) StanzaSkipped(reason.Label(), 0);
        foreach (var reason in DropReasons) EventDropped(reason, 0);
        foreach (var loop in LoopNames) LoopFault(loop, 0);
        foreach (var cause in FaultCauses.Concat(Enum.GetValues<StreamErrorCondition>().Select(c => c.ToWireName())).Distinct())
            StreamReconnect(cause, 0);
    }

    /// <summary>Exports the per-exchange series (<c>messages.returned</c>, <c>messaging.client.sent.messages</c>) of <paramref name="exchanges"/> at 0.</summary>
    public void SeedExchanges(IEnumerable<string> exchanges)
    {
        foreach (var x in exchanges)
        {
            _messagesReturned.Add(0, new KeyValuePair<string, object?>("messaging.destination.name", x));
            _otelSent.Add(0, MessagingTags(x, null));
        }
    }

    /// <summary>Sets the callback reporting the publish buffer depth.</summary>
    public void ObserveBufferDepth(Func<long> depth) => _bufferDepth = depth;

    /// <summary>A broker connection opened: active +1, opened +1.</summary>
    public void ConnectionOpened() { _connectionsActive.Add(1, _host); _connectionsOpened.Add(1, _host); }
    /// <summary>A broker connection that was counted open closed: active -1, closed +1. Call once per opened connection.</summary>
    public void ConnectionClosed() { _connectionsActive.Add(-1, _host); _connectionsClosed.Add(1, _host); }
    /// <summary>A broker connection attempt failed.</summary>
    public void ConnectionFailed() => _connectionFailed.Add(1, _host);

    /// <summary>A message was published (and acked when confirms are on).</summary>
    /// <param name="exchange">Destination exchange (an OpenTelemetry tag; low cardinality).</param>
    /// <param name="elapsed">Publish plus confirm wait.</param>
    /// <param name="payloadBytes">Body size in bytes.</param>
    public void MessagePublished(string exchange, TimeSpan elapsed, int payloadBytes)
    {
        _messagesPublished.Add(1, _host);
        _publishTime.Record(elapsed.TotalSeconds, _host);
        _payloadSize.Record(payloadBytes, _host);
        var tags = MessagingTags(exchange, null);
        _otelSent.Add(1, tags);
        _otelDuration.Record(elapsed.TotalSeconds, tags);
    }

    /// <summary>A message was nacked or its publish failed.</summary>
    public void MessageFailed(string exchange, TimeSpan elapsed, string errorType)
    {
        _messagesFailed.Add(1, _host);
        var tags = MessagingTags(exchange, errorType);
        _otelSent.Add(1, tags);
        _otelDuration.Record(elapsed.TotalSeconds, tags);
    }

    /// <summary>A message was not confirmed within the confirm timeout.</summary>
    public void MessageTimedOut(string exchange) { _messagesTimeout.Add(1, _host); _otelSent.Add(1, MessagingTags(exchange, "timeout")); }

    /// <summary>A mandatory message was returned unroutable.</summary>
    public void MessageReturned(string exchange) => _messagesReturned.Add(1, new KeyValuePair<string, object?>("messaging.destination.name", exchange));

    /// <summary>The XMPP stream became authenticated (true) or ended (false).</summary>
    public void StreamUp(bool up) => Volatile.Write(ref _streamUp, up ? 1 : 0);
    /// <summary>The XMPP stream ended and will be reconnected; <paramref name="cause"/> is a stream error condition (e.g. <c>conflict</c>) or a fault name (<c>eof</c>, <c>io</c>, <c>timeout</c>).</summary>
    public void StreamReconnect(string cause, long count = 1) => _streamReconnects.Add(count, new KeyValuePair<string, object?>("cause", cause));
    /// <summary>A top-level stanza arrived; <paramref name="kind"/> is its element name (message, presence, iq) or <c>other</c>.</summary>
    public void StanzaReceived(string kind, long count = 1) => _stanzasReceived.Add(count, new KeyValuePair<string, object?>("kind", kind));
    /// <summary>An event was produced; <paramref name="kind"/> is the event kind name.</summary>
    public void EventProduced(string kind, long count = 1) => _eventsProduced.Add(count, new KeyValuePair<string, object?>("kind", kind));
    /// <summary>A stanza produced no event for <paramref name="reason"/> (snake_case).</summary>
    public void StanzaSkipped(string reason, long count = 1) => _stanzasSkipped.Add(count, new KeyValuePair<string, object?>("reason", reason));
    /// <summary>An event was dropped for <paramref name="reason"/>, one of <see cref="DropReasons"/>.</summary>
    public void EventDropped(string reason, long count = 1) => _eventsDropped.Add(count, new KeyValuePair<string, object?>("reason", reason));

    /// <summary>A background loop (one of <see cref="LoopNames"/>) failed unexpectedly and was restarted.</summary>
    public void LoopFault(string loop, long count = 1) => _loopFaults.Add(count, new KeyValuePair<string, object?>("loop", loop));

    private static TagList MessagingTags(string exchange, string? errorType)
    {
        var tags = new TagList
        {
            { "messaging.system", "rabbitmq" },
            { "messaging.operation.name", "publish" },
            { "messaging.operation.type", "send" },
            { "messaging.destination.name", exchange },
        };
        if (errorType is not null) tags.Add("error.type", errorType);
        return tags;
    }

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();
}
