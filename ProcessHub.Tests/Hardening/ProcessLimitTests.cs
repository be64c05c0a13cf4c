using NUnit.Framework;
using ProcessHub.Client;
using ProcessHub.Hub;
using ProcessHub.Tests.Client;

namespace ProcessHub.Tests.Hardening;

/// <summary>
/// Issue 13, item 2: one token could create processes without bound (20,000 of them held 316 MB). An owner may now
/// have at most <c>--max-processes-per-user</c> running processes (429 past it, docs/protocol.md section 1.4.1) and
/// keeps at most as many ended ones (the oldest are forgotten first, section 5.7).
/// </summary>
[TestFixture]
[Category("socket")]
public sealed class ProcessLimitTests
{
    [Test]
    public async Task A_start_past_the_running_limit_is_refused_with_429_and_allowed_again_once_one_ends()
    {
        await using var host = HubTestHost.Start(hub: new HubOptions { MaxProcessesPerUser = 3 });
        var endPoint = host.App.LocalEndPoint;
        string alice = host.Token("alice");
        var ids = new List<string>();
        for (int i = 0; i < 3; i++)
        {
            var created = await RawHttpClient.PostAsync(endPoint, "/api/processes", alice, """{"process_type":"eval"}""");
            Assert.That(created.Status, Is.EqualTo(201), created.ToString());
            ids.Add(created.Json.GetProperty("process_id").GetString()!);
        }

        var refused = await RawHttpClient.PostAsync(endPoint, "/api/processes", alice, """{"process_type":"eval"}""");
        Assert.That(refused.Status, Is.EqualTo(429), refused.ToString());
        Assert.That(refused.ErrorCode, Is.EqualTo("too_many_processes"));
        Assert.That(refused.ErrorMessage, Does.Contain("3 running processes").And.Contain("--max-processes-per-user"));
        var benchmark = await RawHttpClient.PostAsync(endPoint, "/api/benchmark", alice, """{"models":["m"],"contexts":["1K"]}""");
        Assert.That(benchmark.Status, Is.EqualTo(429), "the benchmark runner counts too: " + benchmark);
        Assert.Throws<ProcessLimitException>(() => host.App.Producer.Start("eval", "alice"), "and the in-process API");
        Assert.That(host.App.Registry.Count, Is.EqualTo(3), "nothing was started by the refusals");

        var bob = await RawHttpClient.PostAsync(endPoint, "/api/processes", host.Token("bob"), """{"process_type":"eval"}""");
        Assert.That(bob.Status, Is.EqualTo(201), "the limit is per owner");

        var failed = await RawHttpClient.PostAsync(endPoint, $"/api/processes/{ids[0]}/fail", alice, """{"error":{"message":"gone"}}""");
        Assert.That(failed.Status, Is.EqualTo(200), failed.ToString());
        var again = await RawHttpClient.PostAsync(endPoint, "/api/processes", alice, """{"process_type":"eval"}""");
        Assert.That(again.Status, Is.EqualTo(201), "an ended process frees its place: " + again);
        var cancelled = await RawHttpClient.PostAsync(endPoint, $"/api/processes/{ids[1]}/cancel", alice, null);
        Assert.That(cancelled.Status, Is.EqualTo(200), cancelled.ToString());
        Assert.That(host.App.Producer.Start("eval", "alice").ProcessId, Is.Not.Empty, "a cancel frees one too");
    }

    [Test]
    public async Task A_producer_starting_for_an_owner_counts_against_that_owner()
    {
        await using var host = HubTestHost.Start(hub: new HubOptions { MaxProcessesPerUser = 1 });
        string worker = host.App.Tokens.Issue("worker", ["producer"], TimeSpan.FromMinutes(5));
        // A worker as users write it (the client library, default retries), its responses recorded.
        var handler = new RecordingHandler();
        using var http = new HttpClient(handler);
        using var producer = new HubProducer(new HubProducerOptions { HubUrl = new Uri($"http://{host.App.LocalEndPoint}"), Token = worker, HttpClient = http });

        using var first = await producer.StartAsync("eval", owner: "alice");
        var second = Assert.ThrowsAsync<HubRequestException>(async () => await producer.StartAsync("eval", owner: "alice"));
        using var forBob = await producer.StartAsync("eval", owner: "bob");

        Assert.That((second!.StatusCode, second.Code), Is.EqualTo(((int?)429, "too_many_processes")));
        Assert.That(handler.Statuses, Is.EqualTo(new[] { 201, 429, 201 }), "a refusal that waiting does not cure is not retried");
        Assert.That(host.App.Registry.Find(forBob.ProcessId)!.Value.Owner, Is.EqualTo("bob"));
    }

    [Test]
    public async Task The_default_is_1000_running_processes_per_owner()
    {
        await using var host = HubTestHost.Start();
        Assert.That(host.App.HubOptions.MaxProcessesPerUser, Is.EqualTo(1000));
        for (int i = 0; i < 1000; i++)
        {
            host.App.Producer.Start("eval", "alice");
        }

        Assert.Throws<ProcessLimitException>(() => host.App.Producer.Start("eval", "alice"));
        var refused = await RawHttpClient.PostAsync(host.App.LocalEndPoint, "/api/processes", host.Token("alice"), """{"process_type":"eval"}""");
        Assert.That(refused.Status, Is.EqualTo(429), refused.ToString());
    }

    [Test]
    public async Task Ended_processes_past_the_limit_are_forgotten_oldest_first()
    {
        await using var host = HubTestHost.Start(hub: new HubOptions { MaxProcessesPerUser = 3 });
        var runs = new List<ProcessHandle>();
        for (int i = 0; i < 5; i++)
        {
            var run = host.App.Producer.Start("eval", "alice");
            run.Complete();
            runs.Add(run);
        }
        var stillRunning = host.App.Producer.Start("eval", "alice");

        host.App.Timers.Sweep();

        var (tab, list) = await host.OpenTabWithListAsync("alice");
        await using var ownedTab = tab;
        var listed = list.Get("processes").EnumerateArray().Select(p => p.GetProperty("process_id").GetString()).ToList();
        Assert.That(listed, Is.EqualTo(new[] { runs[2].ProcessId, runs[3].ProcessId, runs[4].ProcessId, stillRunning.ProcessId }),
            "the three newest ended ones, and the running one");
        var gone = await RawHttpClient.GetAsync(host.App.LocalEndPoint, $"/api/processes/{runs[0].ProcessId}", host.Token("alice"));
        Assert.That(gone.Status, Is.EqualTo(404));
    }
}
