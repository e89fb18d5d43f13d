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
    /// <summary>For the log: <c>processes</c>, <c>containers</c>.</summary>
    string Name { get; }

    /// <summary>The XMPP server of <paramref name="kind"/>. Throws <see cref="NotSupportedException"/> when this back end cannot run it.</summary>
    IXmppServerControl Xmpp(XmppServerKind kind);

    /// <summary>A RabbitMQ broker: <c>main</c> (the one <see cref="XmppTestServers.RabbitPort"/> names) or <c>second</c> (the one crash tests kill).</summary>
    IServerControl Rabbit(string instance);

    /// <summary>Once per run, before the first test that needs a server: makes sure the servers exist (a script back end only reports, a container back end starts its containers). Returns a line for the log.</summary>
    Task<string> StartAsync();

    /// <summary>Once per run, after the last test: removes what <see cref="StartAsync"/> created.</summary>
    Task StopAsync();
}

/// <summary>
/// The one entry point of integration tests to the real servers: which XMPP servers the suite runs on
/// (<see cref="XmppKinds"/>, used as a <c>TestFixtureSource</c>) and the back end that runs them.
/// <list type="bullet">
/// <item><c>XRC_XMPP_SERVERS</c>: the XMPP servers to run on, comma- or space-separated (<c>ejabberd,prosody</c>, the default);
/// <c>ejabberd-test/servers.sh</c> starts Prosody only when it is listed and writes the list into <c>servers.env</c>.</item>
/// <item><c>XRC_TEST_SERVERS</c>: <c>processes</c> (local processes started by <c>ejabberd-test/servers.sh</c>,
/// <see cref="ScriptServers"/>), <c>containers</c> (Testcontainers, <see cref="ContainerServers"/>), or <c>auto</c> (the
/// default: containers when a Docker engine answers, else processes). <c>XRC_SERVERS</c> is read when it is unset, and
/// <c>scripts</c> means <c>processes</c>. Containers asked for without an engine fail the whole run with the reason.</item>
/// </list>
/// A back end implements <see cref="ITestServerBackend"/>: <see cref="ITestServerBackend.StartAsync"/>
/// brings up RabbitMQ <c>main</c> and <c>second</c> and the XMPP servers it can run (with the users and rosters of
/// <c>ejabberd-test/README.md</c>), <see cref="ITestServerBackend.Xmpp"/> returns a control whose <see cref="IXmppServerControl.Facts"/>
/// name the ports it mapped, and <see cref="SelectAsync"/> selects it for its <c>XRC_TEST_SERVERS</c> value. Tests do not change.
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

    /// <summary>
    /// Picks the back end from <c>XRC_TEST_SERVERS</c> (see above) and returns the line for the log saying which and why.
    /// Starts nothing: the servers start on the first test that needs them (<see cref="EnsureStartedAsync"/>).
    /// </summary>
    public static async Task<string> SelectAsync()
    {
        var variable = Environment.GetEnvironmentVariable("XRC_TEST_SERVERS") is not { Length: > 0 } && Environment.GetEnvironmentVariable("XRC_SERVERS") is { Length: > 0 }
            ? "XRC_SERVERS" : "XRC_TEST_SERVERS";
        var mode = (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } m ? m : "auto").Trim().ToLowerInvariant();
        string why;
        switch (mode)
        {
            case "processes" or "scripts":
                Backend = new ScriptServers();
                why = $"{variable}={mode}";
                break;
            case "containers":
                if (await ContainerServers.WhyNoEngineAsync() is { } reason)
                    throw new InvalidOperationException($"{variable}=containers, but {reason}. Start an engine (containers/engine.sh start) or use {variable}=processes.");
                Backend = new ContainerServers();
                why = $"{variable}=containers";
                break;
            case "auto":
                var noEngine = await ContainerServers.WhyNoEngineAsync();
                Backend = noEngine is null ? new ContainerServers() : new ScriptServers();
                why = noEngine is null ? $"{variable}=auto, a Docker engine answers" : $"{variable}=auto, {noEngine}";
                break;
            default:
                throw new ArgumentException($"{variable}: unknown value '{mode}' (containers, processes, auto)");
        }
        return $"servers: {Backend.Name} ({why}); XMPP servers: {string.Join(", ", XmppKinds)}";
    }

    private static Task? _started;
    private static readonly object StartLock = new();

    /// <summary>
    /// Makes sure the back end's servers exist (once per run; a container back end starts its containers here), and
    /// writes the back end's line to the test output. A failure is thrown again to every caller.
    /// </summary>
    public static Task EnsureStartedAsync()
    {
        lock (StartLock) return _started ??= StartBackendAsync();
    }

    private static async Task StartBackendAsync() => TestContext.Progress.WriteLine(await Backend.StartAsync());

    /// <summary>Stops what <see cref="EnsureStartedAsync"/> started.</summary>
    public static Task StopAsync() => Backend.StopAsync();

    internal static IReadOnlyList<XmppServerKind> ParseKinds(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return AllKinds;
        var kinds = new List<XmppServerKind>();
        foreach (var word in value.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            // By name only (Enum.TryParse would also take "1").
            var kind = AllKinds.Cast<XmppServerKind?>().FirstOrDefault(k => string.Equals(k.ToString(), word, StringComparison.OrdinalIgnoreCase))
                ?? throw new ArgumentException($"XRC_XMPP_SERVERS: unknown XMPP server '{word}'; known: {string.Join(", ", AllKinds.Select(k => k.ToString().ToLowerInvariant()))}");
            if (!kinds.Contains(kind)) kinds.Add(kind);
        }
        return kinds;
    }
}
