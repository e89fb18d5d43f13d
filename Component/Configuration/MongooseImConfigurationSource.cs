using Tomlyn;
using Tomlyn.Model;

namespace XmppRabbitComponent.Configuration;

/// <summary><c>MongooseIM</c> section: the import of an existing <c>mongooseim.toml</c> (docs/migrating-from-mongooseim.md).</summary>
public sealed class MongooseImOptions
{
    /// <summary>Configuration section name: <c>MongooseIM</c>.</summary>
    public const string Section = "MongooseIM";

    /// <summary>The key naming the file: <c>MongooseIM:ConfigFile</c>.</summary>
    public const string ConfigFileKey = "MongooseIM:ConfigFile";

    /// <summary>The command-line switch that sets <see cref="ConfigFileKey"/>: <c>--mongooseim-config PATH</c>.</summary>
    public const string Switch = "--mongooseim-config";

    /// <summary><c>MongooseIM:ConfigFile</c>: path of a <c>mongooseim.toml</c> to read settings from, below the component's own sources.</summary>
    public string? ConfigFile { get; set; }
}

/// <summary>A TOML syntax error, an unreadable file, or values the component cannot honour; the message names the file and the line and column or the TOML key.</summary>
public sealed class MongooseImConfigurationException(string message) : Exception(message);

/// <summary>
/// A configuration source that reads a <c>mongooseim.toml</c> through <see cref="MongooseImMapping"/>. <see cref="AddTo"/>
/// puts it first, so that everything else (appsettings, environment, command line) overrides what the file says.
/// </summary>
public sealed class MongooseImConfigurationSource(string path, ISet<string> suppressed) : IConfigurationSource
{
    /// <summary>The file.</summary>
    public string Path { get; } = path;

    /// <summary>See <see cref="MongooseImMapping.Map"/>.</summary>
    public ISet<string> Suppressed { get; } = suppressed;

    /// <inheritdoc />
    public IConfigurationProvider Build(IConfigurationBuilder builder) => new MongooseImConfigurationProvider(this);

    /// <summary>
    /// When <c>MongooseIM:ConfigFile</c> is set (by any source), inserts the source at the lowest precedence and loads it.
    /// Returns the provider (for its warnings and the TOML key of each value), or null when no file is named.
    /// </summary>
    /// <exception cref="MongooseImConfigurationException">The file is unreadable, not TOML, or holds values the component cannot honour.</exception>
    public static MongooseImConfigurationProvider? AddTo(IConfigurationManager configuration)
    {
        var path = configuration[MongooseImOptions.ConfigFileKey];
        if (string.IsNullOrWhiteSpace(path)) return null;
        var suppressed = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        if (configuration.GetSection("Xmpp:LocalDomains").GetChildren().Any()) suppressed.Add("Xmpp:LocalDomains");
        if (!string.IsNullOrEmpty(configuration["Rabbit:PasswordFile"])) suppressed.Add("Rabbit:Password");
        if (!string.IsNullOrEmpty(configuration["Rabbit:Tls:ClientCertificatePasswordFile"])) suppressed.Add("Rabbit:Tls:ClientCertificatePassword");
        var source = new MongooseImConfigurationSource(path, suppressed);
        configuration.Sources.Insert(0, source);
        return ((IConfigurationRoot)configuration).Providers.OfType<MongooseImConfigurationProvider>().First();
    }

    /// <summary>
    /// Rewrites <c>--mongooseim-config PATH</c> and <c>--mongooseim-config=PATH</c> to <c>--MongooseIM:ConfigFile=PATH</c>
    /// for the command-line configuration provider.
    /// </summary>
    /// <exception cref="MongooseImConfigurationException">The switch has no path.</exception>
    public static string[] TranslateArguments(string[] args)
    {
        var result = new List<string>(args.Length);
        for (var i = 0; i < args.Length; i++)
        {
            var a = args[i];
            if (a == MongooseImOptions.Switch)
            {
                if (i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                    throw new MongooseImConfigurationException($"{MongooseImOptions.Switch} needs a path: {MongooseImOptions.Switch} /etc/mongooseim/mongooseim.toml");
                result.Add($"--{MongooseImOptions.ConfigFileKey}={args[++i]}");
            }
            else if (a.StartsWith(MongooseImOptions.Switch + "=", StringComparison.Ordinal))
                result.Add($"--{MongooseImOptions.ConfigFileKey}={a[(MongooseImOptions.Switch.Length + 1)..]}");
            else result.Add(a);
        }
        return result.ToArray();
    }
}

/// <summary>Loads the file named by a <see cref="MongooseImConfigurationSource"/>.</summary>
public sealed class MongooseImConfigurationProvider(MongooseImConfigurationSource source) : ConfigurationProvider
{
    private MongooseImMapping? _mapping;

    /// <summary>The file read.</summary>
    public string Path => source.Path;

    /// <summary>The keys of the file the component does not use, each a line naming the TOML key.</summary>
    public IReadOnlyList<string> Warnings => _mapping?.Warnings ?? [];

    /// <summary><c>current</c>, <c>older</c> or <c>none</c>: which module layout the file has.</summary>
    public string Layout => _mapping?.Layout ?? "none";

    /// <summary>The TOML key a component key came from, or null.</summary>
    public string? TomlKeyOf(string key) => _mapping is not null && _mapping.TomlKeys.TryGetValue(key, out var t) ? t : null;

    /// <inheritdoc />
    /// <exception cref="MongooseImConfigurationException">Unreadable file, TOML syntax error (line and column), or values that cannot be honoured.</exception>
    public override void Load()
    {
        _mapping = MongooseImMapping.Map(Parse(source.Path), source.Suppressed);
        if (_mapping.Errors.Count > 0)
            throw new MongooseImConfigurationException($"{source.Path}: {string.Join("; ", _mapping.Errors)}");
        Data = new Dictionary<string, string?>(_mapping.Values, StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>Reads and parses a TOML file; errors name the file, and a syntax error its line and column (1-based).</summary>
    /// <exception cref="MongooseImConfigurationException">Unreadable or not TOML.</exception>
    public static TomlTable Parse(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new MongooseImConfigurationException($"{MongooseImOptions.ConfigFileKey}: cannot read '{path}': {e.Message}");
        }
        try
        {
            return TomlSerializer.Deserialize<TomlTable>(text, new TomlSerializerOptions { SourceName = path })
                   ?? throw new MongooseImConfigurationException($"{path}: empty TOML document");
        }
        catch (TomlException e)
        {
            var first = e.Diagnostics?.FirstOrDefault(d => d.Kind == Tomlyn.Syntax.DiagnosticMessageKind.Error);
            throw new MongooseImConfigurationException($"{path}:{e.Line}:{e.Column}: TOML syntax error: {first?.Message ?? e.Message}");
        }
    }
}
