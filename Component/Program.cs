using Microsoft.Extensions.Options;
using XmppRabbitComponent.Hosting;

// A container's HEALTHCHECK: ask the running component's /health/ready and exit 0 or 1.
if (args is [HealthProbe.Switch, .. var probeArgs]) return await HealthProbe.RunAsync(probeArgs);

try
{
    if (ConfigCheck.Requested(args, out var rest)) return await ConfigCheck.RunAsync(rest, Console.Out, Console.Error);
    var app = ComponentHost.Build(args);
    await app.RunAsync();
    return Environment.ExitCode;
}
catch (OptionsValidationException e)
{
    // A configuration error stops start-up with the keys named, not a stack trace.
    Console.Error.WriteLine("Configuration error:");
    foreach (var failure in e.Failures) Console.Error.WriteLine($"  {failure}");
    return ExitCodes.InvalidConfiguration;
}
catch (XmppRabbitComponent.Configuration.MongooseImConfigurationException e)
{
    Console.Error.WriteLine($"Configuration error: {e.Message}");
    return ExitCodes.InvalidConfiguration;
}
catch (InvalidOperationException e) when (e.Message.Contains("configuration", StringComparison.OrdinalIgnoreCase))
{
    // A value that cannot be converted (e.g. Rabbit:Port=abc) fails in the binder.
    Console.Error.WriteLine($"Configuration error: {e.Message}{(e.InnerException is { } inner ? " " + inner.Message : "")}");
    return ExitCodes.InvalidConfiguration;
}
catch (Exception e) when (e is XmppRabbitComponent.Publishing.ExchangeMismatchException or XmppRabbitComponent.Publishing.ExchangeDeclareException)
{
    Console.Error.WriteLine($"Start-up failed: {e.Message}");
    return ExitCodes.BrokerConfiguration;
}
