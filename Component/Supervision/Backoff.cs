namespace XmppRabbitComponent.Supervision;

/// <summary>
/// The one backoff function of the component, used by the XMPP reconnect loop (<c>Xmpp:ReconnectMinDelay</c>,
/// <c>Xmpp:ReconnectMaxDelay</c>), the broker connection loop and the publishing workers (<c>Rabbit:ReconnectMinDelay</c>,
/// <c>Rabbit:ReconnectMaxDelay</c>) and the supervisor that restarts a faulted loop: exponential from
/// the minimum delay, doubling per failed attempt, capped at the maximum delay, with "equal jitter" (a
/// uniform value between half and all of the capped delay) so that many instances do not retry in lock-step.
/// Pure: the random value is a parameter. See <c>docs/publishing.md</c>, "Reconnecting".
/// </summary>
internal static class Backoff
{
    /// <summary>The delay before retry number <paramref name="attempt"/> (0-based; negative counts as 0).</summary>
    /// <param name="attempt">Failed attempts before this one, minus one: 0 gives a delay between min/2 and min.</param>
    /// <param name="min">The first (uncapped) delay.</param>
    /// <param name="max">The cap of the exponential delay.</param>
    /// <param name="random01">A random number in [0, 1]: 0 gives half the capped delay, 1 all of it. Clamped.</param>
    public static TimeSpan Delay(int attempt, TimeSpan min, TimeSpan max, double random01)
    {
        // min * 2^attempt, computed in doubles and capped before converting, so large counts cannot overflow.
        var exp = Math.Min(Math.Max(attempt, 0), 62);
        var capped = Math.Min(min.Ticks * Math.Pow(2, exp), max.Ticks);
        var jitter = double.IsNaN(random01) ? 1 : Math.Clamp(random01, 0, 1);
        return TimeSpan.FromTicks((long)(capped / 2 + capped / 2 * jitter));
    }
}
