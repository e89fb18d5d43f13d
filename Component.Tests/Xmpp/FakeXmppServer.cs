using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using XmppRabbitComponent.Configuration;
using XmppRabbitComponent.Xmpp;

namespace XmppRabbitComponent.Tests.Xmpp;

/// <summary>An in-process XEP-0114 server on a loopback port, scripted by each test.</summary>
internal sealed class FakeXmppServer : IAsyncDisposable
{
    public const string Domain = "events.localhost";
    public const string Secret = "s3cr3t-never-logged";
    public const string StreamId = "11189034398600122271";
    public const string ServerHeader = "<?xml version='1.0'?><stream:stream id='" + StreamId + "' xml:lang='en' xmlns:stream='http://etherx.jabber.org/streams' from='events.localhost' xmlns='jabber:component:accept'>";

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly StringBuilder _received = new();
    private Socket? _client;

    public FakeXmppServer() => _listener.Start();

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Everything received so far.</summary>
    public string Received => _received.ToString();

    public XmppOptions Options(Action<XmppOptions>? configure = null)
    {
        var o = new XmppOptions
        {
            Host = "127.0.0.1", Port = Port, ComponentDomain = Domain, Secret = Secret,
            ConnectTimeout = TimeSpan.FromSeconds(5), ReadTimeout = TimeSpan.FromSeconds(30), KeepaliveInterval = TimeSpan.FromSeconds(30),
        };
        configure?.Invoke(o);
        return o;
    }

    public async Task AcceptAsync(CancellationToken ct) => _client = await _listener.AcceptSocketAsync(ct);

    public async Task SendAsync(string text, CancellationToken ct) => await _client!.SendAsync(Encoding.UTF8.GetBytes(text), ct);

    /// <summary>Reads until everything received so far contains <paramref name="marker"/>; returns all received text.</summary>
    public async Task<string> ReceiveUntilAsync(string marker, CancellationToken ct)
    {
        var buffer = new byte[4096];
        while (!_received.ToString().Contains(marker, StringComparison.Ordinal))
        {
            var n = await _client!.ReceiveAsync(buffer, ct);
            if (n == 0) throw new IOException($"client closed before sending '{marker}'; got: {_received}");
            _received.Append(Encoding.UTF8.GetString(buffer, 0, n));
        }
        return _received.ToString();
    }

    /// <summary>Reads until the client closes its side; returns everything received.</summary>
    public async Task<string> ReceiveToEndAsync(CancellationToken ct)
    {
        var buffer = new byte[4096];
        while (true)
        {
            int n;
            try { n = await _client!.ReceiveAsync(buffer, ct); }
            catch (SocketException) { break; }
            if (n == 0) break;
            _received.Append(Encoding.UTF8.GetString(buffer, 0, n));
        }
        return _received.ToString();
    }

    /// <summary>Accepts and completes a successful handshake, checking the digest; runs concurrently with ConnectAsync.</summary>
    public async Task HandshakeAsync(CancellationToken ct, string? answer = "<handshake/>")
    {
        await AcceptAsync(ct);
        await ReceiveUntilAsync("'>", ct);
        await SendAsync(ServerHeader, ct);
        var text = await ReceiveUntilAsync("</handshake>", ct);
        var expected = $"<handshake>{HandshakeDigest.Compute(StreamId, Secret)}</handshake>";
        if (!text.Contains(expected, StringComparison.Ordinal)) throw new InvalidOperationException($"wrong digest in: {text}");
        if (answer is not null) await SendAsync(answer, ct);
    }

    public void CloseClient() => _client?.Close();

    public ValueTask DisposeAsync()
    {
        _client?.Dispose();
        _listener.Stop();
        _listener.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>Collects every formatted log line and exception message, to prove secrets never reach a log.</summary>
internal sealed class CapturingLogger : ILogger
{
    public List<string> Lines { get; } = [];
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => true;
    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (Lines) Lines.Add($"{logLevel}: {formatter(state, exception)} {exception}");
    }
}
