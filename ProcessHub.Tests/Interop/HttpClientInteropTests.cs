using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using NUnit.Framework;
using ProcessHub.Server;
using ProcessHub.Tests.Api;

namespace ProcessHub.Tests.Interop;

/// <summary>
/// .NET's own HttpClient, the way a .NET worker reports progress: <c>PostAsJsonAsync</c> streams its JSON with
/// <c>Transfer-Encoding: chunked</c> (no Content-Length), and with <c>ExpectContinue</c> it waits for 100 Continue
/// before the body. Both must just work; a refused request must not wait for a body.
/// </summary>
[TestFixture]
[Category("socket")]
internal sealed class HttpClientInteropTests
{
    private HubTestHost _server = null!;

    [OneTimeSetUp]
    public void Start() => _server = HubTestHost.Start();

    [OneTimeTearDown]
    public async Task Stop() => await _server.DisposeAsync();

    [TestCase(false, TestName = "PostAsJsonAsync_creates_a_process_and_reports_progress")]
    [TestCase(true, TestName = "PostAsJsonAsync_with_Expect_100_continue_creates_a_process_and_reports_progress")]
    public async Task A_worker_on_HttpClient_drives_a_process(bool expectContinue)
    {
        using var http = Client(_server.Token("dotnet-worker"), expectContinue);
        using var timeout = new CancellationTokenSource(TestTimeouts.Receive);

        using var created = await http.PostAsJsonAsync("/api/processes", new { process_type = "export", total = 2 }, timeout.Token);
        var body = await created.Content.ReadFromJsonAsync<Dictionary<string, object>>(timeout.Token);
        string id = body!["process_id"].ToString()!;
        using var progress = await http.PostAsJsonAsync($"/api/processes/{id}/progress", new { current = 1, total = 2, message = "half way" }, timeout.Token);
        using var complete = await http.PostAsJsonAsync($"/api/processes/{id}/complete", new { result = new { rows = 42 } }, timeout.Token);

        Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(created.RequestMessage!.Content!.Headers.ContentLength, Is.Null, "the body went chunked");
        Assert.That(progress.StatusCode, Is.EqualTo(HttpStatusCode.OK), await progress.Content.ReadAsStringAsync(timeout.Token));
        Assert.That(complete.StatusCode, Is.EqualTo(HttpStatusCode.OK), await complete.Content.ReadAsStringAsync(timeout.Token));
        var snapshot = await _server.GetProcessAsync(id, _server.Token("dotnet-worker"));
        Assert.That(snapshot.GetProperty("status").GetString(), Is.EqualTo("completed"), snapshot.ToString());
    }

    [Test]
    public async Task PostAsJsonAsync_with_Expect_100_continue_and_a_bad_token_gets_401()
    {
        using var http = Client("not-a-token", expectContinue: true);
        using var timeout = new CancellationTokenSource(TestTimeouts.Receive);

        using var response = await http.PostAsJsonAsync("/api/processes", new { process_type = "export" }, timeout.Token);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task A_chunked_body_over_the_limit_is_413()
    {
        await using var small = HubTestHost.Start(server: new ServerOptions { MaxRequestBodyBytes = 1024 });
        using var http = new HttpClient { BaseAddress = new Uri($"http://{small.EndPoint}") };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", small.Token("big"));
        using var timeout = new CancellationTokenSource(TestTimeouts.Receive);

        using var response = await http.PostAsJsonAsync("/api/processes", new { process_type = "export", @params = new { pad = new string('p', 4096) } }, timeout.Token);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
    }

    private HttpClient Client(string token, bool expectContinue)
    {
        var http = new HttpClient { BaseAddress = new Uri($"http://{_server.EndPoint}") };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        http.DefaultRequestHeaders.ExpectContinue = expectContinue;
        return http;
    }
}
