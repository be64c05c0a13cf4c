using NUnit.Framework;
using ProcessHub.Hub;
using ProcessHub.Hub.Messages;
using ProcessHub.Hub.Processes;
using ProcessHub.Outbound;

namespace ProcessHub.Tests.Hardening;

/// <summary>
/// A process's history is allocated as it fills, not at its limit up front (issue 13, item 2: with the default limit
/// of 1,000 every process cost 9 KB before its first progress event). Growing must keep every retained event in seq
/// order, through the doublings and past the limit, where the oldest falls out.
/// </summary>
[TestFixture]
[Category("unit")]
public sealed class ProcessHistoryTests
{
    // A restart reserves room for the events it restores (ReserveHistory) before it appends them: the ring must
    // behave the same whatever room was reserved, less than the events, as many, or past the limit.
    [TestCase(1000, 3, 0)]
    [TestCase(1000, 1000, 0)]
    [TestCase(1000, 2500, 0)]
    [TestCase(5, 17, 0)]
    [TestCase(1, 4, 0)]
    [TestCase(1000, 1000, 1000)]
    [TestCase(1000, 2500, 700)]
    [TestCase(10, 25, 7)]
    [TestCase(5, 17, 100)]
    public void Every_retained_event_is_kept_in_order(int limit, int events, int reserved)
    {
        var state = new ProcessState(ProcessStatus.Running, 0, "{}"u8.ToArray(), DateTimeOffset.UnixEpoch);
        var record = new ProcessRecord("p", "eval", "alice", null, DateTimeOffset.UnixEpoch, state, limit, inProcess: false);
        record.ReserveHistory(reserved);
        var frames = new List<SharedFrame>();
        for (int seq = 1; seq <= events; seq++)
        {
            var frame = SharedFrame.CreateText(System.Text.Encoding.UTF8.GetBytes(seq.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            record.Published = state with { Seq = seq };
            record.AppendHistory(frame, seq == 1 ? HubEventKind.Started : HubEventKind.Progress);
            frames.Add(frame);
        }

        long oldest = Math.Max(1, events - limit + 1);
        Assert.That(record.OldestRetainedSeq, Is.EqualTo(oldest));
        Assert.That(record.HistoryAt(oldest - 1), Is.Null);
        for (long seq = oldest; seq <= events; seq++)
        {
            Assert.That(record.HistoryAt(seq), Is.SameAs(frames[(int)seq - 1]), $"seq {seq}");
            Assert.That(record.HistoryKindAt(seq), Is.EqualTo(seq == 1 ? HubEventKind.Started : HubEventKind.Progress));
        }
        record.ReleaseHistory();
        foreach (var frame in frames)
        {
            frame.Release();
        }
    }

    // A restart restores events as payloads (AppendRestored); a replay frames each the first time it asks, and the
    // frame is the one a live broadcast of that payload would have made. Restored and live events share one ring.
    [TestCase(1000, 5, 0)]
    [TestCase(10, 10, 4)]
    [TestCase(10, 25, 0)]
    [TestCase(10, 7, 30)]
    [TestCase(3, 2, 2)]
    public void Restored_events_are_framed_when_first_replayed_and_fall_out_like_live_ones(int limit, int restored, int live)
    {
        var state = new ProcessState(ProcessStatus.Running, 0, "{}"u8.ToArray(), DateTimeOffset.UnixEpoch);
        var record = new ProcessRecord("p", "eval", "alice", null, DateTimeOffset.UnixEpoch, state, limit, inProcess: false);
        static byte[] PayloadOf(long seq) => System.Text.Encoding.UTF8.GetBytes($$"""{"type":"process_progress","seq":{{seq}}}""");
        static HubEventKind KindOf(long seq) => seq == 1 ? HubEventKind.Started : HubEventKind.Progress;
        record.ReserveHistory(restored);
        for (int seq = 1; seq <= restored; seq++)
        {
            record.Published = state with { Seq = seq };
            record.AppendRestored(PayloadOf(seq), KindOf(seq));
        }
        var liveFrames = new Dictionary<long, SharedFrame>();
        for (int seq = restored + 1; seq <= restored + live; seq++)
        {
            var frame = SharedFrame.CreateText(PayloadOf(seq), StoredEvent.FrameKindOf(KindOf(seq)), record.CoalesceKey);
            record.Published = state with { Seq = seq };
            record.AppendHistory(frame, KindOf(seq));
            liveFrames[seq] = frame;
        }

        int events = restored + live;
        long oldest = Math.Max(1, events - limit + 1);
        Assert.That(record.OldestRetainedSeq, Is.EqualTo(oldest));
        Assert.That(record.HistoryAt(oldest - 1), Is.Null);
        for (long seq = oldest; seq <= events; seq++)
        {
            var frame = record.HistoryAt(seq);
            Assert.That(frame, Is.Not.Null, $"seq {seq}");
            using var expected = new FrameLease(SharedFrame.CreateText(PayloadOf(seq), StoredEvent.FrameKindOf(KindOf(seq)), record.CoalesceKey));
            Assert.That(frame!.Frame.ToArray(), Is.EqualTo(expected.Frame.Frame.ToArray()), $"seq {seq}: the frame a live broadcast makes");
            Assert.That((frame.Kind, frame.CoalesceKey), Is.EqualTo((expected.Frame.Kind, record.CoalesceKey)), $"seq {seq}");
            Assert.That(record.HistoryKindAt(seq), Is.EqualTo(KindOf(seq)));
            Assert.That(record.HistoryAt(seq), Is.SameAs(frame), $"seq {seq}: framed once, then kept");
            if (liveFrames.TryGetValue(seq, out var liveFrame))
            {
                Assert.That(frame, Is.SameAs(liveFrame), $"seq {seq}: a live event's history is its broadcast frame");
            }
        }
        record.ReleaseHistory();
        foreach (var frame in liveFrames.Values)
        {
            frame.Release();
        }
    }

    private readonly struct FrameLease(SharedFrame frame) : IDisposable
    {
        public SharedFrame Frame { get; } = frame;

        public void Dispose() => Frame.Release();
    }
}
