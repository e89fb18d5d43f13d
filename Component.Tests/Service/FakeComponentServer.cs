using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using XmppRabbitComponent.Xmpp;

namespace XmppRabbitComponent.Tests.Service;

/// <summary>How <see cref="FakeComponentServer"/> answers the component's handshake.</summary>
public enum HandshakeMode
{
    /// <summary>Check the digest and answer <c>&lt;handshake/&gt;</c> (a wrong digest is refused).</summary>
    Accept,
    /// <summary>Read the handshake, then refuse it with <c>&lt;stream:error&gt;&lt;not-authorized/&gt;</c> and close, as ejabberd does for a wrong secret.</summary>
    RefuseNotAuthorized,
    /// <summary>Read the handshake, then refuse it with <c>host-unknown</c>.</summary>
    RefuseHostUnknown,
    /// <summary>Close the TCP connection as soon as it is accepted.</summary>
    DropImmediately,
    /// <summary>Accept the TCP connection and never answer (a server that hangs).</summary>
    Silent,
}

/// <summary>
/// An in-process XEP-0114 server on a loopback port that accepts any number of connections from the component
/// under test. Each accepted connection is a <see cref="ServerSession"/> that records every byte the component
/// writes and can be scripted: send bytes, close the stream, send a stream error, drop TCP, go silent.
/// Connection attempts are counted with their time.
/// </summary>
internal sealed class FakeComponentServer : IAsyncDisposable
{
    public const string Domain = "events.localhost";
    public const string Secret = "s3cr3t-never-logged";

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Channel<ServerSession> _sessions = Channel.CreateUnbounded<ServerSession>();
    private readonly ConcurrentQueue<DateTimeOffset> _attempts = new();
    private readonly List<ServerSession> _all = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private int _counter;

    public FakeComponentServer()
    {
        _listener.Start();
        _acceptLoop = AcceptLoopAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>How the next handshakes are answered; may be changed between connections.</summary>
    public volatile HandshakeMode Mode = HandshakeMode.Accept;

    /// <summary>When each TCP connection was accepted.</summary>
    public IReadOnlyList<DateTimeOffset> Attempts => [.. _attempts];

    /// <summary>The next session whose handshake was answered (accepted or refused).</summary>
    public async Task<ServerSession> NextSessionAsync(TimeSpan timeout, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        try { return await _sessions.Reader.ReadAsync(cts.Token); }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new TimeoutException($"no connection from the component within {timeout} (attempts so far: {_attempts.Count})");
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try { socket = await _listener.AcceptSocketAsync(_stop.Token); }
            catch (Exception) { return; }
            _attempts.Enqueue(DateTimeOffset.UtcNow);
            var session = new ServerSession(socket, $"{Interlocked.Increment(ref _counter)}{Random.Shared.Next(100000, 999999)}");
            lock (_all) _all.Add(session);
            var mode = Mode;
            _ = Task.Run(async () =>
            {
                try
                {
                    await session.HandshakeAsync(mode, _stop.Token);
                    _sessions.Writer.TryWrite(session);
                }
                catch (Exception e)
                {
                    session.HandshakeFailure = e;
                    _sessions.Writer.TryWrite(session);
                }
            });
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try { await _acceptLoop.WaitAsync(TimeSpan.FromSeconds(2)); } catch (Exception) { }
        List<ServerSession> all;
        lock (_all) all = [.. _all];
        foreach (var s in all) s.Dispose();
        _listener.Dispose();
        _stop.Dispose();
    }
}

/// <summary>One accepted connection of <see cref="FakeComponentServer"/>.</summary>
internal sealed class ServerSession : IDisposable
{
    private readonly Socket _socket;
    private readonly StringBuilder _received = new();
    private readonly TaskCompletionSource _closedByPeer = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ServerSession(Socket socket, string streamId)
    {
        _socket = socket;
        StreamId = streamId;
        AcceptedAt = DateTimeOffset.UtcNow;
        _ = ReceiveLoopAsync();
    }

    public string StreamId { get; }
    public DateTimeOffset AcceptedAt { get; }
    public Exception? HandshakeFailure { get; set; }
    public bool Authenticated { get; private set; }

    /// <summary>The server's stream header for this session.</summary>
    public string Header => "<?xml version='1.0'?><stream:stream id='" + StreamId + "' xml:lang='en' xmlns:stream='http://etherx.jabber.org/streams' from='" + FakeComponentServer.Domain + "' xmlns='jabber:component:accept'>";

    /// <summary>Everything the component wrote so far (UTF-8).</summary>
    public string Received { get { lock (_received) return _received.ToString(); } }

    /// <summary>What the component wrote after the handshake.</summary>
    public string ReceivedAfterHandshake
    {
        get
        {
            var all = Received;
            var at = all.IndexOf("</handshake>", StringComparison.Ordinal);
            return at < 0 ? all : all[(at + "</handshake>".Length)..];
        }
    }

    /// <summary>Completes when the component closed or reset the TCP connection.</summary>
    public Task ClosedByPeer => _closedByPeer.Task;

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[8192];
        var decoder = Encoding.UTF8.GetDecoder();
        var chars = new char[8192 + 4];
        try
        {
            while (true)
            {
                var n = await _socket.ReceiveAsync(buffer, SocketFlags.None);
                if (n == 0) break;
                var c = decoder.GetChars(buffer, 0, n, chars, 0);
                lock (_received) _received.Append(chars, 0, c);
            }
        }
        catch (Exception) { /* reset or disposed */ }
        _closedByPeer.TrySetResult();
    }

    /// <summary>Waits until what the component wrote satisfies <paramref name="condition"/>.</summary>
    public async Task<string> WaitForAsync(Func<string, bool> condition, TimeSpan timeout, CancellationToken ct, string? what = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var text = Received;
            if (condition(text)) return text;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"waited {timeout} for {what ?? "a condition"}; the component wrote: {text}");
            await Task.Delay(10, ct);
        }
    }

    public Task<string> WaitForTextAsync(string marker, TimeSpan timeout, CancellationToken ct) =>
        WaitForAsync(t => t.Contains(marker, StringComparison.Ordinal), timeout, ct, $"'{marker}'");

    public async Task HandshakeAsync(HandshakeMode mode, CancellationToken ct)
    {
        var step = TimeSpan.FromSeconds(5);
        if (mode == HandshakeMode.DropImmediately) { Drop(); return; }
        if (mode == HandshakeMode.Silent) return;
        await WaitForTextAsync("'>", step, ct);
        await SendAsync(Header, ct);
        var text = await WaitForTextAsync("</handshake>", step, ct);
        var expected = $"<handshake>{HandshakeDigest.Compute(StreamId, FakeComponentServer.Secret)}</handshake>";
        if (mode == HandshakeMode.Accept && text.Contains(expected, StringComparison.Ordinal))
        {
            await SendAsync("<handshake/>", ct);
            Authenticated = true;
            return;
        }
        var condition = mode == HandshakeMode.RefuseHostUnknown ? "host-unknown" : "not-authorized";
        await SendAsync($"<stream:error><{condition} xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xml:lang='en' xmlns='urn:ietf:params:xml:ns:xmpp-streams'>Invalid handshake</text></stream:error></stream:stream>", ct);
        Drop();
    }

    public Task SendAsync(string text, CancellationToken ct) => SendBytesAsync(Encoding.UTF8.GetBytes(text), ct);

    public async Task SendBytesAsync(byte[] bytes, CancellationToken ct)
    {
        try { await _socket.SendAsync(bytes, SocketFlags.None, ct); }
        catch (SocketException) { /* the component may already have closed after a fault earlier in the same bytes */ }
        catch (ObjectDisposedException) { }
    }

    /// <summary>Sends <c>&lt;/stream:stream&gt;</c> (RFC 6120 §4.4).</summary>
    public Task CloseStreamAsync(CancellationToken ct) => SendAsync("</stream:stream>", ct);

    /// <summary>Sends a stream error with <paramref name="condition"/> and closes the stream, then the socket.</summary>
    public async Task StreamErrorAsync(string condition, CancellationToken ct)
    {
        await SendAsync($"<stream:error><{condition} xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>", ct);
    }

    /// <summary>Closes the TCP connection without a stream close.</summary>
    public void Drop()
    {
        try { _socket.Shutdown(SocketShutdown.Both); } catch (Exception) { }
        _socket.Close();
    }

    /// <summary>Resets the TCP connection (RST).</summary>
    public void Reset()
    {
        try { _socket.LingerState = new LingerOption(true, 0); } catch (Exception) { }
        _socket.Close();
    }

    /// <summary>Number of whitespace keepalives (single spaces between elements) the component wrote after the handshake.</summary>
    public int KeepaliveSpaces => ReceivedAfterHandshake.Count(c => c == ' ') - CountSpacesInsideTags(ReceivedAfterHandshake);

    private static int CountSpacesInsideTags(string text)
    {
        var inside = false;
        var n = 0;
        foreach (var c in text)
        {
            if (c == '<') inside = true;
            else if (c == '>') inside = false;
            else if (c == ' ' && inside) n++;
        }
        return n;
    }

    public void Dispose()
    {
        try { _socket.Dispose(); } catch (Exception) { }
    }
}
