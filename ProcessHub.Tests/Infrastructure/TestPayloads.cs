using System.Text;

namespace ProcessHub.Tests.Infrastructure;

/// <summary>Deterministic message bodies. Text mixes 1- to 4-byte UTF-8 so chops and fragments land inside code points.</summary>
internal static class TestPayloads
{
    private static readonly string[] Palette = ["a", "Z", "7", "{", "é", "ß", "κ", "€", "ひ", "\U0001D11E", "\U0001F600", " "];

    /// <summary>Exactly <paramref name="byteLength"/> bytes of valid UTF-8 (ASCII fills the last few bytes).</summary>
    public static byte[] Utf8Text(int byteLength, int seed = 1)
    {
        var text = new StringBuilder(byteLength);
        int bytes = 0;
        var random = new Random(seed);
        while (bytes < byteLength)
        {
            var piece = Palette[random.Next(Palette.Length)];
            int size = Encoding.UTF8.GetByteCount(piece);
            if (bytes + size > byteLength)
            {
                piece = "x";
                size = 1;
            }
            text.Append(piece);
            bytes += size;
        }
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>Arbitrary bytes, for ping payloads (which need not be text).</summary>
    public static byte[] Binary(int length, int seed = 1)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
