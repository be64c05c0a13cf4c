using System.Net.Http.Json;
using System.Text.Json;

namespace ProcessHub.Cli;

/// <summary>
/// <c>watch</c>'s token in dev mode: <c>GET /api/dev-token</c> before every connection attempt, since a restarted dev
/// hub signs with a new secret and the old token no longer works. A hub that cannot be reached throws
/// <see cref="HttpRequestException"/>, which the watcher reports as "cannot reach" and retries; a hub that answers
/// without a token is not in dev mode (<see cref="DevTokenUnavailableException"/>).
/// </summary>
internal sealed class DevTokenSource : IDisposable
{
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };
    private readonly Uri _endpoint;

    public DevTokenSource(Uri webSocketUrl) =>
        _endpoint = new UriBuilder(webSocketUrl) { Scheme = webSocketUrl.Scheme == "wss" ? "https" : "http", Path = "/api/dev-token", Query = "" }.Uri;

    public async ValueTask<string> FetchAsync(CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync(_endpoint, cancellationToken).ConfigureAwait(false);
        if ((int)response.StatusCode >= 500)
        {
            throw new HttpRequestException($"{(int)response.StatusCode} from {_endpoint}", null, response.StatusCode);
        }
        if (!response.IsSuccessStatusCode)
        {
            throw new DevTokenUnavailableException(_endpoint, (int)response.StatusCode);
        }
        try
        {
            var body = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken).ConfigureAwait(false);
            if (body.ValueKind == JsonValueKind.Object && body.TryGetProperty("token", out var token) && token.GetString() is { Length: > 0 } text)
            {
                return text;
            }
        }
        catch (JsonException)
        {
            // Not the hub's answer: the same as no token.
        }
        throw new DevTokenUnavailableException(_endpoint, (int)response.StatusCode);
    }

    public void Dispose() => _http.Dispose();
}
