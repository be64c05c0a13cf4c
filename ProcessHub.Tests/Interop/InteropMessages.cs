using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.Interop;

/// <summary>
/// The message mix of the interop runs: 1,000 messages, mostly small, some medium, every 100th at the 64 KiB limit,
/// a few empty; about 3 MB each way, so a run takes a second or two. node/echo-client.mjs uses the same sizes.
/// </summary>
internal static class InteropMessages
{
    public const int Count = 1000;

    public static int SizeOf(int i) => (i % 100) switch
    {
        0 => 64 * 1024,
        50 => 0,
        _ when i % 20 == 7 => 1000 + (i * 7919 % 15000),
        _ => i * 37 % 300,
    };

    public static byte[] Message(int i) => TestPayloads.Utf8Text(SizeOf(i), seed: i);
}
