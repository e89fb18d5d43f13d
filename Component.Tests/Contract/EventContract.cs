using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using RabbitMQ.Client;
using YamlDotNet.RepresentationModel;

namespace XmppRabbitComponent.Tests.Contract;

/// <summary>
/// The published event contract as the repository documents it: the JSON Schemas of <c>docs/schemas/</c> and the
/// AsyncAPI document <c>docs/asyncapi.yaml</c> (copied next to the test assembly under <c>Contract/</c>), and a
/// checker of one received AMQP message against them: body against its kind's schema, the AMQP properties, the
/// routing key, and the CloudEvents application properties when the message carries them.
/// </summary>
public sealed class EventContract
{
    /// <summary>Prefix of the CloudEvents attributes among the application properties (CloudEvents AMQP binding §3.1.3.1).</summary>
    public const string CloudEventsPrefix = "cloudEvents:";

    /// <summary>The one header the RabbitMQ .NET client itself adds when it tracks publisher confirms.</summary>
    public const string ClientSequenceHeader = "x-dotnet-pub-seq-no";

    private static readonly Lazy<EventContract> Shared = new(() => Load(Path.Combine(AppContext.BaseDirectory, "Contract")));

    private readonly Dictionary<string, JsonSchema> _schemas;
    private readonly JsonSchema _cloudEventsHeaders;
    private static readonly EvaluationOptions Evaluation = new() { OutputFormat = OutputFormat.List, RequireFormatValidation = true };

    private EventContract(string folder, JsonObject asyncApi, Dictionary<string, JsonSchema> schemas, JsonSchema cloudEventsHeaders)
    {
        Folder = folder;
        AsyncApi = asyncApi;
        _schemas = schemas;
        _cloudEventsHeaders = cloudEventsHeaders;
    }

    /// <summary>The contract shipped with the tests (loaded once).</summary>
    public static EventContract Current => Shared.Value;

    /// <summary>Folder holding <c>asyncapi.yaml</c> and <c>schemas/</c>.</summary>
    public string Folder { get; }

    /// <summary>The AsyncAPI document as JSON (YAML plain scalars typed as YAML 1.2 core: booleans, numbers, null).</summary>
    public JsonObject AsyncApi { get; }

    /// <summary>The event kinds the contract knows: the file names <c>&lt;kind&gt;.schema.json</c>.</summary>
    public IReadOnlyCollection<string> Kinds => _schemas.Keys;

    /// <summary>The <c>x-amqp-properties</c> of the <c>amqpProperties</c> message trait.</summary>
    public JsonObject AmqpProperties => (JsonObject)AsyncApi["components"]!["messageTraits"]!["amqpProperties"]!["x-amqp-properties"]!;

    /// <summary>Loads the contract from <paramref name="folder"/>; schema references resolve between the files only (nothing is fetched).</summary>
    public static EventContract Load(string folder)
    {
        var schemaDir = Path.Combine(folder, "schemas");
        var registry = new SchemaRegistry();
        var build = new BuildOptions { SchemaRegistry = registry };
        var common = Path.Combine(schemaDir, "common.schema.json");
        registry.Register(JsonSchema.FromFile(common, build, FileUri(common)));
        var schemas = new Dictionary<string, JsonSchema>(StringComparer.Ordinal);
        foreach (var file in Directory.GetFiles(schemaDir, "*.schema.json").Order(StringComparer.Ordinal))
        {
            var kind = Path.GetFileName(file)[..^".schema.json".Length];
            if (kind == "common") continue;
            schemas[kind] = JsonSchema.FromFile(file, build, FileUri(file));
        }
        var asyncApi = YamlToJson(File.ReadAllText(Path.Combine(folder, "asyncapi.yaml")));
        // AsyncAPI's x-* extensions are not JSON Schema keywords (which JsonSchema.Net rightly refuses): drop them.
        var headers = WithoutExtensions(asyncApi["components"]!["schemas"]!["cloudEventsHeaders"]!.DeepClone());
        var headerSchema = JsonSchema.Build(JsonSerializer.SerializeToElement(headers), build, new Uri("urn:asyncapi:cloudEventsHeaders"));
        return new EventContract(folder, asyncApi, schemas, headerSchema);
    }

    /// <summary>The parsed schema file of <paramref name="kind"/>, as JSON.</summary>
    public JsonObject SchemaDocument(string kind) =>
        (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(Folder, "schemas", kind + ".schema.json")))!;

    /// <summary>Violations of <paramref name="body"/> (UTF-8 JSON) against the schema of <paramref name="kind"/>; empty when valid.</summary>
    public IReadOnlyList<string> CheckBody(string kind, ReadOnlySpan<byte> body)
    {
        if (!_schemas.TryGetValue(kind, out var schema)) return [$"unknown event kind '{kind}' (no {kind}.schema.json)"];
        JsonElement json;
        try { json = JsonDocument.Parse(body.ToArray()).RootElement; }
        catch (JsonException e) { return [$"body is not JSON: {e.Message}"]; }
        return Errors(schema.Evaluate(json, Evaluation), "body");
    }

    /// <summary>
    /// Violations of one received message against the contract; empty when it keeps it. Checks: <c>type</c> is a
    /// documented kind; the body against that kind's schema; <c>content_type</c>, <c>delivery_mode</c>,
    /// <c>message_id</c> (UUID version 7), <c>timestamp</c> and <c>app_id</c> as the AsyncAPI document gives them;
    /// the routing key (the bare JID of the presence's user, of the sender of a sent event, of the recipient of
    /// a received one, then <c>.topic</c> for messages); and the headers: none of the component's own in the seed
    /// format, the CloudEvents attributes (against the document's <c>cloudEventsHeaders</c> schema and
    /// consistent with the AMQP properties) in the CloudEvents format.
    /// </summary>
    public IReadOnlyList<string> CheckMessage(string routingKey, ReadOnlySpan<byte> body, IReadOnlyBasicProperties p)
    {
        var v = new List<string>();
        var kind = p.Type ?? "";
        if (!_schemas.ContainsKey(kind)) { v.Add($"AMQP type '{p.Type}' is not a documented event kind ({string.Join(", ", Kinds)})"); return v; }
        var bodyErrors = CheckBody(kind, body);
        v.AddRange(bodyErrors);

        var props = AmqpProperties;
        var contentType = (string)props["content_type"]!;
        if (p.ContentType != contentType) v.Add($"content_type '{p.ContentType}', documented '{contentType}'");
        var modes = ((JsonObject)props["delivery_mode"]!["values"]!).Select(m => (int)m.Value!).ToHashSet();
        if (!modes.Contains((int)p.DeliveryMode)) v.Add($"delivery_mode {(int)p.DeliveryMode}, documented {string.Join(" or ", modes)}");
        if (!Guid.TryParse(p.MessageId, out var id) || id.Version != 7) v.Add($"message_id '{p.MessageId}' is not a version 7 UUID");
        if (!p.IsTimestampPresent()) v.Add("timestamp missing");
        else
        {
            var at = DateTimeOffset.FromUnixTimeSeconds(p.Timestamp.UnixTime);
            var now = DateTimeOffset.UtcNow;
            if (at > now.AddMinutes(5) || at < now.AddDays(-1)) v.Add($"timestamp {p.Timestamp.UnixTime} ({at:O}) is not when the event was accepted");
        }
        if (string.IsNullOrEmpty(p.AppId)) v.Add("app_id missing");

        string? routingUser = null;
        if (bodyErrors.Count == 0)
        {
            routingUser = RoutingUser(kind, JsonNode.Parse(body.ToArray())!.AsObject());
            var expected = kind == "presence" ? routingUser : routingUser + ".";
            var ok = kind == "presence" ? routingKey == expected : routingKey.StartsWith(expected, StringComparison.Ordinal) && routingKey.Length > expected.Length;
            if (!ok) v.Add($"routing key '{routingKey}', documented {(kind == "presence" ? $"'{expected}'" : $"'{expected}<topic>'")}");
        }

        v.AddRange(CheckHeaders(kind, routingUser, p));
        return v;
    }

    /// <summary>The bare JID the routing key of a valid <paramref name="body"/> of <paramref name="kind"/> starts with.</summary>
    public static string RoutingUser(string kind, JsonObject body)
    {
        var jid = kind switch
        {
            "presence" => (string)body["user_id"]!,
            _ when kind.EndsWith("_sent", StringComparison.Ordinal) => (string)body["from_user_id"]!,
            _ => (string)body["to_user_id"]!,
        };
        var slash = jid.IndexOf('/');
        return slash < 0 ? jid : jid[..slash];
    }

    private List<string> CheckHeaders(string kind, string? routingUser, IReadOnlyBasicProperties p)
    {
        var v = new List<string>();
        var headers = p.Headers ?? new Dictionary<string, object?>();
        var ce = headers.Where(h => h.Key.StartsWith(CloudEventsPrefix, StringComparison.Ordinal)).ToDictionary(h => h.Key, h => h.Value);
        if (ce.Count == 0)
        {
            foreach (var h in headers.Keys.Where(k => k != ClientSequenceHeader))
                v.Add($"header '{h}' in the seed format, which sets none");
            return v;
        }
        var asText = new JsonObject();
        foreach (var (key, value) in ce)
        {
            // A broker delivers AMQP long strings as bytes; properties built in a test hold strings.
            if (value is byte[] bytes) asText[key] = Encoding.UTF8.GetString(bytes);
            else if (value is string text) asText[key] = text;
            else v.Add($"header '{key}' is {value?.GetType().Name ?? "null"}, documented a string");
        }
        foreach (var h in headers.Keys.Where(k => !k.StartsWith(CloudEventsPrefix, StringComparison.Ordinal) && k != ClientSequenceHeader))
            v.Add($"header '{h}' besides the CloudEvents attributes");
        v.AddRange(Errors(_cloudEventsHeaders.Evaluate(JsonSerializer.SerializeToElement(asText), Evaluation), "CloudEvents headers"));
        string? Attr(string name) => (string?)asText[CloudEventsPrefix + name];
        if (Attr("id") is { } ceId && ceId != p.MessageId) v.Add($"cloudEvents:id '{ceId}' differs from message_id '{p.MessageId}'");
        if (Attr("type") is { } ceType && !ceType.EndsWith(kind, StringComparison.Ordinal)) v.Add($"cloudEvents:type '{ceType}' does not end with the kind '{kind}'");
        if (Attr("subject") is { } subject && routingUser is not null && subject != routingUser) v.Add($"cloudEvents:subject '{subject}', routing key's user '{routingUser}'");
        if (Attr("datacontenttype") is { } dct && dct != p.ContentType) v.Add($"cloudEvents:datacontenttype '{dct}' differs from content_type '{p.ContentType}'");
        return v;
    }

    private static List<string> Errors(EvaluationResults results, string what)
    {
        if (results.IsValid) return [];
        var list = new List<string>();
        foreach (var d in results.Details ?? [])
            foreach (var (keyword, message) in d.Errors ?? new Dictionary<string, string>())
                list.Add($"{what} {d.InstanceLocation} ({d.EvaluationPath}): {keyword}: {message}");
        if (list.Count == 0) list.Add($"{what} does not match its schema");
        return list;
    }

    private static JsonNode WithoutExtensions(JsonNode node)
    {
        if (node is JsonObject o)
        {
            foreach (var key in o.Select(p => p.Key).Where(k => k.StartsWith("x-", StringComparison.Ordinal)).ToList()) o.Remove(key);
            foreach (var (_, child) in o) if (child is not null) WithoutExtensions(child);
        }
        return node;
    }

    // The schemas reference each other by relative file name. JsonSchema.Net 8 drops the fragment of such a
    // reference when the base is a file: URI, so they get a base under the reserved .invalid domain instead
    // (RFC 2606); the registry has no fetcher, so nothing is ever looked up there.
    private static Uri FileUri(string path) => new($"https://xmpp-rabbit-component.invalid/schemas/{Path.GetFileName(path)}");

    /// <summary>YAML (one document) to JSON: mappings, sequences, and scalars typed as YAML 1.2's core schema.</summary>
    public static JsonObject YamlToJson(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return (JsonObject)Convert(stream.Documents[0].RootNode)!;

        static JsonNode? Convert(YamlNode node) => node switch
        {
            YamlMappingNode m => new JsonObject(m.Children.Select(kv => KeyValuePair.Create(((YamlScalarNode)kv.Key).Value!, Convert(kv.Value)))),
            YamlSequenceNode s => new JsonArray(s.Children.Select(Convert).ToArray()),
            YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain } p => Plain(p.Value ?? ""),
            YamlScalarNode q => JsonValue.Create(q.Value ?? ""),
            _ => throw new FormatException($"unsupported YAML node {node.NodeType} at {node.Start}"),
        };

        static JsonNode? Plain(string v) => v switch
        {
            "" or "null" or "~" => null,
            "true" => JsonValue.Create(true),
            "false" => JsonValue.Create(false),
            _ when int.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i) => JsonValue.Create(i),
            _ when long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) => JsonValue.Create(l),
            _ when v.All(c => char.IsAsciiDigit(c) || c is '.' or '-' or '+' or 'e' or 'E')
                && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => JsonValue.Create(d),
            _ => JsonValue.Create(v),
        };
    }
}
