using System.Globalization;
using Tomlyn.Model;

namespace XmppRabbitComponent.Configuration;

/// <summary>
/// What a <c>mongooseim.toml</c> says, in the component's configuration keys (docs/migrating-from-mongooseim.md has
/// the table). Reads the keys MongooseIM's <c>mod_event_pusher_rabbit</c> reads, in both layouts in use:
/// <list type="bullet">
/// <item>current MongooseIM: <c>[modules.mod_event_pusher.rabbit]</c> with <c>presence_exchange.name</c>, …; an absent
/// exchange section disables that kind of event, as it does in MongooseIM;</item>
/// <item>the older layout: <c>[modules.mod_event_pusher]</c> with <c>backend.rabbit.presence_exchange.name</c>, …; there every
/// exchange exists with its defaults, so an absent section keeps the component's defaults;</item>
/// </list>
/// plus the pool <c>[outgoing_pools.rabbit.event_pusher]</c> (<c>workers</c>, <c>strategy</c>, <c>connection.*</c> in
/// the current and the older <c>amqp_*</c> spelling, <c>tls.*</c>) and <c>[general] hosts</c>.
/// A key in those sections that has no equivalent is a <see cref="Warnings">warning</see> naming it; a value that cannot be
/// honoured is an <see cref="Errors">error</see> naming the TOML key.
/// </summary>
public sealed class MongooseImMapping
{
    /// <summary>TOML path of the current layout's module section.</summary>
    public const string CurrentModule = "modules.mod_event_pusher.rabbit";
    /// <summary>TOML path of the older layout's module section.</summary>
    public const string OlderModule = "modules.mod_event_pusher.backend.rabbit";
    /// <summary>TOML path of the pool the module uses (tag <c>event_pusher</c>).</summary>
    public const string Pool = "outgoing_pools.rabbit.event_pusher";

    private static readonly (string Toml, string Key, bool Topics)[] Exchanges =
    [
        ("presence_exchange", "EventPusher:Rabbit:PresenceExchange", false),
        ("chat_msg_exchange", "EventPusher:Rabbit:ChatMsgExchange", true),
        ("groupchat_msg_exchange", "EventPusher:Rabbit:GroupchatMsgExchange", true),
    ];

    private readonly ISet<string> _suppressed;

    private MongooseImMapping(ISet<string> suppressed) => _suppressed = suppressed;

    /// <summary>Component key (<c>Rabbit:Port</c>) → value, as configuration strings.</summary>
    public Dictionary<string, string?> Values { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Component key → the TOML key it came from (<c>outgoing_pools.rabbit.event_pusher.connection.port</c>).</summary>
    public Dictionary<string, string> TomlKeys { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Keys that have no equivalent in the component, each line naming the TOML key.</summary>
    public List<string> Warnings { get; } = [];

    /// <summary>Values the component cannot honour, each line naming the TOML key.</summary>
    public List<string> Errors { get; } = [];

    /// <summary><c>current</c>, <c>older</c>, or <c>none</c> (no module section found).</summary>
    public string Layout { get; private set; } = "none";

    /// <summary>
    /// Maps a parsed file. <paramref name="suppressed"/> lists component keys that the component's own configuration
    /// decides on even though the file is lower in precedence: <c>Xmpp:LocalDomains</c> (a list, which configuration
    /// would otherwise merge element by element), <c>Rabbit:Password</c> and <c>Rabbit:Tls:ClientCertificatePassword</c>
    /// when their <c>…File</c> keys are set (so the two do not clash).
    /// </summary>
    public static MongooseImMapping Map(TomlTable root, ISet<string>? suppressed = null)
    {
        var m = new MongooseImMapping(suppressed ?? new HashSet<string>(StringComparer.OrdinalIgnoreCase));
        m.MapGeneral(root);
        m.MapModule(root);
        m.MapPool(root);
        return m;
    }

    private void MapGeneral(TomlTable root)
    {
        var general = Table(root, "general", "general");
        if (general is null || !general.TryGetValue("hosts", out var hosts)) return;
        if (hosts is not TomlArray array || array.Count == 0 || array.Any(h => h is not string { Length: > 0 }))
        {
            Errors.Add("general.hosts: expected a non-empty array of host names");
            return;
        }
        if (_suppressed.Contains("Xmpp:LocalDomains")) return;
        for (var i = 0; i < array.Count; i++) Set($"Xmpp:LocalDomains:{i}", (string)array[i]!, $"general.hosts[{i}]");
    }

    private void MapModule(TomlTable root)
    {
        var pusher = Table(Table(root, "modules", "modules"), "mod_event_pusher", "modules.mod_event_pusher");
        if (pusher is null) return;
        var current = Table(pusher, "rabbit", CurrentModule);
        var older = Table(Table(pusher, "backend", "modules.mod_event_pusher.backend"), "rabbit", OlderModule);
        if (current is not null && older is not null)
        {
            Errors.Add($"{CurrentModule} and {OlderModule} are both present: keep one layout");
            return;
        }
        if (current is not null)
        {
            Layout = "current";
            MapExchanges(current, CurrentModule, absentDisables: true);
        }
        else if (older is not null)
        {
            Layout = "older";
            MapExchanges(older, OlderModule, absentDisables: false);
        }
    }

    private void MapExchanges(TomlTable module, string path, bool absentDisables)
    {
        foreach (var key in module.Keys.Where(k => Exchanges.All(e => e.Toml != k)))
            Unknown($"{path}.{key}");
        foreach (var (toml, key, topics) in Exchanges)
        {
            var tomlPath = $"{path}.{toml}";
            var exchange = Table(module, toml, tomlPath);
            if (exchange is null)
            {
                if (absentDisables && !module.ContainsKey(toml)) Set($"{key}:Enabled", "false", $"{tomlPath} (absent)");
                continue;
            }
            Set($"{key}:Enabled", "true", tomlPath);
            foreach (var (name, value) in exchange)
            {
                var at = $"{tomlPath}.{name}";
                switch (name)
                {
                    case "name": NonEmpty(value, at, $"{key}:Name"); break;
                    case "type": NonEmpty(value, at, $"{key}:Type"); break;
                    case "durable": Boolean(value, at, $"{key}:Durable"); break;
                    case "sent_topic" when topics: NonEmpty(value, at, $"{key}:SentTopic"); break;
                    case "recv_topic" when topics: NonEmpty(value, at, $"{key}:RecvTopic"); break;
                    default: Unknown(at); break;
                }
            }
        }
    }

    private void MapPool(TomlTable root)
    {
        var pools = Table(Table(root, "outgoing_pools", "outgoing_pools"), "rabbit", "outgoing_pools.rabbit");
        var pool = Table(pools, "event_pusher", Pool);
        if (pool is null) return;
        foreach (var (name, value) in pool)
        {
            var at = $"{Pool}.{name}";
            switch (name)
            {
                case "workers": Integer(value, at, "Rabbit:Workers", 1, 1000); break;
                case "strategy": Strategy(value, at); break;
                case "scope":
                    if (value is not "global") Warnings.Add($"{at}: '{value}' is not applied: the component runs one pool for all its local domains");
                    break;
                case "connection":
                    if (Table(pool, "connection", at) is { } connection) MapConnection(connection, at);
                    break;
                default: Unknown(at); break;
            }
        }
    }

    private void MapConnection(TomlTable connection, string path)
    {
        // Each component key once: the current name and the older amqp_ one must not both be given.
        (string Current, string Older, string Key)[] pairs =
        [
            ("host", "amqp_host", "Rabbit:Host"), ("port", "amqp_port", "Rabbit:Port"),
            ("username", "amqp_username", "Rabbit:Username"), ("password", "amqp_password", "Rabbit:Password"),
        ];
        foreach (var (current, older, _) in pairs)
            if (connection.ContainsKey(current) && connection.ContainsKey(older))
                Errors.Add($"{path}.{current} and {path}.{older} are both set: keep one");
        foreach (var (name, value) in connection)
        {
            var at = $"{path}.{name}";
            var pair = pairs.FirstOrDefault(p => p.Current == name || p.Older == name);
            switch (pair.Key ?? name)
            {
                case "Rabbit:Host": NonEmpty(value, at, "Rabbit:Host"); break;
                case "Rabbit:Port": Integer(value, at, "Rabbit:Port", 1, 65535); break;
                case "Rabbit:Username": NonEmpty(value, at, "Rabbit:Username"); break;
                case "Rabbit:Password":
                    if (!_suppressed.Contains("Rabbit:Password")) NonEmpty(value, at, "Rabbit:Password", secret: true);
                    break;
                case "virtual_host": NonEmpty(value, at, "Rabbit:VirtualHost"); break;
                case "confirms_enabled": Boolean(value, at, "Rabbit:ConfirmsEnabled"); break;
                case "max_worker_queue_len": QueueLength(value, at); break;
                case "tls":
                    if (Table(connection, "tls", at) is { } tls) MapTls(tls, at);
                    break;
                default: Unknown(at); break;
            }
        }
    }

    private void MapTls(TomlTable tls, string path)
    {
        Set("Rabbit:Tls:Enabled", "true", path);
        foreach (var (name, value) in tls)
        {
            var at = $"{path}.{name}";
            switch (name)
            {
                case "cacertfile": NonEmpty(value, at, "Rabbit:Tls:CaCertificatePath"); break;
                case "certfile": NonEmpty(value, at, "Rabbit:Tls:ClientCertificatePath"); break;
                case "password":
                    if (!_suppressed.Contains("Rabbit:Tls:ClientCertificatePassword")) NonEmpty(value, at, "Rabbit:Tls:ClientCertificatePassword", secret: true);
                    break;
                case "keyfile":
                    if (value is not string key || !Equals(key, tls.TryGetValue("certfile", out var cert) ? cert : null))
                        Errors.Add($"{at}: a separate key file cannot be honoured: put the certificate and its key into one PEM file " +
                                   "(or a PKCS#12 file) and name it in tls.certfile");
                    break;
                case "verify_mode":
                    if (value is not "peer")
                        Errors.Add($"{at}: '{value}' cannot be honoured: the component always verifies the broker's certificate " +
                                   "(name the CA in tls.cacertfile)");
                    break;
                case "server_name_indication" when value is TomlTable sni:
                    foreach (var (sniName, sniValue) in sni)
                    {
                        var sniAt = $"{at}.{sniName}";
                        if (sniName == "host") NonEmpty(sniValue, sniAt, "Rabbit:Tls:ServerName");
                        else if (sniName == "enabled" && sniValue is true) { }
                        else Unknown(sniAt);
                    }
                    break;
                case "server_name_indication_host": NonEmpty(value, at, "Rabbit:Tls:ServerName"); break;
                default: Unknown(at); break;
            }
        }
    }

    private void Strategy(object? value, string at)
    {
        switch (value)
        {
            case "best_worker": Set("Rabbit:Strategy", "best_worker", at); break;
            case "available_worker": Set("Rabbit:Strategy", "available_worker", at); break;
            default:
                Errors.Add($"{at}: '{value}' cannot be honoured: the component offers best_worker, available_worker, " +
                           "or its default user_hash (per-user order; remove the key to get it)");
                break;
        }
    }

    private void QueueLength(object? value, string at)
    {
        switch (value)
        {
            case "infinity": Set("Rabbit:MaxWorkerQueueLen", "0", at); break;
            case long n and > 0 and <= int.MaxValue: Set("Rabbit:MaxWorkerQueueLen", n.ToString(CultureInfo.InvariantCulture), at); break;
            default: Errors.Add($"{at}: expected a positive integer or \"infinity\", got {Show(value)}"); break;
        }
    }

    private void NonEmpty(object? value, string at, string key, bool secret = false)
    {
        if (value is string { Length: > 0 } s && !string.IsNullOrWhiteSpace(s)) Set(key, s, at);
        else Errors.Add($"{at}: expected a non-empty string, got {(secret && value is string ? "an empty string" : Show(value))}");
    }

    private void Boolean(object? value, string at, string key)
    {
        if (value is bool b) Set(key, b ? "true" : "false", at);
        else Errors.Add($"{at}: expected true or false, got {Show(value)}");
    }

    private void Integer(object? value, string at, string key, long min, long max)
    {
        if (value is long n && n >= min && n <= max) Set(key, n.ToString(CultureInfo.InvariantCulture), at);
        else Errors.Add($"{at}: expected an integer {min}-{max}, got {Show(value)}");
    }

    private void Unknown(string at) => Warnings.Add($"{at}: not used by the component (ignored)");

    private void Set(string key, string value, string tomlKey)
    {
        Values[key] = value;
        TomlKeys[key] = tomlKey;
    }

    /// <summary>The sub-table <paramref name="name"/> of <paramref name="parent"/>, or null when absent; not a table is an error.</summary>
    private TomlTable? Table(TomlTable? parent, string name, string path)
    {
        if (parent is null || !parent.TryGetValue(name, out var value)) return null;
        if (value is TomlTable t) return t;
        Errors.Add($"{path}: expected a table, got {Show(value)}");
        return null;
    }

    private static string Show(object? value) => value switch
    {
        null => "nothing",
        string s => $"\"{s}\"",
        bool b => b ? "true" : "false",
        long or double => Convert.ToString(value, CultureInfo.InvariantCulture)!,
        TomlTable => "a table",
        TomlArray => "an array",
        _ => value.GetType().Name,
    };
}
