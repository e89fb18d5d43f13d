using System.Net.Sockets;
using System.Text;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Containers;

namespace XmppRabbitComponent.Tests.Support;

/// <summary>
/// The second way to get the real servers: where a Docker engine is available and the private servers of
/// <c>ejabberd-test/servers.sh</c> are not running, the test run starts the same two servers (RabbitMQ
/// <c>main</c> and <c>second</c>, ejabberd with <c>ejabberd-test/ejabberd.yml</c>) with Testcontainers, on the
/// same fixed host ports, so every test and <see cref="ServerControl"/> work unchanged. <c>XRC_SERVERS=scripts</c>
/// turns this off; <c>XRC_SERVERS=containers</c> forces it. Without Docker nothing happens here, and a test
/// that needs a missing server fails with instructions (never skips).
/// </summary>
public static class ContainerServers
{
    private const string RabbitImage = "rabbitmq:3.13-alpine";
    private const string EjabberdImage = "ejabberd/ecs:23.01";
    private static readonly string[] Users = ["alice", "bob", "carol", "dave", "bench1", "bench2", "bench3", "bench4"];

    /// <summary>True when this run's servers are containers (then <see cref="ServerControl"/> stops and starts them).</summary>
    public static bool Active { get; private set; }

    /// <summary>RabbitMQ <c>main</c>, <c>second</c> and ejabberd, when <see cref="Active"/>.</summary>
    public static IContainer? RabbitMain { get; private set; }
    /// <inheritdoc cref="RabbitMain"/>
    public static IContainer? RabbitSecond { get; private set; }
    /// <inheritdoc cref="RabbitMain"/>
    public static IContainer? Ejabberd { get; private set; }

    /// <summary>Starts the containers when wanted and possible; returns what it did, for the log.</summary>
    public static async Task<string> StartIfWantedAsync()
    {
        var mode = Environment.GetEnvironmentVariable("XRC_SERVERS") ?? "auto";
        if (mode == "scripts") return "servers: scripts (XRC_SERVERS=scripts)";
        if (mode != "containers")
        {
            if (await PortOpen(5673) || await PortOpen(5322)) return "servers: already running (ejabberd-test/servers.sh)";
            if (!DockerEngineLikely()) return "servers: none running and no Docker engine; integration tests will fail with instructions";
        }

        RabbitMain = await StartRabbitAsync(5673);
        RabbitSecond = await StartRabbitAsync(5674);
        Ejabberd = await StartEjabberdAsync();
        Active = true;
        return "servers: Testcontainers (RabbitMQ 5673, 5674; ejabberd c2s 5322, component 5375)";
    }

    /// <summary>Stops and removes the containers this run started.</summary>
    public static async Task StopAsync()
    {
        foreach (var c in new[] { Ejabberd, RabbitSecond, RabbitMain })
            if (c is not null) await c.DisposeAsync();
    }

    private static async Task<IContainer> StartRabbitAsync(int hostPort)
    {
        var c = new ContainerBuilder(RabbitImage)
            .WithPortBinding(hostPort, 5672)
            .WithWaitStrategy(Wait.ForUnixContainer().UntilMessageIsLogged("Server startup complete"))
            .Build();
        await c.StartAsync();
        return c;
    }

    private static async Task<IContainer> StartEjabberdAsync()
    {
        // The same configuration as the scripts, listening on all interfaces inside the container.
        var template = await File.ReadAllTextAsync(Path.Combine(ServerControl.RepositoryRoot, "ejabberd-test", "ejabberd.yml"));
        var yml = template
            .Replace("@C2S_PORT@", "5222").Replace("@COMPONENT_PORT@", "5275")
            .Replace("@COMPONENT_DOMAIN@", "events.localhost").Replace("@COMPONENT_SECRET@", "secret")
            .Replace("ip: \"127.0.0.1\"", "ip: \"0.0.0.0\"");
        var c = new ContainerBuilder(EjabberdImage)
            .WithPortBinding(5322, 5222)
            .WithPortBinding(5375, 5275)
            .WithResourceMapping(Encoding.UTF8.GetBytes(yml), "/home/ejabberd/conf/ejabberd.yml")
            .WithWaitStrategy(Wait.ForUnixContainer().UntilInternalTcpPortIsAvailable(5275))
            .Build();
        await c.StartAsync();
        foreach (var user in Users)
            await c.ExecAsync(["bin/ejabberdctl", "register", user, "localhost", "password"]);
        string[] friends = ["alice", "bob", "carol"];
        foreach (var a in friends)
            foreach (var b in friends.Where(b => b != a))
                await c.ExecAsync(["bin/ejabberdctl", "add_rosteritem", a, "localhost", b, "localhost", b, "Friends", "both"]);
        return c;
    }

    private static bool DockerEngineLikely() =>
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DOCKER_HOST")) || File.Exists("/var/run/docker.sock");

    private static async Task<bool> PortOpen(int port)
    {
        try
        {
            using var tcp = new TcpClient();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await tcp.ConnectAsync("127.0.0.1", port, cts.Token);
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException) { return false; }
    }
}
