using System.Globalization;

namespace ProcessHub.Benchmarks.Load;

/// <summary>Median, min and max of one value over the runs of a point, and how many runs failed.</summary>
internal readonly record struct SampleStats(double Median, double Min, double Max, int Count, int Failed)
{
    /// <summary>The statistics of <paramref name="key"/> over <paramref name="samples"/>; with <paramref name="sum"/>, Median holds the sum (e.g. runs complete).</summary>
    public static SampleStats Of(IEnumerable<Sample> samples, string key, bool sum = false)
    {
        var matching = samples.ToList();
        var values = matching.Where(s => s.Values.ContainsKey(key)).Select(s => s.Values[key]).Order().ToList();
        int failed = matching.Count(s => s.Values.ContainsKey("failed"));
        if (values.Count == 0)
        {
            return new SampleStats(0, 0, 0, 0, failed);
        }
        double median = sum ? values.Sum() : values.Count % 2 == 1 ? values[values.Count / 2] : (values[values.Count / 2 - 1] + values[values.Count / 2]) / 2;
        return new SampleStats(median, values[0], values[^1], values.Count, failed);
    }

    /// <summary>
    /// A table cell: "median (min-max)", the median alone for one run, "failed" or "-" for none; <paramref name="flag"/>
    /// (e.g. " **client-bound**") goes after the numbers, before the count of failed runs.
    /// </summary>
    public string Cell(string format, string flag = "")
    {
        if (Count == 0)
        {
            return Failed > 0 ? "failed" : "-";
        }
        string text = Count == 1
            ? Median.ToString(format, CultureInfo.InvariantCulture)
            : $"{Median.ToString(format, CultureInfo.InvariantCulture)} ({Min.ToString(format, CultureInfo.InvariantCulture)}-{Max.ToString(format, CultureInfo.InvariantCulture)})";
        text += flag;
        return Failed > 0 ? $"{text} ({Failed} failed)" : text;
    }
}
