using System.Text.RegularExpressions;
using NUnit.Framework;
using ProcessHub.Fuzz;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.Fuzz;

/// <summary>
/// <c>./run.sh fuzz</c> has SharpFuzz instrument only the types its <c>fuzz_instrumented</c> names (by prefix). A prefix
/// that no longer names a type (a class moved to another namespace) leaves a target with no instrumentation, and
/// afl-fuzz stops with "No instrumentation detected" only when somebody runs it: this catches it on every test run.
/// </summary>
[TestFixture]
[Category("unit")]
internal sealed partial class FuzzInstrumentationTests
{
    [Test]
    public void Every_target_has_instrumented_code_named_in_run_sh_and_each_ProcessHub_prefix_names_a_type()
    {
        var prefixes = InstrumentedPrefixes();
        Assert.That(prefixes.Keys, Is.EquivalentTo(FuzzTargets.All.Select(target => target.Name)), "run.sh names the instrumented code of every target");
        var typeNames = typeof(ProcessHub.Server.HubApplication).Assembly.GetTypes().Select(type => type.FullName!).ToArray();
        foreach (var (target, names) in prefixes)
        {
            foreach (string prefix in names)
            {
                Assert.That(typeNames.Any(name => name.StartsWith(prefix, StringComparison.Ordinal)), Is.True,
                    $"fuzz target {target}: no type of ProcessHub.dll starts with '{prefix}'");
            }
        }
    }

    /// <summary>target -> the type prefixes run.sh gives SharpFuzz for ProcessHub.dll (other assemblies are whole).</summary>
    private static Dictionary<string, List<string>> InstrumentedPrefixes()
    {
        string script = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "run.sh"));
        int start = script.IndexOf("fuzz_instrumented() {", StringComparison.Ordinal);
        Assert.That(start, Is.GreaterThanOrEqualTo(0), "run.sh defines fuzz_instrumented");
        string body = script[start..script.IndexOf("\n}", start, StringComparison.Ordinal)];
        var result = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        string? target = null;
        foreach (string line in body.Split('\n'))
        {
            if (TargetCase().Match(line) is { Success: true } label)
            {
                target = label.Groups[1].Value;
                result[target] = [];
            }
            foreach (Match echo in Echo().Matches(line))
            {
                string[] words = echo.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (target is not null && words.Length > 1 && words[0] == "ProcessHub.dll")
                {
                    result[target].AddRange(words[1..]);
                }
            }
        }
        return result;
    }

    [GeneratedRegex(@"^\s*([a-z-]+)\)")]
    private static partial Regex TargetCase();

    [GeneratedRegex("echo \"([^\"]+)\"")]
    private static partial Regex Echo();
}
