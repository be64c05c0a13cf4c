using System.Net;
using System.Net.Http.Headers;
using System.Text;
using NUnit.Framework;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.ScaleOut;

/// <summary>
/// A hub that joins (or reloads from) a Redis holding many processes with full histories reads them in round trips of
/// a bounded number of events (docs/scale-out.md). It used to pipeline the histories of 256 processes at once: about
/// 85 MB of replies at the default history limit, which the client read for longer than its one-second timeout, so a
/// new hub beside 256 busy processes never started. Here Redis caps a client's pending replies at 4 MB
/// (<c>client-output-buffer-limit</c>), which turns "too much in one round trip" into a certain refusal instead of a
/// race with the timeout: 16 processes of about 500 KB of history each are 8 MB in one batch, and the bounded rounds
/// stay near 2 MB.
/// </summary>
[TestFixture]
[Category("process")]
public sealed class LargeHistoriesAtJoinTests
{
    private const int Processes = 16;
    private const int ReportsEach = 500;

    [Test]
    public async Task A_hub_joining_beside_processes_with_large_histories_loads_every_event_in_bounded_round_trips()
    {
        await using var redis = await RedisServer.StartAsync(appendOnly: false);
        var (first, firstEndPoint) = await HubCluster.StartBinaryAsync(redis, "--api-rate-limit", "1000000");
        await using var _ = first;
        string token = HubCluster.Token("alice");

        // About 1 KB a report: 500 of them make a history of about 500 KB per process.
        string detail = new('x', 900);
        using var http = new HttpClient { BaseAddress = new Uri($"http://{firstEndPoint}"), Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var ids = await Task.WhenAll(Enumerable.Range(0, Processes).Select(async _ =>
        {
            string id = await PostAsync(http, "/api/processes", $$"""{"process_type":"eval","total":{{ReportsEach}}}""", HttpStatusCode.Created);
            id = System.Text.Json.JsonDocument.Parse(id).RootElement.GetProperty("process_id").GetString()!;
            for (int k = 1; k <= ReportsEach; k++)
            {
                await PostAsync(http, $"/api/processes/{id}/progress", $$"""{"current":{{k}},"total":{{ReportsEach}},"detail":"{{detail}}"}""", HttpStatusCode.OK);
            }
            await PostAsync(http, $"/api/processes/{id}/complete", """{"result":{"score":1}}""", HttpStatusCode.OK);
            return id;
        }));

        await using (var admin = await redis.ConnectAsync())
        {
            await admin.GetServers()[0].ConfigSetAsync("client-output-buffer-limit", "normal 4mb 4mb 0");
        }
        var (second, secondEndPoint) = await HubCluster.StartBinaryAsync(redis, "--redis-start-wait", "5");
        await using var __ = second;

        foreach (string id in ids)
        {
            // The stream of an ended process is its whole history: the same ids, types and data on both hubs.
            using var there = await SseClient.GetAsync(firstEndPoint, $"/api/processes/{id}/events", token);
            using var here = await SseClient.GetAsync(secondEndPoint, $"/api/processes/{id}/events", token);
            Assert.That(here.Head.Status, Is.EqualTo(200), here.Head.ToString());
            Assert.That(await there.ReadBlockAsync(), Is.EqualTo("retry: 3000"));
            Assert.That(await here.ReadBlockAsync(), Is.EqualTo("retry: 3000"));
            var thereEvents = await there.ReadToTerminalAsync();
            var hereEvents = await here.ReadToTerminalAsync();
            Assert.That(hereEvents.Count(e => e.Event == "process_progress"), Is.EqualTo(ReportsEach), "every report of the history");
            Assert.That(hereEvents, Is.EqualTo(thereEvents), $"process {id}: the joining hub's history is the first hub's");
        }
    }

    private static async Task<string> PostAsync(HttpClient http, string path, string body, HttpStatusCode expected)
    {
        using var response = await http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        string text = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(expected), $"{path}: {text}");
        return text;
    }
}
