namespace XmppRabbitComponent.Publishing;

/// <summary>
/// Reconnect delays (issue "Connection lifecycle"): exponential from <c>Rabbit:ReconnectMinDelay</c>, doubling per
/// failed attempt, capped at <c>Rabbit:ReconnectMaxDelay</c>, with "equal jitter" (a uniform value between half and
/// all of the capped delay) so that many components do not reconnect in lock-step. Pure: the random value is a parameter.
/// </summary>
internal static class Backoff
{
    /// <summary>The delay before retry number <paramref name="attempt"/> (0-based); <paramref name="random01"/> in [0, 1).</summary>
    public static TimeSpan Delay(int attempt, TimeSpan min, TimeSpan max, double random01)
    {
        var exp = Math.Min(Math.Max(attempt, 0), 30);
        var capped = Math.Min(min.Ticks * Math.Pow(2, exp), max.Ticks);
        var ticks = capped * (0.5 + 0.5 * Math.Clamp(random01, 0, 1));
        return TimeSpan.FromTicks(Math.Max(min.Ticks / 2, (long)ticks));
    }
}
