using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using XmppRabbitComponent.Configuration;
using XmppRabbitComponent.Observability;
using XmppRabbitComponent.Publishing;

namespace XmppRabbitComponent.Hosting;

/// <summary>
/// Builds the component's ASP.NET Core host: configuration (appsettings.json, environment variables with
/// <c>__</c>, command line), validated options, the XMPP service, the publisher, OpenTelemetry metrics at
/// <c>/metrics</c>, and health checks at <c>/health/live</c> and <c>/health/ready</c> (<c>docs/publishing.md</c>, "Health").
/// </summary>
public static class ComponentHost
{
    /// <summary>The default HTTP endpoint (<c>Urls</c>): metrics and health on loopback.</summary>
    public const string DefaultUrls = "http://127.0.0.1:9464";

    /// <summary>Builds the host. <paramref name="configure"/> lets tests add configuration sources last.</summary>
    public static WebApplication Build(string[] args, Action<IConfigurationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = OperationsSetup.Arguments(args), ContentRootPath = AppContext.BaseDirectory });
        configure?.Invoke(builder.Configuration);
        OperationsSetup.Configure(builder);
        if (string.IsNullOrEmpty(builder.Configuration["Urls"])) builder.WebHost.UseUrls(DefaultUrls);

        var services = builder.Services;
        // A misspelt key is an error naming it in full (UnknownKeysValidator), not a silent default.
        services.AddComponentOptions(builder.Configuration);

        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<ComponentState>();
        services.AddSingleton(sp => new ComponentMetrics(
            sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(),
            sp.GetRequiredService<IOptions<XmppOptions>>().Value.EffectiveLocalDomains()[0]));
        services.AddSingleton<IFatalErrorHandler, StopOnFatalError>();
        services.AddSingleton<RabbitEventPublisher>();
        services.AddSingleton<IEventPublisher>(sp => sp.GetRequiredService<RabbitEventPublisher>());
        services.AddHostedService(sp => sp.GetRequiredService<RabbitEventPublisher>());
        services.AddHostedService<XmppComponentService>();

        var otel = services.AddOpenTelemetry().WithMetrics(m =>
        {
            m.AddMeter(ComponentMetrics.MeterName);
            // The runtime's own meter (GC heap, allocated bytes, working set, CPU time, thread pool; .NET 9+).
            m.AddMeter("System.Runtime");
            m.AddPrometheusExporter();
            if (!string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"])) m.AddOtlpExporter();
        });
        services.AddHealthChecks().AddCheck<ReadinessCheck>("ready", tags: ["ready"]);

        var app = builder.Build();
        OperationsSetup.LogImport(app);
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = HealthResponse.WriteAsync });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready"), ResponseWriter = HealthResponse.WriteAsync });
        return app;
    }
}
