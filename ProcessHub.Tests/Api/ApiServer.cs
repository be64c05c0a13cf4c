using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using NUnit.Framework;
using ProcessHub.Auth;
using ProcessHub.Hub;
using ProcessHub.Server;

namespace ProcessHub.Tests.Api;

/// <summary>A real hub on 127.0.0.1 port 0 with a known secret, and the calls the API tests make against it.</summary>
internal sealed class ApiServer : IAsyncDisposable
{
    public const string Secret = "api-tests: a shared secret of well over 32 bytes";

    private ApiServer(HubApplication app) => App = app;

    public HubApplication App { get; }

    public IPEndPoint EndPoint => App.LocalEndPoint;

    public static ApiServer Start(Func<ServerOptions, ServerOptions>? server = null, Func<HubOptions, HubOptions>? hub = null)
    {
        var serverOptions = new ServerOptions { Host = "127.0.0.1", Port = 0, PingInterval = TimeSpan.Zero };
        var hubOptions = new HubOptions { SseKeepAlive = TimeSpan.FromSeconds(1) };
        var app = new HubApplication(
            server?.Invoke(serverOptions) ?? serverOptions,
            hub?.Invoke(hubOptions) ?? hubOptions,
            new JwtSettings { Secret = Secret, ClockSkew = TimeSpan.Zero },
            NullLoggerFactory.Instance);
        app.Start();
        return new ApiServer(app);
    }

    public string Token(string subject, params string[] roles) => App.Tokens.Issue(subject, roles, TimeSpan.FromMinutes(10));

    public Task<HttpReply> GetAsync(string path, string? token, params (string Name, string Value)[] headers) =>
        RawHttp.GetAsync(EndPoint, path, token, headers);

    public Task<HttpReply> PostAsync(string path, string? token, string? body, params (string Name, string Value)[] headers) =>
        RawHttp.PostAsync(EndPoint, path, token, body, headers);

    public Task<HttpReply> PostJsonAsync(string path, string? token, object body) =>
        RawHttp.PostAsync(EndPoint, path, token, JsonSerializer.Serialize(body));

    /// <summary>Creates a process through the API and returns its id (asserting the 201).</summary>
    public async Task<string> CreateAsync(string token, object? body = null)
    {
        var reply = await PostJsonAsync("/api/processes", token, body ?? new { process_type = "export", total = 3 });
        Assert.That(reply.Status, Is.EqualTo(201), reply.ToString());
        return reply.Json.GetProperty("process_id").GetString()!;
    }

    public async Task<JsonElement> GetProcessAsync(string id, string token)
    {
        var reply = await GetAsync($"/api/processes/{id}", token);
        Assert.That(reply.Status, Is.EqualTo(200), reply.ToString());
        return reply.Json;
    }

    public async ValueTask DisposeAsync() => await App.DisposeAsync();
}
