using BenchmarkDotNet.Attributes;
using ProcessHub.Auth;
using ProcessHub.Hub;
using ProcessHub.Hub.Messages;
using ProcessHub.Hub.Processes;
using ProcessHub.Hub.Sessions;
using ProcessHub.Outbound;

namespace ProcessHub.Benchmarks.Hub;

/// <summary>
/// Publishing one progress event to N subscribers of one user, through the real engine (with the in-memory store),
/// registry, broadcaster, sessions and outbound queues, down to a counting connection in place of the socket. An invocation ends when every
/// subscriber's queue has handed the frame to its "socket", so drains on other threads are part of the time.
/// Serialize-once (ours) against serializing per subscriber (what a naive hub does), under both ways of waking
/// the writers (<see cref="FlushScheduler"/>). Allocated bytes must not grow with N.
/// </summary>
[MemoryDiagnoser]
public class FanOutBenchmarks
{
    private static readonly byte[] Progress = ProgressJson.Create(5, 12, "GPT-4o", "Run 2/3, Context 5K");
    private ProcessRegistry _registry = null!;
    private LocalProcessEngine _engine = null!;
    private SessionIndex _sessions = null!;
    private ProcessRecord _process = null!;
    private HubSession[] _subscribers = [];

    [Params(1, 100, 1_000, 10_000)]
    public int Subscribers { get; set; }

    [ParamsAllValues]
    public Wakeup Writers { get; set; }

    public enum Wakeup
    {
        WorkItemPerConnection,
        SharedFlushers,
    }

    [GlobalSetup]
    public void Setup()
    {
        var scheduler = Writers == Wakeup.SharedFlushers ? FlushScheduler.Shared : FlushScheduler.PerConnection;
        _sessions = new SessionIndex();
        _registry = new ProcessRegistry(new Broadcaster(_sessions), new HubOptions(), TimeProvider.System);
        _engine = new LocalProcessEngine(_registry, new MemoryProcessStore(), TimeProvider.System);
        _engine.Open();
        var identity = new UserIdentity("alice", IsAdmin: false, IsProducer: false, DateTimeOffset.MaxValue);
        var handler = new IgnoringHandler();
        _subscribers = new HubSession[Subscribers];
        long start = CountingConnection.FramesSent;
        for (int i = 0; i < Subscribers; i++)
        {
            var connection = new OutboundConnection(new CountingConnection(), handler, 64 * 1024, SlowConsumerPolicy.Default, scheduler, TimeProvider.System);
            var session = new HubSession(connection, DateTimeOffset.MaxValue);
            session.SetIdentity(identity);
            _sessions.Add(session);
            var list = HubMessageWriter.ProcessList(_registry.Epoch, [], DateTimeOffset.UtcNow);
            session.BecomeReady(list, []);
            list.Release();
            _subscribers[i] = session;
        }
        // The process lists drain on other threads: count them all in before the first measured publish, or a late
        // one would be counted as that publish's.
        WaitUntilDelivered(start, Subscribers);
        long before = CountingConnection.FramesSent;
        var started = _engine.StartAsync(new ProcessStart("benchmark", "alice", null, ProgressJson.Create(0, 12, null, null), InProcess: false));
        _process = _registry.FindRecord(started.Result.ProcessId)!;
        WaitUntilDelivered(before, Subscribers);
    }

    /// <summary>Ours: serialize and frame once, hand the same buffer to every queue.</summary>
    [Benchmark]
    public int SerializeOnce()
    {
        long before = CountingConnection.FramesSent;
        _ = _engine.ApplyAsync(_process.Id, ProcessChange.Progress(Progress)); // the memory store publishes inline
        return WaitUntilDelivered(before, Subscribers);
    }

    /// <summary>The baseline: a fresh serialization and frame for every subscriber.</summary>
    [Benchmark(Baseline = true)]
    public int SerializePerSubscriber()
    {
        long before = CountingConnection.FramesSent;
        lock (_process.Gate)
        {
            var state = _process.Accepted with { Seq = _process.Accepted.Seq + 1, ProgressJson = Progress };
            _process.Accepted = state;
            _process.Published = state;
            var now = DateTimeOffset.UtcNow;
            foreach (var session in _subscribers)
            {
                var frame = ProcessEventWriter.Write(_process, state, HubEventKind.Progress, now);
                session.Connection.Send(frame);
                frame.Release();
            }
        }
        return WaitUntilDelivered(before, Subscribers);
    }

    /// <summary>Waits until <paramref name="frames"/> more frames were sent; returns how many were.</summary>
    private static int WaitUntilDelivered(long before, int frames)
    {
        var spin = new SpinWait();
        long sent;
        while ((sent = CountingConnection.FramesSent) < before + frames)
        {
            spin.SpinOnce();
        }
        return (int)(sent - before);
    }
}
