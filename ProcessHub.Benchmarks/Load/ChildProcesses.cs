using System.Diagnostics;
using System.Runtime.InteropServices;

namespace ProcessHub.Benchmarks.Load;

/// <summary>
/// The servers a tool started (hubs, Redis), killed, and their temporary directories removed, when the tool itself is
/// stopped by a signal: SIGTERM (a CI runner's timeout, <c>kill</c>), SIGINT, or SIGHUP (its terminal closed). The
/// tool's <c>await using</c> does not run then, and a hub left behind kept its port, its data directory and a core
/// (found by an audit of the soak). Ctrl+C in a terminal reached the children anyway, being one process group; a
/// <c>kill</c> of the tool alone did not.
/// </summary>
internal static class ChildProcesses
{
    private static readonly Lock Gate = new();
    private static readonly Lock CleanUp = new();
    private static readonly Dictionary<Process, string?> Children = [];
    private static readonly HashSet<string> WorkDirectories = [];
    private static List<PosixSignalRegistration>? _registrations;

    /// <summary>Kills <paramref name="process"/> (and removes <paramref name="directory"/>) if the tool is stopped by a signal.</summary>
    public static void Track(Process process, string? directory = null)
    {
        lock (Gate)
        {
            Children[process] = directory;
            Register();
        }
    }

    /// <summary>Removes <paramref name="directory"/> (a run's work directory, its servers' data and logs) if the tool is stopped by a signal, after its servers.</summary>
    public static void TrackDirectory(string directory)
    {
        lock (Gate)
        {
            WorkDirectories.Add(directory);
            Register();
        }
    }

    /// <summary>The tool removes <paramref name="directory"/> itself from now on (or keeps it).</summary>
    public static void ForgetDirectory(string directory)
    {
        lock (Gate)
        {
            WorkDirectories.Remove(directory);
        }
    }

    private static void Register() =>
        _registrations ??= [.. new[] { PosixSignal.SIGTERM, PosixSignal.SIGINT, PosixSignal.SIGHUP }.Select(signal => PosixSignalRegistration.Create(signal, OnSignal))];

    /// <summary>The tool stops <paramref name="process"/> itself from now on.</summary>
    public static void Forget(Process process)
    {
        lock (Gate)
        {
            Children.Remove(process);
        }
    }

    // The signal's own action (the tool ends) follows: nothing here cancels it. A second signal while the first is
    // handled (a CI runner's TERM to the group, then to the tool) waits for that to finish instead of letting the
    // tool end half-way: once seen, a hub killed but its directory left.
    private static void OnSignal(PosixSignalContext context)
    {
        lock (CleanUp)
        {
            StopAll(context.Signal);
        }
    }

    private static void StopAll(PosixSignal signal)
    {
        KeyValuePair<Process, string?>[] children;
        string[] workDirectories;
        lock (Gate)
        {
            children = [.. Children];
            Children.Clear();
            workDirectories = [.. WorkDirectories];
            WorkDirectories.Clear();
        }
        if (children.Length == 0 && workDirectories.Length == 0)
        {
            return;
        }
        foreach (var (process, directory) in children)
        {
            try
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(5_000);
            }
            catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception or AggregateException)
            {
                // Already gone.
            }
            if (directory is not null)
            {
                Delete(directory);
            }
        }
        // Last: a server writes into its run's work directory until it is gone.
        foreach (var directory in workDirectories)
        {
            Delete(directory);
        }
        Console.Error.WriteLine($"stopped by {signal}: {children.Length} server(s) the tool started were stopped with it");
    }

    private static void Delete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Left for the OS's temp cleanup.
        }
    }
}
