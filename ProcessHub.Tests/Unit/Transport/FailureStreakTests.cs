using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using ProcessHub.Transport;

namespace ProcessHub.Tests.Unit.Transport;

/// <summary>
/// Which failures of a repeated task are said (<see cref="FailureStreak"/>): each reason of a streak once, then once
/// every 10 s at most; its end only if any of it was said; and a task that fails and works by turns no more often
/// than one that only fails (found by a review: each success started the next failure's streak afresh).
/// </summary>
[TestFixture]
[Category("unit")]
internal sealed class FailureStreakTests
{
    private static readonly TimeSpan Every = TimeSpan.FromSeconds(10);

    [Test]
    public void A_reason_that_repeats_every_second_is_said_once_then_every_10_s()
    {
        var time = new FakeTimeProvider();
        var streak = new FailureStreak(Every, time);

        var said = new List<int>();
        for (int second = 0; second < 25; second++)
        {
            if (streak.Fail("database or disk is full"))
            {
                said.Add(second);
            }
            time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.That(said, Is.EqualTo(new[] { 0, 10, 20 }));
        Assert.That(streak.FailedInARow, Is.EqualTo(25));
    }

    [Test]
    public void Each_new_reason_of_a_streak_is_said_at_once_and_up_to_eight()
    {
        var time = new FakeTimeProvider();
        var streak = new FailureStreak(Every, time);

        Assert.That(streak.Fail("a"), Is.True);
        Assert.That(streak.Fail("b"), Is.True, "a new reason");
        Assert.That(streak.Fail("a"), Is.False, "said already in this streak");
        Assert.That(Enumerable.Range(0, 10).Count(i => streak.Fail($"reason {i}")), Is.EqualTo(6), "eight reasons in all, then the time bound");
    }

    [Test]
    public void The_end_of_a_streak_is_said_with_its_count_only_when_a_failure_of_it_was()
    {
        var time = new FakeTimeProvider();
        var streak = new FailureStreak(Every, time);

        Assert.That(streak.Succeed(out _), Is.False, "no streak");
        streak.Fail("x");
        streak.Fail("x");
        Assert.That((streak.Succeed(out long failed), failed), Is.EqualTo((true, 2L)));
        Assert.That(streak.Succeed(out _), Is.False, "said once");
        Assert.That(streak.FailedInARow, Is.Zero);
    }

    [Test]
    public void Failing_and_working_by_turns_is_said_no_more_often_than_failing_alone()
    {
        var time = new FakeTimeProvider();
        var streak = new FailureStreak(Every, time);

        int lines = 0;
        for (int second = 0; second < 25; second++)
        {
            lines += streak.Fail("disk I/O error") ? 1 : 0;
            time.Advance(TimeSpan.FromSeconds(0.5));
            lines += streak.Succeed(out _) ? 1 : 0;
            time.Advance(TimeSpan.FromSeconds(0.5));
        }

        // A failure line and its end at 0, 10 and 20 s: six, not fifty.
        Assert.That(lines, Is.EqualTo(6));
    }

    [Test]
    public void A_streak_that_begins_long_after_the_last_ended_says_its_reason_again()
    {
        var time = new FakeTimeProvider();
        var streak = new FailureStreak(Every, time);
        streak.Fail("x");
        streak.Succeed(out _);

        time.Advance(TimeSpan.FromMinutes(5));

        Assert.That(streak.Fail("x"), Is.True);
    }
}
