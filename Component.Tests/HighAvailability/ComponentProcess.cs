using System.Diagnostics;
using System.Text.Json;
using XmppRabbitComponent.Tests.Integration;

namespace XmppRabbitComponent.Tests.HighAvailability;

/// <summary>
/// The real component as a separate process (<c>dotnet XmppRabbitComponent.dll</c>, the build next to the tests), with its
/// own HTTP port and its own <c>Rabbit:AppId</c> (so every event names the instance that published it), stdout and
/// stderr kept with the time each line arrived. SIGKILL, SIGTERM; readiness read over HTTP.
/// </summary>
internal sealed class ComponentProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<(DateTime At, string Line)> _lines = [];
    private readonly HttpClient _http;

    private ComponentProcess(string name, int httpPort, Process process)
    {
        Name = name;
        HttpPort = httpPort;
        _process = process;
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), Timeout = TimeSpan.FromSeconds(3) };
    }

    /// <summary>The instance's name, also its <c>Rabbit:AppId</c> (the <c>app_id</c> of its events).</summary>
    public string Name { get; }
    public int HttpPort { get; }
    public int Pid => _process.Id;
    public bool Exited => _process.HasExited;

    /// <summary>Base of the instances' HTTP ports: <c>XRC_HA_HTTP_PORT</c>, default 9470 + <c>XRC_PORT_OFFSET</c>.</summary>
    public static int HttpPortBase => Environment.GetEnvironmentVariable("XRC_HA_HTTP_PORT") is { Length: > 0 } p
        ? int.Parse(p)
        : 9470 + (int.TryParse(Environment.GetEnvironmentVariable("XRC_PORT_OFFSET"), out var o) ? o : 0);

    /// <summary>Log lines so far, with arrival time.</summary>
    public IReadOnlyList<(DateTime At, string Line)> Lines { get { lock (_lines) return [.. _lines]; } }

    /// <summary>The settings every instance of the tests gets: the test servers, short XMPP reconnects, Information logs with timestamps.</summary>
    public static Dictionary<string, string> BaseSettings(XmppTestServers servers)
    {
        var settings = servers.ComponentSettings();
        settings["Logging:LogLevel:Default"] = "Information";
        settings["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning";
        settings["Logging:Console:FormatterName"] = "simple";
        settings["Logging:Console:FormatterOptions:SingleLine"] = "true";
        settings["Logging:Console:FormatterOptions:TimestampFormat"] = "HH:mm:ss.fff ";
        return settings;
    }

    /// <summary>Starts instance <paramref name="name"/> on HTTP port <paramref name="httpPort"/> with <paramref name="settings"/> (as environment variables).</summary>
    public static ComponentProcess Start(string name, int httpPort, IDictionary<string, string> settings)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "XmppRabbitComponent.dll");
        if (!File.Exists(dll)) Assert.Fail($"the built component {dll} is missing (build the solution first)");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = AppContext.BaseDirectory };
        psi.ArgumentList.Add(dll);
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("Xmpp__") || k.StartsWith("Rabbit__") || k.StartsWith("HighAvailability__") || k.StartsWith("EventPusher__")).ToList())
            psi.Environment.Remove(key);
        psi.Environment["DOTNET_ENVIRONMENT"] = "Production";
        psi.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        psi.Environment["Urls"] = $"http://127.0.0.1:{httpPort}";
        psi.Environment["Rabbit__AppId"] = name;
        foreach (var (k, v) in settings) psi.Environment[k.Replace(":", "__")] = v;
        var process = Process.Start(psi) ?? throw new InvalidOperationException("dotnet did not start");
        var c = new ComponentProcess(name, httpPort, process);
        process.OutputDataReceived += (_, e) => c.Add(e.Data);
        process.ErrorDataReceived += (_, e) => c.Add(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return c;
    }

    private void Add(string? line)
    {
        if (line is null) return;
        lock (_lines) _lines.Add((DateTime.UtcNow, line));
    }

    /// <summary>Readiness now: HTTP status and the <c>data</c> of the <c>ready</c> check (role, lease, xmpp_stream, broker); status 0 when not answering.</summary>
    public async Task<(int Status, Dictionary<string, string> Data)> ReadinessAsync()
    {
        try
        {
            using var r = await _http.GetAsync("/health/ready");
            var body = await r.Content.ReadAsStringAsync();
            using var doc = JsonDocument.Parse(body);
            var data = doc.RootElement.GetProperty("checks").GetProperty("ready").GetProperty("data").EnumerateObject()
                .ToDictionary(p => p.Name, p => p.Value.GetString() ?? "");
            return ((int)r.StatusCode, data);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException)
        {
            return (0, []);
        }
    }

    /// <summary>Waits until readiness is 200 with <c>role</c> = <paramref name="role"/> (and, for active, the stream authenticated).</summary>
    public async Task WaitForRoleAsync(string role, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        (int Status, Dictionary<string, string> Data) last = default;
        while (DateTime.UtcNow < deadline)
        {
            if (Exited) Assert.Fail($"instance {Name} exited with {_process.ExitCode}:\n{Tail()}");
            last = await ReadinessAsync();
            if (last.Status == 200 && last.Data.GetValueOrDefault("role") == role && (role != "active" || last.Data.GetValueOrDefault("xmpp_stream") == "authenticated")) return;
            await Task.Delay(50);
        }
        Assert.Fail($"instance {Name} not ready as {role} within {timeout}: last {last.Status} {string.Join(",", (last.Data ?? []).Select(kv => kv.Key + "=" + kv.Value))}\n{Tail()}");
    }

    /// <summary>SIGKILL: no clean-up at all, as a crash or the OOM killer.</summary>
    public void Kill() => _process.Kill(entireProcessTree: false);

    /// <summary>SIGTERM: the planned stop.</summary>
    public void Terminate()
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", _process.Id.ToString()]) { UseShellExecute = false })!;
        kill.WaitForExit();
        if (kill.ExitCode != 0) throw new InvalidOperationException($"kill -TERM {_process.Id} failed");
    }

    public Task WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync(new CancellationTokenSource(timeout).Token);

    /// <summary>The last lines of the log, for failure messages.</summary>
    public string Tail(int n = 40) => $"--- {Name} (pid {_process.Id}) ---\n" + string.Join("\n", Lines.TakeLast(n).Select(l => l.Line));

    /// <summary>The first log line at or after <paramref name="since"/> containing <paramref name="text"/>.</summary>
    public (DateTime At, string Line)? FindLine(string text, DateTime? since = null) =>
        Lines.Where(l => (since is null || l.At >= since) && l.Line.Contains(text, StringComparison.Ordinal)).Select(l => ((DateTime, string)?)l).FirstOrDefault();

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            try { Terminate(); await WaitForExitAsync(TimeSpan.FromSeconds(15)); }
            catch (Exception) { /* fall through to kill */ }
            if (!_process.HasExited) { _process.Kill(); await _process.WaitForExitAsync(); }
        }
        _http.Dispose();
        _process.Dispose();
    }
}
