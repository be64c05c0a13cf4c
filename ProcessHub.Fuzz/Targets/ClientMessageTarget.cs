using System.Text.Json;
using ProcessHub.Hub.Messages;

namespace ProcessHub.Fuzz.Targets;

/// <summary>
/// <see cref="ClientMessage.TryParse"/> over arbitrary bytes (the reader has validated UTF-8 before it in the server,
/// but the parser must not depend on that). Exactly one of a message and a problem comes back; a message holds what
/// the protocol requires (docs/protocol.md section 4): a type, a non-negative since; and it is read from an input
/// that is one JSON object and nothing else.
/// </summary>
internal sealed class ClientMessageTarget : IFuzzTarget
{
    public string Name => "client-message";

    public void Run(ReadOnlySpan<byte> input)
    {
        var message = ClientMessage.TryParse(input, out string? problem, out string? requestId);
        if (message is null)
        {
            InvariantViolationException.Check(!string.IsNullOrEmpty(problem), "no message and no problem");
            return;
        }
        InvariantViolationException.Check(problem is null, $"a message and the problem '{problem}'");
        InvariantViolationException.Check(message.Type is not null, "a message without a type");
        InvariantViolationException.Check(message.Since is null or >= 0, $"since {message.Since}");
        InvariantViolationException.Check(string.Equals(message.RequestId, requestId, StringComparison.Ordinal), "the echoed request_id differs from the message's");
        InvariantViolationException.Check(IsOneJsonObject(input), "accepted an input that is not exactly one JSON object");
    }

    // An independent reading: the whole input must be one JSON object (trailing bytes other than whitespace are not).
    private static bool IsOneJsonObject(ReadOnlySpan<byte> input)
    {
        try
        {
            var reader = new Utf8JsonReader(input, new JsonReaderOptions { MaxDepth = 16 });
            using var document = JsonDocument.ParseValue(ref reader);
            return document.RootElement.ValueKind == JsonValueKind.Object && !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
