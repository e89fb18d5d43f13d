using System.Reflection;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using RabbitMQ.Client;
using XmppRabbitComponent.Configuration;
using XmppRabbitComponent.Events;
using XmppRabbitComponent.Publishing;

namespace XmppRabbitComponent.Tests.Publishing;

/// <summary>
/// What <see cref="EnvelopeFactory"/> puts on the wire in each <c>EventPusher:Format</c>: the seed format is exactly
/// the output the component had before the format existed (body bytes, the six properties, no headers); the
/// cloudevents format adds the <c>cloudEvents:*</c> headers and changes nothing else.
/// </summary>
[TestFixture]
public sealed class EnvelopeFormatTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 9, 42, 15, 123, TimeSpan.Zero);

    private static readonly (XmppEvent Event, string Json)[] Golden =
    [
        (new PresenceEvent("alice@localhost/res1", true, "alice@localhost"), """{"user_id":"alice@localhost/res1","present":true}"""),
        (new PresenceEvent("alice@localhost/res1", false, "alice@localhost"), """{"user_id":"alice@localhost/res1","present":false}"""),
        (new MessageEvent(EventKind.ChatMsgSent, "bob@localhost", "Hello, Bob", "alice@localhost/res1", "alice@localhost"),
            """{"to_user_id":"bob@localhost","message":"Hello, Bob","from_user_id":"alice@localhost/res1"}"""),
        (new MessageEvent(EventKind.ChatMsgRecv, "bob@localhost", "tab\t \"q\" ✓ 😀", "alice@localhost/res1", "bob@localhost"),
            "{\"to_user_id\":\"bob@localhost\",\"message\":\"tab\\t \\\"q\\\" ✓ 😀\",\"from_user_id\":\"alice@localhost/res1\"}"),
        (new MessageEvent(EventKind.GroupchatMsgSent, "room@muc.localhost", "Hi, Everyone!", "bob@localhost/res1", "bob@localhost"),
            """{"to_user_id":"room@muc.localhost","message":"Hi, Everyone!","from_user_id":"bob@localhost/res1"}"""),
        (new MessageEvent(EventKind.GroupchatMsgRecv, "alice@localhost/res1", "Hi, Everyone!", "room@muc.localhost/bob", "alice@localhost"),
            """{"to_user_id":"alice@localhost/res1","message":"Hi, Everyone!","from_user_id":"room@muc.localhost/bob"}"""),
    ];

    private static EnvelopeFactory Factory(string? format, string prefix = "xmpp.", bool persistent = true)
    {
        var pusher = new EventPusherOptions();
        if (format is not null) pusher.Format = format;
        pusher.CloudEvents.TypePrefix = prefix;
        return EnvelopeFactory.For(new RabbitOptions { Persistent = persistent, AppId = "app" }, pusher, "events.localhost", new FakeTimeProvider(Now));
    }

    /// <summary>The properties set on <paramref name="p"/>, by the client's own <c>Is…Present</c> methods.</summary>
    private static string[] Present(IReadOnlyBasicProperties p) =>
        typeof(IReadOnlyBasicProperties).GetMethods(BindingFlags.Public | BindingFlags.Instance)
            .Where(m => m.Name.StartsWith("Is", StringComparison.Ordinal) && m.Name.EndsWith("Present", StringComparison.Ordinal) && m.GetParameters().Length == 0)
            .Where(m => (bool)m.Invoke(p, null)!)
            .Select(m => m.Name[2..^"Present".Length]).Order(StringComparer.Ordinal).ToArray();

    [TestCase(null, TestName = "Seed format (the default) is byte for byte the original output")]
    [TestCase("seed", TestName = "Seed format (explicit) is byte for byte the original output")]
    public void Seed_format_is_the_original_output(string? format)
    {
        var factory = Factory(format);
        foreach (var (e, json) in Golden)
        {
            var env = factory.Create(e, out _)!;
            var p = factory.Properties(env);
            Assert.Multiple(() =>
            {
                Assert.That(env.Body, Is.EqualTo(Encoding.UTF8.GetBytes(json)), json);
                Assert.That(Present(p), Is.EqualTo(new[] { "AppId", "ContentType", "DeliveryMode", "MessageId", "Timestamp", "Type" }), "properties set");
                Assert.That(p.ContentType, Is.EqualTo("application/json"));
                Assert.That(p.DeliveryMode, Is.EqualTo(DeliveryModes.Persistent));
                Assert.That(Guid.Parse(p.MessageId!).Version, Is.EqualTo(7));
                Assert.That(p.Timestamp.UnixTime, Is.EqualTo(Now.ToUnixTimeSeconds()));
                Assert.That(p.Type, Is.EqualTo(e.Kind.Name()));
                Assert.That(p.AppId, Is.EqualTo("app"));
                Assert.That(p.Headers, Is.Null);
            });
        }
    }

    [Test]
    public void Cloudevents_format_adds_the_headers_and_changes_nothing_else()
    {
        var seed = Factory("seed");
        var ce = Factory("cloudevents", prefix: "com.example.");
        foreach (var (e, json) in Golden)
        {
            var s = seed.Properties(seed.Create(e, out _)!);
            var env = ce.Create(e, out _)!;
            var p = ce.Properties(env);
            Assert.Multiple(() =>
            {
                Assert.That(env.Body, Is.EqualTo(Encoding.UTF8.GetBytes(json)), "the same body");
                Assert.That(Present(p), Is.EqualTo(Present(s).Append("Headers").Order(StringComparer.Ordinal)), "the seed's properties and headers");
                Assert.That((p.ContentType, p.DeliveryMode, p.Timestamp, p.Type, p.AppId), Is.EqualTo((s.ContentType, s.DeliveryMode, s.Timestamp, s.Type, s.AppId)));
                Assert.That(p.Headers!.Keys, Is.EqualTo(CloudEventsAttributes.Names));
                var decoded = Contract.CloudEventsReader.FromHeaders(p.Headers!);
                Assert.That(decoded.Id, Is.EqualTo(p.MessageId));
                Assert.That(decoded.Type, Is.EqualTo("com.example." + e.Kind.Name()));
                Assert.That(decoded.Source, Is.EqualTo(new Uri("xmpp:events.localhost")));
                Assert.That(decoded.Subject, Is.EqualTo(e.RoutingUser));
                Assert.That(decoded.Time, Is.EqualTo(Now));
            });
        }
    }

    [Test]
    public void Each_publish_gets_its_own_headers_with_the_same_id_and_time()
    {
        var factory = Factory("cloudevents");
        var env = factory.Create(Golden[0].Event, out _)!;
        var first = factory.Properties(env);
        first.Headers![Contract.EventContract.ClientSequenceHeader] = 1UL; // as the client does when it tracks confirms
        var again = factory.Properties(env);
        Assert.That(again.Headers, Is.Not.SameAs(first.Headers));
        Assert.That(again.Headers!.ContainsKey(Contract.EventContract.ClientSequenceHeader), Is.False);
        Assert.That(again.Headers!["cloudEvents:id"], Is.EqualTo(first.Headers!["cloudEvents:id"]));
        Assert.That(again.Headers!["cloudEvents:time"], Is.EqualTo(first.Headers!["cloudEvents:time"]));
    }
}
