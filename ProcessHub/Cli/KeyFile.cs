namespace ProcessHub.Cli;

/// <summary>
/// Reads the file a key option names (<c>--jwt-secret-file</c>, <c>--jwt-public-key</c>), for the hub and for
/// <c>processhub token</c> alike. The runtime's own words for what goes wrong ("The value cannot be an empty string.
/// (Parameter 'path')", "Access to the path is denied" for a directory) named neither the option nor what to give.
/// </summary>
internal static class KeyFile
{
    /// <exception cref="ArgumentException">The option names no file this user can read; the message says which option and what to give.</exception>
    public static string Read(string option, string path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new ArgumentException($"{option} is empty: give the path of a file");
        }
        if (Directory.Exists(path))
        {
            throw new ArgumentException($"{option} {path} is a directory: give the path of a file");
        }
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ArgumentException($"{option} {path}: no such file");
        }
        catch (UnauthorizedAccessException)
        {
            throw new ArgumentException($"{option} {path}: this user may not read it");
        }
    }
}
