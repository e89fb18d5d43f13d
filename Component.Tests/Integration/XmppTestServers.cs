using System.Net.Sockets;

#pragma warning disable CS1591 // plain settings record of the test harness

namespace XmppRabbitComponent.Tests.Integration;

/// <summary>Which XMPP server a test runs against. Both serve the domain <c>localhost</c> with the same users and the component <c>events.localhost</c>.</summary>
public enum XmppServerKind
{
    /// <summary>ejabberd (Debian 23.01): copies from <c>mod_service_log</c>, presence from <c>mod_privilege</c>; <c>ejabberd-test/</c>.</summary>
    Ejabberd,

    /// <summary>Prosody (Debian 0.12): copies from <c>mod_firewall</c>, presence from <c>mod_privilege</c>; <c>prosody-test/</c>.</summary>
    Prosody,
}

/// <summary>
/// Connection facts of the real servers of the integration tests: one XMPP server (<see cref="Kind"/>) and the
/// RabbitMQ broker. The defaults come from the environment variables written by <c>ejabberd-test/servers.sh start</c>
/// (<c>.run/servers.env</c>), falling back to the same values: <c>XRC_C2S_PORT</c>/<c>XRC_COMPONENT_PORT</c> for ejabberd,
/// <c>XRC_PROSODY_C2S_PORT</c>/<c>XRC_PROSODY_COMPONENT_PORT</c> for Prosody (default 5332/5385 plus <c>XRC_PORT_OFFSET</c>). A back end that runs the servers
/// elsewhere (containers) makes its own instance with <c>with</c>/<c>init</c>.
/// When a server does not answer, <c>RequireAsync</c> (tests) fails the test with what is missing and how
/// to start it: an integration test never skips. Shared with the demo program (no NUnit here).
/// </summary>
public sealed record XmppTestServers
{
    public XmppServerKind Kind { get; init; } = XmppServerKind.Ejabberd;
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

    /// <summary>The ejabberd servers as configured by the environment.</summary>
    public static XmppTestServers Current { get; } = new();

    /// <summary>The servers of <paramref name="kind"/> run by the repository's scripts, as configured by the environment.</summary>
    public static XmppTestServers For(XmppServerKind kind) => kind switch
    {
        XmppServerKind.Ejabberd => Current,
        XmppServerKind.Prosody => Current with
        {
            Kind = kind,
            C2sPort = int.Parse(Env("XRC_PROSODY_C2S_PORT", (5332 + PortOffset).ToString())),
            ComponentPort = int.Parse(Env("XRC_PROSODY_COMPONENT_PORT", (5385 + PortOffset).ToString())),
        },
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>The server's name for messages: <c>ejabberd</c>, <c>Prosody</c>.</summary>
    public string XmppServerName => Kind == XmppServerKind.Ejabberd ? "ejabberd" : "Prosody";

    // prosody-test/prosody.sh moves its default ports by XRC_PORT_OFFSET (the variables above win).
    private static int PortOffset => int.Parse(Env("XRC_PORT_OFFSET", "0"));

    /// <summary>
    /// The component settings that point it at these servers (XMPP host, port, domain, secret; broker host, port,
    /// credentials) with the tests' short XMPP reconnect delays (0.2 s to 2 s); callers add logging and HTTP settings.
    /// </summary>
    public Dictionary<string, string> ComponentSettings() => new()
    {
        ["Xmpp:Host"] = XmppHost,
        ["Xmpp:Port"] = ComponentPort.ToString(),
        ["Xmpp:ComponentDomain"] = ComponentDomain,
        ["Xmpp:Secret"] = ComponentSecret,
        ["Xmpp:ReconnectMinDelay"] = "00:00:00.200",
        ["Xmpp:ReconnectMaxDelay"] = "00:00:02",
        ["Rabbit:Host"] = RabbitHost,
        ["Rabbit:Port"] = RabbitPort.ToString(),
        ["Rabbit:Username"] = RabbitUser,
        ["Rabbit:Password"] = RabbitPassword,
    };

    private static string Env(string name, string fallback) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : fallback;

    /// <summary>The servers that do not accept connections: RabbitMQ and, when <paramref name="xmpp"/>, the XMPP server's c2s and component ports.</summary>
    public async Task<List<string>> MissingAsync(bool xmpp = true)
    {
        var missing = new List<string>();
        if (!await Reachable(RabbitHost, RabbitPort)) missing.Add($"RabbitMQ (AMQP) at {RabbitHost}:{RabbitPort}");
        if (xmpp)
        {
            if (!await Reachable(XmppHost, C2sPort)) missing.Add($"{XmppServerName} c2s at {XmppHost}:{C2sPort}");
            if (!await Reachable(XmppHost, ComponentPort)) missing.Add($"{XmppServerName} component listener at {XmppHost}:{ComponentPort}");
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
