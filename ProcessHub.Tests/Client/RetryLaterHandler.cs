using System.Net;
using System.Net.Http.Headers;

namespace ProcessHub.Tests.Client;

/// <summary>
/// An HttpClient handler that answers every request itself with 503 and a long <c>Retry-After</c>, as a hub whose
/// store is away would: the producer then waits to retry. <see cref="Answered"/> completes at the first answer.
/// </summary>
internal sealed class RetryLaterHandler(TimeSpan retryAfter) : HttpMessageHandler
{
    private readonly TaskCompletionSource _answered = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Answered => _answered.Task;

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable)
        {
            Content = new StringContent("""{"error":{"code":"unavailable","message":"the store cannot write; try again"}}"""),
        };
        response.Headers.RetryAfter = new RetryConditionHeaderValue(retryAfter);
        _answered.TrySetResult();
        return Task.FromResult(response);
    }
}
