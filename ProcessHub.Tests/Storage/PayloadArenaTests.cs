using NUnit.Framework;
using ProcessHub.Storage;

namespace ProcessHub.Tests.Storage;

/// <summary>
/// The arena a restart copies payloads into: each copy stays exactly what was copied while many more follow it, across
/// its arrays' ends and for payloads too large to share one.
/// </summary>
[TestFixture]
[Category("unit")]
public sealed class PayloadArenaTests
{
    [Test]
    public void Every_copy_keeps_its_bytes_whatever_is_copied_after_it()
    {
        var arena = new PayloadArena();
        var random = new Random(20261201);
        var sources = new List<byte[]>();
        var copies = new List<ReadOnlyMemory<byte>>();
        // About 6 MiB: several arrays filled to their end, with the odd payload larger than a shared slice may be.
        while (sources.Sum(s => s.Length) < 6 << 20)
        {
            int length = random.Next(20) == 0 ? random.Next(64 << 10, 300 << 10) : random.Next(0, 700);
            var source = new byte[length];
            random.NextBytes(source);
            sources.Add(source);
            copies.Add(arena.Copy(source));
        }

        for (int i = 0; i < sources.Count; i++)
        {
            Assert.That(copies[i].ToArray(), Is.EqualTo(sources[i]), $"copy {i} of {sources[i].Length} bytes");
        }
    }
}
