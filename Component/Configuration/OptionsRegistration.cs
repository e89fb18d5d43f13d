using Microsoft.Extensions.Options;

namespace XmppRabbitComponent.Configuration;

/// <summary>Registers the component's three configuration sections with their validators, all checked at start-up.</summary>
public static class OptionsRegistration
{
    /// <summary>
    /// Binds <c>Xmpp</c>, <c>Rabbit</c> and <c>EventPusher</c> from <paramref name="configuration"/> and registers their
    /// validators. The unknown-keys check (<see cref="UnknownKeysValidator"/>) covers the whole configuration; it runs
    /// with the <c>Xmpp</c> section's validation so that its errors are reported in the same list as the others.
    /// </summary>
    public static IServiceCollection AddComponentOptions(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<XmppOptions>().Bind(configuration.GetSection(XmppOptions.Section)).ValidateOnStart();
        services.AddOptions<RabbitOptions>().Bind(configuration.GetSection(RabbitOptions.Section)).ValidateOnStart();
        services.AddOptions<EventPusherOptions>().Bind(configuration.GetSection(EventPusherOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<XmppOptions>, UnknownKeysValidator>();
        services.AddSingleton<IValidateOptions<XmppOptions>, XmppOptionsValidator>();
        services.AddSingleton<IValidateOptions<RabbitOptions>, RabbitOptionsValidator>();
        services.AddSingleton<IValidateOptions<EventPusherOptions>, EventPusherOptionsValidator>();
        return services;
    }
}
