using System.Net.Sockets;

#pragma warning disable CS1591 // plain settings record of the test harness

namespace XmppRabbitComponent.Tests.Integration;

/// <summary>
/// Where the real servers of the integration tests are: environment variables written by
/// <c>ejabberd-test/servers.sh start</c> (<c>.run/servers.env</c>), defaulting to the same values.
/// When a server does not answer, <c>RequireAsync</c> (tests) fails the test with what is missing and how
/// to start it: an integration test never skips. Shared with the demo program (no NUnit here).
/// </summary>
public sealed record XmppTestServers
{
    public string RabbitHost { get; init; } = Env("XRC_RABBIT_HOST", "127.0.0.1");
    public int RabbitPort { get; init; } = int.Parse(Env("XRC_RABBIT_PORT", "5673"));
    public string RabbitUser { get; init; } = Env("XRC_RABBIT_USER", "guest");
    public string RabbitPassword { get; init; } = Env("XRC_RABBIT_PASS", "guest");
    public string XmppHost { get; init; } = Env("XRC_XMPP_HOST", "127.0.0.1");
    public int C2sPort { get; init; } = int.Parse(Env("XRC_C2S_PORT", "5322"));
    public int ComponentPort { get; init; } = int.Parse(Env("XRC_COMPONENT_PORT", "5375"));
    public string ComponentDomain { get; init; } = Env("XRC_COMPONENT_DOMAIN", "events.localhost");
    public string ComponentSecret { get; init; } = Env("XRC_COMPONENT_SECRET", "secret");
    public string XmppDomain { get; init; } = Env("XRC_XMPP_DOMAIN", "localhost");
    public string MucDomain { get; init; } = Env("XRC_MUC_DOMAIN", "muc.localhost");
    public string UserPassword { get; init; } = Env("XRC_USER_PASS", "password");

    /// <summary>The servers as configured by the environment.</summary>
    public static XmppTestServers Current { get; } = new();

    private static string Env(string name, string fallback) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : fallback;

    /// <summary>The servers that do not accept connections: RabbitMQ and, when <paramref name="xmpp"/>, ejabberd's c2s and component ports.</summary>
    public async Task<List<string>> MissingAsync(bool xmpp = true)
    {
        var missing = new List<string>();
        if (!await Reachable(RabbitHost, RabbitPort)) missing.Add($"RabbitMQ (AMQP) at {RabbitHost}:{RabbitPort}");
        if (xmpp)
        {
            if (!await Reachable(XmppHost, C2sPort)) missing.Add($"ejabberd c2s at {XmppHost}:{C2sPort}");
            if (!await Reachable(XmppHost, ComponentPort)) missing.Add($"ejabberd component listener at {XmppHost}:{ComponentPort}");
        }
        return missing;
    }

    private static async Task<bool> Reachable(string host, int port)
    {
        try
        {
            using var tcp = new TcpClient();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            await tcp.ConnectAsync(host, port, cts.Token);
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }
}
