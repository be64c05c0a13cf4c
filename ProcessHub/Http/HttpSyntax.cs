using System.Buffers;

namespace ProcessHub.Http;

/// <summary>The byte classes of RFC 9110 5.5 and 5.6 that the head parser and the chunked decoder both check.</summary>
internal static class HttpSyntax
{
    // RFC 9110 5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
    public static readonly SearchValues<byte> TokenChars =
        SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"u8);

    // Field values: visible ASCII, space, tab and obs-text (0x80-0xFF); no other control bytes.
    public static readonly SearchValues<byte> FieldValueChars = SearchValues.Create(CreateFieldValueChars());

    public static ReadOnlySpan<byte> Whitespace => " \t"u8;

    /// <summary>
    /// The methods of RFC 9110 9.3 and PATCH (RFC 5789). A path that does not take one of them is 405 with Allow (the
    /// client learns what the path takes); any other method is 501, as RFC 9110 9.1 asks for a method the server does
    /// not recognize.
    /// </summary>
    public static bool IsStandardMethod(string method) =>
        method is "GET" or "HEAD" or "POST" or "PUT" or "DELETE" or "CONNECT" or "OPTIONS" or "TRACE" or "PATCH";

    public static byte[] CreateRange(int first, int last)
    {
        var bytes = new byte[last - first + 1];
        for (int i = 0; i < bytes.Length; i++)
        {
            bytes[i] = (byte)(first + i);
        }
        return bytes;
    }

    private static byte[] CreateFieldValueChars()
    {
        var bytes = new List<byte> { (byte)' ', (byte)'\t' };
        bytes.AddRange(CreateRange(0x21, 0x7E));
        bytes.AddRange(CreateRange(0x80, 0xFF));
        return [.. bytes];
    }
}
