using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace XmppRabbitComponent.Xmpp;

/// <summary>
/// A JID (RFC 7622): <c>[node@]domain[/resource]</c>. Node and domain are compared case-insensitively and
/// kept lowercased (invariant culture, a simplification of the PRECIS profiles: no Unicode normalization);
/// the resource keeps its case. Each part is at most 1023 UTF-8 bytes (RFC 7622 §3.2–3.4).
/// </summary>
public sealed record Jid
{
    /// <summary>The largest part in UTF-8 bytes (RFC 7622 §3).</summary>
    public const int MaxPartBytes = 1023;

    /// <summary>The localpart, lowercased, or null.</summary>
    public string? Node { get; }
    /// <summary>The domainpart, lowercased, without a trailing dot.</summary>
    public string Domain { get; }
    /// <summary>The resourcepart as sent, or null.</summary>
    public string? Resource { get; }

    private Jid(string? node, string domain, string? resource) { Node = node; Domain = domain; Resource = resource; }

    /// <summary>True when there is a resource.</summary>
    public bool IsFull => Resource is not null;
    /// <summary>True when there is neither node nor resource (a server or service host).</summary>
    public bool IsDomain => Node is null && Resource is null;

    /// <summary>The bare JID <c>node@domain</c> (or <c>domain</c>).</summary>
    public string Bare => Node is null ? Domain : $"{Node}@{Domain}";

    /// <summary>This JID without its resource.</summary>
    public Jid ToBare() => Resource is null ? this : new Jid(Node, Domain, null);

    /// <inheritdoc />
    public override string ToString() => Resource is null ? Bare : $"{Bare}/{Resource}";

    /// <summary>
    /// Parses <paramref name="text"/>. Returns false for null, empty parts (<c>@d</c>, <c>n@</c>, <c>d/</c>),
    /// a part over 1023 bytes, whitespace or control characters in node or domain, or the characters RFC 7622
    /// §3.3.1 forbids in a localpart (<c>" &amp; ' / : &lt; &gt; @</c>).
    /// </summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out Jid? jid)
    {
        jid = null;
        if (string.IsNullOrEmpty(text)) return false;
        // RFC 7622 §3.1: the resource starts at the first '/', the node ends at the first '@' before it.
        var slash = text.IndexOf('/');
        var head = slash >= 0 ? text[..slash] : text;
        string? resource = slash >= 0 ? text[(slash + 1)..] : null;
        var at = head.IndexOf('@');
        string? node = at >= 0 ? head[..at] : null;
        var domain = at >= 0 ? head[(at + 1)..] : head;
        if (domain.EndsWith('.')) domain = domain[..^1];

        if (node is not null && !ValidNode(node)) return false;
        if (!ValidDomain(domain)) return false;
        if (resource is not null && !ValidResource(resource)) return false;
        jid = new Jid(node?.ToLowerInvariant(), domain.ToLowerInvariant(), resource);
        return true;
    }

    /// <summary>Parses <paramref name="text"/> or returns null; see <see cref="TryParse"/>.</summary>
    public static Jid? ParseOrNull(string? text) => TryParse(text, out var j) ? j : null;

    private static bool ValidNode(string node)
    {
        if (node.Length == 0 || Encoding.UTF8.GetByteCount(node) > MaxPartBytes) return false;
        foreach (var c in node)
            if (c is '"' or '&' or '\'' or '/' or ':' or '<' or '>' or '@' || char.IsWhiteSpace(c) || char.IsControl(c))
                return false;
        return WellFormed(node);
    }

    private static bool ValidDomain(string domain)
    {
        if (domain.Length == 0 || Encoding.UTF8.GetByteCount(domain) > MaxPartBytes) return false;
        foreach (var c in domain)
            if (c is '@' or '/' or '"' or '\'' or '<' or '>' or '&' || char.IsWhiteSpace(c) || char.IsControl(c))
                return false;
        return WellFormed(domain);
    }

    private static bool ValidResource(string resource)
    {
        if (resource.Length == 0 || Encoding.UTF8.GetByteCount(resource) > MaxPartBytes) return false;
        foreach (var c in resource)
            if (char.IsControl(c)) return false;
        return WellFormed(resource);
    }

    // No unpaired surrogates: they cannot be UTF-8 and would break the JSON and the routing key.
    private static bool WellFormed(string s)
    {
        for (var i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]))
            {
                if (i + 1 >= s.Length || !char.IsLowSurrogate(s[i + 1])) return false;
                i++;
            }
            else if (char.IsLowSurrogate(s[i])) return false;
        }
        return true;
    }
}
