using System.Text.Json;

namespace ProcessHub.Benchmarks.Soak;

/// <summary>
/// Watches the hub all along: every second its resident memory, threads and file descriptors (from /proc) and that
/// <c>/healthz</c> answers; every <see cref="ReclaimEvery"/> a compacting GC (<c>POST /api/admin/reclaim</c>) and the
/// resident memory after it, which is the series whose slope says whether memory levels off.
/// </summary>
internal sealed class Sampler
{
    public static readonly TimeSpan ReclaimEvery = TimeSpan.FromSeconds(15);

    private readonly SoakContext _context;
    private readonly List<ProcessSample> _samples = [];
    private readonly List<(double Seconds, long ResidentBytes, long HeapBytes)> _reclaims = [];
    private int _maxConnections;

    public Sampler(SoakContext context) => _context = context;

    public IReadOnlyList<ProcessSample> Samples => _samples;

    public IReadOnlyList<(double Seconds, long ResidentBytes, long HeapBytes)> Reclaims => _reclaims;

    public int MaxConnectionsSeen => _maxConnections;

    /// <summary>Processes the hub knew at the last sample (running, and ended within retention).</summary>
    public int ProcessesKnown { get; private set; }

    public async Task RunAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        double nextReclaim = ReclaimEvery.TotalSeconds;
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                await SampleAsync(stop).ConfigureAwait(false);
                if (_context.Now >= nextReclaim)
                {
                    nextReclaim += ReclaimEvery.TotalSeconds;
                    await ReclaimAsync(stop).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The soak is over.
        }
    }

    public async Task SampleAsync(CancellationToken cancellation)
    {
        if (_context.Hub.HasExited)
        {
            _context.Violations.Add("the hub exited during the soak");
            return;
        }
        _samples.Add(ProcessSample.Take(_context.Hub.Pid, _context.Now));
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        deadline.CancelAfter(TimeSpan.FromSeconds(10));
        try
        {
            var health = await _context.HealthAsync(deadline.Token).ConfigureAwait(false);
            _maxConnections = Math.Max(_maxConnections, health.GetProperty("connections").GetInt32());
            ProcessesKnown = health.GetProperty("processes").GetInt32();
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException || (ex is OperationCanceledException && !cancellation.IsCancellationRequested))
        {
            _context.Violations.Add($"/healthz did not answer within 10 s: {ex.GetType().Name}");
        }
    }

    /// <summary>A compacting GC in the hub, then its resident memory.</summary>
    public async Task ReclaimAsync(CancellationToken cancellation)
    {
        var (status, body) = await _context.SendAsync(HttpMethod.Post, "/api/admin/reclaim", SoakHub.AdminToken, null, cancellation).ConfigureAwait(false);
        if (status != 200)
        {
            _context.Violations.Add($"reclaim answered {status}");
            return;
        }
        _reclaims.Add((_context.Now, body.GetProperty("resident_bytes").GetInt64(), body.GetProperty("heap_bytes").GetInt64()));
    }
}
