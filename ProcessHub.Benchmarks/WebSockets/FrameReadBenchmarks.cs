using System.Buffers;
using BenchmarkDotNet.Attributes;
using ProcessHub.Benchmarks.Columns;
using ProcessHub.WebSockets;

namespace ProcessHub.Benchmarks.WebSockets;

/// <summary>
/// One masked client text frame through <see cref="FrameReader"/>: header parse, copy into the pooled message
/// buffer, unmask, incremental UTF-8 check, delivery to the sink. The frame is built once; each invocation reads a
/// fresh sequence over the same bytes. The reader unmasks its own copy, never the input, so the frame stays
/// masked between invocations (checked in <see cref="Setup"/> and by the smoke test).
/// </summary>
[MemoryDiagnoser]
[Config(typeof(PayloadThroughputConfig))]
public class FrameReadBenchmarks
{
    private byte[] _frame = [];
    private byte[] _payload = [];
    private FrameReader _reader = null!;
    private LastMessageSink _sink = null!;

    [Params(16, 1024, 64 * 1024)]
    public int PayloadSize { get; set; }

    [ParamsAllValues]
    public PayloadText Text { get; set; }

    /// <summary>The masked frame every invocation reads.</summary>
    public ReadOnlyMemory<byte> Frame => _frame;

    /// <summary>The unmasked payload the frame carries.</summary>
    public ReadOnlyMemory<byte> Payload => _payload;

    [GlobalSetup]
    public void Setup()
    {
        _payload = JsonLikePayload.Create(PayloadSize, Text);
        _frame = ClientFrameBuilder.MaskedText(_payload, ClientFrameBuilder.ExampleMaskKey);
        int maxMessageBytes = new ProcessHub.Server.ServerOptions().MaxMessageBytes; // the server's default limit, 64 KiB
        _reader = new FrameReader(maxMessageBytes);
        _sink = new LastMessageSink();
        VerifyInputStaysMasked(maxMessageBytes);
    }

    [GlobalCleanup]
    public void Cleanup() => _reader.Reset();

    /// <summary>Returns the delivered message length, or -1 if the frame was not read whole and cleanly.</summary>
    [Benchmark]
    public int ReadTextFrame()
    {
        var buffer = new ReadOnlySequence<byte>(_frame);
        var status = _reader.Read(ref buffer, _sink, out _);
        return status == FrameReadStatus.NeedMoreData && buffer.IsEmpty ? _sink.LastTextLength : -1;
    }

    // Reading the same bytes twice must deliver the same, correctly unmasked payload and leave the input as it was.
    private void VerifyInputStaysMasked(int maxMessageBytes)
    {
        var original = _frame.ToArray();
        var reader = new FrameReader(maxMessageBytes);
        var capture = new CapturingSink();
        for (int pass = 0; pass < 2; pass++)
        {
            var buffer = new ReadOnlySequence<byte>(_frame);
            var status = reader.Read(ref buffer, capture, out var error);
            if (status != FrameReadStatus.NeedMoreData || error != FrameError.None || !buffer.IsEmpty)
            {
                throw new InvalidOperationException($"pass {pass}: status {status}, error {error}, {buffer.Length} bytes left");
            }
            if (capture.LastText is null || !capture.LastText.AsSpan().SequenceEqual(_payload))
            {
                throw new InvalidOperationException($"pass {pass}: the delivered payload differs from the one sent");
            }
            if (!_frame.AsSpan().SequenceEqual(original))
            {
                throw new InvalidOperationException($"pass {pass}: reading changed the input frame");
            }
        }
    }
}
