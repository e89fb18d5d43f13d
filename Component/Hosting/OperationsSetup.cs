using Microsoft.Extensions.Options;
using XmppRabbitComponent.Configuration;

namespace XmppRabbitComponent.Hosting;

/// <summary>
/// The operations side of the host (docs/operating.md): the <c>mongooseim.toml</c> import below the component's own
/// configuration sources, secrets read from files, and systemd integration (<c>Type=notify</c>: <c>READY=1</c> once
/// started, <c>STOPPING=1</c> when stopping, through <c>NOTIFY_SOCKET</c>; inactive outside systemd).
/// </summary>
public static class OperationsSetup
{
    /// <summary>Command-line arguments with <c>--mongooseim-config PATH</c> rewritten for the configuration binder.</summary>
    public static string[] Arguments(string[] args) => MongooseImConfigurationSource.TranslateArguments(args);

    /// <summary>Adds the import (when <c>MongooseIM:ConfigFile</c> is set), the secret files and systemd to the builder.</summary>
    /// <exception cref="MongooseImConfigurationException">The named file is unreadable, not TOML, or has values that cannot be honoured.</exception>
    public static void Configure(WebApplicationBuilder builder)
    {
        var mongooseIm = MongooseImConfigurationSource.AddTo(builder.Configuration);
        if (mongooseIm is not null) builder.Services.AddSingleton(mongooseIm);
        builder.Services.AddSingleton<IPostConfigureOptions<XmppOptions>, XmppSecretFile>();
        builder.Services.AddSingleton<IPostConfigureOptions<RabbitOptions>, RabbitSecretFiles>();
        builder.Services.AddSystemd();
    }

    /// <summary>Logs what the import read and each key of the file it does not use (one warning per key).</summary>
    public static void LogImport(WebApplication app)
    {
        if (app.Services.GetService<MongooseImConfigurationProvider>() is not { } import) return;
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(MongooseImConfigurationProvider));
        LogImported(logger, import.Path, import.Layout);
        foreach (var warning in import.Warnings) LogUnused(logger, import.Path, warning);
    }

    private static void LogImported(ILogger logger, string path, string layout) =>
        logger.LogInformation(new EventId(3000, "MongooseImImported"), "MongooseIM configuration {Path} imported (module layout: {Layout}); the component's own settings override it", path, layout);

    private static void LogUnused(ILogger logger, string path, string warning) =>
        logger.LogWarning(new EventId(3001, "MongooseImKeyUnused"), "{Path}: {Warning}", path, warning);
}
