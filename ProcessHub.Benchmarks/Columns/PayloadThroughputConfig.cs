using BenchmarkDotNet.Configs;

namespace ProcessHub.Benchmarks.Columns;

/// <summary>Adds a GB/s column computed from the <c>PayloadSize</c> parameter.</summary>
public sealed class PayloadThroughputConfig : ManualConfig
{
    public const string PayloadSizeParameter = "PayloadSize";

    public PayloadThroughputConfig() => AddColumn(new ThroughputColumn(PayloadSizeParameter));
}
