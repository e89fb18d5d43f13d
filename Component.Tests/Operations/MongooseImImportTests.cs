using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Tomlyn;
using Tomlyn.Model;
using XmppRabbitComponent.Configuration;
using XmppRabbitComponent.Hosting;

namespace XmppRabbitComponent.Tests.Operations;

/// <summary>The <c>mongooseim.toml</c> import: both layouts, precedence, warnings and errors naming the TOML key.</summary>
public sealed class MongooseImImportTests
{
    internal static string Fixture(string name) => Path.Combine(TestContext.CurrentContext.TestDirectory, "TestData", "mongooseim", name);

    private static MongooseImMapping Map(string toml) => MongooseImMapping.Map(TomlSerializer.Deserialize<TomlTable>(toml)!);

    private static string TempToml(string text)
    {
        var path = Path.Combine(Path.GetTempPath(), $"mim-{Guid.NewGuid():N}.toml");
        File.WriteAllText(path, text);
        return path;
    }

    [Test]
    public void The_current_layout_maps_exchanges_pool_and_hosts()
    {
        var m = MongooseImMapping.Map(MongooseImConfigurationProvider.Parse(Fixture("current.toml")));

        Assert.That(m.Layout, Is.EqualTo("current"));
        Assert.That(m.Errors, Is.Empty);
        Assert.That(m.Values, Is.EquivalentTo(new Dictionary<string, string?>
        {
            ["Xmpp:LocalDomains:0"] = "localhost",
            ["Xmpp:LocalDomains:1"] = "chat.localhost",
            ["Rabbit:Workers"] = "3",
            ["Rabbit:Strategy"] = "best_worker",
            ["Rabbit:Host"] = "127.0.0.1",
            ["Rabbit:Port"] = "5672",
            ["Rabbit:Username"] = "guest",
            ["Rabbit:Password"] = "guest",
            ["Rabbit:VirtualHost"] = "/",
            ["Rabbit:ConfirmsEnabled"] = "true",
            ["Rabbit:MaxWorkerQueueLen"] = "100",
            ["EventPusher:Rabbit:PresenceExchange:Enabled"] = "true",
            ["EventPusher:Rabbit:PresenceExchange:Name"] = "mim_presence",
            ["EventPusher:Rabbit:PresenceExchange:Type"] = "topic",
            ["EventPusher:Rabbit:PresenceExchange:Durable"] = "true",
            ["EventPusher:Rabbit:ChatMsgExchange:Enabled"] = "true",
            ["EventPusher:Rabbit:ChatMsgExchange:Name"] = "mim_chat",
            ["EventPusher:Rabbit:ChatMsgExchange:Type"] = "direct",
            ["EventPusher:Rabbit:ChatMsgExchange:SentTopic"] = "pm_sent",
            ["EventPusher:Rabbit:ChatMsgExchange:RecvTopic"] = "pm_recv",
            // Absent in the current layout: that kind of event is off, as in MongooseIM.
            ["EventPusher:Rabbit:GroupchatMsgExchange:Enabled"] = "false",
        }));
        Assert.That(m.TomlKeys["Rabbit:Port"], Is.EqualTo("outgoing_pools.rabbit.event_pusher.connection.port"));
        // Unused keys of the sections read are warnings naming them; other sections (rdbms pool, mod_disco, the http backend) are not.
        Assert.That(m.Warnings, Is.EquivalentTo(new[]
        {
            "outgoing_pools.rabbit.event_pusher.call_timeout: not used by the component (ignored)",
            "modules.mod_event_pusher.rabbit.chat_msg_exchange.extra_option: not used by the component (ignored)",
        }));
    }

    [Test]
    public void The_older_layout_maps_backend_rabbit_and_the_amqp_keys()
    {
        var m = MongooseImMapping.Map(MongooseImConfigurationProvider.Parse(Fixture("older.toml")));

        Assert.That(m.Layout, Is.EqualTo("older"));
        Assert.That(m.Errors, Is.Empty);
        Assert.That(m.Values["Rabbit:Host"], Is.EqualTo("127.0.0.1"));
        Assert.That(m.Values["Rabbit:Port"], Is.EqualTo("5672"));
        Assert.That(m.Values["Rabbit:Username"], Is.EqualTo("guest"));
        Assert.That(m.Values["Rabbit:Password"], Is.EqualTo("guest"));
        Assert.That(m.Values["Rabbit:Workers"], Is.EqualTo("2"));
        Assert.That(m.Values["Rabbit:Strategy"], Is.EqualTo("available_worker"));
        Assert.That(m.Values["Rabbit:ConfirmsEnabled"], Is.EqualTo("false"));
        Assert.That(m.Values["Rabbit:MaxWorkerQueueLen"], Is.EqualTo("0"), "\"infinity\" is no per-worker limit");
        Assert.That(m.Values["EventPusher:Rabbit:PresenceExchange:Name"], Is.EqualTo("mim_presence"));
        Assert.That(m.Values["EventPusher:Rabbit:GroupchatMsgExchange:Name"], Is.EqualTo("mim_groupchat"));
        Assert.That(m.TomlKeys["Rabbit:Host"], Is.EqualTo("outgoing_pools.rabbit.event_pusher.connection.amqp_host"));
        Assert.That(m.TomlKeys["EventPusher:Rabbit:ChatMsgExchange:Name"], Is.EqualTo("modules.mod_event_pusher.backend.rabbit.chat_msg_exchange.name"));
        Assert.That(m.Warnings, Is.EqualTo(new[] { "modules.mod_event_pusher.backend.rabbit.groupchat_msg_exchange.durable_flag: not used by the component (ignored)" }));
    }

    [Test]
    public void In_the_older_layout_an_absent_exchange_section_keeps_its_defaults()
    {
        var m = Map("""
            [modules.mod_event_pusher]
              backend.rabbit.presence_exchange.name = "p"
            """);
        Assert.That(m.Values.Keys, Is.EquivalentTo(new[] { "EventPusher:Rabbit:PresenceExchange:Enabled", "EventPusher:Rabbit:PresenceExchange:Name" }));
    }

    [Test]
    public void In_the_current_layout_an_empty_module_section_disables_every_exchange()
    {
        var m = Map("[modules.mod_event_pusher.rabbit]\n");
        Assert.That(m.Values.Where(kv => kv.Key.EndsWith(":Enabled")).Select(kv => kv.Value), Is.EqualTo(new[] { "false", "false", "false" }));
    }

    [TestCase("[outgoing_pools.rabbit.event_pusher]\nstrategy = \"next_worker\"", "outgoing_pools.rabbit.event_pusher.strategy: 'next_worker' cannot be honoured")]
    [TestCase("[outgoing_pools.rabbit.event_pusher]\nworkers = 0", "outgoing_pools.rabbit.event_pusher.workers: expected an integer 1-1000, got 0")]
    [TestCase("[outgoing_pools.rabbit.event_pusher]\nconnection.port = \"5672\"", "outgoing_pools.rabbit.event_pusher.connection.port: expected an integer 1-65535, got \"5672\"")]
    [TestCase("[outgoing_pools.rabbit.event_pusher]\nconnection.max_worker_queue_len = -1", "outgoing_pools.rabbit.event_pusher.connection.max_worker_queue_len: expected a positive integer or \"infinity\", got -1")]
    [TestCase("[outgoing_pools.rabbit.event_pusher]\nconnection.host = \"a\"\nconnection.amqp_host = \"b\"", "connection.host and outgoing_pools.rabbit.event_pusher.connection.amqp_host are both set")]
    [TestCase("[outgoing_pools.rabbit.event_pusher]\nconnection.tls.verify_mode = \"none\"", "outgoing_pools.rabbit.event_pusher.connection.tls.verify_mode: 'none' cannot be honoured")]
    [TestCase("[outgoing_pools.rabbit.event_pusher]\nconnection.tls.certfile = \"c.pem\"\nconnection.tls.keyfile = \"k.pem\"", "outgoing_pools.rabbit.event_pusher.connection.tls.keyfile: a separate key file cannot be honoured")]
    [TestCase("[modules.mod_event_pusher.rabbit]\npresence_exchange.name = \"\"", "modules.mod_event_pusher.rabbit.presence_exchange.name: expected a non-empty string, got \"\"")]
    [TestCase("[modules.mod_event_pusher.rabbit]\nchat_msg_exchange.durable = \"yes\"", "modules.mod_event_pusher.rabbit.chat_msg_exchange.durable: expected true or false, got \"yes\"")]
    [TestCase("[modules.mod_event_pusher.rabbit]\n[modules.mod_event_pusher.backend.rabbit]", "are both present: keep one layout")]
    [TestCase("[general]\nhosts = \"localhost\"", "general.hosts: expected a non-empty array of host names")]
    public void A_value_that_cannot_be_honoured_is_an_error_naming_the_TOML_key(string toml, string expected)
    {
        Assert.That(Map(toml).Errors, Has.Some.Contains(expected));
    }

    [Test]
    public void The_TLS_section_turns_TLS_on_and_maps_the_files()
    {
        var m = Map("""
            [outgoing_pools.rabbit.event_pusher.connection.tls]
              verify_mode = "peer"
              cacertfile = "/etc/ca.pem"
              certfile = "/etc/client.p12"
              password = "p12pass"
              server_name_indication.host = "rabbit.internal"
              versions = ["tlsv1.3"]
            """);
        Assert.That(m.Errors, Is.Empty);
        Assert.That(m.Values["Rabbit:Tls:Enabled"], Is.EqualTo("true"));
        Assert.That(m.Values["Rabbit:Tls:CaCertificatePath"], Is.EqualTo("/etc/ca.pem"));
        Assert.That(m.Values["Rabbit:Tls:ClientCertificatePath"], Is.EqualTo("/etc/client.p12"));
        Assert.That(m.Values["Rabbit:Tls:ClientCertificatePassword"], Is.EqualTo("p12pass"));
        Assert.That(m.Values["Rabbit:Tls:ServerName"], Is.EqualTo("rabbit.internal"));
        Assert.That(m.Warnings, Is.EqualTo(new[] { "outgoing_pools.rabbit.event_pusher.connection.tls.versions: not used by the component (ignored)" }));
    }

    [Test]
    public void A_TOML_syntax_error_names_the_file_line_and_column()
    {
        var path = TempToml("[general]\n  hosts = [\"localhost\"]\n  loglevel = = \"info\"\n");
        var e = Assert.Throws<MongooseImConfigurationException>(() => MongooseImConfigurationProvider.Parse(path));
        Assert.That(e!.Message, Does.StartWith($"{path}:3:").And.Contain("TOML syntax error"));
    }

    [Test]
    public void A_missing_file_is_an_error_naming_the_key()
    {
        var e = Assert.Throws<MongooseImConfigurationException>(() =>
            ComponentHost.Build(["--mongooseim-config", "/nonexistent/mongooseim.toml"]));
        Assert.That(e!.Message, Does.Contain("MongooseIM:ConfigFile: cannot read '/nonexistent/mongooseim.toml'"));
    }

    [Test]
    public void The_component_own_sources_override_the_file_and_the_rest_comes_from_it()
    {
        var path = Fixture("current.toml");
        var app = ComponentHost.Build(["--mongooseim-config", path, "--Rabbit:Workers", "7"], c => c.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Xmpp:ComponentDomain"] = "events.localhost",
            ["Xmpp:Secret"] = "s",
            ["Rabbit:Port"] = "5999",
        }));
        var rabbit = app.Services.GetRequiredService<IOptions<RabbitOptions>>().Value;
        var xmpp = app.Services.GetRequiredService<IOptions<XmppOptions>>().Value;
        var pusher = app.Services.GetRequiredService<IOptions<EventPusherOptions>>().Value;
        Assert.Multiple(() =>
        {
            Assert.That(rabbit.Workers, Is.EqualTo(7), "command line over the file");
            Assert.That(rabbit.Port, Is.EqualTo(5999), "in-memory (the tests' own source) over the file");
            Assert.That(rabbit.Host, Is.EqualTo("127.0.0.1"), "from the file");
            Assert.That(rabbit.ConfirmsEnabled, Is.True, "from the file");
            Assert.That(xmpp.EffectiveLocalDomains(), Is.EqualTo(new[] { "localhost", "chat.localhost" }), "general.hosts");
            Assert.That(pusher.Rabbit.ChatMsgExchange.Type, Is.EqualTo("direct"));
            Assert.That(pusher.Rabbit.GroupchatMsgExchange.Enabled, Is.False);
        });
        var root = (IConfigurationRoot)app.Configuration;
        Assert.That(ConfigCheck.SourceOf(root, "Rabbit:Host"), Is.EqualTo($"MongooseIM file {path} (outgoing_pools.rabbit.event_pusher.connection.host)"));
        Assert.That(ConfigCheck.SourceOf(root, "Rabbit:Workers"), Is.EqualTo("command line"));
    }

    [Test]
    public void Local_domains_set_by_the_component_replace_the_file_hosts_as_a_whole()
    {
        var app = ComponentHost.Build(["--mongooseim-config", Fixture("current.toml")], c => c.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Xmpp:ComponentDomain"] = "events.example.com",
            ["Xmpp:Secret"] = "s",
            ["Xmpp:LocalDomains:0"] = "example.com",
        }));
        Assert.That(app.Services.GetRequiredService<IOptions<XmppOptions>>().Value.EffectiveLocalDomains(), Is.EqualTo(new[] { "example.com" }));
    }

    [TestCase("--mongooseim-config=/a.toml")]
    [TestCase("--MongooseIM:ConfigFile=/a.toml")]
    public void The_switch_and_the_key_name_the_same_file(string arg)
    {
        Assert.That(MongooseImConfigurationSource.TranslateArguments(["--x", "1", arg]), Is.EqualTo(new[] { "--x", "1", "--MongooseIM:ConfigFile=/a.toml" }));
    }

    [Test]
    public void A_misspelt_key_of_the_MongooseIM_section_is_an_error()
    {
        var keys = ConfigurationKeyCheck.UnknownKeys(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["MongooseIM:ConfigFlie"] = "x" }).Build());
        Assert.That(keys, Has.Some.Contains("unknown key 'MongooseIM:ConfigFlie'"));
    }
}
