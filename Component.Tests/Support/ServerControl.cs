using XmppRabbitComponent.Tests.Integration;

namespace XmppRabbitComponent.Tests.Support;

/// <summary>
/// Short forms of <see cref="TestServers"/> for tests that control one fixed server: the verbs are
/// <c>start</c>, <c>stop</c>, <c>restart</c>, <c>kill</c>.
/// </summary>
public static class ServerControl
{
    /// <summary>The repository root: the folder holding <c>XmppRabbitComponent.sln</c>.</summary>
    public static string RepositoryRoot => ScriptServers.RepositoryRoot;

    /// <summary>Applies <paramref name="verb"/> to ejabberd.</summary>
    public static Task EjabberdAsync(string verb) => ApplyAsync(TestServers.Xmpp(XmppServerKind.Ejabberd), verb);

    /// <summary>Applies <paramref name="verb"/> to the broker <paramref name="instance"/> (<c>main</c>, <c>second</c>).</summary>
    public static Task RabbitAsync(string verb, string instance = "main") => ApplyAsync(TestServers.Rabbit(instance), verb);

    /// <summary>Applies <paramref name="verb"/> to <paramref name="server"/>.</summary>
    public static Task ApplyAsync(IServerControl server, string verb) => verb switch
    {
        "start" => server.StartAsync(),
        "stop" => server.StopAsync(),
        "restart" => server.RestartAsync(),
        "kill" => server.KillAsync(),
        _ => throw new ArgumentException($"unknown verb '{verb}' (start, stop, restart, kill)", nameof(verb)),
    };
}
