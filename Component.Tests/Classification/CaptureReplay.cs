using System.Collections.Concurrent;
using XmppRabbitComponent.Classification;

namespace XmppRabbitComponent.Tests.Classification;

/// <summary>What the stanzas of one scripted action produced: events (default routing), skip labels in order, and whether the missing-permission notice was raised.</summary>
public sealed record ActionOutcome(List<ExpectedEvent> Events, List<string> Skips, bool PermissionNotice);

/// <summary>
/// Replays captures from TestData/captures through ONE classifier (component domain <c>events.localhost</c>, local
/// domain <c>localhost</c>, 30 s copy-match window), stanza by stanza, in order, at the capture's relative timestamps.
/// Several captures in one call are the streams of one component process that reconnected between them: the
/// classifier's state carries over. Results are cached per call signature.
/// </summary>
public static class CaptureReplay
{
    private static readonly ConcurrentDictionary<string, IReadOnlyList<IReadOnlyDictionary<string, ActionOutcome>>> Cache = new();

    /// <summary>The outcome of every action of <paramref name="capture"/>, by action id (<c>prelude</c>, <c>S01</c>, …, <c>END</c>).</summary>
    public static IReadOnlyDictionary<string, ActionOutcome> Run(string capture) => Run([capture])[0];

    /// <summary>The outcomes of each of <paramref name="captures"/> (one dictionary per capture, same order), replayed through one classifier.</summary>
    public static IReadOnlyList<IReadOnlyDictionary<string, ActionOutcome>> Run(IReadOnlyList<string> captures) => Cache.GetOrAdd(string.Join('|', captures), _ =>
    {
        var classifier = new EventClassifier(new ClassifierSettings("events.localhost", ["localhost"], TimeSpan.FromSeconds(30), 1_000_000));
        var all = new List<IReadOnlyDictionary<string, ActionOutcome>>();
        foreach (var capture in captures)
        {
            var outcomes = new Dictionary<string, ActionOutcome>();
            foreach (var action in CaptureFile.Read(capture))
            {
                var outcome = new ActionOutcome([], [], false);
                foreach (var stanza in action.Stanzas)
                {
                    var result = classifier.Classify(stanza.Element, CaptureFile.Epoch + stanza.Offset);
                    outcome.Events.AddRange(result.Events.Select(ExpectedEvent.Of));
                    outcome.Skips.AddRange(result.Skips.Select(s => s.Label()));
                    if (result.PresencePermissionMissing) outcome = outcome with { PermissionNotice = true };
                }
                outcomes.Add(action.Id, outcome);
            }
            all.Add(outcomes);
        }
        return all;
    });
}
