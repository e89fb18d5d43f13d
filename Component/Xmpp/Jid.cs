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

    // Bare and full forms, computed once (both are derived from the three parts, so equality is unchanged).
    private readonly string _bare, _full;

    private Jid(string? node, string domain, string? resource, string? bare = null, string? full = null)
    {
        Node = node;
        Domain = domain;
        Resource = resource;
        _bare = bare ?? (node is null ? domain : $"{node}@{domain}");
        _full = full ?? (resource is null ? _bare : $"{_bare}/{resource}");
    }

    /// <summary>True when there is a resource.</summary>
    public bool IsFull => Resource is not null;
    /// <summary>True when there is neither node nor resource (a server or service host).</summary>
    public bool IsDomain => Node is null && Resource is null;

    /// <summary>The bare JID <c>node@domain</c> (or <c>domain</c>).</summary>
    public string Bare => _bare;

    /// <summary>This JID without its resource.</summary>
    public Jid ToBare() => Resource is null ? this : new Jid(Node, Domain, null, _bare);

    /// <summary>The full JID <c>node@domain/resource</c> (or the bare JID when there is no resource).</summary>
    public override string ToString() => _full;

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
        var span = text.AsSpan();
        var slash = span.IndexOf('/');
        var head = slash >= 0 ? span[..slash] : span;
        var at = head.IndexOf('@');
        var node = at >= 0 ? head[..at] : default;
        var domain = at >= 0 ? head[(at + 1)..] : head;
        var trailingDot = domain.EndsWith('.');
        if (trailingDot) domain = domain[..^1];
        var resource = slash >= 0 ? span[(slash + 1)..] : default;

        if (at >= 0 && !ValidNode(node)) return false;
        if (!ValidDomain(domain)) return false;
        if (slash >= 0 && !ValidResource(resource)) return false;

        // Lowercase node and domain; when the text needs no change, the bare and full forms are slices of it.
        var normalized = !trailingDot && !HasUpper(node) && !HasUpper(domain);
        var nodeText = at >= 0 ? Lower(node) : null;
        var domainText = normalized && at < 0 && slash < 0 ? text : Lower(domain);
        var resourceText = slash >= 0 ? resource.ToString() : null;
        string? bare = null, full = null;
        if (normalized)
        {
            bare = at < 0 ? domainText : slash >= 0 ? head.ToString() : text;
            full = slash >= 0 ? text : bare;
        }
        jid = new Jid(nodeText, domainText, resourceText, bare, full);
        return true;
    }

    // True when lowercasing may change the text: an ASCII capital, or any non-ASCII character (left to
    // string.ToLowerInvariant, which also handles letters outside the BMP).
    private static bool HasUpper(ReadOnlySpan<char> s)
    {
        foreach (var c in s)
            if (c >= 0x80 || c is >= 'A' and <= 'Z') return true;
        return false;
    }

    private static string Lower(ReadOnlySpan<char> s) => HasUpper(s) ? s.ToString().ToLowerInvariant() : s.ToString();

    /// <summary>Parses <paramref name="text"/> or returns null; see <see cref="TryParse"/>.</summary>
    public static Jid? ParseOrNull(string? text) => TryParse(text, out var j) ? j : null;

    private static bool ValidNode(ReadOnlySpan<char> node)
    {
        if (node.Length == 0 || Encoding.UTF8.GetByteCount(node) > MaxPartBytes) return false;
        foreach (var c in node)
            if (c is '"' or '&' or '\'' or '/' or ':' or '<' or '>' or '@' || char.IsWhiteSpace(c) || char.IsControl(c))
                return false;
        return WellFormed(node);
    }

    private static bool ValidDomain(ReadOnlySpan<char> domain)
    {
        if (domain.Length == 0 || Encoding.UTF8.GetByteCount(domain) > MaxPartBytes) return false;
        foreach (var c in domain)
            if (c is '@' or '/' or '"' or '\'' or '<' or '>' or '&' || char.IsWhiteSpace(c) || char.IsControl(c))
                return false;
        return WellFormed(domain);
    }

    private static bool ValidResource(ReadOnlySpan<char> resource)
    {
        if (resource.Length == 0 || Encoding.UTF8.GetByteCount(resource) > MaxPartBytes) return false;
        foreach (var c in resource)
            if (char.IsControl(c)) return false;
        return WellFormed(resource);
    }

    // No unpaired surrogates: they cannot be UTF-8 and would break the JSON and the routing key.
    private static bool WellFormed(ReadOnlySpan<char> s)
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
