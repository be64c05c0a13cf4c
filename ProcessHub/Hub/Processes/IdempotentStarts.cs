namespace ProcessHub.Hub.Processes;

/// <summary>
/// The local engine's processes that were started with an <c>Idempotency-Key</c>, by caller and key: what a repeat of
/// such a start is answered from. An entry is made when the start is accepted (before it is stored, so that a
/// concurrent repeat waits for that start instead of making another), and goes when its process is let go
/// (<see cref="Forget"/>) or its start was refused by the store (<see cref="Release"/>). Callers hold
/// <see cref="Gate"/> around a look-up and the claim that follows it; starts without a key never take it.
/// </summary>
internal sealed class IdempotentStarts
{
    private readonly Dictionary<(string Caller, string Key), Claim> _byKey = [];
    private readonly Dictionary<string, (string Caller, string Key)> _byProcess = new(StringComparer.Ordinal);

    /// <summary>Held around <see cref="Find"/> and <see cref="Add"/>, so that of two starts with one key one claims it.</summary>
    public object Gate { get; } = new();

    /// <summary>The start that claimed <paramref name="key"/>, if any; under <see cref="Gate"/>.</summary>
    public Claim? Find(IdempotencyKey key) => _byKey.GetValueOrDefault((key.Caller, key.Key));

    /// <summary>Claims <paramref name="key"/> for <paramref name="process"/>, whose start completes with <paramref name="stored"/>; under <see cref="Gate"/>.</summary>
    public void Add(IdempotencyKey key, ProcessRecord process, Task stored)
    {
        var scoped = (key.Caller, key.Key);
        if (_byKey.TryGetValue(scoped, out var previous))
        {
            _byProcess.Remove(previous.Process.Id); // a claim whose process is gone or whose start failed, replaced
        }
        _byKey[scoped] = new Claim(process, stored);
        _byProcess[process.Id] = scoped;
    }

    /// <summary>Lets go of <paramref name="process"/>'s claim after the store refused its start: a retry may start afresh.</summary>
    public void Release(ProcessRecord process)
    {
        lock (Gate)
        {
            if (_byProcess.TryGetValue(process.Id, out var scoped) && _byKey.TryGetValue(scoped, out var claim) && ReferenceEquals(claim.Process, process))
            {
                _byKey.Remove(scoped);
                _byProcess.Remove(process.Id);
            }
        }
    }

    /// <summary>Forgets the keys of processes the registry let go (the retention window): a key lives as long as its process.</summary>
    public void Forget(IReadOnlyList<string> processIds)
    {
        lock (Gate)
        {
            if (_byProcess.Count == 0)
            {
                return;
            }
            foreach (string id in processIds)
            {
                if (_byProcess.Remove(id, out var scoped))
                {
                    _byKey.Remove(scoped);
                }
            }
        }
    }

    /// <param name="Process">The process the key started.</param>
    /// <param name="Stored">Completes when its start is stored and published; faults when the store refused it.</param>
    internal sealed record Claim(ProcessRecord Process, Task Stored);
}
