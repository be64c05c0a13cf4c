using System.Globalization;

namespace ProcessHub.Benchmarks.Load;

/// <summary>What /proc tells about a server: CPU time (utime + stime), resident memory, and the kernel's TCP memory.</summary>
internal static class ProcStats
{
    // USER_HZ is 100 on every Linux this runs on (sysconf(_SC_CLK_TCK)); /proc/<pid>/stat counts in it.
    private const double TicksPerSecond = 100.0;

    /// <summary>utime + stime of every thread of the process, in seconds.</summary>
    public static double CpuSeconds(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        // Fields after the ")" that closes the command name: state is field 3, utime 14, stime 15.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        long utime = long.Parse(fields[11], CultureInfo.InvariantCulture);
        long stime = long.Parse(fields[12], CultureInfo.InvariantCulture);
        return (utime + stime) / TicksPerSecond;
    }

    /// <summary>
    /// Context switches of each live thread of the process so far, by thread id (voluntary: it blocked; involuntary:
    /// it was preempted). A thread's counts end with it, so a window's switches are the growth of the threads alive at
    /// its end (<see cref="SwitchesSince"/>).
    /// </summary>
    public static Dictionary<int, long> ContextSwitches(int pid)
    {
        var switches = new Dictionary<int, long>();
        foreach (string task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            long count = 0;
            try
            {
                foreach (var line in File.ReadLines(Path.Combine(task, "status")))
                {
                    if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal))
                    {
                        count += long.Parse(line["voluntary_ctxt_switches:".Length..].Trim(), CultureInfo.InvariantCulture);
                    }
                    else if (line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                    {
                        count += long.Parse(line["nonvoluntary_ctxt_switches:".Length..].Trim(), CultureInfo.InvariantCulture);
                    }
                }
            }
            catch (IOException)
            {
                continue; // the thread ended meanwhile
            }
            switches[int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture)] = count;
        }
        return switches;
    }

    /// <summary>Switches since <paramref name="before"/> of the threads alive now (threads that ended meanwhile are not counted).</summary>
    public static long SwitchesSince(int pid, Dictionary<int, long> before) =>
        ContextSwitches(pid).Sum(thread => thread.Value - before.GetValueOrDefault(thread.Key));

    /// <summary>VmRSS in bytes.</summary>
    public static long RssBytes(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                var kb = line["VmRSS:".Length..].Trim().Split(' ')[0];
                return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
            }
        }
        return 0;
    }

    /// <summary>The kernel's TCP memory ("TCP: ... mem M" in pages), machine-wide: both ends of every loopback socket.</summary>
    public static long KernelTcpBytes()
    {
        foreach (var line in File.ReadLines("/proc/net/sockstat"))
        {
            if (line.StartsWith("TCP:", StringComparison.Ordinal))
            {
                var fields = line.Split(' ');
                int at = Array.IndexOf(fields, "mem");
                return long.Parse(fields[at + 1], CultureInfo.InvariantCulture) * Environment.SystemPageSize;
            }
        }
        return 0;
    }
}
