using System.Text.Json;

namespace ProcessHub.Hub.Processes;

/// <summary>
/// What a JSON value read back from a store must be before it goes to clients as it is (in a <c>process_list</c> or a
/// replay): a store holds what a hub wrote, unless something else wrote there, and a client cannot take the rest.
/// </summary>
internal static class StoredJson
{
    /// <summary>
    /// Whether <paramref name="json"/> is one JSON value of UTF-8, nothing after it but whitespace, no string in it an
    /// escaped lone surrogate (a client's reader throws on one), and nested at most 64 levels. No string is allocated.
    /// </summary>
    public static bool IsOneValue(ReadOnlySpan<byte> json)
    {
        if (!System.Text.Unicode.Utf8.IsValid(json) || LoneSurrogates.In(json))
        {
            return false;
        }
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 64 });
            if (!reader.Read())
            {
                return false;
            }
            reader.Skip();
            return !reader.Read(); // throws on anything after the value but whitespace
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
