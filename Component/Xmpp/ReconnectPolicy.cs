using System.Net.Sockets;
using XmppRabbitComponent.Configuration;
using XmppRabbitComponent.Supervision;

namespace XmppRabbitComponent.Xmpp;

/// <summary>Why a connection attempt or session ended, as far as the reconnect delay is concerned.</summary>
public enum FailureKind
{
    /// <summary>The network: refused or reset connection, EOF, I/O error, timeout.</summary>
    Transport,
    /// <summary>A protocol violation we detected (we sent the stream error), or one the server reported after authentication.</summary>
    Protocol,
    /// <summary>The server refused the XEP-0114 §3 handshake (<c>not-authorized</c>, <c>host-unknown</c>): a wrong
    /// secret or component domain, which retrying quickly cannot fix.</summary>
    AuthenticationRefused,
}

/// <summary>What ended a session or attempt, as the reconnect loop needs it: the metric/log cause and the delay.</summary>
/// <param name="Cause">Low-cardinality cause name (the <c>cause</c> tag of <c>xmpp_component.stream.reconnects</c>).</param>
/// <param name="Kind">What failed.</param>
/// <param name="Delay">How long to wait before the next attempt.</param>
public readonly record struct ReconnectDecision(string Cause, FailureKind Kind, TimeSpan Delay);

/// <summary>
/// The XEP-0114 reconnect delay as a pure function (<see cref="Backoff"/>): exponential backoff from <c>Xmpp:ReconnectMinDelay</c>, doubling
/// per consecutive failure up to <c>Xmpp:ReconnectMaxDelay</c>, with "equal jitter" (half fixed, half random), and at
/// least <c>Xmpp:AuthFailureDelay</c> after a refused handshake so a wrong secret never hammers the server.
/// The caller counts consecutive failures and resets the count to zero once a session authenticates.
/// </summary>
public sealed class ReconnectPolicy
{
    /// <summary>Creates the policy.</summary>
    public ReconnectPolicy(TimeSpan minDelay, TimeSpan maxDelay, TimeSpan authFailureDelay)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(minDelay, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDelay, minDelay);
        ArgumentOutOfRangeException.ThrowIfLessThan(authFailureDelay, TimeSpan.Zero);
        MinDelay = minDelay;
        MaxDelay = maxDelay;
        AuthFailureDelay = authFailureDelay;
    }

    /// <summary>The policy configured by <paramref name="options"/>.</summary>
    public static ReconnectPolicy FromOptions(XmppOptions options) =>
        new(options.ReconnectMinDelay, options.ReconnectMaxDelay, options.AuthFailureDelay);

    /// <summary>First delay.</summary>
    public TimeSpan MinDelay { get; }
    /// <summary>Cap of the exponential delay.</summary>
    public TimeSpan MaxDelay { get; }
    /// <summary>Floor of the delay after a refused handshake.</summary>
    public TimeSpan AuthFailureDelay { get; }

    /// <summary>
    /// The delay before the next connection attempt.
    /// </summary>
    /// <param name="consecutiveFailures">Failures in a row so far, including the one just seen; 0 after a session
    /// that had authenticated (then the delay is the minimum, jittered).</param>
    /// <param name="kind">What failed.</param>
    /// <param name="jitter01">A random number in [0, 1]: 0 gives half the exponential delay, 1 all of it.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="consecutiveFailures"/> is negative or
    /// <paramref name="jitter01"/> is outside [0, 1] or NaN.</exception>
    public TimeSpan NextDelay(int consecutiveFailures, FailureKind kind, double jitter01)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(consecutiveFailures);
        if (double.IsNaN(jitter01) || jitter01 < 0 || jitter01 > 1)
            throw new ArgumentOutOfRangeException(nameof(jitter01), jitter01, "must be within [0, 1]");

        var delay = Backoff.Delay(consecutiveFailures - 1, MinDelay, MaxDelay, jitter01);
        return kind == FailureKind.AuthenticationRefused && delay < AuthFailureDelay ? AuthFailureDelay : delay;
    }

    /// <summary>
    /// The one place that maps an XMPP failure to its cause and delay. A refusal of the handshake of this very
    /// attempt says the secret or domain is wrong; the same conditions on a stream that had authenticated are
    /// ordinary stream errors (<see cref="FailureKind.Protocol"/>).
    /// </summary>
    /// <param name="failure">What ended the session or attempt; null for a clean end of stream.</param>
    /// <param name="authenticated">True when the session had authenticated before it ended.</param>
    /// <param name="consecutiveFailures">Failures in a row, including this one.</param>
    /// <param name="jitter01">A random number in [0, 1].</param>
    public ReconnectDecision Decide(Exception? failure, bool authenticated, int consecutiveFailures, double jitter01)
    {
        var kind = authenticated && failure is StreamErrorException ? FailureKind.Protocol : Classify(failure);
        return new ReconnectDecision(CauseName(failure), kind, NextDelay(consecutiveFailures, kind, jitter01));
    }

    /// <summary>
    /// Classifies what ended a connection attempt or session: a server <c>&lt;stream:error/&gt;</c> of
    /// <c>not-authorized</c> or <c>host-unknown</c> is <see cref="FailureKind.AuthenticationRefused"/> (XEP-0114 §3);
    /// other stream errors and our own protocol exceptions are <see cref="FailureKind.Protocol"/>; the rest is
    /// <see cref="FailureKind.Transport"/>.
    /// </summary>
    public static FailureKind Classify(Exception? exception) => exception switch
    {
        StreamErrorException { IsAuthenticationRefusal: true } => FailureKind.AuthenticationRefused,
        StreamErrorException or XmppProtocolException => FailureKind.Protocol,
        _ => FailureKind.Transport,
    };

    /// <summary>A short low-cardinality cause name for logs and the reconnect metric's <c>cause</c> tag.</summary>
    public static string CauseName(Exception? exception) => exception switch
    {
        null => "eof",
        XmppStreamException x => x.Cause,
        SocketException => "socket",
        IOException => "io",
        TimeoutException => "timeout",
        _ => "other",
    };
}
