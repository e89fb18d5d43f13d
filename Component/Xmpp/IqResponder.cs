using System.Xml.Linq;

namespace XmppRabbitComponent.Xmpp;

/// <summary>
/// Answers IQs addressed to the component (RFC 6120 §8.2.3: every get/set gets a result or an error): XEP-0030
/// disco#info, XEP-0199 ping, and <c>service-unavailable</c> for anything else. Pure: returns the reply to send.
/// </summary>
public static class IqResponder
{
    /// <summary>The XEP-0030 disco#info namespace.</summary>
    public const string DiscoInfo = "http://jabber.org/protocol/disco#info";
    /// <summary>The XEP-0199 ping namespace.</summary>
    public const string Ping = "urn:xmpp:ping";
    /// <summary>The identity name announced in disco#info.</summary>
    public const string IdentityName = "XmppRabbitComponent";

    private static readonly XNamespace C = XmppNamespaces.Component;
    private static readonly XNamespace Disco = DiscoInfo;
    private static readonly XNamespace Stanzas = XmppNamespaces.Stanzas;

    /// <summary>
    /// The reply to <paramref name="iq"/>, or null when none is due: not an IQ, type <c>result</c>/<c>error</c>
    /// (RFC 6120 §8.2.3: never answered), no <c>id</c>, or not addressed to <paramref name="componentDomain"/>
    /// (or a <c>node@componentDomain[/resource]</c> JID under it). Replies are in <c>jabber:component:accept</c>,
    /// with <c>from</c>/<c>to</c> swapped and the <c>id</c> kept.
    /// </summary>
    public static XElement? Respond(XElement iq, string componentDomain)
    {
        ArgumentNullException.ThrowIfNull(iq);
        ArgumentException.ThrowIfNullOrWhiteSpace(componentDomain);
        if (iq.Name != C + "iq") return null;
        var type = (string?)iq.Attribute("type");
        if (type is not ("get" or "set")) return null;
        var id = (string?)iq.Attribute("id");
        if (id is null) return null;
        var to = (string?)iq.Attribute("to");
        if (Jid.ParseOrNull(to) is not { } toJid || !string.Equals(toJid.Domain, componentDomain.Trim().TrimEnd('.'), StringComparison.OrdinalIgnoreCase))
            return null;

        var payload = iq.Elements().ToList();
        // RFC 6120 §8.2.3: a get or set carries exactly one payload element.
        if (payload.Count != 1) return Error(iq, "modify", "bad-request");
        var query = payload[0];

        if (type == "get" && query.Name == Disco + "query")
        {
            // XEP-0030 §3.1: we publish no nodes; a node query is item-not-found.
            if (query.Attribute("node") is not null) return Error(iq, "cancel", "item-not-found");
            return Reply(iq, "result", new XElement(Disco + "query",
                new XElement(Disco + "identity", new XAttribute("category", "component"), new XAttribute("type", "generic"), new XAttribute("name", IdentityName)),
                new XElement(Disco + "feature", new XAttribute("var", DiscoInfo)),
                new XElement(Disco + "feature", new XAttribute("var", Ping))));
        }
        if (type == "get" && query.Name == XName.Get("ping", Ping))
            return Reply(iq, "result"); // XEP-0199 §4.2: an empty result.

        // RFC 6120 §8.4: an IQ for an unsupported namespace gets service-unavailable.
        return Error(iq, "cancel", "service-unavailable");
    }

    private static XElement Error(XElement iq, string errorType, string condition) =>
        Reply(iq, "error", new XElement(C + "error", new XAttribute("type", errorType), new XElement(Stanzas + condition)));

    private static XElement Reply(XElement iq, string type, XElement? payload = null)
    {
        var reply = new XElement(C + "iq", new XAttribute("type", type), new XAttribute("id", (string)iq.Attribute("id")!));
        if (iq.Attribute("to") is { } to) reply.Add(new XAttribute("from", to.Value));
        if (iq.Attribute("from") is { } from) reply.Add(new XAttribute("to", from.Value));
        if (payload is not null) reply.Add(payload);
        return reply;
    }
}
