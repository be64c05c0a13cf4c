namespace ProcessHub.Http;

/// <summary>
/// HTTP responses sent, by status code, for <c>/metrics</c> (<c>processhub_http_responses_total{status}</c>). A slot per
/// code from 100 to 599, counted with one interlocked add: the ingest path pays no label look-up and no allocation,
/// and the labels are made only when scraped.
/// </summary>
internal sealed class HttpResponseCounts
{
    private const int First = 100;
    private readonly long[] _counts = new long[600 - First];

    public void Count(int status)
    {
        if (status is >= First and < 600)
        {
            Interlocked.Increment(ref _counts[status - First]);
        }
    }

    /// <summary>Counts a response written whole: its status is the three digits after "HTTP/1.1 ".</summary>
    public void CountWritten(ReadOnlySpan<byte> response)
    {
        if (response.Length >= 12 && IsDigit(response[9]) && IsDigit(response[10]) && IsDigit(response[11]))
        {
            Count((response[9] - '0') * 100 + (response[10] - '0') * 10 + (response[11] - '0'));
        }
    }

    /// <summary>The codes sent at least once, with how many times.</summary>
    public IEnumerable<(int Status, long Count)> Sent()
    {
        for (int i = 0; i < _counts.Length; i++)
        {
            long count = Interlocked.Read(ref _counts[i]);
            if (count > 0)
            {
                yield return (i + First, count);
            }
        }
    }

    private static bool IsDigit(byte b) => b is >= (byte)'0' and <= (byte)'9';
}
