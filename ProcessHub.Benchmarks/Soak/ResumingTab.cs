using System.Text.Json;

namespace ProcessHub.Benchmarks.Soak;

/// <summary>
/// A tab that keeps losing its connection (a clean close or a dropped socket) and resumes as docs/protocol.md section
/// 5.2 says: reconnect, read <c>process_list</c>, and for each process it knew whose listed seq is higher,
/// <c>subscribe</c> with <c>since</c> and <c>epoch</c>. Every resume must be gap-free: <c>recovered</c>, a replay of
/// exactly the events from <c>since + 1</c> to the listed seq, in order, and live events only after the listed seq.
/// </summary>
internal sealed class ResumingTab
{
    private readonly SoakContext _context;
    private readonly string _user;
    private readonly Random _random;
    private readonly Dictionary<string, long> _known = new(StringComparer.Ordinal);
    private string? _epoch;

    public ResumingTab(SoakContext context, string user, int seed)
    {
        _context = context;
        _user = user;
        _random = new Random(seed);
    }

    public async Task RunAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await OneConnectionAsync(stop).ConfigureAwait(false);
                await Task.Delay(_random.Next(300), stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is System.Net.WebSockets.WebSocketException or TimeoutException or OperationCanceledException)
            {
                _context.Violations.Add($"resuming tab of {_user}: {ex.GetType().Name}: {ex.Message}");
                await Task.Delay(500, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    private async Task OneConnectionAsync(CancellationToken stop)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(stop);
        limit.CancelAfter(TimeSpan.FromSeconds(60));
        await using var tab = await SoakTab.ConnectAsync(_context.Hub.WebSocketUri, _context.Token(_user), limit.Token).ConfigureAwait(false);
        var list = await tab.ReceiveAsync(limit.Token).ConfigureAwait(false) ?? throw new TimeoutException($"closed before process_list ({(int?)tab.CloseStatus})");
        if (list.GetProperty("type").GetString() != "process_list")
        {
            _context.Violations.Add($"resuming tab of {_user}: first message {list}");
            return;
        }
        string epoch = list.GetProperty("epoch").GetString()!;
        if (_epoch is not null && epoch != _epoch)
        {
            _context.Violations.Add($"resuming tab of {_user}: the epoch changed from {_epoch} to {epoch} without a restart");
            _known.Clear();
        }
        _epoch = epoch;

        var listed = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var process in list.GetProperty("processes").EnumerateArray())
        {
            listed[process.GetProperty("process_id").GetString()!] = process.GetProperty("seq").GetInt64();
        }
        var liveMax = new Dictionary<string, long>(listed, StringComparer.Ordinal);
        var pending = new Dictionary<string, (long Since, long Listed)>(StringComparer.Ordinal);
        foreach (var (processId, since) in _known)
        {
            if (listed.TryGetValue(processId, out long listedSeq) && listedSeq > since)
            {
                pending[processId] = (since, listedSeq);
                await tab.SendAsync(new { type = "subscribe", process_id = processId, since, epoch, request_id = "resume-" + processId }, limit.Token).ConfigureAwait(false);
            }
        }
        _context.Violations.Tally(pending.Count > 0 ? "resumes with a replay" : "reconnects with nothing to replay");

        // The replay of one process, once its subscribed reply is in: the next seq expected and how many remain.
        var replaying = new Dictionary<string, (long Next, long Left)>(StringComparer.Ordinal);
        var readUntil = _context.Now + 0.2 + (_random.NextDouble() * 1.8);
        while (_context.Now < readUntil || pending.Count > 0 || replaying.Count > 0)
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(limit.Token);
            double left = readUntil - _context.Now;
            wait.CancelAfter(pending.Count > 0 || replaying.Count > 0 ? TimeSpan.FromSeconds(30) : TimeSpan.FromSeconds(Math.Max(0.01, left)));
            JsonElement? received;
            try
            {
                received = await tab.ReceiveAsync(wait.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!limit.IsCancellationRequested && pending.Count == 0 && replaying.Count == 0)
            {
                break; // nothing more to read in the time this connection had
            }
            if (received is not { } message)
            {
                _context.Violations.Add($"resuming tab of {_user} was closed by the hub while reading: {(int?)tab.CloseStatus} \"{tab.CloseDescription}\"");
                return;
            }
            Apply(message, listed, liveMax, pending, replaying);
        }

        // What this tab now holds, for the next resume: the highest seq it has of each process still listed.
        _known.Clear();
        foreach (var (processId, seq) in liveMax)
        {
            _known[processId] = seq;
        }
        if (_random.Next(2) == 0)
        {
            await tab.CloseAsync(limit.Token).ConfigureAwait(false);
            _context.Violations.Tally("resuming tab: clean close");
        }
        else
        {
            tab.Abort();
            _context.Violations.Tally("resuming tab: dropped connection");
        }
    }

    private void Apply(JsonElement message, Dictionary<string, long> listed, Dictionary<string, long> liveMax,
        Dictionary<string, (long Since, long Listed)> pending, Dictionary<string, (long Next, long Left)> replaying)
    {
        string type = message.GetProperty("type").GetString()!;
        string? processId = message.TryGetProperty("process_id", out var idElement) ? idElement.GetString() : null;
        switch (type)
        {
            case "subscribed":
                if (processId is null || !pending.Remove(processId, out var asked))
                {
                    _context.Violations.Add($"resuming tab of {_user}: unexpected {message}");
                    return;
                }
                long replayed = message.GetProperty("replayed").GetInt64();
                if (!message.GetProperty("recovered").GetBoolean())
                {
                    _context.Violations.Add($"resuming tab of {_user}: {processId} since {asked.Since} was not recovered");
                }
                if (replayed != asked.Listed - asked.Since)
                {
                    _context.Violations.Add($"resuming tab of {_user}: {processId} since {asked.Since} replays {replayed} events, the gap up to the listed seq {asked.Listed} is {asked.Listed - asked.Since}");
                }
                if (replayed > 0)
                {
                    replaying[processId] = (asked.Since + 1, replayed);
                }
                _context.Violations.Tally("replayed events", replayed);
                return;
            case "error":
                if (processId is not null && pending.Remove(processId) && message.GetProperty("code").GetString() == "not_found")
                {
                    _context.Violations.Tally("resume of a process forgotten meanwhile");
                    return;
                }
                _context.Violations.Add($"resuming tab of {_user}: {message}");
                return;
            case "process_list" or "pong" or "unsubscribed":
                _context.Violations.Add($"resuming tab of {_user}: unexpected {message}");
                return;
        }
        long seq = message.GetProperty("seq").GetInt64();
        if (replaying.TryGetValue(processId!, out var replay))
        {
            if (seq != replay.Next)
            {
                _context.Violations.Add($"resuming tab of {_user}: the replay of {processId} has seq {seq} where {replay.Next} was due");
            }
            if (replay.Left <= 1)
            {
                replaying.Remove(processId!);
            }
            else
            {
                replaying[processId!] = (seq + 1, replay.Left - 1);
            }
            return;
        }
        long last = liveMax.GetValueOrDefault(processId!);
        if (!listed.ContainsKey(processId!) && last == 0 && (type != "process_started" || seq != 1))
        {
            _context.Violations.Add($"resuming tab of {_user}: the first event of {processId}, not listed, is {type} seq {seq}");
        }
        if (seq <= last)
        {
            _context.Violations.Add($"resuming tab of {_user}: live {type} of {processId} seq {seq} after seq {last}");
        }
        liveMax[processId!] = Math.Max(last, seq);
    }
}
