using System.ComponentModel;
using System.Runtime.InteropServices;

namespace ProcessHub.Tests.Infrastructure;

/// <summary>
/// Sends a real POSIX signal to a child process. <see cref="System.Diagnostics.Process.Kill()"/> is SIGKILL, which
/// no process can handle; graceful shutdown is what happens on SIGTERM and SIGINT.
/// </summary>
internal static partial class PosixSignals
{
    public const int SigInt = 2;
    public const int SigTerm = 15;

    public static void Send(int processId, int signal)
    {
        if (Kill(processId, signal) != 0)
        {
            throw new Win32Exception(Marshal.GetLastPInvokeError(), $"kill({processId}, {signal}) failed");
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
