using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using XmppRabbitComponent.Observability;

namespace XmppRabbitComponent.Tests.Support;

/// <summary>
/// Records every measurement of the component's meter in-process (a <see cref="MeterListener"/>), optionally
/// only of the meter created by one host's <see cref="IMeterFactory"/> so that hosts started by earlier tests
/// in the same process never count. Sums per instrument and tag set.
/// </summary>
public sealed class MetricsProbe : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, double> _sums = new();
    private readonly ConcurrentDictionary<string, long> _counts = new();
    private readonly ConcurrentDictionary<string, double> _last = new();

    /// <summary>Listens to the meter named <see cref="ComponentMetrics.MeterName"/> of <paramref name="scope"/> (null: any).</summary>
    public MetricsProbe(object? scope = null)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == ComponentMetrics.MeterName && (scope is null || ReferenceEquals(instrument.Meter.Scope, scope)))
                listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _listener.Start();
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        foreach (var key in Keys(instrument.Name, tags))
        {
            _sums.AddOrUpdate(key, value, (_, old) => old + value);
            _counts.AddOrUpdate(key, 1, (_, old) => old + 1);
            _last[key] = value;
        }
    }

    // The instrument alone, and the instrument with each tag, so tests can ask either.
    private static IEnumerable<string> Keys(string name, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var keys = new List<string> { name };
        foreach (var t in tags) keys.Add($"{name}|{t.Key}={t.Value}");
        return keys;
    }

    /// <summary>Sum of the values recorded on <paramref name="instrument"/> (with <paramref name="tag"/> <c>key=value</c> when given).</summary>
    public double Sum(string instrument, string? tag = null) => _sums.GetValueOrDefault(tag is null ? instrument : $"{instrument}|{tag}");

    /// <summary>The last value recorded on <paramref name="instrument"/> (with <paramref name="tag"/> when given): a gauge's value after <see cref="Observe"/>.</summary>
    public double Last(string instrument, string? tag = null) => _last.GetValueOrDefault(tag is null ? instrument : $"{instrument}|{tag}", double.NaN);

    /// <summary>Number of measurements recorded on <paramref name="instrument"/> (with <paramref name="tag"/> when given).</summary>
    public long Count(string instrument, string? tag = null) => _counts.GetValueOrDefault(tag is null ? instrument : $"{instrument}|{tag}");

    /// <summary>Sum for <c>instrument</c> or <c>instrument:reason</c> (the <c>reason</c> tag), as a whole number.</summary>
    public long this[string key] => key.Split(':', 2) is [var name, var reason] ? (long)Sum(name, "reason=" + reason) : (long)Sum(key);

    /// <summary>Reads observable instruments now.</summary>
    public void Observe() => _listener.RecordObservableInstruments();

    /// <inheritdoc />
    public void Dispose() => _listener.Dispose();
}
