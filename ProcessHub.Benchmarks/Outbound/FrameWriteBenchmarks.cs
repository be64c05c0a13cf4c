using System.Text.Json;
using BenchmarkDotNet.Attributes;
using ProcessHub.Outbound;
using ProcessHub.WebSockets;

namespace ProcessHub.Benchmarks.Outbound;

/// <summary>
/// Writing one server text frame the way the hub does for a fan-out: rent a pooled <see cref="SharedFrame"/>,
/// serialize a ~200-byte event into it, seal the header in front, release the last reference. Plus the bare
/// header writer for each of the three length encodings.
/// </summary>
[MemoryDiagnoser]
public class FrameWriteBenchmarks
{
    // Property names encoded once, as a producer on the hot path would.
    private static readonly JsonEncodedText TypeName = JsonEncodedText.Encode("type");
    private static readonly JsonEncodedText ProgressType = JsonEncodedText.Encode("process_progress");
    private static readonly JsonEncodedText ProcessName = JsonEncodedText.Encode("process");
    private static readonly JsonEncodedText IdName = JsonEncodedText.Encode("id");
    private static readonly JsonEncodedText NameName = JsonEncodedText.Encode("name");
    private static readonly JsonEncodedText OwnerName = JsonEncodedText.Encode("owner");
    private static readonly JsonEncodedText ProgressName = JsonEncodedText.Encode("progress");
    private static readonly JsonEncodedText StageName = JsonEncodedText.Encode("stage");
    private static readonly JsonEncodedText UpdatedAtName = JsonEncodedText.Encode("updatedAt");

    private static readonly DateTimeOffset UpdatedAt = new(2025, 11, 26, 7, 19, 0, 123, TimeSpan.Zero);

    private readonly byte[] _header = new byte[FrameHeaderWriter.MaxHeaderLength];

    // Lengths in fields, not literals, so the JIT cannot fold the length switch away as it could for a constant.
    private int _length7Bit = 100;
    private int _length16Bit = 1_000;
    private int _length64Bit = 100_000;
    private Utf8JsonWriter _json = null!;
    private byte[] _serialized = [];

    /// <summary>The event payload, as <see cref="WriteProgressEvent"/> writes it.</summary>
    public ReadOnlyMemory<byte> Serialized => _serialized;

    [GlobalSetup]
    public void Setup()
    {
        _json = new Utf8JsonWriter(Stream.Null);
        using (var buffer = new MemoryStream())
        {
            using (var writer = new Utf8JsonWriter(buffer))
            {
                WriteProgressEvent(writer);
            }
            _serialized = buffer.ToArray();
        }
        VerifyFrame();
    }

    [GlobalCleanup]
    public void Cleanup() => _json.Dispose();

    /// <summary>Serialize with a reused Utf8JsonWriter straight into the shared frame. Returns the frame length.</summary>
    [Benchmark]
    public int SharedFrameJson()
    {
        var frame = SharedFrame.Rent(FrameKind.Progress, coalesceKey: 17);
        _json.Reset(frame);
        WriteProgressEvent(_json);
        _json.Flush();
        frame.SealText();
        int length = frame.Length;
        frame.Release();
        return length;
    }

    /// <summary>Copy an already serialized payload into a shared frame (<see cref="SharedFrame.CreateText"/>).</summary>
    [Benchmark]
    public int SharedFrameCopy()
    {
        var frame = SharedFrame.CreateText(_serialized);
        int length = frame.Length;
        frame.Release();
        return length;
    }

    // The three header forms: 7-bit, 16-bit and 64-bit payload length (2, 4 and 10 bytes). Returns the header length.
    [Benchmark]
    public int HeaderWrite7BitLength() => FrameHeaderWriter.Write(_header, Opcode.Text, _length7Bit);

    [Benchmark]
    public int HeaderWrite16BitLength() => FrameHeaderWriter.Write(_header, Opcode.Text, _length16Bit);

    [Benchmark]
    public int HeaderWrite64BitLength() => FrameHeaderWriter.Write(_header, Opcode.Text, _length64Bit);

    // A process_progress event as the hub would broadcast it: about 200 bytes of JSON.
    private static void WriteProgressEvent(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString(TypeName, ProgressType);
        writer.WriteStartObject(ProcessName);
        writer.WriteString(IdName, "7f3c2a1e-9b4d-4c61-a0f2-5d8e6b1c3a90");
        writer.WriteString(NameName, "nightly-eval");
        writer.WriteString(OwnerName, "alice");
        writer.WriteEndObject();
        writer.WriteNumber(ProgressName, 0.4213);
        writer.WriteString(StageName, "tokenizing shard 17/40");
        writer.WriteString(UpdatedAtName, UpdatedAt);
        writer.WriteEndObject();
    }

    // The benchmark's frame must be a FIN text frame whose 16-bit length matches a JSON payload that parses.
    private void VerifyFrame()
    {
        var frame = SharedFrame.Rent();
        try
        {
            _json.Reset(frame);
            WriteProgressEvent(_json);
            _json.Flush();
            frame.SealText();
            var bytes = frame.Frame.Span;
            int expectedHeader = FrameHeaderWriter.HeaderLength(_serialized.Length);
            if (bytes[0] != 0x81 || frame.Length != expectedHeader + _serialized.Length || !frame.Payload.SequenceEqual(_serialized))
            {
                throw new InvalidOperationException("the shared frame does not hold the serialized event");
            }
            using var document = JsonDocument.Parse(frame.Payload.ToArray());
        }
        finally
        {
            frame.Release();
        }
    }
}
