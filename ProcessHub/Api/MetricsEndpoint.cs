using System.Globalization;
using Prometheus;
using ProcessHub.Http;
using ProcessHub.Hub;
using ProcessHub.Hub.Processes;
using ProcessHub.Hub.Sessions;
using ProcessHub.Outbound;
using ProcessHub.Storage;

namespace ProcessHub.Api;

/// <summary>
/// <c>GET /metrics</c> in the Prometheus text format, written by prometheus-net from a registry of our own and
/// served by our HTTP layer. The hot paths keep plain counters; they are copied into the collectors only when
/// scraped, so collecting costs nothing per message.
/// </summary>
internal sealed class MetricsEndpoint
{
    private readonly CollectorRegistry _registry = Metrics.NewCustomRegistry();

    public MetricsEndpoint(IConnectionCounts server, ConnectionLimits limits, ProcessRegistry processes, HubCounters counters, StoreStatistics? store, Func<EngineHealth> engine)
    {
        // The process's own (resident memory, CPU seconds, open handles, threads, start time) and the runtime's (GC
        // collections, heap size), which an operator reads beside ours; prometheus-net reads them at each scrape.
        DotNetStats.Register(_registry);
        var metrics = Metrics.WithCustomRegistry(_registry);
        var webSockets = metrics.CreateGauge("processhub_websocket_connections", "WebSocket connections open.");
        var connections = metrics.CreateGauge("processhub_tcp_connections", "TCP connections open (HTTP and WebSocket).");
        var capacity = metrics.CreateGauge("processhub_tcp_connection_capacity", "TCP connections the open-file limit leaves room for at once (past them new ones wait in the listen backlog).");
        var listenerFull = metrics.CreateCounter("processhub_listener_full_total", "Times the listener stopped accepting because it held as many connections as the open-file limit leaves room for.");
        var sseStreams = metrics.CreateGauge("processhub_sse_streams", "SSE streams open (they count against the connection limits with WebSockets).");
        var processCount = metrics.CreateGauge("processhub_processes", "Processes known to the hub (running, and ended within the retention window).");
        var historyBytes = metrics.CreateGauge("processhub_history_bytes", "Bytes the processes' histories hold for replay (the events' buffers), over every owner.");
        var historyTrimmed = metrics.CreateCounter("processhub_history_trimmed_events_total", "Events let go from history before their time to keep an owner within --max-history-bytes-per-user.");
        var messagesSent = metrics.CreateCounter("processhub_messages_sent_total", "WebSocket frames handed to sockets.");
        var bytesSent = metrics.CreateCounter("processhub_bytes_sent_total", "WebSocket bytes handed to sockets.");
        var sends = metrics.CreateCounter("processhub_socket_sends_total", "Socket send calls (each carries every frame that was ready).");
        var published = metrics.CreateCounter("processhub_events_published_total", "Process events published (each serialized once).");
        var coalesced = metrics.CreateCounter("processhub_progress_coalesced_total", "Progress events replaced by a newer one in a backed-up queue.");
        var slowConsumers = metrics.CreateCounter("processhub_slow_consumer_closes_total", "Connections closed with 4429.");
        var authFailures = metrics.CreateCounter("processhub_auth_failures_total", "Failed authentications by reason.", "reason");
        var closes = metrics.CreateCounter("processhub_websocket_closes_total", "Closed WebSocket connections by close code.", "code");
        var httpResponses = metrics.CreateCounter("processhub_http_responses_total", "HTTP responses sent by status code (101 for each WebSocket upgrade; an SSE stream counts when it starts).", "status");

        var storeCommits = metrics.CreateCounter("processhub_store_commits_total", "Transactions the durable store committed (each carries every event queued meanwhile).");
        var storeEvents = metrics.CreateCounter("processhub_store_events_written_total", "Events the durable store made durable.");
        var storeCommitSeconds = metrics.CreateCounter("processhub_store_commit_seconds_total", "Time the durable store's writer spent writing and committing.");
        var storeCheckpoints = metrics.CreateCounter("processhub_store_checkpoints_total", "Write-ahead log checkpoints (run off the write path).");
        var storeCheckpointFailures = metrics.CreateCounter("processhub_store_checkpoint_failures_total", "Write-ahead log checkpoints that failed (a full disk, an I/O error); each is tried again a second later.");
        var storeCheckpointSeconds = metrics.CreateCounter("processhub_store_checkpoint_seconds_total", "Time spent in write-ahead log checkpoints (off the write path).");
        var storeLongestCheckpoint = metrics.CreateGauge("processhub_store_checkpoint_longest_seconds", "The longest checkpoint so far.");
        var storeLogFrames = metrics.CreateGauge("processhub_store_log_frames", "Frames (4 KiB pages) in the write-ahead log at the last checkpoint.");
        var storeLogRestarts = metrics.CreateCounter("processhub_store_log_restarts_total", "Times the writer folded in the rest of a long write-ahead log between two commits so that the log started over.");
        var storeLogRestartSeconds = metrics.CreateCounter("processhub_store_log_restart_seconds_total", "The writer's time in those folds (on the write path, between commits).");

        var engineConnected = metrics.CreateGauge("processhub_engine_connected", "1 when the engine takes events (a shared engine's Redis is reachable and took this hub's last write), else 0.");
        var engineLag = metrics.CreateGauge("processhub_engine_lag_events", "Events the shared engine holds that this hub has not applied yet.");
        var engineGaps = metrics.CreateCounter("processhub_engine_gaps_filled_total", "Times this hub noticed missed events and fetched them from the shared log.");
        var engineResyncs = metrics.CreateCounter("processhub_engine_resyncs_total", "Times this hub reloaded every process from the shared engine.");

        _registry.AddBeforeCollectCallback(() =>
        {
            var health = engine();
            engineConnected.Set(health.Connected ? 1 : 0);
            engineLag.Set(health.LagEvents);
            engineGaps.IncTo(health.GapsFilled);
            engineResyncs.IncTo(health.Resyncs);
            if (store is not null)
            {
                storeCommits.IncTo(store.Commits);
                storeEvents.IncTo(store.EventsWritten);
                storeCommitSeconds.IncTo(store.CommitTime.TotalSeconds);
                storeCheckpoints.IncTo(store.Checkpoints);
                storeCheckpointFailures.IncTo(store.CheckpointFailures);
                storeCheckpointSeconds.IncTo(store.CheckpointTime.TotalSeconds);
                storeLongestCheckpoint.Set(store.LongestCheckpoint.TotalSeconds);
                storeLogFrames.Set(store.LogFrames);
                storeLogRestarts.IncTo(store.LogRestarts);
                storeLogRestartSeconds.IncTo(store.LogRestartTime.TotalSeconds);
            }
            webSockets.Set(server.OpenWebSockets);
            sseStreams.Set(limits.Streams);
            connections.Set(server.OpenConnections);
            if (server.ConnectionCapacity is int room)
            {
                capacity.Set(room);
            }
            listenerFull.IncTo(server.TimesFull);
            processCount.Set(processes.Count);
            historyBytes.Set(processes.HistoryBudget.TotalBytes);
            historyTrimmed.IncTo(processes.HistoryBudget.EventsTrimmed);
            messagesSent.IncTo(OutboundCounters.FramesSent);
            bytesSent.IncTo(OutboundCounters.BytesSent);
            sends.IncTo(OutboundCounters.Sends);
            published.IncTo(processes.EventsPublished);
            coalesced.IncTo(OutboundCounters.ProgressCoalesced);
            slowConsumers.IncTo(counters.Closes.GetValueOrDefault(4429));
            foreach (var (reason, count) in counters.AuthFailures)
            {
                authFailures.WithLabels(reason).IncTo(count);
            }
            foreach (var (code, count) in counters.Closes)
            {
                closes.WithLabels(code == HubCounters.OtherCloseCodes ? "other" : code.ToString(CultureInfo.InvariantCulture)).IncTo(count);
            }
            foreach (var (status, count) in server.HttpResponses.Sent())
            {
                httpResponses.WithLabels(status.ToString(CultureInfo.InvariantCulture)).IncTo(count);
            }
        });
    }

    public void MapTo(Router router) => router.Map("GET", "/metrics", ServeAsync);

    private async ValueTask ServeAsync(HttpExchange exchange)
    {
        using var text = new MemoryStream();
        await _registry.CollectAndExportAsTextAsync(text).ConfigureAwait(false);
        await exchange.RespondAsync(200, "text/plain; version=0.0.4; charset=utf-8", text.ToArray()).ConfigureAwait(false);
    }
}
