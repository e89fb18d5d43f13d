using XmppRabbitComponent.Tests.Support;

namespace XmppRabbitComponent.Tests;

/// <summary>Once per test run: start the servers with Testcontainers when that is the way to get them (see <see cref="ContainerServers"/>).</summary>
[SetUpFixture]
public sealed class TestRunSetup
{
    [OneTimeSetUp]
    public async Task StartServers() => TestContext.Progress.WriteLine(await ContainerServers.StartIfWantedAsync());

    [OneTimeTearDown]
    public Task StopServers() => ContainerServers.StopAsync();
}
