using System.Runtime.InteropServices;

namespace ProcessHub.Benchmarks.Durable;

/// <summary>SIGTERM for a child process (Process.Kill sends SIGKILL, which would skip the store's clean shutdown).</summary>
internal static partial class Signals
{
    private const int SigTerm = 15;

    public static bool Terminate(int pid) => Kill(pid, SigTerm) == 0;

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}
