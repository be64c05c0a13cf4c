namespace ProcessHub.Tests.Infrastructure;

/// <summary>The temporary directories of programs a test started (redis-server's, nginx's).</summary>
internal static class ScratchDirectory
{
    /// <summary>Deletes it with everything in it; a file still held open leaves it for the OS to clean.</summary>
    public static void Delete(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
            // Left for the OS to clean.
        }
    }
}
