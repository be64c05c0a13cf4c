using System.Reflection;
using NUnit.Framework;

namespace ProcessHub.Tests.Unit.Architecture;

/// <summary>
/// Every fixture says what it costs, so a run can pick by cost (<c>--filter TestCategory=unit</c>): unit (no
/// sockets), socket (a real loopback server in process), process (starts the real binary, Node or another
/// program), browser (Chromium). Exactly one of them, on the fixture class.
/// </summary>
[TestFixture]
[Category("unit")]
internal sealed class TestCategoryTests
{
    private static readonly string[] Costs = ["unit", "socket", "process", "browser"];

    [Test]
    public void Every_fixture_has_exactly_one_cost_category()
    {
        var fixtures = typeof(TestCategoryTests).Assembly.GetTypes()
            .Where(type => !type.IsAbstract && type.GetMethods().Any(IsTest))
            .ToList();
        Assert.That(fixtures, Is.Not.Empty);

        var wrong = fixtures
            .Select(type => (Type: type, Costs: type.GetCustomAttributes<CategoryAttribute>(inherit: true).Select(c => c.Name).Where(Costs.Contains).ToList()))
            .Where(f => f.Costs.Count != 1)
            .Select(f => $"{f.Type.FullName}: [{string.Join(", ", f.Costs)}]")
            .ToList();
        Assert.That(wrong, Is.Empty, $"tag each with one of [Category(\"{string.Join("\"), (\"", Costs)}\")]");
    }

    private static bool IsTest(MethodInfo method) =>
        method.IsDefined(typeof(TestAttribute)) || method.IsDefined(typeof(TestCaseAttribute)) || method.IsDefined(typeof(TestCaseSourceAttribute));
}
