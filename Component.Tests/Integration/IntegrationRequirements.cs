namespace XmppRabbitComponent.Tests.Integration;

/// <summary>Turns missing servers into a failing test with instructions: integration tests never skip.</summary>
public static class IntegrationRequirements
{
    /// <summary>Starts the run's servers when that is the back end's job (containers), then fails the current test unless the servers of <paramref name="servers"/> answer.</summary>
    public static async Task RequireAsync(this XmppTestServers servers, bool xmpp = true)
    {
        await Support.TestServers.EnsureStartedAsync();
        var missing = await servers.MissingAsync(xmpp);
        if (missing.Count > 0)
            Assert.Fail($"Integration test needs real servers; not reachable: {string.Join(", ", missing)}. " +
                        "Start them with `ejabberd-test/servers.sh start` (ejabberd, Prosody and RabbitMQ; or run the tests with `ejabberd-test/run-tests.sh`).");
    }
}
