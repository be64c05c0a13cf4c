using System.Collections.Concurrent;
using System.Text.Json;

namespace ProcessHub.Benchmarks.Soak;

/// <summary>
/// A tab that stays connected for the whole soak and reads everything: it must never be closed by the hub, must see
/// each process's events in seq order, and in the end must hold the terminal event of every process of its user that
/// a producer ended (checked against the <see cref="Ledger"/>).
/// </summary>
internal sealed class StayingTab
{
    private readonly SoakContext _context;
    private readonly ConcurrentDictionary<string, SeenProcess> _seen = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _barriers = new(StringComparer.Ordinal);
    private SoakTab? _tab;
    private Task _reading = Task.CompletedTask;
    private volatile bool _closing;
    private int _barrierCount;

    public StayingTab(SoakContext context, string user, int index)
    {
        _context = context;
        User = user;
        Name = $"staying tab {index} of {user}";
    }

    public string User { get; }

    public string Name { get; }

    public long EventsReceived;

    public async Task OpenAsync(CancellationToken cancellation)
    {
        _tab = await SoakTab.ConnectAsync(_context.Hub.WebSocketUri, _context.Token(User), cancellation).ConfigureAwait(false);
        var list = await _tab.ReceiveAsync(cancellation).ConfigureAwait(false);
        if (list is not { } first || first.GetProperty("type").GetString() != "process_list")
        {
            throw new InvalidOperationException($"{Name}: the first message was not process_list");
        }
        foreach (var process in first.GetProperty("processes").EnumerateArray())
        {
            _seen[process.GetProperty("process_id").GetString()!] = new SeenProcess { LastSeq = process.GetProperty("seq").GetInt64(), Listed = true };
        }
        _reading = Task.Run(ReadLoopAsync, CancellationToken.None);
    }

    /// <summary>Proves everything published before this call has been read: a ping's pong is queued after it.</summary>
    public async Task BarrierAsync(TimeSpan timeout)
    {
        string id = $"barrier-{Interlocked.Increment(ref _barrierCount)}";
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _barriers[id] = reached;
        await _tab!.SendAsync(new { type = "ping", request_id = id }, CancellationToken.None).ConfigureAwait(false);
        await reached.Task.WaitAsync(timeout).ConfigureAwait(false);
    }

    /// <summary>Checks this tab against every process of its user that was acknowledged as ended.</summary>
    public int Verify(Ledger ledger)
    {
        int checkedProcesses = 0;
        foreach (var ended in ledger.Ended.Where(e => e.Owner == User))
        {
            checkedProcesses++;
            if (!_seen.TryGetValue(ended.ProcessId, out var seen))
            {
                _context.Violations.Add($"{Name} never received any event of {ended.ProcessId} (it ended with {ended.TerminalType} seq {ended.TerminalSeq})");
            }
            else if (!seen.SawStart)
            {
                _context.Violations.Add($"{Name} did not receive process_started of {ended.ProcessId}");
            }
            else if (seen.Terminal != ended.TerminalType || seen.TerminalSeq != ended.TerminalSeq)
            {
                _context.Violations.Add($"{Name} missed the terminal event of {ended.ProcessId}: expected {ended.TerminalType} seq {ended.TerminalSeq}, has {seen.Terminal ?? "none"} seq {seen.TerminalSeq}");
            }
        }
        return checkedProcesses;
    }

    public async Task CloseAsync()
    {
        _closing = true;
        if (_tab is not null)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _tab.CloseAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // No echo within 10 s: the read loop's end below tells whether the hub ever let go.
            }
            await _reading.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            await _tab.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task ReadLoopAsync()
    {
        while (true)
        {
            JsonElement? received;
            try
            {
                received = await _tab!.ReceiveAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is ObjectDisposedException or OperationCanceledException)
            {
                received = null;
            }
            if (received is not { } message)
            {
                if (!_closing)
                {
                    _context.Violations.Add($"{Name} was closed by the hub: {(int?)_tab!.CloseStatus} \"{_tab.CloseDescription}\"");
                }
                return;
            }
            Apply(message);
        }
    }

    private void Apply(JsonElement message)
    {
        string type = message.GetProperty("type").GetString()!;
        if (type == "pong")
        {
            if (message.TryGetProperty("request_id", out var id) && _barriers.TryRemove(id.GetString()!, out var reached))
            {
                reached.TrySetResult();
            }
            return;
        }
        if (!type.StartsWith("process_", StringComparison.Ordinal) || type == "process_list")
        {
            _context.Violations.Add($"{Name} received an unexpected {type}: {message}");
            return;
        }
        Interlocked.Increment(ref EventsReceived);
        string processId = message.GetProperty("process_id").GetString()!;
        long seq = message.GetProperty("seq").GetInt64();
        var seen = _seen.GetOrAdd(processId, static _ => new SeenProcess());
        if (!seen.Listed && seen.LastSeq == 0 && (type != "process_started" || seq != 1))
        {
            _context.Violations.Add($"{Name}: the first event of {processId}, which started after the tab connected, is {type} seq {seq}");
        }
        if (seq <= seen.LastSeq)
        {
            _context.Violations.Add($"{Name}: {processId} seq {seq} after seq {seen.LastSeq} (out of order or twice)");
        }
        if (seen.Terminal is not null)
        {
            _context.Violations.Add($"{Name}: {processId} {type} seq {seq} after its terminal event");
        }
        seen.LastSeq = Math.Max(seen.LastSeq, seq);
        seen.SawStart |= type == "process_started";
        if (type is "process_completed" or "process_failed" or "process_cancelled")
        {
            seen.Terminal = type;
            seen.TerminalSeq = seq;
        }
    }

    private sealed class SeenProcess
    {
        public long LastSeq;
        public bool Listed;
        public bool SawStart;
        public string? Terminal;
        public long TerminalSeq;
    }
}
