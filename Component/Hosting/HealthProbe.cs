namespace XmppRabbitComponent.Hosting;

/// <summary>
/// <c>XmppRabbitComponent --health-check</c>: asks a running component's <c>/health/ready</c> and exits 0 when
/// it answers 200, 1 otherwise (503, no answer within <see cref="Timeout"/>, refused connection). Meant for a
/// container's <c>HEALTHCHECK</c>, so that the image needs no HTTP client of its own. The address is the first
/// entry of the same <c>Urls</c> setting the component listens on (appsettings.json, <c>ASPNETCORE_URLS</c>,
/// <c>Urls</c>, <c>--Urls</c>; default <see cref="ComponentHost.DefaultUrls"/>), with a wildcard host
/// (<c>0.0.0.0</c>, <c>[::]</c>, <c>*</c>, <c>+</c>) replaced by <c>127.0.0.1</c>.
/// </summary>
public static class HealthProbe
{
    /// <summary>The command-line switch that selects the probe instead of the component.</summary>
    public const string Switch = "--health-check";

    /// <summary>How long the probe waits for the answer.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <summary>Runs the probe; <paramref name="args"/> are the remaining command-line arguments (e.g. <c>--Urls</c>).</summary>
    /// <returns>0 when ready, 1 otherwise; one line saying why goes to standard output.</returns>
    public static async Task<int> RunAsync(string[] args)
    {
        var config = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .AddEnvironmentVariables("ASPNETCORE_")
            .AddEnvironmentVariables()
            .AddCommandLine(args)
            .Build();
        var url = ReadyUrl(config["Urls"]);
        using var http = new HttpClient { Timeout = Timeout };
        try
        {
            using var response = await http.GetAsync(url);
            var body = await response.Content.ReadAsStringAsync();
            Console.WriteLine($"{url}: {(int)response.StatusCode} {body}");
            return response.StatusCode == System.Net.HttpStatusCode.OK ? 0 : 1;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            Console.WriteLine($"{url}: no answer ({e.Message})");
            return 1;
        }
    }

    /// <summary>The readiness URL for a <c>Urls</c> value (<c>;</c>-separated list; null or empty: the default).</summary>
    public static Uri ReadyUrl(string? urls)
    {
        var first = (string.IsNullOrWhiteSpace(urls) ? ComponentHost.DefaultUrls : urls)
            .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[0];
        // Kestrel accepts hosts that are not valid in a URI ("*", "+"): replace them before parsing.
        var schemeEnd = first.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd < 0) throw new FormatException($"Urls entry '{first}' has no scheme (http://HOST:PORT)");
        var rest = first[(schemeEnd + 3)..];
        var hostEnd = rest.StartsWith('[') ? rest.IndexOf(']') + 1 : rest.IndexOfAny([':', '/']);
        if (hostEnd <= 0) hostEnd = rest.Length;
        var host = rest[..hostEnd];
        if (host is "*" or "+" or "0.0.0.0" or "[::]") host = "127.0.0.1";
        var builder = new UriBuilder(first[..(schemeEnd + 3)] + host + rest[hostEnd..]) { Path = "/health/ready" };
        return builder.Uri;
    }
}
