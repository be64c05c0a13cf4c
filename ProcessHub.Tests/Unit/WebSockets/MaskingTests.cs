using NUnit.Framework;
using ProcessHub.Tests.Infrastructure;
using ProcessHub.WebSockets;

namespace ProcessHub.Tests.Unit.WebSockets;

/// <summary>
/// <see cref="Masking"/> unmasks a vector, then a word, then a byte at a time. Each must agree with the plain
/// RFC 6455 5.3 definition (octet i XOR key[i mod 4]) for every length around the vector and word sizes, every
/// starting key offset, unaligned memory, and a payload unmasked in pieces.
/// </summary>
[TestFixture]
[Category("unit")]
internal sealed class MaskingTests
{
    private static readonly byte[] Key = [0x37, 0xfa, 0x21, 0x3d];

    private static IEnumerable<int> Lengths() =>
        Enumerable.Range(0, 150).Concat([255, 256, 257, 1023, 1024, 1025, 4096 + 3, 65536 + 1]);

    [Test]
    public void Agrees_with_scalar_XOR_for_every_length_and_key_offset()
    {
        var random = new Random(53);
        foreach (int length in Lengths())
        {
            for (int offset = 0; offset < 4; offset++)
            {
                var data = new byte[length];
                random.NextBytes(data);
                var expected = ScalarMask(data, offset);

                int next = Masking.Apply(data, Masking.ReadKey(Key), offset);

                AssertBytes.Equal(expected, data, $"length {length}, offset {offset}");
                Assert.That(next, Is.EqualTo((offset + length) % 4), $"length {length}, offset {offset}: the key offset after the data");
            }
        }
    }

    [Test]
    public void Agrees_with_scalar_XOR_on_unaligned_memory()
    {
        var random = new Random(54);
        for (int misalignment = 1; misalignment < 8; misalignment++)
        {
            foreach (int length in new[] { 3, 31, 64, 65, 200 })
            {
                var buffer = new byte[length + misalignment];
                random.NextBytes(buffer);
                var expected = ScalarMask(buffer[misalignment..], 0);

                Masking.Apply(buffer.AsSpan(misalignment), Masking.ReadKey(Key), 0);

                AssertBytes.Equal(expected, buffer.AsSpan(misalignment), $"misaligned by {misalignment}, length {length}");
            }
        }
    }

    [Test]
    public void A_payload_unmasked_in_two_pieces_equals_one_unmasked_whole()
    {
        var random = new Random(55);
        var payload = new byte[300];
        random.NextBytes(payload);
        var expected = ScalarMask(payload, 0);
        for (int cut = 0; cut <= payload.Length; cut++)
        {
            var data = payload.ToArray();
            int offset = Masking.Apply(data.AsSpan(0, cut), Masking.ReadKey(Key), 0);
            Masking.Apply(data.AsSpan(cut), Masking.ReadKey(Key), offset);
            AssertBytes.Equal(expected, data, $"cut at {cut}");
        }
    }

    [Test]
    public void Unmasks_the_RFC_example()
    {
        // RFC 6455 5.7: "Hello" masked with 37 fa 21 3d.
        byte[] masked = [0x7f, 0x9f, 0x4d, 0x51, 0x58];

        Masking.Apply(masked, Masking.ReadKey(Key), 0);

        Assert.That(masked, Is.EqualTo("Hello"u8.ToArray()));
    }

    [Test]
    public void Masking_twice_restores_the_data()
    {
        var data = new byte[1000];
        new Random(56).NextBytes(data);
        var original = data.ToArray();

        Masking.Apply(data, Masking.ReadKey(Key), 1);
        Masking.Apply(data, Masking.ReadKey(Key), 1);

        Assert.That(data, Is.EqualTo(original));
    }

    private static byte[] ScalarMask(byte[] data, int offset)
    {
        var result = new byte[data.Length];
        for (int i = 0; i < data.Length; i++)
        {
            result[i] = (byte)(data[i] ^ Key[(offset + i) % 4]);
        }
        return result;
    }
}
