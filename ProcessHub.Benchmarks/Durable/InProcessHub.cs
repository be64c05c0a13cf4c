using Microsoft.Extensions.Logging.Abstractions;
using ProcessHub.Hub;
using ProcessHub.Hub.Processes;
using ProcessHub.Hub.Sessions;
using ProcessHub.Storage;

namespace ProcessHub.Benchmarks.Durable;

/// <summary>
/// The hub's process engine in this process, with no server: registry, broadcaster (no sessions), engine and the
/// in-process producer API over the store named (<c>memory</c>, or <c>sqlite</c> in a directory).
/// </summary>
internal sealed class InProcessHub : IAsyncDisposable
{
    private InProcessHub(string storeKind, IProcessStore store, ProcessRegistry registry, LocalProcessEngine engine, HubOptions options)
    {
        StoreKind = storeKind;
        Store = store;
        Registry = registry;
        Engine = engine;
        Producer = new ProcessProducer(engine, registry, options);
    }

    public string StoreKind { get; }
    public IProcessStore Store { get; }
    public ProcessRegistry Registry { get; }
    public LocalProcessEngine Engine { get; }
    public ProcessProducer Producer { get; }

    /// <summary>The sqlite store's counters; null for the memory store.</summary>
    public StoreStatistics? Statistics => (Store as SqliteProcessStore)?.Statistics;

    /// <summary>Opens the engine over a new store (and, for sqlite, whatever the directory already holds).</summary>
    /// <param name="checkpointInterval">The sqlite store's checkpoint interval; its default when null.</param>
    public static InProcessHub Open(string storeKind, string? dataDirectory, HubOptions? options = null, TimeSpan? checkpointInterval = null)
    {
        options ??= new HubOptions { StaleAfter = TimeSpan.Zero };
        var sqliteOptions = new SqliteStoreOptions { DataDirectory = dataDirectory ?? "" };
        if (checkpointInterval is { } interval)
        {
            sqliteOptions = sqliteOptions with { CheckpointInterval = interval };
        }
        IProcessStore store = storeKind switch
        {
            "memory" => new MemoryProcessStore(),
            "sqlite" => dataDirectory is null ? throw new ArgumentException("sqlite needs a directory") : new SqliteProcessStore(sqliteOptions, options.HistoryLimit, NullLogger.Instance),
            _ => throw new ArgumentException($"unknown store '{storeKind}' (memory or sqlite)"),
        };
        var registry = new ProcessRegistry(new Broadcaster(new SessionIndex()), options, TimeProvider.System);
        var engine = new LocalProcessEngine(registry, store, TimeProvider.System);
        engine.Open();
        return new InProcessHub(storeKind, store, registry, engine, options);
    }

    public ValueTask DisposeAsync() => Engine.DisposeAsync();
}
