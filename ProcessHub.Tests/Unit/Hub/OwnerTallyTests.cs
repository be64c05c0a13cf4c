using NUnit.Framework;
using ProcessHub.Hub.Processes;

namespace ProcessHub.Tests.Unit.Hub;

/// <summary><see cref="OwnerTally"/>: adds and removes commute, and an owner at zero has no entry.</summary>
[TestFixture]
[Category("unit")]
internal sealed class OwnerTallyTests
{
    [Test]
    public void A_remove_that_comes_before_its_add_is_not_lost()
    {
        var tally = new OwnerTally();
        tally.Add("alice");

        // Two ends race: one counted out, refused and counted back after the other was counted out.
        tally.Remove("alice");
        tally.Remove("alice");
        tally.Add("alice");

        Assert.That(tally["alice"], Is.Zero);
        Assert.That(tally.Counts, Is.Empty);
        Assert.That(tally.TryAdd("alice", limit: 1), Is.True);
    }

    [Test]
    public void An_owner_below_zero_for_a_moment_comes_back_to_no_entry_through_TryAdd()
    {
        var tally = new OwnerTally();
        tally.Remove("alice");

        Assert.That(tally["alice"], Is.EqualTo(-1));
        Assert.That(tally.TryAdd("alice", limit: 1), Is.True);
        Assert.That(tally.Counts, Is.Empty);
    }

    [Test]
    public void Adds_and_removes_from_many_threads_at_once_net_out()
    {
        var tally = new OwnerTally();
        Parallel.For(0, 14 * 2_000, i => // each owner gets as many adds (i even) as removes (i odd)
        {
            string owner = "user-" + (i % 7);
            if (i % 2 == 0)
            {
                tally.Add(owner);
            }
            else
            {
                tally.Remove(owner);
            }
        });

        Assert.That(tally.Counts, Is.Empty);
    }

    [Test]
    public void TryAdd_stops_at_the_limit()
    {
        var tally = new OwnerTally();

        Assert.That(tally.TryAdd("alice", limit: 2), Is.True);
        Assert.That(tally.TryAdd("alice", limit: 2), Is.True);
        Assert.That(tally.TryAdd("alice", limit: 2), Is.False);
        Assert.That(tally["alice"], Is.EqualTo(2));
    }
}
