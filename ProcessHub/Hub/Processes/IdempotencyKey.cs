using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace ProcessHub.Hub.Processes;

/// <summary>
/// A start's <c>Idempotency-Key</c> (docs/protocol.md 1.4.1): the caller's <c>sub</c> that scopes it (two users' keys
/// never meet), the key as sent, and a digest of the request it was first used for, which a repeat must match.
/// Kept with the process, for as long as the process is held.
/// </summary>
/// <param name="Caller">The authenticated caller's <c>sub</c> (not the owner: a producer may start for others).</param>
/// <param name="Key">The header's value: 1 to <see cref="MaxLength"/> visible ASCII characters.</param>
/// <param name="Request">The lowercase hex SHA-256 of the start's type, owner, initial progress (its total) and params.</param>
internal sealed record IdempotencyKey(string Caller, string Key, string Request)
{
    /// <summary>The longest key accepted, in characters (the draft leaves it open; 255 fits a GUID or a URL-ish name).</summary>
    public const int MaxLength = 255;

    /// <summary>1 to <see cref="MaxLength"/> characters, each visible ASCII (0x21-0x7E): no spaces, nothing to normalise.</summary>
    public static bool IsValid(ReadOnlySpan<byte> value) =>
        value.Length is >= 1 and <= MaxLength && !value.ContainsAnyExceptInRange((byte)0x21, (byte)0x7E);

    /// <summary>The key of <paramref name="start"/> as <paramref name="caller"/> sent it (validated by <see cref="IsValid"/>).</summary>
    public static IdempotencyKey For(string caller, ReadOnlySpan<byte> key, ProcessStart start) =>
        new(caller, Encoding.ASCII.GetString(key), RequestDigest(start));

    /// <summary>
    /// What makes two starts the same request: each field length-prefixed, so that no two different requests
    /// concatenate to the same bytes. The params count as JSON written compactly: a client that formats its retry
    /// differently (white space between tokens) sends the same request; another order of members is another request.
    /// </summary>
    private static string RequestDigest(ProcessStart start)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Append(hash, Encoding.UTF8.GetBytes(start.ProcessType));
        Append(hash, Encoding.UTF8.GetBytes(start.Owner));
        Append(hash, start.ProgressJson);
        if (start.ParamsJson is { } parameters)
        {
            Append(hash, Compact(parameters));
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static byte[] Compact(byte[] json)
    {
        using var document = JsonDocument.Parse(json);
        var buffer = new ArrayBufferWriter<byte>(json.Length);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            document.RootElement.WriteTo(writer);
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static void Append(IncrementalHash hash, ReadOnlySpan<byte> field)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, field.Length);
        hash.AppendData(length);
        hash.AppendData(field);
    }
}
