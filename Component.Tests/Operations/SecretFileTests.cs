using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using XmppRabbitComponent.Configuration;
using XmppRabbitComponent.Hosting;

namespace XmppRabbitComponent.Tests.Operations;

/// <summary><c>Xmpp:SecretFile</c>, <c>Rabbit:PasswordFile</c>, <c>Rabbit:Tls:ClientCertificatePasswordFile</c>.</summary>
public sealed class SecretFileTests
{
    private const string Secret = "s3cr3t value with spaces ";

    private static string SecretFile(string content)
    {
        var path = Path.Combine(Path.GetTempPath(), $"secret-{Guid.NewGuid():N}");
        File.WriteAllText(path, content);
        return path;
    }

    private static IServiceProvider Build(Dictionary<string, string?> settings)
    {
        settings.TryAdd("Xmpp:ComponentDomain", "events.localhost");
        return ComponentHost.Build([], c => c.AddInMemoryCollection(settings)).Services;
    }

    [TestCase("\n")]
    [TestCase("\r\n")]
    [TestCase("")]
    public void Secrets_are_read_from_their_files_without_the_trailing_newline(string newline)
    {
        var services = Build(new()
        {
            ["Xmpp:SecretFile"] = SecretFile(Secret + newline),
            ["Rabbit:PasswordFile"] = SecretFile("rabbit-pass" + newline),
            ["Rabbit:Tls:ClientCertificatePasswordFile"] = SecretFile("cert-pass" + newline),
        });
        Assert.That(services.GetRequiredService<IOptions<XmppOptions>>().Value.Secret, Is.EqualTo(Secret));
        var rabbit = services.GetRequiredService<IOptions<RabbitOptions>>().Value;
        Assert.That(rabbit.Password, Is.EqualTo("rabbit-pass"));
        Assert.That(rabbit.Tls.ClientCertificatePassword, Is.EqualTo("cert-pass"));
    }

    [TestCase("Xmpp:Secret", "Xmpp:SecretFile")]
    [TestCase("Rabbit:Password", "Rabbit:PasswordFile")]
    [TestCase("Rabbit:Tls:ClientCertificatePassword", "Rabbit:Tls:ClientCertificatePasswordFile")]
    public void A_secret_and_its_file_both_set_is_an_error_naming_both_keys_and_not_the_secret(string key, string fileKey)
    {
        var services = Build(new() { ["Xmpp:Secret"] = "x", [key] = "given-inline", [fileKey] = SecretFile(Secret) });
        var e = Assert.Catch<OptionsValidationException>(() =>
        {
            _ = services.GetRequiredService<IOptions<XmppOptions>>().Value;
            _ = services.GetRequiredService<IOptions<RabbitOptions>>().Value;
        });
        Assert.That(e!.Message, Does.Contain($"{key} and {fileKey} are both set"));
        Assert.That(e.Message, Does.Not.Contain(Secret.Trim()).And.Not.Contain("given-inline"));
    }

    [Test]
    public void An_unreadable_secret_file_is_an_error_naming_the_key_and_the_path()
    {
        var services = Build(new() { ["Xmpp:SecretFile"] = "/nonexistent/xmpp-secret" });
        var e = Assert.Throws<OptionsValidationException>(() => _ = services.GetRequiredService<IOptions<XmppOptions>>().Value);
        Assert.That(e!.Message, Does.StartWith("Xmpp:SecretFile: cannot read '/nonexistent/xmpp-secret'"));
    }

    [Test]
    public void An_empty_secret_file_is_an_error()
    {
        var services = Build(new() { ["Xmpp:Secret"] = "x", ["Rabbit:PasswordFile"] = SecretFile("\n") });
        var e = Assert.Throws<OptionsValidationException>(() => _ = services.GetRequiredService<IOptions<RabbitOptions>>().Value);
        Assert.That(e!.Message, Does.Contain("Rabbit:PasswordFile: file '").And.Contain("' is empty"));
    }

    [Test]
    public void A_password_file_wins_over_the_password_of_an_imported_MongooseIM_file()
    {
        var services = Build(new()
        {
            ["Xmpp:Secret"] = "x",
            ["MongooseIM:ConfigFile"] = MongooseImImportTests.Fixture("current.toml"),
            ["Rabbit:PasswordFile"] = SecretFile("from-file\n"),
        });
        Assert.That(services.GetRequiredService<IOptions<RabbitOptions>>().Value.Password, Is.EqualTo("from-file"));
    }

    [Test]
    public void The_effective_configuration_masks_secrets_and_says_which_file_they_came_from()
    {
        var file = SecretFile(Secret);
        var app = ComponentHost.Build([], c => c.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Xmpp:ComponentDomain"] = "events.localhost",
            ["Xmpp:SecretFile"] = file,
            ["Rabbit:Password"] = "inline-password",
        }));
        var lines = ConfigCheck.Describe((IConfigurationRoot)app.Configuration,
            app.Services.GetRequiredService<IOptions<XmppOptions>>().Value,
            app.Services.GetRequiredService<IOptions<RabbitOptions>>().Value,
            app.Services.GetRequiredService<IOptions<EventPusherOptions>>().Value).ToList();
        Assert.That(lines, Has.Member($"Xmpp:Secret = ********  [file {file} (from Xmpp:SecretFile, in-memory)]"));
        Assert.That(lines, Has.Member("Rabbit:Password = ********  [in-memory]"));
        Assert.That(lines, Has.Member("Rabbit:Port = 5672  [default]"));
        Assert.That(string.Join("\n", lines), Does.Not.Contain(Secret.Trim()).And.Not.Contain("inline-password"));
    }
}
