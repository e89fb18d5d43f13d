using XmppRabbitComponent.Tests.Integration;
using XmppRabbitComponent.Tests.Support;

namespace XmppRabbitComponent.Tests.Operations;

/// <summary>
/// What an operator installs: the published layout staged by <c>deploy/install.sh</c>, its systemd unit checked by
/// <c>systemd-analyze verify</c>, the published component run from that layout, and the Prometheus alert rules checked
/// and unit-tested by <c>promtool</c>.
/// </summary>
[TestFixture, Category("Integration"), NonParallelizable, System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DeploymentTests
{
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromMinutes(5);
    private static string Deploy(params string[] parts) => Path.Combine([ServerControl.RepositoryRoot, "deploy", .. parts]);

    private string _root = "";

    [OneTimeSetUp]
    public async Task StageTheLayout()
    {
        _root = Path.Combine(Path.GetTempPath(), $"xrc-install-{Guid.NewGuid():N}");
        // The solution is built already: publish that build (the configuration the tests run in) into the staged root.
        var (code, stdout, stderr) = await Tool.RunAsync("bash", [Deploy("install.sh")], ToolTimeout, new Dictionary<string, string?>
        {
            ["DESTDIR"] = _root,
            ["CONFIGURATION"] = Tool.Configuration,
            ["PUBLISH_FLAGS"] = "--no-build",
        });
        Assert.That(code, Is.EqualTo(0), $"deploy/install.sh failed:\n{stdout}\n{stderr}");
    }

    [OneTimeTearDown]
    public void RemoveTheLayout()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    [Test]
    public void The_install_script_stages_the_published_layout()
    {
        Assert.Multiple(() =>
        {
            Assert.That(File.Exists(Path.Combine(_root, "opt/xmpp-rabbit-component/XmppRabbitComponent.dll")));
            Assert.That(File.Exists(Path.Combine(_root, "opt/xmpp-rabbit-component/XmppRabbitComponent.runtimeconfig.json")));
            Assert.That(File.Exists(Path.Combine(_root, "opt/xmpp-rabbit-component/appsettings.json")));
            Assert.That(File.Exists(Path.Combine(_root, "etc/systemd/system/xmpp-rabbit-component.service")));
            Assert.That(File.Exists(Path.Combine(_root, "etc/xmpp-rabbit-component/environment")));
            Assert.That(File.Exists(Path.Combine(_root, "opt/xmpp-rabbit-component/appsettings.Production.json")), "the link to /etc/xmpp-rabbit-component/appsettings.json resolves");
            foreach (var secret in new[] { "xmpp-secret", "rabbit-password" })
            {
                var path = Path.Combine(_root, "etc/xmpp-rabbit-component", secret);
                Assert.That(File.Exists(path), path);
                Assert.That(File.GetUnixFileMode(path), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite), $"{secret} is readable by its owner only");
            }
        });
    }

    [Test]
    public async Task The_unit_passes_systemd_analyze_verify_without_a_warning()
    {
        var analyze = Tool.Require("systemd-analyze", "systemd");
        var unit = Path.Combine(_root, "etc/systemd/system/xmpp-rabbit-component.service");
        var (code, stdout, stderr) = await Tool.RunAsync(analyze, ["verify", "--man=no", unit], ToolTimeout);
        Assert.That(code, Is.EqualTo(0), stdout + stderr);
        // verify exits 0 on unknown keys and unparsable values and only warns: any output is a defect of the unit.
        Assert.That(stdout + stderr, Is.Empty);
        var text = await File.ReadAllTextAsync(unit);
        foreach (var line in new[] { "Type=notify", "User=xmpp-rabbit", "NoNewPrivileges=yes", "ProtectSystem=strict", "StateDirectory=xmpp-rabbit-component" })
            Assert.That(text, Does.Contain("\n" + line + "\n"));
    }

    [Test]
    public async Task A_unit_with_a_misspelt_option_is_caught_by_the_same_check()
    {
        var analyze = Tool.Require("systemd-analyze", "systemd");
        var unit = Path.Combine(_root, "xmpp-rabbit-component-typo.service");
        await File.WriteAllTextAsync(unit, (await File.ReadAllTextAsync(Deploy("systemd", "xmpp-rabbit-component.service"))).Replace("ProtectSystem=", "ProtectSytem="));
        var (_, stdout, stderr) = await Tool.RunAsync(analyze, ["verify", "--man=no", unit], ToolTimeout);
        Assert.That(stdout + stderr, Does.Contain("Unknown key 'ProtectSytem'"));
    }

    [Test]
    public async Task The_published_component_runs_from_the_layout_with_its_secret_files()
    {
        var servers = XmppTestServers.Current;
        await servers.RequireAsync();
        var etc = Path.Combine(_root, "etc/xmpp-rabbit-component");
        await File.WriteAllTextAsync(Path.Combine(etc, "xmpp-secret"), servers.ComponentSecret + "\n");
        await File.WriteAllTextAsync(Path.Combine(etc, "rabbit-password"), servers.RabbitPassword + "\n");
        // The environment the unit gives the service (credentials directory = the files themselves here).
        var (code, stdout, stderr) = await Tool.RunAsync("dotnet", [Path.Combine(_root, "opt/xmpp-rabbit-component/XmppRabbitComponent.dll"), "--check-config"], ToolTimeout,
            new Dictionary<string, string?>
            {
                ["DOTNET_ENVIRONMENT"] = "Production",
                ["Xmpp__SecretFile"] = Path.Combine(etc, "xmpp-secret"),
                ["Rabbit__PasswordFile"] = Path.Combine(etc, "rabbit-password"),
                ["Xmpp__Host"] = servers.XmppHost,
                ["Xmpp__Port"] = servers.ComponentPort.ToString(),
                ["Xmpp__ComponentDomain"] = servers.ComponentDomain,
                ["Rabbit__Host"] = servers.RabbitHost,
                ["Rabbit__Port"] = servers.RabbitPort.ToString(),
                ["Rabbit__Username"] = servers.RabbitUser,
            }, workingDirectory: Path.Combine(_root, "opt/xmpp-rabbit-component"));
        Assert.That(code, Is.EqualTo(0), stdout + stderr);
        Assert.That(stdout, Does.EndWith("check-config: OK\n"));
    }

    [Test]
    public async Task The_alert_rules_pass_promtool_check_rules()
    {
        var promtool = Tool.Require("promtool", "prometheus");
        var (code, stdout, stderr) = await Tool.RunAsync(promtool, ["check", "rules", Deploy("prometheus", "alerts.yml")], ToolTimeout);
        Assert.That(code, Is.EqualTo(0), stdout + stderr);
        Assert.That(stdout, Does.Contain("SUCCESS: 7 rules found"));
    }

    [Test]
    public async Task The_alert_rules_pass_their_promtool_unit_tests()
    {
        var promtool = Tool.Require("promtool", "prometheus");
        var (code, stdout, stderr) = await Tool.RunAsync(promtool, ["test", "rules", Deploy("prometheus", "alerts.test.yml")], ToolTimeout);
        Assert.That(code, Is.EqualTo(0), stdout + stderr);
        Assert.That(stdout, Does.Contain("SUCCESS"));
    }

    [Test]
    public async Task A_rule_that_fires_too_early_fails_the_promtool_unit_tests()
    {
        // The unit tests can fail: the same tests against rules whose for: is shorter report the early alert.
        var promtool = Tool.Require("promtool", "prometheus");
        var dir = Directory.CreateDirectory(Path.Combine(_root, "rules-mutant")).FullName;
        await File.WriteAllTextAsync(Path.Combine(dir, "alerts.yml"), (await File.ReadAllTextAsync(Deploy("prometheus", "alerts.yml"))).Replace("for: 2m", "for: 1m"));
        File.Copy(Deploy("prometheus", "alerts.test.yml"), Path.Combine(dir, "alerts.test.yml"));
        var (code, stdout, stderr) = await Tool.RunAsync(promtool, ["test", "rules", Path.Combine(dir, "alerts.test.yml")], ToolTimeout);
        Assert.That(code, Is.Not.EqualTo(0));
        Assert.That(stdout + stderr, Does.Contain("FAILED:").And.Contain("exp:[]"), "an alert the tests expect to be quiet fired");
    }
}
