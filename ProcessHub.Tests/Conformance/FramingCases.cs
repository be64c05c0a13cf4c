using ProcessHub.Tests.Infrastructure;
using static ProcessHub.Tests.Conformance.CaseBuilder;

namespace ProcessHub.Tests.Conformance;

/// <summary>
/// Autobahn section 1.1: text messages at every length-encoding boundary (7-bit, 16-bit, 64-bit), up to our
/// 64 KiB limit, each echoed intact. Each is also written in 1-byte and 997-byte chops (Autobahn 1.1.8's
/// chopsize) so the header, the extended length, the mask and the payload are all split across reads.
/// </summary>
internal static class FramingCases
{
    private static readonly int[] Sizes = [0, 125, 126, 127, 128, 65535, 65536];
    private static readonly int[] Chops = [0, 1, 997];

    public static IEnumerable<ConformanceCase> All()
    {
        for (int i = 0; i < Sizes.Length; i++)
        {
            int size = Sizes[i];
            var payload = TestPayloads.Utf8Text(size, seed: size);
            foreach (int chop in Chops)
            {
                string id = chop == 0 ? $"1.1.{i + 1}" : $"1.1.{i + 1}/chop{chop}";
                string how = chop == 0 ? "in one write" : $"in {chop}-byte writes";
                yield return Case(id, $"text of {size} bytes {how} is echoed")
                    .Send(ClientFrame.Text(payload), $"text ({size} B)", chop)
                    .ExpectText(payload)
                    .CloseNormally();
            }
        }
    }
}
