using NUnit.Framework;
using ProcessHub.Hub;

namespace ProcessHub.Tests.Unit.Hub;

/// <summary>
/// <see cref="SessionSet"/> against a plain list doing the same adds and removes in a random order, across chunk
/// boundaries; and a snapshot must not change under a publisher walking it while others connect and disconnect.
/// </summary>
[TestFixture]
[Category("unit")]
internal sealed class SessionSetTests
{
    [Test]
    public void Adds_and_removes_in_any_order_keep_exactly_the_sessions_that_are_in()
    {
        var random = new Random(20261126);
        var sessions = Enumerable.Range(0, 3 * SessionSet.ChunkSize + 17).Select(_ => NewSession()).ToList();
        var set = SessionSet.Empty;
        var expected = new List<HubSession>();
        foreach (var session in sessions)
        {
            set = set.With(session);
            expected.Add(session);
        }
        Assert.That(Walk(set), Is.EqualTo(expected), "in order of arrival");

        var remaining = new HashSet<HubSession>(expected, ReferenceEqualityComparer.Instance);
        foreach (var session in sessions.OrderBy(_ => random.Next()))
        {
            set = set.Without(session);
            remaining.Remove(session);
            Assert.That(set.Count, Is.EqualTo(remaining.Count));
            // Set equality by reference, and no session walked twice: what Is.EquivalentTo checks, without its
            // quadratic cost per step.
            var walked = Walk(set);
            if (walked.Count != remaining.Count || !remaining.SetEquals(walked))
            {
                Assert.Fail($"after removing a session the set walks {walked.Count} sessions, {walked.Count(s => !remaining.Contains(s))} of them not in it; {remaining.Count} expected");
            }
        }
        Assert.That(Walk(set), Is.Empty);
    }

    [Test]
    public void Removing_a_session_that_is_not_in_the_set_returns_the_same_set()
    {
        var set = SessionSet.Empty.With(NewSession());
        Assert.That(set.Without(NewSession()), Is.SameAs(set));
    }

    [Test]
    public void A_snapshot_does_not_change_when_sessions_come_and_go_afterwards()
    {
        var first = Enumerable.Range(0, SessionSet.ChunkSize + 1).Select(_ => NewSession()).ToList();
        var snapshot = first.Aggregate(SessionSet.Empty, (set, session) => set.With(session));

        var later = snapshot.Without(first[0]).Without(first[^1]).With(NewSession());

        Assert.That(Walk(snapshot), Is.EqualTo(first));
        Assert.That(later.Count, Is.EqualTo(first.Count - 1));
    }

    private static List<HubSession> Walk(SessionSet set)
    {
        var walked = new List<HubSession>();
        foreach (var session in set)
        {
            walked.Add(session);
        }
        return walked;
    }

    private static HubSession NewSession() => new(null!, DateTimeOffset.MaxValue);
}
