using System.Net.Sockets;
using System.Security;
using System.Text;
using System.Threading.Channels;
using System.Xml;
using System.Xml.Linq;

namespace XmppRabbitComponent.Tests.Integration;

/// <summary>
/// A small c2s client for integration tests (RFC 6120/6121): plain TCP (no TLS, loopback only), SASL PLAIN,
/// resource binding, presence, messages and MUC joins (XEP-0045). It drives real users on a real ejabberd.
/// Reads run on a dedicated thread with a synchronous XmlReader; stanzas land in a channel that tests wait on.
/// Test code only: the server is trusted, so no limits are enforced here.
/// </summary>
public sealed class TestXmppClient : IAsyncDisposable
{
    private static readonly XNamespace Client = "jabber:client";
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Channel<XElement> _inbox = Channel.CreateUnbounded<XElement>();
    private readonly List<XElement> _seen = [];
    private Thread? _readThread;
    private int _nextId;

    /// <summary>The bound full JID, e.g. <c>alice@localhost/res1</c>.</summary>
    public string FullJid { get; private set; } = "";

    /// <summary>The bare JID.</summary>
    public string BareJid => FullJid.Split('/')[0];

    private readonly string _domain;

    private TestXmppClient(TcpClient tcp, string domain)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
        _domain = domain;
    }

    /// <summary>Logs <paramref name="user"/> in with SASL PLAIN and binds <paramref name="resource"/>; does not send presence.</summary>
    public static async Task<TestXmppClient> ConnectAsync(XmppTestServers servers, string user, string resource, CancellationToken ct = default)
    {
        var tcp = new TcpClient { NoDelay = true };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(15));
        await tcp.ConnectAsync(servers.XmppHost, servers.C2sPort, timeout.Token);
        var c = new TestXmppClient(tcp, servers.XmppDomain);
        try
        {
            await c.OpenStreamAsync(timeout.Token);
            var features = await c.WaitForAsync(e => e.Name.LocalName == "features", TimeSpan.FromSeconds(10), timeout.Token);
            var plain = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{servers.UserPassword}"));
            await c.SendRawAsync($"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{plain}</auth>", timeout.Token);
            var outcome = await c.WaitForAsync(e => e.Name.LocalName is "success" or "failure", TimeSpan.FromSeconds(10), timeout.Token);
            if (outcome.Name.LocalName != "success") throw new InvalidOperationException($"SASL PLAIN failed for {user}: {outcome}");
            c._readThread!.Join(TimeSpan.FromSeconds(5)); // the reader stops at <success/>: the stream restarts (RFC 6120 §6.4.6)
            await c.OpenStreamAsync(timeout.Token);
            await c.WaitForAsync(e => e.Name.LocalName == "features", TimeSpan.FromSeconds(10), timeout.Token);
            var bind = await c.IqAsync("set", null,
                new XElement(XName.Get("bind", "urn:ietf:params:xml:ns:xmpp-bind"), new XElement(XName.Get("resource", "urn:ietf:params:xml:ns:xmpp-bind"), resource)),
                timeout.Token);
            c.FullJid = bind.Descendants(XName.Get("jid", "urn:ietf:params:xml:ns:xmpp-bind")).Single().Value;
            // Legacy session establishment is optional for ejabberd; not needed.
            return c;
        }
        catch
        {
            await c.DisposeAsync();
            throw;
        }
    }

    private async Task OpenStreamAsync(CancellationToken ct)
    {
        await SendRawAsync($"<?xml version='1.0'?><stream:stream to='{_domain}' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>", ct);
        var ready = new TaskCompletionSource();
        _readThread = new Thread(() => ReadLoop(ready)) { IsBackground = true, Name = "test-xmpp-read" };
        _readThread.Start();
        await ready.Task.WaitAsync(TimeSpan.FromSeconds(10), ct);
    }

    private void ReadLoop(TaskCompletionSource ready)
    {
        try
        {
            var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null, CloseInput = false };
            using var reader = XmlReader.Create(_stream, settings);
            reader.MoveToContent(); // <stream:stream>
            ready.TrySetResult();
            while (reader.Read())
            {
                if (reader.NodeType == XmlNodeType.EndElement && reader.Depth == 0) break; // </stream:stream>
                if (reader.NodeType != XmlNodeType.Element || reader.Depth != 1) continue;
                using var sub = reader.ReadSubtree();
                sub.MoveToContent();
                var element = (XElement)XNode.ReadFrom(sub);
                _inbox.Writer.TryWrite(element);
                if (element.Name.LocalName == "success") return; // stream restart follows
            }
            _inbox.Writer.TryComplete();
        }
        catch (Exception e)
        {
            ready.TrySetException(e);
            _inbox.Writer.TryComplete(e is IOException or XmlException or ObjectDisposedException ? null : e);
        }
    }

    /// <summary>Writes raw XML to the stream.</summary>
    public async Task SendRawAsync(string xml, CancellationToken ct = default)
    {
        var bytes = Encoding.UTF8.GetBytes(xml);
        await _writeLock.WaitAsync(ct);
        try { await _stream.WriteAsync(bytes, ct); await _stream.FlushAsync(ct); }
        finally { _writeLock.Release(); }
    }

    /// <summary>Writes a stanza (in jabber:client).</summary>
    public Task SendAsync(XElement stanza, CancellationToken ct = default) => SendRawAsync(stanza.ToString(SaveOptions.DisableFormatting), ct);

    /// <summary>Sends an IQ and waits for its result; throws on an error result.</summary>
    public async Task<XElement> IqAsync(string type, string? to, XElement payload, CancellationToken ct = default)
    {
        var id = "iq" + Interlocked.Increment(ref _nextId);
        var iq = new XElement(Client + "iq", new XAttribute("type", type), new XAttribute("id", id), payload);
        if (to is not null) iq.SetAttributeValue("to", to);
        await SendAsync(iq, ct);
        var answer = await WaitForAsync(e => e.Name.LocalName == "iq" && (string?)e.Attribute("id") == id, TimeSpan.FromSeconds(10), ct);
        if ((string?)answer.Attribute("type") != "result") throw new InvalidOperationException($"IQ {id} failed: {answer}");
        return answer;
    }

    /// <summary>Sends presence; <paramref name="type"/> null means available.</summary>
    public Task SendPresenceAsync(string? type = null, string? show = null, string? to = null, CancellationToken ct = default)
    {
        var p = new XElement(Client + "presence");
        if (type is not null) p.SetAttributeValue("type", type);
        if (to is not null) p.SetAttributeValue("to", to);
        if (show is not null) p.Add(new XElement(Client + "show", show));
        return SendAsync(p, ct);
    }

    /// <summary>Sends a message of <paramref name="type"/> to <paramref name="to"/> with an optional body and extra children.</summary>
    public Task SendMessageAsync(string to, string type, string? body, string? id = null, IEnumerable<XElement>? extra = null, CancellationToken ct = default)
    {
        var m = new XElement(Client + "message", new XAttribute("to", to), new XAttribute("type", type),
            new XAttribute("id", id ?? "m" + Interlocked.Increment(ref _nextId)));
        if (body is not null) m.Add(new XElement(Client + "body", body));
        if (extra is not null) m.Add(extra);
        return SendAsync(m, ct);
    }

    /// <summary>Joins (creating when needed, as an instant room, XEP-0045 §10.1.2) <paramref name="room"/> as <paramref name="nick"/>; returns after the self-presence.</summary>
    public async Task JoinRoomAsync(string room, string nick, CancellationToken ct = default)
    {
        var muc = XNamespace.Get("http://jabber.org/protocol/muc");
        var mucUser = XNamespace.Get("http://jabber.org/protocol/muc#user");
        await SendAsync(new XElement(Client + "presence", new XAttribute("to", $"{room}/{nick}"),
            new XElement(muc + "x", new XElement(muc + "history", new XAttribute("maxstanzas", "0")))), ct);
        var self = await WaitForAsync(e => e.Name.LocalName == "presence" && (string?)e.Attribute("from") == $"{room}/{nick}"
            && e.Descendants(mucUser + "status").Any(s => (string?)s.Attribute("code") == "110"), TimeSpan.FromSeconds(10), ct);
        if (self.Descendants(mucUser + "status").Any(s => (string?)s.Attribute("code") == "201"))
        {
            var owner = XNamespace.Get("http://jabber.org/protocol/muc#owner");
            await IqAsync("set", room, new XElement(owner + "query", new XElement(XName.Get("x", "jabber:x:data"), new XAttribute("type", "submit"))), ct);
        }
    }

    /// <summary>Waits for a received stanza matching <paramref name="match"/> (earlier unmatched ones are kept for later waits).</summary>
    public async Task<XElement> WaitForAsync(Func<XElement, bool> match, TimeSpan timeout, CancellationToken ct = default)
    {
        lock (_seen)
        {
            var earlier = _seen.FirstOrDefault(match);
            if (earlier is not null) { _seen.Remove(earlier); return earlier; }
        }
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        try
        {
            while (true)
            {
                var e = await _inbox.Reader.ReadAsync(cts.Token);
                if (match(e)) return e;
                lock (_seen) _seen.Add(e);
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new TimeoutException($"{FullJid}: no matching stanza within {timeout}; seen: {string.Join("\n", _seen.TakeLast(5))}");
        }
    }

    /// <summary>Sends unavailable presence and closes the stream.</summary>
    public async Task LogoutAsync()
    {
        try
        {
            await SendPresenceAsync("unavailable");
            await SendRawAsync("</stream:stream>");
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException) { }
        await DisposeAsync();
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>XML-escapes text for hand-built stanzas.</summary>
    public static string Escape(string text) => SecurityElement.Escape(text);
}
