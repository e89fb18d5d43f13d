using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using RabbitMQ.Client;
using XmppRabbitComponent.Configuration;

namespace XmppRabbitComponent.Publishing;

/// <summary>
/// Builds the client's <see cref="ConnectionFactory"/> and endpoint list from <see cref="RabbitOptions"/> (docs/publishing.md,
/// "Connection"): <c>Rabbit:Hosts</c> (several brokers of a cluster; the client tries them in random order
/// on every connect), TLS (<c>amqps</c>) with an optional private CA and client certificate, server name check on by
/// default. The client's own automatic recovery is off: the publisher reconnects and re-declares itself.
/// </summary>
internal static class RabbitConnectionFactory
{
    /// <summary>The factory (credentials, vhost, timeouts; recovery off).</summary>
    public static ConnectionFactory Create(RabbitOptions o) => new()
    {
        UserName = o.Username,
        Password = o.Password,
        VirtualHost = o.VirtualHost,
        AutomaticRecoveryEnabled = false,
        TopologyRecoveryEnabled = false,
        RequestedConnectionTimeout = o.ConnectTimeout,
        SocketReadTimeout = o.ConnectTimeout,
        SocketWriteTimeout = o.ConnectTimeout,
        ContinuationTimeout = o.ConnectTimeout,
        HandshakeContinuationTimeout = o.ConnectTimeout,
        RequestedHeartbeat = TimeSpan.FromSeconds(30),
        ClientProvidedName = o.AppId,
    };

    /// <summary>One endpoint per <c>Rabbit:Hosts</c> entry (<c>host</c>, <c>host:port</c>, <c>[v6]:port</c>), or <c>Rabbit:Host</c>.</summary>
    /// <exception cref="FormatException">An entry has a bad port.</exception>
    public static IReadOnlyList<AmqpTcpEndpoint> Endpoints(RabbitOptions o)
    {
        var hosts = o.Hosts.Count > 0 ? o.Hosts : [o.Host];
        return hosts.Select(h =>
        {
            var (host, port) = ParseHost(h.Trim(), o.Port);
            return new AmqpTcpEndpoint(host, port, Ssl(o, host));
        }).ToList();
    }

    /// <summary>Splits <c>host[:port]</c>; IPv6 literals need brackets when a port is given.</summary>
    public static (string Host, int Port) ParseHost(string entry, int defaultPort)
    {
        if (entry.StartsWith('['))
        {
            var close = entry.IndexOf(']');
            if (close < 0) throw new FormatException($"Rabbit:Hosts entry '{entry}': missing ']'");
            var host = entry[1..close];
            var rest = entry[(close + 1)..];
            return (host, rest.StartsWith(':') ? Port(entry, rest[1..]) : defaultPort);
        }
        var colon = entry.LastIndexOf(':');
        if (colon > 0 && entry.IndexOf(':') == colon) return (entry[..colon], Port(entry, entry[(colon + 1)..]));
        return (entry, defaultPort);
    }

    private static int Port(string entry, string text) =>
        int.TryParse(text, out var p) && p is >= 1 and <= 65535 ? p : throw new FormatException($"Rabbit:Hosts entry '{entry}': bad port '{text}'");

    private static SslOption Ssl(RabbitOptions o, string host)
    {
        var t = o.Tls;
        if (!t.Enabled) return new SslOption { Enabled = false };
        var ssl = new SslOption
        {
            Enabled = true,
            ServerName = string.IsNullOrWhiteSpace(t.ServerName) ? host : t.ServerName,
        };
        if (!string.IsNullOrEmpty(t.ClientCertificatePath))
            ssl.Certs = [LoadClientCertificate(t.ClientCertificatePath, t.ClientCertificatePassword)];
        if (!t.CheckServerName) ssl.AcceptablePolicyErrors |= SslPolicyErrors.RemoteCertificateNameMismatch;
        if (!string.IsNullOrEmpty(t.CaCertificatePath))
        {
            var ca = new X509Certificate2Collection();
            ca.ImportFromPemFile(t.CaCertificatePath);
            var checkName = t.CheckServerName;
            ssl.CertificateValidationCallback = (_, cert, _, errors) => ValidateWithCa(cert, errors, ca, checkName);
        }
        return ssl;
    }

    /// <summary>Chain validation against the configured CA only (custom root trust), plus the name check unless disabled.</summary>
    internal static bool ValidateWithCa(X509Certificate? cert, SslPolicyErrors errors, X509Certificate2Collection ca, bool checkName)
    {
        if (cert is null) return false;
        if (checkName && errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch)) return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (cert is X509Certificate2 given) return chain.Build(given);
        using var leaf = X509CertificateLoader.LoadCertificate(cert.GetRawCertData());
        return chain.Build(leaf);
    }

    private static X509Certificate2 LoadClientCertificate(string path, string? password) =>
        path.EndsWith(".pem", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".crt", StringComparison.OrdinalIgnoreCase)
            ? X509Certificate2.CreateFromPemFile(path)
            : X509CertificateLoader.LoadPkcs12FromFile(path, password);
}
