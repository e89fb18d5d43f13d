using Microsoft.Extensions.Options;

namespace XmppRabbitComponent.Configuration;

/// <summary>
/// Reads secrets from files: <c>Xmpp:SecretFile</c>, <c>Rabbit:PasswordFile</c> and
/// <c>Rabbit:Tls:ClientCertificatePasswordFile</c> (docs/operating.md, "Secrets"). The file's content is the secret,
/// with trailing line breaks (<c>\n</c>, <c>\r\n</c>) removed, the convention of Kubernetes secrets, Docker secrets and
/// systemd credentials. Setting a secret and its file, or a file that cannot be read or is empty, stops start-up with an
/// <see cref="OptionsValidationException"/> that names the key and the path, never the secret.
/// </summary>
public static class SecretFiles
{
    /// <summary>
    /// The secret held by the file that <paramref name="fileKey"/> names, or null when that key is not set.
    /// </summary>
    /// <param name="configuration">The whole configuration: a value for <paramref name="valueKey"/> from any source counts as set.</param>
    /// <param name="valueKey">The key of the secret itself, e.g. <c>Xmpp:Secret</c>.</param>
    /// <param name="fileKey">The key of the file, e.g. <c>Xmpp:SecretFile</c>.</param>
    /// <param name="optionsType">The options type, for the exception.</param>
    /// <exception cref="OptionsValidationException">Both keys are set; the file cannot be read; the file is empty.</exception>
    public static string? Read(IConfiguration configuration, string valueKey, string fileKey, Type optionsType)
    {
        var path = configuration[fileKey];
        if (string.IsNullOrWhiteSpace(path)) return null;
        if (!string.IsNullOrEmpty(configuration[valueKey]))
            throw Fail(optionsType, $"{valueKey} and {fileKey} are both set: give the secret one way only");
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            // The exception messages of these name the path and the reason, never the content.
            throw Fail(optionsType, $"{fileKey}: cannot read '{path}': {e.Message}");
        }
        var secret = text.TrimEnd('\r', '\n');
        if (secret.Length == 0) throw Fail(optionsType, $"{fileKey}: file '{path}' is empty");
        return secret;
    }

    private static OptionsValidationException Fail(Type optionsType, string message) =>
        new(Options.DefaultName, optionsType, [message]);
}

/// <summary>Fills <see cref="XmppOptions.Secret"/> from <c>Xmpp:SecretFile</c> (see <see cref="SecretFiles"/>).</summary>
public sealed class XmppSecretFile(IConfiguration configuration) : IPostConfigureOptions<XmppOptions>
{
    /// <inheritdoc />
    public void PostConfigure(string? name, XmppOptions options)
    {
        if (SecretFiles.Read(configuration, "Xmpp:Secret", "Xmpp:SecretFile", typeof(XmppOptions)) is { } secret)
            options.Secret = secret;
    }
}

/// <summary>Fills <see cref="RabbitOptions.Password"/> and the client certificate password from their files (see <see cref="SecretFiles"/>).</summary>
public sealed class RabbitSecretFiles(IConfiguration configuration) : IPostConfigureOptions<RabbitOptions>
{
    /// <inheritdoc />
    public void PostConfigure(string? name, RabbitOptions options)
    {
        if (SecretFiles.Read(configuration, "Rabbit:Password", "Rabbit:PasswordFile", typeof(RabbitOptions)) is { } password)
            options.Password = password;
        if (SecretFiles.Read(configuration, "Rabbit:Tls:ClientCertificatePassword", "Rabbit:Tls:ClientCertificatePasswordFile", typeof(RabbitOptions)) is { } certPassword)
            options.Tls.ClientCertificatePassword = certPassword;
    }
}
