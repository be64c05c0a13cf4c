using System.Globalization;
using System.Text;

namespace ProcessHub.Benchmarks.Load;

/// <summary>
/// What the generated reports (`load run`, `durable`, `scaleout`) share: the text built line by line, the opening
/// lines about the run and the machine's load, tables of a label and right-aligned cells, the targets table, ratios
/// and differences of medians, and each point's statistics over the runs.
/// </summary>
internal sealed class ReportWriter(List<Sample> samples)
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;
    private readonly StringBuilder _out = new();

    /// <summary>The text written so far.</summary>
    public string Text => _out.ToString();

    public void Line(string text = "") => _out.Append(text).Append('\n');

    /// <summary>When the tool ran, for how long, which command on which machine; the load average around it and what else ran beside it.</summary>
    public void Measured(double elapsedSeconds, string command, string machine, string loadAverageAtStart, string loadAverageAtEnd, string otherLoad)
    {
        Line($"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; the tool ran {elapsedSeconds / 60:F1} min of `{command}`. {machine}");
        Line($"Load average (1, 5, 15 min) when it started: {loadAverageAtStart}; when it ended: {loadAverageAtEnd}.{(otherLoad.Length > 0 ? $" Also running on the machine: {otherLoad}." : "")}");
    }

    /// <summary>A table's head: the first column left-aligned, the others right-aligned (numbers).</summary>
    public void Header(string first, params IReadOnlyList<string> columns)
    {
        Row(first, columns);
        Line("|---|" + string.Concat(Enumerable.Repeat("---:|", columns.Count)));
    }

    public void Row(string label, params IReadOnlyList<string> cells) => Line($"| {label} | {string.Join(" | ", cells)} |");

    /// <summary>The heading and head of the table of the issue's targets, checked against the medians of <paramref name="column"/>.</summary>
    public void TargetsHeader(string heading, string column)
    {
        Line(heading);
        Line();
        Line($"| target | {column} | needed | met |");
        Line("|---|---:|---:|:---:|");
    }

    public void Target(string what, double value, double needed, bool met, string format) =>
        Line($"| {what} | {value.ToString(format, Invariant)} | {needed.ToString(format, Invariant)} | {(met ? "yes" : "**no**")} |");

    /// <summary>a / b of the medians, "-" unless both have runs and b is not zero.</summary>
    public static string Ratio(SampleStats a, SampleStats b) =>
        a.Count > 0 && b.Count > 0 && b.Median != 0 ? (a.Median / b.Median).ToString("F2", Invariant) : "-";

    /// <summary>a - b of the medians (for times), "-" unless both have runs.</summary>
    public static string Difference(SampleStats a, SampleStats b, string format) =>
        a.Count > 0 && b.Count > 0 ? (a.Median - b.Median).ToString(format, Invariant) : "-";

    public bool Has(string scenario) => samples.Any(s => s.Scenario == scenario);

    /// <summary>The statistics of one value at one point of one server (or deployment) over its runs.</summary>
    public SampleStats Stat(string scenario, string server, int n, string point, string key, bool sum = false) =>
        SampleStats.Of(samples.Where(s => s.Scenario == scenario && s.Server == server && s.Connections == n && s.Point == point), key, sum);
}
