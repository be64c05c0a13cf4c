namespace ProcessHub.Tests.Storage;

/// <summary>A temporary directory for one test's store, removed with everything in it at the end.</summary>
internal sealed class DataDirectory : IDisposable
{
    public DataDirectory() => System.IO.Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "processhub-test-" + Guid.NewGuid().ToString("N"));

    public string Database => System.IO.Path.Combine(Path, ProcessHub.Storage.SqliteProcessStore.FileName);

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A child process may still hold a file for a moment; the OS cleans the temp directory eventually.
        }
    }
}
