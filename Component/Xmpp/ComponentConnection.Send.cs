using System.Buffers;
using System.Threading.Channels;
using System.Xml.Linq;

namespace XmppRabbitComponent.Xmpp;

public sealed partial class ComponentConnection
{
    /// <summary>
    /// Queues <paramref name="stanza"/> for the write loop (serialized by <see cref="StanzaWriter"/>: in the component
    /// namespace without a stray <c>xmlns</c>, values escaped). Waits while the bounded queue is full.
    /// </summary>
    /// <exception cref="ChannelClosedException">The stream is closing, or the write loop failed (then
    /// <see cref="Exception.InnerException"/> is the I/O error).</exception>
    /// <exception cref="ArgumentException">The stanza holds characters not allowed in XML 1.0.</exception>
    public ValueTask SendAsync(XElement stanza, CancellationToken ct = default)
    {
        var bytes = StanzaWriter.Serialize(stanza);
        return _outbox.Writer.WriteAsync(bytes, ct);
    }

    /// <summary>
    /// The one owner of the <c>PipeWriter</c>: drains the outbox, and writes one space after
    /// <c>Xmpp:KeepaliveInterval</c> of silence (RFC 6120 §4.6.1). If it fails it completes the outbox with the
    /// exception so senders fail instead of hanging.
    /// </summary>
    private async Task WriteLoopAsync()
    {
        await Task.Yield(); // run apart from the constructor
        var reader = _outbox.Reader;
        var token = _lifetime.Token;
        // One idle timer source, re-armed for each wait; replaced only after it fired (a keepalive was due).
        var idle = CancellationTokenSource.CreateLinkedTokenSource(token);
        try
        {
            while (true)
            {
                bool more;
                if (!idle.TryReset())
                {
                    idle.Dispose();
                    idle = CancellationTokenSource.CreateLinkedTokenSource(token);
                }
                idle.CancelAfter(_options.KeepaliveInterval);
                try
                {
                    more = await reader.WaitToReadAsync(idle.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!token.IsCancellationRequested)
                {
                    _writer.Write(" "u8);
                    await FlushAsync(token).ConfigureAwait(false);
                    continue;
                }
                if (!more) return; // completed: the final bytes (if any) were written
                while (reader.TryRead(out var bytes)) _writer.Write(bytes.Span);
                await FlushAsync(token).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            _outbox.Writer.TryComplete(e);
            throw;
        }
        finally
        {
            idle.Dispose();
        }
    }

    private async ValueTask FlushAsync(CancellationToken token)
    {
        var result = await _writer.FlushAsync(token).ConfigureAwait(false);
        if (result.IsCompleted) throw new IOException("the connection no longer accepts output");
    }

    /// <summary>
    /// Queues the last bytes of the stream (a stream error and/or <c>&lt;/stream:stream&gt;</c>) after what is
    /// queued, completes the outbox and waits, bounded, for the write loop to flush them. Only the first call writes.
    /// Best effort: the peer may already be gone, which is logged, not thrown.
    /// </summary>
    private async Task FinishOutputAsync(ReadOnlyMemory<byte> final)
    {
        if (Interlocked.Exchange(ref _closeSent, 1) == 1) return;
        using var deadline = new CancellationTokenSource(FinalWriteTimeout);
        try
        {
            await _outbox.Writer.WriteAsync(final, deadline.Token).ConfigureAwait(false);
            _outbox.Writer.TryComplete();
            await _writeLoop.WaitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException or IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            _outbox.Writer.TryComplete();
            LogCloseProblem(_logger, e);
        }
    }
}
