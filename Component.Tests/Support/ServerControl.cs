using System.Diagnostics;

namespace XmppRabbitComponent.Tests.Support;

/// <summary>
/// Stops, kills and starts the private test servers through the repository's own scripts
/// (<c>ejabberd-test/ejabberd.sh</c>, <c>ejabberd-test/rabbitmq.sh</c>), for fault tests against real servers.
/// </summary>
public static class ServerControl
{
    /// <summary>The repository root: the folder holding <c>XmppRabbitComponent.sln</c>, found upwards from the test assembly.</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "XmppRabbitComponent.sln"))) return dir.FullName;
        throw new InvalidOperationException($"XmppRabbitComponent.sln not found above {AppContext.BaseDirectory}");
    }

    /// <summary>Runs <c>ejabberd-test/ejabberd.sh <paramref name="verb"/></c> (stop, start, restart), or does the same to the container.</summary>
    public static Task EjabberdAsync(string verb) =>
        ContainerServers.Active ? ContainerAsync(ContainerServers.Ejabberd!, verb) : RunAsync("ejabberd.sh", verb);

    /// <summary>Runs <c>ejabberd-test/rabbitmq.sh <paramref name="verb"/> <paramref name="instance"/></c> (kill, stop, start), or does the same to the container.</summary>
    public static Task RabbitAsync(string verb, string instance = "main") =>
        ContainerServers.Active
            ? ContainerAsync(instance == "second" ? ContainerServers.RabbitSecond! : ContainerServers.RabbitMain!, verb)
            : RunAsync("rabbitmq.sh", verb, instance);

    // Containers keep their file system across stop/start, so durable queues survive as with the scripts.
    // Testcontainers has no SIGKILL; stop is the closest (docker stop: SIGTERM, then SIGKILL).
    private static async Task ContainerAsync(DotNet.Testcontainers.Containers.IContainer container, string verb)
    {
        if (verb is "stop" or "kill" or "restart") await container.StopAsync();
        if (verb is "start" or "restart") await container.StartAsync();
    }

    private static async Task RunAsync(string script, params string[] args)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepositoryRoot };
        psi.ArgumentList.Add(Path.Combine(RepositoryRoot, "ejabberd-test", script));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await p.WaitForExitAsync(cts.Token);
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{script} {string.Join(' ', args)} exited {p.ExitCode}: {await stdout}{await stderr}");
    }
}
