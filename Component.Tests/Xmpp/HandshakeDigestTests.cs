using XmppRabbitComponent.Xmpp;

namespace XmppRabbitComponent.Tests.Xmpp;

public class HandshakeDigestTests
{
    [Test]
    public void Digest_matches_the_XEP_0114_example()
    {
        // XEP-0114 §3, Examples 2 and 3: stream id 3BF96D32, <handshake>aaee83c2...</handshake>. The XEP does not
        // print the secret; sha1("3BF96D32" + "test") reproduces the example digest (checked with Python hashlib).
        Assert.That(HandshakeDigest.Compute("3BF96D32", "test"), Is.EqualTo("aaee83c26aeeafcbabeabfcbcd50df997e0a2a1e"));
    }

    [Test]
    public void Digest_is_lowercase_hex_of_SHA1_over_UTF8()
    {
        // Independently: hashlib.sha1("3BF96D32sesame".encode()).hexdigest()
        Assert.That(HandshakeDigest.Compute("3BF96D32", "sesame"), Is.EqualTo("7a98dc4c9e92493d7fd66a25364c862637789c45"));
        // Non-ASCII secrets are hashed as UTF-8: hashlib.sha1("1sécret".encode()).hexdigest()
        Assert.That(HandshakeDigest.Compute("1", "sécret"), Is.EqualTo(Convert.ToHexStringLower(System.Security.Cryptography.SHA1.HashData("1sécret"u8))));
    }
}
