using System.Net.Sockets;
using XmppRabbitComponent.Configuration;

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

/// <summary>
/// The XEP-0114 reconnect delay as a pure function: exponential backoff from <c>Xmpp:ReconnectMinDelay</c>, doubling
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

        // min * 2^(n-1), computed in doubles and capped before converting, so large counts cannot overflow.
        var exponent = Math.Min(Math.Max(consecutiveFailures - 1, 0), 62);
        var ticks = Math.Min(MinDelay.Ticks * Math.Pow(2, exponent), MaxDelay.Ticks);
        var delay = TimeSpan.FromTicks((long)(ticks / 2 + ticks / 2 * jitter01));
        return kind == FailureKind.AuthenticationRefused && delay < AuthFailureDelay ? AuthFailureDelay : delay;
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
