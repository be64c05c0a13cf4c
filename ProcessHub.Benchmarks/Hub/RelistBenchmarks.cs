using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using ProcessHub.Auth;
using ProcessHub.Hub;
using ProcessHub.Hub.Messages;
using ProcessHub.Hub.Processes;
using ProcessHub.Hub.Sessions;
using ProcessHub.Outbound;

namespace ProcessHub.Benchmarks.Hub;

/// <summary>
/// A reload of the hub's view (docs/protocol.md 11.4: a new epoch, or a hub too far behind the shared log) sends every
/// live tab a fresh <c>process_list</c>, on the applier's turn. Measured: the registry's <c>Replace</c> over
/// <see cref="Processes"/> processes of 100 users, with <see cref="Tabs"/> tabs spread over those users, down to a
/// counting connection in place of each socket. Lists built once per user make this grow with users x processes;
/// built per tab, with tabs x processes.
/// </summary>
[MemoryDiagnoser]
public class RelistBenchmarks
{
    private const int Users = 100;
    private ProcessRegistry _registry = null!;
    private StoredProcesses _stored = null!;

    [Params(1_000, 10_000)]
    public int Tabs { get; set; }

    [Params(1_000)]
    public int Processes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var options = new HubOptions();
        var index = new SessionIndex();
        var table = new SessionTable();
        _registry = new ProcessRegistry(new Broadcaster(index), options, TimeProvider.System);
        var engine = new LocalProcessEngine(_registry, new MemoryProcessStore(), TimeProvider.System);
        engine.Open();
        var counters = new HubCounters();
        var authenticator = new SessionAuthenticator(new TokenValidator(new JwtSettings { Secret = new string('s', 32) }),
            new ConnectionLimits(index, int.MaxValue, int.MaxValue), _registry, options, TimeProvider.System, counters, NullLogger.Instance);
        _ = new HubEndpoint(table, index, authenticator, _registry, engine, options, TimeProvider.System, counters); // listens for Replace
        var now = DateTimeOffset.UtcNow;
        var processes = new List<StoredProcess>(Processes);
        for (int i = 0; i < Processes; i++)
        {
            var state = new ProcessState(ProcessStatus.Running, 1, ProgressJson.Create(0, 12, "GPT-4o", "Run 1/3"), now, null, null, null, null);
            processes.Add(new StoredProcess($"p{i:D6}", "benchmark", $"user{i % Users}", null, now, false, state, [], null));
        }
        _stored = new StoredProcesses(_registry.Epoch, processes);
        var handler = new IgnoringHandler();
        for (int i = 0; i < Tabs; i++)
        {
            var connection = new OutboundConnection(new CountingConnection(), handler, 64 * 1024 * 1024, SlowConsumerPolicy.Default, FlushScheduler.Shared, TimeProvider.System);
            var session = new HubSession(connection, DateTimeOffset.MaxValue);
            session.SetIdentity(new UserIdentity($"user{i % Users}", IsAdmin: false, IsProducer: false, DateTimeOffset.MaxValue));
            var list = HubMessageWriter.ProcessList(_registry.Epoch, [], now);
            session.BecomeReady(list, []);
            list.Release();
            table.Add(session);
            index.Add(session);
        }
    }

    /// <summary>The view replaced (same epoch, the same processes): every tab gets its user's fresh list.</summary>
    [Benchmark]
    public int ReplaceAndRelist()
    {
        _registry.Replace(_stored);
        return _registry.Count;
    }
}
