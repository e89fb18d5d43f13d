using System.Net.Sockets;
using System.Xml.Linq;
using Microsoft.Extensions.Options;
using XmppRabbitComponent.Classification;
using XmppRabbitComponent.Configuration;
using XmppRabbitComponent.Events;
using XmppRabbitComponent.HighAvailability;
using XmppRabbitComponent.Observability;
using XmppRabbitComponent.Publishing;
using XmppRabbitComponent.Xmpp;

namespace XmppRabbitComponent.Hosting;

/// <summary>
/// Owns the whole XMPP side (docs/events.md, docs/publishing.md): connect → handshake → read stanzas → answer IQs / classify →
/// hand events to the publisher, then back off and reconnect when the stream ends (docs/publishing.md, "Reconnecting"). One loop,
/// awaited by the host; nothing fire-and-forget. Each event is accepted by the publisher before the next
/// stanza is read, so a full buffer (backpressure policy) stops reading and the XMPP server buffers, and
/// nothing already read is lost on a reconnect. With the election on (<see cref="IRoleGate"/>), the stream is opened only
/// while this instance holds the lease, and closed like on stop when another instance took it
/// (<c>docs/high-availability.md</c>).
/// </summary>
public sealed partial class XmppComponentService(
    IOptions<XmppOptions> xmppOptions,
    IOptions<EventPusherOptions> pusherOptions,
    IEventPublisher publisher,
    ComponentMetrics metrics,
    ComponentState state,
    TimeProvider time,
    ILogger<XmppComponentService> logger,
    IRoleGate? gate = null) : BackgroundService
{
    private readonly IRoleGate _gate = gate ?? new AlwaysActiveGate();
    private readonly XmppOptions _xmpp = xmppOptions.Value;
    private readonly EventPusherOptions _pusher = pusherOptions.Value;
    private volatile bool _closing;

    /// <summary>How long a stop waits for the server's <c>&lt;/stream:stream&gt;</c> after sending ours (RFC 6120 §4.4), reading meanwhile.</summary>
    public static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(2);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The classifier lives across reconnects: presence state and copy matching survive a stream restart.
        var classifier = new EventClassifier(ClassifierSettings.From(_xmpp, _pusher));
        var policy = ReconnectPolicy.FromOptions(_xmpp);
        var failures = 0;
        LogStarting(_xmpp.Host, _xmpp.Port, _xmpp.ComponentDomain, string.Join(",", _xmpp.EffectiveLocalDomains()));
        while (!stoppingToken.IsCancellationRequested)
        {
            // Standby: wait here for the lease (docs/high-availability.md). The tenure token is cancelled when another
            // instance takes the lease: the stream is then closed as on stop, and the loop waits for the lease again.
            CancellationToken tenure;
            try { tenure = await _gate.WaitForActiveAsync(stoppingToken); }
            catch (OperationCanceledException) { break; }
            Exception? failure = null;
            var authenticated = false;
            try
            {
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, tenure);
                await using var connection = await ComponentConnection.ConnectAsync(_xmpp, logger, attempt.Token);
                failures = 0;
                authenticated = true;
                state.XmppAuthenticated = true;
                metrics.StreamUp(true);
                LogAuthenticated(_xmpp.ComponentDomain, _xmpp.Host, _xmpp.Port);
                var end = await ReadUntilEndOrStopAsync(connection, classifier, stoppingToken, tenure);
                if (end == StreamEnd.Stopped) break;
                if (end == StreamEnd.Ended) LogStreamEnded(_xmpp.Host, _xmpp.Port, connection.EndReason?.ToString() ?? "unknown");
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (OperationCanceledException) when (tenure.IsCancellationRequested)
            {
                // The lease went to another instance while connecting.
            }
            // Only a refusal of this attempt's handshake says the secret or domain is wrong; the same conditions on a
            // stream that had authenticated are ordinary stream errors (ReconnectPolicy: FailureKind.Protocol).
            catch (StreamErrorException e) when (e.IsAuthenticationRefusal && !authenticated)
            {
                failure = e;
                LogHandshakeRefused(e.ConditionName, _xmpp.ComponentDomain, _xmpp.AuthFailureDelay.TotalSeconds);
            }
            catch (StreamErrorException e)
            {
                failure = e;
                LogStreamError(e.ConditionName, e.Text ?? "");
            }
            catch (XmppProtocolException e)
            {
                failure = e;
                LogProtocolViolation(e.Cause, e.Message);
            }
            catch (Exception e) when (e is IOException or SocketException or XmppStreamException or System.Threading.Channels.ChannelClosedException)
            {
                failure = e;
                LogConnectionFailed(_xmpp.Host, _xmpp.Port, e.GetType().Name, e.Message);
            }
            catch (Exception e)
            {
                // Not a stream fault: a bug. Log it with its stack and recover like any other failure.
                failure = e;
                metrics.LoopFault("xmpp_stream");
                LogUnexpected(e);
            }
            finally
            {
                if (state.XmppAuthenticated) { state.XmppAuthenticated = false; metrics.StreamUp(false); }
            }

            if (tenure.IsCancellationRequested && !stoppingToken.IsCancellationRequested)
            {
                // Handing the stream over is not a fault: no reconnect counted, no backoff; wait for the lease again.
                LogYielded(_xmpp.ComponentDomain);
                continue;
            }

            var decision = policy.Decide(failure, authenticated, ++failures, Random.Shared.NextDouble());
            metrics.StreamReconnect(decision.Cause);
            LogReconnecting(decision.Delay.TotalSeconds, failures);
            try { await Task.Delay(decision.Delay, time, stoppingToken); }
            catch (OperationCanceledException) { break; }
        }
        LogStopped();
    }

    private enum StreamEnd
    {
        /// <summary>The stream ended (or failed) by itself: reconnect.</summary>
        Ended,
        /// <summary>The host stops: closed by us.</summary>
        Stopped,
        /// <summary>Another instance took the lease: closed by us; wait for the lease again.</summary>
        Yielded,
    }

    /// <summary>
    /// Reads and handles stanzas until the stream ends, the host stops, or another instance takes the lease
    /// (<paramref name="tenure"/> cancelled). On stop and on losing the lease the stream is closed as RFC 6120 §4.4
    /// asks: our <c>&lt;/stream:stream&gt;</c> is sent, and what the server still sends is read and classified until its
    /// own close, or until <see cref="CloseTimeout"/> passes; only then does the host go on to stop the publisher, which
    /// drains to the broker (on losing the lease the publisher simply goes on publishing). Nothing the server had already
    /// sent is lost (<c>docs/publishing.md</c>, "Shutdown"; <c>docs/high-availability.md</c>, rule 4).
    /// </summary>
    private async Task<StreamEnd> ReadUntilEndOrStopAsync(ComponentConnection connection, EventClassifier classifier, CancellationToken stoppingToken, CancellationToken tenure)
    {
        _closing = false;
        using var reading = new CancellationTokenSource();
        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var onStop = stoppingToken.Register(() => stop.TrySetResult());
        await using var onYield = tenure.Register(() => stop.TrySetResult());
        var read = ReadAllAsync(connection, classifier, reading.Token);
        if (await Task.WhenAny(read, stop.Task) == read)
        {
            await read; // the stream ended (or failed) by itself
            return StreamEnd.Ended;
        }

        var yielding = !stoppingToken.IsCancellationRequested;
        if (yielding) LogClosingOnYield(_xmpp.Host, _xmpp.Port);
        else LogClosingOnStop(_xmpp.Host, _xmpp.Port);
        _closing = true;
        reading.CancelAfter(CloseTimeout);
        // Sends </stream:stream>, waits (at most CloseTimeout) for the server's close seen by the read loop, then releases the socket.
        await connection.CloseAsync(CancellationToken.None);
        try
        {
            await read;
            LogClosedOnStop(connection.EndReason?.ToString() ?? "timeout");
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException or XmppStreamException)
        {
            LogClosedOnStop($"{e.GetType().Name} after the close ({e.Message})");
        }
        return yielding ? StreamEnd.Yielded : StreamEnd.Stopped;
    }

    private async Task ReadAllAsync(ComponentConnection connection, EventClassifier classifier, CancellationToken ct)
    {
        // Events of stanzas that arrived together go to the workers together: one wake-up per worker and socket read.
        connection.BeforeSocketRead = publisher.WakeWorkers;
        try
        {
            await foreach (var stanza in connection.ReadStanzasAsync(ct))
                await HandleAsync(connection, classifier, stanza, ct);
        }
        finally
        {
            publisher.WakeWorkers();
        }
    }

    private async Task HandleAsync(ComponentConnection connection, EventClassifier classifier, XElement stanza, CancellationToken ct)
    {
        var name = stanza.Name.LocalName;
        metrics.StanzaReceived(name is "message" or "presence" or "iq" ? name : "other");
        if (name == "iq")
        {
            var reply = IqResponder.Respond(stanza, _xmpp.ComponentDomain);
            // After our close nothing more may be written (RFC 6120 §4.4); the server answers an unanswered IQ itself.
            if (reply is not null && !_closing) await connection.SendAsync(reply, ct);
        }

        var result = classifier.Classify(stanza, time.GetUtcNow());
        if (result.Skip is { } reason) metrics.StanzaSkipped(reason.Label());
        // The classifier raises this once per advertisement that takes presence away, so log every time.
        if (result.PresencePermissionMissing) LogNoPresencePrivilege();
        if (result.Fault is { } fault) LogClassifierFault(fault, name);
        if (result.Event is { } e)
        {
            metrics.EventProduced(e.Kind.Name());
            try
            {
                await publisher.EnqueueDeferredAsync(e, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // The close deadline passed while the buffer was full (backpressure): this event is lost, and counted.
                metrics.EventDropped("shutdown");
                throw;
            }
        }
    }

    [LoggerMessage(EventId = 1000, Level = LogLevel.Information, Message = "XMPP component starting: server {Host}:{Port}, component domain {ComponentDomain}, local domains {LocalDomains}")]
    private partial void LogStarting(string host, int port, string componentDomain, string localDomains);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "XMPP stream authenticated as {ComponentDomain} at {Host}:{Port}")]
    private partial void LogAuthenticated(string componentDomain, string host, int port);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "XMPP stream with {Host}:{Port} ended: {EndReason}")]
    private partial void LogStreamEnded(string host, int port, string endReason);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Error, Message = "XMPP handshake refused ({Condition}): the component secret (Xmpp:Secret) or the component domain {ComponentDomain} (Xmpp:ComponentDomain) is wrong for this server; retrying in no less than {AuthFailureDelaySeconds} s")]
    private partial void LogHandshakeRefused(string condition, string componentDomain, double authFailureDelaySeconds);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, Message = "XMPP stream error from the server: {Condition}. {Detail}")]
    private partial void LogStreamError(string condition, string detail);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Warning, Message = "XMPP protocol violation by the server stream, closed with {Condition}: {Detail}")]
    private partial void LogProtocolViolation(string condition, string detail);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Warning, Message = "XMPP connection to {Host}:{Port} failed ({ErrorType}): {Detail}")]
    private partial void LogConnectionFailed(string host, int port, string errorType, string detail);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Information, Message = "XMPP reconnect in {DelaySeconds:0.0} s (consecutive failures: {Failures})")]
    private partial void LogReconnecting(double delaySeconds, int failures);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Warning, Message = "The server's privilege advertisement (XEP-0356) grants no presence permission: presence events will come only from forwarded copies and presence sent to the component")]
    private partial void LogNoPresencePrivilege();

    [LoggerMessage(EventId = 1010, Level = LogLevel.Error, Message = "Classifier failed on a {StanzaKind} stanza; the stanza was skipped and counted (classifier_fault)")]
    private partial void LogClassifierFault(Exception exception, string stanzaKind);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Error, Message = "Unexpected failure in the XMPP loop; reconnecting")]
    private partial void LogUnexpected(Exception exception);

    [LoggerMessage(EventId = 1012, Level = LogLevel.Information, Message = "Stopping: closing the XMPP stream with {Host}:{Port} and reading what the server still sends")]
    private partial void LogClosingOnStop(string host, int port);

    [LoggerMessage(EventId = 1013, Level = LogLevel.Information, Message = "XMPP stream closed on stop: {EndReason}")]
    private partial void LogClosedOnStop(string endReason);

    [LoggerMessage(EventId = 1014, Level = LogLevel.Warning, Message = "Another instance holds the lease: closing the XMPP stream with {Host}:{Port} and reading what the server still sends")]
    private partial void LogClosingOnYield(string host, int port);

    [LoggerMessage(EventId = 1015, Level = LogLevel.Warning, Message = "XMPP stream for {ComponentDomain} closed: another instance holds the lease; this instance is a standby now")]
    private partial void LogYielded(string componentDomain);

    [LoggerMessage(EventId = 1009, Level = LogLevel.Information, Message = "XMPP component stopped")]
    private partial void LogStopped();
}
