using System.Diagnostics;
using System.Globalization;

namespace ProcessHub.Benchmarks.Load;

/// <summary>
/// dotnet-gcdump against a .NET server that exposes no GC endpoint (ProcessHub): collecting a dump induces a full
/// blocking GC in the target, and its report's first line is the live managed heap, so idle memory can be split
/// into what the GC keeps alive and what the process holds besides.
/// </summary>
internal static class GcDump
{
    /// <summary>Live managed heap bytes after an induced full GC, or -1 when the tool is missing or fails.</summary>
    public static long CollectHeapBytes(string? toolPath, int pid)
    {
        if (toolPath is null || !File.Exists(toolPath))
        {
            return -1;
        }
        string file = Path.Combine(Path.GetTempPath(), $"processhub-load-{pid}-{Environment.ProcessId}.gcdump");
        try
        {
            if (Run(toolPath, ["collect", "-p", pid.ToString(CultureInfo.InvariantCulture), "-o", file]) is null || !File.Exists(file))
            {
                return -1;
            }
            // First lines: "   26,431,604  GC Heap bytes".
            foreach (var line in (Run(toolPath, ["report", file]) ?? "").Split('\n'))
            {
                if (line.Contains("GC Heap bytes", StringComparison.Ordinal))
                {
                    return long.Parse(line.Trim().Split(' ')[0], NumberStyles.AllowThousands, CultureInfo.InvariantCulture);
                }
            }
            return -1;
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static string? Run(string tool, string[] arguments)
    {
        var info = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(60_000))
        {
            process.Kill(entireProcessTree: true);
            return null;
        }
        return process.ExitCode == 0 ? output.Result : null;
    }
}
