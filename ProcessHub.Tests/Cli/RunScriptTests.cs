using System.Diagnostics;
using NUnit.Framework;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.Cli;

/// <summary>
/// <c>run.sh</c> itself, called from another directory as a user would (<c>~/processhub/run.sh ...</c>): a relative path
/// in an option means the file where it was called, not one in the repository.
/// </summary>
[TestFixture]
[Category("process")]
public sealed class RunScriptTests
{
    [Test]
    public async Task A_relative_secret_file_is_read_from_the_directory_run_sh_was_called_in()
    {
        string directory = Directory.CreateTempSubdirectory("processhub-run-sh-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(directory, "secret.txt"), "a secret of well over thirty-two bytes, for run.sh");
            var start = new ProcessStartInfo("bash")
            {
                WorkingDirectory = directory,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var arg in new[] { Path.Combine(RepositoryPaths.Root, "run.sh"), "token", "--user", "alice", "--jwt-secret-file", "./secret.txt" })
            {
                start.ArgumentList.Add(arg);
            }
            foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("PROCESSHUB_", StringComparison.Ordinal)).ToList())
            {
                start.Environment.Remove(name);
            }
            using var script = Process.Start(start)!;
            var stdout = script.StandardOutput.ReadToEndAsync();
            var stderr = script.StandardError.ReadToEndAsync();
            // A first build, if the sources are newer than the binary, takes about half a minute.
            await script.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));

            Assert.That(script.ExitCode, Is.EqualTo(0), await stderr);
            Assert.That((await stdout).Trim().Split('.'), Has.Length.EqualTo(3), "a JWT on its own line");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
