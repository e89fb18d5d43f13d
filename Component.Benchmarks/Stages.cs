using System.Buffers;
using System.Diagnostics;
using XmppRabbitComponent.Classification;
using XmppRabbitComponent.Configuration;
using XmppRabbitComponent.Events;
using XmppRabbitComponent.Xmpp;

namespace XmppRabbitComponent.Benchmarks;

/// <summary>
/// The XMPP side alone, in memory, on one thread, stage by stage over the workload: framing; + parsing;
/// + classification; + JSON (the bytes the publisher sends). Per stage: bytes allocated by this thread
/// (<see cref="GC.GetAllocatedBytesForCurrentThread"/>) and this thread's CPU time (<c>CLOCK_THREAD_CPUTIME_ID</c>),
/// so the figure holds on a busy machine as long as the core is not shared by hyperthreads; wall time besides.
/// </summary>
public static class Stages
{
    public enum Stage { Framing, Parsing, Classification, Json }

    public readonly record struct Result(Stage Stage, double BytesPerEvent, double CpuUsPerEvent, double EventsPerCpuSecond, double EventsPerWallSecond);

    public static IReadOnlyList<Result> Measure(Workload w, int reps)
    {
        var stream = new ReadOnlySequence<byte>([.. Workload.ServerHeader, .. w.Stanzas]);
        var events = w.Events.Count;
        var results = new List<Result>();
        foreach (var stage in Enum.GetValues<Stage>())
        {
            Run(stream, stage, events); // warm-up: tiered JIT, pools
            Run(stream, stage, events);
            var runs = Enumerable.Range(0, reps).Select(_ => Run(stream, stage, events)).ToList();
            results.Add(new Result(stage, Median(runs.Select(r => r.Bytes)) / events, Median(runs.Select(r => r.Cpu)) * 1e6 / events,
                events / Median(runs.Select(r => r.Cpu)), events / Median(runs.Select(r => r.Wall))));
        }
        return results;
    }

    private static (double Bytes, double Cpu, double Wall) Run(ReadOnlySequence<byte> stream, Stage stage, int expected)
    {
        var xmpp = new XmppOptions { ComponentDomain = Workload.ComponentDomain, Secret = Workload.Secret };
        var classifier = new EventClassifier(ClassifierSettings.From(xmpp, new EventPusherOptions()));
        var framer = new StanzaFramer(xmpp.MaxStanzaSize, xmpp.MaxDepth, xmpp.MaxAttributes);
        var clock = TimeProvider.System;
        StanzaParser? parser = null;
        var produced = 0;
        long jsonBytes = 0;
        var buffer = stream;
        var a0 = GC.GetAllocatedBytesForCurrentThread();
        var c0 = ProcStat.ThreadCpuSeconds();
        var t0 = Stopwatch.GetTimestamp();
        while (framer.TryReadFrame(ref buffer, out var frame))
        {
            if (frame.Kind == FrameKind.StreamHeader)
            {
                parser = new StanzaParser(StanzaParser.ParseHeader(frame.Bytes));
                continue;
            }
            if (frame.Kind != FrameKind.Stanza || stage == Stage.Framing) continue;
            var stanza = parser!.Parse(frame.Bytes);
            if (stage == Stage.Parsing) continue;
            var result = classifier.Classify(stanza, clock.GetUtcNow());
            foreach (var e in result.Events)
            {
                produced++;
                if (stage == Stage.Json) jsonBytes += EventJson.Serialize(e).Length;
            }
        }
        var wall = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        var cpu = ProcStat.ThreadCpuSeconds() - c0;
        var bytes = GC.GetAllocatedBytesForCurrentThread() - a0;
        if (stage >= Stage.Classification && produced != expected) throw new InvalidOperationException($"stages: {produced} events, {expected} expected");
        GC.KeepAlive(jsonBytes);
        return (bytes, cpu, wall);
    }

    private static double Median(IEnumerable<double> xs)
    {
        var s = xs.Order().ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }
}
