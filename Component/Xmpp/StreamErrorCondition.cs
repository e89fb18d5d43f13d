namespace XmppRabbitComponent.Xmpp;

/// <summary>
/// The defined stream error conditions of RFC 6120 §4.9.3 (the child element of <c>&lt;stream:error/&gt;</c>,
/// in namespace <c>urn:ietf:params:xml:ns:xmpp-streams</c>).
/// </summary>
public enum StreamErrorCondition
{
    /// <summary>§4.9.3.1 <c>bad-format</c>: XML that cannot be processed.</summary>
    BadFormat,
    /// <summary>§4.9.3.2 <c>bad-namespace-prefix</c>.</summary>
    BadNamespacePrefix,
    /// <summary>§4.9.3.3 <c>conflict</c>: a new stream replaced this one.</summary>
    Conflict,
    /// <summary>§4.9.3.4 <c>connection-timeout</c>: no traffic for too long.</summary>
    ConnectionTimeout,
    /// <summary>§4.9.3.5 <c>host-gone</c>.</summary>
    HostGone,
    /// <summary>§4.9.3.6 <c>host-unknown</c>: the stream's <c>to</c> is not served.</summary>
    HostUnknown,
    /// <summary>§4.9.3.7 <c>improper-addressing</c>.</summary>
    ImproperAddressing,
    /// <summary>§4.9.3.8 <c>internal-server-error</c>.</summary>
    InternalServerError,
    /// <summary>§4.9.3.9 <c>invalid-from</c>.</summary>
    InvalidFrom,
    /// <summary>§4.9.3.10 <c>invalid-namespace</c>.</summary>
    InvalidNamespace,
    /// <summary>§4.9.3.11 <c>invalid-xml</c>: XML invalid against a schema (only from validating servers).</summary>
    InvalidXml,
    /// <summary>§4.9.3.12 <c>not-authorized</c>: for XEP-0114, a wrong secret or an unknown component domain.</summary>
    NotAuthorized,
    /// <summary>§4.9.3.13 <c>not-well-formed</c>: violates the well-formedness rules of XML or XML namespaces.</summary>
    NotWellFormed,
    /// <summary>§4.9.3.14 <c>policy-violation</c>: e.g. a stanza over the size, depth or attribute limits.</summary>
    PolicyViolation,
    /// <summary>§4.9.3.15 <c>remote-connection-failed</c>.</summary>
    RemoteConnectionFailed,
    /// <summary>§4.9.3.16 <c>reset</c>.</summary>
    Reset,
    /// <summary>§4.9.3.17 <c>resource-constraint</c>.</summary>
    ResourceConstraint,
    /// <summary>§4.9.3.18 <c>restricted-xml</c>: comments, PIs, DTDs, entity references other than the predefined ones (§11.1).</summary>
    RestrictedXml,
    /// <summary>§4.9.3.19 <c>see-other-host</c>.</summary>
    SeeOtherHost,
    /// <summary>§4.9.3.20 <c>system-shutdown</c>.</summary>
    SystemShutdown,
    /// <summary>§4.9.3.21 <c>undefined-condition</c>; also used for a condition name this enum does not know.</summary>
    UndefinedCondition,
    /// <summary>§4.9.3.22 <c>unsupported-encoding</c>: not UTF-8 (§11.6).</summary>
    UnsupportedEncoding,
    /// <summary>§4.9.3.23 <c>unsupported-feature</c>.</summary>
    UnsupportedFeature,
    /// <summary>§4.9.3.24 <c>unsupported-stanza-type</c>.</summary>
    UnsupportedStanzaType,
    /// <summary>§4.9.3.25 <c>unsupported-version</c>.</summary>
    UnsupportedVersion,
}

/// <summary>Wire names of <see cref="StreamErrorCondition"/> (RFC 6120 §4.9.3).</summary>
public static class StreamErrorConditions
{
    /// <summary>The namespace of stream error conditions, <c>urn:ietf:params:xml:ns:xmpp-streams</c> (RFC 6120 §4.9.2).</summary>
    public const string Namespace = "urn:ietf:params:xml:ns:xmpp-streams";

    private static readonly Dictionary<string, StreamErrorCondition> ByName =
        Enum.GetValues<StreamErrorCondition>().ToDictionary(ToWireName, c => c, StringComparer.Ordinal);

    /// <summary>The element name of <paramref name="condition"/>, e.g. <c>not-well-formed</c>.</summary>
    public static string ToWireName(this StreamErrorCondition condition) => condition switch
    {
        StreamErrorCondition.BadFormat => "bad-format",
        StreamErrorCondition.BadNamespacePrefix => "bad-namespace-prefix",
        StreamErrorCondition.Conflict => "conflict",
        StreamErrorCondition.ConnectionTimeout => "connection-timeout",
        StreamErrorCondition.HostGone => "host-gone",
        StreamErrorCondition.HostUnknown => "host-unknown",
        StreamErrorCondition.ImproperAddressing => "improper-addressing",
        StreamErrorCondition.InternalServerError => "internal-server-error",
        StreamErrorCondition.InvalidFrom => "invalid-from",
        StreamErrorCondition.InvalidNamespace => "invalid-namespace",
        StreamErrorCondition.InvalidXml => "invalid-xml",
        StreamErrorCondition.NotAuthorized => "not-authorized",
        StreamErrorCondition.NotWellFormed => "not-well-formed",
        StreamErrorCondition.PolicyViolation => "policy-violation",
        StreamErrorCondition.RemoteConnectionFailed => "remote-connection-failed",
        StreamErrorCondition.Reset => "reset",
        StreamErrorCondition.ResourceConstraint => "resource-constraint",
        StreamErrorCondition.RestrictedXml => "restricted-xml",
        StreamErrorCondition.SeeOtherHost => "see-other-host",
        StreamErrorCondition.SystemShutdown => "system-shutdown",
        StreamErrorCondition.UndefinedCondition => "undefined-condition",
        StreamErrorCondition.UnsupportedEncoding => "unsupported-encoding",
        StreamErrorCondition.UnsupportedFeature => "unsupported-feature",
        StreamErrorCondition.UnsupportedStanzaType => "unsupported-stanza-type",
        StreamErrorCondition.UnsupportedVersion => "unsupported-version",
        _ => throw new ArgumentOutOfRangeException(nameof(condition), condition, null),
    };

    /// <summary>The condition named <paramref name="wireName"/>, or <see cref="StreamErrorCondition.UndefinedCondition"/> for an unknown name.</summary>
    public static StreamErrorCondition FromWireName(string wireName) =>
        ByName.TryGetValue(wireName, out var c) ? c : StreamErrorCondition.UndefinedCondition;
}
