using System.Text.Json;

namespace ProcessHub.Client;

/// <summary>A message this version of the client does not model (a newer hub's, or a reply it does not use); see <see cref="HubEvent.Json"/>.</summary>
public sealed class UnknownHubMessage : HubEvent
{
    internal UnknownHubMessage(JsonElement json, string type)
        : base(json) => Type = type;

    /// <summary>The message's <c>type</c>; empty when it had none.</summary>
    public string Type { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{Type} message";
}
