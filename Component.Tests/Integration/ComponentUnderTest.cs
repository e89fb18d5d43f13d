using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using XmppRabbitComponent.Hosting;

namespace XmppRabbitComponent.Tests.Integration;

/// <summary>
/// The real component host (the same <see cref="ComponentHost.Build"/> as <c>dotnet run --project Component</c>)
/// started in-process against the real servers, on a free HTTP port.
/// </summary>
public sealed class ComponentUnderTest : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ComponentUnderTest(WebApplication app) { _app = app; }

    /// <summary>The HTTP base address (metrics and health).</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Services of the running host.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>Starts the component with the test servers' settings plus <paramref name="overrides"/>; waits for the XMPP stream when <paramref name="waitForXmpp"/>.</summary>
    public static async Task<ComponentUnderTest> StartAsync(XmppTestServers servers, IDictionary<string, string?>? overrides = null, bool waitForXmpp = true)
    {
        var settings = servers.ComponentSettings().ToDictionary(kv => kv.Key, kv => (string?)kv.Value);
        settings["Urls"] = "http://127.0.0.1:0";
        settings["Logging:LogLevel:Default"] = "Warning";
        if (overrides is not null)
            foreach (var (k, v) in overrides) settings[k] = v;
        var app = ComponentHost.Build([], c => c.AddInMemoryCollection(settings));
        await app.StartAsync();
        var c = new ComponentUnderTest(app);
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        c.BaseAddress = new Uri(addresses.First());
        if (waitForXmpp)
        {
            try
            {
                await app.Services.GetRequiredService<ComponentState>().FirstAuthenticated.WaitAsync(TimeSpan.FromSeconds(20));
            }
            catch (TimeoutException)
            {
                await c.DisposeAsync();
                Assert.Fail($"the component did not authenticate to {servers.XmppServerName} at {servers.XmppHost}:{servers.ComponentPort} as {servers.ComponentDomain} within 20 s");
            }
            var publisher = app.Services.GetRequiredService<XmppRabbitComponent.Publishing.IEventPublisher>();
            for (var i = 0; i < 200 && !publisher.IsConnected; i++) await Task.Delay(100);
            if (!publisher.IsConnected)
            {
                await c.DisposeAsync();
                Assert.Fail($"the component did not connect to RabbitMQ at {servers.RabbitHost}:{servers.RabbitPort} within 20 s");
            }
            // The server routes to a component only after the handshake is registered; the privilege message arrives first.
            await Task.Delay(200);
        }
        return c;
    }

    /// <summary>GETs <paramref name="path"/> and returns status and body.</summary>
    public async Task<(int Status, string Body)> GetAsync(string path)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
        using var response = await http.GetAsync(path);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await _app.StopAsync(cts.Token);
        await _app.DisposeAsync();
    }
}
