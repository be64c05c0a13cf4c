using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using NUnit.Framework;
using ProcessHub.Tests.Infrastructure;
using ProcessHub.Transport;

namespace ProcessHub.Tests.Unit.Transport;

/// <summary>
/// <see cref="SocketPipeReader.TryReadOrWait"/>, the read a WebSocket's receive loop uses so that an idle connection
/// keeps no async state machine (issue 15): a read with nothing to read parks, and the waiter is called back once
/// for whatever ends the wait (data, the peer's close, <see cref="PipeReader.CancelPendingRead"/>, the connection
/// being disposed); the next call then returns it. Over real loopback sockets.
/// </summary>
[TestFixture]
[Category("socket")]
internal sealed class SocketPipeReaderCallbackTests
{
    private TcpListener _listener = null!;

    [SetUp]
    public void StartListener()
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start(16);
    }

    [TearDown]
    public void StopListener() => _listener.Dispose();

    [Test]
    public async Task A_read_with_nothing_to_read_parks_and_the_waiter_is_called_when_bytes_arrive()
    {
        using var pair = await ConnectAsync();
        var waiter = new CountingWaiter();

        Assert.That(pair.Reader.TryReadOrWait(out _, waiter), Is.False, "nothing was sent yet, so the read must park");
        pair.Client.Send("hello"u8);
        await waiter.Called.WaitAsync(TestTimeouts.Receive);

        Assert.That(pair.Reader.TryReadOrWait(out var result, waiter), Is.True);
        Assert.That(result.Buffer.ToArray(), Is.EqualTo("hello"u8.ToArray()));
        Assert.That(waiter.Calls, Is.EqualTo(1));
        pair.Reader.AdvanceTo(result.Buffer.End);
    }

    [Test]
    public async Task A_read_that_examined_everything_parks_again_and_then_sees_all_of_it()
    {
        using var pair = await ConnectAsync();
        var waiter = new CountingWaiter();
        Assert.That(pair.Reader.TryReadOrWait(out _, waiter), Is.False);
        pair.Client.Send("abc"u8);
        await waiter.Called.WaitAsync(TestTimeouts.Receive);
        Assert.That(pair.Reader.TryReadOrWait(out var first, waiter), Is.True);
        pair.Reader.AdvanceTo(first.Buffer.Start, first.Buffer.End);

        var second = new CountingWaiter();
        Assert.That(pair.Reader.TryReadOrWait(out _, second), Is.False, "everything received was examined: the read must park");
        pair.Client.Send("def"u8);
        await second.Called.WaitAsync(TestTimeouts.Receive);

        Assert.That(pair.Reader.TryReadOrWait(out var result, second), Is.True);
        Assert.That(result.Buffer.ToArray(), Is.EqualTo("abcdef"u8.ToArray()));
    }

    [Test]
    public async Task The_peer_closing_calls_the_waiter_and_the_read_reports_the_end()
    {
        using var pair = await ConnectAsync();
        var waiter = new CountingWaiter();
        Assert.That(pair.Reader.TryReadOrWait(out _, waiter), Is.False);

        pair.Client.Shutdown(SocketShutdown.Send);
        await waiter.Called.WaitAsync(TestTimeouts.Receive);

        Assert.That(pair.Reader.TryReadOrWait(out var result, waiter), Is.True);
        Assert.That((result.IsCompleted, result.Buffer.IsEmpty), Is.EqualTo((true, true)));
    }

    [Test]
    public async Task CancelPendingRead_calls_the_waiter_and_the_read_is_canceled_not_completed()
    {
        using var pair = await ConnectAsync();
        var waiter = new CountingWaiter();
        Assert.That(pair.Reader.TryReadOrWait(out _, waiter), Is.False);

        pair.Reader.CancelPendingRead();
        await waiter.Called.WaitAsync(TestTimeouts.Receive);

        Assert.That(pair.Reader.TryReadOrWait(out var result, waiter), Is.True);
        Assert.That((result.IsCanceled, result.IsCompleted), Is.EqualTo((true, false)));
    }

    [Test]
    public async Task Disposing_the_connection_calls_the_waiter_and_the_read_fails_as_aborted()
    {
        using var pair = await ConnectAsync();
        var waiter = new CountingWaiter();
        Assert.That(pair.Reader.TryReadOrWait(out _, waiter), Is.False);

        pair.Server.Dispose();
        await waiter.Called.WaitAsync(TestTimeouts.Receive);

        var error = Assert.Throws<SocketException>(() => pair.Reader.TryReadOrWait(out _, waiter));
        Assert.That(error!.SocketErrorCode, Is.EqualTo(SocketError.OperationAborted));
    }

    [Test]
    public async Task After_an_awaited_read_the_same_reader_switches_to_callbacks()
    {
        // The HTTP phase awaits ReadAsync; the WebSocket phase then reads by callback on the same reader.
        using var pair = await ConnectAsync();
        var awaited = pair.Reader.ReadAsync();
        pair.Client.Send("GET"u8);
        var head = await awaited.AsTask().WaitAsync(TestTimeouts.Receive);
        pair.Reader.AdvanceTo(head.Buffer.End);

        var waiter = new CountingWaiter();
        Assert.That(pair.Reader.TryReadOrWait(out _, waiter), Is.False);
        pair.Client.Send("frame"u8);
        await waiter.Called.WaitAsync(TestTimeouts.Receive);

        Assert.That(pair.Reader.TryReadOrWait(out var result, waiter), Is.True);
        Assert.That(result.Buffer.ToArray(), Is.EqualTo("frame"u8.ToArray()));
    }

    private async Task<Pair> ConnectAsync()
    {
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var accept = _listener.AcceptSocketAsync();
        await client.ConnectAsync((IPEndPoint)_listener.LocalEndpoint);
        var server = new ClientConnection(await accept.WaitAsync(TestTimeouts.Receive));
        var reader = (SocketPipeReader)server.Input;
        Assume.That(reader.CanCallBack, Is.True, "callbacks need the readiness poller (Linux)");
        return new Pair(client, server, reader);
    }

    private sealed record Pair(Socket Client, ClientConnection Server, SocketPipeReader Reader) : IDisposable
    {
        public void Dispose()
        {
            Server.Input.Complete();
            Server.Dispose();
            Client.Dispose();
        }
    }

    private sealed class CountingWaiter : IReadWaiter
    {
        private readonly TaskCompletionSource _called = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _calls;

        public Task Called => _called.Task;

        public int Calls => Volatile.Read(ref _calls);

        public void OnReadReady()
        {
            Interlocked.Increment(ref _calls);
            _called.TrySetResult();
        }
    }
}
