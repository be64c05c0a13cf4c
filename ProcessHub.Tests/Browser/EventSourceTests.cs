using System.Text.Json;
using Microsoft.Playwright;
using NUnit.Framework;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.Browser;

/// <summary>
/// The browser's own <c>EventSource</c> following a process over SSE with <c>?token=</c> (it can send no header), and
/// its automatic reconnect with <c>Last-Event-ID</c> after the network drops mid-stream: every event once, in order.
/// </summary>
[TestFixture]
[Category("browser")]
[NonParallelizable]
public sealed class EventSourceTests : BrowserAndHubTests
{
    private const string FollowScript = """
        ([id, token]) => {
          window.seen = []; window.opens = 0; window.errors = 0;
          const source = new EventSource(`/api/processes/${id}/events?token=${encodeURIComponent(token)}`);
          window.source = source;
          source.onopen = () => window.opens++;
          source.onerror = () => window.errors++;
          for (const type of ['process_started', 'process_progress', 'process_completed', 'process_failed', 'process_cancelled']) {
            source.addEventListener(type, (event) => {
              window.seen.push({ id: event.lastEventId, type: event.type, seq: JSON.parse(event.data).seq });
              // The stream ends after the terminal event; closing here keeps the browser from reconnecting to it.
              if (!type.endsWith('started') && !type.endsWith('progress')) source.close();
            });
          }
        }
        """;

    [Test]
    public async Task EventSource_follows_a_process_with_a_query_token_and_resumes_with_Last_Event_ID_after_a_cut()
    {
        await using var proxy = CuttableProxy.Start(Host.EndPoint);
        var context = await Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync(proxy.BaseUrl + "healthz"); // any document of the hub's origin will do
        var run = Host.App.Producer.Start("export", "dev", total: 4);
        run.ReportProgress(1, 4);

        await page.EvaluateAsync(FollowScript, new[] { run.ProcessId, Host.Token("dev") });
        await page.WaitForFunctionAsync("() => window.seen.length === 2"); // started (1), progress (2)

        await proxy.CutAllAsync();
        await page.WaitForFunctionAsync("() => window.errors >= 1"); // the browser saw the drop; it reconnects by itself
        run.ReportProgress(2, 4);
        run.ReportProgress(3, 4);
        run.Complete(new { rows = 3 });
        await page.WaitForFunctionAsync("() => window.seen.some(e => e.type === 'process_completed')");

        var seen = JsonDocument.Parse(await page.EvaluateAsync<string>("() => JSON.stringify(window.seen)")).RootElement.EnumerateArray().ToList();
        Assert.That(seen.Select(e => e.GetProperty("id").GetString()), Is.EqualTo(new[] { "1", "2", "3", "4", "5" }), "every event once, in order");
        Assert.That(seen.Select(e => e.GetProperty("seq").GetInt64()), Is.EqualTo(new long[] { 1, 2, 3, 4, 5 }));
        Assert.That(seen.Select(e => e.GetProperty("type").GetString()), Is.EqualTo(new[] { "process_started", "process_progress", "process_progress", "process_progress", "process_completed" }));
        Assert.That(await page.EvaluateAsync<int>("() => window.opens"), Is.EqualTo(2), "one stream, then one reconnect");

        var requests = proxy.SentByBrowser.Where(t => t.Contains($"/api/processes/{run.ProcessId}/events?token=", StringComparison.Ordinal)).ToList();
        Assert.That(requests, Has.Count.EqualTo(2), string.Join("\n---\n", proxy.SentByBrowser));
        Assert.That(requests[0], Does.Not.Contain("Last-Event-ID").IgnoreCase);
        Assert.That(requests[1], Does.Contain("Last-Event-ID: 2").IgnoreCase, "the browser resumed after the last id it saw");
        Assert.That(requests, Has.None.Contains("Authorization:").IgnoreCase, "EventSource sends no header of its own");
        await context.CloseAsync();
    }

    [Test]
    public async Task EventSource_with_a_bad_query_token_gets_401_and_stops()
    {
        var context = await Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync(Host.BaseUrl + "healthz");
        var run = Host.App.Producer.Start("export", "dev", total: 1);

        await page.EvaluateAsync(FollowScript, new[] { run.ProcessId, "not-a-token" });
        // A non-200 answer fails the EventSource for good (readyState CLOSED = 2): no reconnect loop.
        await page.WaitForFunctionAsync("() => window.errors >= 1 && window.source.readyState === 2");
        var response = await page.APIRequest.GetAsync($"{Host.BaseUrl}api/processes/{run.ProcessId}/events?token=not-a-token");

        Assert.That(response.Status, Is.EqualTo(401));
        Assert.That(await page.EvaluateAsync<int>("() => window.seen.length"), Is.Zero);
        await context.CloseAsync();
    }

    [Test]
    public async Task EventSource_reads_a_producers_indented_JSON_as_one_event_whose_data_parses()
    {
        // Python's json.dumps(indent=2), a file sent with curl -d @file: line breaks (and a blank line) in what the hub
        // keeps verbatim. Each used to end the data field (and the blank line the event) of an SSE event.
        string token = Host.Token("dev");
        var created = await RawHttpClient.PostAsync(Host.EndPoint, "/api/processes", token,
            "{\n  \"process_type\": \"export\",\n  \"total\": 2,\n  \"params\": {\r\n    \"file\": \"a.csv\"\r\n\r\n  }\n}");
        Assert.That(created.Status, Is.EqualTo(201), created.ToString());
        string id = created.Json.GetProperty("process_id").GetString()!;
        var context = await Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync(Host.BaseUrl + "healthz");
        await page.EvaluateAsync("""
            ([id, token]) => {
              window.data = []; window.broken = 0;
              const source = new EventSource(`/api/processes/${id}/events?token=${encodeURIComponent(token)}`);
              source.onmessage = () => window.broken++; // an event cut short by a blank line has no event: line
              for (const type of ['process_started', 'process_progress', 'process_completed']) {
                source.addEventListener(type, (event) => {
                  try { window.data.push(JSON.parse(event.data)); } catch { window.broken++; }
                  if (type === 'process_completed') source.close();
                });
              }
            }
            """, new[] { id, token });

        var report = await RawHttpClient.PostAsync(Host.EndPoint, $"/api/processes/{id}/progress", token, "{\r\n\"current\": 1,\n\n\"total\": 2\r}");
        Assert.That(report.Status, Is.EqualTo(200), report.ToString());
        await RawHttpClient.PostAsync(Host.EndPoint, $"/api/processes/{id}/complete", token, "{\"result\":\n{\"rows\": 2}}");
        await page.WaitForFunctionAsync("() => window.data.some(d => d.type === 'process_completed')");

        var data = JsonDocument.Parse(await page.EvaluateAsync<string>("() => JSON.stringify(window.data)")).RootElement.EnumerateArray().ToList();
        Assert.That(await page.EvaluateAsync<int>("() => window.broken"), Is.Zero, "no event was cut short or failed to parse");
        Assert.That(data.Select(d => d.GetProperty("type").GetString()), Is.EqualTo(new[] { "process_started", "process_progress", "process_completed" }));
        Assert.That(data[0].GetProperty("params").GetProperty("file").GetString(), Is.EqualTo("a.csv"));
        Assert.That(data[1].GetProperty("progress").GetProperty("current").GetInt32(), Is.EqualTo(1));
        Assert.That(data[2].GetProperty("result").GetProperty("rows").GetInt32(), Is.EqualTo(2));
        await context.CloseAsync();
    }
}
