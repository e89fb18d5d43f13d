using Microsoft.Extensions.Options;
using XmppRabbitComponent.Hosting;

try
{
    var app = ComponentHost.Build(args);
    await app.RunAsync();
    return Environment.ExitCode;
}
catch (OptionsValidationException e)
{
    // A configuration error stops start-up with the keys named, not a stack trace.
    Console.Error.WriteLine("Configuration error:");
    foreach (var failure in e.Failures) Console.Error.WriteLine($"  {failure}");
    return 2;
}
catch (InvalidOperationException e) when (e.Message.Contains("configuration", StringComparison.OrdinalIgnoreCase))
{
    Console.Error.WriteLine($"Configuration error: {e.Message}");
    return 2;
}
