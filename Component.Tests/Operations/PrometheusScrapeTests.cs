using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using XmppRabbitComponent.Tests.Integration;
using XmppRabbitComponent.Tests.Support;

namespace XmppRabbitComponent.Tests.Operations;

/// <summary>
/// A real Prometheus (Debian's <c>prometheus</c> package), started as a private process on
/// <see cref="OpsPorts.Prometheus"/> with the repository's alert rules loaded, scrapes the running component every
/// second; after a scripted conversation on the real ejabberd a PromQL query returns exactly the events the broker
/// delivered.
/// </summary>
[TestFixture, Category("Integration"), NonParallelizable]
public sealed class PrometheusScrapeTests
{
    private readonly XmppTestServers _servers = XmppTestServers.Current;

    [SetUp]
    public Task RequireServers() => _servers.RequireAsync();

    [Test]
    public async Task Prometheus_scrapes_the_component_and_PromQL_counts_the_published_events()
    {
        var prometheusBinary = Tool.Require("prometheus", "prometheus");
        var componentPort = OpsPorts.ComponentHttp;
        var prometheusPort = OpsPorts.Prometheus;
        var dir = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), $"xrc-prometheus-{Guid.NewGuid():N}")).FullName;
        var rules = Path.Combine(ServerControl.RepositoryRoot, "deploy", "prometheus", "alerts.yml");
        await File.WriteAllTextAsync(Path.Combine(dir, "prometheus.yml"), $"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            rule_files:
              - {rules}
            scrape_configs:
              - job_name: xmpp-rabbit-component
                static_configs:
                  - targets: ["127.0.0.1:{componentPort}"]
            """);

        await using var component = await ComponentUnderTest.StartAsync(_servers, new Dictionary<string, string?> { ["Urls"] = $"http://127.0.0.1:{componentPort}" });
        using var prometheus = Process.Start(new ProcessStartInfo(prometheusBinary)
        {
            ArgumentList =
            {
                $"--config.file={Path.Combine(dir, "prometheus.yml")}",
                $"--storage.tsdb.path={Path.Combine(dir, "data")}",
                $"--web.listen-address=127.0.0.1:{prometheusPort}",
                "--log.level=warn",
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var prometheusLog = prometheus.StandardError.ReadToEndAsync();
        _ = prometheus.StandardOutput.ReadToEndAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{prometheusPort}"), Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            await WaitAsync(async () => (await TryGetAsync(http, "/-/ready")) is not null, TimeSpan.FromSeconds(60),
                () => $"Prometheus did not become ready on 127.0.0.1:{prometheusPort}: {(prometheus.HasExited ? prometheusLog.Result : "(running)")}");
            await WaitAsync(async () => await QueryAsync(http, "up{job=\"xmpp-rabbit-component\"}") == 1, TimeSpan.FromSeconds(30),
                () => "Prometheus does not scrape the component (up != 1)");
            var before = await QueryAsync(http, "sum(mod_event_pusher_rabbit_messages_published_total{job=\"xmpp-rabbit-component\"})") ?? 0;

            // The scripted conversation: two logins, one chat message each way, two logouts = 2 + 4 + 2 events.
            await using var consumer = await TestEventConsumer.StartDefaultAsync(_servers);
            await using var alice = await TestXmppClient.ConnectAsync(_servers, "alice", "prom1");
            await using var bob = await TestXmppClient.ConnectAsync(_servers, "bob", "prom1");
            // Each step waits for its events, so that no message is still in flight when its recipient logs out.
            var events = new List<ReceivedEvent>();
            await alice.SendPresenceAsync();
            await bob.SendPresenceAsync();
            events.AddRange(await consumer.TakeAsync(2, TimeSpan.FromSeconds(15)));
            await alice.SendMessageAsync("bob@localhost", "chat", "scraped");
            events.AddRange(await consumer.TakeAsync(2, TimeSpan.FromSeconds(15)));
            await bob.SendMessageAsync("alice@localhost", "chat", "by Prometheus");
            events.AddRange(await consumer.TakeAsync(2, TimeSpan.FromSeconds(15)));
            await alice.LogoutAsync();
            await bob.LogoutAsync();
            events.AddRange(await consumer.TakeAsync(2, TimeSpan.FromSeconds(15)));
            events.AddRange(await consumer.DrainAsync(TimeSpan.FromSeconds(1.5)));
            var delivered = events.Count;
            Assert.That(delivered, Is.EqualTo(8), "the broker delivered the conversation's events: " + string.Join(" | ", events));

            double? published = null;
            await WaitAsync(async () => (published = await QueryAsync(http, "sum(mod_event_pusher_rabbit_messages_published_total{job=\"xmpp-rabbit-component\"})")) - before == delivered,
                TimeSpan.FromSeconds(30), () => $"PromQL sum(mod_event_pusher_rabbit_messages_published_total) = {published}, expected {before} + {delivered}");
            Assert.That(await QueryAsync(http, "sum(mod_event_pusher_rabbit_messages_published_total{job=\"xmpp-rabbit-component\", host=\"localhost\"})") - before,
                Is.EqualTo(delivered), "the seed's host label is the local domain");

            // The alert rules are loaded into the same Prometheus, and none fires on a healthy component.
            using var rulesDoc = JsonDocument.Parse(await http.GetStringAsync("/api/v1/rules?type=alert"));
            var names = rulesDoc.RootElement.GetProperty("data").GetProperty("groups").EnumerateArray()
                .SelectMany(g => g.GetProperty("rules").EnumerateArray()).Select(r => (Name: r.GetProperty("name").GetString(), State: r.GetProperty("state").GetString())).ToList();
            Assert.That(names.Select(n => n.Name), Is.EquivalentTo(new[]
            {
                "XmppRabbitComponentDown", "XmppStreamDown", "XmppHandshakeRefused", "RabbitBrokerDown",
                "EventsDropped", "PublisherConfirmsTimingOut", "PublishBufferFilling",
            }));
            Assert.That(names.Where(n => n.State != "inactive"), Is.Empty, "no alert pending or firing on a healthy component");
        }
        finally
        {
            if (!prometheus.HasExited)
            {
                prometheus.Kill();
                await prometheus.WaitForExitAsync();
            }
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task<string?> TryGetAsync(HttpClient http, string path)
    {
        try
        {
            using var response = await http.GetAsync(path);
            return response.IsSuccessStatusCode ? await response.Content.ReadAsStringAsync() : null;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>The single value of an instant PromQL query, or null when the result is empty.</summary>
    private static async Task<double?> QueryAsync(HttpClient http, string promql)
    {
        var body = await TryGetAsync(http, "/api/v1/query?query=" + Uri.EscapeDataString(promql));
        if (body is null) return null;
        using var doc = JsonDocument.Parse(body);
        var result = doc.RootElement.GetProperty("data").GetProperty("result");
        if (result.GetArrayLength() == 0) return null;
        return double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> failure)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (await condition()) return;
            await Task.Delay(250);
        }
        Assert.Fail(failure());
    }
}
