using System.Collections;
using System.Reflection;
using Microsoft.Extensions.Options;

namespace XmppRabbitComponent.Configuration;

/// <summary>
/// Finds configuration keys the component does not know, and names them in full
/// (<c>EventPusher:Rabbit:ChatMsgExchange:SentTopc</c>), so that a typo stops start-up with a clear error
/// instead of silently leaving a default in place (rules: "a config typo" gets a
/// clear error). Inside the <c>Xmpp</c>, <c>Rabbit</c> and <c>EventPusher</c> sections every key is checked against
/// the options classes; at the top level, where environment variables of the whole machine land too, only near
/// misses of those section names (<c>Rabit</c>, <c>xmpp_</c>) are reported.
/// </summary>
public static class ConfigurationKeyCheck
{
    private static readonly (string Name, Type Type)[] Sections =
    [
        (XmppOptions.Section, typeof(XmppOptions)),
        (RabbitOptions.Section, typeof(RabbitOptions)),
        (EventPusherOptions.Section, typeof(EventPusherOptions)),
        (MongooseImOptions.Section, typeof(MongooseImOptions)),
    ];

    /// <summary>One error line per unknown key, e.g. <c>unknown key 'Rabbit:Workrs' (known in Rabbit: Host, Hosts, …)</c>.</summary>
    public static IReadOnlyList<string> UnknownKeys(IConfiguration configuration)
    {
        var errors = new List<string>();
        foreach (var (name, type) in Sections)
            Walk(configuration.GetSection(name), type, errors);
        foreach (var top in configuration.GetChildren())
        {
            if (Sections.Any(s => string.Equals(s.Name, top.Key, StringComparison.OrdinalIgnoreCase))) continue;
            var near = Sections.FirstOrDefault(s => top.Key.Length >= 3 && Distance(top.Key.ToLowerInvariant(), s.Name.ToLowerInvariant()) <= 2);
            if (near.Name is not null) errors.Add($"unknown section '{top.Key}': did you mean '{near.Name}'?");
        }
        return errors;
    }

    private static void Walk(IConfigurationSection section, Type type, List<string> errors)
    {
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite).ToArray();
        foreach (var child in section.GetChildren())
        {
            var property = properties.FirstOrDefault(p => string.Equals(p.Name, child.Key, StringComparison.OrdinalIgnoreCase));
            if (property is null)
            {
                errors.Add($"unknown key '{child.Path}' (known in {section.Path}: {string.Join(", ", properties.Select(p => p.Name))})");
                continue;
            }
            var t = property.PropertyType;
            if (t.IsClass && t != typeof(string) && !typeof(IEnumerable).IsAssignableFrom(t)) Walk(child, t, errors);
        }
    }

    // Levenshtein distance, for "did you mean".
    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
            for (var j = 1; j <= b.Length; j++)
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
        return d[a.Length, b.Length];
    }
}

/// <summary>Reports <see cref="ConfigurationKeyCheck.UnknownKeys"/> as a start-up validation failure (with the other option errors).</summary>
public sealed class UnknownKeysValidator(IConfiguration configuration) : IValidateOptions<XmppOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, XmppOptions options)
    {
        var errors = ConfigurationKeyCheck.UnknownKeys(configuration);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
