using NUnit.Framework;

namespace ProcessHub.Tests.Infrastructure;

/// <summary>
/// Byte-for-byte comparison of payloads. NUnit's collection equality boxes every element and takes a good part of
/// a second for 64 KiB; a span comparison takes microseconds and the failure still names the first differing byte.
/// </summary>
internal static class AssertBytes
{
    public static void Equal(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual, string what)
    {
        if (expected.SequenceEqual(actual))
        {
            return;
        }
        int common = expected.CommonPrefixLength(actual);
        string Around(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes[Math.Min(common, bytes.Length)..Math.Min(common + 16, bytes.Length)]);
        Assert.Fail($"{what}: {actual.Length} bytes instead of {expected.Length}, first difference at byte {common}: expected {Around(expected)}..., got {Around(actual)}...");
    }
}
