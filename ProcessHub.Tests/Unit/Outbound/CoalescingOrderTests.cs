using System.IO.Pipelines;
using System.Net;
using System.Text;
using NUnit.Framework;
using ProcessHub.Outbound;
using ProcessHub.Transport;
using ProcessHub.WebSockets;

namespace ProcessHub.Tests.Unit.Outbound;

/// <summary>
/// A backed-up queue coalesces a process's progress into the slot of its older one, but never moves a live event ahead
/// of what must precede it: a subscribe's reply and its replay (docs/protocol.md 4.4). A transport whose first send is
/// held keeps the queue backed up.
/// </summary>
[TestFixture]
[Category("unit")]
public sealed class CoalescingOrderTests
{
    // p10 stays where it was (it was live before the subscribe) and p12 follows the reply and the replay. Until 2026-12-03
    // p12 took p10's slot and went out first: first, p12, subscribed, replay-9 (from a review).
    [Test]
    public void A_live_progress_published_after_a_subscribe_goes_out_after_its_reply_and_replay()
    {
        var transport = new HeldTransport();
        var connection = new OutboundConnection(transport, new NoHandler(), 1024, SlowConsumerPolicy.Default, new RunsAtOnceScheduler(), TimeProvider.System);

        Send(connection, "first", FrameKind.Essential, 0);          // goes to the socket, whose send blocks
        Assert.That(transport.Pending, Is.Not.Null, "the first send is blocked: the queue counts as backed up");
        Send(connection, "p10", FrameKind.Progress, 7);             // live progress of process 7, queued
        Send(connection, "subscribed", FrameKind.Essential, 0);     // the subscribe's reply
        Send(connection, "replay-9", FrameKind.Essential, 0);       // its replay (copies are Essential)
        Send(connection, "p12", FrameKind.Progress, 7);             // published after the subscribe

        transport.ReleasePending();

        var order = transport.Payloads();
        Assert.That(order, Is.EqualTo(new[] { "first", "p10", "subscribed", "replay-9", "p12" }),
            "the live p12 should follow the reply and the replay; got: " + string.Join(", ", order));
    }

    [Test]
    public void A_live_progress_still_takes_the_slot_of_its_older_one_across_other_processes_events()
    {
        var transport = new HeldTransport();
        var connection = new OutboundConnection(transport, new NoHandler(), 1024, SlowConsumerPolicy.Default, new RunsAtOnceScheduler(), TimeProvider.System);

        Send(connection, "first", FrameKind.Essential, 0);
        Send(connection, "p10", FrameKind.Progress, 7);
        Send(connection, "started-8", FrameKind.Essential, 8);   // another process's event
        Send(connection, "q3", FrameKind.Progress, 8);
        Send(connection, "p12", FrameKind.Progress, 7);

        transport.ReleasePending();

        Assert.That(transport.Payloads(), Is.EqualTo(new[] { "first", "p12", "started-8", "q3" }));
    }

    private static void Send(OutboundConnection connection, string text, FrameKind kind, long key)
    {
        var frame = SharedFrame.CreateText(Encoding.UTF8.GetBytes(text), kind, key);
        connection.Send(frame);
        frame.Release();
    }

    /// <summary>The first send stays pending until released; later sends complete at once. Records every send.</summary>
    private sealed class HeldTransport : ITransportConnection
    {
        private readonly Pipe _input = new();
        private readonly List<byte[]> _sends = [];
        public TaskCompletionSource? Pending { get; private set; }
        public long Id => 1;
        public EndPoint? RemoteEndPoint => null;
        public PipeReader Input => _input.Reader;
        public bool IsDisposed { get; private set; }

        public ValueTask SendAsync(ReadOnlyMemory<byte> data)
        {
            lock (_sends)
            {
                _sends.Add(data.ToArray());
            }
            if (Pending is null)
            {
                Pending = new TaskCompletionSource();
                return new ValueTask(Pending.Task);
            }
            return ValueTask.CompletedTask;
        }

        public void ReleasePending() => Pending!.SetResult();

        public void ShutdownSend() { }

        public void Dispose() => IsDisposed = true;

        /// <summary>The text payloads of every frame sent, in order (unmasked server frames, short lengths).</summary>
        public string[] Payloads()
        {
            var texts = new List<string>();
            lock (_sends)
            {
                foreach (var send in _sends)
                {
                    int at = 0;
                    while (at < send.Length)
                    {
                        int length = send[at + 1] & 0x7F;
                        texts.Add(Encoding.UTF8.GetString(send, at + 2, length));
                        at += 2 + length;
                    }
                }
            }
            return texts.ToArray();
        }
    }
}
