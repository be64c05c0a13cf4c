using ProcessHub.Tests.Infrastructure;
using static ProcessHub.Tests.Conformance.CaseBuilder;
using static ProcessHub.Tests.Infrastructure.Bytes;

namespace ProcessHub.Tests.Conformance;

/// <summary>
/// Autobahn section 6: a text message must be valid UTF-8 as a whole (RFC 6455 8.1), however it is cut into
/// frames: valid text is echoed byte for byte, invalid text fails the connection with 1007. Every sample goes
/// in one frame, in fragments cut at code point boundaries, in fragments cut inside code points, and one byte
/// per frame. The 6.4 cases check fail-fast: an invalid byte fails the connection before the frame ends.
/// </summary>
internal static class Utf8Cases
{
    public static IEnumerable<ConformanceCase> All()
    {
        foreach (var sample in Utf8Samples.All)
        {
            foreach (var (variant, cuts) in Cuts(sample.Bytes))
            {
                var frames = cuts is null ? ClientFrame.Text(sample.Bytes) : ClientFrame.Fragmented(sample.Bytes, cuts);
                var builder = Case($"{sample.Id}/{variant}", $"{sample.Description}, {Describe(variant, cuts)}: {(sample.Valid ? "echoed" : "1007")}")
                    .Send(frames, $"{sample.Bytes.Length} B of {(sample.Valid ? "valid" : "invalid")} UTF-8");
                yield return sample.Valid
                    ? builder.ExpectText(sample.Bytes).CloseNormally()
                    : builder.ExpectFailure(CloseCodes.InvalidPayload);
            }
        }
        foreach (var failFast in FailFastCases())
        {
            yield return failFast;
        }
    }

    /// <summary>
    /// Autobahn 6.4: one frame announces its full length, but only its first pieces are ever sent. The server must
    /// answer 1007 as soon as the invalid byte arrives; it cannot be waiting for the end of the frame, which never comes.
    /// </summary>
    private static IEnumerable<ConformanceCase> FailFastCases()
    {
        var kosme = Utf8Samples.Hex("ce ba e1 bd b9 cf 83 ce bc ce b5");
        var edited = "edited"u8.ToArray();

        // (id, piece 1, piece 2 or null when the invalid byte is already in piece 1, the never-sent rest)
        var table = new (string Id, string What, byte[] Piece1, byte[]? Piece2, byte[] Unsent)[]
        {
            ("6.4.1", "invalid code point (U+110000) in piece 2", kosme, Utf8Samples.Hex("f4 90 80 80"), edited),
            ("6.4.2", "lead byte ends piece 1, the bad continuation starts piece 2", Concat(kosme, [0xf4]), Utf8Samples.Hex("90 80 80"), edited),
            ("6.4.3", "invalid continuation inside piece 1", Concat(kosme, Utf8Samples.Hex("f4 90")), null, Concat(Utf8Samples.Hex("80 80"), edited)),
            ("6.4.4", "whole invalid code point inside piece 1", Concat(kosme, Utf8Samples.Hex("f4 90 80 80")), null, edited),
            ("6.4.5", "a surrogate inside piece 1", Concat(kosme, Utf8Samples.Hex("ed a0 80")), null, edited),
            ("6.4.6", "0xFF as the first byte of the frame", [0xff], null, Concat(kosme, edited)),
        };

        foreach (var (id, what, piece1, piece2, unsent) in table)
        {
            var (header, maskedPayload) = MaskedFrameInParts(Concat(piece1, piece2 ?? [], unsent));
            var builder = Case(id, $"fail fast: {what}; the rest of the frame is never sent")
                .Send(Concat(header, maskedPayload[..piece1.Length]), "header and piece 1");
            if (piece2 is not null)
            {
                builder.Send(maskedPayload[piece1.Length..(piece1.Length + piece2.Length)], "piece 2");
            }
            yield return builder.ExpectFailure(CloseCodes.InvalidPayload);
        }

        // The same inside a fragmented message: the second fragment's frame never completes.
        var (contHeader, contPayload) = MaskedFrameInParts(Concat(Utf8Samples.Hex("c0 af"), kosme, new byte[6]), Opcodes.Continuation);
        yield return Case("6.4.7", "fail fast in a continuation frame: an overlong form in its first piece")
            .Send(Concat(ClientFrame.Text(kosme, fin: false), contHeader, contPayload[..2]), "a valid first fragment, then the start of the second")
            .ExpectFailure(CloseCodes.InvalidPayload);
    }

    private static (byte[] Header, byte[] MaskedPayload) MaskedFrameInParts(byte[] payload, byte opcode = Opcodes.Text)
    {
        // Build the whole frame once so that every piece is masked with the right key offset, then cut it.
        var frame = ClientFrame.Build(opcode, payload);
        int headerLength = frame.Length - payload.Length;
        return (frame[..headerLength], frame[headerLength..]);
    }

    private static IEnumerable<(string Variant, int[]? Cuts)> Cuts(byte[] bytes)
    {
        yield return ("frame", null);

        // Boundaries are before every byte that is not a continuation byte (for invalid text, "where a code point would start").
        var atCodePoints = Enumerable.Range(1, Math.Max(0, bytes.Length - 1)).Where(i => bytes[i] is < 0x80 or > 0xBF).ToArray();
        var insideCodePoints = Enumerable.Range(1, Math.Max(0, bytes.Length - 1)).Where(i => bytes[i] is >= 0x80 and <= 0xBF).ToArray();
        var everyByte = ClientFrame.EveryNBytes(bytes.Length, 1);

        if (atCodePoints.Length > 0 && atCodePoints.Length < everyByte.Length)
        {
            yield return ("at-code-points", atCodePoints);
        }
        if (insideCodePoints.Length > 0 && insideCodePoints.Length < everyByte.Length)
        {
            yield return ("inside-code-points", insideCodePoints);
        }
        if (everyByte.Length > 0)
        {
            yield return ("1-byte-frames", everyByte);
        }
        else
        {
            // 0- and 1-byte samples: still check that a fragmented form (with an empty final fragment) behaves the same.
            yield return ("with-empty-final-fragment", [bytes.Length]);
        }
    }

    private static string Describe(string variant, int[]? cuts) => cuts is null ? "one frame" : $"{variant} ({cuts.Length + 1} frames)";
}
