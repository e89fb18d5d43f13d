using XmppRabbitComponent.Tests.Support;

namespace XmppRabbitComponent.Tests;

/// <summary>Once per test run: pick the servers' back end (see <see cref="TestServers"/>; its servers start on first use) and remove what it started.</summary>
[SetUpFixture]
public sealed class TestRunSetup
{
    [OneTimeSetUp]
    public async Task StartServers() => TestContext.Progress.WriteLine(await TestServers.SelectAsync());

    [OneTimeTearDown]
    public Task StopServers() => TestServers.StopAsync();
}
