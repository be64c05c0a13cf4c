namespace ProcessHub.Client;

/// <summary>How a <see cref="HubProducer"/> reaches the hub's HTTP producer API, and how it retries.</summary>
public sealed class HubProducerOptions
{
    /// <summary>The hub's base URL, e.g. <c>http://127.0.0.1:8501</c>, or with the path of a proxy in front, e.g. <c>https://example.com/processhub/</c>.</summary>
    public required Uri HubUrl { get; init; }

    /// <summary>
    /// The JWT to send (its <c>sub</c> owns what it starts; role <c>producer</c> may start for others). Give this or
    /// <see cref="TokenProvider"/>. White space around it (the newline of a file read whole) is trimmed; an empty one,
    /// or one of white space only, is refused by the producer's constructor.
    /// </summary>
    public string? Token { get; init; }

    /// <summary>
    /// Asked for a token before every request, so a long run can renew it; white space around what it returns is
    /// trimmed. A request answered 401 is sent once more with the token it gives then, and a provider that throws
    /// <see cref="HttpRequestException"/> for a connection that could not be made (one that fetches from a hub that is
    /// restarting) is retried like the request itself, and so is one for a host name that did not resolve once the
    /// hub has answered this producer.
    /// </summary>
    public Func<CancellationToken, ValueTask<string>>? TokenProvider { get; init; }

    /// <summary>An HttpClient to send with (not disposed by the producer); by default the producer makes its own.</summary>
    public HttpClient? HttpClient { get; init; }

    /// <summary>
    /// How often a request answered with 502 or 503, or with 429 and a <c>Retry-After</c>, is retried (after its
    /// <c>Retry-After</c>, or 0.5 s doubled per retry), and a request whose connection could not be made (or whose host
    /// name did not resolve, once the hub has answered this producer), or a start that got no answer. A 429 without <c>Retry-After</c> (<c>too_many_processes</c>) is not retried. Default 5; 0
    /// never retries; a negative number is refused by the producer's constructor.
    /// </summary>
    public int MaxRetries { get; init; } = 5;

    /// <summary>
    /// The longest wait before a retry, whatever <c>Retry-After</c> says. Default 30 s. From zero (retry at once) to
    /// 49 days (the longest wait .NET's timers take); the producer's constructor refuses anything else, a negative
    /// value and <see cref="Timeout.InfiniteTimeSpan"/> too: there is no "no cap", since a wait for ever would hold
    /// the call for ever.
    /// </summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(30);
}
