using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace ProcessHub.Benchmarks.Columns;

/// <summary>
/// Payload bytes per second, from the benchmark's mean and the [Params] value that holds the payload size
/// (decimal GB, 10^9 bytes, as network throughput is usually quoted).
/// </summary>
public sealed class ThroughputColumn : IColumn
{
    private readonly string _sizeParameter;

    public ThroughputColumn(string sizeParameter) => _sizeParameter = sizeParameter;

    public string Id => $"{nameof(ThroughputColumn)}.{_sizeParameter}";

    public string ColumnName => "GB/s";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => $"Payload throughput: {_sizeParameter} bytes / Mean, in 10^9 bytes per second";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var statistics = summary[benchmarkCase]?.ResultStatistics;
        object? size = benchmarkCase.Parameters[_sizeParameter];
        if (statistics is null || statistics.Mean <= 0 || size is null)
        {
            return "-";
        }
        double bytes = Convert.ToDouble(size, CultureInfo.InvariantCulture);
        double bytesPerNanosecond = bytes / statistics.Mean; // Mean is in nanoseconds; bytes/ns = GB/s
        return bytesPerNanosecond.ToString("0.00", CultureInfo.InvariantCulture);
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public override string ToString() => ColumnName;
}
