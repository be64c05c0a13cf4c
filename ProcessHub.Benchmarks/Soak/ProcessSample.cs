using System.Globalization;

namespace ProcessHub.Benchmarks.Soak;

/// <summary>What /proc says about the hub at one moment: resident memory, threads, open file descriptors.</summary>
internal readonly record struct ProcessSample(double Seconds, long RssBytes, int Threads, int Handles)
{
    public static ProcessSample Take(int pid, double seconds)
    {
        long rss = 0;
        int threads = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
            }
            else if (line.StartsWith("Threads:", StringComparison.Ordinal))
            {
                threads = int.Parse(line["Threads:".Length..].Trim(), CultureInfo.InvariantCulture);
            }
        }
        return new ProcessSample(seconds, rss, threads, Directory.GetFileSystemEntries($"/proc/{pid}/fd").Length);
    }

    /// <summary>Sockets the process has open (connections of every kind, and its listener).</summary>
    public static int Sockets(int pid) => Directory.GetFileSystemEntries($"/proc/{pid}/fd").Count(fd =>
    {
        try
        {
            return new FileInfo(fd).LinkTarget?.StartsWith("socket:", StringComparison.Ordinal) == true;
        }
        catch (IOException)
        {
            return false;
        }
    });

    /// <summary>The process's open file descriptors by kind (socket, pipe, an anon_inode's name, or a file's name).</summary>
    public static string DescribeHandles(int pid)
    {
        var kinds = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var fd in Directory.GetFileSystemEntries($"/proc/{pid}/fd"))
        {
            string kind;
            try
            {
                string target = new FileInfo(fd).LinkTarget ?? "?";
                kind = target switch
                {
                    _ when target.StartsWith("socket:", StringComparison.Ordinal) => "socket",
                    _ when target.StartsWith("pipe:", StringComparison.Ordinal) => "pipe",
                    _ when target.StartsWith("anon_inode:", StringComparison.Ordinal) => target,
                    _ when target.EndsWith(".dll", StringComparison.Ordinal) => "assembly",
                    _ => Path.GetFileName(target),
                };
            }
            catch (IOException)
            {
                continue; // closed while we looked
            }
            kinds[kind] = kinds.GetValueOrDefault(kind) + 1;
        }
        return string.Join(", ", kinds.Select(k => k.Value == 1 ? k.Key : $"{k.Key} x{k.Value}"));
    }
}
