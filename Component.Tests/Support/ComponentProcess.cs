using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace XmppRabbitComponent.Tests.Support;

/// <summary>
/// The built component (<c>XmppRabbitComponent.dll</c>, copied next to the tests) run as a separate process with
/// <c>dotnet</c>, its standard output and error captured. Stopped with SIGTERM like a process supervisor does;
/// killed when still running at dispose.
/// </summary>
public sealed class ComponentProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();

    private bool _systemdParent;

    private ComponentProcess(Process process) => _process = process;

    private static string SystemdNamedShell()
    {
        var dir = Path.Combine(Path.GetTempPath(), "xrc-fake-systemd");
        Directory.CreateDirectory(dir);
        var link = Path.Combine(dir, "systemd");
        if (!File.Exists(link)) File.CreateSymbolicLink(link, "/bin/bash");
        return link;
    }

    /// <summary>The component's own process id: the shell's child under <c>systemdParent</c>, else <see cref="Id"/>.</summary>
    public async Task<int> ComponentPidAsync()
    {
        if (!_systemdParent) return _process.Id;
        var children = $"/proc/{_process.Id}/task/{_process.Id}/children";
        for (var i = 0; i < 100; i++)
        {
            var text = File.Exists(children) ? (await File.ReadAllTextAsync(children)).Trim() : "";
            if (text.Length > 0) return int.Parse(text.Split(' ')[0]);
            await Task.Delay(50);
        }
        Assert.Fail($"the component did not start under pid {_process.Id}");
        return -1;
    }

    /// <summary>The path of the component assembly next to the test assembly.</summary>
    public static string Assembly => Path.Combine(AppContext.BaseDirectory, "XmppRabbitComponent.dll");

    /// <summary>Process id.</summary>
    public int Id => _process.Id;

    /// <summary>Standard output so far.</summary>
    public string Stdout { get { lock (_stdout) return _stdout.ToString(); } }

    /// <summary>Standard error so far.</summary>
    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

    /// <summary>
    /// Starts the component with <paramref name="args"/>, in the Production environment (no appsettings.Development.json),
    /// with <paramref name="environment"/> added to (or, with a null value, removed from) the test's environment.
    /// With <paramref name="systemdParent"/>, the component runs as the child of a process whose name
    /// (<c>/proc/PID/comm</c>) is <c>systemd</c>, as under a real service manager: a shell started through a link
    /// called <c>systemd</c>, which waits for the component and exits with its code.
    /// </summary>
    public static ComponentProcess Start(IEnumerable<string> args, IDictionary<string, string?>? environment = null, bool systemdParent = false)
    {
        if (!File.Exists(Assembly)) Assert.Fail($"{Assembly} is missing: build the solution first");
        var psi = new ProcessStartInfo(systemdParent ? SystemdNamedShell() : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        if (systemdParent)
        {
            // "$@" followed by another command: the shell forks the component instead of exec'ing it.
            foreach (var a in new[] { "-c", "\"$@\"; exit $?", "systemd", "dotnet" }) psi.ArgumentList.Add(a);
        }
        psi.ArgumentList.Add(Assembly);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_ENVIRONMENT"] = "Production";
        psi.Environment.Remove("ASPNETCORE_ENVIRONMENT");
        psi.Environment["Logging__Console__FormatterName"] = "simple";
        if (environment is not null)
            foreach (var (k, v) in environment)
                if (v is null) psi.Environment.Remove(k); else psi.Environment[k] = v;
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var c = new ComponentProcess(process) { _systemdParent = systemdParent };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (c._stdout) c._stdout.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (c._stderr) c._stderr.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return c;
    }

    /// <summary>Runs the component to its end and returns its exit code; fails the test when it runs longer than <paramref name="timeout"/>.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(IEnumerable<string> args, TimeSpan timeout, IDictionary<string, string?>? environment = null)
    {
        await using var p = Start(args, environment);
        var code = await p.WaitForExitAsync(timeout);
        return (code, p.Stdout, p.Stderr);
    }

    /// <summary>Waits for the exit and returns the exit code; fails the test after <paramref name="timeout"/>.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"the component (pid {Id}) did not exit within {timeout}.\nstdout:\n{Stdout}\nstderr:\n{Stderr}");
        }
        _process.WaitForExit(); // flushes the redirected output
        return _process.ExitCode;
    }

    /// <summary>Sends SIGTERM to the component, as systemd does on <c>systemctl stop</c>.</summary>
    public async Task TerminateAsync()
    {
        var pid = await ComponentPidAsync();
        if (Kill(pid, 15) != 0) Assert.Fail($"kill -TERM {pid} failed (errno {Marshal.GetLastPInvokeError()})");
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}

/// <summary>
/// Ports of the servers the operations tests start themselves: environment variables with defaults, moved by
/// <c>XRC_PORT_OFFSET</c> so that parallel checkouts do not collide.
/// </summary>
public static class OpsPorts
{
    private static int Offset => int.TryParse(Environment.GetEnvironmentVariable("XRC_PORT_OFFSET"), out var o) ? o : 0;

    private static int Port(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out var p) ? p : fallback + Offset;

    /// <summary>HTTP port (metrics, health) of a component the tests run themselves: <c>XRC_COMPONENT_HTTP_PORT</c>, default 9564 + offset.</summary>
    public static int ComponentHttp => Port("XRC_COMPONENT_HTTP_PORT", 9564);

    /// <summary>HTTP port of the private Prometheus: <c>XRC_PROMETHEUS_PORT</c>, default 9590 + offset.</summary>
    public static int Prometheus => Port("XRC_PROMETHEUS_PORT", 9590);
}
