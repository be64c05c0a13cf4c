using System.Globalization;

namespace ProcessHub.Benchmarks.Durable;

/// <summary>What the runners that start real hubs (durable, scaleout) share: their log line, a sample's values as text, what counts as a failed run, and cleaning up their work directory.</summary>
internal static class RunSupport
{
    /// <summary>A run that failed this way is recorded as failed and the benchmark goes on; anything else is a bug in the tool.</summary>
    public static bool IsRunFailure(Exception ex) =>
        ex is IOException or System.Net.Sockets.SocketException or InvalidOperationException or TimeoutException or OperationCanceledException
            or System.Net.WebSockets.WebSocketException or StackExchange.Redis.RedisException;

    public static string Format(Dictionary<string, double> values) =>
        string.Join(' ', values.Select(v => $"{v.Key}={v.Value.ToString("G4", CultureInfo.InvariantCulture)}"));

    public static void Log(string line) => Console.Error.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {line}");

    public static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
