using System.Net.Sockets;

namespace ProcessHub.Tests.Api;

/// <summary>
/// Reads a socket's bytes as they arrive, up to a delimiter or a length, keeping what came after for the next read.
/// Every read has a deadline, so a test that waits for bytes that never come fails instead of hanging.
/// </summary>
internal sealed class BufferedSocketReader
{
    private readonly NetworkStream _stream;
    private readonly byte[] _chunk = new byte[8192];
    private byte[] _buffer = new byte[8192];
    private int _length;

    public BufferedSocketReader(NetworkStream stream) => _stream = stream;

    /// <summary>Bytes received but not yet returned by a read.</summary>
    public int Buffered => _length;

    /// <summary>The bytes up to and including <paramref name="delimiter"/>, or null if the peer closed first.</summary>
    public async Task<byte[]?> ReadUntilAsync(byte[] delimiter, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        int searchFrom = 0;
        while (true)
        {
            int found = _buffer.AsSpan(0, _length)[searchFrom..].IndexOf(delimiter);
            if (found >= 0)
            {
                return Take(searchFrom + found + delimiter.Length);
            }
            searchFrom = Math.Max(0, _length - delimiter.Length + 1);
            if (!await FillAsync(timeout, deadline.Token).ConfigureAwait(false))
            {
                return null;
            }
        }
    }

    /// <summary>Exactly <paramref name="count"/> bytes; throws if the peer closes first.</summary>
    public async Task<byte[]> ReadExactlyAsync(int count, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (_length < count)
        {
            if (!await FillAsync(timeout, deadline.Token).ConfigureAwait(false))
            {
                throw new EndOfStreamException($"the peer closed after {_length} of {count} body bytes");
            }
        }
        return Take(count);
    }

    /// <summary>Everything until the peer closes its side.</summary>
    public async Task<byte[]> ReadToEndAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (await FillAsync(timeout, deadline.Token).ConfigureAwait(false))
        {
        }
        return Take(_length);
    }

    private byte[] Take(int count)
    {
        var taken = _buffer.AsSpan(0, count).ToArray();
        _buffer.AsSpan(count, _length - count).CopyTo(_buffer);
        _length -= count;
        return taken;
    }

    private async Task<bool> FillAsync(TimeSpan timeout, CancellationToken deadline)
    {
        int read;
        try
        {
            read = await _stream.ReadAsync(_chunk, deadline).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            throw new TimeoutException($"no more bytes within {timeout.TotalSeconds} s; buffered: '{System.Text.Encoding.UTF8.GetString(_buffer, 0, _length)}'");
        }
        catch (IOException ex) when (ex.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset })
        {
            return false;
        }
        if (read == 0)
        {
            return false;
        }
        if (_length + read > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + read));
        }
        _chunk.AsSpan(0, read).CopyTo(_buffer.AsSpan(_length));
        _length += read;
        return true;
    }
}
