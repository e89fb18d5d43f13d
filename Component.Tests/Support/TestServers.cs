using XmppRabbitComponent.Tests.Integration;

namespace XmppRabbitComponent.Tests.Support;

/// <summary>
/// One real server of the test run that a test may stop, start, restart or kill (fault tests), whatever runs it
/// (a local process through the repository's scripts, or a container). Every verb returns once the server has reached
/// the state: after <see cref="StartAsync"/> and <see cref="RestartAsync"/> its ports accept connections; after
/// <see cref="StopAsync"/> and <see cref="KillAsync"/> the process is gone. A verb that fails throws with the
/// server's own output.
/// </summary>
public interface IServerControl
{
    /// <summary>For messages: <c>ejabberd</c>, <c>Prosody</c>, <c>RabbitMQ second</c>.</summary>
    string Name { get; }

    /// <summary>Starts the server (nothing when it runs already); its data (users, rosters, durable queues) is kept from before.</summary>
    Task StartAsync();

    /// <summary>Stops the server cleanly (XMPP servers close their streams; brokers flush).</summary>
    Task StopAsync();

    /// <summary>Stops and starts again.</summary>
    Task RestartAsync();

    /// <summary>Ends the server without letting it say goodbye (SIGKILL or the nearest the back end has): sockets are reset, nothing is flushed.</summary>
    Task KillAsync();
}

/// <summary>An XMPP server of the test run: how to reach it (<see cref="Facts"/>) and how to control it.</summary>
public interface IXmppServerControl : IServerControl
{
    /// <summary>Which server it is.</summary>
    XmppServerKind Kind { get; }

    /// <summary>Where its c2s and component listeners are, the domains, the component secret, the users' password, and the broker beside it.</summary>
    XmppTestServers Facts { get; }
}

/// <summary>
/// How the run's servers are run: the second axis next to <see cref="XmppServerKind"/>. The back end is chosen once
/// per run (<see cref="TestServers.Backend"/>); tests never ask which one they got.
/// </summary>
public interface ITestServerBackend
{
    /// <summary>For the log: <c>scripts</c>, <c>containers</c>.</summary>
    string Name { get; }

    /// <summary>The XMPP server of <paramref name="kind"/>. Throws <see cref="NotSupportedException"/> when this back end cannot run it.</summary>
    IXmppServerControl Xmpp(XmppServerKind kind);

    /// <summary>A RabbitMQ broker: <c>main</c> (the one <see cref="XmppTestServers.RabbitPort"/> names) or <c>second</c> (the one crash tests kill).</summary>
    IServerControl Rabbit(string instance);

    /// <summary>Once per run, before any test: makes sure the servers exist (a script back end only reports). Returns a line for the log.</summary>
    Task<string> StartAsync();

    /// <summary>Once per run, after the last test: removes what <see cref="StartAsync"/> created.</summary>
    Task StopAsync();
}

/// <summary>
/// The one entry point of integration tests to the real servers: which XMPP servers the suite runs on
/// (<see cref="XmppKinds"/>, used as a <c>TestFixtureSource</c>) and the back end that runs them.
/// <list type="bullet">
/// <item><c>XRC_XMPP_SERVERS</c>: the XMPP servers to run on, comma- or space-separated (<c>ejabberd,prosody</c>, the default);
/// the same variable tells <c>ejabberd-test/servers.sh</c> which ones to start.</item>
/// <item><c>XRC_SERVERS</c>: <c>scripts</c> (local processes started by <c>ejabberd-test/servers.sh</c>), <c>containers</c>,
/// or <c>auto</c> (the default: the script servers when RabbitMQ and ejabberd answer on this environment's ports, else
/// containers when a Docker engine is there).</item>
/// </list>
/// </summary>
public static class TestServers
{
    private static readonly XmppServerKind[] AllKinds = Enum.GetValues<XmppServerKind>();

    /// <summary>The XMPP servers the integration suite runs on, from <c>XRC_XMPP_SERVERS</c> (default: all of them).</summary>
    public static IReadOnlyList<XmppServerKind> XmppKinds { get; } = ParseKinds(Environment.GetEnvironmentVariable("XRC_XMPP_SERVERS"));

    /// <summary>The run's back end; <see cref="ScriptServers"/> until <see cref="StartAsync"/> picked another.</summary>
    public static ITestServerBackend Backend { get; private set; } = new ScriptServers();

    /// <summary>The XMPP server of <paramref name="kind"/> on the run's back end.</summary>
    public static IXmppServerControl Xmpp(XmppServerKind kind) => Backend.Xmpp(kind);

    /// <summary>The broker <paramref name="instance"/> (<c>main</c>, <c>second</c>) on the run's back end.</summary>
    public static IServerControl Rabbit(string instance = "main") => Backend.Rabbit(instance);

    /// <summary>Picks the back end from <c>XRC_SERVERS</c> and starts it (see <see cref="ITestServerBackend.StartAsync"/>).</summary>
    public static async Task<string> StartAsync()
    {
        var mode = Environment.GetEnvironmentVariable("XRC_SERVERS") is { Length: > 0 } m ? m : "auto";
        // auto: the script servers win when they answer on the ports of this environment.
        if (mode == "auto" && (await XmppTestServers.Current.MissingAsync()).Count == 0) mode = "scripts";
        if (mode != "scripts")
        {
            var line = await ContainerServers.StartIfWantedAsync();
            if (ContainerServers.Active) Backend = new ContainerServersBackend();
            return line;
        }
        return await Backend.StartAsync();
    }

    /// <summary>Stops what <see cref="StartAsync"/> started.</summary>
    public static Task StopAsync() => Backend.StopAsync();

    internal static IReadOnlyList<XmppServerKind> ParseKinds(string? value)
    {
        // Prosody joins the default once prosody-test/ exists.
        if (string.IsNullOrWhiteSpace(value)) return [XmppServerKind.Ejabberd];
        var kinds = new List<XmppServerKind>();
        foreach (var word in value.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Enum.TryParse<XmppServerKind>(word, ignoreCase: true, out var kind) || !Enum.IsDefined(kind))
                throw new ArgumentException($"XRC_XMPP_SERVERS: unknown XMPP server '{word}'; known: {string.Join(", ", AllKinds.Select(k => k.ToString().ToLowerInvariant()))}");
            if (!kinds.Contains(kind)) kinds.Add(kind);
        }
        return kinds;
    }
}
