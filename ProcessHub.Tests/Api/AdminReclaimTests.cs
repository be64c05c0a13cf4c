using NUnit.Framework;

namespace ProcessHub.Tests.Api;

/// <summary><c>POST /api/admin/reclaim</c>: admins only; it runs a full GC and reports the heap and resident memory.</summary>
[TestFixture]
[Category("socket")]
internal sealed class AdminReclaimTests
{
    private HubTestHost _server = null!;

    [SetUp]
    public void Start() => _server = HubTestHost.Start();

    [TearDown]
    public async Task Stop() => await _server.DisposeAsync();

    [Test]
    public async Task An_admin_gets_a_full_collection_and_the_memory_after_it()
    {
        int collectionsBefore = GC.CollectionCount(GC.MaxGeneration);

        var reply = await _server.PostAsync("/api/admin/reclaim", _server.Token("root", ["admin"]), body: null);

        Assert.That(reply.Status, Is.EqualTo(200), reply.ToString());
        Assert.That(Json.Keys(reply.Json), Is.EqualTo(new[] { "committed_bytes", "fragmented_bytes", "heap_bytes", "pinned_objects", "resident_bytes" }));
        Assert.That(reply.Json.Long("heap_bytes"), Is.GreaterThan(0));
        Assert.That(reply.Json.Long("resident_bytes"), Is.GreaterThan(reply.Json.Long("heap_bytes")));
        Assert.That(GC.CollectionCount(GC.MaxGeneration), Is.GreaterThan(collectionsBefore), "a full collection ran");
        Assert.That(_server.App.Server.Reclaimer.Reclaims, Is.EqualTo(1));
    }

    [Test]
    public async Task Anyone_else_is_refused_and_nothing_runs()
    {
        var user = await _server.PostAsync("/api/admin/reclaim", _server.Token("alice"), body: null);
        var producer = await _server.PostAsync("/api/admin/reclaim", _server.Token("worker", ["producer"]), body: null);
        var anonymous = await _server.PostAsync("/api/admin/reclaim", token: null, body: null);

        Assert.Multiple(() =>
        {
            Assert.That(user.Status, Is.EqualTo(403), user.ToString());
            Assert.That(user.ErrorCode, Is.EqualTo("forbidden"));
            Assert.That(producer.Status, Is.EqualTo(403), producer.ToString());
            Assert.That(anonymous.Status, Is.EqualTo(401), anonymous.ToString());
            Assert.That(_server.App.Server.Reclaimer.Reclaims, Is.Zero);
        });
    }

    [Test]
    public async Task Get_is_not_allowed()
    {
        var reply = await _server.GetAsync("/api/admin/reclaim", _server.Token("root", ["admin"]));

        Assert.That(reply.Status, Is.EqualTo(405), reply.ToString());
        Assert.That(reply.Header("Allow"), Is.EqualTo("POST"));
    }
}
