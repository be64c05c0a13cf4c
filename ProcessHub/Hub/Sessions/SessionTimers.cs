using Microsoft.Extensions.Logging;
using ProcessHub.Hub.Processes;

namespace ProcessHub.Hub.Sessions;

/// <summary>
/// The hub's clock-driven duties, one sweep for all connections instead of a timer each: the auth timeout and token
/// expiry (4401, docs/protocol.md section 2), and the engine's upkeep (retention). The slow-consumer stall limit is
/// the outbound layer's, swept by the server.
/// </summary>
internal sealed class SessionTimers
{
    private readonly SessionTable _sessions;
    private readonly SessionAuthenticator _authenticator;
    private readonly IProcessEngine _engine;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public SessionTimers(SessionTable sessions, SessionAuthenticator authenticator, IProcessEngine engine, TimeProvider time, ILogger logger)
    {
        _sessions = sessions;
        _authenticator = authenticator;
        _engine = engine;
        _time = time;
        _logger = logger;
    }

    /// <summary>Sweeps every <paramref name="interval"/> of the hub's clock until <paramref name="stopping"/>.</summary>
    public async Task RunAsync(TimeSpan interval, CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(interval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                try
                {
                    Sweep();
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    // One bad value must not end the sweep: without it no auth timeout, expiry, retention or stale
                    // check would ever run again. The next tick tries again.
                    _logger.LogError(ex, "the hub's sweep failed; it runs again at the next tick");
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Shutdown.
        }
    }

    internal void Sweep()
    {
        var now = _time.GetUtcNow();
        foreach (var (_, session) in _sessions)
        {
            if (session.Connection.IsClosing)
            {
                continue;
            }
            if (session.Identity is not { } identity)
            {
                if (now >= session.AuthDeadline)
                {
                    _authenticator.Fail(session, "auth timeout");
                }
            }
            else if (_authenticator.IsExpired(identity, now))
            {
                _authenticator.Fail(session, "token expired");
            }
        }
        _engine.Sweep();
    }
}
