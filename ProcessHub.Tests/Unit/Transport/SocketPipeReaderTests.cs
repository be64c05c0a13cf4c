using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using NUnit.Framework;
using ProcessHub.Tests.Infrastructure;
using ProcessHub.Transport;

namespace ProcessHub.Tests.Unit.Transport;

/// <summary>
/// The receive side of <see cref="ClientConnection"/> over real loopback sockets: a read parked on the readiness
/// poller (epoll) must end exactly once, whichever comes first: data, the peer's close, the caller's token,
/// <see cref="PipeReader.CancelPendingRead"/> or the connection being disposed.
/// </summary>
[TestFixture]
[Category("socket")]
internal sealed class SocketPipeReaderTests
{
    private TcpListener _listener = null!;

    [SetUp]
    public void StartListener()
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start(1024);
    }

    [TearDown]
    public void StopListener() => _listener.Dispose();

    [Test]
    public async Task A_parked_read_completes_with_the_bytes_that_arrive()
    {
        using var pair = await ConnectAsync();
        var read = pair.Server.Input.ReadAsync();
        Assert.That(read.IsCompleted, Is.False, "nothing was sent yet, so the read must wait");

        pair.Client.Send("hello"u8);
        var result = await read.AsTask().WaitAsync(TestTimeouts.Receive);

        Assert.That(result.Buffer.ToArray(), Is.EqualTo("hello"u8.ToArray()));
        pair.Server.Input.AdvanceTo(result.Buffer.End);
    }

    [Test]
    public async Task A_read_that_examined_everything_waits_for_more_and_then_sees_all_of_it()
    {
        using var pair = await ConnectAsync();
        pair.Client.Send("abc"u8);
        var first = await pair.Server.Input.ReadAsync().AsTask().WaitAsync(TestTimeouts.Receive);
        pair.Server.Input.AdvanceTo(first.Buffer.Start, first.Buffer.End);

        var second = pair.Server.Input.ReadAsync();
        Assert.That(second.IsCompleted, Is.False, "everything received was examined: the read must wait for more");
        pair.Client.Send("def"u8);
        var result = await second.AsTask().WaitAsync(TestTimeouts.Receive);

        Assert.That(result.Buffer.ToArray(), Is.EqualTo("abcdef"u8.ToArray()));
    }

    [Test]
    public async Task The_peer_closing_completes_a_parked_read_as_the_end_of_the_stream()
    {
        using var pair = await ConnectAsync();
        var read = pair.Server.Input.ReadAsync();

        pair.Client.Shutdown(SocketShutdown.Send);
        var result = await read.AsTask().WaitAsync(TestTimeouts.Receive);

        Assert.That(result.IsCompleted, Is.True);
        Assert.That(result.Buffer.IsEmpty, Is.True);
    }

    [Test]
    public async Task A_cancelled_token_ends_a_parked_read_and_the_reader_still_works()
    {
        using var pair = await ConnectAsync();
        using var cancellation = new CancellationTokenSource();
        var read = pair.Server.Input.ReadAsync(cancellation.Token);

        await cancellation.CancelAsync();
        Assert.That(async () => await read.AsTask().WaitAsync(TestTimeouts.Receive), Throws.InstanceOf<OperationCanceledException>());

        pair.Client.Send("after"u8);
        var result = await pair.Server.Input.ReadAsync().AsTask().WaitAsync(TestTimeouts.Receive);
        Assert.That(result.Buffer.ToArray(), Is.EqualTo("after"u8.ToArray()));
    }

    [Test]
    public async Task CancelPendingRead_ends_a_parked_read_with_a_cancelled_result()
    {
        using var pair = await ConnectAsync();
        var read = pair.Server.Input.ReadAsync();

        pair.Server.Input.CancelPendingRead();
        var result = await read.AsTask().WaitAsync(TestTimeouts.Receive);

        Assert.That(result.IsCanceled, Is.True);
        Assert.That(result.IsCompleted, Is.False);
    }

    [Test]
    public async Task Disposing_the_connection_ends_a_parked_read_with_an_error()
    {
        using var pair = await ConnectAsync();
        var read = pair.Server.Input.ReadAsync();

        pair.Server.Dispose();

        var error = Assert.ThrowsAsync<SocketException>(async () => await read.AsTask().WaitAsync(TestTimeouts.Receive));
        Assert.That(error!.SocketErrorCode, Is.EqualTo(SocketError.OperationAborted));
    }

    [Test]
    public async Task Hundreds_of_parked_reads_each_get_their_own_bytes_across_open_and_close_cycles()
    {
        // Slots are reused as connections close: a wake-up must always reach the reader that owns the socket now.
        for (int cycle = 0; cycle < 3; cycle++)
        {
            var pairs = new List<Pair>();
            try
            {
                for (int i = 0; i < 200; i++)
                {
                    pairs.Add(await ConnectAsync());
                }
                var reads = pairs.Select(p => p.Server.Input.ReadAsync().AsTask()).ToList();
                for (int i = 0; i < pairs.Count; i++)
                {
                    pairs[i].Client.Send(BitConverter.GetBytes(i));
                }
                for (int i = 0; i < pairs.Count; i++)
                {
                    var result = await reads[i].WaitAsync(TestTimeouts.Receive);
                    Assert.That(BitConverter.ToInt32(result.Buffer.ToArray()), Is.EqualTo(i), $"cycle {cycle}, connection {i}");
                }
            }
            finally
            {
                foreach (var pair in pairs)
                {
                    pair.Dispose();
                }
            }
        }
    }

    private async Task<Pair> ConnectAsync()
    {
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var accept = _listener.AcceptSocketAsync();
        await client.ConnectAsync((IPEndPoint)_listener.LocalEndpoint);
        var server = await accept.WaitAsync(TestTimeouts.Receive);
        return new Pair(client, new ClientConnection(server));
    }

    private sealed record Pair(Socket Client, ClientConnection Server) : IDisposable
    {
        public void Dispose()
        {
            Server.Input.Complete();
            Server.Dispose();
            Client.Dispose();
        }
    }
}
