using System.Collections.Concurrent;
using System.Net;

namespace ProcessHub.Tests.Client;

/// <summary>
/// An HttpClient handler that sends every request to the hub for real, but answers the first start
/// (<c>POST /api/processes</c>) with 503 and <c>Retry-After</c> in place of the hub's 201: the ambiguous 503 of a hub whose
/// Redis stored the start but answered too late (docs/protocol.md 11.4). Records each start's <c>Idempotency-Key</c>
/// and the id the lost answer carried. With <paramref name="dropConnection"/>, the answer is lost as to a dropped
/// connection instead: no answer at all, an <see cref="HttpRequestException"/> after the hub stored the start.
/// </summary>
internal sealed class LostAnswerHandler(bool dropConnection = false) : DelegatingHandler(new SocketsHttpHandler())
{
    private int _starts;

    /// <summary>The <c>Idempotency-Key</c> of each start attempt, in order (null when one had none).</summary>
    public ConcurrentQueue<string?> StartKeys { get; } = new();

    /// <summary>The body of the hub's answer that was replaced with the 503.</summary>
    public string? LostAnswer { get; private set; }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        bool start = request.Method == HttpMethod.Post && request.RequestUri!.AbsolutePath == "/api/processes";
        if (start)
        {
            StartKeys.Enqueue(request.Headers.TryGetValues("Idempotency-Key", out var keys) ? string.Join(",", keys) : null);
        }
        var response = await base.SendAsync(request, cancellationToken);
        if (!start || Interlocked.Increment(ref _starts) != 1)
        {
            return response;
        }
        LostAnswer = await response.Content.ReadAsStringAsync(cancellationToken);
        response.Dispose();
        if (dropConnection)
        {
            throw new HttpRequestException(HttpRequestError.ResponseEnded, "the connection was closed before the answer (dropped by the test)");
        }
        var unavailable = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable)
        {
            Content = new StringContent("""{"error":{"code":"unavailable","message":"the shared engine (Redis) did not answer"}}"""),
        };
        unavailable.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(1));
        return unavailable;
    }
}
