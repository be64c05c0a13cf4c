using System.Diagnostics;
using ProcessHub.Http;

namespace ProcessHub.Api;

/// <summary>
/// Operations for admins. <c>POST /api/admin/reclaim</c> runs the collection the server runs after a connection storm,
/// now, and reports the heap and the process's resident memory after it: for an operator who
/// wants memory back at once, and for the benchmark, which measures memory per idle connection after a full GC for
/// every server it compares.
/// </summary>
internal sealed class AdminApi
{
    private readonly ApiAuthenticator _auth;
    private readonly Func<long> _reclaim;

    /// <param name="reclaim">Runs a blocking, compacting full collection; returns the heap size after it.</param>
    public AdminApi(ApiAuthenticator auth, Func<long> reclaim)
    {
        _auth = auth;
        _reclaim = reclaim;
    }

    public void MapTo(Router router) => router.Map("POST", "/api/admin/reclaim", ReclaimAsync);

    private async ValueTask ReclaimAsync(HttpExchange exchange)
    {
        if (await _auth.AuthenticateAsync(exchange).ConfigureAwait(false) is not { } caller)
        {
            return;
        }
        if (!caller.IsAdmin)
        {
            await exchange.RespondErrorAsync(403, "forbidden", "only an admin may run a reclaim").ConfigureAwait(false);
            return;
        }
        long heap = _reclaim();
        using var process = Process.GetCurrentProcess();
        // What the heap size is made of, for a memory investigation (issue 13, item 11): live data is heap minus
        // fragmentation; pinned objects are what a compaction cannot move.
        var collected = GC.GetGCMemoryInfo(GCKind.FullBlocking);
        await exchange.RespondJsonAsync(200, new
        {
            heap_bytes = heap,
            resident_bytes = process.WorkingSet64,
            fragmented_bytes = collected.FragmentedBytes,
            committed_bytes = collected.TotalCommittedBytes,
            pinned_objects = collected.PinnedObjectsCount,
        }).ConfigureAwait(false);
    }
}
