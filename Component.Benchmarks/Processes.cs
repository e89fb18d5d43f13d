using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Threading.Channels;

namespace XmppRabbitComponent.Benchmarks;

/// <summary>
/// A child process of the benchmark (the component, or the bare loop): its stdout lines as a channel, its stderr
/// kept for the error message, and its own CPU time and resident memory read from <c>/proc/PID</c> (Linux).
/// </summary>
public sealed class Child : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly System.Text.StringBuilder _stderr = new();

    private Child(Process process) => _process = process;

    public int Pid => _process.Id;

    /// <summary>Starts <c>dotnet DLL ARGS</c> with <paramref name="env"/> added to this process's environment.</summary>
    public static Child Start(string dll, IEnumerable<string> args, IReadOnlyDictionary<string, string> env)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start dotnet {dll}");
        var child = new Child(p);
        p.OutputDataReceived += (_, e) => { if (e.Data is { } line) child._lines.Writer.TryWrite(line); else child._lines.Writer.TryComplete(); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is { } line) lock (child._stderr) child._stderr.AppendLine(line); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return child;
    }

    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

    /// <summary>Waits for a stdout line starting with <paramref name="prefix"/> (others are echoed).</summary>
    public async Task<string> ExpectAsync(string prefix, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await foreach (var line in _lines.Reader.ReadAllAsync(cts.Token))
            {
                if (line.StartsWith(prefix, StringComparison.Ordinal)) return line;
                Console.WriteLine($"  [child {Pid}] {line}");
            }
        }
        catch (OperationCanceledException) { }
        throw new InvalidOperationException($"child {Pid}: no '{prefix}' within {timeout.TotalSeconds:F0} s (exited: {_process.HasExited}); stderr: {Stderr}");
    }

    public Task SendAsync(string line) => _process.StandardInput.WriteLineAsync(line);

    /// <summary>User + system CPU seconds of the child so far, from <c>/proc/PID/stat</c> (clock ticks of 10 ms).</summary>
    public double CpuSeconds() => ProcStat.CpuSeconds(Pid);

    /// <summary>Resident set size in bytes (<c>VmRSS</c> of <c>/proc/PID/status</c>).</summary>
    public long RssBytes()
    {
        foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        return -1;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    /// <summary>SIGTERM (the component's graceful stop), then SIGKILL after 20 s.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            try { _process.StandardInput.Close(); } catch (IOException) { }
            _ = kill(_process.Id, 15);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try { await _process.WaitForExitAsync(cts.Token); }
            catch (OperationCanceledException) { _process.Kill(entireProcessTree: true); }
        }
        _process.Dispose();
    }
}

/// <summary>CPU time of a process or of the calling thread (Linux).</summary>
public static class ProcStat
{
    /// <summary>utime + stime of <paramref name="pid"/> in seconds (NaN when unreadable).</summary>
    public static double CpuSeconds(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (long.Parse(f[11], CultureInfo.InvariantCulture) + long.Parse(f[12], CultureInfo.InvariantCulture)) / 100.0;
        }
        catch (IOException) { return double.NaN; }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec { public long Seconds; public long Nanoseconds; }

    [DllImport("libc")]
    private static extern int clock_gettime(int clock, out Timespec ts);

    /// <summary>CPU time of the calling thread in seconds (<c>CLOCK_THREAD_CPUTIME_ID</c>, nanosecond resolution).</summary>
    public static double ThreadCpuSeconds()
    {
        if (clock_gettime(3, out var ts) != 0) throw new InvalidOperationException("clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
        return ts.Seconds + ts.Nanoseconds / 1e9;
    }
}
