using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Text;
using System.Xml.Linq;

namespace XmppRabbitComponent.Xmpp;

public sealed partial class ComponentConnection
{
    /// <summary>
    /// The stanzas of the stream, each yielded as soon as its last byte arrives. Enumerate once.
    /// Ends normally on <c>&lt;/stream:stream&gt;</c> or EOF; <see cref="EndReason"/> then tells which.
    /// </summary>
    /// <exception cref="StreamErrorException">The server sent <c>&lt;stream:error/&gt;</c> (e.g. <c>conflict</c>,
    /// <c>system-shutdown</c>); we answered with <c>&lt;/stream:stream&gt;</c>.</exception>
    /// <exception cref="XmppProtocolException">The server violated a limit or rule; the matching
    /// <c>&lt;stream:error/&gt;</c> and <c>&lt;/stream:stream&gt;</c> were written before this is thrown.</exception>
    /// <exception cref="XmppStreamTimeoutException">No byte for <c>Xmpp:ReadTimeout</c> (<see cref="XmppTimeoutKind.Read"/>).</exception>
    /// <exception cref="IOException">The socket failed.</exception>
    public async IAsyncEnumerable<XElement> ReadStanzasAsync([EnumeratorCancellation] CancellationToken ct = default)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed == 1, this);
            if (_reading == 1) throw new InvalidOperationException("ReadStanzasAsync can be enumerated only once per connection.");
            _reading = 1;
            _readActive = true;
        }
        try
        {
            while (true)
            {
                (FrameKind? Kind, XElement? Element) next;
                try
                {
                    next = await ReadNextAsync(ct).ConfigureAwait(false);
                }
                catch (XmppStreamException e) when (e is XmppProtocolException or StreamErrorException or XmppStreamTimeoutException)
                {
                    await AnswerFaultAsync(e).ConfigureAwait(false);
                    throw;
                }

                if (next.Kind is null)
                {
                    EndReason = Volatile.Read(ref _closeSent) == 1 ? StreamEndReason.ClosedLocally : StreamEndReason.ConnectionClosed;
                    LogStreamEnded(_logger, EndReason.Value);
                    yield break;
                }
                if (next.Kind == FrameKind.StreamEnd)
                {
                    EndReason = Volatile.Read(ref _closeSent) == 1 ? StreamEndReason.ClosedLocally : StreamEndReason.ServerClosedStream;
                    LogStreamEnded(_logger, EndReason.Value);
                    // RFC 6120 §4.4: answer the server's close with ours.
                    await FinishOutputAsync(StreamClose).ConfigureAwait(false);
                    yield break;
                }
                yield return next.Element!;
            }
        }
        finally
        {
            // The PipeReader belongs to this enumeration while it runs; if the connection was disposed meanwhile,
            // releasing it is our job (DisposeAsync must not pull buffers from under a running read).
            bool release;
            lock (_gate)
            {
                _readActive = false;
                release = _disposed == 1 && !_readerCompleted;
                _readerCompleted |= release;
            }
            if (release) await _reader.CompleteAsync().ConfigureAwait(false);
            _readEnded.TrySetResult();
        }
    }

    /// <summary>
    /// Reads until the framer cuts the next frame and parses it while its bytes are still held. Returns
    /// <c>(null, null)</c> at EOF. The remainder of the buffer is kept for the next call, so frames that arrived
    /// together are returned without another read and each one as soon as its last byte is in.
    /// </summary>
    private async ValueTask<(FrameKind? Kind, XElement? Element)> ReadNextAsync(CancellationToken ct)
    {
        while (true)
        {
            if (!_hasPending)
            {
                _pending = await ReadWithTimeoutAsync(ct).ConfigureAwait(false);
                _hasPending = true;
            }

            var buffer = _pending.Buffer;
            if (_framer.TryReadFrame(ref buffer, out var frame))
            {
                XElement? element = null;
                switch (frame.Kind)
                {
                    case FrameKind.StreamHeader:
                        ServerHeader = StanzaParser.ParseHeader(frame.Bytes);
                        _parser = new StanzaParser(ServerHeader);
                        break;
                    case FrameKind.Stanza:
                        element = _parser!.Parse(frame.Bytes); // the framer emits a stanza only after the header
                        break;
                }
                _pending = new ReadResult(buffer, isCanceled: false, _pending.IsCompleted);
                return (frame.Kind, element);
            }

            _reader.AdvanceTo(buffer.Start, buffer.End);
            _hasPending = false;
            if (_pending.IsCompleted)
            {
                if (_framer.HasPartialFrame) LogCloseProblem(_logger, new IOException("EOF inside a stanza; its bytes are dropped"));
                return (null, null);
            }
        }
    }

    /// <summary>
    /// Called by the reading enumeration before each wait for more bytes from the socket, that is, when every stanza
    /// received so far has been yielded (a consumer that holds back work while more stanzas are at hand does it now).
    /// Runs on the reading task; an exception from it ends the enumeration. Null: nothing is called.
    /// </summary>
    public Action? BeforeSocketRead { get; set; }

    private async ValueTask<ReadResult> ReadWithTimeoutAsync(CancellationToken ct)
    {
        BeforeSocketRead?.Invoke();
        // One timeout source per caller token, re-armed for each read; replaced only once it has fired (a read that
        // timed out ends the stream, so that happens only when handling the previous frames outlasted the timeout).
        if (_readTimeout is null || _readTimeoutFor != ct || !_readTimeout.TryReset())
        {
            _readTimeout?.Dispose();
            _readTimeout = CancellationTokenSource.CreateLinkedTokenSource(ct, _lifetime.Token);
            _readTimeoutFor = ct;
        }
        var timeout = _readTimeout;
        timeout.CancelAfter(_options.ReadTimeout);
        try
        {
            return await _reader.ReadAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested && !_lifetime.IsCancellationRequested)
        {
            throw new XmppStreamTimeoutException(XmppTimeoutKind.Read, _options.ReadTimeout);
        }
    }

    private async Task SendStreamErrorAsync(XmppProtocolException e)
    {
        LogProtocolViolation(_logger, e.Condition.ToWireName(), e.Message);
        await FinishOutputAsync(StreamErrorBytes(e.Condition)).ConfigureAwait(false);
    }

    /// <summary>RFC 6120 §4.9.2: <c>&lt;stream:error&gt;&lt;CONDITION xmlns='urn:ietf:params:xml:ns:xmpp-streams'/&gt;&lt;/stream:error&gt;&lt;/stream:stream&gt;</c>.</summary>
    internal static byte[] StreamErrorBytes(StreamErrorCondition condition) => Encoding.ASCII.GetBytes(
        $"<stream:error><{condition.ToWireName()} xmlns='{StreamErrorConditions.Namespace}'/></stream:error></stream:stream>");
}
