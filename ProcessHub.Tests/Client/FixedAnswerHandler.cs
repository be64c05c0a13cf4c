using System.Net;
using System.Text;

namespace ProcessHub.Tests.Client;

/// <summary>
/// An HttpClient handler that answers every request itself with one status and body, as a proxy in front of a hub can
/// (a 2xx with an HTML page, an empty body): what no real hub sends, so the part cannot be a real one.
/// </summary>
internal sealed class FixedAnswerHandler(HttpStatusCode status, string body, string mediaType) : HttpMessageHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        Task.FromResult(new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, mediaType) });
}
