using System.Globalization;
using Microsoft.Extensions.Logging;
using ProcessHub.Hub;
using ProcessHub.Hub.Processes;
using StackExchange.Redis;

namespace ProcessHub.Redis;

/// <summary>Reading every process back from Redis: at start, and when this hub reloads.</summary>
internal sealed partial class RedisProcessEngine
{
    // Processes whose seq one round trip asks for.
    private const int LoadBatch = 256;

    // Processes whose hash this hub could not read (LogUnreadable): their later events are skipped without reading the
    // hash again, and warned about once. Forgotten at each load, which reads every process afresh.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _unreadable = new(StringComparer.Ordinal);

    /// <summary>Whether this hub left <paramref name="processId"/> out as a process it cannot read, since its last load.</summary>
    private bool IsUnreadable(string processId) => _unreadable.ContainsKey(processId);

    private async Task<StoredProcesses> LoadAllAsync(string epoch)
    {
        _unreadable.Clear();
        var ids = await _db.SortedSetRangeByRankAsync(_keys.Index).ConfigureAwait(false);
        var processes = new List<StoredProcess>(ids.Length);
        var gone = new List<RedisValue>();
        // Pipelined, a round trip per batch rather than per process; but a batch of whole histories is bounded by the
        // events it reads, not by its processes. 256 processes of 1,000 events each are about 85 MB of replies, which
        // Redis builds before it writes any and the client reads for longer than its timeout: every load then timed
        // out (a hub could not start, or reload, beside 256 busy processes) or hit an output-buffer limit. So the
        // seqs first (small), then histories in round trips of about LoadEventsPerRoundTrip events.
        var expected = new List<(string Id, long Events)>(ids.Length);
        for (int i = 0; i < ids.Length; i += LoadBatch)
        {
            var batch = ids.Skip(i).Take(LoadBatch).Select(id => (Id: (string)id!, Seq: _db.HashGetAsync(_keys.Process((string)id!), "seq"))).ToList();
            // A hash without a seq is either gone (expired after its retention window: the index is all that is left)
            // or one this hub cannot read; only the first may leave the index, where a hub that can read it finds it.
            var withoutSeq = new List<(string Id, Task<bool> Exists)>();
            foreach (var (id, seq) in batch)
            {
                var value = await seq.ConfigureAwait(false);
                if (value.IsNull)
                {
                    withoutSeq.Add((id, _db.KeyExistsAsync(_keys.Process(id))));
                }
                else if (value.TryParse(out long events) && events >= 1)
                {
                    expected.Add((id, Math.Min(events, _hubOptions.HistoryLimit)));
                }
                else
                {
                    LogUnreadable(id, "its seq is not a number from 1 up");
                }
            }
            foreach (var (id, exists) in withoutSeq)
            {
                if (await exists.ConfigureAwait(false))
                {
                    LogUnreadable(id, "it has no seq");
                }
                else
                {
                    gone.Add(id);
                }
            }
        }
        var round = new List<string>();
        long roundEvents = 0;
        for (int i = 0; i <= expected.Count; i++)
        {
            if (i == expected.Count || (round.Count > 0 && (roundEvents + expected[i].Events > _options.LoadEventsPerRoundTrip || round.Count == LoadBatch)))
            {
                var reads = round.Select(id => (Id: id, Hash: _db.HashGetAllAsync(_keys.Process(id)), Events: _db.StreamRangeAsync(_keys.ProcessEvents(id)))).ToList();
                foreach (var (id, hash, events) in reads)
                {
                    try
                    {
                        if (ToStored(id, await hash.ConfigureAwait(false), await events.ConfigureAwait(false)) is { } process)
                        {
                            processes.Add(process);
                        }
                        else
                        {
                            gone.Add(id);
                        }
                    }
                    catch (UnreadableProcessException ex)
                    {
                        // Left out, and left in the index: it is not gone, and a hub that can read it still lists it.
                        LogUnreadable(id, ex.Message);
                    }
                }
                round.Clear();
                roundEvents = 0;
                if (i == expected.Count)
                {
                    break;
                }
            }
            round.Add(expected[i].Id);
            roundEvents += expected[i].Events;
        }
        if (gone.Count > 0)
        {
            // Expired after their retention window: the index is the only thing left of them.
            await _db.SortedSetRemoveAsync(_keys.Index, [.. gone]).ConfigureAwait(false);
        }
        return new StoredProcesses(epoch, processes);
    }

    /// <summary>The process as Redis holds it; null when it is gone, or cannot be read by this hub (logged).</summary>
    private async Task<StoredProcess?> LoadOneAsync(string processId)
    {
        var hash = _db.HashGetAllAsync(_keys.Process(processId));
        var events = _db.StreamRangeAsync(_keys.ProcessEvents(processId));
        try
        {
            return ToStored(processId, await hash.ConfigureAwait(false), await events.ConfigureAwait(false));
        }
        catch (UnreadableProcessException ex)
        {
            LogUnreadable(processId, ex.Message);
            return null;
        }
    }

    private void LogUnreadable(string processId, string why)
    {
        if (!_unreadable.TryAdd(processId, 0))
        {
            return;
        }
        _logger.LogWarning("left out process {ProcessId}: its hash in Redis cannot be read by this hub ({Why}; written by another program under --redis-prefix, or by a newer version?)", processId, why);
    }

    /// <exception cref="UnreadableProcessException">A field this hub needs is missing or not in the form hubs write it.</exception>
    private static StoredProcess? ToStored(string processId, HashEntry[] hash, StreamEntry[] entries)
    {
        if (hash.Length == 0)
        {
            return null;
        }
        var fields = hash.ToDictionary(entry => (string)entry.Name!, entry => entry.Value);
        RedisValue Field(string name) => fields.TryGetValue(name, out var value) ? value : RedisValue.Null;
        // A JSON field goes into every process_list as it is: one value of UTF-8 JSON with no lone surrogate, or unreadable.
        byte[]? Bytes(string name) => Field(name) is { IsNullOrEmpty: false } value
            ? StoredJson.IsOneValue((byte[])value!) ? (byte[])value! : throw new UnreadableProcessException($"its {name} is not UTF-8 JSON that clients can read")
            : null;
        string Text(string name) => Field(name) is { IsNull: false } value ? (string)value! : throw new UnreadableProcessException($"it has no {name}");
        DateTimeOffset Time(string name) =>
            long.TryParse((string?)Field(name), NumberStyles.None, CultureInfo.InvariantCulture, out long ticks)
            && ticks >= DateTimeOffset.MinValue.UtcTicks && ticks <= DateTimeOffset.MaxValue.UtcTicks
                ? new(ticks, TimeSpan.Zero)
                : throw new UnreadableProcessException($"its {name} is not a time in ticks");
        long seq = Field("seq").TryParse(out long parsed) && parsed >= 1 ? parsed : throw new UnreadableProcessException("its seq is not a number from 1 up");

        var status = (string?)Field("status") switch
        {
            "completed" => ProcessStatus.Completed,
            "failed" => ProcessStatus.Failed,
            "cancelled" => ProcessStatus.Cancelled,
            _ => ProcessStatus.Running,
        };
        var state = new ProcessState(
            status,
            seq,
            Bytes("progress") ?? "{}"u8.ToArray(),
            Time("last_changed_at"),
            status == ProcessStatus.Running || Field("ended_at").IsNull ? null : Time("ended_at"),
            Bytes("result"),
            Bytes("error"),
            Field("cancelled_by") is { IsNullOrEmpty: false } by ? (string)by! : null);
        var events = new List<StoredEvent>(entries.Length);
        foreach (var entry in entries)
        {
            // An event tabs could not take (not UTF-8, not one object, a lone surrogate) is left out like one that cannot
            // be read, as the applier skips it live: replayed, it would fail every tab.
            if (RedisEventMessage.TryParse((byte[])entry["m"]!, out var message) && EventPayload.IsSendable(message.Payload.Span))
            {
                events.Add(new StoredEvent(message.Seq, message.Kind, message.Payload));
            }
        }
        // The hash is read before the stream, and a script may run in between (another client's command between the
        // two of this pipeline): the stream can then hold events past the state's seq. They are left out here, since
        // the state is the older read; being newer than the offset this hub read before loading, they are applied
        // after the load like any other. Kept, they broke the tail below and the hub restored no history at all.
        events.RemoveAll(stored => stored.Seq > state.Seq);
        // History is the contiguous tail ending at the state's seq.
        int start = events.Count;
        while (start > 0 && events[start - 1].Seq == state.Seq - (events.Count - start))
        {
            start--;
        }
        events.RemoveRange(0, start);
        string? hub = (string?)Field("hub");
        return new StoredProcess(processId, Text("type"), Text("owner"), Bytes("params"), Time("started_at"),
            (string?)Field("in_process") == "1", state, events, hub is null or "-" ? null : hub);
    }
}
