using System.IO.Pipelines;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using System.Xml.Linq;
using Microsoft.Extensions.Logging;
using XmppRabbitComponent.Configuration;

namespace XmppRabbitComponent.Xmpp;

/// <summary>How a stream that ended without an exception ended (see <see cref="ComponentConnection.EndReason"/>).</summary>
public enum StreamEndReason
{
    /// <summary>The server sent <c>&lt;/stream:stream&gt;</c> first (RFC 6120 §4.4); we answered with ours.</summary>
    ServerClosedStream,
    /// <summary>The TCP connection reached EOF without <c>&lt;/stream:stream&gt;</c> (a crash, a kill, a proxy drop).</summary>
    ConnectionClosed,
    /// <summary>We closed the stream (<see cref="ComponentConnection.CloseAsync"/>) and the server answered or hung up.</summary>
    ClosedLocally,
}

/// <summary>
/// One authenticated XEP-0114 component stream over TCP. It owns the socket: one read path
/// (<see cref="ReadStanzasAsync"/>, enumerated once) and one write loop draining a bounded channel
/// (<see cref="SendAsync"/>), which also writes the RFC 6120 §4.6.1 whitespace keepalive after
/// <c>Xmpp:KeepaliveInterval</c> of write silence. No byte for <c>Xmpp:ReadTimeout</c> means a half-open
/// connection (RFC 6120 §4.6): <see cref="XmppStreamTimeoutException"/>. The secret and the digest are never logged.
/// </summary>
public sealed partial class ComponentConnection : IAsyncDisposable
{
    private const int OutboxCapacity = 1024;
    private static readonly TimeSpan FinalWriteTimeout = TimeSpan.FromSeconds(2);
    private static readonly byte[] StreamClose = "</stream:stream>"u8.ToArray();

    private readonly XmppOptions _options;
    private readonly ILogger _logger;
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly PipeReader _reader;
    private readonly PipeWriter _writer;
    private readonly StanzaFramer _framer;
    private readonly Channel<ReadOnlyMemory<byte>> _outbox;
    private readonly CancellationTokenSource _lifetime = new();
    private readonly TaskCompletionSource _readEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _writeLoop;
    private StanzaParser? _parser;
    private CancellationTokenSource? _readTimeout;
    private CancellationToken _readTimeoutFor;
    private ReadResult _pending;
    private bool _hasPending;
    private readonly Lock _gate = new();
    private int _closeSent, _reading, _disposed;
    private bool _readActive, _readerCompleted;

    private ComponentConnection(XmppOptions options, ILogger logger, Socket socket)
    {
        _options = options;
        _logger = logger;
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
        _reader = PipeReader.Create(_stream, new StreamPipeReaderOptions(leaveOpen: true));
        _writer = PipeWriter.Create(_stream, new StreamPipeWriterOptions(leaveOpen: true));
        _framer = new StanzaFramer(options.MaxStanzaSize, options.MaxDepth, options.MaxAttributes);
        _outbox = Channel.CreateBounded<ReadOnlyMemory<byte>>(new BoundedChannelOptions(OutboxCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _writeLoop = WriteLoopAsync();
    }

    /// <summary>The server's stream header (RFC 6120 §4.7), available once connected.</summary>
    public StreamHeader ServerHeader { get; private set; } = null!;

    /// <summary>The stream id the handshake digest was computed over (XEP-0114 §3).</summary>
    public string StreamId => ServerHeader.Id!;

    /// <summary>
    /// Why the stream ended, once <see cref="ReadStanzasAsync"/> completed normally; null while it runs or when it
    /// ended with an exception.
    /// </summary>
    public StreamEndReason? EndReason { get; private set; }

    /// <summary>
    /// Connects to <c>Xmpp:Host</c>:<c>Xmpp:Port</c> and performs the XEP-0114 §3 handshake, all within
    /// <c>Xmpp:ConnectTimeout</c>.
    /// </summary>
    /// <exception cref="StreamErrorException">The server refused: <c>not-authorized</c> is a wrong secret or an
    /// unknown component domain (<see cref="StreamErrorException.IsAuthenticationRefusal"/>).</exception>
    /// <exception cref="XmppStreamTimeoutException">The deadline passed (<see cref="XmppTimeoutKind.Connect"/>).</exception>
    /// <exception cref="XmppProtocolException">The server violated the protocol; the stream error was sent.</exception>
    /// <exception cref="SocketException">The TCP connection failed.</exception>
    /// <exception cref="IOException">The server closed the connection during the handshake.</exception>
    public static async Task<ComponentConnection> ConnectAsync(XmppOptions options, ILogger logger, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(options.ConnectTimeout);

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        ComponentConnection? connection = null;
        try
        {
            LogConnecting(logger, options.Host, options.Port, options.ComponentDomain);
            await socket.ConnectAsync(options.Host, options.Port, deadline.Token).ConfigureAwait(false);
            connection = new ComponentConnection(options, logger, socket);
            await connection.HandshakeAsync(deadline.Token).ConfigureAwait(false);
            LogAuthenticated(logger, options.ComponentDomain, connection.StreamId);
            return connection;
        }
        catch (Exception e)
        {
            if (connection is not null) await connection.DisposeAsync().ConfigureAwait(false);
            else socket.Dispose();
            if (e is OperationCanceledException && !ct.IsCancellationRequested)
                throw new XmppStreamTimeoutException(XmppTimeoutKind.Connect, options.ConnectTimeout);
            throw;
        }
    }

    private async Task HandshakeAsync(CancellationToken ct)
    {
        // XEP-0114 §3, Example 1. The domain was validated as a JID domain; escape it anyway.
        var open = $"<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='{EscapeAttribute(_options.ComponentDomain)}'>";
        await _outbox.Writer.WriteAsync(Encoding.UTF8.GetBytes(open), ct).ConfigureAwait(false);

        try
        {
            var (kind, _) = await ReadNextAsync(ct).ConfigureAwait(false);
            if (kind is null) throw new IOException("the server closed the connection before sending its stream header");
            if (kind != FrameKind.StreamHeader) throw new XmppProtocolException(StreamErrorCondition.NotWellFormed, "expected the stream header");
            if (string.IsNullOrEmpty(ServerHeader.Id))
                throw new XmppProtocolException(StreamErrorCondition.BadFormat, "the server's stream header has no id (XEP-0114 §3)");

            var digest = HandshakeDigest.Compute(ServerHeader.Id, _options.Secret);
            await _outbox.Writer.WriteAsync(Encoding.ASCII.GetBytes($"<handshake>{digest}</handshake>"), ct).ConfigureAwait(false);

            var (answer, element) = await ReadNextAsync(ct).ConfigureAwait(false);
            switch (answer)
            {
                case null:
                    throw new IOException("the server closed the connection during the handshake");
                case FrameKind.StreamEnd:
                    await FinishOutputAsync(StreamClose).ConfigureAwait(false);
                    throw new IOException("the server closed the stream during the handshake");
                case FrameKind.Stanza when element!.Name == XmppNamespaces.Component + "handshake" && !element.HasElements:
                    return;
                default:
                    // XEP-0114 §3: the server answers the handshake before anything else.
                    throw new XmppProtocolException(StreamErrorCondition.UnsupportedStanzaType, $"expected <handshake/>, got <{element?.Name.LocalName}>");
            }
        }
        catch (XmppStreamException e) when (e is XmppProtocolException or StreamErrorException)
        {
            await AnswerFaultAsync(e).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Writes what RFC 6120 asks for after a stream fault, before the fault is rethrown: our stream error for a
    /// violation we detected (§4.9), our closing tag after the server's stream error (§4.4), a best-effort
    /// <c>connection-timeout</c> error to a silent peer (§4.6.3, §4.9.3.4).
    /// </summary>
    private Task AnswerFaultAsync(XmppStreamException fault)
    {
        switch (fault)
        {
            case XmppProtocolException e:
                return SendStreamErrorAsync(e);
            case StreamErrorException e:
                LogServerStreamError(_logger, e.ConditionName, e.Text);
                return FinishOutputAsync(StreamClose);
            case XmppStreamTimeoutException e:
                LogReadTimeout(_logger, e.Timeout);
                return FinishOutputAsync(StreamErrorBytes(StreamErrorCondition.ConnectionTimeout));
            default:
                return Task.CompletedTask;
        }
    }

    /// <summary>
    /// Closes the stream (RFC 6120 §4.4): writes <c>&lt;/stream:stream&gt;</c> after the stanzas already queued,
    /// half-closes the socket, waits (bounded) for a running <see cref="ReadStanzasAsync"/> to see the server's
    /// close, then releases the connection.
    /// </summary>
    public async Task CloseAsync(CancellationToken ct = default)
    {
        await FinishOutputAsync(StreamClose).ConfigureAwait(false);
        try
        {
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            LogCloseProblem(_logger, e);
        }
        bool active;
        lock (_gate) active = _readActive;
        if (active)
        {
            try
            {
                await _readEnded.Task.WaitAsync(FinalWriteTimeout, ct).ConfigureAwait(false);
            }
            catch (TimeoutException e)
            {
                LogCloseProblem(_logger, e);
            }
        }
        await DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Aborts the connection: stops both loops and releases the socket. Does not write <c>&lt;/stream:stream&gt;</c>; use <see cref="CloseAsync"/> for a clean close.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            if (_disposed == 1) return;
            _disposed = 1;
        }
        _outbox.Writer.TryComplete();
        await _lifetime.CancelAsync().ConfigureAwait(false);
        try
        {
            await _writeLoop.WaitAsync(FinalWriteTimeout).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // The write loop's failure was already delivered to senders through the channel; keep it for diagnostics.
            LogCloseProblem(_logger, e);
        }
        // Closing the socket first unblocks a pending read or flush on a dead connection.
        _socket.Dispose();
        bool active;
        lock (_gate) active = _readActive;
        if (active)
        {
            try
            {
                await _readEnded.Task.WaitAsync(FinalWriteTimeout).ConfigureAwait(false);
            }
            catch (TimeoutException e)
            {
                LogCloseProblem(_logger, e);
            }
        }
        bool release;
        lock (_gate)
        {
            // A still-running enumeration releases the reader itself when it ends.
            release = !_readActive && !_readerCompleted;
            _readerCompleted |= release;
        }
        if (release) await _reader.CompleteAsync().ConfigureAwait(false);
        try
        {
            await _writer.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
        {
            LogCloseProblem(_logger, e);
        }
        await _stream.DisposeAsync().ConfigureAwait(false);
        _readTimeout?.Dispose();
        _lifetime.Dispose();
    }

    private static string EscapeAttribute(string value) =>
        value.Replace("&", "&amp;").Replace("<", "&lt;").Replace("'", "&apos;").Replace("\"", "&quot;");

    [LoggerMessage(EventId = 1100, Level = LogLevel.Debug, Message = "Connecting to XMPP component port {Host}:{Port} as {ComponentDomain}")]
    private static partial void LogConnecting(ILogger logger, string host, int port, string componentDomain);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Debug, Message = "XEP-0114 handshake accepted for {ComponentDomain}, stream id {StreamId}")]
    private static partial void LogAuthenticated(ILogger logger, string componentDomain, string streamId);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Debug, Message = "Server stream error <{Condition}/>: {Text}")]
    private static partial void LogServerStreamError(ILogger logger, string condition, string? text);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Debug, Message = "Closing the stream with <{Condition}/>: {Reason}")]
    private static partial void LogProtocolViolation(ILogger logger, string condition, string reason);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Debug, Message = "Problem while closing the XMPP connection")]
    private static partial void LogCloseProblem(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1105, Level = LogLevel.Debug, Message = "XMPP stream ended: {Reason}")]
    private static partial void LogStreamEnded(ILogger logger, StreamEndReason reason);

    [LoggerMessage(EventId = 1106, Level = LogLevel.Debug, Message = "No data from the XMPP server for {Timeout}; treating the connection as half-open")]
    private static partial void LogReadTimeout(ILogger logger, TimeSpan timeout);
}
