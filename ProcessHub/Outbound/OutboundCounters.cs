namespace ProcessHub.Outbound;

/// <summary>
/// Process-wide totals of what the outbound path did, for /metrics. Updated once per socket send (not per frame)
/// and once per coalesced frame, so the cost stays off the per-subscriber path.
/// </summary>
public static class OutboundCounters
{
    private static long s_framesSent;
    private static long s_bytesSent;
    private static long s_sends;
    private static long s_progressCoalesced;

    public static long FramesSent => Interlocked.Read(ref s_framesSent);
    public static long BytesSent => Interlocked.Read(ref s_bytesSent);
    public static long Sends => Interlocked.Read(ref s_sends);
    public static long ProgressCoalesced => Interlocked.Read(ref s_progressCoalesced);

    internal static void CountSend(int frames, int bytes)
    {
        Interlocked.Add(ref s_framesSent, frames);
        Interlocked.Add(ref s_bytesSent, bytes);
        Interlocked.Increment(ref s_sends);
    }

    internal static void CountCoalesced() => Interlocked.Increment(ref s_progressCoalesced);
}
