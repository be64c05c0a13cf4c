using System.Text;

namespace ProcessHub.Benchmarks.WebSockets;

/// <summary>
/// Builds a valid JSON message of an exact UTF-8 size: a client report with a text field filled from a
/// realistic log line. The multi-byte variant is about one fifth non-ASCII bytes, never split inside a code point.
/// </summary>
public static class JsonLikePayload
{
    private const string AsciiLine = "step 17/40: tokenized shard-0017 (2048 docs, 1.2 MB) in 312 ms; cache hit 87%, queue depth 3. ";
    private const string MultiByteLine = "étape 17/40 : shard-0017 tokenisé (2048 docs, 1,2 Mo) en 312 ms; Größe ok ✓, 東京 done 🚀. ";

    public static byte[] Create(int size, PayloadText text)
    {
        // The longest prefix that leaves room for at least a few bytes of text.
        string prefix = size >= 64 ? "{\"type\":\"report\",\"process\":\"nightly-eval\",\"text\":\"" : "{\"t\":\"";
        const string Suffix = "\"}";
        string line = text == PayloadText.Ascii ? AsciiLine : MultiByteLine;

        var builder = new StringBuilder(prefix);
        int bytes = Encoding.UTF8.GetByteCount(prefix) + Suffix.Length;
        var runes = line.EnumerateRunes().ToArray();
        for (int i = 0; ; i++)
        {
            var rune = runes[i % runes.Length];
            if (bytes + rune.Utf8SequenceLength > size)
            {
                break;
            }
            builder.Append(rune.ToString());
            bytes += rune.Utf8SequenceLength;
        }
        builder.Append(' ', size - bytes); // a code point that did not fit leaves a byte or three of padding
        builder.Append(Suffix);

        var payload = Encoding.UTF8.GetBytes(builder.ToString());
        if (payload.Length != size)
        {
            throw new InvalidOperationException($"payload is {payload.Length} bytes, wanted {size}");
        }
        return payload;
    }
}
