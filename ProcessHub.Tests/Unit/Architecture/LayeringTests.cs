using System.Reflection;
using NetArchTest.Rules;
using NUnit.Framework;

namespace ProcessHub.Tests.Unit.Architecture;

/// <summary>
/// The layering of docs/architecture.md, enforced: each folder (namespace) of ProcessHub may refer only to the layers
/// below it. Transport -> Http -> WebSockets -> Outbound -> Auth -> Hub -> Storage -> Redis -> the public producer API
/// -> Runners -> Api -> Server -> Cli; the hub's own parts likewise (its vocabulary -> Processes -> Messages -> Sessions). A reference
/// upwards, even from one method body, fails here with the offending types named.
/// </summary>
[TestFixture]
[Category("unit")]
public sealed class LayeringTests
{
    private static readonly Assembly Product = typeof(ProcessHub.Server.HubApplication).Assembly;

    // Reading the assembly for its dependencies is the costly part: once for all the checks.
    private static readonly Lazy<Types> ProductTypes = new(() => Types.InAssembly(Product));

    /// <summary>Lowest first. A namespace belongs to the longest entry it starts with.</summary>
    private static readonly string[] Layers =
    [
        "ProcessHub.Transport",
        "ProcessHub.Http",
        "ProcessHub.WebSockets",
        "ProcessHub.Outbound",
        "ProcessHub.Auth",
        "ProcessHub.Hub",
        "ProcessHub.Storage",  // the embedded store behind the hub's store seam
        "ProcessHub.Redis",    // the shared engine behind the hub's engine seam
        "ProcessHub",          // ProcessProducer, ProcessHandle: the public in-process API over the hub
        "ProcessHub.Runners",
        "ProcessHub.Api",
        "ProcessHub.Server",
        "ProcessHub.Cli",
    ];

    private static readonly string[] HubSublayers =
    [
        "ProcessHub.Hub",           // the hub's shared vocabulary: options, statuses, counters
        "ProcessHub.Hub.Processes", // processes, their events, the registry and the engine/store seam
        "ProcessHub.Hub.Messages",  // the session messages: client messages in, lists and replies out
        "ProcessHub.Hub.Sessions",  // connections as sessions: auth, subscriptions, timers, fan-out
    ];

    public static IEnumerable<TestCaseData> LayerCases() =>
        Layers.Select((layer, rank) => new TestCaseData(layer, Layers.Skip(rank + 1).ToArray()).SetName($"{layer} refers to no layer above it"));

    public static IEnumerable<TestCaseData> HubCases() =>
        HubSublayers.Select((layer, rank) => new TestCaseData(layer, HubSublayers.Skip(rank + 1).ToArray()).SetName($"{layer} refers to no hub part above it"));

    [TestCaseSource(nameof(LayerCases))]
    public void Refers_to_no_layer_above_it(string layer, string[] above) => AssertNoReferences(layer, above, Layers);

    [TestCaseSource(nameof(HubCases))]
    public void Refers_to_no_hub_part_above_it(string layer, string[] above) => AssertNoReferences(layer, above, HubSublayers);

    [Test]
    public void Every_type_belongs_to_a_known_layer()
    {
        var strays = Product.GetTypes()
            .Where(t => t.Namespace is not null && !t.Namespace.StartsWith("System", StringComparison.Ordinal) && !t.Namespace.StartsWith("Microsoft", StringComparison.Ordinal))
            .Where(t => LayerOf(t.Namespace!, Layers) is null)
            .Select(t => t.FullName)
            .ToList();
        Assert.That(strays, Is.Empty, "a new folder needs its place in the layering (here and in docs/architecture.md)");
    }

    [Test]
    public void The_check_sees_references_it_must_refuse()
    {
        // Guards the guard: the hub really depends on Outbound, so asking whether it does must say yes. Were the
        // dependency scan blind (a library change, a wrong namespace), every layering test above would pass vacuously.
        var seen = ProductTypes.Value.That().ResideInNamespace("ProcessHub.Hub.Sessions")
            .And().HaveDependencyOnAny(typeof(ProcessHub.Outbound.IOutboundConnection).FullName!).GetTypes();
        Assert.That(seen.Select(t => t.Name), Does.Contain(nameof(HubSession)));
    }

    private static void AssertNoReferences(string layer, string[] above, string[] all)
    {
        var members = TypesOf(layer, all);
        Assert.That(members, Is.Not.Empty, $"{layer} has no types: the layering list is out of date");
        // One scan for all the layers above; only a violation is worth a scan per layer, to say which one.
        string[] higherTypes = above.SelectMany(higher => TypesOf(higher, all)).Select(t => t.FullName!).ToArray();
        var offenders = new List<string>();
        if (higherTypes.Length > 0 && ReferringFrom(layer, all, higherTypes).Count > 0)
        {
            foreach (var higher in above)
            {
                // By the higher layer's own types rather than its namespace: NetArchTest matches names by prefix, and
                // "ProcessHub" or "ProcessHub.Hub" is a prefix of every layer below or inside it.
                var referring = ReferringFrom(layer, all, TypesOf(higher, all).Select(t => t.FullName!).ToArray());
                offenders.AddRange(referring.Select(t => $"{t.FullName} -> {higher}"));
            }
        }
        Assert.That(offenders, Is.Empty, $"{layer} must not refer to a layer above it");
    }

    private static List<Type> ReferringFrom(string layer, string[] all, string[] types) =>
        ProductTypes.Value.That().HaveDependencyOnAny(types).GetTypes()
            .Where(t => t.Namespace is { } ns && LayerOf(ns, all) == layer)
            .ToList();

    private static List<Type> TypesOf(string layer, string[] all) =>
        Product.GetTypes().Where(t => t.Namespace is { } ns && LayerOf(ns, all) == layer).ToList();

    private static string? LayerOf(string ns, string[] layers) =>
        layers.Where(l => ns == l || ns.StartsWith(l + ".", StringComparison.Ordinal))
            .OrderByDescending(l => l.Length)
            .FirstOrDefault();
}
