using XmppRabbitComponent.Tests.Integration;

namespace XmppRabbitComponent.Tests.Support;

/// <summary>The choice of XMPP servers the suite runs on (<c>XRC_XMPP_SERVERS</c>) and their connection facts.</summary>
public class TestServersTests
{
    [TestCase(null, new[] { XmppServerKind.Ejabberd, XmppServerKind.Prosody })]
    [TestCase("", new[] { XmppServerKind.Ejabberd, XmppServerKind.Prosody })]
    [TestCase("prosody", new[] { XmppServerKind.Prosody })]
    [TestCase("Prosody, ejabberd", new[] { XmppServerKind.Prosody, XmppServerKind.Ejabberd })]
    [TestCase("ejabberd ejabberd", new[] { XmppServerKind.Ejabberd })]
    public void The_server_list_is_read_in_order_without_repeats(string? value, XmppServerKind[] expected) =>
        Assert.That(TestServers.ParseKinds(value), Is.EqualTo(expected));

    [TestCase("openfire")]
    [TestCase("1")]
    public void An_unknown_server_name_is_an_error_naming_it_and_the_known_ones(string value)
    {
        var e = Assert.Throws<ArgumentException>(() => TestServers.ParseKinds(value));
        Assert.That(e!.Message, Does.Contain($"'{value}'").And.Contain("ejabberd, prosody"));
    }

    [Test]
    public void Both_servers_serve_the_same_domains_and_users_on_their_own_ports()
    {
        var ejabberd = XmppTestServers.For(XmppServerKind.Ejabberd);
        var prosody = XmppTestServers.For(XmppServerKind.Prosody);
        Assert.Multiple(() =>
        {
            Assert.That(prosody with { Kind = ejabberd.Kind, C2sPort = ejabberd.C2sPort, ComponentPort = ejabberd.ComponentPort }, Is.EqualTo(ejabberd));
            Assert.That(prosody.C2sPort, Is.Not.EqualTo(ejabberd.C2sPort));
            Assert.That(prosody.ComponentPort, Is.Not.EqualTo(ejabberd.ComponentPort));
            Assert.That(prosody.XmppServerName, Is.EqualTo("Prosody"));
        });
    }
}
