namespace ProcessHub.Tests.Infrastructure;

/// <summary>Finds files of the checkout from the test assembly's folder, wherever the build put it.</summary>
internal static class RepositoryPaths
{
    /// <summary>The folder holding ProcessHub.sln, found by walking up from the test assembly.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>ProcessHub.Tests/node: the Node clients and their node_modules.</summary>
    public static string NodeClients => Path.Combine(Root, "ProcessHub.Tests", "node");

    /// <summary>The server binary, copied next to the tests by the project reference.</summary>
    public static string ServerDll => Path.Combine(AppContext.BaseDirectory, "ProcessHub.dll");

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "ProcessHub.sln")))
            {
                return directory.FullName;
            }
        }
        throw new DirectoryNotFoundException($"no ProcessHub.sln above {AppContext.BaseDirectory}");
    }
}
