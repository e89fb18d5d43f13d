using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace XmppRabbitComponent.Benchmarks;

/// <summary>
/// The server side of XEP-0114 on loopback, for one component connection: sends its stream header with an id,
/// checks the &lt;handshake&gt; digest (lowercase hex SHA-1 of id + secret, computed here independently of the
/// product), answers &lt;handshake/&gt;, waits for <see cref="Go"/>, then writes the pre-generated stanza bytes
/// as fast as the socket takes them. What the component writes afterwards (keepalives, its stream close) is read
/// and discarded.
/// </summary>
public sealed class FakeXmppServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly TaskCompletionSource _authenticated = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _go = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<long> _firstByte = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<long> _endReply = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<NetworkStream> _stream = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _serve;

    /// <summary>A server that writes nothing after the handshake until told to (<see cref="WriteAsync"/>, <see cref="WritePaced"/>).</summary>
    public FakeXmppServer(string secret) : this(null, secret) { }

    /// <summary>A server that writes <paramref name="stanzas"/> and a ping on <see cref="Go"/> (null: nothing).</summary>
    public FakeXmppServer(byte[]? stanzas, string secret)
    {
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _serve = Task.Run(() => ServeAsync(stanzas, secret, _stop.Token));
    }

    public int Port { get; }

    /// <summary>Completes when the component's handshake was accepted.</summary>
    public Task Authenticated => _authenticated.Task;

    /// <summary>Stopwatch timestamp taken just before the first stanza byte is written.</summary>
    public Task<long> FirstByte => _firstByte.Task;

    /// <summary>
    /// Stopwatch timestamp when the component's answer to the ping IQ written after the last stanza arrived:
    /// the component has read and handled every stanza before it (one reader, in order).
    /// </summary>
    public Task<long> EndReply => _endReply.Task;

    /// <summary>Written after the stanzas; the component answers it (XEP-0199).</summary>
    private static readonly byte[] EndPing = Encoding.UTF8.GetBytes(
        $"<iq type='get' id='bench-end' from='localhost' to='{Workload.ComponentDomain}'><ping xmlns='urn:xmpp:ping'/></iq>");

    /// <summary>Lets the server write the stanzas.</summary>
    public void Go() => _go.TrySetResult();

    /// <summary>
    /// Writes <paramref name="bytes"/> in 64 KiB writes as fast as the socket takes them, once authenticated;
    /// returns the Stopwatch timestamp taken just before the first byte.
    /// </summary>
    public async Task<long> WriteAsync(ReadOnlyMemory<byte> bytes)
    {
        var stream = await _stream.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var t0 = Stopwatch.GetTimestamp();
        const int chunk = 64 * 1024;
        for (var off = 0; off < bytes.Length; off += chunk)
            await stream.WriteAsync(bytes.Slice(off, Math.Min(chunk, bytes.Length - off)), _stop.Token);
        return t0;
    }

    /// <summary>
    /// Writes the stanzas of <paramref name="w"/> on this thread at <paramref name="eventsPerSecond"/> (each stanza
    /// when the events before it are due; what is due in one wake-up is written in one write), for at most
    /// <paramref name="duration"/> or until <paramref name="stop"/>. Fills <paramref name="written"/> (one
    /// Stopwatch timestamp per stanza index, 0 when not written) and returns how many stanzas were written.
    /// </summary>
    public int WritePaced(Workload w, double eventsPerSecond, TimeSpan duration, long[] written, CancellationToken stop)
    {
        var stream = _stream.Task.WaitAsync(TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
        var start = Stopwatch.GetTimestamp();
        var end = start + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var next = 0;
        double eventsSoFar = 0;
        while (next < w.Index.Count && !stop.IsCancellationRequested)
        {
            var now = Stopwatch.GetTimestamp();
            if (now >= end) break;
            var dueEvents = (now - start) * eventsPerSecond / Stopwatch.Frequency;
            var first = next;
            while (next < w.Index.Count && eventsSoFar <= dueEvents) eventsSoFar += w.Index[next++].Events;
            if (next == first) { Thread.Sleep(1); continue; }
            var from = w.Index[first].Offset;
            var to = w.Index[next - 1].Offset + w.Index[next - 1].Length;
            var at = Stopwatch.GetTimestamp();
            stream.Write(w.Stanzas, from, to - from);
            for (var k = first; k < next; k++) written[k] = at;
        }
        return next;
    }

    private async Task ServeAsync(byte[]? stanzas, string secret, CancellationToken ct)
    {
        try
        {
            using var socket = await _listener.AcceptSocketAsync(ct);
            socket.NoDelay = true;
            await using var stream = new NetworkStream(socket, ownsSocket: false);
            var received = new StringBuilder();
            var buf = new byte[4096];

            async Task ReadUntilAsync(Func<string, bool> done)
            {
                while (!done(received.ToString()))
                {
                    var n = await stream.ReadAsync(buf, ct);
                    if (n == 0) throw new IOException("the component closed the connection during the handshake");
                    received.Append(Encoding.UTF8.GetString(buf, 0, n));
                }
            }

            await ReadUntilAsync(s => s.IndexOf("<stream:stream", StringComparison.Ordinal) is var i and >= 0 && s.IndexOf('>', i) >= 0);
            var id = RandomNumberGenerator.GetHexString(16, lowercase: true);
            await stream.WriteAsync(Encoding.UTF8.GetBytes(
                $"<?xml version='1.0'?><stream:stream id='{id}' xml:lang='en' xmlns:stream='http://etherx.jabber.org/streams' from='{Workload.ComponentDomain}' xmlns='jabber:component:accept'>"), ct);

            received.Clear();
            await ReadUntilAsync(s => s.Contains("</handshake>", StringComparison.Ordinal));
            var text = received.ToString();
            var start = text.IndexOf("<handshake>", StringComparison.Ordinal) + "<handshake>".Length;
            var digest = text[start..text.IndexOf("</handshake>", StringComparison.Ordinal)];
#pragma warning disable CA5350 // XEP-0114 mandates SHA-1
            var expected = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(id + secret)));
#pragma warning restore CA5350
            if (digest != expected)
            {
                await stream.WriteAsync("<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>"u8.ToArray(), ct);
                throw new InvalidOperationException("handshake digest mismatch");
            }
            await stream.WriteAsync("<handshake/>"u8.ToArray(), ct);
            _authenticated.TrySetResult();

            // Discard whatever the component writes from now on, so that it never blocks on a full socket.
            var drain = Task.Run(async () =>
            {
                var tail = "";
                try
                {
                    int n;
                    while ((n = await stream.ReadAsync(buf, ct)) > 0)
                    {
                        tail = (tail + Encoding.UTF8.GetString(buf, 0, n))[^Math.Min(tail.Length + n, 512)..];
                        if (tail.Contains("'bench-end'", StringComparison.Ordinal) || tail.Contains("\"bench-end\"", StringComparison.Ordinal))
                            _endReply.TrySetResult(Stopwatch.GetTimestamp());
                    }
                }
                catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException) { }
            }, CancellationToken.None);

            _stream.TrySetResult(stream);
            if (stanzas is null)
            {
                await drain;
                return;
            }
            await _go.Task.WaitAsync(ct);
            _firstByte.TrySetResult(Stopwatch.GetTimestamp());
            const int chunk = 64 * 1024;
            for (var off = 0; off < stanzas.Length; off += chunk)
                await stream.WriteAsync(stanzas.AsMemory(off, Math.Min(chunk, stanzas.Length - off)), ct);
            await stream.WriteAsync(EndPing, ct);
            await drain;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            // Stopped, or the component went away: the benchmark's own checks report what is missing.
        }
        catch (Exception e)
        {
            _authenticated.TrySetException(e);
            _firstByte.TrySetException(e);
            _endReply.TrySetException(e);
        }
        finally
        {
            _authenticated.TrySetException(new IOException("the fake server stopped before the handshake"));
            _firstByte.TrySetException(new IOException("the fake server stopped before writing"));
            _endReply.TrySetException(new IOException("the fake server stopped before the end reply"));
            _stream.TrySetException(new IOException("the fake server stopped before the handshake"));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try { await _serve.WaitAsync(TimeSpan.FromSeconds(5)); } catch (TimeoutException) { }
        _stop.Dispose();
    }
}
