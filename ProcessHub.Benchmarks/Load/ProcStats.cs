using System.Globalization;

namespace ProcessHub.Benchmarks.Load;

/// <summary>
/// What /proc tells about a server: CPU time (utime + stime), resident memory, open files and their limit, and the
/// kernel's TCP memory, listen-queue overflows and ephemeral port range.
/// </summary>
internal static class ProcStats
{
    // USER_HZ is 100 on every Linux this runs on (sysconf(_SC_CLK_TCK)); /proc/<pid>/stat counts in it.
    private const double TicksPerSecond = 100.0;

    /// <summary>utime + stime of every thread of the process, in seconds.</summary>
    public static double CpuSeconds(int pid)
    {
        var (user, kernel) = CpuSplit(pid);
        return user + kernel;
    }

    /// <summary>utime and stime (in the kernel: system calls, and on loopback much of both ends' TCP work) of every thread of the process, in seconds.</summary>
    public static (double User, double Kernel) CpuSplit(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        // Fields after the ")" that closes the command name: state is field 3, utime 14, stime 15.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        long utime = long.Parse(fields[11], CultureInfo.InvariantCulture);
        long stime = long.Parse(fields[12], CultureInfo.InvariantCulture);
        return (utime / TicksPerSecond, stime / TicksPerSecond);
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

    /// <summary>The soft limit of open files (RLIMIT_NOFILE) of a process, from /proc/&lt;pid&gt;/limits; long.MaxValue when unlimited.</summary>
    public static long OpenFilesLimit(int pid)
    {
        const string Name = "Max open files";
        foreach (var line in File.ReadLines($"/proc/{pid}/limits"))
        {
            if (line.StartsWith(Name, StringComparison.Ordinal))
            {
                string soft = line[Name.Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
                return soft == "unlimited" ? long.MaxValue : long.Parse(soft, CultureInfo.InvariantCulture);
            }
        }
        return long.MaxValue;
    }

    /// <summary>The files a process has open now (entries of /proc/&lt;pid&gt;/fd).</summary>
    public static int OpenFiles(int pid) => Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd").Count();

    /// <summary>
    /// A TcpExt counter of /proc/net/netstat (machine-wide since boot), e.g. ListenOverflows: connections a full
    /// accept queue turned away (the client retransmits its SYN a second later); -1 when the kernel has none.
    /// </summary>
    public static long TcpExtCounter(string name)
    {
        string[]? names = null;
        foreach (var line in File.ReadLines("/proc/net/netstat"))
        {
            if (!line.StartsWith("TcpExt:", StringComparison.Ordinal))
            {
                continue;
            }
            var fields = line.Split(' ');
            if (names is null)
            {
                names = fields;
                continue;
            }
            int at = Array.IndexOf(names, name);
            return at > 0 && at < fields.Length ? long.Parse(fields[at], CultureInfo.InvariantCulture) : -1;
        }
        return -1;
    }

    /// <summary>How many ephemeral ports the kernel hands out (net.ipv4.ip_local_port_range): client connections per source address and destination.</summary>
    public static int EphemeralPorts()
    {
        var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split(['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
        return int.Parse(range[1], CultureInfo.InvariantCulture) - int.Parse(range[0], CultureInfo.InvariantCulture) + 1;
    }
}
