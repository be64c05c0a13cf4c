using System.Text.Json;

namespace ProcessHub.Benchmarks.Load;

/// <summary>
/// The end of a benchmark run (`load run`, `durable`, `scaleout`): the samples as JSON, then the tables on stdout and
/// between the markers of the markdown file, each file only when the command line named it.
/// </summary>
internal static class RunResults
{
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    /// <summary>
    /// Writes the samples to <paramref name="jsonPath"/>, then renders the tables (after the JSON, so a report that
    /// throws still leaves the measurements) and writes them with <paramref name="writeBetweenMarkers"/>.
    /// </summary>
    public static async Task WriteAsync(List<Sample> samples, string? jsonPath, string? markdownPath, Func<string> render, Action<string, string> writeBetweenMarkers)
    {
        if (jsonPath is { } json)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(json))!);
            await File.WriteAllTextAsync(json, JsonSerializer.Serialize(samples, JsonOptions)).ConfigureAwait(false);
        }
        string tables = render();
        Console.WriteLine(tables);
        if (markdownPath is { } path)
        {
            writeBetweenMarkers(path, tables);
        }
    }

    /// <summary>The exit code of a run that records failed runs as samples: 1 when any run failed.</summary>
    public static int ExitCode(List<Sample> samples) => samples.Any(s => s.Values.ContainsKey("failed")) ? 1 : 0;
}
