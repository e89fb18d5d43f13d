using XmppRabbitComponent.Tests.Support;

namespace XmppRabbitComponent.Tests;

/// <summary>Once per test run: pick and start the servers' back end (see <see cref="TestServers"/>).</summary>
[SetUpFixture]
public sealed class TestRunSetup
{
    [OneTimeSetUp]
    public async Task StartServers() => TestContext.Progress.WriteLine(await TestServers.StartAsync());

    [OneTimeTearDown]
    public Task StopServers() => TestServers.StopAsync();
}
