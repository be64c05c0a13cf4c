using System.Collections.Concurrent;

namespace ProcessHub.Tests.Client;

/// <summary>An HttpClient handler that sends for real and records each request's path and each response's status, to see retries happen.</summary>
internal sealed class RecordingHandler() : DelegatingHandler(new SocketsHttpHandler())
{
    public ConcurrentQueue<int> Statuses { get; } = new();

    public ConcurrentQueue<string> Paths { get; } = new();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Paths.Enqueue(request.RequestUri!.AbsolutePath);
        var response = await base.SendAsync(request, cancellationToken);
        Statuses.Enqueue((int)response.StatusCode);
        return response;
    }
}
