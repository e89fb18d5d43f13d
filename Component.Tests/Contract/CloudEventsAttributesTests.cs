using System.Text;
using CloudNative.CloudEvents;
using Microsoft.Extensions.Configuration;
using RabbitMQ.Client;
using XmppRabbitComponent.Configuration;
using XmppRabbitComponent.Events;

namespace XmppRabbitComponent.Tests.Contract;

/// <summary>
/// Reads the <c>cloudEvents:*</c> headers of a message back into a <see cref="CloudEvent"/> with the CNCF SDK, as a
/// consumer using it would: an independent check of the attribute names, values and types.
/// </summary>
public static class CloudEventsReader
{
    /// <summary>The CloudEvent of <paramref name="headers"/> (values as the broker delivers them: UTF-8 byte arrays, or strings); validated by the SDK.</summary>
    /// <exception cref="ArgumentException">A header is not a valid CloudEvents attribute value.</exception>
    /// <exception cref="InvalidOperationException">A required attribute is missing.</exception>
    public static CloudEvent FromHeaders(IDictionary<string, object?> headers)
    {
        string Text(object? v) => v switch { byte[] b => Encoding.UTF8.GetString(b), string s => s, _ => throw new ArgumentException($"not a string: {v}") };
        var prefixed = headers.Where(h => h.Key.StartsWith(CloudEventsAttributes.Prefix, StringComparison.Ordinal))
            .ToDictionary(h => h.Key[CloudEventsAttributes.Prefix.Length..], h => Text(h.Value));
        var version = CloudEventsSpecVersion.FromVersionId(prefixed.GetValueOrDefault("specversion"))
            ?? throw new ArgumentException($"unknown specversion '{prefixed.GetValueOrDefault("specversion")}'");
        var e = new CloudEvent(version);
        foreach (var (name, value) in prefixed.Where(p => p.Key != "specversion")) e.SetAttributeFromString(name, value);
        return e.Validate();
    }
}

/// <summary><see cref="CloudEventsAttributes"/>: the headers of the <c>cloudevents</c> format, against the CloudEvents SDK and docs/asyncapi.yaml.</summary>
[TestFixture]
public sealed class CloudEventsAttributesTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 1, 11, 42, 15, 123, TimeSpan.FromHours(2));
    private const string Id = "019ad8a5-6f3b-7cc1-9d2e-5b1e8f0a4c21";

    private static Dictionary<string, object?> Headers(EventKind kind = EventKind.ChatMsgSent, string prefix = "com.example.xmpp.") =>
        new CloudEventsAttributes("events.example.com", prefix).Headers(kind, Id, "alice@example.com", At);

    [Test]
    public void Headers_carry_the_documented_attributes_as_strings()
    {
        var h = Headers();
        var text = h.ToDictionary(p => p.Key, p => p.Value is byte[] b ? Encoding.UTF8.GetString(b) : (string)p.Value!);
        Assert.That(h.Keys, Is.EqualTo(CloudEventsAttributes.Names));
        Assert.That(text, Is.EquivalentTo(new Dictionary<string, string>
        {
            ["cloudEvents:specversion"] = "1.0",
            ["cloudEvents:id"] = Id,
            ["cloudEvents:source"] = "xmpp:events.example.com",
            ["cloudEvents:type"] = "com.example.xmpp.chat_msg_sent",
            ["cloudEvents:subject"] = "alice@example.com",
            ["cloudEvents:time"] = "2026-12-01T09:42:15.123Z",
            ["cloudEvents:datacontenttype"] = "application/json",
        }));
    }

    [Test]
    public void The_CloudEvents_SDK_reads_the_headers_back()
    {
        var e = CloudEventsReader.FromHeaders(Headers());
        Assert.Multiple(() =>
        {
            Assert.That(e.SpecVersion, Is.EqualTo(CloudEventsSpecVersion.V1_0));
            Assert.That(e.Id, Is.EqualTo(Id));
            Assert.That(e.Source, Is.EqualTo(new Uri("xmpp:events.example.com")));
            Assert.That(e.Type, Is.EqualTo("com.example.xmpp.chat_msg_sent"));
            Assert.That(e.Subject, Is.EqualTo("alice@example.com"));
            Assert.That(e.Time, Is.EqualTo(At));
            Assert.That(e.DataContentType, Is.EqualTo("application/json"));
            Assert.That(e.ExtensionAttributes, Is.Empty);
        });
    }

    [Test]
    public void Type_is_the_prefix_and_the_kind_for_every_kind()
    {
        foreach (var kind in Enum.GetValues<EventKind>())
        {
            Assert.That(CloudEventsReader.FromHeaders(Headers(kind)).Type, Is.EqualTo("com.example.xmpp." + kind.Name()));
            Assert.That(CloudEventsReader.FromHeaders(Headers(kind, prefix: "")).Type, Is.EqualTo(kind.Name()), "empty prefix");
        }
        Assert.That(new CloudEventsAttributes("e.localhost", CloudEventsAttributes.DefaultTypePrefix).Type(EventKind.Presence), Is.EqualTo("xmpp.presence"));
    }

    [TestCase("2026-12-01T00:00:00Z", "2026-12-01T00:00:00.000Z")]
    [TestCase("2026-12-31T23:59:59.9999999-01:00", "2027-01-01T00:59:59.999Z")]
    public void Time_is_RFC_3339_UTC_with_milliseconds(string input, string expected)
    {
        Assert.That(CloudEventsAttributes.Time(DateTimeOffset.Parse(input, System.Globalization.CultureInfo.InvariantCulture)), Is.EqualTo(expected));
    }

    [Test]
    public void Each_call_returns_a_new_dictionary_the_caller_may_extend()
    {
        var a = new CloudEventsAttributes("events.example.com", "x.");
        var first = a.Headers(EventKind.Presence, Id, "alice@example.com", At);
        first[EventContract.ClientSequenceHeader] = 1UL;
        Assert.That(a.Headers(EventKind.Presence, Id, "alice@example.com", At).ContainsKey(EventContract.ClientSequenceHeader), Is.False);
    }

    [Test]
    public void A_message_with_the_headers_keeps_the_AsyncAPI_contract_and_a_tampered_one_does_not()
    {
        const string body = """{"to_user_id":"bob@example.com","message":"hi","from_user_id":"alice@example.com/r"}""";
        BasicProperties Props(Dictionary<string, object?> headers) => new()
        {
            ContentType = "application/json", DeliveryMode = DeliveryModes.Persistent, MessageId = Id,
            Timestamp = new AmqpTimestamp(DateTimeOffset.UtcNow.ToUnixTimeSeconds()), Type = "chat_msg_sent", AppId = "xmpp-rabbit-component",
            Headers = headers,
        };
        var good = Headers(prefix: CloudEventsAttributes.DefaultTypePrefix);
        Assert.That(EventContract.Current.CheckMessage("alice@example.com.chat_msg_sent", Encoding.UTF8.GetBytes(body), Props(good)), Is.Empty);

        var extra = Headers(); extra["cloudEvents:color"] = "blue"u8.ToArray();
        var wrongSubject = Headers(); wrongSubject["cloudEvents:subject"] = "bob@example.com";
        var wrongId = Headers(); wrongId["cloudEvents:id"] = Guid.CreateVersion7().ToString();
        var noTime = Headers(); noTime.Remove("cloudEvents:time");
        foreach (var (bad, expected) in new[] { (extra, "color"), (wrongSubject, "subject"), (wrongId, "differs from message_id"), (noTime, "required") })
            Assert.That(EventContract.Current.CheckMessage("alice@example.com.chat_msg_sent", Encoding.UTF8.GetBytes(body), Props(bad)), Has.Some.Contains(expected));
    }

    [TestCase(null, EventFormat.Seed)]
    [TestCase("seed", EventFormat.Seed)]
    [TestCase("CloudEvents", EventFormat.CloudEvents)]
    public void Format_is_seed_by_default_and_cloudevents_on_request(string? value, EventFormat expected)
    {
        var settings = new Dictionary<string, string?>();
        if (value is not null) settings["EventPusher:Format"] = value;
        settings["EventPusher:CloudEvents:TypePrefix"] = "com.example.";
        var config = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var o = config.GetSection(EventPusherOptions.Section).Get<EventPusherOptions>()!;
        Assert.That(ConfigurationKeyCheck.UnknownKeys(config), Is.Empty);
        Assert.That(o.ParsedFormat(), Is.EqualTo(expected));
        Assert.That(o.CloudEvents.TypePrefix, Is.EqualTo("com.example."));
        Assert.That(new EventPusherOptionsValidator().Validate(null, o).Succeeded, Is.True);
    }

    [TestCase("EventPusher:Format", "cloud_events", "EventPusher:Format: 'cloud_events' is not one of seed, cloudevents")]
    [TestCase("EventPusher:CloudEvents:TypePrefix", "com example.", "EventPusher:CloudEvents:TypePrefix must not contain whitespace")]
    public void A_bad_format_setting_is_an_error_naming_the_key(string key, string value, string expected)
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [key] = value }).Build();
        var result = new EventPusherOptionsValidator().Validate(null, config.GetSection(EventPusherOptions.Section).Get<EventPusherOptions>()!);
        Assert.That(result.Failures, Has.Some.StartsWith(expected));
    }
}
