using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using XmppRabbitComponent.Configuration;
using XmppRabbitComponent.Hosting;

namespace XmppRabbitComponent.Tests;

/// <summary>Configuration is validated at start-up with errors that name the key.</summary>
public sealed class ConfigurationTests
{
    private static Dictionary<string, string?> Valid() => new()
    {
        ["Urls"] = "http://127.0.0.1:0",
        ["Xmpp:ComponentDomain"] = "events.example.com",
        ["Xmpp:Secret"] = "s3cr3t",
    };

    private static async Task<Exception?> StartFailure(Dictionary<string, string?> settings)
    {
        var app = ComponentHost.Build([], c => c.AddInMemoryCollection(settings));
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await app.StartAsync(cts.Token);
            await app.StopAsync(CancellationToken.None);
            return null;
        }
        catch (Exception e) { return e; }
        finally { await app.DisposeAsync(); }
    }

    [TestCase("Xmpp:ComponentDomain", "", "Xmpp:ComponentDomain is required")]
    [TestCase("Xmpp:Secret", "", "Xmpp:Secret is required")]
    [TestCase("Xmpp:Port", "0", "Xmpp:Port must be 1-65535")]
    [TestCase("EventPusher:Rabbit:ChatMsgExchange:SentTopic", "", "EventPusher:Rabbit:ChatMsgExchange:SentTopic must be a non-empty string")]
    [TestCase("EventPusher:Rabbit:PresenceExchange:Name", " ", "EventPusher:Rabbit:PresenceExchange:Name must be a non-empty string")]
    [TestCase("EventPusher:CopyMatchWindow", "-00:00:01", "EventPusher:CopyMatchWindow must be a positive time span")]
    [TestCase("Rabbit:Strategy", "round_robin", "Rabbit:Strategy: 'round_robin' is not one of")]
    [TestCase("Rabbit:Workers", "0", "Rabbit:Workers must be 1-1000")]
    public async Task An_invalid_value_stops_start_up_with_an_error_naming_the_key(string key, string value, string message)
    {
        var settings = Valid();
        settings[key] = value;
        var error = await StartFailure(settings);
        Assert.That(error, Is.InstanceOf<OptionsValidationException>());
        Assert.That(((OptionsValidationException)error!).Failures, Has.Some.Contains(message));
    }

    [Test]
    public async Task A_misspelt_key_inside_a_section_is_an_error_naming_it()
    {
        var settings = Valid();
        settings["Rabbit:Pasword"] = "x";
        var error = await StartFailure(settings);
        Assert.That(error, Is.Not.Null);
        Assert.That(error!.ToString(), Does.Contain("Pasword"));
    }

    [TestCase("EventPusher:Rabbit:ChatMsgExchange:SentTopc", "unknown key 'EventPusher:Rabbit:ChatMsgExchange:SentTopc'")]
    [TestCase("Rabbit:Tls:CaCertPath", "unknown key 'Rabbit:Tls:CaCertPath'")]
    [TestCase("Rabit:Host", "unknown section 'Rabit': did you mean 'Rabbit'?")]
    [TestCase("xmpp_:Host", "unknown section 'xmpp_': did you mean 'Xmpp'?")]
    public async Task A_misspelt_key_or_section_is_named_in_full(string key, string message)
    {
        var settings = Valid();
        settings[key] = "x";
        var error = await StartFailure(settings);
        Assert.That(error, Is.InstanceOf<OptionsValidationException>());
        Assert.That(((OptionsValidationException)error!).Failures, Has.Some.StartsWith(message));
    }

    [Test]
    public void Unrelated_top_level_keys_such_as_environment_variables_are_not_errors()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["PATH"] = "/usr/bin", ["HOME"] = "/root", ["Logging:LogLevel:Default"] = "Information", ["Urls"] = "http://x",
            ["Rabbit:Tls:Enabled"] = "false", ["Xmpp:LocalDomains:0"] = "example.com",
        }).Build();
        Assert.That(ConfigurationKeyCheck.UnknownKeys(config), Is.Empty);
    }

    [Test]
    public async Task A_disabled_section_needs_no_valid_names()
    {
        var settings = Valid();
        settings["EventPusher:Rabbit:GroupchatMsgExchange:Enabled"] = "false";
        settings["EventPusher:Rabbit:GroupchatMsgExchange:Name"] = "";
        var options = new EventPusherOptions();
        new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection("EventPusher").Bind(options);
        Assert.That(new EventPusherOptionsValidator().Validate(null, options).Succeeded, Is.True);
    }

    [Test]
    public void Defaults_are_the_seeds()
    {
        var o = new EventPusherOptions();
        Assert.Multiple(() =>
        {
            Assert.That((o.Rabbit.PresenceExchange.Name, o.Rabbit.PresenceExchange.Type, o.Rabbit.PresenceExchange.Durable), Is.EqualTo(("presence", "topic", false)));
            Assert.That((o.Rabbit.ChatMsgExchange.Name, o.Rabbit.ChatMsgExchange.SentTopic, o.Rabbit.ChatMsgExchange.RecvTopic), Is.EqualTo(("chat_msg", "chat_msg_sent", "chat_msg_recv")));
            Assert.That((o.Rabbit.GroupchatMsgExchange.Name, o.Rabbit.GroupchatMsgExchange.SentTopic, o.Rabbit.GroupchatMsgExchange.RecvTopic), Is.EqualTo(("groupchat_msg", "groupchat_msg_sent", "groupchat_msg_recv")));
            Assert.That(o.CopyMatchWindow, Is.EqualTo(TimeSpan.FromSeconds(30)));
            Assert.That(o.MaxTrackedPresences, Is.EqualTo(1_000_000));
            var r = new RabbitOptions();
            Assert.That((r.Host, r.Port, r.Username, r.Password, r.VirtualHost, r.Workers, r.ConfirmsEnabled), Is.EqualTo(("localhost", 5672, "guest", "guest", "/", 10, false)));
        });
    }

    [TestCase("events.localhost", "localhost")]
    [TestCase("pubsub.chat.example.com", "chat.example.com")]
    public void Local_domain_defaults_to_the_parent_of_the_component_domain(string component, string local)
    {
        Assert.That(new XmppOptions { ComponentDomain = component }.EffectiveLocalDomains(), Is.EqualTo(new[] { local }));
    }
}
