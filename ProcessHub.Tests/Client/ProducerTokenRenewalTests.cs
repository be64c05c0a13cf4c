using System.Net.Http.Json;
using System.Text.Json;
using NUnit.Framework;
using ProcessHub.Auth;
using ProcessHub.Client;
using ProcessHub.Tests.Infrastructure;
using ProcessHub.Tests.Storage;

namespace ProcessHub.Tests.Client;

/// <summary>
/// A worker whose token the hub stops taking. In dev mode that is every restart (tokens are signed with a key of one
/// run), and the README's worker, given a provider that fetched a dev token, threw at its first report after the
/// restart: the provider's own fetch was refused while the hub was down, outside the producer's retries, and a 401
/// was never asked about again.
/// </summary>
[TestFixture]
[Category("socket")]
public sealed class ProducerTokenRenewalTests
{
    private const string EarlierRunSecret = "a secret of an earlier run, well over 32 bytes long";

    [Test]
    public async Task A_dev_mode_worker_whose_provider_fetches_dev_tokens_carries_on_across_a_restart_with_a_new_secret()
    {
        using var data = new DataDirectory();
        var first = DurableHub.Start(data, secret: "the first run's secret, well over 32 bytes", devMode: true);
        int port = first.EndPoint.Port;
        using var http = new HttpClient();
        var refusedWhileDown = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var producer = new HubProducer(new HubProducerOptions
        {
            HubUrl = new Uri($"http://127.0.0.1:{port}"),
            TokenProvider = async cancellationToken =>
            {
                try
                {
                    var answer = await http.GetFromJsonAsync<JsonElement>($"http://127.0.0.1:{port}/api/dev-token", cancellationToken);
                    return answer.GetProperty("token").GetString()!;
                }
                catch (HttpRequestException)
                {
                    refusedWhileDown.TrySetResult();
                    throw;
                }
            },
        });
        using var run = await producer.StartAsync("eval", total: 3);
        Assert.That(await run.ReportAsync(1, 3), Is.False);

        await first.DisposeAsync();
        var report = run.ReportAsync(2, 3);
        await refusedWhileDown.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await using var second = DurableHub.Start(data, secret: "the second run's secret, well over 32 bytes", devMode: true, port: port);

        Assert.That(await report.WaitAsync(TimeSpan.FromSeconds(60)), Is.False, "the report went through once the hub was back");
        var process = second.App.Registry.Find(run.ProcessId)!.Value;
        Assert.That((process.IsEnded, process.Seq), Is.EqualTo((false, 3L)), "started, 1 of 3, 2 of 3");
    }

    [Test]
    public async Task A_request_refused_with_401_is_sent_once_more_with_the_providers_next_token()
    {
        await using var host = HubTestHost.Start();
        string earlierRun = new TokenValidator(new JwtSettings { Secret = EarlierRunSecret }).Issue("alice", [], TimeSpan.FromHours(1));
        var tokens = new Queue<string>([earlierRun, host.Token("alice")]);
        int asked = 0;
        using var producer = new HubProducer(new HubProducerOptions
        {
            HubUrl = new Uri($"http://{host.App.LocalEndPoint}"),
            TokenProvider = _ =>
            {
                Interlocked.Increment(ref asked);
                return ValueTask.FromResult(tokens.Count > 1 ? tokens.Dequeue() : tokens.Peek());
            },
        });

        using var run = await producer.StartAsync("eval", total: 2);

        Assert.That(asked, Is.EqualTo(2), "refused once, asked again once");
        Assert.That(host.App.Registry.Find(run.ProcessId), Is.Not.Null);
    }

    [Test]
    public async Task A_provider_whose_every_token_is_refused_gets_one_more_try_and_then_the_401()
    {
        await using var host = HubTestHost.Start();
        string earlierRun = new TokenValidator(new JwtSettings { Secret = EarlierRunSecret }).Issue("alice", [], TimeSpan.FromHours(1));
        int asked = 0;
        using var producer = new HubProducer(new HubProducerOptions
        {
            HubUrl = new Uri($"http://{host.App.LocalEndPoint}"),
            TokenProvider = _ =>
            {
                Interlocked.Increment(ref asked);
                return ValueTask.FromResult(earlierRun);
            },
        });

        var refused = Assert.ThrowsAsync<HubRequestException>(() => producer.StartAsync("eval", total: 2))!;

        Assert.That((refused.StatusCode, asked), Is.EqualTo(((int?)401, 2)), refused.Message);
    }
}
