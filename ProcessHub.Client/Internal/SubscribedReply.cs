using System.Text.Json;

namespace ProcessHub.Client.Internal;

/// <summary>The hub's <c>subscribed</c> reply (docs/protocol.md section 3); the watcher uses it for resume and never yields it.</summary>
internal sealed class SubscribedReply : HubEvent
{
    public SubscribedReply(JsonElement json, string processId, string epoch, int replayed, bool recovered, string? requestId)
        : base(json)
    {
        ProcessId = processId;
        Epoch = epoch;
        Replayed = replayed;
        Recovered = recovered;
        RequestId = requestId;
    }

    public string ProcessId { get; }
    public string Epoch { get; }
    public int Replayed { get; }
    public bool Recovered { get; }
    public string? RequestId { get; }
}
