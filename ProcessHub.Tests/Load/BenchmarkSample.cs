using System.Text.Json;

namespace ProcessHub.Tests.Load;

/// <summary>One sample of a benchmark tool's --json output (a scenario point of one server in one run), as the smoke tests read it.</summary>
internal sealed record BenchmarkSample(string Scenario, string Server, string Point, int Connections, Dictionary<string, double> Values)
{
    public static async Task<List<BenchmarkSample>> ReadAllAsync(string jsonPath) =>
        JsonSerializer.Deserialize<List<BenchmarkSample>>(await File.ReadAllTextAsync(jsonPath))!;
}
