using System.Security.Cryptography;
using System.Text;

namespace XmppRabbitComponent.Xmpp;

/// <summary>The XEP-0114 §3 handshake digest.</summary>
public static class HandshakeDigest
{
    /// <summary>
    /// Lowercase hex SHA-1 of the stream id concatenated with the shared secret, both UTF-8 (XEP-0114 §3).
    /// The result proves knowledge of the secret: never log it.
    /// </summary>
    public static string Compute(string streamId, string secret)
    {
        ArgumentNullException.ThrowIfNull(streamId);
        ArgumentNullException.ThrowIfNull(secret);
        // SHA-1 is what the protocol mandates; it is not our choice of hash.
#pragma warning disable CA5350
        var hash = SHA1.HashData(Encoding.UTF8.GetBytes(streamId + secret));
#pragma warning restore CA5350
        return Convert.ToHexStringLower(hash);
    }
}
