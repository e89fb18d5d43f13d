using System.Xml.Linq;
using XmppRabbitComponent.Events;
using XmppRabbitComponent.Xmpp;

namespace XmppRabbitComponent.Classification;

/// <summary>
/// The heart of the component: turns each top-level stanza the component receives into the seed's events,
/// following docs/events.md. Pure: stanza + state + clock in, events out; it never reads the system clock and
/// never does I/O.
/// <para>
/// Input: one top-level stanza as parsed from the XEP-0114 stream (namespace <c>jabber:component:accept</c>;
/// stanzas nested in <c>&lt;forwarded xmlns='urn:xmpp:forward:0'&gt;</c> are <c>jabber:client</c>). Either is
/// "the stanza's own namespace"; <c>jabber:server</c> is accepted too.
/// </para>
/// <para>
/// State: the presence table (last known state per full JID, bounded by
/// <see cref="ClassifierSettings.MaxTrackedPresences"/>) and the copy-match table (pending local→local copies,
/// bounded by <see cref="ClassifierSettings.CopyMatchWindow"/> and <see cref="ClassifierSettings.MaxTrackedCopies"/>).
/// Keep one instance for the process lifetime (across stream reconnects) so that state survives.
/// </para>
/// <para>Not thread-safe: one reader calls <see cref="Classify"/>.</para>
/// </summary>
public sealed class EventClassifier
{
    private static readonly XNamespace Accept = "jabber:component:accept";
    private static readonly XNamespace Client = "jabber:client";
    private static readonly XNamespace Server = "jabber:server";
    private static readonly XNamespace Forward = "urn:xmpp:forward:0";
    private static readonly XNamespace Delay = "urn:xmpp:delay";
    private static readonly XNamespace Carbons = "urn:xmpp:carbons:2";
    private static readonly XNamespace Privilege1 = "urn:xmpp:privilege:1";
    private static readonly XNamespace Privilege2 = "urn:xmpp:privilege:2";
    private static readonly XName XmlLang = XNamespace.Xml + "lang";

    private enum Direction { Guess, Sent, Received }

    private readonly string _componentDomain;
    private readonly HashSet<string> _localDomains;
    private readonly PresenceTable _presences;
    private readonly CopyMatchTable _copies;
    private bool _presencePermissionWarned;

    /// <summary>Creates a classifier.</summary>
    /// <exception cref="ArgumentException">The component domain or a local domain is not a valid domain JID, no local domain is given, the window is negative, or a bound is below 1.</exception>
    public EventClassifier(ClassifierSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (!Jid.TryParse(settings.ComponentDomain?.Trim(), out var component) || !component.IsDomain)
            throw new ArgumentException($"ComponentDomain '{settings.ComponentDomain}' is not a domain.", nameof(settings));
        _componentDomain = component.Domain;

        if (settings.LocalDomains is null || settings.LocalDomains.Count == 0)
            throw new ArgumentException("At least one local domain is required.", nameof(settings));
        _localDomains = new HashSet<string>(StringComparer.Ordinal);
        foreach (var d in settings.LocalDomains)
        {
            if (!Jid.TryParse(d?.Trim(), out var local) || !local.IsDomain)
                throw new ArgumentException($"Local domain '{d}' is not a domain.", nameof(settings));
            // The component's own domain is never local (docs/events.md "Local domains").
            if (local.Domain != _componentDomain) _localDomains.Add(local.Domain);
        }
        if (_localDomains.Count == 0)
            throw new ArgumentException("The only local domain given is the component's own domain.", nameof(settings));

        if (settings.CopyMatchWindow < TimeSpan.Zero)
            throw new ArgumentException("CopyMatchWindow must not be negative.", nameof(settings));
        if (settings.MaxTrackedPresences < 1)
            throw new ArgumentException("MaxTrackedPresences must be at least 1.", nameof(settings));
        if (settings.MaxTrackedCopies < 1)
            throw new ArgumentException("MaxTrackedCopies must be at least 1.", nameof(settings));

        _presences = new PresenceTable(settings.MaxTrackedPresences);
        _copies = new CopyMatchTable(settings.CopyMatchWindow, settings.MaxTrackedCopies);
    }

    /// <summary>Full JIDs whose presence state is tracked now (at most <see cref="ClassifierSettings.MaxTrackedPresences"/>).</summary>
    public int TrackedPresences => _presences.Count;

    /// <summary>Pending local→local copies in the copy-match table now (at most <see cref="ClassifierSettings.MaxTrackedCopies"/>).</summary>
    public int TrackedCopies => _copies.Count;

    /// <summary>
    /// Classifies one top-level stanza received at <paramref name="now"/> (used for the copy-match window;
    /// never the system clock). Never throws: wrong input is a skip reason, and an unexpected failure is
    /// <see cref="SkipReason.ClassifierFault"/> with <see cref="ClassificationResult.Fault"/> set.
    /// </summary>
    public ClassificationResult Classify(XElement stanza, DateTimeOffset now)
    {
        try
        {
            return ClassifyTopLevel(stanza, now);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return ClassificationResult.Faulted(ex);
        }
    }

    private ClassificationResult ClassifyTopLevel(XElement? stanza, DateTimeOffset now)
    {
        if (stanza is null || !IsStanzaNamespace(stanza.Name.Namespace)) return Skip(SkipReason.NotStanza);
        _copies.Expire(now);
        return stanza.Name.LocalName switch
        {
            "iq" => Skip(SkipReason.Iq),
            "presence" => ClassifyPresence(stanza, topLevel: true),
            "message" => ClassifyWrapper(stanza, now),
            _ => Skip(SkipReason.NotStanza),
        };
    }

    // A top-level message: a forwarded copy, a privilege advertisement, or a message to the component itself.
    private ClassificationResult ClassifyWrapper(XElement message, DateTimeOffset now)
    {
        var forwarded = message.Element(Forward + "forwarded");
        var privilege = message.Element(Privilege1 + "privilege") ?? message.Element(Privilege2 + "privilege");
        if (forwarded is null && privilege is null) return Skip(SkipReason.ComponentParty);

        // Trust (docs/security.md): only a server host, a bare local domain, may hand us copies or privileges.
        var fromServerHost = Jid.TryParse(Attr(message, "from"), out var from) && IsServerHost(from);
        if (!fromServerHost) return Skip(forwarded is not null ? SkipReason.UntrustedCopy : SkipReason.ComponentParty);

        if (forwarded is null) return OnPrivilege(privilege!);
        if (Attr(message, "type") == "error") return Skip(SkipReason.ErrorType);

        var direction = Direction.Guess;
        if (Jid.TryParse(Attr(message, "to"), out var wrapperTo) && wrapperTo.Domain == _componentDomain && wrapperTo.Resource is null)
            direction = wrapperTo.Node switch { "sent" => Direction.Sent, "received" => Direction.Received, _ => Direction.Guess };

        // Unwrap one level only: the first stanza child of the first <forwarded>; anything deeper is content.
        XElement? inner = null;
        for (var child = FirstChild(forwarded); child is not null; child = NextSibling(child))
        {
            if (IsStanzaNamespace(child.Name.Namespace) && child.Name.LocalName is "message" or "presence" or "iq")
            {
                inner = child;
                break;
            }
        }
        return inner?.Name.LocalName switch
        {
            "message" => ClassifyCopiedMessage(inner, direction, now),
            "presence" => ClassifyPresence(inner, topLevel: false),
            "iq" => Skip(SkipReason.Iq),
            _ => Skip(SkipReason.NotStanza),
        };
    }

    private ClassificationResult OnPrivilege(XElement privilege)
    {
        var grantsPresence = false;
        var permName = privilege.Name.Namespace + "perm";
        for (var perm = FirstChild(privilege); perm is not null; perm = NextSibling(perm))
        {
            if (perm.Name != permName) continue;
            if (Attr(perm, "access") == "presence" && Attr(perm, "type") is "managed_entity" or "roster")
            {
                grantsPresence = true;
                break;
            }
        }
        var notice = false;
        if (!grantsPresence && !_presencePermissionWarned) notice = _presencePermissionWarned = true;
        else if (grantsPresence) _presencePermissionWarned = false;
        return ClassificationResult.Privilege(notice);
    }

    // docs/events.md, "Presence": signals, the state table and stale copies.
    private ClassificationResult ClassifyPresence(XElement presence, bool topLevel)
    {
        bool online;
        switch (Attr(presence, "type"))
        {
            case null: online = true; break;
            case "unavailable": online = false; break;
            default: return Skip(SkipReason.PresenceNotSignal); // subscribe*, unsubscribe*, probe, error, unknown
        }

        if (!Jid.TryParse(Attr(presence, "from"), out var from)) return Skip(SkipReason.InvalidJid);
        if (from.Domain == _componentDomain) return Skip(SkipReason.ComponentParty);
        if (!IsLocalUser(from)) return Skip(SkipReason.NotLocal);
        if (!from.IsFull) return Skip(SkipReason.PresenceNotSignal);

        string? copyRecipient = null;
        if (!topLevel)
        {
            // A copy counts when sent to the user's own bare JID, to no one (Prosody), or to a local user
            // (a broadcast). Directed at a room, a service or a remote JID: not a signal.
            copyRecipient = "";
            var toText = Attr(presence, "to");
            if (toText is not null)
            {
                if (!Jid.TryParse(toText, out var to)) return Skip(SkipReason.InvalidJid);
                if (to.Domain == _componentDomain) return Skip(SkipReason.ComponentParty);
                if (!IsLocalUser(to)) return Skip(SkipReason.PresenceNotSignal);
                copyRecipient = to.ToString();
            }
        }

        var delayed = presence.Element(Delay + "delay") is not null;
        var userId = from.ToString();
        var skip = _presences.Apply(userId, online, delayed, copyRecipient);
        return skip is { } reason ? Skip(reason) : ClassificationResult.Of(new PresenceEvent(userId, online, from.Bare));
    }

    // docs/events.md "Chat" and "Groupchat": a message copied from a user session.
    private ClassificationResult ClassifyCopiedMessage(XElement message, Direction direction, DateTimeOffset now)
    {
        var groupchat = false;
        switch (Attr(message, "type"))
        {
            case "chat": break;
            case "groupchat": groupchat = true; break;
            case "error": return Skip(SkipReason.ErrorType);
            case "headline": return Skip(SkipReason.Headline);
            default: return Skip(SkipReason.Normal); // normal, absent, or unknown (RFC 6121 §5.2.2)
        }

        if (message.Element(Carbons + "sent") is not null || message.Element(Carbons + "received") is not null)
            return Skip(SkipReason.Carbon);

        var body = ChooseBody(message);
        if (body is null)
        {
            if (groupchat && message.Element(message.Name.Namespace + "subject") is not null)
                return Skip(SkipReason.GroupchatSubjectOnly);
            return Skip(HasNestedBody(message) ? SkipReason.NestedBodyOnly : SkipReason.NoBody);
        }
        var text = body.Value;
        if (text.Length == 0) return Skip(SkipReason.EmptyBody);
        if (!IsWellFormedUtf16(text)) return Skip(SkipReason.InvalidText);

        if (!Jid.TryParse(Attr(message, "from"), out var from) || !Jid.TryParse(Attr(message, "to"), out var to))
            return Skip(SkipReason.InvalidJid);
        if (from.Domain == _componentDomain || to.Domain == _componentDomain) return Skip(SkipReason.ComponentParty);

        // Server delays: Resent (stream-management redelivery) and offline storage.
        var resent = false;
        var offline = false;
        var roomHistory = false;
        var delayName = Delay + "delay";
        for (var delay = FirstChild(message); delay is not null; delay = NextSibling(delay))
        {
            if (delay.Name != delayName) continue;
            if (!Jid.TryParse(Attr(delay, "from"), out var delayFrom)) continue;
            if (IsServerHost(delayFrom))
            {
                if (string.Equals(delay.Value.Trim(), "Resent", StringComparison.OrdinalIgnoreCase)) resent = true;
                else offline = true;
            }
            else if (delayFrom.Resource is null && delayFrom.Node is not null && delayFrom.Bare == from.Bare)
            {
                roomHistory = true;
            }
        }
        if (resent) return Skip(SkipReason.ResentCopy);

        return groupchat
            ? Groupchat(from, to, text, direction, roomHistory)
            : Chat(message, from, to, text, direction, offline, now);
    }

    private ClassificationResult Chat(XElement message, Jid from, Jid to, string text, Direction direction, bool offline, DateTimeOffset now)
    {
        var fromLocal = IsLocalUser(from);
        var toLocal = IsLocalUser(to);
        switch (direction)
        {
            case Direction.Sent:
                return fromLocal ? Sent(EventKind.ChatMsgSent, from, to, text) : Skip(SkipReason.NotLocal);
            case Direction.Received:
                return toLocal ? Received(EventKind.ChatMsgRecv, from, to, text) : Skip(SkipReason.NotLocal);
        }

        if (fromLocal && !toLocal) return Sent(EventKind.ChatMsgSent, from, to, text);
        if (!fromLocal && toLocal) return Received(EventKind.ChatMsgRecv, from, to, text);
        if (!fromLocal) return Skip(SkipReason.RemoteToRemote);

        // local → local: the sent and received copies are byte-identical.
        if (offline) return Received(EventKind.ChatMsgRecv, from, to, text);
        var fromId = from.ToString();
        var toId = to.ToString();
        return _copies.Observe(fromId, toId, Attr(message, "id"), text, now) switch
        {
            1 => ClassificationResult.Of(new MessageEvent(EventKind.ChatMsgSent, toId, text, fromId, from.Bare)),
            2 => ClassificationResult.Of(new MessageEvent(EventKind.ChatMsgRecv, toId, text, fromId, to.Bare)),
            _ => Skip(SkipReason.DuplicateCopy),
        };
    }

    private ClassificationResult Groupchat(Jid from, Jid to, string text, Direction direction, bool roomHistory)
    {
        if (IsLocalUser(from))
        {
            // sent: local full JID → bare room JID (on a non-local, non-component domain).
            if (!from.IsFull || to.Node is null || to.IsFull || _localDomains.Contains(to.Domain) || direction == Direction.Received)
                return Skip(SkipReason.GroupchatMisaddressed);
            return Sent(EventKind.GroupchatMsgSent, from, to, text);
        }

        // received: room/nick → local occupant's full JID.
        if (!IsLocalUser(to)) return Skip(SkipReason.NotLocal);
        if (from.Node is null || from.Resource is null) return Skip(SkipReason.RoomNotice);
        if (roomHistory) return Skip(SkipReason.MucHistory);
        if (!to.IsFull || direction == Direction.Sent) return Skip(SkipReason.GroupchatMisaddressed);
        return Received(EventKind.GroupchatMsgRecv, from, to, text);
    }

    private static ClassificationResult Sent(EventKind kind, Jid from, Jid to, string text) =>
        ClassificationResult.Of(new MessageEvent(kind, to.ToString(), text, from.ToString(), from.Bare));

    private static ClassificationResult Received(EventKind kind, Jid from, Jid to, string text) =>
        ClassificationResult.Of(new MessageEvent(kind, to.ToString(), text, from.ToString(), to.Bare));

    // docs/events.md "Which body": direct <body> children in the stanza's own namespace; the first whose xml:lang
    // matches the stanza's (or that has none), else the first.
    private static XElement? ChooseBody(XElement message)
    {
        var bodyName = message.Name.Namespace + "body";
        XElement? first = null;
        string? lang = null;
        var langKnown = false;
        for (var body = FirstChild(message); body is not null; body = NextSibling(body))
        {
            if (body.Name != bodyName) continue;
            first ??= body;
            var bodyLang = (string?)body.Attribute(XmlLang);
            if (bodyLang is null) return body;
            if (!langKnown)
            {
                lang = EffectiveLang(message);
                langKnown = true;
            }
            if (lang is not null && string.Equals(bodyLang, lang, StringComparison.OrdinalIgnoreCase)) return body;
        }
        return first;
    }

    // xml:lang is inherited: the stanza's own, else the nearest ancestor's.
    private static string? EffectiveLang(XElement element)
    {
        for (var e = element; e is not null; e = e.Parent)
            if (e.Attribute(XmlLang) is { } a) return a.Value;
        return null;
    }

    private static bool HasNestedBody(XElement message)
    {
        foreach (var d in message.Descendants())
            if (d.Name.LocalName == "body" && IsStanzaNamespace(d.Name.Namespace)) return true;
        return false;
    }

    private static bool IsWellFormedUtf16(string s)
    {
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= s.Length || !char.IsLowSurrogate(s[i + 1])) return false;
                i++;
            }
            else if (char.IsLowSurrogate(c)) return false;
        }
        return true;
    }

    private static bool IsStanzaNamespace(XNamespace ns) => ns == Accept || ns == Client || ns == Server;

    private bool IsServerHost(Jid jid) => jid.IsDomain && _localDomains.Contains(jid.Domain);

    private bool IsLocalUser(Jid jid) => jid.Node is not null && _localDomains.Contains(jid.Domain);

    private static string? Attr(XElement element, string name) => element.Attribute(name)?.Value;

    // Child elements without the iterator objects Elements() allocates on every call.
    private static XElement? FirstChild(XElement parent) => Next(parent.FirstNode);

    private static XElement? NextSibling(XElement element) => Next(element.NextNode);

    private static XElement? Next(XNode? node)
    {
        for (; node is not null; node = node.NextNode)
            if (node is XElement e) return e;
        return null;
    }

    private static ClassificationResult Skip(SkipReason reason) => ClassificationResult.Skipped(reason);
}
