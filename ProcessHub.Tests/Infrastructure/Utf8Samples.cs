using System.Text;

namespace ProcessHub.Tests.Infrastructure;

/// <summary>
/// Markus Kuhn's "UTF-8 decoder capability and stress test" (the source of Autobahn section 6), section by section,
/// with the RFC 3629 verdict: overlong forms, UTF-16 surrogates and anything above U+10FFFF are invalid;
/// noncharacters such as U+FFFE are valid UTF-8.
/// </summary>
internal static class Utf8Samples
{
    // "κόσμε" (Kuhn 1), the Greek word the file and Autobahn use throughout.
    private const string Kosme = "ce ba e1 bd b9 cf 83 ce bc ce b5";

    public static IReadOnlyList<Utf8Sample> All { get; } = Build();

    private static List<Utf8Sample> Build()
    {
        var samples = new List<Utf8Sample>
        {
            Valid("6.1.1", "empty", ""),
            new("6.2.1", "Latin-1 supplement and ASCII", Encoding.UTF8.GetBytes("Hello-µ@ßöäüàá-UTF-8!!"), true),
            Valid("6.5.1", "κόσμε", Kosme),
            Invalid("6.3.1", "κόσμε, a surrogate, 'edited'", Kosme + " ed a0 80 65 64 69 74 65 64"),

            // Kuhn 2.1: first possible sequence of each length.
            Valid("6.7.1", "U+0000", "00"),
            Valid("6.7.2", "U+0080", "c2 80"),
            Valid("6.7.3", "U+0800", "e0 a0 80"),
            Valid("6.7.4", "U+10000", "f0 90 80 80"),
            Invalid("6.8.1", "first 5-byte sequence", "f8 88 80 80 80"),
            Invalid("6.8.2", "first 6-byte sequence", "fc 84 80 80 80 80"),

            // Kuhn 2.2: last possible sequence of each length.
            Valid("6.9.1", "U+007F", "7f"),
            Valid("6.9.2", "U+07FF", "df bf"),
            Valid("6.9.3", "U+FFFF", "ef bf bf"),
            Invalid("6.9.4", "U+1FFFFF (above U+10FFFF)", "f7 bf bf bf"),
            Invalid("6.10.1", "last 5-byte sequence", "fb bf bf bf bf"),
            Invalid("6.10.2", "last 6-byte sequence", "fd bf bf bf bf bf"),

            // Kuhn 2.3: other boundary conditions.
            Valid("6.11.1", "U+D7FF (just below the surrogates)", "ed 9f bf"),
            Valid("6.11.2", "U+E000 (just above the surrogates)", "ee 80 80"),
            Valid("6.11.3", "U+FFFD", "ef bf bd"),
            Valid("6.11.4", "U+10FFFF (the last code point)", "f4 8f bf bf"),
            Invalid("6.11.5", "U+110000 (one past the last)", "f4 90 80 80"),

            // Kuhn 3.1: unexpected continuation bytes.
            Invalid("6.12.1", "first continuation byte", "80"),
            Invalid("6.12.2", "last continuation byte", "bf"),
            Invalid("6.12.3", "2 continuation bytes", "80 bf"),
            Invalid("6.12.4", "3 continuation bytes", "80 bf 80"),
            Invalid("6.12.5", "4 continuation bytes", "80 bf 80 bf"),
            Invalid("6.12.6", "5 continuation bytes", "80 bf 80 bf 80"),
            Invalid("6.12.7", "6 continuation bytes", "80 bf 80 bf 80 bf"),
            Invalid("6.12.8", "7 continuation bytes", "80 bf 80 bf 80 bf 80"),
            new("6.12.9", "all 64 continuation bytes", Range(0x80, 0xbf), false),
            Invalid("6.12.10", "a stray continuation after valid text", "61 62 63 80 64"),

            // Kuhn 3.2: lonely start bytes, each followed by a space.
            new("6.13.1", "all 32 two-byte lead bytes, each followed by a space", LonelyStarts(0xc0, 0xdf), false),
            new("6.13.2", "all 16 three-byte lead bytes, each followed by a space", LonelyStarts(0xe0, 0xef), false),
            new("6.13.3", "all 8 four-byte lead bytes, each followed by a space", LonelyStarts(0xf0, 0xf7), false),
            new("6.13.4", "all 4 five-byte lead bytes, each followed by a space", LonelyStarts(0xf8, 0xfb), false),
            new("6.13.5", "the 2 six-byte lead bytes, each followed by a space", LonelyStarts(0xfc, 0xfd), false),
            Invalid("6.13.6", "a valid 2-byte lead followed by a space", "c2 20"),
            Invalid("6.13.7", "a valid 3-byte lead followed by a space", "e1 20"),

            // Kuhn 3.3: sequences with the last continuation byte missing (the message ends inside a code point).
            Invalid("6.14.1", "overlong 2-byte U+0000 without its last byte", "c0"),
            Invalid("6.14.2", "3-byte U+0000 without its last byte", "e0 80"),
            Invalid("6.14.3", "4-byte U+0000 without its last byte", "f0 80 80"),
            Invalid("6.14.4", "5-byte U+0000 without its last byte", "f8 80 80 80"),
            Invalid("6.14.5", "6-byte U+0000 without its last byte", "fc 80 80 80 80"),
            Invalid("6.14.6", "2-byte U+07FF without its last byte", "df"),
            Invalid("6.14.7", "3-byte U+FFFF without its last byte", "ef bf"),
            Invalid("6.14.8", "4-byte U+1FFFFF without its last byte", "f7 bf bf"),
            Invalid("6.14.9", "5-byte U+3FFFFFF without its last byte", "fb bf bf bf"),
            Invalid("6.14.10", "6-byte U+7FFFFFFF without its last byte", "fd bf bf bf bf"),
            Invalid("6.14.11", "a valid 2-byte lead at the very end", "61 c2"),
            Invalid("6.14.12", "a valid 3-byte sequence missing its last byte at the end", "61 e1 80"),
            Invalid("6.14.13", "a valid 4-byte sequence missing its last byte at the end", "61 f1 80 80"),
            Invalid("6.6.1", "κόσμε cut after its first byte", "ce"),
            Valid("6.6.2", "κόσμε cut after its first character", "ce ba"),
            Invalid("6.6.3", "κόσμε cut inside its second character", "ce ba e1"),
            Invalid("6.6.4", "κόσμε cut inside its second character, one byte later", "ce ba e1 bd"),
            Valid("6.6.5", "κόσμε cut after its second character", "ce ba e1 bd b9"),

            // Kuhn 3.4: all of 3.3 concatenated.
            Invalid("6.15.1", "all the incomplete sequences concatenated", "c0 e0 80 f0 80 80 f8 80 80 80 fc 80 80 80 80 df ef bf f7 bf bf fb bf bf bf fd bf bf bf bf"),

            // Kuhn 3.5: bytes that never appear in UTF-8.
            Invalid("6.16.1", "0xFE", "fe"),
            Invalid("6.16.2", "0xFF", "ff"),
            Invalid("6.16.3", "0xFE 0xFE 0xFF 0xFF", "fe fe ff ff"),
            Invalid("6.16.4", "0xF5, the first lead byte past U+10FFFF", "f5 80 80 80"),

            // Kuhn 4.1: overlong forms of '/'.
            Invalid("6.17.1", "2-byte overlong '/'", "c0 af"),
            Invalid("6.17.2", "3-byte overlong '/'", "e0 80 af"),
            Invalid("6.17.3", "4-byte overlong '/'", "f0 80 80 af"),
            Invalid("6.17.4", "5-byte overlong '/'", "f8 80 80 80 af"),
            Invalid("6.17.5", "6-byte overlong '/'", "fc 80 80 80 80 af"),

            // Kuhn 4.2: the largest overlong forms.
            Invalid("6.18.1", "largest 2-byte overlong (U+007F)", "c1 bf"),
            Invalid("6.18.2", "largest 3-byte overlong (U+07FF)", "e0 9f bf"),
            Invalid("6.18.3", "largest 4-byte overlong (U+FFFF)", "f0 8f bf bf"),
            Invalid("6.18.4", "largest 5-byte overlong", "f8 87 bf bf bf"),
            Invalid("6.18.5", "largest 6-byte overlong", "fc 83 bf bf bf bf"),

            // Kuhn 4.3: overlong NUL.
            Invalid("6.19.1", "2-byte overlong NUL", "c0 80"),
            Invalid("6.19.2", "3-byte overlong NUL", "e0 80 80"),
            Invalid("6.19.3", "4-byte overlong NUL", "f0 80 80 80"),
            Invalid("6.19.4", "5-byte overlong NUL", "f8 80 80 80 80"),
            Invalid("6.19.5", "6-byte overlong NUL", "fc 80 80 80 80 80"),

            // Kuhn 5.1: single UTF-16 surrogates.
            Invalid("6.20.1", "U+D800", "ed a0 80"),
            Invalid("6.20.2", "U+DB7F", "ed ad bf"),
            Invalid("6.20.3", "U+DB80", "ed ae 80"),
            Invalid("6.20.4", "U+DBFF", "ed af bf"),
            Invalid("6.20.5", "U+DC00", "ed b0 80"),
            Invalid("6.20.6", "U+DF80", "ed be 80"),
            Invalid("6.20.7", "U+DFFF", "ed bf bf"),

            // Kuhn 5.2: paired UTF-16 surrogates (CESU-8), still invalid UTF-8.
            Invalid("6.21.1", "U+D800 U+DC00", "ed a0 80 ed b0 80"),
            Invalid("6.21.2", "U+D800 U+DFFF", "ed a0 80 ed bf bf"),
            Invalid("6.21.3", "U+DB7F U+DC00", "ed ad bf ed b0 80"),
            Invalid("6.21.4", "U+DB7F U+DFFF", "ed ad bf ed bf bf"),
            Invalid("6.21.5", "U+DB80 U+DC00", "ed ae 80 ed b0 80"),
            Invalid("6.21.6", "U+DB80 U+DFFF", "ed ae 80 ed bf bf"),
            Invalid("6.21.7", "U+DBFF U+DC00", "ed af bf ed b0 80"),
            Invalid("6.21.8", "U+DBFF U+DFFF", "ed af bf ed bf bf"),

            // Kuhn 5.3: noncharacters are valid UTF-8 (RFC 3629 does not exclude them).
            Valid("6.22.1", "U+FFFE", "ef bf be"),
            Valid("6.22.2", "U+FFFF", "ef bf bf"),
            Valid("6.22.3", "U+1FFFE", "f0 9f bf be"),
            Valid("6.22.4", "U+10FFFE", "f4 8f bf be"),
            Valid("6.22.5", "U+FDD0", "ef b7 90"),
            Valid("6.22.6", "U+FDEF", "ef b7 af"),

            // Kuhn 1-2 style mixed text that stays valid.
            Valid("6.23.1", "U+FFFD between ASCII", "61 ef bf bd 62"),
            new("6.23.2", "every length of code point in a row", Encoding.UTF8.GetBytes("a\u00e9\u20ac\U0001F600z"), true),
        };
        return samples;
    }

    private static Utf8Sample Valid(string id, string description, string hex) => new(id, description, Hex(hex), true);

    private static Utf8Sample Invalid(string id, string description, string hex) => new(id, description, Hex(hex), false);

    public static byte[] Hex(string spaced) => Convert.FromHexString(spaced.Replace(" ", string.Empty, StringComparison.Ordinal));

    private static byte[] Range(int first, int last) => [.. Enumerable.Range(first, last - first + 1).Select(b => (byte)b)];

    private static byte[] LonelyStarts(int first, int last) => [.. Enumerable.Range(first, last - first + 1).SelectMany(b => new[] { (byte)b, (byte)0x20 })];
}
