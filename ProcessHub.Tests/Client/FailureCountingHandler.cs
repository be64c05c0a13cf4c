namespace ProcessHub.Tests.Client;

/// <summary>An HttpClient handler that sends for real and counts the attempts that got no answer (a refused connection, say).</summary>
internal sealed class FailureCountingHandler() : DelegatingHandler(new SocketsHttpHandler())
{
    private int _failures;

    public int Failures => Volatile.Read(ref _failures);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        try
        {
            return await base.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException)
        {
            Interlocked.Increment(ref _failures);
            throw;
        }
    }
}
