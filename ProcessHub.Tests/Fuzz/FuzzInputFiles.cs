using ProcessHub.Fuzz;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.Fuzz;

/// <summary>
/// The committed inputs of each fuzz target: its seed corpus (<c>ProcessHub.Fuzz/Corpus/TARGET</c>) and every crash or
/// hang a fuzzing run copied to <c>ProcessHub.Fuzz/Findings/TARGET</c>, which stays as a regression input.
/// </summary>
internal static class FuzzInputFiles
{
    public static string CorpusFolder(string target) => Path.Combine(RepositoryPaths.Root, "ProcessHub.Fuzz", "Corpus", target);

    public static string FindingsFolder(string target) => Path.Combine(RepositoryPaths.Root, "ProcessHub.Fuzz", "Findings", target);

    public static string[] Corpus(string target) => Files(CorpusFolder(target));

    public static string[] Findings(string target) => Files(FindingsFolder(target));

    /// <summary>(target, file relative to the repository) for every committed input of every target.</summary>
    public static IEnumerable<(string Target, string RelativePath)> All()
    {
        foreach (var target in FuzzTargets.All)
        {
            foreach (string file in Corpus(target.Name).Concat(Findings(target.Name)))
            {
                yield return (target.Name, Path.GetRelativePath(RepositoryPaths.Root, file));
            }
        }
    }

    private static string[] Files(string folder) =>
        Directory.Exists(folder)
            ? [.. Directory.GetFiles(folder).Where(file => !Path.GetFileName(file).StartsWith('.')).Order(StringComparer.Ordinal)]
            : [];
}
