using System.Diagnostics;
using XmppRabbitComponent.Tests.Integration;

namespace XmppRabbitComponent.Tests.Support;

/// <summary>
/// The process back end: the servers are local processes on loopback, started before the run by
/// <c>ejabberd-test/servers.sh start</c> (which <c>ejabberd-test/run-tests.sh</c> calls) and controlled through the
/// repository's scripts: <c>ejabberd-test/ejabberd.sh</c>, <c>prosody-test/prosody.sh</c> and <c>ejabberd-test/rabbitmq.sh</c>,
/// each with the verbs <c>start</c>, <c>stop</c>, <c>restart</c>, <c>kill</c>. Ports come from the environment
/// (<see cref="XmppTestServers.For"/>), so the scripts and the tests agree.
/// </summary>
public sealed class ScriptServers : ITestServerBackend
{
    /// <inheritdoc />
    public string Name => "processes";

    /// <inheritdoc />
    public IXmppServerControl Xmpp(XmppServerKind kind) => kind switch
    {
        XmppServerKind.Ejabberd => new XmppScript(kind, "ejabberd", "ejabberd-test/ejabberd.sh"),
        XmppServerKind.Prosody => new XmppScript(kind, "Prosody", "prosody-test/prosody.sh"),
        _ => throw new NotSupportedException($"no script for {kind}"),
    };

    /// <inheritdoc />
    public IServerControl Rabbit(string instance) => new Script($"RabbitMQ {instance}", "ejabberd-test/rabbitmq.sh", instance);

    /// <inheritdoc />
    public Task<string> StartAsync() => Task.FromResult("servers: processes (started by ejabberd-test/servers.sh)");

    /// <inheritdoc />
    public Task StopAsync() => Task.CompletedTask; // they stay up for the next run; ejabberd-test/servers.sh stop ends them

    /// <summary>The repository root: the folder holding <c>XmppRabbitComponent.sln</c>, found upwards from the test assembly.</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "XmppRabbitComponent.sln"))) return dir.FullName;
        throw new InvalidOperationException($"XmppRabbitComponent.sln not found above {AppContext.BaseDirectory}");
    }

    /// <summary>Runs <c>bash SCRIPT VERB [ARG]</c> from the repository root; a non-zero exit throws with the script's output.</summary>
    private class Script(string name, string script, string? argument = null) : IServerControl
    {
        public string Name => name;
        public Task StartAsync() => RunAsync("start");
        public Task StopAsync() => RunAsync("stop");
        public async Task RestartAsync() { await RunAsync("stop"); await RunAsync("start"); }
        public Task KillAsync() => RunAsync("kill");

        private Task RunAsync(string verb) =>
            RunScriptAsync(script, TimeSpan.FromMinutes(2), argument is null ? [verb] : [verb, argument]);
    }

    /// <summary>Runs <c>bash SCRIPT ARGS</c> (a path below the repository root) from the repository root; a non-zero exit, or none within <paramref name="timeout"/>, throws with the script's output.</summary>
    internal static async Task RunScriptAsync(string script, TimeSpan timeout, params string[] args)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepositoryRoot };
        psi.ArgumentList.Add(Path.Combine(RepositoryRoot, script));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        await p.WaitForExitAsync(cts.Token);
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{script} {string.Join(' ', args)} exited {p.ExitCode}: {await stdout}{await stderr}");
    }

    private sealed class XmppScript(XmppServerKind kind, string name, string script) : Script(name, script), IXmppServerControl
    {
        public XmppServerKind Kind => kind;
        public XmppTestServers Facts { get; } = XmppTestServers.For(kind);
    }
}
