using System.Collections.Concurrent;
using System.Net.WebSockets;
using ProcessHub.Client.Internal;

namespace ProcessHub.Client;

/// <summary>
/// Watches a hub's processes over its WebSocket, as a browser tab does: <see cref="WatchAsync"/> yields typed events,
/// reconnects with backoff and jitter when the connection drops (1001 at a hub restart, 1006, 4429, an unreachable
/// hub), and after a reconnect in the same epoch replays what it missed, so that per process every event arrives
/// once and in <c>seq</c> order (docs/protocol.md sections 3-6).
/// </summary>
/// <example>
/// <code>
/// var watcher = new HubWatcher(new Uri("ws://127.0.0.1:8501/ws"), token);
/// await foreach (var e in watcher.WatchAsync(ct))
/// {
///     if (e is ProcessProgress p) Console.WriteLine($"{p.ProcessId}: {p.Progress}");
/// }
/// </code>
/// </example>
public sealed partial class HubWatcher
{
    // The hub allows a burst of 100 client messages (docs/protocol.md section 4); resuming more processes than this at
    // once would be refused, and their state comes from the fresh process_list anyway.
    private const int MaxResumesPerReconnect = 50;

    private readonly HubWatcherOptions _options;
    private readonly Backoff _backoff;
    private readonly Uri[] _urls;
    private readonly ConcurrentDictionary<string, PendingCancel> _pendingCancels = new(StringComparer.Ordinal);
    private WatchSocket? _socket;
    private string? _epoch;
    private long _requests;
    private int _watching;
    private int _urlIndex;

    /// <summary>A watcher of the hub at <paramref name="url"/> (e.g. <c>ws://127.0.0.1:8501/ws</c>) with a fixed token.</summary>
    public HubWatcher(Uri url, string token)
        : this(new HubWatcherOptions { Url = url, Token = token })
    {
    }

    /// <summary>A watcher with all its options.</summary>
    public HubWatcher(HubWatcherOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.Url);
        ArgumentNullException.ThrowIfNull(options.FailoverUrls);
        _urls = [options.Url, .. options.FailoverUrls];
        foreach (var url in _urls)
        {
            if (url is null || url.Scheme is not ("ws" or "wss"))
            {
                throw new ArgumentException("the hub's URLs must be ws:// or wss:// URLs", nameof(options));
            }
        }
        if (options.Token is null && options.TokenProvider is null)
        {
            throw new ArgumentException("give a Token or a TokenProvider", nameof(options));
        }
        _options = options;
        _backoff = new Backoff(options.MinReconnectDelay, options.MaxReconnectDelay, options.ReconnectJitter);
    }

    /// <summary>The hub's WebSocket URL (the first one, when <see cref="HubWatcherOptions.FailoverUrls"/> gives more).</summary>
    public Uri Url => _options.Url;

    /// <summary>
    /// The URL the watcher is connected to, or will try next: <see cref="Url"/> unless a drop or a failed attempt moved
    /// it on to one of <see cref="HubWatcherOptions.FailoverUrls"/>.
    /// </summary>
    public Uri CurrentUrl => _urls[Volatile.Read(ref _urlIndex)];

    /// <summary>True while <see cref="WatchAsync"/> holds an open, authenticated connection.</summary>
    public bool IsConnected => Volatile.Read(ref _socket) is not null;

    /// <summary>The epoch of the last <c>process_list</c>; null before the first.</summary>
    public string? Epoch => Volatile.Read(ref _epoch);

    /// <summary>
    /// Cancels a process (<c>cancel_process</c>, docs/protocol.md section 4) over the watch's connection, and completes
    /// when the hub confirms it with <c>process_cancelled</c>. That confirmation is read by <see cref="WatchAsync"/>,
    /// so keep enumerating it meanwhile (call this from another task, or do not await it inside the loop).
    /// </summary>
    /// <exception cref="HubRequestException">The hub refused: <c>not_found</c>, <c>forbidden</c>, <c>conflict</c> (it had already ended), or <c>unavailable</c> (the cancel could not be stored, or Redis is away: try again).</exception>
    /// <exception cref="HubConnectionException">Not connected, or the connection ended before the hub answered (it may have applied the cancel all the same: the list after the reconnect says).</exception>
    public async Task CancelAsync(string processId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(processId);
        var socket = Volatile.Read(ref _socket) ?? throw new HubConnectionException("not connected to the hub: cancel works while WatchAsync is connected");
        string requestId = $"cancel-{Interlocked.Increment(ref _requests)}";
        var pending = new PendingCancel(processId);
        _pendingCancels[requestId] = pending;
        try
        {
            if (!ReferenceEquals(Volatile.Read(ref _socket), socket))
            {
                // The watch let this connection go between the read above and the registration: it may already have
                // failed the pending cancels, this one not among them, which would then wait for ever.
                throw new HubConnectionException("the connection to the hub ended before the cancel was sent");
            }
            try
            {
                await socket.SendAsync(ClientMessages.Cancel(processId, requestId), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or IOException)
            {
                throw new HubConnectionException("the connection to the hub ended before the cancel was sent", innerException: ex);
            }
            await pending.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _pendingCancels.TryRemove(requestId, out _);
        }
    }

    // Called for every message as it is received (also while a resume holds events back), so a cancel completes as
    // soon as its answer is in.
    private void Observe(HubEvent hubEvent)
    {
        if (_pendingCancels.IsEmpty)
        {
            return;
        }
        switch (hubEvent)
        {
            case ProcessCancelled cancelled:
                foreach (var (_, pending) in _pendingCancels)
                {
                    if (pending.ProcessId == cancelled.ProcessId)
                    {
                        pending.Completion.TrySetResult();
                    }
                }
                break;
            case HubError { RequestId: { } requestId } error when _pendingCancels.TryGetValue(requestId, out var refused):
                refused.Completion.TrySetException(new HubRequestException(error.Code, error.Message));
                break;
        }
    }

    private void FailPendingCancels()
    {
        foreach (var (_, pending) in _pendingCancels)
        {
            pending.Completion.TrySetException(new HubConnectionException("the connection to the hub ended before it confirmed the cancel: the hub may have applied it all the same (its list after the reconnect says; a cancel sent again is then a conflict)"));
        }
    }
}
