using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace ProcessHub.Redis;

/// <summary>The names of everything the engine keeps in Redis (docs/protocol.md section 11, "In Redis").</summary>
internal sealed class RedisKeys
{
    public RedisKeys(string prefix)
    {
        Prefix = prefix;
        Epoch = prefix + "epoch";
        Offset = prefix + "offset";
        Log = prefix + "log";
        Index = prefix + "index";
        Running = prefix + "running";
        Events = RedisChannel.Literal(prefix + "events");
        Control = RedisChannel.Literal(prefix + "control");
        LeasePrefix = prefix + "hub:";
    }

    public string Prefix { get; }

    /// <summary>The epoch of everything below: created with the data, gone with it.</summary>
    public RedisKey Epoch { get; }

    /// <summary>The shared log's counter: one offset per event of any process.</summary>
    public RedisKey Offset { get; }

    /// <summary>Every event of every process in offset order (a capped stream), for hubs that missed some.</summary>
    public RedisKey Log { get; }

    /// <summary>Every process's id, scored by its start (a sorted set).</summary>
    public RedisKey Index { get; }

    /// <summary>How many processes each owner has running, across every hub (a hash: owner to count).</summary>
    public RedisKey Running { get; }

    /// <summary>Where every event is published, for every hub.</summary>
    public RedisChannel Events { get; }

    /// <summary>Where a hub is asked to cancel a process its producer runs.</summary>
    public RedisChannel Control { get; }

    public string LeasePrefix { get; }

    public RedisKey Process(string processId) => Prefix + "p:" + processId;

    public RedisKey ProcessEvents(string processId) => Prefix + "e:" + processId;

    /// <summary>Who asked for a cancel that was sent to the producer's hub, for a while (cancel.lua).</summary>
    public RedisKey CancelSent(string processId) => Prefix + "c:" + processId;

    public RedisKey Lease(string hubId) => LeasePrefix + hubId;

    /// <summary>
    /// The claim of a caller's <c>Idempotency-Key</c> (a hash: the process id, the request's digest). Named by a digest
    /// of the caller and the key, each length-prefixed: a <c>sub</c> may hold any character, so no separator could keep
    /// two callers' keys apart, and the name stays short whatever the key's length.
    /// </summary>
    public RedisKey IdempotencyClaim(string caller, string key)
    {
        string scoped = string.Create(CultureInfo.InvariantCulture, $"{caller.Length}:{caller}{key.Length}:{key}");
        return Prefix + "k:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(scoped)));
    }
}
