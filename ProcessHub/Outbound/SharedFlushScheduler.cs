namespace ProcessHub.Outbound;

/// <summary>Spreads queues over a fixed set of <see cref="Flusher"/>s by connection, so one connection's frames stay in order on one flusher.</summary>
internal sealed class SharedFlushScheduler : FlushScheduler
{
    private readonly Flusher[] _flushers;

    public SharedFlushScheduler(int flushers)
    {
        _flushers = new Flusher[Math.Max(1, flushers)];
        for (int i = 0; i < _flushers.Length; i++)
        {
            _flushers[i] = new Flusher();
        }
    }

    internal override void Schedule(OutboundConnection connection) => _flushers[(int)(connection.Key % (ulong)_flushers.Length)].Add(connection);
}
