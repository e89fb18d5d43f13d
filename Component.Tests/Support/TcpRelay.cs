using System.Net;
using System.Net.Sockets;

namespace XmppRabbitComponent.Tests.Support;

/// <summary>
/// A TCP relay on loopback between a client and a real server, so a test can cut the connections in between
/// (<see cref="CutAll"/>) while both ends stay up: the component's stream to the XMPP server drops, the users' sessions
/// on the server stay. Each accepted connection gets its own connection to the target; bytes are copied both ways
/// until either side closes. Every pump task is owned and awaited on dispose.
/// </summary>
public sealed class TcpRelay : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<(TcpClient Client, TcpClient Server)> _pairs = [];
    private readonly List<Task> _pumps = [];
    private readonly Task _accepting;

    /// <summary>Starts relaying connections to <paramref name="host"/>:<paramref name="port"/>.</summary>
    public TcpRelay(string host, int port)
    {
        _targetHost = host;
        _targetPort = port;
        _listener.Start();
        _accepting = AcceptLoopAsync();
    }

    /// <summary>The port to connect to instead of the target's.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Connections accepted so far.</summary>
    public int Accepted { get; private set; }

    /// <summary>Closes every relayed connection on both sides now (a TCP close, no stream close); new connections are still relayed.</summary>
    public void CutAll()
    {
        lock (_pairs)
        {
            foreach (var (client, server) in _pairs) { client.Dispose(); server.Dispose(); }
            _pairs.Clear();
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { return; }
            var server = new TcpClient { NoDelay = true };
            try { await server.ConnectAsync(_targetHost, _targetPort, _stop.Token); }
            catch (Exception e) when (e is OperationCanceledException or SocketException)
            {
                client.Dispose(); server.Dispose();
                continue;
            }
            lock (_pairs)
            {
                Accepted++;
                _pairs.Add((client, server));
                _pumps.Add(PumpAsync(client, server));
                _pumps.Add(PumpAsync(server, client));
            }
        }
    }

    private async Task PumpAsync(TcpClient from, TcpClient to)
    {
        try { await from.GetStream().CopyToAsync(to.GetStream(), _stop.Token); }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or InvalidOperationException) { }
        // One side ended: end the other too, as a direct connection would.
        from.Dispose();
        to.Dispose();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        CutAll();
        await _accepting;
        Task[] pumps;
        lock (_pairs) pumps = [.. _pumps];
        await Task.WhenAll(pumps);
        _stop.Dispose();
    }
}
