using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using XmppRabbitComponent.Configuration;
using XmppRabbitComponent.Events;
using XmppRabbitComponent.Hosting;
using XmppRabbitComponent.Observability;
using XmppRabbitComponent.Publishing;
using XmppRabbitComponent.Tests.Support;

namespace XmppRabbitComponent.Tests.Service;

/// <summary>An <see cref="IEventPublisher"/> that records the events it accepts, with their JSON.</summary>
internal sealed class RecordingPublisher : IEventPublisher
{
    private readonly List<XmppEvent> _events = [];

    public IReadOnlyList<XmppEvent> Events { get { lock (_events) return [.. _events]; } }

    /// <summary>The JSON of each event, as the real publisher would serialize it.</summary>
    public IReadOnlyList<string> Json => Events.Select(e => Encoding.UTF8.GetString(EventJson.Serialize(e))).ToList();

    public ValueTask EnqueueAsync(XmppEvent e, CancellationToken ct)
    {
        lock (_events) _events.Add(e);
        return ValueTask.CompletedTask;
    }

    public bool IsConnected => true;
    public long Pending => 0;
    public TimeSpan WaitingWithoutProgress => TimeSpan.Zero;
    public bool IsStalled => false;

    /// <summary>Waits until at least <paramref name="count"/> events were accepted.</summary>
    public async Task<IReadOnlyList<XmppEvent>> WaitForCountAsync(int count, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Events.Count < count)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"waited {timeout} for {count} events; got {Events.Count}: {string.Join(" | ", Json)}");
            await Task.Delay(10, ct);
        }
        return Events;
    }
}

/// <summary>Collects formatted log lines (with level and event id) of the service and its connections.</summary>
internal sealed class LogCapture<T> : ILogger<T>
{
    private readonly List<string> _lines = [];
    public IReadOnlyList<string> Lines { get { lock (_lines) return [.. _lines]; } }
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => true;
    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_lines) _lines.Add($"{logLevel}[{eventId.Id}]: {formatter(state, exception)}{(exception is null ? "" : " | " + exception.GetType().Name + ": " + exception.Message)}");
    }
}

/// <summary>An <see cref="IMeterFactory"/> whose meters carry one scope object, so a <see cref="MetricsProbe"/> sees only them.</summary>
internal sealed class ScopedMeterFactory : IMeterFactory
{
    private readonly List<Meter> _meters = [];
    public object Scope { get; } = new();
    public Meter Create(MeterOptions options)
    {
        var meter = new Meter(new MeterOptions(options.Name) { Version = options.Version, Tags = options.Tags, Scope = Scope });
        lock (_meters) _meters.Add(meter);
        return meter;
    }
    public void Dispose() { lock (_meters) foreach (var m in _meters) m.Dispose(); }
}

/// <summary>
/// The real <see cref="XmppComponentService"/> (constructed directly, not through the host) pointed at a
/// <see cref="FakeComponentServer"/>, with short delays, a recording publisher, captured logs and a metrics probe
/// scoped to this instance's meter.
/// </summary>
internal sealed class ServiceUnderTest : IAsyncDisposable
{
    public static readonly TimeSpan Step = TimeSpan.FromSeconds(5);

    private readonly ScopedMeterFactory _meters = new();

    private ServiceUnderTest(FakeComponentServer server, XmppOptions options, EventPusherOptions pusher)
    {
        Server = server;
        Options = options;
        Metrics = new ComponentMetrics(_meters, "localhost");
        Probe = new MetricsProbe(_meters.Scope);
        Service = new XmppComponentService(Microsoft.Extensions.Options.Options.Create(options), Microsoft.Extensions.Options.Options.Create(pusher),
            Publisher, Metrics, State, TimeProvider.System, Log);
    }

    public FakeComponentServer Server { get; }
    public XmppOptions Options { get; }
    public RecordingPublisher Publisher { get; } = new();
    public LogCapture<XmppComponentService> Log { get; } = new();
    public ComponentState State { get; } = new();
    public ComponentMetrics Metrics { get; }
    public MetricsProbe Probe { get; }
    public XmppComponentService Service { get; }

    /// <summary>The service's loop; still running means not completed.</summary>
    public Task Running => Service.ExecuteTask!;

    /// <summary>Default options for fault tests: reconnect after 50–500 ms, a 2 s auth failure delay, long timeouts.</summary>
    public static XmppOptions DefaultOptions(int port) => new()
    {
        Host = "127.0.0.1", Port = port, ComponentDomain = FakeComponentServer.Domain, Secret = FakeComponentServer.Secret,
        ConnectTimeout = TimeSpan.FromSeconds(5),
        ReadTimeout = TimeSpan.FromSeconds(30),
        KeepaliveInterval = TimeSpan.FromSeconds(30),
        ReconnectMinDelay = TimeSpan.FromMilliseconds(50),
        ReconnectMaxDelay = TimeSpan.FromMilliseconds(500),
        AuthFailureDelay = TimeSpan.FromSeconds(2),
    };

    /// <summary>Starts a fake server and the service against it.</summary>
    public static async Task<ServiceUnderTest> StartAsync(Action<XmppOptions>? configure = null, EventPusherOptions? pusher = null, HandshakeMode mode = HandshakeMode.Accept)
    {
        var server = new FakeComponentServer { Mode = mode };
        var options = DefaultOptions(server.Port);
        configure?.Invoke(options);
        var sut = new ServiceUnderTest(server, options, pusher ?? new EventPusherOptions());
        await sut.Service.StartAsync(CancellationToken.None);
        return sut;
    }

    /// <summary>The next authenticated session; sessions refused on purpose before it are passed over.</summary>
    public async Task<ServerSession> NextSessionAsync(CancellationToken ct, TimeSpan? timeout = null)
    {
        ServerSession s;
        do
        {
            s = await Server.NextSessionAsync(timeout ?? Step, ct);
            if (s.HandshakeFailure is not null) throw new InvalidOperationException("handshake failed", s.HandshakeFailure);
        } while (!s.Authenticated);
        // The service reads only after ConnectAsync returned; wait until it reports the stream up.
        var deadline = DateTime.UtcNow + Step;
        while (!State.XmppAuthenticated && DateTime.UtcNow < deadline) await Task.Delay(5, ct);
        return s;
    }

    /// <summary>Sends a valid forwarded chat copy (local → remote, so a <c>chat_msg_sent</c>) and waits for its event.</summary>
    public async Task<XmppEvent> ProveEventsFlowAsync(ServerSession session, string body, CancellationToken ct)
    {
        var before = Publisher.Events.Count;
        await session.SendAsync(Stanzas.ChatCopy(body), ct);
        var events = await Publisher.WaitForCountAsync(before + 1, Step, ct);
        var e = events[before];
        Assert.That(e, Is.InstanceOf<MessageEvent>().With.Property(nameof(MessageEvent.Message)).EqualTo(body));
        return e;
    }

    /// <summary>
    /// After a fault on <paramref name="first"/>: the component closed it, connected again (the second attempt in all),
    /// publishes events from the new session, its loop still runs, and exactly one reconnect was counted with
    /// <paramref name="cause"/>. Returns the new session for further assertions.
    /// </summary>
    public async Task<ServerSession> AssertReconnectedAsync(ServerSession first, string cause, CancellationToken ct)
    {
        await first.ClosedByPeer.WaitAsync(Step, ct);
        var second = await NextSessionAsync(ct);
        await ProveEventsFlowAsync(second, "after the reconnect", ct);
        Assert.Multiple(() =>
        {
            Assert.That(Running.IsCompleted, Is.False, "the service loop is still running");
            Assert.That(Server.Attempts, Has.Count.EqualTo(2));
            Assert.That(Probe.Sum("xmpp_component.stream.reconnects", "cause=" + cause), Is.EqualTo(1), "reconnect counted with its cause");
        });
        return second;
    }

    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try { await Service.StopAsync(cts.Token); } catch (Exception) { }
        Service.Dispose();
        await Server.DisposeAsync();
        Probe.Dispose();
        Metrics.Dispose();
        _meters.Dispose();
    }
}

/// <summary>Wire text of stanzas as ejabberd sends them to the component.</summary>
internal static class Stanzas
{
    public static string Escape(string text) => new System.Xml.Linq.XText(text).ToString();

    /// <summary>A forwarded copy of a chat from alice@localhost/r1 to eve@remote.example: a <c>chat_msg_sent</c> event.</summary>
    public static string ChatCopy(string body, string from = "alice@localhost/r1", string to = "eve@remote.example", string id = "m1") =>
        $"<message from='localhost' to='{FakeComponentServer.Domain}'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' type='chat' from='{from}' to='{to}' id='{id}'><body>{Escape(body)}</body></message></forwarded></message>";

    /// <summary>Privileged presence of a local full JID (available, or unavailable).</summary>
    public static string Presence(string from, bool available = true) =>
        $"<presence from='{from}' to='{FakeComponentServer.Domain}'{(available ? "" : " type='unavailable'")}/>";
}
