using System.Text;
using XmppRabbitComponent.Configuration;

namespace XmppRabbitComponent.Tests.Service;

/// <summary>
/// Stream and parser faults, through the whole service loop: the real <c>XmppComponentService</c> against
/// an in-process XEP-0114 server. Each fault ends with the stream error the component sent, a second connection,
/// events flowing again on it, and the service still running.
/// </summary>
[CancelAfter(30_000)]
[NonParallelizable]
public class StreamFaultTests
{
    private static readonly TimeSpan Step = ServiceUnderTest.Step;

    private static string StreamError(string condition) =>
        $"<stream:error><{condition} xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>";

    private static void SmallLimits(XmppOptions o)
    {
        o.MaxStanzaSize = 4096;
        o.MaxDepth = 8;
        o.MaxAttributes = 16;
    }

    /// <summary>
    /// Sends <paramref name="fault"/> on an authenticated stream whose events were flowing, then asserts: the
    /// component wrote <paramref name="condition"/> and closed, logged it, counted the reconnect with that cause,
    /// connected again, and publishes events from the new stream.
    /// </summary>
    private static async Task AssertClosedWithAndRecoveredAsync(byte[] fault, string condition, CancellationToken ct)
    {
        await using var sut = await ServiceUnderTest.StartAsync(SmallLimits);
        var first = await sut.NextSessionAsync(ct);
        await sut.ProveEventsFlowAsync(first, "before the fault", ct);

        await first.SendBytesAsync(fault, ct);
        await first.WaitForTextAsync(StreamError(condition), Step, ct);
        await sut.AssertReconnectedAsync(first, condition, ct);
        Assert.Multiple(() =>
        {
            Assert.That(first.ReceivedAfterHandshake, Does.EndWith(StreamError(condition)), "nothing written after the stream error");
            Assert.That(sut.Log.Lines, Has.Some.Contains("protocol violation").And.Some.Contains(condition));
        });
    }

    private static Task AssertClosedWithAndRecoveredAsync(string fault, string condition, CancellationToken ct) =>
        AssertClosedWithAndRecoveredAsync(Encoding.UTF8.GetBytes(fault), condition, ct);

    // --- policy-violation: limits ---

    [Test]
    public Task A_stanza_over_the_size_limit_is_closed_with_policy_violation_and_reconnected(CancellationToken ct) =>
        AssertClosedWithAndRecoveredAsync($"<message from='localhost' to='events.localhost'><body>{new string('x', 8000)}</body></message>", "policy-violation", ct);

    [Test]
    public Task Nesting_over_the_depth_limit_is_closed_with_policy_violation_and_reconnected(CancellationToken ct) =>
        AssertClosedWithAndRecoveredAsync(string.Concat(Enumerable.Repeat("<x>", 9)) + string.Concat(Enumerable.Repeat("</x>", 9)), "policy-violation", ct);

    [Test]
    public Task Too_many_attributes_are_closed_with_policy_violation_and_reconnected(CancellationToken ct) =>
        AssertClosedWithAndRecoveredAsync("<message " + string.Join(" ", Enumerable.Range(0, 17).Select(i => $"a{i}='v'")) + "/>", "policy-violation", ct);

    // --- restricted-xml: DTD, entities, comments, PIs ---

    [TestCase("<!DOCTYPE lol [<!ENTITY lol 'lol'>]>", TestName = "A DTD at stream level is closed with restricted-xml and reconnected")]
    [TestCase("<message><!ENTITY x 'y'></message>", TestName = "An entity declaration inside a stanza is closed with restricted-xml and reconnected")]
    [TestCase("<message from='localhost' to='events.localhost'><body>&lol;</body></message>", TestName = "An undeclared entity is closed with restricted-xml, never expanded, and reconnected")]
    [TestCase("<!-- hello -->", TestName = "A comment at stream level is closed with restricted-xml and reconnected")]
    [TestCase("<message><body>a<!-- b --></body></message>", TestName = "A comment inside a stanza is closed with restricted-xml and reconnected")]
    [TestCase("<?php echo 1; ?>", TestName = "A processing instruction at stream level is closed with restricted-xml and reconnected")]
    [TestCase("<message><?xml-stylesheet href='x'?></message>", TestName = "A processing instruction inside a stanza is closed with restricted-xml and reconnected")]
    public Task Restricted_xml_is_rejected(string fault, CancellationToken ct) =>
        AssertClosedWithAndRecoveredAsync(fault, "restricted-xml", ct);

    // --- not-well-formed: bytes, characters, namespaces, stream structure ---

    [TestCase(new byte[] { 0xC0, 0xAF }, TestName = "An overlong UTF-8 encoding is closed with not-well-formed and reconnected")]
    [TestCase(new byte[] { 0xED, 0xA0, 0x80 }, TestName = "A surrogate encoded in UTF-8 is closed with not-well-formed and reconnected")]
    [TestCase(new byte[] { 0xFF }, TestName = "A byte that is never UTF-8 is closed with not-well-formed and reconnected")]
    [TestCase(new byte[] { (byte)'<', (byte)'m', (byte)'>', 0x00, (byte)'<', (byte)'/', (byte)'m', (byte)'>' }, TestName = "A NUL byte inside a stanza is closed with not-well-formed and reconnected")]
    public Task Invalid_bytes_are_rejected(byte[] fault, CancellationToken ct) =>
        AssertClosedWithAndRecoveredAsync(fault, "not-well-formed", ct);

    [TestCase("<message><body>&#x1;</body></message>", TestName = "A character reference to U+0001 is closed with not-well-formed and reconnected")]
    [TestCase("<message><body>\u0001</body></message>", TestName = "A raw control character is closed with not-well-formed and reconnected")]
    [TestCase("<message><body>\uFFFE</body></message>", TestName = "U+FFFE is closed with not-well-formed and reconnected")]
    [TestCase("<foo:message xmlns='jabber:component:accept'/>", TestName = "An unbound namespace prefix is closed with not-well-formed and reconnected")]
    [TestCase("<message foo:bar='x'/>", TestName = "An unbound attribute prefix is closed with not-well-formed and reconnected")]
    [TestCase("<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' id='2'>", TestName = "A second stream header is closed with not-well-formed and reconnected")]
    [TestCase("hello", TestName = "Text at stream level is closed with not-well-formed and reconnected")]
    [TestCase("<message></presence>", TestName = "Mismatched tags are closed with not-well-formed and reconnected")]
    [TestCase("<message a='1' a='2'/>", TestName = "A duplicate attribute is closed with not-well-formed and reconnected")]
    [TestCase("</foo>", TestName = "An end tag at stream level that does not close the stream is closed with not-well-formed and reconnected")]
    public Task Ill_formed_xml_is_rejected(string fault, CancellationToken ct) =>
        AssertClosedWithAndRecoveredAsync(fault, "not-well-formed", ct);
}
