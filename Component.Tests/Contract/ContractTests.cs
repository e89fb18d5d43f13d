using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using XmppRabbitComponent.Configuration;
using XmppRabbitComponent.Events;

namespace XmppRabbitComponent.Tests.Contract;

/// <summary>
/// The documented contract (<c>docs/schemas/</c>, <c>docs/asyncapi.yaml</c>) against the code: event kinds from
/// <see cref="EventKind"/>, JSON from <see cref="EventJson"/>, exchanges, types and topics from the defaults of
/// <see cref="EventPusherRabbitOptions"/>, routes from <see cref="EventRouter"/>, property defaults from
/// <see cref="RabbitOptions"/>, configuration keys from <see cref="ConfigurationKeyCheck"/>. Nothing is copied
/// from the documents into the tests, so neither side can drift alone.
/// </summary>
[TestFixture]
public sealed class ContractTests
{
    private static readonly EventContract Contract = EventContract.Current;
    private static readonly EventKind[] AllKinds = Enum.GetValues<EventKind>();

    /// <summary>One event of each kind as the classifier makes them, with the given message text.</summary>
    private static XmppEvent Sample(EventKind kind, string text = "Hello, Bob") => kind switch
    {
        EventKind.Presence => new PresenceEvent("alice@localhost/res1", true, "alice@localhost"),
        EventKind.ChatMsgSent => new MessageEvent(kind, "bob@localhost", text, "alice@localhost/res1", "alice@localhost"),
        EventKind.ChatMsgRecv => new MessageEvent(kind, "bob@localhost", text, "alice@localhost/res1", "bob@localhost"),
        EventKind.GroupchatMsgSent => new MessageEvent(kind, "room@muc.localhost", text, "bob@localhost/res1", "bob@localhost"),
        EventKind.GroupchatMsgRecv => new MessageEvent(kind, "alice@localhost/res1", text, "room@muc.localhost/bob", "alice@localhost"),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    private static JsonNode Resolve(JsonNode node)
    {
        while (node is JsonObject o && o["$ref"] is JsonValue r && ((string)r!).StartsWith("#/", StringComparison.Ordinal))
        {
            JsonNode? at = Contract.AsyncApi;
            foreach (var part in ((string)r!)[2..].Split('/')) at = at![part];
            node = at ?? throw new InvalidOperationException($"unresolved {(string)r!}");
        }
        return node;
    }

    private static IEnumerable<(string Name, JsonObject Channel)> Channels() =>
        ((JsonObject)Contract.AsyncApi["channels"]!).Select(c => (c.Key, (JsonObject)c.Value!));

    private static IEnumerable<JsonObject> Messages(JsonObject channel) =>
        ((JsonObject)channel["messages"]!).Select(m => (JsonObject)Resolve(m.Value!));

    private static string MessageType(JsonObject message) => (string)message["bindings"]!["amqp"]!["messageType"]!;

    private static (string Name, JsonObject Channel) ChannelOf(EventKind kind)
    {
        var matches = Channels().Where(c => Messages(c.Channel).Any(m => MessageType(m) == kind.Name())).ToList();
        Assert.That(matches, Has.Count.EqualTo(1), $"one channel carries {kind.Name()}");
        return matches[0];
    }

    [Test]
    public void Every_event_kind_has_a_schema_and_every_schema_an_event_kind()
    {
        Assert.That(Contract.Kinds, Is.EquivalentTo(AllKinds.Select(k => k.Name())));
    }

    [TestCaseSource(nameof(AllKinds))]
    public void Schema_lists_the_fields_in_the_order_the_component_writes_them(EventKind kind)
    {
        var written = new List<string>();
        var reader = new Utf8JsonReader(EventJson.Serialize(Sample(kind)));
        while (reader.Read())
            if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1) written.Add(reader.GetString()!);

        var schema = Contract.SchemaDocument(kind.Name());
        Assert.Multiple(() =>
        {
            Assert.That(((JsonObject)schema["properties"]!).Select(p => p.Key), Is.EqualTo(written), "properties, in order");
            Assert.That(schema["required"]!.AsArray().Select(r => (string)r!), Is.EqualTo(written), "required, in order");
            Assert.That((bool)schema["additionalProperties"]!, Is.False);
            Assert.That((string)schema["$schema"]!, Is.EqualTo("https://json-schema.org/draft/2020-12/schema"));
        });
    }

    private static IEnumerable<TestCaseData> WrittenEvents()
    {
        string[] texts = ["Hello, Bob", " ", " \t\r\n ", "\"quoted\" \\ back\\slash", "nul\u0000 bell\u0007 esc\u001b", "héllo ✓ 😀 中文",
            "line1\nline2", new string('x', 256 * 1024)];
        foreach (var kind in AllKinds)
            foreach (var (text, i) in texts.Select((t, i) => (t, i)))
                yield return new TestCaseData(kind, text).SetArgDisplayNames(kind.Name(), $"text{i}");
        yield return new TestCaseData(EventKind.Presence, "").SetArgDisplayNames("presence", "offline");
    }

    [TestCaseSource(nameof(WrittenEvents))]
    public void What_the_component_writes_validates_against_its_schema(EventKind kind, string text)
    {
        var e = kind == EventKind.Presence && text.Length == 0 ? new PresenceEvent("alice@localhost/Res With Spaces/and@slash", false, "alice@localhost") : Sample(kind, text);
        Assert.That(Contract.CheckBody(kind.Name(), EventJson.Serialize(e)), Is.Empty);
    }

    [TestCaseSource(nameof(AllKinds))]
    public void Schema_examples_validate(EventKind kind)
    {
        var examples = Contract.SchemaDocument(kind.Name())["examples"]!.AsArray();
        Assert.That(examples, Is.Not.Empty);
        foreach (var example in examples)
            Assert.That(Contract.CheckBody(kind.Name(), Encoding.UTF8.GetBytes(example!.ToJsonString())), Is.Empty, example!.ToJsonString());
    }

    [TestCase("presence", """{"user_id":"alice@localhost/r","present":"true"}""", "type", TestName = "presence: present as a string")]
    [TestCase("presence", """{"user_id":"alice@localhost","present":true}""", "pattern", TestName = "presence: bare JID where the full JID is due")]
    [TestCase("presence", """{"user_id":"alice@LocalHost/r","present":true}""", "pattern", TestName = "presence: domain not lowercased")]
    [TestCase("presence", """{"user_id":"alice@localhost/r"}""", "required", TestName = "presence: present missing")]
    [TestCase("presence", """{"user_id":"alice@localhost/r","present":true,"extra":1}""", "additionalProperties", TestName = "presence: extra field")]
    [TestCase("chat_msg_sent", """{"to_user_id":"bob@localhost","message":"","from_user_id":"alice@localhost/r"}""", "minLength", TestName = "chat_msg_sent: empty message")]
    [TestCase("chat_msg_sent", """{"to_user_id":"bob@localhost","message":7,"from_user_id":"alice@localhost/r"}""", "type", TestName = "chat_msg_sent: message not a string")]
    [TestCase("chat_msg_sent", """{"to_user_id":"bob@localhost","message":"hi","from_user_id":"localhost"}""", "pattern", TestName = "chat_msg_sent: sender without a node")]
    [TestCase("chat_msg_recv", """{"to_user_id":"bob smith@localhost","message":"hi","from_user_id":"alice@localhost/r"}""", "pattern", TestName = "chat_msg_recv: space in a node")]
    [TestCase("groupchat_msg_sent", """{"to_user_id":"room@muc.localhost/nick","message":"hi","from_user_id":"bob@localhost/r"}""", "pattern", TestName = "groupchat_msg_sent: room with a resource")]
    [TestCase("groupchat_msg_recv", """{"to_user_id":"alice@localhost/r","message":"hi","from_user_id":"room@muc.localhost"}""", "pattern", TestName = "groupchat_msg_recv: room without the nick")]
    [TestCase("groupchat_msg_recv", """{"message":"hi","to_user_id":"alice@localhost/r"}""", "required", TestName = "groupchat_msg_recv: from_user_id missing")]
    [TestCase("chat_msg_sent", """["not","an","object"]""", "type", TestName = "chat_msg_sent: an array")]
    [TestCase("chat_msg_sent", """{"to_user_id":""", "not JSON", TestName = "chat_msg_sent: truncated JSON")]
    public void Malformed_events_are_rejected(string kind, string json, string expected)
    {
        var errors = Contract.CheckBody(kind, Encoding.UTF8.GetBytes(json));
        Assert.That(errors, Has.Some.Contains(expected), string.Join("; ", errors));
    }

    [TestCaseSource(nameof(AllKinds))]
    public void Channel_exchange_and_address_agree_with_the_default_route(EventKind kind)
    {
        var defaults = new EventPusherRabbitOptions();
        var e = Sample(kind);
        var route = new EventRouter(defaults).Route(e);
        var (name, channel) = ChannelOf(kind);
        var exchange = Resolve(channel["bindings"]!)["amqp"]!["exchange"]!;
        var section = defaults.Enabled().Single(s => s.Exchange.Name == route.Exchange).Exchange;
        Assert.Multiple(() =>
        {
            Assert.That(((string)channel["address"]!).Replace("{userBareJid}", e.RoutingUser, StringComparison.Ordinal), Is.EqualTo(route.RoutingKey), $"{name}: address");
            Assert.That((string)exchange["name"]!, Is.EqualTo(route.Exchange), $"{name}: exchange name");
            Assert.That((string)exchange["type"]!, Is.EqualTo(section.Type), $"{name}: exchange type");
            Assert.That((bool)exchange["durable"]!, Is.EqualTo(section.Durable), $"{name}: durable");
            Assert.That((bool)exchange["autoDelete"]!, Is.False, $"{name}: auto-delete (exchanges are declared without it)");
        });
    }

    /// <summary>Each <c>x-configuration</c> key of a channel, set in a configuration, changes what the code does as the document says.</summary>
    [TestCaseSource(nameof(AllKinds))]
    public void Channel_configuration_keys_change_the_route_as_documented(EventKind kind)
    {
        var (name, channel) = ChannelOf(kind);
        var keys = channel["x-configuration"]!.AsObject().ToDictionary(k => k.Key, k => (string)k.Value!);
        var e = Sample(kind);
        EventPusherRabbitOptions Bind(string key, string value)
        {
            var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [key] = value }).Build();
            Assert.That(ConfigurationKeyCheck.UnknownKeys(config), Is.Empty, $"{name}: {key} is a key the component knows");
            return (config.GetSection(EventPusherOptions.Section).Get<EventPusherOptions>() ?? new EventPusherOptions()).Rabbit;
        }
        var exchange = new EventRouter(new EventPusherRabbitOptions()).Route(e).Exchange;
        ExchangeOptions SectionOf(EventPusherRabbitOptions o) => o.Enabled().Single(s => s.Exchange.Name == exchange).Exchange;

        Assert.That(new EventRouter(Bind(keys["name"], "renamed")).Route(e).Exchange, Is.EqualTo("renamed"), $"{name}: {keys["name"]}");
        Assert.That(new EventRouter(Bind(keys["enabled"], "false")).IsEnabled(kind), Is.False, $"{name}: {keys["enabled"]}");
        Assert.That(SectionOf(Bind(keys["type"], "direct")).Type, Is.EqualTo("direct"), $"{name}: {keys["type"]}");
        Assert.That(SectionOf(Bind(keys["durable"], "true")).Durable, Is.True, $"{name}: {keys["durable"]}");
        if (kind == EventKind.Presence)
            Assert.That(keys.ContainsKey("topic"), Is.False, "presence keys have no topic");
        else
            Assert.That(new EventRouter(Bind(keys["topic"], "custom")).Route(e).RoutingKey, Is.EqualTo(e.RoutingUser + ".custom"), $"{name}: {keys["topic"]}");
    }

    [TestCaseSource(nameof(AllKinds))]
    public void Each_kind_has_a_seed_and_a_cloudevents_message_with_its_schema(EventKind kind)
    {
        var (name, channel) = ChannelOf(kind);
        var messages = Messages(channel).ToList();
        string Tags(JsonObject m) => string.Join(",", m["traits"]!.AsArray().Select(t => Resolve(t!)["tags"]).OfType<JsonArray>().SelectMany(a => a.Select(t => (string)t!["name"]!)));
        Assert.Multiple(() =>
        {
            Assert.That(messages.Select(Tags), Is.EquivalentTo(new[] { "seed", "cloudevents" }), $"{name}: one message per format");
            foreach (var m in messages)
            {
                Assert.That((string)m["name"]!, Is.EqualTo(kind.Name()));
                Assert.That(MessageType(m), Is.EqualTo(kind.Name()));
                Assert.That((string)m["payload"]!["schema"]!["$ref"]!, Is.EqualTo($"./schemas/{kind.Name()}.schema.json"));
                Assert.That((string)m["payload"]!["schemaFormat"]!, Is.EqualTo("application/schema+json;version=draft-07"));
            }
        });
        var operations = ((JsonObject)Contract.AsyncApi["operations"]!).Select(o => o.Value!).Where(o => (string)o["channel"]!["$ref"]! == $"#/channels/{name}").ToList();
        Assert.That(operations, Has.Count.EqualTo(1), $"one send operation on {name}");
        Assert.That((string)operations[0]["action"]!, Is.EqualTo("send"));
    }

    [Test]
    public void Amqp_property_defaults_agree_with_the_options()
    {
        var props = Contract.AmqpProperties;
        var rabbit = new RabbitOptions();
        var deliveryValues = props["delivery_mode"]!["values"]!;
        Assert.Multiple(() =>
        {
            Assert.That((string)props["app_id"]!["default"]!, Is.EqualTo(rabbit.AppId));
            Assert.That((int)props["delivery_mode"]!["default"]!, Is.EqualTo((int)deliveryValues[rabbit.Persistent ? "true" : "false"]!));
            Assert.That((int)deliveryValues["true"]!, Is.EqualTo((int)RabbitMQ.Client.DeliveryModes.Persistent));
            Assert.That((int)deliveryValues["false"]!, Is.EqualTo((int)RabbitMQ.Client.DeliveryModes.Transient));
            Assert.That((int)Resolve(Contract.AsyncApi["operations"]!["publishPresence"]!["bindings"]!)["amqp"]!["deliveryMode"]!, Is.EqualTo((int)props["delivery_mode"]!["default"]!));
        });
        foreach (var key in new[] { (string)props["app_id"]!["configuration"]!, (string)props["delivery_mode"]!["configuration"]! })
        {
            var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [key] = "false" }).Build();
            Assert.That(ConfigurationKeyCheck.UnknownKeys(config), Is.Empty, key);
        }
    }

    /// <summary>
    /// The schema files are draft 2020-12 but declared as draft-07 to AsyncAPI tools: that is only honest while
    /// they use keywords that mean the same in both, and <c>$ref</c> has no sibling that changes validation
    /// (draft-07 ignores siblings of <c>$ref</c>).
    /// </summary>
    [Test]
    public void Schemas_use_only_keywords_that_mean_the_same_in_draft_07()
    {
        string[] allowed = ["$schema", "title", "description", "type", "properties", "required", "additionalProperties", "pattern", "minLength", "$ref", "$defs", "examples", "const"];
        var problems = new List<string>();
        foreach (var file in Directory.GetFiles(Path.Combine(Contract.Folder, "schemas"), "*.json"))
            Walk(JsonNode.Parse(File.ReadAllText(file))!, Path.GetFileName(file));
        Assert.That(problems, Is.Empty);

        void Walk(JsonNode schema, string at)
        {
            if (schema is not JsonObject o) return;
            foreach (var (key, value) in o)
            {
                if (!allowed.Contains(key)) problems.Add($"{at}: keyword '{key}'");
                if (key is "properties" or "$defs") foreach (var (child, sub) in value!.AsObject()) Walk(sub!, $"{at}/{key}/{child}");
            }
            if (o.ContainsKey("$ref") && o.Select(p => p.Key).Except(["$ref", "description"]).Any()) problems.Add($"{at}: $ref with siblings");
        }
    }
}
