using System.Buffers;
using System.Net;
using System.Text;

namespace ProcessHub.Http;

/// <summary>
/// One parsed request head. The head's bytes are copied once into a pooled buffer and every field is a range
/// into it, so parsing allocates nothing; strings are made only on demand, off the hot path. An instance is
/// reused for every request on a keep-alive connection.
/// </summary>
internal sealed class HttpRequest
{
    private static readonly int HeaderCount = Enum.GetValues<KnownHeader>().Length;
    private readonly ByteRange[] _headers = new ByteRange[HeaderCount];
    private byte[] _head = [];
    private bool _expectsContinue;
    // Later lines of a list header (Connection, Upgrade, Accept, If-None-Match): RFC 9110 5.3 makes them one list
    // with the first. Rare, so made only when a request has one.
    private (KnownHeader Header, ByteRange Value)[]? _repeats;
    private int _repeatCount;

    public ByteRange MethodRange { get; private set; }
    public ByteRange PathRange { get; private set; }
    public ByteRange QueryRange { get; private set; }
    public bool IsHttp11 { get; private set; }
    public long ContentLength { get; private set; } = -1;

    /// <summary>The body comes in the chunked coding (RFC 9112 7.1): <c>Transfer-Encoding: chunked</c>, validated by the parser.</summary>
    public bool IsChunked { get; private set; }

    /// <summary>An HTTP/1.1 request with <c>Expect: 100-continue</c> and a body: the client may wait for 100 before sending it.</summary>
    public bool ExpectsContinue => _expectsContinue && HasBody;

    /// <summary>A body follows the head: chunked, or a Content-Length above zero.</summary>
    public bool HasBody => IsChunked || ContentLength > 0;

    /// <summary>Bytes the head took on the wire, including the blank line.</summary>
    public int HeadLength { get; private set; }

    public ReadOnlySpan<byte> Method => Slice(MethodRange);
    public ReadOnlySpan<byte> Path => Slice(PathRange);
    public ReadOnlySpan<byte> Query => Slice(QueryRange);

    public string MethodString => Encoding.ASCII.GetString(Method);
    public string PathString => Encoding.ASCII.GetString(Path);

    public bool IsGet => Method.SequenceEqual("GET"u8);
    public bool IsHead => Method.SequenceEqual("HEAD"u8);

    /// <summary>Set when the parser refused a head: it began with the method <c>HEAD</c>, so its refusal has no body.</summary>
    public bool RefusedHeadWasHead { get; internal set; }

    /// <summary>Set when the parser refused a head for <see cref="RequestRejection.RepeatedHeader"/>: the header that came twice.</summary>
    public KnownHeader RepeatedHeader { get; internal set; }

    /// <summary>HTTP/1.1 keeps the connection unless told "close"; HTTP/1.0 only when told "keep-alive".</summary>
    // RFC 9112 9.3: "close" ends the connection whatever else the list says, in either version; HTTP/1.0 persists
    // only when it asked to.
    public bool KeepAlive => !HeaderHasToken(KnownHeader.Connection, "close"u8) && (IsHttp11 || HeaderHasToken(KnownHeader.Connection, "keep-alive"u8));

    public bool HasHeader(KnownHeader header) => _headers[(int)header].Start >= 0;

    public ReadOnlySpan<byte> Header(KnownHeader header) => Slice(_headers[(int)header]);

    public string? HeaderString(KnownHeader header) =>
        HasHeader(header) ? Encoding.Latin1.GetString(Header(header)) : null;

    /// <summary>True when a comma-separated header, over all its lines, holds <paramref name="token"/> (ASCII case-insensitive).</summary>
    public bool HeaderHasToken(KnownHeader header, ReadOnlySpan<byte> token) => HeaderListHas(header, token, ignoreCase: true);

    /// <summary>
    /// True when a comma-separated header, over all its lines, holds <paramref name="item"/> byte for byte: entity tags
    /// are compared that way (RFC 9110 8.8.3.2), where tokens such as <c>upgrade</c> ignore case.
    /// </summary>
    public bool HeaderHasExactItem(KnownHeader header, ReadOnlySpan<byte> item) => HeaderListHas(header, item, ignoreCase: false);

    private bool HeaderListHas(KnownHeader header, ReadOnlySpan<byte> token, bool ignoreCase)
    {
        if (ListHasToken(Header(header), token, ignoreCase))
        {
            return true;
        }
        for (int i = 0; i < _repeatCount; i++)
        {
            if (_repeats![i].Header == header && ListHasToken(Slice(_repeats[i].Value), token, ignoreCase))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// True when <c>Accept</c> names <paramref name="mediaType"/> itself (compared case-insensitively, RFC 9110 8.3.1)
    /// with a weight above zero. Wildcards do not count: <c>*/*</c> (what fetch and curl send) takes the default answer.
    /// </summary>
    public bool Accepts(ReadOnlySpan<byte> mediaType)
    {
        if (AcceptListNames(Header(KnownHeader.Accept), mediaType))
        {
            return true;
        }
        for (int i = 0; i < _repeatCount; i++)
        {
            if (_repeats![i].Header == KnownHeader.Accept && AcceptListNames(Slice(_repeats[i].Value), mediaType))
            {
                return true;
            }
        }
        return false;
    }

    private static bool AcceptListNames(ReadOnlySpan<byte> value, ReadOnlySpan<byte> mediaType)
    {
        while (!value.IsEmpty)
        {
            int comma = value.IndexOf((byte)',');
            var item = comma < 0 ? value : value[..comma];
            int semicolon = item.IndexOf((byte)';');
            var type = (semicolon < 0 ? item : item[..semicolon]).Trim(" \t"u8);
            if (Ascii.EqualsIgnoreCase(type, mediaType) && (semicolon < 0 || !WeighsZero(item[(semicolon + 1)..])))
            {
                return true;
            }
            value = comma < 0 ? default : value[(comma + 1)..];
        }
        return false;
    }

    // ";q=0", ";q=0.0" ... among a media range's parameters: "not acceptable" (RFC 9110 12.4.2).
    private static bool WeighsZero(ReadOnlySpan<byte> parameters)
    {
        while (!parameters.IsEmpty)
        {
            int semicolon = parameters.IndexOf((byte)';');
            var parameter = (semicolon < 0 ? parameters : parameters[..semicolon]).Trim(" \t"u8);
            if (parameter.Length >= 2 && (parameter[0] | 0x20) == 'q' && parameter[1] == '=')
            {
                var weight = parameter[2..];
                return weight.Length > 0 && weight[0] == '0' && (weight.Length == 1 || (weight[1] == '.' && weight[2..].TrimStart("0"u8).IsEmpty));
            }
            parameters = semicolon < 0 ? default : parameters[(semicolon + 1)..];
        }
        return false;
    }

    private static bool ListHasToken(ReadOnlySpan<byte> value, ReadOnlySpan<byte> token, bool ignoreCase)
    {
        while (!value.IsEmpty)
        {
            int comma = value.IndexOf((byte)',');
            var item = (comma < 0 ? value : value[..comma]).Trim(" \t"u8);
            if (ignoreCase ? Ascii.EqualsIgnoreCase(item, token) : item.SequenceEqual(token))
            {
                return true;
            }
            value = comma < 0 ? default : value[(comma + 1)..];
        }
        return false;
    }

    /// <summary>A query parameter, percent-decoded; null when absent (the first, when given twice: see <see cref="QueryRepeats"/>).</summary>
    public string? QueryParameter(string name)
    {
        foreach (var (key, pair, equals) in QueryKeys())
        {
            if (string.Equals(key, name, StringComparison.Ordinal))
            {
                return equals < 0 ? string.Empty : WebUtility.UrlDecode(pair[(equals + 1)..]);
            }
        }
        return null;
    }

    /// <summary>
    /// The first of <paramref name="names"/> that the query gives more than once, or null. A parameter the hub reads
    /// (token, owner) given twice has two readings, the first or the last copy, as a repeated header or JSON member
    /// has; a proxy that checks one copy while the hub uses the other is how a check is got past. So it is refused.
    /// </summary>
    public string? QueryRepeats(params ReadOnlySpan<string> names)
    {
        var keys = QueryKeys().Select(k => k.Key).ToList();
        foreach (string name in names)
        {
            if (keys.Count(key => string.Equals(key, name, StringComparison.Ordinal)) > 1)
            {
                return name;
            }
        }
        return null;
    }

    // Each pair of the query with its key percent-decoded, the raw pair, and where its '=' is (-1: none). Both readers
    // above decode keys this one way, so they cannot disagree on what a key is.
    private IEnumerable<(string Key, string Pair, int EqualsAt)> QueryKeys()
    {
        if (QueryRange.IsEmpty)
        {
            yield break;
        }
        foreach (var pair in Encoding.ASCII.GetString(Query).Split('&'))
        {
            int equals = pair.IndexOf('=', StringComparison.Ordinal);
            yield return (WebUtility.UrlDecode(equals < 0 ? pair : pair[..equals]), pair, equals);
        }
    }

    internal Span<byte> PrepareHead(int length)
    {
        if (_head.Length < length)
        {
            ReturnBuffer();
            _head = ArrayPool<byte>.Shared.Rent(length);
        }
        HeadLength = length;
        Array.Fill(_headers, new ByteRange(-1, 0));
        _repeatCount = 0;
        ContentLength = -1;
        IsChunked = false;
        _expectsContinue = false;
        QueryRange = default;
        return _head.AsSpan(0, length);
    }

    internal void SetRequestLine(ByteRange method, ByteRange path, ByteRange query, bool isHttp11)
    {
        MethodRange = method;
        PathRange = path;
        QueryRange = query;
        IsHttp11 = isHttp11;
    }

    /// <summary>Sets a header's value; false, and the first line kept, when the header came before.</summary>
    internal bool SetHeader(KnownHeader header, ByteRange value)
    {
        ref var slot = ref _headers[(int)header];
        if (slot.Start >= 0)
        {
            return false;
        }
        slot = value;
        return true;
    }

    /// <summary>Keeps a later line of a list header; false past <see cref="MaxRepeatedLines"/> in one request.</summary>
    internal bool AddRepeat(KnownHeader header, ByteRange value)
    {
        _repeats ??= new (KnownHeader, ByteRange)[MaxRepeatedLines];
        if (_repeatCount == _repeats.Length)
        {
            return false;
        }
        _repeats[_repeatCount++] = (header, value);
        return true;
    }

    internal const int MaxRepeatedLines = 8;

    internal void SetContentLength(long length) => ContentLength = length;

    internal void SetBodyFraming(bool chunked, bool expectsContinue)
    {
        IsChunked = chunked;
        _expectsContinue = expectsContinue;
    }

    /// <summary>Gives the head buffer back between requests so an idle keep-alive connection holds none.</summary>
    public void ReturnBuffer()
    {
        if (_head.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_head);
            _head = [];
        }
    }

    private ReadOnlySpan<byte> Slice(ByteRange range) => range.Start < 0 ? default : _head.AsSpan(range.Start, range.Length);
}
