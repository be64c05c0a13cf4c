using NUnit.Framework;

namespace ProcessHub.Tests;

/// <summary>
/// The test process hosts many servers and their clients at once, two fixtures at a time, on a 2-core machine whose
/// thread pool starts with two workers and adds more only about one a second. Code that blocks a pool thread while
/// it waits (a synchronous Redis SUBSCRIBE at hub start, sync-over-async in a library) then waits for that slow
/// growth and trips its own timeouts. More workers up front make the suite's speed depend on the machine, not on
/// the pool's warm-up; a production hub is one process and keeps the default.
/// </summary>
[SetUpFixture]
internal sealed class ThreadPoolSetup
{
    private const int MinimumWorkers = 32;

    [OneTimeSetUp]
    public void RaiseMinimumThreads()
    {
        ThreadPool.GetMinThreads(out int workers, out int completionPorts);
        ThreadPool.SetMinThreads(Math.Max(workers, MinimumWorkers), Math.Max(completionPorts, MinimumWorkers));
    }
}
