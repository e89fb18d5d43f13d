using System.ComponentModel.DataAnnotations;

namespace XmppRabbitComponent.Configuration;

/// <summary>
/// The XEP-0114 connection to the XMPP server, bound from the <c>Xmpp</c> configuration section
///. Validated at start-up by <see cref="XmppOptionsValidator"/>.
/// </summary>
public sealed class XmppOptions
{
    /// <summary>Configuration section name: <c>Xmpp</c>.</summary>
    public const string Section = "Xmpp";

    /// <summary><c>Xmpp:Host</c>: host name or address of the XMPP server's component listener. Default <c>localhost</c>.</summary>
    public string Host { get; set; } = "localhost";

    /// <summary><c>Xmpp:Port</c>: TCP port of the component listener (ejabberd <c>ejabberd_service</c>). Default 5275.</summary>
    public int Port { get; set; } = 5275;

    /// <summary><c>Xmpp:ComponentDomain</c>: the component's own domain (the stream's <c>to</c>), e.g. <c>events.localhost</c>. Required.</summary>
    public string ComponentDomain { get; set; } = "";

    /// <summary><c>Xmpp:Secret</c>: the shared secret of XEP-0114 §3. Required; never logged.</summary>
    public string Secret { get; set; } = "";

    /// <summary>
    /// <c>Xmpp:SecretFile</c>: path of a file holding <see cref="Secret"/> (trailing newline trimmed), the convention of
    /// container and systemd credentials (docs/operating.md, "Secrets"). Setting it together with <c>Xmpp:Secret</c> is an error.
    /// </summary>
    public string? SecretFile { get; set; }

    /// <summary>
    /// <c>Xmpp:LocalDomains</c>: domains whose users are this server's users. When empty, the parent of
    /// <see cref="ComponentDomain"/> (<c>events.localhost</c> → <c>localhost</c>) is the one local domain
    /// (docs/events.md, "Local domains"). Never learned from traffic.
    /// </summary>
    public List<string> LocalDomains { get; set; } = [];

    /// <summary><c>Xmpp:MaxStanzaSize</c>: largest stanza accepted, in bytes of UTF-8 on the wire. Default 262,144 (ejabberd's c2s default).</summary>
    public int MaxStanzaSize { get; set; } = 262_144;

    /// <summary><c>Xmpp:MaxDepth</c>: deepest element nesting accepted inside a stanza. Default 32.</summary>
    public int MaxDepth { get; set; } = 32;

    /// <summary><c>Xmpp:MaxAttributes</c>: most attributes accepted on one element. Default 64.</summary>
    public int MaxAttributes { get; set; } = 64;

    /// <summary><c>Xmpp:ConnectTimeout</c>: TCP connect plus handshake deadline. Default 10 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary><c>Xmpp:KeepaliveInterval</c>: a whitespace keepalive is written after this much write silence. Default 30 s.</summary>
    public TimeSpan KeepaliveInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary><c>Xmpp:ReadTimeout</c>: a stream that delivers no byte for this long is treated as half-open and reconnected. Default 120 s.</summary>
    public TimeSpan ReadTimeout { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary><c>Xmpp:ReconnectMinDelay</c>: first reconnect delay; doubles per failure with jitter. Default 1 s.</summary>
    public TimeSpan ReconnectMinDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary><c>Xmpp:ReconnectMaxDelay</c>: cap of the reconnect delay. Default 30 s.</summary>
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary><c>Xmpp:AuthFailureDelay</c>: delay after a refused handshake (wrong secret or domain), so a bad secret never hammers the server. Default 60 s.</summary>
    public TimeSpan AuthFailureDelay { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The effective local domains: <see cref="LocalDomains"/> lowercased, or the parent of <see cref="ComponentDomain"/>.</summary>
    public IReadOnlyList<string> EffectiveLocalDomains()
    {
        if (LocalDomains.Count > 0)
            return LocalDomains.Select(d => d.Trim().ToLowerInvariant()).Distinct().ToArray();
        var domain = ComponentDomain.Trim().ToLowerInvariant();
        var dot = domain.IndexOf('.');
        return dot > 0 && dot < domain.Length - 1 ? [domain[(dot + 1)..]] : [domain];
    }
}
