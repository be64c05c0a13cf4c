using System.Buffers;
using System.Text;
using System.Text.Unicode;
using NUnit.Framework;
using ProcessHub.Tests.Infrastructure;
using ProcessHub.WebSockets;

namespace ProcessHub.Tests.Unit.WebSockets;

/// <summary>
/// <see cref="Utf8StreamValidator"/> against .NET's own validator (<see cref="Utf8.IsValid"/>), exhaustively for
/// short sequences and on Kuhn's samples cut at every position: the verdict never depends on where a message is
/// cut, and an invalid byte is reported at the first byte no valid text could continue with (fail-fast).
/// </summary>
[TestFixture]
[Category("unit")]
internal sealed class Utf8StreamValidatorTests
{
    private static IEnumerable<TestCaseData> Samples() =>
        Utf8Samples.All.Select(s => new TestCaseData(s).SetArgDisplayNames(s.ToString()));

    [TestCaseSource(nameof(Samples))]
    public void Sample_table_agrees_with_the_runtime(Utf8Sample sample) =>
        Assert.That(Utf8.IsValid(sample.Bytes), Is.EqualTo(sample.Valid), "the sample's verdict in the table is wrong");

    [TestCaseSource(nameof(Samples))]
    public void Sample_verdict_is_the_same_wherever_it_is_cut(Utf8Sample sample)
    {
        Assert.That(Validate(sample.Bytes), Is.EqualTo(sample.Valid), "in one piece");
        for (int cut = 0; cut <= sample.Bytes.Length; cut++)
        {
            Assert.That(Validate(sample.Bytes[..cut], sample.Bytes[cut..]), Is.EqualTo(sample.Valid), $"cut at {cut}");
        }
        Assert.That(Validate([.. sample.Bytes.Select(b => new[] { b })]), Is.EqualTo(sample.Valid), "one byte per piece");
    }

    [TestCaseSource(nameof(Samples))]
    public void Invalid_sample_fails_at_its_first_impossible_byte(Utf8Sample sample)
    {
        int expected = FirstImpossibleByte(sample.Bytes);
        var validator = new Utf8StreamValidator();
        int failedAt = -1;
        for (int i = 0; i < sample.Bytes.Length && failedAt < 0; i++)
        {
            if (!validator.Append(sample.Bytes.AsSpan(i, 1)))
            {
                failedAt = i;
            }
        }
        Assert.That(failedAt, Is.EqualTo(expected), expected < 0 ? "valid (or only truncated) text must not fail early" : "fail-fast: the first byte that no valid text can continue with");
    }

    [Test]
    public void Every_one_and_two_byte_sequence_agrees_with_the_runtime()
    {
        var bytes = new byte[2];
        for (int first = 0; first < 256; first++)
        {
            bytes[0] = (byte)first;
            Assert.That(Validate(bytes.AsSpan(0, 1).ToArray()), Is.EqualTo(Utf8.IsValid(bytes.AsSpan(0, 1))), $"{first:X2}");
            for (int second = 0; second < 256; second++)
            {
                bytes[1] = (byte)second;
                if (Validate(bytes) != Utf8.IsValid(bytes))
                {
                    Assert.Fail($"{first:X2} {second:X2}: validator says {Validate(bytes)}, the runtime {Utf8.IsValid(bytes)}");
                }
            }
        }
    }

    [Test]
    public void Every_three_byte_sequence_with_a_three_byte_lead_agrees_with_the_runtime()
    {
        var bytes = new byte[3];
        for (int lead = 0xE0; lead <= 0xEF; lead++)
        {
            for (int second = 0; second < 256; second++)
            {
                for (int third = 0; third < 256; third++)
                {
                    bytes[0] = (byte)lead;
                    bytes[1] = (byte)second;
                    bytes[2] = (byte)third;
                    if (Validate(bytes) != Utf8.IsValid(bytes))
                    {
                        Assert.Fail($"{lead:X2} {second:X2} {third:X2}: validator says {Validate(bytes)}, the runtime {Utf8.IsValid(bytes)}");
                    }
                }
            }
        }
    }

    [Test]
    public void Four_byte_sequences_with_every_lead_and_second_byte_agree_with_the_runtime()
    {
        byte[] tails = [0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF];
        var bytes = new byte[4];
        for (int lead = 0xF0; lead <= 0xFF; lead++)
        {
            for (int second = 0; second < 256; second++)
            {
                foreach (byte third in tails)
                {
                    foreach (byte fourth in tails)
                    {
                        bytes[0] = (byte)lead;
                        bytes[1] = (byte)second;
                        bytes[2] = third;
                        bytes[3] = fourth;
                        if (Validate(bytes) != Utf8.IsValid(bytes))
                        {
                            Assert.Fail($"{Convert.ToHexString(bytes)}: validator says {Validate(bytes)}, the runtime {Utf8.IsValid(bytes)}");
                        }
                    }
                }
            }
        }
    }

    [Test]
    public void Random_text_cut_at_random_agrees_with_the_runtime()
    {
        // Mostly valid text with a corrupted byte now and then, so both verdicts and the ASCII fast path are exercised.
        var random = new Random(6455);
        for (int round = 0; round < 20_000; round++)
        {
            var bytes = TestPayloads.Utf8Text(random.Next(0, 200), seed: round);
            if (bytes.Length > 0 && random.Next(3) == 0)
            {
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            }
            int cut = random.Next(bytes.Length + 1);
            if (Validate(bytes[..cut], bytes[cut..]) != Utf8.IsValid(bytes))
            {
                Assert.Fail($"{Convert.ToHexString(bytes)} cut at {cut}: validator says {!Utf8.IsValid(bytes)}, the runtime {Utf8.IsValid(bytes)}");
            }
        }
    }

    [Test]
    public void Reset_forgets_a_code_point_in_progress()
    {
        var validator = new Utf8StreamValidator();
        validator.Append([0xE2, 0x82]); // the first two bytes of '€'
        bool completeBefore = validator.IsComplete;

        validator.Reset();

        Assert.That((completeBefore, validator.IsComplete, validator.Append("a"u8)), Is.EqualTo((false, true, true)));
    }

    /// <summary>The streaming verdict: every piece accepted and no code point left open at the end.</summary>
    private static bool Validate(params byte[][] pieces)
    {
        var validator = new Utf8StreamValidator();
        foreach (var piece in pieces)
        {
            if (!validator.Append(piece))
            {
                return false;
            }
        }
        return validator.IsComplete;
    }

    /// <summary>
    /// The index of the first byte after which the text can no longer be the start of valid UTF-8, by the
    /// runtime's decoder fed growing prefixes as a non-final block; -1 when every prefix could still be valid.
    /// </summary>
    private static int FirstImpossibleByte(byte[] bytes)
    {
        var chars = new char[bytes.Length * 2 + 2];
        for (int length = 1; length <= bytes.Length; length++)
        {
            var status = Utf8.ToUtf16(bytes.AsSpan(0, length), chars, out _, out _, replaceInvalidSequences: false, isFinalBlock: false);
            if (status == OperationStatus.InvalidData)
            {
                return length - 1;
            }
        }
        return -1;
    }
}
