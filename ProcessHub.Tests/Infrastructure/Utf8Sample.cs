namespace ProcessHub.Tests.Infrastructure;

/// <summary>One byte sequence from Markus Kuhn's UTF-8 decoder test file (as Autobahn section 6 uses it) and its verdict.</summary>
internal sealed record Utf8Sample(string Id, string Description, byte[] Bytes, bool Valid)
{
    public override string ToString() => $"{Id} {Description} [{Convert.ToHexString(Bytes)}]";
}
