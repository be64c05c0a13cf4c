using System.Globalization;
using System.Net;
using ProcessHub.Benchmarks.Load;

namespace ProcessHub.Benchmarks.Durable;

/// <summary>
/// The durable store's counters as a hub's <c>/metrics</c> shows them (all zero for the memory store), and the
/// outbound ones that tell how many frames each socket send carried.
/// </summary>
internal readonly record struct StoreMetrics(double Commits, double EventsWritten, double CommitSeconds, double Checkpoints, double CheckpointSeconds, double LongestCheckpointSeconds, double EventsPublished, double FramesSent = 0, double Sends = 0)
{
    public static StoreMetrics Read(RawHttpConnection http)
    {
        http.Send("GET", "/metrics", null, ReadOnlySpan<byte>.Empty);
        double commits = 0, events = 0, commitSeconds = 0, checkpoints = 0, checkpointSeconds = 0, longest = 0, published = 0, frames = 0, sends = 0;
        foreach (var line in http.LastBodyText.Split('\n'))
        {
            int space = line.LastIndexOf(' ');
            if (line.StartsWith('#') || space <= 0 || !double.TryParse(line.AsSpan(space + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
            {
                continue;
            }
            switch (line[..space])
            {
                case "processhub_store_commits_total": commits = value; break;
                case "processhub_store_events_written_total": events = value; break;
                case "processhub_store_commit_seconds_total": commitSeconds = value; break;
                case "processhub_store_checkpoints_total": checkpoints = value; break;
                case "processhub_store_checkpoint_seconds_total": checkpointSeconds = value; break;
                case "processhub_store_checkpoint_longest_seconds": longest = value; break;
                case "processhub_events_published_total": published = value; break;
                case "processhub_messages_sent_total": frames = value; break;
                case "processhub_socket_sends_total": sends = value; break;
            }
        }
        return new StoreMetrics(commits, events, commitSeconds, checkpoints, checkpointSeconds, longest, published, frames, sends);
    }

    public static StoreMetrics Read(IPEndPoint endPoint)
    {
        using var http = new RawHttpConnection(endPoint);
        return Read(http);
    }
}
