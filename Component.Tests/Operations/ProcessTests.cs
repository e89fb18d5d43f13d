using System.Net;
using System.Net.Sockets;
using System.Text;
using XmppRabbitComponent.Tests.Integration;
using XmppRabbitComponent.Tests.Support;

namespace XmppRabbitComponent.Tests.Operations;

/// <summary>
/// The component as a real process: <c>--check-config</c> against the real servers and against wrong values, and the
/// systemd notify protocol (<c>READY=1</c>, <c>STOPPING=1</c>) over a real datagram socket given as <c>NOTIFY_SOCKET</c>.
/// </summary>
[TestFixture, Category("Integration"), NonParallelizable]
public sealed class ProcessTests
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(60);
    private readonly XmppTestServers _servers = XmppTestServers.Current;

    [SetUp]
    public Task RequireServers() => _servers.RequireAsync();

    private List<string> Args(params string[] overrides)
    {
        var settings = new Dictionary<string, string>
        {
            ["Xmpp:Host"] = _servers.XmppHost,
            ["Xmpp:Port"] = _servers.ComponentPort.ToString(),
            ["Xmpp:ComponentDomain"] = _servers.ComponentDomain,
            ["Xmpp:Secret"] = _servers.ComponentSecret,
            ["Rabbit:Host"] = _servers.RabbitHost,
            ["Rabbit:Port"] = _servers.RabbitPort.ToString(),
            ["Rabbit:Username"] = _servers.RabbitUser,
            ["Rabbit:Password"] = _servers.RabbitPassword,
            ["Rabbit:ConnectTimeout"] = "00:00:03",
            ["Xmpp:ConnectTimeout"] = "00:00:05",
        };
        for (var i = 0; i < overrides.Length; i += 2)
        {
            if (overrides[i + 1] == "") settings.Remove(overrides[i]);
            else settings[overrides[i]] = overrides[i + 1];
        }
        return settings.SelectMany(kv => new[] { $"--{kv.Key}", kv.Value }).ToList();
    }

    private static async Task<(int Code, string Stdout, string Stderr)> CheckAsync(IEnumerable<string> args, IDictionary<string, string?>? env = null) =>
        await ComponentProcess.RunAsync(args.Prepend("--check-config"), RunTimeout, env);

    private static string OneLine(string stderr)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), $"one line on standard error, got:\n{stderr}");
        return lines[0];
    }

    [Test]
    public async Task Check_config_passes_against_the_real_servers_and_masks_secrets()
    {
        var secretFile = Path.Combine(Path.GetTempPath(), $"xmpp-secret-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(secretFile, _servers.ComponentSecret + "\n");
        var (code, stdout, stderr) = await CheckAsync(Args("Xmpp:Secret", "", "Rabbit:Password", ""),
            new Dictionary<string, string?> { ["Xmpp__SecretFile"] = secretFile, ["Rabbit__Password"] = _servers.RabbitPassword });

        Assert.That(code, Is.EqualTo(0), $"stdout:\n{stdout}\nstderr:\n{stderr}");
        Assert.That(stderr, Is.Empty);
        Assert.That(stdout.TrimEnd().Split('\n')[^1], Is.EqualTo("check-config: OK"));
        Assert.That(stdout, Does.Contain($"Xmpp:Secret = ********  [file {secretFile} (from Xmpp:SecretFile, environment)]"));
        Assert.That(stdout, Does.Contain("Rabbit:Password = ********  [environment]"));
        Assert.That(stdout, Does.Contain($"Rabbit:Port = {_servers.RabbitPort}  [command line]"));
        Assert.That(stdout, Does.Contain("Rabbit:Workers = 10  [default]"));
        Assert.That(stdout, Does.Contain($"broker: connected to {_servers.RabbitHost}:{_servers.RabbitPort}"));
        Assert.That(stdout, Does.Contain("xmpp: handshake accepted by"));
        Assert.That(stdout, Does.Not.Contain($"Xmpp:Secret = {_servers.ComponentSecret}").And.Not.Contain($"Rabbit:Password = {_servers.RabbitPassword}"));
    }

    [Test]
    public async Task Check_config_names_the_MongooseIM_file_and_TOML_key_of_imported_values()
    {
        var toml = Path.Combine(Path.GetTempPath(), $"check-{Guid.NewGuid():N}.toml");
        await File.WriteAllTextAsync(toml, $"""
            [outgoing_pools.rabbit.event_pusher]
              workers = 4
              connection.port = {_servers.RabbitPort}
              connection.timeout = 5
            """);
        var (code, stdout, stderr) = await CheckAsync(Args("Rabbit:Port", "", "MongooseIM:ConfigFile", toml));
        Assert.That(code, Is.EqualTo(0), $"stdout:\n{stdout}\nstderr:\n{stderr}");
        Assert.That(stdout, Does.Contain($"Rabbit:Workers = 4  [MongooseIM file {toml} (outgoing_pools.rabbit.event_pusher.workers)]"));
        Assert.That(stdout, Does.Contain($"Rabbit:Port = {_servers.RabbitPort}  [MongooseIM file {toml} (outgoing_pools.rabbit.event_pusher.connection.port)]"));
        Assert.That(stdout, Does.Contain("outgoing_pools.rabbit.event_pusher.connection.timeout: not used by the component (ignored)"));
    }

    [Test]
    public async Task Check_config_fails_with_one_line_on_a_wrong_secret()
    {
        var (code, stdout, stderr) = await CheckAsync(Args("Xmpp:Secret", "not-the-secret"));
        Assert.That(code, Is.EqualTo(4), stdout);
        Assert.That(OneLine(stderr), Does.StartWith("check-config: FAILED: xmpp ").And.Contain("refused the handshake (not-authorized)"));
        Assert.That(stderr + stdout, Does.Not.Contain("not-the-secret"));
    }

    [Test]
    public async Task Check_config_fails_with_one_line_when_the_XMPP_server_is_not_there()
    {
        var (code, _, stderr) = await CheckAsync(Args("Xmpp:Port", ClosedPort().ToString()));
        Assert.That(code, Is.EqualTo(4));
        Assert.That(OneLine(stderr), Does.StartWith("check-config: FAILED: xmpp ").And.Contain("refused"));
    }

    [Test]
    public async Task Check_config_fails_with_one_line_on_a_wrong_broker_password()
    {
        var (code, stdout, stderr) = await CheckAsync(Args("Rabbit:Password", "wrong-password"));
        Assert.That(code, Is.EqualTo(3), stdout);
        Assert.That(OneLine(stderr), Does.StartWith("check-config: FAILED: broker ").And.Contain("ACCESS_REFUSED"));
        Assert.That(stderr + stdout, Does.Not.Contain("wrong-password"));
    }

    [Test]
    public async Task Check_config_fails_with_one_line_when_no_broker_listens()
    {
        var port = ClosedPort();
        var (code, _, stderr) = await CheckAsync(Args("Rabbit:Port", port.ToString()));
        Assert.That(code, Is.EqualTo(3));
        Assert.That(OneLine(stderr), Does.StartWith($"check-config: FAILED: broker {_servers.RabbitHost}:{port}"));
    }

    [Test]
    public async Task Check_config_fails_with_one_line_on_an_invalid_value()
    {
        var (code, stdout, stderr) = await CheckAsync(Args("Rabbit:Workers", "0"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(OneLine(stderr), Is.EqualTo("check-config: FAILED: configuration invalid: Rabbit:Workers must be 1-1000, got 0"));
        Assert.That(stdout, Does.Not.Contain("broker:"), "no connection is tried with an invalid configuration");
    }

    [Test]
    public async Task Check_config_fails_with_one_line_on_a_TOML_syntax_error()
    {
        var toml = Path.Combine(Path.GetTempPath(), $"broken-{Guid.NewGuid():N}.toml");
        await File.WriteAllTextAsync(toml, "[general]\nhosts = [\"localhost\"\n[modules]\n");
        var (code, _, stderr) = await CheckAsync(Args("MongooseIM:ConfigFile", toml));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(OneLine(stderr), Does.StartWith($"check-config: FAILED: configuration invalid: {toml}:3:").And.Contain("TOML syntax error"));
    }

    /// <summary>A loopback port nothing listens on (bound, then released).</summary>
    private static int ClosedPort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    [Test]
    public async Task Under_systemd_the_component_notifies_ready_once_started_and_stopping_on_SIGTERM()
    {
        var socketPath = Path.Combine("/tmp", $"xrc-notify-{Guid.NewGuid():N}"[..24] + ".sock");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(socketPath));
        try
        {
            var port = OpsPorts.ComponentHttp;
            // As under systemd: NOTIFY_SOCKET set, and the parent process is called systemd (how the library detects it).
            await using var component = ComponentProcess.Start(Args("Urls", $"http://127.0.0.1:{port}"),
                new Dictionary<string, string?> { ["NOTIFY_SOCKET"] = socketPath }, systemdParent: true);

            var ready = await ReceiveAsync(socket, TimeSpan.FromSeconds(45), component);
            Assert.That(ready.Split('\n'), Has.Member("READY=1"));
            using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) })
            {
                // READY=1 comes after start-up: the HTTP endpoint is already serving.
                var live = await http.GetAsync($"http://127.0.0.1:{port}/health/live");
                Assert.That((int)live.StatusCode, Is.EqualTo(200));
            }

            await component.TerminateAsync();
            var stopping = await ReceiveAsync(socket, TimeSpan.FromSeconds(20), component);
            Assert.That(stopping.Split('\n'), Has.Member("STOPPING=1"));
            Assert.That(await component.WaitForExitAsync(TimeSpan.FromSeconds(30)), Is.EqualTo(0), component.Stdout + component.Stderr);
        }
        finally
        {
            File.Delete(socketPath);
        }
    }

    private static async Task<string> ReceiveAsync(Socket socket, TimeSpan timeout, ComponentProcess component)
    {
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            return Encoding.UTF8.GetString(buffer, 0, n);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"no datagram on NOTIFY_SOCKET within {timeout}.\nstdout:\n{component.Stdout}\nstderr:\n{component.Stderr}");
            throw;
        }
    }
}
