using System.Text;
using System.Text.Json;
using XmppRabbitComponent.Classification;
using XmppRabbitComponent.Events;
using XmppRabbitComponent.Tests.Service;
using XmppRabbitComponent.Xmpp;

namespace XmppRabbitComponent.Tests.Fuzzing;

/// <summary>One line of <c>TestData/nasty-streams/manifest.txt</c>.</summary>
/// <param name="File">The file name.</param>
/// <param name="Outcome">The stream error condition the component sends, or <c>open</c>.</param>
/// <param name="Events">Events produced by the stanzas before any fault.</param>
/// <param name="Skips">Skip reasons counted, in order.</param>
public sealed record NastyStream(string File, string Outcome, int Events, IReadOnlyList<string> Skips)
{
    /// <summary>The file's bytes (what the server sends after its stream header).</summary>
    public byte[] Bytes => System.IO.File.ReadAllBytes(Path.Combine(NastyStreamCorpusTests.Directory, File));

    /// <inheritdoc />
    public override string ToString() => File;
}

/// <summary>
/// The checked-in corpus of hostile streams (<c>TestData/nasty-streams</c>), replayed through the read path
/// and the classifier, and through the fake XEP-0114 server into the real service.
/// </summary>
[CancelAfter(30_000)]
public class NastyStreamCorpusTests
{
    private const string Header = "<?xml version='1.0'?><stream:stream id='1' xml:lang='en' xmlns:stream='http://etherx.jabber.org/streams' from='events.localhost' xmlns='jabber:component:accept'>";

    /// <summary>Exact event text expected from some files.</summary>
    private static readonly Dictionary<string, string> Texts = new()
    {
        ["cdata-tricks.xml"] = "<b>&amp;</b>]]>",
        ["many-bodies-rtl-astral.xml"] = "שלום 😀 \u202Eevil 𝄞",
    };

    /// <summary>The corpus directory in the test output.</summary>
    public static string Directory => Path.Combine(TestContext.CurrentContext.TestDirectory, "TestData", "nasty-streams");

    /// <summary>The manifest rows.</summary>
    public static IEnumerable<NastyStream> Corpus()
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "TestData", "nasty-streams");
        foreach (var line in File.ReadAllLines(Path.Combine(dir, "manifest.txt")))
        {
            if (line.StartsWith('#') || string.IsNullOrWhiteSpace(line)) continue;
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            yield return new NastyStream(f[0], f[1], int.Parse(f[2], System.Globalization.CultureInfo.InvariantCulture), f[3] == "-" ? [] : f[3].Split(','));
        }
    }

    [Test]
    public void The_manifest_lists_every_file_of_the_corpus_and_at_least_fifteen()
    {
        var files = System.IO.Directory.GetFiles(Directory).Select(Path.GetFileName).Where(n => n != "manifest.txt");
        Assert.That(Corpus().Select(c => c.File), Is.EquivalentTo(files));
        Assert.That(Corpus().Count(), Is.GreaterThanOrEqualTo(15));
    }

    [TestCaseSource(nameof(Corpus))]
    public void Each_nasty_stream_read_in_any_split_ends_as_the_manifest_says(NastyStream s)
    {
        var bytes = Encoding.UTF8.GetBytes(Header).Concat(s.Bytes).ToArray();
        foreach (var cuts in new[] { Array.Empty<int>(), Enumerable.Range(1, Math.Min(bytes.Length, 4096)).ToArray(), new[] { bytes.Length / 3, bytes.Length / 2 } })
        {
            var read = StreamReader.Read(bytes, cuts);
            Assert.That(read.Error is XmppProtocolException p ? p.Condition.ToWireName() : read.Error is null ? "open" : "stream-error " + read.Error.Cause,
                Is.EqualTo(s.Outcome), () => read.Error?.Message ?? "no error");

            var classifier = new EventClassifier(new ClassifierSettings("events.localhost", ["localhost"], TimeSpan.FromSeconds(30), 1000));
            var events = new List<XmppEvent>();
            var skips = new List<string>();
            foreach (var stanza in read.Stanzas)
            {
                var r = classifier.Classify(stanza, DateTimeOffset.UnixEpoch);
                Assert.That(r.Fault, Is.Null);
                events.AddRange(r.Events);
                skips.AddRange(r.Skips.Select(x => x.Label()));
            }
            Assert.That(events, Has.Count.EqualTo(s.Events));
            Assert.That(skips, Is.EqualTo(s.Skips));
            foreach (var e in events)
            {
                using var json = JsonDocument.Parse(EventJson.Serialize(e));
                if (Texts.TryGetValue(s.File, out var text) && e is MessageEvent)
                    Assert.That(json.RootElement.GetProperty("message").GetString(), Is.EqualTo(text));
            }
        }
    }

    [TestCaseSource(nameof(Corpus))]
    [NonParallelizable]
    public async Task Each_nasty_stream_sent_to_the_service_leaves_it_running_and_reconnected(NastyStream s, CancellationToken ct)
    {
        await using var sut = await ServiceUnderTest.StartAsync();
        var first = await sut.NextSessionAsync(ct);
        await first.SendBytesAsync(s.Bytes, ct);
        if (s.Outcome == "open")
        {
            var deadline = DateTime.UtcNow + ServiceUnderTest.Step;
            while (sut.Probe.Sum("xmpp_component.stanzas.received") < 1 && DateTime.UtcNow < deadline) await Task.Delay(10, ct);
            await sut.Publisher.WaitForCountAsync(s.Events, ServiceUnderTest.Step, ct);
            await first.CloseStreamAsync(ct);
        }
        else
        {
            await first.WaitForTextAsync($"<{s.Outcome} xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>", ServiceUnderTest.Step, ct);
        }
        await first.ClosedByPeer.WaitAsync(ServiceUnderTest.Step, ct);
        var second = await sut.NextSessionAsync(ct);
        await sut.ProveEventsFlowAsync(second, "after " + s.File, ct);
        Assert.Multiple(() =>
        {
            Assert.That(sut.Publisher.Events, Has.Count.EqualTo(s.Events + 1));
            foreach (var label in s.Skips.Distinct())
                Assert.That(sut.Probe.Sum("xmpp_component.stanzas.skipped", "reason=" + label), Is.EqualTo(s.Skips.Count(l => l == label)));
            Assert.That(sut.Publisher.Json.Select(j => { using var d = JsonDocument.Parse(j); return d.RootElement.ValueKind; }), Has.All.EqualTo(JsonValueKind.Object));
            Assert.That(sut.Running.IsCompleted, Is.False);
            Assert.That(sut.Log.Lines, Has.None.Contains("root:x:0:0"), "no file was ever read");
        });
    }
}
