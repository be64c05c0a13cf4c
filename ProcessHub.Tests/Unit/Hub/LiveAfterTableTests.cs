using NUnit.Framework;
using ProcessHub.Hub;

namespace ProcessHub.Tests.Unit.Hub;

/// <summary>
/// <see cref="LiveAfterTable"/> must read like the Dictionary it replaces, in its small linear form, across the
/// switch to a Dictionary, and when reserved up front.
/// </summary>
[TestFixture]
[Category("unit")]
internal sealed class LiveAfterTableTests
{
    [Test]
    public void An_empty_table_has_no_entries()
    {
        var table = default(LiveAfterTable);

        Assert.That(table.TryGetValue("p-1", out long seq), Is.False);
        Assert.That(seq, Is.Zero);
        Assert.That(table.Count, Is.Zero);
    }

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(3)]
    [TestCase(LiveAfterTable.MaxLinearEntries)]
    [TestCase(LiveAfterTable.MaxLinearEntries + 1)]
    [TestCase(40)]
    public void Reads_like_a_dictionary_at_every_size(int reserved)
    {
        var table = default(LiveAfterTable);
        var expected = new Dictionary<string, long>(StringComparer.Ordinal);
        table.Reserve(reserved);

        for (int i = 0; i < 3 * LiveAfterTable.MaxLinearEntries; i++)
        {
            string id = "p-" + i; // built at run time: a fresh instance, so ids are compared by value
            table.Set(id, i * 10);
            expected[id] = i * 10;
            if (i % 3 == 0)
            {
                // Overwrite an older entry too.
                string older = "p-" + (i / 2);
                table.Set(older, -i);
                expected[older] = -i;
            }
            AssertSame(table, expected);
        }
    }

    private static void AssertSame(LiveAfterTable table, Dictionary<string, long> expected)
    {
        Assert.That(table.Count, Is.EqualTo(expected.Count));
        foreach (var (id, seq) in expected)
        {
            Assert.That(table.TryGetValue(id, out long found), Is.True, id);
            Assert.That(found, Is.EqualTo(seq), id);
        }
        Assert.That(table.TryGetValue("p-missing", out _), Is.False);
    }
}
