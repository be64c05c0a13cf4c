using System.Globalization;
using ProcessHub.Hub;
using ProcessHub.Hub.Processes;
using StackExchange.Redis;

namespace ProcessHub.Redis;

/// <summary>Reading every process back from Redis: at start, and when this hub reloads.</summary>
internal sealed partial class RedisProcessEngine
{
    // Processes whose seq one round trip asks for.
    private const int LoadBatch = 256;

    private async Task<StoredProcesses> LoadAllAsync(string epoch)
    {
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
            foreach (var (id, seq) in batch)
            {
                var value = await seq.ConfigureAwait(false);
                if (value.IsNull)
                {
                    gone.Add(id);
                }
                else
                {
                    expected.Add((id, Math.Min((long)value, _hubOptions.HistoryLimit)));
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
                    if (ToStored(id, await hash.ConfigureAwait(false), await events.ConfigureAwait(false)) is { } process)
                    {
                        processes.Add(process);
                    }
                    else
                    {
                        gone.Add(id);
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

    private async Task<StoredProcess?> LoadOneAsync(string processId)
    {
        var hash = _db.HashGetAllAsync(_keys.Process(processId));
        var events = _db.StreamRangeAsync(_keys.ProcessEvents(processId));
        return ToStored(processId, await hash.ConfigureAwait(false), await events.ConfigureAwait(false));
    }

    private static StoredProcess? ToStored(string processId, HashEntry[] hash, StreamEntry[] entries)
    {
        if (hash.Length == 0)
        {
            return null;
        }
        var fields = hash.ToDictionary(entry => (string)entry.Name!, entry => entry.Value);
        RedisValue Field(string name) => fields.TryGetValue(name, out var value) ? value : RedisValue.Null;
        byte[]? Bytes(string name) => Field(name) is { IsNullOrEmpty: false } value ? (byte[])value! : null;
        DateTimeOffset Time(string name) => new(long.Parse((string)Field(name)!, CultureInfo.InvariantCulture), TimeSpan.Zero);

        var status = (string?)Field("status") switch
        {
            "completed" => ProcessStatus.Completed,
            "failed" => ProcessStatus.Failed,
            "cancelled" => ProcessStatus.Cancelled,
            _ => ProcessStatus.Running,
        };
        var state = new ProcessState(
            status,
            (long)Field("seq"),
            Bytes("progress") ?? "{}"u8.ToArray(),
            Time("last_changed_at"),
            status == ProcessStatus.Running || Field("ended_at").IsNull ? null : Time("ended_at"),
            Bytes("result"),
            Bytes("error"),
            Field("cancelled_by") is { IsNullOrEmpty: false } by ? (string)by! : null);
        var events = new List<StoredEvent>(entries.Length);
        foreach (var entry in entries)
        {
            if (RedisEventMessage.TryParse((byte[])entry["m"]!, out var message))
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
        return new StoredProcess(processId, (string)Field("type")!, (string)Field("owner")!, Bytes("params"), Time("started_at"),
            (string?)Field("in_process") == "1", state, events, hub is null or "-" ? null : hub);
    }
}
