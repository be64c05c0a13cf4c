using Microsoft.Extensions.Logging;
using NUnit.Framework;
using ProcessHub.Auth;
using ProcessHub.Hub;
using ProcessHub.Server;

namespace ProcessHub.Tests.Api;

/// <summary>
/// <c>GET /api/processes/{id}/events?token=</c>: the token in the query, as the browser's <c>EventSource</c> must send
/// it, checked before the header exactly as on <c>/ws</c>; an empty one hides nothing; no other route takes one; and it
/// never reaches a log line.
/// </summary>
[TestFixture]
[Category("socket")]
internal sealed class SseQueryTokenTests : ApiFixture
{
    [Test]
    public async Task A_query_token_opens_the_stream_without_any_header()
    {
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token, new { process_type = "export", total = 2 });

        using var sse = await SseClient.GetAsync(Server.EndPoint, $"/api/processes/{id}/events?token={Uri.EscapeDataString(token)}", token: null);

        Assert.That(sse.Head.Status, Is.EqualTo(200), sse.Head.Head);
        Assert.That(await sse.ReadBlockAsync(), Is.EqualTo("retry: 3000"));
        Assert.That((await sse.ReadEventAsync()).Event, Is.EqualTo("process_started"));
        await Server.PostAsync($"/api/processes/{id}/complete", token, null);
        Assert.That((await sse.ReadToTerminalAsync())[^1].Event, Is.EqualTo("process_completed"));
        await sse.AssertClosedAsync();
    }

    [Test]
    public async Task A_query_token_with_Last_Event_ID_resumes_after_that_seq()
    {
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token, new { process_type = "export", total = 3 });
        await Server.PostJsonAsync($"/api/processes/{id}/progress", token, new { current = 1, total = 3 });
        await Server.PostJsonAsync($"/api/processes/{id}/progress", token, new { current = 2, total = 3 });

        using var sse = await SseClient.GetAsync(Server.EndPoint, $"/api/processes/{id}/events?token={token}", token: null, lastEventId: "2");

        Assert.That(await sse.ReadBlockAsync(), Is.EqualTo("retry: 3000"));
        Assert.That((await sse.ReadEventAsync()).Id, Is.EqualTo(3));
    }

    [Test]
    public async Task The_query_token_is_checked_before_the_header_like_on_ws()
    {
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token);

        var badQuery = await Server.GetAsync($"/api/processes/{id}/events?token=bad.{token}", token);
        using var goodQuery = await SseClient.GetAsync(Server.EndPoint, $"/api/processes/{id}/events?token={token}", "bad." + token);

        Assert.That(badQuery.Status, Is.EqualTo(401), "a bad query token is not rescued by a good header: " + badQuery);
        Assert.That(badQuery.ErrorMessage, Is.EqualTo("invalid token"));
        Assert.That(badQuery.Header("WWW-Authenticate"), Is.EqualTo("Bearer"));
        Assert.That(goodQuery.Head.Status, Is.EqualTo(200), goodQuery.Head.Head);
    }

    [TestCase("?token=")]
    [TestCase("?token")]
    [TestCase("?other=1&token=&x=2")]
    [TestCase("?token=%20%20")]
    public async Task An_empty_query_token_does_not_hide_a_valid_header(string query)
    {
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token);

        using var withHeader = await SseClient.GetAsync(Server.EndPoint, $"/api/processes/{id}/events{query}", token);
        var withNothing = await Server.GetAsync($"/api/processes/{id}/events{query}", token: null);

        Assert.That(withHeader.Head.Status, Is.EqualTo(200), withHeader.Head.Head);
        Assert.That(withNothing.Status, Is.EqualTo(401), withNothing.ToString());
        Assert.That(withNothing.ErrorMessage, Is.EqualTo("missing token (Authorization: Bearer or ?token=)"));
    }

    [Test]
    public async Task An_empty_query_token_does_not_hide_a_valid_header_on_ws_either()
    {
        var (_, token) = NewUser();
        using var socket = new System.Net.WebSockets.ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", "Bearer " + token);
        using var deadline = new CancellationTokenSource(TestTimeouts.Receive);
        await socket.ConnectAsync(new Uri($"ws://{Server.EndPoint}/ws?token="), deadline.Token);

        var buffer = new byte[4096];
        var first = await socket.ReceiveAsync(buffer, deadline.Token);

        Assert.That(first.MessageType, Is.EqualTo(System.Net.WebSockets.WebSocketMessageType.Text), $"{socket.CloseStatus} {socket.CloseStatusDescription}");
        Assert.That(System.Text.Encoding.UTF8.GetString(buffer, 0, first.Count), Does.StartWith("{\"type\":\"process_list\""));
        socket.Abort();
    }

    [TestCase("/api/processes")]
    [TestCase("/api/processes/{id}")]
    public async Task Other_routes_do_not_take_a_query_token(string route)
    {
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token);

        var reply = await Server.GetAsync(route.Replace("{id}", id, StringComparison.Ordinal) + "?token=" + token, token: null);
        var cancel = await Server.PostAsync($"/api/processes/{id}/cancel?token={token}", token: null, body: null);

        Assert.That(reply.Status, Is.EqualTo(401), reply.ToString());
        Assert.That(reply.ErrorMessage, Is.EqualTo("missing bearer token"));
        Assert.That(cancel.Status, Is.EqualTo(401), cancel.ToString());
        Assert.That((await Server.GetProcessAsync(id, token)).Str("status"), Is.EqualTo("running"));
    }

    [Test]
    public async Task A_query_token_never_reaches_a_log_line()
    {
        await using var hub = LoggedHub.Start(LogLevel.Trace);
        var (app, logs) = (hub.App, hub.Logs);
        string token = app.Tokens.Issue("carol", [], TimeSpan.FromMinutes(5));
        var run = app.Producer.Start("export", "carol", total: 1);

        using (var sse = await SseClient.GetAsync(app.LocalEndPoint, $"/api/processes/{run.ProcessId}/events?token={token}", token: null))
        {
            Assert.That(await sse.ReadBlockAsync(), Is.EqualTo("retry: 3000"));
            run.Complete();
            await sse.ReadToTerminalAsync();
        }
        var refused = await RawHttpClient.GetAsync(app.LocalEndPoint, $"/api/processes/{run.ProcessId}/events?token=x{token}");
        var (socket, _) = await RawWebSocketClient.OpenWithListAsync(app.LocalEndPoint, token);
        await socket.DisposeAsync();
        await app.StopAsync();

        Assert.That(refused.Status, Is.EqualTo(401));
        Assert.That(logs.Lines, Is.Not.Empty, "the hub logged something (its WebSocket lines), so the search below can find a token");
        Assert.That(logs.Lines.Where(l => l.Contains(token, StringComparison.Ordinal) || l.Contains("token=", StringComparison.Ordinal)), Is.Empty);
    }
}
