using System.Xml.Linq;
using XmppRabbitComponent.Classification;
using XmppRabbitComponent.Events;
using static XmppRabbitComponent.Tests.Classification.Kit;

namespace XmppRabbitComponent.Tests.Classification;

/// <summary>
/// A resource logs in again with the same full JID and the server ends the old session (docs/events.md, "Session
/// replaced"). The stanzas are shaped as ejabberd sends them: the new session's available comes on the privileged feed
/// (in order, from the session manager) and as copies; the old session ends without a privileged unavailable, only with
/// copies of its unavailable broadcast to each contact, which can reach the component before or after the new available.
/// Either way the state must end online, and a later real end of the new session must still be seen.
/// </summary>
public class SessionReplacedTests
{
    private const string Alice = "alice@localhost/same";

    private static IEnumerable<XElement> Login(params string[] contacts) =>
        new[] { TopPresence(Alice), PresenceCopy(Alice, "alice@localhost"), PresenceCopy(Alice, Alice) }
            .Concat(contacts.Select(c => PresenceCopy(Alice, c)));

    /// <summary>The termination broadcast of the old session: one copy per contact, no privileged unavailable.</summary>
    private static IEnumerable<XElement> OldSessionEnds(params string[] contacts) => contacts.Select(c => PresenceCopy(Alice, c, "unavailable"));

    private static List<bool> Presences(EventClassifier c, IEnumerable<XElement> stanzas) =>
        stanzas.Select(s => c.Classify(s, T0).Events).SelectMany(e => e).OfType<PresenceEvent>().Where(p => p.UserId == Alice).Select(p => p.Present).ToList();

    private static readonly string[] Contacts = ["bob@localhost/rp", "carol@localhost/laptop"];

    [Test]
    public void Old_sessions_unavailable_copies_before_the_new_available_end_online()
    {
        var c = NewClassifier();
        var stanzas = Login(Contacts)
            .Concat(OldSessionEnds(Contacts))  // as ejabberd 23.01 sends them here: before the new session's presence
            .Concat(Login(Contacts));
        Assert.That(Presences(c, stanzas), Is.EqualTo(new[] { true, false, true }), "the old session went offline, the new one online");
    }

    [Test]
    public void Old_sessions_unavailable_copies_after_the_new_available_are_stale_and_end_online()
    {
        var c = NewClassifier();
        var stanzas = Login(Contacts)
            .Append(TopPresence(Alice))                      // the new session's available, privileged feed
            .Append(PresenceCopy(Alice, "alice@localhost"))
            .Append(PresenceCopy(Alice, Alice))
            .Concat(OldSessionEnds(Contacts))                // the old session's copies, lagging behind
            .Concat(Contacts.Select(r => PresenceCopy(Alice, r)));  // the new session's broadcast to the contacts
        Assert.That(Presences(c, stanzas), Is.EqualTo(new[] { true }), "online throughout: no false offline");

        // The state is online (not stuck): the new session's own end, reported only by copies, is still seen.
        Assert.That(Presences(c, OldSessionEnds(Contacts)), Is.EqualTo(new[] { false }));
    }

    [Test]
    public void A_lagging_available_copy_after_a_privileged_unavailable_is_stale_and_the_user_stays_offline()
    {
        var c = NewClassifier();
        var stanzas = new[] { TopPresence(Alice), PresenceCopy(Alice, "alice@localhost") }
            .Append(TopPresence(Alice, "unavailable"))
            .Append(PresenceCopy(Alice, "bob@localhost/rp"))                  // the login broadcast to bob, lagging
            .Append(PresenceCopy(Alice, "bob@localhost/rp", "unavailable"));  // then the logout broadcast to bob
        Assert.That(Presences(c, stanzas), Is.EqualTo(new[] { true, false }));
    }

    [Test]
    public void A_session_closed_without_unavailable_is_still_seen_through_its_copies()
    {
        var c = NewClassifier();
        var stanzas = Login(Contacts).Concat(OldSessionEnds(Contacts));
        Assert.That(Presences(c, stanzas), Is.EqualTo(new[] { true, false }));
    }

    [Test]
    public void Without_the_privileged_feed_copies_alone_decide_as_before()
    {
        var c = NewClassifier();
        var stanzas = new[] { PresenceCopy(Alice, "alice@localhost"), PresenceCopy(Alice, "bob@localhost/rp", "unavailable"), PresenceCopy(Alice, "alice@localhost") };
        Assert.That(Presences(c, stanzas), Is.EqualTo(new[] { true, false, true }));
    }
}
