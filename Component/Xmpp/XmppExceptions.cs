namespace XmppRabbitComponent.Xmpp;

/// <summary>
/// Base of the failures that end an XEP-0114 stream (RFC 6120 §4.9). <see cref="Cause"/> is a short,
/// low-cardinality name for logs and the <c>xmpp_component.stream.reconnects</c> metric tag.
/// </summary>
public abstract class XmppStreamException : Exception
{
    /// <summary>Creates the exception.</summary>
    protected XmppStreamException(string message, Exception? inner = null) : base(message, inner) { }

    /// <summary>Short cause name: a stream error condition (<c>not-well-formed</c>) or a fault (<c>timeout</c>).</summary>
    public abstract string Cause { get; }
}

/// <summary>
/// The peer violated the protocol (RFC 6120 §4.9.3): we detected it while framing or parsing. When the connection
/// raises it, the matching <c>&lt;stream:error/&gt;</c> and <c>&lt;/stream:stream&gt;</c> have already been written
/// to the server (RFC 6120 §4.9.1.1).
/// </summary>
public sealed class XmppProtocolException : XmppStreamException
{
    /// <summary>Creates the exception with the condition we report to the peer and a human message (never sent).</summary>
    public XmppProtocolException(StreamErrorCondition condition, string message, Exception? inner = null)
        : base($"{condition.ToWireName()}: {message}", inner) => Condition = condition;

    /// <summary>The RFC 6120 §4.9.3 condition to send to the peer.</summary>
    public StreamErrorCondition Condition { get; }

    /// <inheritdoc />
    public override string Cause => Condition.ToWireName();
}

/// <summary>
/// The server ended the stream with <c>&lt;stream:error/&gt;</c> (RFC 6120 §4.9). During the XEP-0114 §3 handshake,
/// <c>not-authorized</c> means a wrong secret or a component domain the server does not serve
/// (ejabberd 23.01 sends <c>not-authorized</c> for both).
/// </summary>
public sealed class StreamErrorException : XmppStreamException
{
    /// <summary>Creates the exception from the error's condition element name and optional <c>&lt;text/&gt;</c>.</summary>
    public StreamErrorException(string conditionName, string? text)
        : base(text is null ? $"server stream error <{conditionName}/>" : $"server stream error <{conditionName}/>: {text}")
    {
        ConditionName = conditionName;
        Condition = StreamErrorConditions.FromWireName(conditionName);
        Text = text;
    }

    /// <summary>The condition; <see cref="StreamErrorCondition.UndefinedCondition"/> when the name is not defined in RFC 6120 §4.9.3.</summary>
    public StreamErrorCondition Condition { get; }

    /// <summary>The condition element's local name as received.</summary>
    public string ConditionName { get; }

    /// <summary>The optional human-readable <c>&lt;text/&gt;</c> (RFC 6120 §4.9.2), or null.</summary>
    public string? Text { get; }

    /// <summary>True for the refusals of the XEP-0114 §3 handshake: <c>not-authorized</c> or <c>host-unknown</c>.</summary>
    public bool IsAuthenticationRefusal => Condition is StreamErrorCondition.NotAuthorized or StreamErrorCondition.HostUnknown;

    /// <inheritdoc />
    public override string Cause => Condition == StreamErrorCondition.UndefinedCondition ? "undefined-condition" : ConditionName;
}

/// <summary>Which deadline expired, see <see cref="XmppStreamTimeoutException"/>.</summary>
public enum XmppTimeoutKind
{
    /// <summary><c>Xmpp:ConnectTimeout</c>: TCP connect plus the XEP-0114 §3 handshake did not finish in time.</summary>
    Connect,
    /// <summary><c>Xmpp:ReadTimeout</c>: no byte arrived for that long; the TCP connection is presumed half-open (RFC 6120 §4.6).</summary>
    Read,
}

/// <summary>A deadline of the XEP-0114 connection expired (RFC 6120 §4.6: detecting a dead or half-open stream).</summary>
public sealed class XmppStreamTimeoutException : XmppStreamException
{
    /// <summary>Creates the exception.</summary>
    public XmppStreamTimeoutException(XmppTimeoutKind kind, TimeSpan timeout)
        : base(kind == XmppTimeoutKind.Connect
            ? $"connect and handshake did not complete within {timeout}"
            : $"no data received for {timeout}; the stream is considered half-open")
    {
        Kind = kind;
        Timeout = timeout;
    }

    /// <summary>Which deadline expired.</summary>
    public XmppTimeoutKind Kind { get; }

    /// <summary>The configured deadline.</summary>
    public TimeSpan Timeout { get; }

    /// <inheritdoc />
    public override string Cause => Kind == XmppTimeoutKind.Connect ? "connect_timeout" : "timeout";
}
