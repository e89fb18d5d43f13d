namespace XmppRabbitComponent.Classification;

/// <summary>
/// Why a stanza produced no event (docs/events.md). Every skip rule of docs/events.md has its own reason, so the
/// <c>xmpp_component.stanzas.skipped</c> metric tells them apart; <see cref="SkipReasons.Label"/> gives the
/// stable snake_case metric label.
/// </summary>
public enum SkipReason
{
    /// <summary><c>not_stanza</c>: not a <c>message</c>, <c>presence</c> or <c>iq</c> in a stanza namespace, or a <c>&lt;forwarded&gt;</c> with no stanza inside.</summary>
    NotStanza,
    /// <summary><c>iq</c>: an IQ, top-level (answered by the caller) or forwarded ("Everything else": forwarded IQs produce no notification).</summary>
    Iq,
    /// <summary><c>privilege_advertisement</c>: the XEP-0356 <c>&lt;privilege&gt;</c> message from a server host ("Everything else").</summary>
    PrivilegeAdvertisement,
    /// <summary><c>component_party</c>: to or from the component (or <c>node@component</c>), top-level or inside a copy; a message addressed to the component itself ("Local domains").</summary>
    ComponentParty,
    /// <summary><c>untrusted_copy</c>: a <c>&lt;forwarded&gt;</c> inside a message that is not from a server host (a bare local domain): a user, a room, a remote domain or the component ("Trust").</summary>
    UntrustedCopy,
    /// <summary><c>invalid_jid</c>: a missing or invalid <c>from</c>/<c>to</c> where one is needed (<see cref="Xmpp.Jid.TryParse"/> false).</summary>
    InvalidJid,
    /// <summary><c>not_local</c>: the party the event would be about is not a local user (presence from a remote user or a room; a sent copy whose sender, or a received copy whose recipient, is not local).</summary>
    NotLocal,
    /// <summary><c>remote_to_remote</c>: a chat copy between two non-local parties ("Direction": ignored).</summary>
    RemoteToRemote,
    /// <summary><c>error_type</c>: a message of type <c>error</c> ("Chat").</summary>
    ErrorType,
    /// <summary><c>normal</c>: a message of type <c>normal</c>, no type, or an unknown type (RFC 6121 §5.2.2 treats those as normal) ("Chat").</summary>
    Normal,
    /// <summary><c>headline</c>: a message of type <c>headline</c> ("Chat").</summary>
    Headline,
    /// <summary><c>carbon</c>: a carbon copy (a direct <c>&lt;sent&gt;</c>/<c>&lt;received&gt;</c> of <c>urn:xmpp:carbons:2</c>) ("Chat").</summary>
    Carbon,
    /// <summary><c>no_body</c>: no <c>&lt;body&gt;</c> in the stanza's own namespace (chat states, markers, receipts, XHTML-only) ("Chat").</summary>
    NoBody,
    /// <summary><c>nested_body_only</c>: no direct body, but a body nested deeper (archive results, MucSub, anything wrapped) ("Chat").</summary>
    NestedBodyOnly,
    /// <summary><c>empty_body</c>: the chosen <c>&lt;body/&gt;</c> is empty ("Chat": no text).</summary>
    EmptyBody,
    /// <summary><c>invalid_text</c>: the body holds an unpaired UTF-16 surrogate, which cannot be written as UTF-8 JSON.</summary>
    InvalidText,
    /// <summary><c>groupchat_subject_only</c>: a groupchat subject change without a body ("Groupchat").</summary>
    GroupchatSubjectOnly,
    /// <summary><c>room_notice</c>: a groupchat message from the bare room JID (no nick) ("Groupchat").</summary>
    RoomNotice,
    /// <summary><c>muc_history</c>: room history replayed on join (a <c>&lt;delay&gt;</c> whose <c>from</c> is the room's bare JID) ("Groupchat").</summary>
    MucHistory,
    /// <summary><c>groupchat_misaddressed</c>: a groupchat that is neither local full JID → bare room JID nor room/nick → local full JID, or contradicts an explicit direction ("Groupchat").</summary>
    GroupchatMisaddressed,
    /// <summary><c>resent_copy</c>: a copy whose server <c>&lt;delay&gt;</c> says <c>Resent</c> (stream-management redelivery) ("Chat").</summary>
    ResentCopy,
    /// <summary><c>duplicate_copy</c>: a third or later identical local→local copy within the window ("Direction").</summary>
    DuplicateCopy,
    /// <summary><c>presence_not_signal</c>: a presence that is not a signal: type other than available/unavailable, from a bare JID, or directed at a room, service or non-local JID ("Presence").</summary>
    PresenceNotSignal,
    /// <summary><c>presence_unchanged</c>: a presence signal that does not change the known state ("Presence" table).</summary>
    PresenceUnchanged,
    /// <summary><c>presence_delayed</c>: a presence carrying <c>&lt;delay xmlns='urn:xmpp:delay'&gt;</c>: state updated silently ("Presence").</summary>
    PresenceDelayed,
    /// <summary><c>presence_stale_copy</c>: a presence copy older than the last top-level presence of that JID: it contradicts it before its recipient has seen it ("Session replaced").</summary>
    PresenceStaleCopy,
    /// <summary><c>classifier_fault</c>: the classifier failed unexpectedly on this stanza (a bug; see <see cref="ClassificationResult.Fault"/>).</summary>
    ClassifierFault,
}

/// <summary>Stable metric labels of <see cref="SkipReason"/>.</summary>
public static class SkipReasons
{
    /// <summary>The snake_case label of <paramref name="reason"/> (e.g. <c>no_body</c>, <c>duplicate_copy</c>); <c>unknown</c> for an undefined value.</summary>
    public static string Label(this SkipReason reason) => reason switch
    {
        SkipReason.NotStanza => "not_stanza",
        SkipReason.Iq => "iq",
        SkipReason.PrivilegeAdvertisement => "privilege_advertisement",
        SkipReason.ComponentParty => "component_party",
        SkipReason.UntrustedCopy => "untrusted_copy",
        SkipReason.InvalidJid => "invalid_jid",
        SkipReason.NotLocal => "not_local",
        SkipReason.RemoteToRemote => "remote_to_remote",
        SkipReason.ErrorType => "error_type",
        SkipReason.Normal => "normal",
        SkipReason.Headline => "headline",
        SkipReason.Carbon => "carbon",
        SkipReason.NoBody => "no_body",
        SkipReason.NestedBodyOnly => "nested_body_only",
        SkipReason.EmptyBody => "empty_body",
        SkipReason.InvalidText => "invalid_text",
        SkipReason.GroupchatSubjectOnly => "groupchat_subject_only",
        SkipReason.RoomNotice => "room_notice",
        SkipReason.MucHistory => "muc_history",
        SkipReason.GroupchatMisaddressed => "groupchat_misaddressed",
        SkipReason.ResentCopy => "resent_copy",
        SkipReason.DuplicateCopy => "duplicate_copy",
        SkipReason.PresenceNotSignal => "presence_not_signal",
        SkipReason.PresenceUnchanged => "presence_unchanged",
        SkipReason.PresenceDelayed => "presence_delayed",
        SkipReason.PresenceStaleCopy => "presence_stale_copy",
        SkipReason.ClassifierFault => "classifier_fault",
        _ => "unknown",
    };
}
