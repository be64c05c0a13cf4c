namespace ProcessHub.Tests.Infrastructure;

/// <summary>Joins frames and pieces into what one socket write sends.</summary>
internal static class Bytes
{
    public static byte[] Concat(params byte[][] parts) => [.. parts.SelectMany(p => p)];
}
