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
    private readonly string? _token;
    private readonly Backoff _backoff;
    private readonly Uri[] _urls;
    private readonly ConcurrentDictionary<string, PendingCancel> _pendingCancels = new(StringComparer.Ordinal);
    private WatchSocket? _socket;
    private string? _epoch;
    private long _requests;
    private int _watching;
    private int _urlIndex;

    /// <summary>A watcher of the hub at <paramref name="url"/> (e.g. <c>ws://127.0.0.1:8501/ws</c>) with a fixed token.</summary>
    /// <param name="url">The hub's absolute ws:// or wss:// URL.</param>
    /// <param name="token">The JWT to connect with; white space around it (a file's last newline) is trimmed.</param>
    /// <exception cref="ArgumentNullException"><paramref name="url"/> or <paramref name="token"/> is null.</exception>
    /// <exception cref="ArgumentException">
    /// <paramref name="url"/> is relative or not ws(s), or <paramref name="token"/> is empty or only white space.
    /// </exception>
    public HubWatcher(Uri url, string token)
        : this(new HubWatcherOptions { Url = ClientChecks.AbsoluteUrl(url, nameof(url), "ws", "wss"), Token = ClientChecks.Token(token, nameof(token)) })
    {
    }

    /// <summary>A watcher with all its options.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="options"/>, its URL or its failover list is null.</exception>
    /// <exception cref="ArgumentException">
    /// A URL is relative or not ws(s); neither a token nor a token provider is given; or the token is empty or only
    /// white space.
    /// </exception>
    /// <exception cref="ArgumentOutOfRangeException">
    /// An option is out of the range its documentation gives; the exception's <c>ParamName</c> names it
    /// (<c>options.MinReconnectDelay</c>).
    /// </exception>
    public HubWatcher(HubWatcherOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ClientChecks.AbsoluteUrl(options.Url, $"{nameof(options)}.{nameof(options.Url)}", "ws", "wss");
        ArgumentNullException.ThrowIfNull(options.FailoverUrls, $"{nameof(options)}.{nameof(options.FailoverUrls)}");
        foreach (var url in options.FailoverUrls)
        {
            ClientChecks.AbsoluteUrl(url, $"{nameof(options)}.{nameof(options.FailoverUrls)}", "ws", "wss");
        }
        _urls = [options.Url, .. options.FailoverUrls];
        if (options.Token is null && options.TokenProvider is null)
        {
            throw new ArgumentException("give a Token or a TokenProvider", nameof(options));
        }
        _token = options.Token is null ? null : ClientChecks.Token(options.Token, $"{nameof(options)}.{nameof(options.Token)}");
        CheckRanges(options);
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
    /// <exception cref="HubRequestException">
    /// The hub refused: <c>not_found</c>, <c>forbidden</c>, <c>conflict</c> (it had already ended), <c>unavailable</c>
    /// (the cancel could not be stored, or Redis is away: try again), <c>rate_limited</c> (past the connection's message
    /// rate limit: try again more slowly), or <c>bad_request</c> (an id the hub does not read, such as one over 256
    /// characters).
    /// </exception>
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

    // Each option as its documentation has it. Out of range, each failed somewhere worse: a MinReconnectDelay of zero
    // retried in a tight loop, a negative timeout or interval threw at the first connection, a jitter of NaN made NaN
    // delays, a MaxFailedAttempts of 0 gave up as 1 does.
    private static void CheckRanges(HubWatcherOptions options)
    {
        var longest = ClientChecks.LongestWait;
        if (options.MinReconnectDelay <= TimeSpan.Zero || options.MinReconnectDelay > longest)
        {
            throw ClientChecks.OutOfRange(nameof(options.MinReconnectDelay), options.MinReconnectDelay, "must be more than zero and at most 49 days");
        }
        if (options.MaxReconnectDelay < options.MinReconnectDelay || options.MaxReconnectDelay > longest)
        {
            throw ClientChecks.OutOfRange(nameof(options.MaxReconnectDelay), options.MaxReconnectDelay, $"must be at least MinReconnectDelay ({options.MinReconnectDelay}) and at most 49 days");
        }
        if (options.StableAfter < TimeSpan.Zero)
        {
            throw ClientChecks.OutOfRange(nameof(options.StableAfter), options.StableAfter, "must be zero or more");
        }
        if (!(options.ReconnectJitter is >= 0 and <= 1))
        {
            // Written so that NaN, which fails every comparison, fails this one too.
            throw ClientChecks.OutOfRange(nameof(options.ReconnectJitter), options.ReconnectJitter, "must be from 0 to 1");
        }
        if (options.MaxFailedAttempts is < 1)
        {
            throw ClientChecks.OutOfRange(nameof(options.MaxFailedAttempts), options.MaxFailedAttempts, "must be 1 or more (null never gives up)");
        }
        if (options.ConnectTimeout != Timeout.InfiniteTimeSpan && (options.ConnectTimeout <= TimeSpan.Zero || options.ConnectTimeout > longest))
        {
            throw ClientChecks.OutOfRange(nameof(options.ConnectTimeout), options.ConnectTimeout, "must be more than zero and at most 49 days, or Timeout.InfiniteTimeSpan (no limit)");
        }
        if (options.KeepAliveInterval != Timeout.InfiniteTimeSpan && (options.KeepAliveInterval < TimeSpan.Zero || options.KeepAliveInterval > longest))
        {
            throw ClientChecks.OutOfRange(nameof(options.KeepAliveInterval), options.KeepAliveInterval, "must be from zero (no pings) to 49 days, or Timeout.InfiniteTimeSpan (no pings)");
        }
        if (options.MaxMessageBytes <= 0)
        {
            throw ClientChecks.OutOfRange(nameof(options.MaxMessageBytes), options.MaxMessageBytes, "must be more than zero");
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
