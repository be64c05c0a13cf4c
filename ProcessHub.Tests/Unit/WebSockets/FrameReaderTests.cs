using System.Buffers;
using System.Text;
using NUnit.Framework;
using ProcessHub.Tests.Infrastructure;
using ProcessHub.WebSockets;

namespace ProcessHub.Tests.Unit.WebSockets;

/// <summary>
/// <see cref="FrameReader"/> on annotated byte fixtures. A connection's bytes arrive in arbitrary reads, so every
/// fixture is also fed cut at every position: as two reads (the unconsumed rest of the first carried into the
/// second, as the pipe does) and as one read over a two-segment sequence. The verdict must never depend on the cut.
/// </summary>
[TestFixture]
[Category("unit")]
internal sealed class FrameReaderTests
{
    private const int Limit = 1024;

    // RFC 6455 5.3: the mask key every fixture uses (the one of the RFC 5.7 examples).
    private static readonly byte[] Key = [0x37, 0xfa, 0x21, 0x3d];

    // RFC 6455 5.7: FIN=1, Text(0x1), MASK=1, payload length=5, key 37 fa 21 3d, "Hello" masked.
    private static readonly byte[] RfcHello = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];

    // A conversation: every kind of frame a client may send, in one stream.
    private static readonly byte[] Conversation =
    [
        .. RfcHello,
        .. Masked(0x01, 0x83, "Hel"u8),                     // FIN=0, Text, MASK=1, length 3: first fragment
        .. Masked(0x89, 0x84, "ping"u8),                    // FIN=1, Ping, length 4: between fragments
        .. Masked(0x80, 0x82, "lo"u8),                      // FIN=1, Continuation, length 2: completes "Hello"
        .. Masked(0x8a, 0x80, ""u8),                        // FIN=1, Pong, length 0: unsolicited
        .. Masked(0x81, 0x80, ""u8),                        // FIN=1, Text, length 0: an empty message
        .. Masked(0x81, 0xfe, [0x01, 0x2c], Repeat("é", 150)), // FIN=1, Text, length 126 -> 16-bit 300: 150 x "é"
        .. Masked(0x88, 0x85, [0x03, 0xe8, .. "bye"u8]),    // FIN=1, Close, length 5: code 1000, reason "bye"
    ];

    private static readonly string[] ConversationEvents =
    [
        "text:Hello", "ping:70696E67", "text:Hello", "pong:", "text:", $"text:{new string('é', 150)}", "close:1000:bye",
    ];

    [Test]
    public void Reads_the_RFC_example()
    {
        var (status, error, events) = ReadInOneGo(new ReadOnlySequence<byte>(RfcHello));

        Assert.That((status, error, events), Is.EqualTo((FrameReadStatus.NeedMoreData, FrameError.None, new List<string> { "text:Hello" })));
    }

    [Test]
    public void Reads_a_conversation_in_one_read() =>
        Assert.That(ReadInOneGo(new ReadOnlySequence<byte>(Conversation)), Is.EqualTo((FrameReadStatus.CloseReceived, FrameError.None, ConversationEvents.ToList())));

    [Test]
    public void Reads_a_conversation_cut_into_two_reads_at_every_position()
    {
        for (int cut = 0; cut <= Conversation.Length; cut++)
        {
            var result = ReadInReads(Conversation, [cut]);
            Assert.That(result, Is.EqualTo((FrameReadStatus.CloseReceived, FrameError.None, ConversationEvents.ToList())), $"cut at {cut}");
        }
    }

    [Test]
    public void Reads_a_conversation_from_two_segments_cut_at_every_position()
    {
        for (int cut = 0; cut <= Conversation.Length; cut++)
        {
            var result = ReadInOneGo(TestSequences.SplitAt(Conversation, cut));
            Assert.That(result, Is.EqualTo((FrameReadStatus.CloseReceived, FrameError.None, ConversationEvents.ToList())), $"cut at {cut}");
        }
    }

    [Test]
    public void Reads_a_conversation_one_byte_per_read() =>
        Assert.That(
            ReadInReads(Conversation, [.. Enumerable.Range(1, Conversation.Length - 1)]),
            Is.EqualTo((FrameReadStatus.CloseReceived, FrameError.None, ConversationEvents.ToList())));

    [Test]
    public void Reads_a_16_bit_length_and_a_message_exactly_at_the_limit()
    {
        var atLimit = Encoding.ASCII.GetBytes(new string('x', Limit));
        // FIN=1, Text, MASK=1, length code 126 + 16-bit 1024, then the key and 1024 masked bytes.
        var frame = Masked(0x81, 0xfe, [0x04, 0x00], atLimit);
        // FIN=1, Text, MASK=1, length code 126 + 16-bit 126: the smallest length that needs the 16-bit form.
        var smallest16 = Masked(0x81, 0xfe, [0x00, 0x7e], new byte[126]);

        var (status, error, events) = ReadInReads([.. frame, .. smallest16], [7, 500, 1030]);

        Assert.That((status, error, events), Is.EqualTo((FrameReadStatus.NeedMoreData, FrameError.None, new List<string> { $"text:{new string('x', Limit)}", $"text:{new string('\0', 126)}" })));
    }

    [Test]
    public void Reads_a_64_bit_length()
    {
        // FIN=1, Text, MASK=1, length code 127 + 64-bit 65536: the smallest length that needs the 64-bit form.
        var payload = Encoding.ASCII.GetBytes(new string('y', 65536));
        var frame = Masked(0x81, 0xff, [0, 0, 0, 0, 0, 1, 0, 0], payload);
        var reader = new FrameReader(128 * 1024);
        var sink = new RecordingSink();

        var (status, error, rest) = BoundedRead(reader, TestSequences.SplitAt(frame, 9, 14, 40_000), sink);

        Assert.That((status, error, rest.Length, sink.Events.Single()), Is.EqualTo((FrameReadStatus.NeedMoreData, FrameError.None, 0L, $"text:{new string('y', 65536)}")));
    }

    [Test]
    public void Holds_no_partial_message_between_messages()
    {
        var reader = new FrameReader(Limit);
        var sink = new RecordingSink();
        var first = new ReadOnlySequence<byte>(Masked(0x01, 0x83, "Hel"u8)); // FIN=0: a message begins
        var rest = new ReadOnlySequence<byte>(Masked(0x80, 0x82, "lo"u8));   // FIN=1 continuation: it ends

        BoundedRead(reader, first, sink);
        bool partialAfterFirst = reader.HasPartialMessage;
        BoundedRead(reader, rest, sink);

        Assert.That((partialAfterFirst, reader.HasPartialMessage, sink.Events.Single()), Is.EqualTo((true, false, "text:Hello")));
    }

    [Test]
    public void Reads_payload_from_a_sequence_that_starts_with_an_empty_segment()
    {
        // ReadOnlySequence allows empty segments anywhere. Here the header arrived in an earlier read and the
        // payload comes in a sequence whose first segment holds nothing (as when no bytes were left over).
        var reader = new FrameReader(Limit);
        var sink = new RecordingSink();
        BoundedRead(reader, new ReadOnlySequence<byte>(RfcHello[..6]), sink);

        var (status, error, rest) = BoundedRead(reader, TestSequences.Create([], RfcHello[6..]), sink);

        Assert.That((status, error, rest.Length, sink.Events.Single()), Is.EqualTo((FrameReadStatus.NeedMoreData, FrameError.None, 0L, "text:Hello")));
    }

    private static IEnumerable<TestCaseData> Violations()
    {
        TestCaseData Case(string name, byte[] bytes, FrameError error, params string[] before) =>
            new TestCaseData(bytes, error, before).SetName($"Rejects {name}");

        yield return Case("an unmasked frame", [0x81, 0x05, .. "Hello"u8], FrameError.UnmaskedFrame);          // FIN=1, Text, MASK=0, length 5
        yield return Case("RSV1", Masked(0xc1, 0x80, ""u8), FrameError.ReservedBitsSet);                        // FIN=1, RSV1=1, Text, length 0
        yield return Case("RSV3", Masked(0x91, 0x80, ""u8), FrameError.ReservedBitsSet);                        // FIN=1, RSV3=1, Text
        yield return Case("opcode 0x3", Masked(0x83, 0x80, ""u8), FrameError.ReservedOpcode);                   // FIN=1, reserved data opcode
        yield return Case("opcode 0xB", Masked(0x8b, 0x80, ""u8), FrameError.ReservedOpcode);                   // FIN=1, reserved control opcode
        yield return Case("a fragmented ping", Masked(0x09, 0x80, ""u8), FrameError.FragmentedControlFrame);    // FIN=0, Ping
        yield return Case("a 126-byte ping", Masked(0x89, 0xfe, [0x00, 0x7e], new byte[126]), FrameError.ControlFrameTooLong); // Ping, 16-bit 126
        yield return Case("a 1-byte close", Masked(0x88, 0x81, [0x03]), FrameError.CloseOneBytePayload);       // Close, length 1
        yield return Case("close code 1005", Masked(0x88, 0x82, [0x03, 0xed]), FrameError.InvalidCloseCode);   // Close, code 1005
        yield return Case("close code 999", Masked(0x88, 0x82, [0x03, 0xe7]), FrameError.InvalidCloseCode);    // Close, code 999
        yield return Case("a close reason that is not UTF-8", Masked(0x88, 0x84, [0x03, 0xe8, 0xc0, 0xaf]), FrameError.InvalidCloseReason); // 1000 + overlong '/'
        yield return Case("a continuation with no message", Masked(0x80, 0x82, "lo"u8), FrameError.UnexpectedContinuation); // FIN=1, Continuation
        yield return Case("a text frame inside a message", [.. Masked(0x01, 0x83, "Hel"u8), .. Masked(0x81, 0x82, "lo"u8)], FrameError.ExpectedContinuation);
        yield return Case("a 64-bit length with the top bit set", Masked(0x81, 0xff, [0x80, 0, 0, 0, 0, 0, 0, 5], ""u8), FrameError.LengthTopBitSet);
        yield return Case("a 16-bit length that fits 7 bits", Masked(0x81, 0xfe, [0x00, 0x05], "Hello"u8), FrameError.NonMinimalLength);      // 126 -> 16-bit 5
        yield return Case("a 16-bit length of 125", Masked(0x81, 0xfe, [0x00, 0x7d], new byte[125]), FrameError.NonMinimalLength);          // 126 -> 16-bit 125
        yield return Case("a 16-bit length of 0 with no payload", Masked(0x81, 0xfe, [0x00, 0x00], ""u8), FrameError.NonMinimalLength);
        yield return Case("a 64-bit length that fits 7 bits", Masked(0x81, 0xff, [0, 0, 0, 0, 0, 0, 0, 3], "abc"u8), FrameError.NonMinimalLength); // 127 -> 64-bit 3
        yield return Case("a 64-bit length that fits 16 bits", Masked(0x81, 0xff, [0, 0, 0, 0, 0, 0, 0xff, 0xff], ""u8), FrameError.NonMinimalLength); // 127 -> 64-bit 65535, payload never sent
        yield return Case("a non-minimal continuation length", [.. Masked(0x01, 0x83, "Hel"u8), .. Masked(0x80, 0xfe, [0x00, 0x02], "lo"u8)], FrameError.NonMinimalLength);
        yield return Case("a frame over the limit at its header", Masked(0x81, 0xfe, [0x04, 0x01], ""u8), FrameError.MessageTooBig);    // 1025 announced, none sent
        yield return Case("fragments adding up past the limit", [.. Masked(0x01, 0xfe, [0x02, 0x00], new byte[512]), .. Masked(0x80, 0xfe, [0x02, 0x01], ""u8)], FrameError.MessageTooBig);
        yield return Case("a binary message", Masked(0x82, 0x82, [0x00, 0xff]), FrameError.BinaryMessage);    // FIN=1, Binary
        yield return Case("invalid UTF-8", Masked(0x81, 0x83, [0x61, 0xff, 0x62]), FrameError.InvalidUtf8);    // 'a', 0xFF, 'b'
        yield return Case("a message ending inside a code point", Masked(0x81, 0x82, [0x61, 0xe2]), FrameError.InvalidUtf8);
        yield return Case("a bad byte after a valid message", [.. RfcHello, .. Masked(0x81, 0x81, [0x80])], FrameError.InvalidUtf8, "text:Hello");
        yield return Case("an unmasked frame after a ping", [.. Masked(0x89, 0x80, ""u8), 0x81, 0x00], FrameError.UnmaskedFrame, "ping:");
    }

    [TestCaseSource(nameof(Violations))]
    public void Rejects_a_violation_wherever_the_bytes_are_cut(byte[] bytes, FrameError expected, string[] eventsBefore)
    {
        var expectedResult = (FrameReadStatus.Error, expected, eventsBefore.ToList());
        Assert.That(ReadInOneGo(new ReadOnlySequence<byte>(bytes)), Is.EqualTo(expectedResult), "one read");
        for (int cut = 0; cut <= bytes.Length; cut++)
        {
            Assert.That(ReadInReads(bytes, [cut]), Is.EqualTo(expectedResult), $"two reads, cut at {cut}");
            Assert.That(ReadInOneGo(TestSequences.SplitAt(bytes, cut)), Is.EqualTo(expectedResult), $"two segments, cut at {cut}");
        }
    }

    [Test]
    public void Fails_on_an_invalid_byte_before_the_frame_is_complete()
    {
        // FIN=1, Text, length 100 announced; only 'a', 'b', 0xFF arrive: the verdict cannot wait for the rest.
        var frame = Masked(0x81, 0xe4, [0x61, 0x62, 0xff, .. new byte[97]]);

        var result = ReadInOneGo(new ReadOnlySequence<byte>(frame[..9]));

        Assert.That(result, Is.EqualTo((FrameReadStatus.Error, FrameError.InvalidUtf8, new List<string>())));
    }

    /// <summary>A header (first byte, second byte with MASK set, any extended length), the key, the masked payload.</summary>
    private static byte[] Masked(byte b0, byte b1, ReadOnlySpan<byte> payload) => Masked(b0, b1, [], payload);

    private static byte[] Masked(byte b0, byte b1, byte[] extendedLength, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[2 + extendedLength.Length + 4 + payload.Length];
        frame[0] = b0;
        frame[1] = b1;
        extendedLength.CopyTo(frame, 2);
        Key.CopyTo(frame, 2 + extendedLength.Length);
        int start = 2 + extendedLength.Length + 4;
        for (int i = 0; i < payload.Length; i++)
        {
            frame[start + i] = (byte)(payload[i] ^ Key[i % 4]);
        }
        return frame;
    }

    private static byte[] Repeat(string text, int count) => Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(text, count)));

    private static (FrameReadStatus, FrameError, List<string>) ReadInOneGo(ReadOnlySequence<byte> buffer)
    {
        var reader = new FrameReader(Limit);
        var sink = new RecordingSink();
        var (status, error, _) = BoundedRead(reader, buffer, sink);
        return (status, error, sink.Events);
    }

    /// <summary>
    /// One <see cref="FrameReader.Read"/> on a worker with a time bound: a reader that stops making progress spins
    /// without returning, and that must fail the test rather than hang the suite.
    /// </summary>
    private static (FrameReadStatus Status, FrameError Error, ReadOnlySequence<byte> Unconsumed) BoundedRead(FrameReader reader, ReadOnlySequence<byte> buffer, RecordingSink sink)
    {
        var read = Task.Run(() =>
        {
            var rest = buffer;
            var status = reader.Read(ref rest, sink, out var error);
            return (status, error, rest);
        });
        if (!read.Wait(TestTimeouts.Receive))
        {
            throw new TimeoutException($"FrameReader.Read did not return within {TestTimeouts.Receive.TotalSeconds} s on {buffer.Length} bytes: it loops without consuming");
        }
        return read.Result;
    }

    /// <summary>
    /// Feeds <paramref name="bytes"/> as the reads a socket would deliver, cut at <paramref name="cuts"/>; what the
    /// reader leaves unconsumed is put in front of the next read, in its own segment, as the pipe does.
    /// </summary>
    private static (FrameReadStatus, FrameError, List<string>) ReadInReads(byte[] bytes, int[] cuts)
    {
        var reader = new FrameReader(Limit);
        var sink = new RecordingSink();
        var pending = Array.Empty<byte>();
        int start = 0;
        var status = FrameReadStatus.NeedMoreData;
        var error = FrameError.None;
        foreach (int end in cuts.Append(bytes.Length))
        {
            var buffer = TestSequences.Create(pending, bytes[start..end]);
            start = end;
            (status, error, buffer) = BoundedRead(reader, buffer, sink);
            if (status != FrameReadStatus.NeedMoreData)
            {
                break;
            }
            pending = buffer.ToArray();
        }
        return (status, error, sink.Events);
    }
}
