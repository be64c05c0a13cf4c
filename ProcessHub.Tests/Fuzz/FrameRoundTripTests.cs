using System.Text;
using CsCheck;
using NUnit.Framework;
using ProcessHub.Fuzz.Input;
using ProcessHub.Tests.Infrastructure;
using ProcessHub.Tests.Unit.WebSockets;
using ProcessHub.WebSockets;

namespace ProcessHub.Tests.Fuzz;

/// <summary>
/// The other half of the frame target's UTF-8 invariant: where the fuzz target checks that nothing invalid is
/// delivered, this checks that nothing valid is refused. Seeded random text messages (any code points, so 1-4 byte
/// sequences), cut into fragments at random byte positions (so code points split across frames), masked with random
/// keys, pings in between, delivered in random reads: the reader must deliver exactly those messages.
/// </summary>
[TestFixture]
[Category("unit")]
internal sealed class FrameRoundTripTests
{
    private const int Limit = 64 * 1024;

    // Code points of every UTF-8 length (1-4 bytes) equally often; no surrogates, which are not code points.
    private static readonly Gen<string> TextGen =
        Gen.OneOf(Gen.Int[0, 0x7F], Gen.Int[0x80, 0x7FF], Gen.Int[0x800, 0xFFFF], Gen.Int[0x10000, 0x10FFFF])
            .Where(codePoint => codePoint is < 0xD800 or > 0xDFFF)
            .Array[0, 40]
            .Select(codePoints => string.Concat(codePoints.Select(codePoint => new Rune(codePoint).ToString())));

    private static readonly Gen<Message> MessageGen =
        Gen.Select(TextGen, Gen.Int[0, 200].Array[0, 3], Gen.Byte.Array[4], Gen.Bool, (text, cuts, key, ping) => new Message(text, cuts, key, ping));

    private static readonly Gen<Conversation> ConversationGen =
        Gen.Select(MessageGen.Array[1, 6], Gen.Byte[0, 40].Array[0, 5], (messages, reads) => new Conversation(messages, reads));

    [Test]
    public void Valid_text_messages_in_random_frames_and_reads_are_delivered_exactly() =>
        SeededSample.Run(ConversationGen, AssertDeliveredExactly, iterations: 1500);

    private static void AssertDeliveredExactly(Conversation conversation)
    {
        var expected = new List<string>();
        var stream = new List<byte>();
        foreach (var message in conversation.Messages)
        {
            byte[] utf8 = Encoding.UTF8.GetBytes(message.Text);
            int[] cuts = [.. message.Cuts.Select(cut => cut % (utf8.Length + 1)).Order().Distinct()];
            int start = 0;
            for (int fragment = 0; fragment <= cuts.Length; fragment++)
            {
                int end = fragment < cuts.Length ? cuts[fragment] : utf8.Length;
                byte opcode = fragment == 0 ? Opcodes.Text : Opcodes.Continuation;
                stream.AddRange(Masked(opcode, utf8.AsSpan(start, end - start), fin: fragment == cuts.Length, message.Key));
                if (message.PingAfterFirstFragment && fragment == 0 && cuts.Length > 0)
                {
                    stream.AddRange(Masked(Opcodes.Ping, "p"u8, fin: true, message.Key));
                    expected.Add("ping:70");
                }
                start = end;
            }
            expected.Add($"text:{Encoding.UTF8.GetString(utf8)}");
        }

        byte[] data = [.. stream];
        int[] readLengths = ReadLengths(data.Length, conversation.Reads);
        var reader = new FrameReader(Limit);
        var sink = new RecordingSink();
        int consumed = 0;
        for (int read = 1; read <= readLengths.Length; read++)
        {
            var buffer = ReadSequence.Create(data, readLengths, read, consumed);
            long before = buffer.Length;
            var status = reader.Read(ref buffer, sink, out var error);
            Assert.That((status, error), Is.EqualTo((FrameReadStatus.NeedMoreData, FrameError.None)), $"after read {read} of {readLengths.Length}");
            consumed += (int)(before - buffer.Length);
        }
        reader.Reset();

        Assert.That(sink.Events, Is.EqualTo(expected));
        Assert.That(consumed, Is.EqualTo(data.Length), "every byte of complete frames is consumed");
    }

    private static byte[] Masked(byte opcode, ReadOnlySpan<byte> payload, bool fin, byte[] key)
    {
        byte[] header = ClientFrame.Header(opcode, (ulong)payload.Length, fin, 0, key);
        byte[] frame = [.. header, .. payload];
        for (int i = 0; i < payload.Length; i++)
        {
            frame[header.Length + i] ^= key[i % 4];
        }
        return frame;
    }

    // The fuzz input's own layout: a control byte giving the number of sizes, then the sizes (cycled; zeros or none: one read).
    private static int[] ReadLengths(int total, byte[] sizes) =>
        FuzzInput.Parse([(byte)sizes.Length, .. sizes, .. new byte[total]]).ReadLengths();

    internal sealed record Message(string Text, int[] Cuts, byte[] Key, bool PingAfterFirstFragment);

    internal sealed record Conversation(Message[] Messages, byte[] Reads);
}
