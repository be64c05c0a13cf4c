namespace ProcessHub.Transport;

/// <summary>
/// How many connections the process's open-file limit (RLIMIT_NOFILE) leaves room for, on Linux. Every socket is a
/// file, and so is what the runtime needs as it goes: a thread it starts opens a pipe, an assembly loaded on first
/// use opens its file. A hub that took connections until accept failed with EMFILE aborted with "Out of memory."
/// (a new thread's pipe failed), or kept running with a type that could not load in every new connection. So the
/// listener stops accepting at the room this leaves, and the limit's last files stay free.
/// </summary>
internal static class OpenFileLimit
{
    /// <summary>The open-file limit's soft value, or null where it cannot be read (not Linux) or is unlimited.</summary>
    public static long? Current()
    {
        const string Limits = "/proc/self/limits";
        if (!File.Exists(Limits))
        {
            return null;
        }
        // "Max open files            20000                20000                files"
        foreach (var line in File.ReadLines(Limits))
        {
            if (line.StartsWith("Max open files", StringComparison.Ordinal))
            {
                var fields = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return fields.Length > 0 && long.TryParse(fields[0], out long soft) ? soft : null;
            }
        }
        return null;
    }

    /// <summary>Files the process has open now (its own descriptors), or null where that cannot be read.</summary>
    public static int? OpenNow()
    {
        const string Descriptors = "/proc/self/fd";
        return Directory.Exists(Descriptors) ? Directory.EnumerateFileSystemEntries(Descriptors).Count() : null;
    }

    /// <summary>
    /// The sockets the listener may hold at once: the limit less what is open now (the runtime, the store's files,
    /// Redis's connections) less a reserve for what opens later (threads, assemblies, a Redis reconnect, a backup's
    /// file): a quarter of what is left, at least 32 and at most 256. Null when there is no limit to keep to.
    /// </summary>
    public static int? SocketCapacity()
    {
        if (Current() is not long limit || OpenNow() is not int open)
        {
            return null;
        }
        long left = limit - open;
        long reserve = Math.Clamp(left / 4, 32, 256);
        return (int)Math.Clamp(left - reserve, 1, int.MaxValue);
    }
}
