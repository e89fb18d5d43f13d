using XmppRabbitComponent.Tests.Support;

namespace XmppRabbitComponent.Tests.Integration;

/// <summary>
/// Base of the integration fixtures that run once per XMPP server (<c>[TestFixtureSource(typeof(TestServers),
/// nameof(TestServers.XmppKinds))]</c> on the derived class): the server's facts and control, the real servers required
/// (never skipped), users and components tracked and logged out or stopped after each test, and exact event assertions.
/// </summary>
public abstract class XmppServerFixture(XmppServerKind kind)
{
    /// <summary>How long an expected event may take.</summary>
    protected static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(10);

    /// <summary>How long nothing (more) must arrive for "published nothing".</summary>
    protected static readonly TimeSpan Quiet = TimeSpan.FromSeconds(1.5);

    private readonly List<IAsyncDisposable> _cleanup = [];

    /// <summary>The server under test; built with the fixture, after TestRunSetup picked the back end.</summary>
    protected IXmppServerControl Server { get; } = TestServers.Xmpp(kind);

    /// <summary>Which server this fixture instance runs against.</summary>
    protected XmppServerKind Kind => kind;

    /// <summary>Connection facts of <see cref="Server"/>.</summary>
    protected XmppTestServers Facts => Server.Facts;

    [SetUp]
    public Task RequireServers() => Facts.RequireAsync();

    [TearDown]
    public async Task CleanUp()
    {
        for (var i = _cleanup.Count - 1; i >= 0; i--)
        {
            try
            {
                if (_cleanup[i] is TestXmppClient c) await c.LogoutAsync();
                else await _cleanup[i].DisposeAsync();
            }
            catch (Exception e) { TestContext.Out.WriteLine($"cleanup: {e.Message}"); }
        }
        _cleanup.Clear();
    }

    /// <summary>Logs out (clients) or disposes <paramref name="item"/> after the test, last tracked first.</summary>
    protected T Track<T>(T item) where T : IAsyncDisposable { _cleanup.Add(item); return item; }

    /// <summary>Logs <paramref name="user"/> in with <paramref name="resource"/> and, when <paramref name="presence"/>, sends initial presence.</summary>
    protected async Task<TestXmppClient> OnlineAsync(string user, string resource, bool presence = true)
    {
        var c = Track(await TestXmppClient.ConnectAsync(Facts, user, resource));
        if (presence) await c.SendPresenceAsync();
        return c;
    }

    /// <summary>The JSON of a presence event.</summary>
    protected static string Presence(string full, bool present) => $"{{\"user_id\":\"{full}\",\"present\":{(present ? "true" : "false")}}}";

    /// <summary>The JSON of a chat or groupchat event.</summary>
    protected static string Msg(string to, string body, string from) => $"{{\"to_user_id\":\"{to}\",\"message\":\"{body}\",\"from_user_id\":\"{from}\"}}";

    /// <summary>Asserts the exact multiset of (exchange, routing key, JSON).</summary>
    protected static void AssertEvents(IEnumerable<ReceivedEvent> actual, params (string Exchange, string Key, string Json)[] expected)
    {
        var got = actual.Select(e => (e.Exchange, e.RoutingKey, e.Body)).OrderBy(x => x.ToString()).ToList();
        var want = expected.Select(e => (e.Exchange, e.Key, e.Json)).OrderBy(x => x.ToString()).ToList();
        Assert.That(got, Is.EqualTo(want), "events (exchange, routing key, JSON)");
    }
}
