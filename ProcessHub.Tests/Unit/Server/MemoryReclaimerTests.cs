using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using ProcessHub.Server;

namespace ProcessHub.Tests.Unit.Server;

/// <summary>
/// When <see cref="MemoryReclaimer"/> collects: once per storm of at least the configured number of WebSocket
/// openings, and only after openings and sends have paused for <see cref="MemoryReclaimer.QuietPeriod"/>. Time is fake; the
/// collections are real.
/// </summary>
[TestFixture]
[Category("unit")]
internal sealed class MemoryReclaimerTests
{
    private const int StormSize = 1_000;
    private readonly FakeTimeProvider _time = new();
    private long _opened;
    private long _sent;

    [Test]
    public void A_storm_is_reclaimed_once_after_openings_pause()
    {
        var reclaimer = new MemoryReclaimer(() => _opened, () => _sent, StormSize, _time);

        _opened = StormSize;
        reclaimer.Check(); // sees the storm still moving
        _time.Advance(MemoryReclaimer.QuietPeriod / 2);
        reclaimer.Check();
        Assert.That(reclaimer.Reclaims, Is.Zero, "not quiet for long enough yet");

        _time.Advance(MemoryReclaimer.QuietPeriod);
        reclaimer.Check();
        Assert.That(reclaimer.Reclaims, Is.EqualTo(1));

        _time.Advance(MemoryReclaimer.QuietPeriod * 10);
        reclaimer.Check();
        Assert.That(reclaimer.Reclaims, Is.EqualTo(1), "the same storm is not reclaimed twice");
    }

    [Test]
    public void Openings_that_keep_coming_postpone_the_reclaim()
    {
        var reclaimer = new MemoryReclaimer(() => _opened, () => _sent, StormSize, _time);
        for (int i = 0; i < 10; i++)
        {
            _opened += StormSize;
            _time.Advance(MemoryReclaimer.QuietPeriod / 2);
            reclaimer.Check();
        }
        Assert.That(reclaimer.Reclaims, Is.Zero);

        _time.Advance(MemoryReclaimer.QuietPeriod);
        reclaimer.Check();
        Assert.That(reclaimer.Reclaims, Is.EqualTo(1));
    }

    [Test]
    public void Traffic_after_the_storm_postpones_the_reclaim_until_it_pauses()
    {
        var reclaimer = new MemoryReclaimer(() => _opened, () => _sent, StormSize, _time);
        _opened = StormSize;
        reclaimer.Check();
        for (int i = 0; i < 10; i++)
        {
            _sent += 100; // every tab of the storm is being sent events
            _time.Advance(MemoryReclaimer.QuietPeriod);
            reclaimer.Check();
        }
        Assert.That(reclaimer.Reclaims, Is.Zero, "a blocking full collection would stall the deliveries");

        _time.Advance(MemoryReclaimer.QuietPeriod);
        reclaimer.Check();
        Assert.That(reclaimer.Reclaims, Is.EqualTo(1));
    }

    [Test]
    public void Fewer_openings_than_a_storm_never_reclaim()
    {
        var reclaimer = new MemoryReclaimer(() => _opened, () => _sent, StormSize, _time);
        _opened = StormSize - 1;
        reclaimer.Check();
        _time.Advance(MemoryReclaimer.QuietPeriod * 10);
        reclaimer.Check();

        Assert.That(reclaimer.Reclaims, Is.Zero);
    }
}
