using XmppRabbitComponent.Xmpp;

namespace XmppRabbitComponent.Tests;

public class JidTests
{
    [TestCase("Alice@LocalHost/Res", "alice@localhost", "Res")]
    [TestCase("alice@localhost/Res", "alice@localhost", "Res")]
    [TestCase("localhost", "localhost", null)]
    [TestCase("room@muc.localhost/Nick/with/slash", "room@muc.localhost", "Nick/with/slash")]
    public void Parses_and_lowercases_node_and_domain_but_keeps_resource(string text, string bare, string? resource)
    {
        Assert.That(Jid.TryParse(text, out var jid), Is.True);
        Assert.That(jid!.Bare, Is.EqualTo(bare));
        Assert.That(jid.Resource, Is.EqualTo(resource));
    }

    [TestCase("Alice@LocalHost/Res", "alice@localhost/Res")]
    [TestCase("alice@localhost/Res", "alice@localhost/Res")]
    [TestCase("alice@localhost.", "alice@localhost")]
    [TestCase("LocalHost/r", "localhost/r")]
    [TestCase("localhost", "localhost")]
    [TestCase("\U00010400x@d\u00C9.example/R", "\U00010428x@d\u00E9.example/R")] // a capital outside the BMP, one inside
    public void Full_form_is_lowercased_node_and_domain_with_the_resource_as_sent(string text, string full)
    {
        Assert.That(Jid.TryParse(text, out var jid), Is.True);
        Assert.That(jid!.ToString(), Is.EqualTo(full));
        Assert.That(jid.Bare, Is.EqualTo(full.Split('/')[0]));
        Assert.That(Jid.TryParse(full, out var again), Is.True);
        Assert.That(again, Is.EqualTo(jid));
        Assert.That(again!.GetHashCode(), Is.EqualTo(jid.GetHashCode()));
        Assert.That(jid.ToBare(), Is.EqualTo(Jid.ParseOrNull(jid.Bare)));
    }

    [TestCase("")]
    [TestCase("@localhost")]
    [TestCase("alice@")]
    [TestCase("alice@localhost/")]
    [TestCase("al ice@localhost")]
    [TestCase("a<b@localhost")]
    public void Rejects_invalid(string text) => Assert.That(Jid.TryParse(text, out _), Is.False);

    [Test]
    public void Rejects_parts_over_1023_bytes()
    {
        Assert.That(Jid.TryParse(new string('a', 1023) + "@localhost", out _), Is.True);
        Assert.That(Jid.TryParse(new string('a', 1024) + "@localhost", out _), Is.False);
        Assert.That(Jid.TryParse("a@localhost/" + new string('é', 512), out _), Is.False);
    }
}
