using System.Globalization;

namespace ProcessHub.Tests.Infrastructure;

/// <summary>Reads one sample from a <c>/metrics</c> scrape (the Prometheus text format).</summary>
internal static class PrometheusText
{
    /// <summary>The value of <paramref name="name"/> with exactly <paramref name="labels"/> (none when null); null when absent.</summary>
    public static double? Sample(string text, string name, string? labels = null)
    {
        string prefix = labels is null ? name + " " : $"{name}{{{labels}}} ";
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
        return line is null ? null : double.Parse(line[prefix.Length..].Trim(), CultureInfo.InvariantCulture);
    }
}
