namespace ProcessHub.Benchmarks.Load;

/// <summary>
/// Replaces what lies between a begin and an end marker in a markdown file with generated tables, so that the text
/// around them (written by hand) stays; the markers are appended when the file has none.
/// </summary>
internal static class MarkdownMarkers
{
    public static void Write(string path, string beginMarker, string endMarker, string generated)
    {
        string text = File.Exists(path) ? File.ReadAllText(path) : $"# Benchmarks\n\n{beginMarker}\n{endMarker}\n";
        int begin = text.IndexOf(beginMarker, StringComparison.Ordinal);
        int end = text.IndexOf(endMarker, StringComparison.Ordinal);
        if (begin < 0 || end < begin)
        {
            text += $"\n{beginMarker}\n{endMarker}\n";
            begin = text.IndexOf(beginMarker, StringComparison.Ordinal);
            end = text.IndexOf(endMarker, StringComparison.Ordinal);
        }
        File.WriteAllText(path, text[..(begin + beginMarker.Length)] + "\n" + generated + "\n" + text[end..]);
    }
}
