using System.Text.Json;
using XmppRabbitComponent.Events;

namespace XmppRabbitComponent.Tests.Service;

/// <summary>
/// Event-level faults, sent over the wire to the real service: each stanza gives the exact event or one
/// counted skip with the right reason, never a crash or a reconnect; the JSON parses back to the exact text.
/// </summary>
[CancelAfter(30_000)]
[NonParallelizable]
public class EventFaultTests
{
    private const string D = FakeComponentServer.Domain;
    private static readonly string N1023 = new('n', 1023), N1024 = new('n', 1024);

    private static string Copy(string inner, string wrapperFrom = "localhost") =>
        $"<message from='{wrapperFrom}' to='{D}'><forwarded xmlns='urn:xmpp:forward:0'>{inner}</forwarded></message>";

    private static string Chat(string from, string to, string bodies, string lang = "") =>
        Copy($"<message xmlns='jabber:client'{lang} type='chat'{(from.Length > 0 ? $" from='{from}'" : "")}{(to.Length > 0 ? $" to='{to}'" : "")} id='e1'>{bodies}</message>");

    private static TestCaseData Skip(string name, string wire, string reason) => new TestCaseData(wire, "skip:" + reason).SetName($"{name} is a counted skip as {reason}");
    private static TestCaseData Event(string name, string wire, string message) => new TestCaseData(wire, "event:" + message).SetName($"{name} gives the exact event");

    public static IEnumerable<TestCaseData> Cases()
    {
        yield return Skip("A copied chat without from", Chat("", "eve@remote.example", "<body>x</body>"), "invalid_jid");
        yield return Skip("A copied chat without to", Chat("alice@localhost/r1", "", "<body>x</body>"), "invalid_jid");
        yield return Skip("A presence without from", $"<presence to='{D}'/>", "invalid_jid");
        yield return Skip("A copy whose wrapper has no from", $"<message to='{D}'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' type='chat' from='alice@localhost/r1' to='eve@remote.example'><body>x</body></message></forwarded></message>", "untrusted_copy");
        yield return Skip("A sender with an empty node", Chat("@localhost/r1", "eve@remote.example", "<body>x</body>"), "invalid_jid");
        yield return Skip("A sender with an empty domain", Chat("alice@/r1", "eve@remote.example", "<body>x</body>"), "invalid_jid");
        yield return Skip("A sender with an empty resource", Chat("alice@localhost/", "eve@remote.example", "<body>x</body>"), "invalid_jid");
        yield return Skip("A sender with a 1024-byte node", Chat(N1024 + "@localhost/r1", "eve@remote.example", "<body>x</body>"), "invalid_jid");
        yield return Skip("A sender with a 1024-byte resource", Chat("alice@localhost/" + N1024, "eve@remote.example", "<body>x</body>"), "invalid_jid");
        yield return Skip("A recipient with a 1024-byte domain", Chat("alice@localhost/r1", "eve@" + N1024, "<body>x</body>"), "invalid_jid");
        yield return Skip("A recipient with a 512-character two-byte node (1024 bytes)", Chat("alice@localhost/r1", new string('é', 512) + "@remote.example", "<body>x</body>"), "invalid_jid");
        yield return Skip("A sender with a quote in the node", Chat("a&quot;b@localhost/r1", "eve@remote.example", "<body>x</body>"), "invalid_jid");
        yield return Skip("A sender with a space in the node", Chat("a b@localhost/r1", "eve@remote.example", "<body>x</body>"), "invalid_jid");
        yield return Skip("A sender with a less-than sign in the node", Chat("a&lt;b@localhost/r1", "eve@remote.example", "<body>x</body>"), "invalid_jid");
        yield return Skip("A recipient with a space in the domain", Chat("alice@localhost/r1", "eve@remote example", "<body>x</body>"), "invalid_jid");
        yield return Skip("A presence from a JID with two at signs", $"<presence from='a@b@localhost/r' to='{D}'/>", "invalid_jid");
        yield return Skip("An empty body", Chat("alice@localhost/r1", "eve@remote.example", "<body/>"), "empty_body");

        yield return Event("A sender with a 1023-byte node", Chat(N1023 + "@localhost/r1", "eve@remote.example", "<body>long node</body>"), "long node");
        yield return Event("Several bodies with the stanza's language", Chat("alice@localhost/r1", "eve@remote.example", "<body xml:lang='de'>Hallo</body><body xml:lang='en'>Hello</body><body>none</body>", " xml:lang='en'"), "Hello");
        yield return Event("Several bodies without languages", Chat("alice@localhost/r1", "eve@remote.example", "<body>first</body><body>second</body>"), "first");
        var big = string.Concat(Enumerable.Repeat("0123456789abcdef", 100 * 1024 / 16));
        yield return Event("A body of 100 KB", Chat("alice@localhost/r1", "eve@remote.example", $"<body>{big}</body>"), big);
        yield return Event("A body of only whitespace", Chat("alice@localhost/r1", "eve@remote.example", "<body>  \t\n  </body>"), "  \t\n  ");
        const string Rtl = "שלום עולם مرحبا \u202Bembedded\u202C \u202Eoverride \u200F";
        yield return Event("Right-to-left text", Chat("alice@localhost/r1", "eve@remote.example", $"<body>{Rtl}</body>"), Rtl);
        const string Astral = "😀👩‍👩‍👧 𝄞 𠜎 \U0001F3F3\uFE0F\u200D\U0001F308 \U0010FFFD";
        yield return Event("Astral-plane text", Chat("alice@localhost/r1", "eve@remote.example", $"<body>{Astral}</body>"), Astral);
        yield return Event("Escaped markup and character references", Chat("alice@localhost/r1", "eve@remote.example", "<body>&lt;b&gt;&amp;amp;&quot;&apos;&#x1F600;&#10;</body>"), "<b>&amp;\"'😀\n");
    }

    [TestCaseSource(nameof(Cases))]
    public async Task Event_level_fault(string wire, string expected, CancellationToken ct)
    {
        await using var sut = await ServiceUnderTest.StartAsync();
        var session = await sut.NextSessionAsync(ct);
        await session.SendAsync(wire, ct);
        var deadline = DateTime.UtcNow + ServiceUnderTest.Step;
        while (sut.Probe.Sum("xmpp_component.stanzas.skipped") + sut.Probe.Sum("xmpp_component.events.produced") < 1)
        {
            if (DateTime.UtcNow > deadline) Assert.Fail("the stanza was neither published nor skipped: " + string.Join("\n", sut.Log.Lines));
            await Task.Delay(5, ct);
        }
        var (kind, value) = (expected[..expected.IndexOf(':')], expected[(expected.IndexOf(':') + 1)..]);
        Assert.Multiple(() =>
        {
            if (kind == "skip")
            {
                Assert.That(sut.Publisher.Events, Is.Empty);
                Assert.That(sut.Probe.Sum("xmpp_component.stanzas.skipped", "reason=" + value), Is.EqualTo(1));
                Assert.That(sut.Probe.Sum("xmpp_component.stanzas.skipped"), Is.EqualTo(1));
            }
            else
            {
                Assert.That(sut.Publisher.Events, Has.Count.EqualTo(1));
                using var json = JsonDocument.Parse(EventJson.Serialize(sut.Publisher.Events[0]));
                Assert.That(json.RootElement.GetProperty("message").GetString(), Is.EqualTo(value));
                Assert.That(sut.Probe.Sum("xmpp_component.stanzas.skipped"), Is.Zero);
            }
            Assert.That(sut.Probe.Sum("xmpp_component.stanzas.skipped", "reason=classifier_fault"), Is.Zero);
            Assert.That(sut.Server.Attempts, Has.Count.EqualTo(1), "no reconnect");
            Assert.That(sut.Running.IsCompleted, Is.False);
        });
        // The stream is still usable.
        await sut.ProveEventsFlowAsync(session, "still flowing", ct);
    }
}
