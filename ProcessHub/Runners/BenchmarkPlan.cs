using System.Text.Json;
using ProcessHub.Hub;

namespace ProcessHub.Runners;

/// <summary>
/// What <c>POST /api/benchmark</c> asks for: every model, run and context is one step, so
/// <c>total = models x runs x contexts</c>.
/// </summary>
internal sealed record BenchmarkPlan(IReadOnlyList<string> Models, int Runs, IReadOnlyList<string> Contexts, int StepMs, int? FailAt)
{
    public const int MaxSteps = 100_000;

    public int TotalSteps => Models.Count * Runs * Contexts.Count;

    /// <summary>Validates the body; the problem text is what the 400 says.</summary>
    public static bool TryParse(JsonElement body, out BenchmarkPlan plan, out string? problem)
    {
        plan = null!;
        if (!TryReadNames(body, "models", out var models, out problem) || !TryReadNames(body, "contexts", out var contexts, out problem))
        {
            return false;
        }
        if (!TryReadInt(body, "runs", 1, 1, 1000, out int runs, out problem)
            || !TryReadInt(body, "step_ms", 500, 0, 600_000, out int stepMs, out problem))
        {
            return false;
        }
        long total = (long)models.Count * runs * contexts.Count;
        if (total > MaxSteps)
        {
            problem = $"models x runs x contexts must be at most {MaxSteps} steps, got {total}";
            return false;
        }
        int? failAt = null;
        if (body.TryGetProperty("fail_at", out var failElement) && failElement.ValueKind != JsonValueKind.Null)
        {
            if (!TryReadInt(body, "fail_at", 0, 1, (int)total, out int step, out problem))
            {
                return false;
            }
            failAt = step;
        }
        plan = new BenchmarkPlan(models, runs, contexts, stepMs, failAt);
        return true;
    }

    private static bool TryReadNames(JsonElement body, string name, out List<string> values, out string? problem)
    {
        values = [];
        problem = null;
        if (!body.TryGetProperty(name, out var array) || array.ValueKind != JsonValueKind.Array || array.GetArrayLength() == 0)
        {
            problem = $"{name} must be a non-empty array of strings";
            return false;
        }
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(item.GetString()) || FieldLimits.HasMoreCharactersThan(item.GetString()!, FieldLimits.MaxBenchmarkNameLength))
            {
                problem = $"every entry of {name} must be a non-empty string of at most {FieldLimits.MaxBenchmarkNameLength} characters";
                return false;
            }
            values.Add(item.GetString()!);
        }
        return true;
    }

    private static bool TryReadInt(JsonElement body, string name, int defaultValue, int min, int max, out int value, out string? problem)
    {
        value = defaultValue;
        problem = null;
        if (!body.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return true;
        }
        if (element.ValueKind != JsonValueKind.Number || !element.TryGetInt32(out value) || value < min || value > max)
        {
            problem = $"{name} must be an integer from {min} to {max}";
            return false;
        }
        return true;
    }
}
