using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Docker.DotNet.Models;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Configurations;
using DotNet.Testcontainers.Containers;
using XmppRabbitComponent.Tests.Integration;

namespace XmppRabbitComponent.Tests.Support;

/// <summary>
/// The container back end: the run's servers are containers started with Testcontainers from the images that
/// <c>containers/build-images.sh servers</c> builds from Debian's packages (<c>xrc-test/rabbitmq:3.10</c> twice, as
/// <c>main</c> with its amqps listener and as <c>second</c> for the crash tests, <c>xrc-test/ejabberd:23.01</c> and
/// <c>xrc-test/prosody:0.12</c>, the XMPP servers only as far as <c>XRC_XMPP_SERVERS</c> lists them);
/// missing images are built by that script first. Each published port is a free host port chosen when the back end is
/// made, fixed for the whole run (a restarted container gets the same one), and exported to this process as the
/// <c>XRC_*</c> variables every test reads, so tests do not know which back end they got. The containers start on the
/// first test that needs a server (<see cref="TestServers.EnsureStartedAsync"/>), so a run of unit tests starts nothing.
/// Verbs: stop = <c>docker stop</c> (SIGTERM, clean), start, restart = stop and start, kill = <c>docker kill</c> (SIGKILL);
/// the file system survives all of them (users, rosters, durable queues). <see cref="StopAsync"/> removes every
/// container; each carries the label <see cref="RunLabel"/> so a script can remove what a crashed test process left.
/// </summary>
public sealed class ContainerServers : ITestServerBackend
{
    /// <summary>The label put on every container of a run (value: the run's id), for clean-ups outside the test process.</summary>
    public const string RunLabel = "xmpp-rabbit-component.test-run";

    private static readonly TimeSpan EngineTimeout = TimeSpan.FromSeconds(5);
    private readonly string _runId = $"{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";
    private readonly string _tlsDir = Directory.CreateTempSubdirectory("xrc-test-tls-").FullName;
    private readonly ServerContainer _rabbitMain, _rabbitSecond;
    private readonly XmppContainer _ejabberd, _prosody;
    private readonly SemaphoreSlim _startLock = new(1, 1);
    private Task? _started;

    /// <summary>Chooses the host ports, exports them as <c>XRC_*</c> variables and prepares (does not start) the containers.</summary>
    public ContainerServers()
    {
        // Docker's default API version of Testcontainers 4.16 (1.44) is newer than Debian's engine 20.10 speaks;
        // 1.41 is understood by every engine since 20.10. The reaper (Ryuk) image is not pulled: StopAsync and the
        // run label do its work.
        SetDefault("DOCKER_API_VERSION", "1.41");
        SetDefault("TESTCONTAINERS_RYUK_DISABLED", "true");

        var ports = FreePorts(7);
        int amqp = ports[0], amqps = ports[1], amqp2 = ports[2], c2s = ports[3], component = ports[4], pc2s = ports[5], pcomponent = ports[6];
        var env = new Dictionary<string, string>
        {
            ["XRC_RABBIT_HOST"] = "127.0.0.1", ["XRC_RABBIT_PORT"] = $"{amqp}", ["XRC_RABBIT2_PORT"] = $"{amqp2}",
            ["XRC_RABBIT_TLS_PORT"] = $"{amqps}", ["XRC_RABBIT_TLS_DIR"] = _tlsDir,
            ["XRC_XMPP_HOST"] = "127.0.0.1", ["XRC_C2S_PORT"] = $"{c2s}", ["XRC_COMPONENT_PORT"] = $"{component}",
            ["XRC_PROSODY_C2S_PORT"] = $"{pc2s}", ["XRC_PROSODY_COMPONENT_PORT"] = $"{pcomponent}",
        };
        foreach (var (k, v) in env) Environment.SetEnvironmentVariable(k, v);

        var facts = new XmppTestServers { RabbitHost = "127.0.0.1", RabbitPort = amqp, XmppHost = "127.0.0.1", C2sPort = c2s, ComponentPort = component };
        _rabbitMain = new ServerContainer(this, "RabbitMQ main", RabbitBuilder("main").WithPortBinding(amqp, 5672).WithPortBinding(amqps, 5671), 5672);
        _rabbitSecond = new ServerContainer(this, "RabbitMQ second", RabbitBuilder("second").WithPortBinding(amqp2, 5672), 5672);
        _ejabberd = new XmppContainer(this, XmppServerKind.Ejabberd, "ejabberd", facts,
            Base("ejabberd", EjabberdImage)
                .WithEnvironment("COMPONENT_DOMAIN", facts.ComponentDomain)
                .WithEnvironment("COMPONENT_SECRET", facts.ComponentSecret)
                .WithPortBinding(c2s, 5222).WithPortBinding(component, 5275), 5222, 5275);
        _prosody = new XmppContainer(this, XmppServerKind.Prosody, "Prosody", facts with { C2sPort = pc2s, ComponentPort = pcomponent },
            Base("prosody", ProsodyImage)
                .WithEnvironment("XRC_COMPONENT_DOMAIN", facts.ComponentDomain)
                .WithEnvironment("XRC_COMPONENT_SECRET", facts.ComponentSecret)
                .WithPortBinding(pc2s, 5222).WithPortBinding(pcomponent, 5275), 5222, 5275);
    }

    /// <summary>The RabbitMQ image (<c>XRC_RABBITMQ_IMAGE</c>, default <c>xrc-test/rabbitmq:3.10</c>).</summary>
    public static string RabbitImage => Env("XRC_RABBITMQ_IMAGE", "xrc-test/rabbitmq:3.10");

    /// <summary>The ejabberd image (<c>XRC_EJABBERD_IMAGE</c>, default <c>xrc-test/ejabberd:23.01</c>).</summary>
    public static string EjabberdImage => Env("XRC_EJABBERD_IMAGE", "xrc-test/ejabberd:23.01");

    /// <summary>The Prosody image (<c>XRC_PROSODY_IMAGE</c>, default <c>xrc-test/prosody:0.12</c>).</summary>
    public static string ProsodyImage => Env("XRC_PROSODY_IMAGE", "xrc-test/prosody:0.12");

    /// <inheritdoc />
    public string Name => "containers";

    /// <inheritdoc />
    public IXmppServerControl Xmpp(XmppServerKind kind) => kind switch
    {
        XmppServerKind.Ejabberd => _ejabberd,
        XmppServerKind.Prosody => _prosody,
        _ => throw new NotSupportedException($"{kind} has no container image"),
    };

    // The XMPP servers of this run (XRC_XMPP_SERVERS): only those are started.
    private IEnumerable<XmppContainer> RunXmpp => TestServers.XmppKinds.Select(k => (XmppContainer)Xmpp(k));

    /// <inheritdoc />
    public IServerControl Rabbit(string instance) => instance switch
    {
        "main" => _rabbitMain,
        "second" => _rabbitSecond,
        _ => throw new ArgumentException($"unknown broker '{instance}' (main, second)", nameof(instance)),
    };

    /// <summary>Runs <c>rabbitmqctl ARGS</c> inside the broker container <paramref name="instance"/> (<c>main</c>, <c>second</c>): the container's <c>rabbitmq.sh ctl</c>.</summary>
    public async Task<(int ExitCode, string Stdout, string Stderr)> RabbitCtlAsync(string instance, params string[] args)
    {
        await StartAsync();
        var broker = (ServerContainer)Rabbit(instance);
        var r = await broker.Container.ExecAsync(["rabbitmqctl", .. args]);
        return ((int)(r.ExitCode ?? -1), r.Stdout, r.Stderr);
    }

    /// <summary>
    /// Builds missing images, starts the containers (in parallel) and copies the broker's test CA and client certificate
    /// to <c>XRC_RABBIT_TLS_DIR</c>. Runs once; a failure is kept and thrown again to every later caller.
    /// </summary>
    public async Task<string> StartAsync()
    {
        await _startLock.WaitAsync();
        try { _started ??= StartAllAsync(); }
        finally { _startLock.Release(); }
        await _started;
        return $"servers: containers started: RabbitMQ main 127.0.0.1:{Port("XRC_RABBIT_PORT")} (amqps {Port("XRC_RABBIT_TLS_PORT")}), " +
               $"RabbitMQ second 127.0.0.1:{Port("XRC_RABBIT2_PORT")}" +
               string.Concat(RunXmpp.Select(x => $", {x.Name} c2s 127.0.0.1:{x.Facts.C2sPort}, component {x.Facts.ComponentPort}"));
    }

    private async Task StartAllAsync()
    {
        var sw = Stopwatch.StartNew();
        await EnsureImagesAsync();
        await Task.WhenAll(new[] { _rabbitMain.StartContainerAsync(), _rabbitSecond.StartContainerAsync() }.Concat(RunXmpp.Select(x => x.StartContainerAsync())));
        foreach (var file in new[] { "ca.pem", "client.pem" })
            await File.WriteAllBytesAsync(Path.Combine(_tlsDir, file), await _rabbitMain.Container.ReadFileAsync($"/etc/rabbitmq/tls/{file}"));
        TestContext.Progress.WriteLine($"servers: containers up in {sw.Elapsed.TotalSeconds:F1} s ({RabbitImage}, {string.Join(", ", RunXmpp.Select(x => x.Image))})");
    }

    /// <summary>Removes every container of the run (also after a failed start) and the copied certificates.</summary>
    public async Task StopAsync()
    {
        var errors = new List<string>();
        foreach (var s in new ServerContainer[] { _prosody, _ejabberd, _rabbitSecond, _rabbitMain })
        {
            try { await s.Container.DisposeAsync(); }
            catch (Exception e) { errors.Add($"{s.Name}: {e.Message}"); }
        }
        try { Directory.Delete(_tlsDir, recursive: true); } catch (IOException) { }
        if (errors.Count > 0)
            throw new InvalidOperationException($"removing the test containers failed (docker rm -f $(docker ps -aq --filter label={RunLabel}) removes them): {string.Join("; ", errors)}");
    }

    /// <summary>
    /// Whether a Docker engine answers: <c>null</c> when it does, else why not (for the log and for the error when
    /// containers were asked for). Sets the same defaults as the constructor first, since they decide whether the ping works.
    /// </summary>
    public static async Task<string?> WhyNoEngineAsync()
    {
        SetDefault("DOCKER_API_VERSION", "1.41");
        SetDefault("TESTCONTAINERS_RYUK_DISABLED", "true");
        try
        {
            var endpoint = TestcontainersSettings.OS.DockerEndpointAuthConfig;
            if (endpoint is null) return "no Docker engine found (neither DOCKER_HOST nor /var/run/docker.sock answers)";
            using var client = endpoint.GetDockerClientBuilder(Guid.NewGuid()).Build();
            using var cts = new CancellationTokenSource(EngineTimeout);
            await client.System.PingAsync(cts.Token);
            return null;
        }
        catch (Exception e)
        {
            return $"the Docker engine does not answer ({e.GetType().Name}: {e.Message})";
        }
    }

    private ContainerBuilder RabbitBuilder(string instance) => Base($"rabbitmq-{instance}", RabbitImage);

    private ContainerBuilder Base(string role, string image) => new ContainerBuilder(image)
        .WithName($"xrc-test-{role}-{_runId}")
        .WithLabel(RunLabel, _runId)
        .WithImagePullPolicy(_ => false); // local images only; EnsureImagesAsync builds them

    private async Task EnsureImagesAsync()
    {
        var endpoint = TestcontainersSettings.OS.DockerEndpointAuthConfig
                       ?? throw new InvalidOperationException("no Docker engine found");
        using var client = endpoint.GetDockerClientBuilder(Guid.NewGuid()).Build();
        var missing = new List<string>();
        foreach (var image in new[] { RabbitImage }.Concat(RunXmpp.Select(x => x.Image)))
        {
            try { await client.Images.InspectImageAsync(image); }
            catch (Docker.DotNet.DockerImageNotFoundException) { missing.Add(image); }
        }
        if (missing.Count == 0) return;
        TestContext.Progress.WriteLine($"servers: building missing images {string.Join(", ", missing)} with containers/build-images.sh servers");
        await ScriptServers.RunScriptAsync("containers/build-images.sh", TimeSpan.FromMinutes(10), "servers");
    }

    private async Task KillAsync(IContainer container)
    {
        var endpoint = TestcontainersSettings.OS.DockerEndpointAuthConfig!;
        using var client = endpoint.GetDockerClientBuilder(Guid.NewGuid()).Build();
        await client.Containers.KillContainerAsync(container.Id, new ContainerKillParameters { Signal = "KILL" });
        var sw = Stopwatch.StartNew();
        while ((await client.Containers.InspectContainerAsync(container.Id)).State?.Running == true)
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(30)) throw new TimeoutException($"container {container.Name} still running 30 s after SIGKILL");
            await Task.Delay(100);
        }
    }

    private static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        try
        {
            foreach (var l in listeners) l.Start();
            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally { foreach (var l in listeners) l.Stop(); }
    }

    private static string Env(string name, string fallback) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : fallback;

    private static string Port(string name) => Environment.GetEnvironmentVariable(name) ?? "?";

    private static void SetDefault(string name, string value)
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(name))) Environment.SetEnvironmentVariable(name, value);
    }

    /// <summary>One server container; every verb first makes sure the run's containers were started once.</summary>
    private class ServerContainer(ContainerServers owner, string name, ContainerBuilder builder, params int[] readyPorts) : IServerControl
    {
        public IContainer Container { get; } = Ready(builder, readyPorts).Build();

        public string Name => name;

        public async Task StartAsync()
        {
            await owner.StartAsync();
            if (Container.State != TestcontainersStates.Running) await Container.StartAsync();
        }

        public async Task StopAsync()
        {
            await owner.StartAsync();
            await Container.StopAsync();
        }

        public async Task RestartAsync()
        {
            await StopAsync();
            await Container.StartAsync();
        }

        public async Task KillAsync()
        {
            await owner.StartAsync();
            await owner.KillAsync(Container);
            // Testcontainers does not see the kill; a stop of the dead container brings its state up to date, so
            // that StartAsync starts it again (and waits for its ports).
            await Container.StopAsync();
        }

        /// <summary>The first start, by the owner.</summary>
        public Task StartContainerAsync() => Container.StartAsync();

        // Ready when the server's own ports listen inside the container (docker's port proxy accepts on the host
        // side before that); checked again after every start.
        private static ContainerBuilder Ready(ContainerBuilder b, int[] ports)
        {
            var wait = Wait.ForUnixContainer();
            foreach (var p in ports) wait = wait.UntilInternalTcpPortIsAvailable(p);
            return b.WithWaitStrategy(wait);
        }
    }

    private sealed class XmppContainer(ContainerServers owner, XmppServerKind kind, string name, XmppTestServers facts, ContainerBuilder builder, params int[] readyPorts)
        : ServerContainer(owner, name, builder, readyPorts), IXmppServerControl
    {
        public XmppServerKind Kind => kind;
        public string Image => kind == XmppServerKind.Ejabberd ? EjabberdImage : ProsodyImage;
        public XmppTestServers Facts { get; } = facts with { Kind = kind };
    }
}
