using NUnit.Framework;

namespace ProcessHub.Tests.Infrastructure;

/// <summary>
/// The programs some tests drive (Chromium, Node with the ws package, redis-server, nginx). On a developer's machine a missing one
/// skips those tests (<see cref="Assert.Ignore(string)"/>) and says how to get it; on CI (<c>CI=true</c>, set by
/// <c>.ci/run</c>) it fails them, so a broken CI image never passes by skipping.
/// </summary>
internal static class RequiredTools
{
    public const string ChromiumPath = "/usr/bin/chromium";

    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Debian's Chromium, which the browser tests launch.</summary>
    public static void Chromium() =>
        Require(File.Exists(ChromiumPath), $"{ChromiumPath} is missing: ./run.sh test installs Debian's chromium package");

    /// <summary>Debian's redis-server, which the scale-out tests start.</summary>
    public static void Redis(string executable) =>
        Require(File.Exists(executable), $"{executable} is missing: ./run.sh test installs Debian's redis-server");

    /// <summary>nginx, which the scale-out tests put in front of the hubs with docs/scale-out.md's configuration.</summary>
    public static void Nginx(string? executable) =>
        Require(executable is not null, "nginx is missing: ./run.sh test unpacks Debian's nginx package into artifacts/tools/nginx");

    /// <summary>Node on the PATH and ws installed in ProcessHub.Tests/node; returns the node executable.</summary>
    public static string NodeWithWs()
    {
        var node = FindOnPath("node");
        Require(node is not null, "node is not on the PATH: ./run.sh test installs Debian's nodejs package");
        Require(File.Exists(Path.Combine(RepositoryPaths.NodeClients, "node_modules", "ws", "package.json")),
            "Node's ws package is missing: run `npm ci` in ProcessHub.Tests/node (./run.sh test does)");
        return node!;
    }

    private static void Require(bool present, string message)
    {
        if (present)
        {
            return;
        }
        if (IsCi)
        {
            Assert.Fail(message);
        }
        Assert.Ignore(message);
    }

    private static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, program))
            .FirstOrDefault(File.Exists);
}
