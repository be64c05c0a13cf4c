using System.Diagnostics;
using System.Runtime.InteropServices;

namespace ProcessHub.Benchmarks.Load;

/// <summary>
/// CLOCK_MONOTONIC in nanoseconds, shared by every process on the machine: on Linux Stopwatch.GetTimestamp is
/// exactly that clock, so a timestamp written by the publisher can be compared with the receiver's. Sleeping to an
/// absolute deadline with clock_nanosleep keeps a paced publisher on schedule without spinning on the client core.
/// </summary>
internal static partial class MonotonicClock
{
    private const int ClockMonotonic = 1;
    private const int TimerAbsTime = 1;

    public static long Now => Stopwatch.GetTimestamp();

    public static void EnsureNanoseconds()
    {
        if (Stopwatch.Frequency != 1_000_000_000 || !OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("the load tool needs Linux, where Stopwatch ticks are CLOCK_MONOTONIC nanoseconds");
        }
    }

    public static void SleepUntil(long deadlineNs)
    {
        var spec = new TimeSpec { Seconds = deadlineNs / 1_000_000_000, Nanoseconds = deadlineNs % 1_000_000_000 };
        // EINTR: just go round again; the deadline is absolute.
        for (int i = 0; i < 100 && Now < deadlineNs; i++)
        {
            if (ClockNanosleep(ClockMonotonic, TimerAbsTime, ref spec, IntPtr.Zero) == 0)
            {
                return;
            }
        }
    }

    public static long FromSeconds(double seconds) => (long)(seconds * 1_000_000_000);

    public static double ToSeconds(long ns) => ns / 1e9;

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_nanosleep")]
    private static partial int ClockNanosleep(int clock, int flags, ref TimeSpec request, IntPtr remain);
}
