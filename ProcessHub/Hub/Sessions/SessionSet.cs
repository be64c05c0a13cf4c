using System.Collections;

namespace ProcessHub.Hub.Sessions;

/// <summary>
/// An immutable set of sessions, copy-on-write in chunks of <see cref="ChunkSize"/>. The publisher walks a snapshot
/// without a lock and without allocating (a struct enumerator); a connect or disconnect builds a new snapshot that
/// copies one chunk and the short array of chunks, not every session: with one flat array, the 10,000th connection
/// of a user copied 80 KB (a large-object-heap allocation), and a storm of connections produced garbage quadratic in
/// their number, which showed up as resident memory per idle connection.
/// </summary>
internal sealed class SessionSet : IReadOnlyCollection<HubSession>
{
    public const int ChunkSize = 128;

    public static readonly SessionSet Empty = new([], 0);

    private readonly HubSession[][] _chunks;

    private SessionSet(HubSession[][] chunks, int count)
    {
        _chunks = chunks;
        Count = count;
    }

    public int Count { get; }

    /// <summary>This set plus <paramref name="session"/> (appended to the last chunk while it has room).</summary>
    public SessionSet With(HubSession session)
    {
        if (_chunks.Length > 0 && _chunks[^1].Length < ChunkSize)
        {
            var chunks = (HubSession[][])_chunks.Clone();
            chunks[^1] = [.. _chunks[^1], session];
            return new SessionSet(chunks, Count + 1);
        }
        return new SessionSet([.. _chunks, [session]], Count + 1);
    }

    /// <summary>This set without <paramref name="session"/>; the same instance when it is not in it.</summary>
    public SessionSet Without(HubSession session)
    {
        for (int c = 0; c < _chunks.Length; c++)
        {
            int index = Array.IndexOf(_chunks[c], session);
            if (index < 0)
            {
                continue;
            }
            var chunk = _chunks[c];
            if (chunk.Length == 1)
            {
                // The chunk would be empty: drop it, so a set never holds empty chunks.
                return new SessionSet([.. _chunks.AsSpan(0, c), .. _chunks.AsSpan(c + 1)], Count - 1);
            }
            var chunks = (HubSession[][])_chunks.Clone();
            chunks[c] = [.. chunk.AsSpan(0, index), .. chunk.AsSpan(index + 1)];
            return new SessionSet(chunks, Count - 1);
        }
        return this;
    }

    public Enumerator GetEnumerator() => new(_chunks);

    // Through the interface (tests, diagnostics) an iterator is allocated; the publisher's foreach uses the struct.
    IEnumerator<HubSession> IEnumerable<HubSession>.GetEnumerator() => _chunks.SelectMany(chunk => chunk).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => ((IEnumerable<HubSession>)this).GetEnumerator();

    /// <summary>Walks the snapshot chunk by chunk; a struct, so a foreach in the publisher allocates nothing.</summary>
    public struct Enumerator
    {
        private readonly HubSession[][] _chunks;
        private int _chunk;
        private int _index;

        internal Enumerator(HubSession[][] chunks)
        {
            _chunks = chunks;
            _chunk = 0;
            _index = -1;
        }

        public readonly HubSession Current => _chunks[_chunk][_index];

        public bool MoveNext()
        {
            while (_chunk < _chunks.Length)
            {
                if (++_index < _chunks[_chunk].Length)
                {
                    return true;
                }
                _chunk++;
                _index = -1;
            }
            return false;
        }
    }
}
