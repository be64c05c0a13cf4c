namespace ProcessHub.Benchmarks.WebSockets;

/// <summary>What a benchmark message carries: pure ASCII, or text with some 2-, 3- and 4-byte UTF-8 sequences.</summary>
public enum PayloadText
{
    Ascii,
    MultiByteUtf8,
}
