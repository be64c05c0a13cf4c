namespace ProcessHub.Http;

/// <summary>Where a value sits in the request head buffer: spans without strings.</summary>
internal readonly record struct ByteRange(int Start, int Length)
{
    public bool IsEmpty => Length == 0;
}
