using NUnit.Framework;
using ProcessHub.Hub;
using ProcessHub.Tests.Api;

namespace ProcessHub.Tests.Hardening;

/// <summary>
/// An SSE stream whose client stops reading holds at most 10,000 events waiting (docs/protocol.md 1.5): past that the
/// stream ends, and the client resumes with <c>Last-Event-ID</c> where it got to, losing nothing that the history
/// still holds. Until now the cut was described and never tried.
/// </summary>
[TestFixture]
[Category("socket")]
public sealed class SseSlowReaderTests
{
    private const int Reports = 40_000;

    [Test]
    public async Task A_stream_that_falls_10000_events_behind_ends_and_resumes_from_where_its_client_got_to()
    {
        await using var host = HubTestHost.Start(new HubOptions { HistoryLimit = 100_000 });
        string token = host.Token("alice");
        var run = host.App.Producer.Start("export", "alice");
        using var sse = await SseClient.GetAsync(host.EndPoint, $"/api/processes/{run.ProcessId}/events", token);
        Assert.That(await sse.ReadBlockAsync(), Is.EqualTo("retry: 3000"));

        // ~1 KB an event: 40 MB in all, well past what the loopback's socket buffers hold, while the client reads nothing.
        string detail = new('d', 1000);
        for (int i = 1; i <= Reports; i++)
        {
            await run.ReportProgressAsync(i, Reports, "model", detail);
        }
        await run.CompleteAsync(new { done = true });

        var first = new List<SseEvent>();
        while (await sse.ReadBlockAsync() is { } block)
        {
            first.Add(SseClient.Parse(block));
        }

        Assert.That(first, Is.Not.Empty);
        Assert.That(first.Select(e => e.Id), Is.EqualTo(Enumerable.Range(1, first.Count).Select(i => (long)i)), "gap-free up to the cut");
        Assert.That(first[^1].IsTerminal, Is.False, "the stream was cut before the end: its client had fallen behind");

        using var resumed = await SseClient.GetAsync(host.EndPoint, $"/api/processes/{run.ProcessId}/events", token, lastEventId: first[^1].Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.That(await resumed.ReadBlockAsync(), Is.EqualTo("retry: 3000"));
        var rest = await resumed.ReadToTerminalAsync();

        Assert.That(rest.Select(e => e.Id), Is.EqualTo(Enumerable.Range((int)first[^1].Id + 1, rest.Count).Select(i => (long)i)), "the resume goes on from the cut, gap-free");
        Assert.That((rest[^1].Event, rest[^1].Id), Is.EqualTo(("process_completed", (long)Reports + 2)));
        await resumed.AssertClosedAsync();
    }
}
