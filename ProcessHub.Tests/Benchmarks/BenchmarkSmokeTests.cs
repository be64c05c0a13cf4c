using System.Reflection;
using System.Text.Json;
using System.Text.Unicode;
using BenchmarkDotNet.Attributes;
using NUnit.Framework;
using ProcessHub.Benchmarks.Http;
using ProcessHub.Benchmarks.Hub;
using ProcessHub.Benchmarks.Outbound;
using ProcessHub.Benchmarks.WebSockets;
using ProcessHub.WebSockets;

namespace ProcessHub.Tests.Benchmarks;

/// <summary>
/// Runs every micro-benchmark once, directly (setup, method, cleanup; no BenchmarkDotNet), so a benchmark that
/// throws, reads a broken frame or stops measuring what it claims fails the suite instead of printing a fast number.
/// </summary>
[TestFixture]
[Category("unit")]
public class BenchmarkSmokeTests
{
    // The same [Params] values BenchmarkDotNet runs, read from the attributes so the two cannot drift apart.
    private static IEnumerable<TestCaseData> FrameReadCases()
    {
        var sizes = ParamsOf(nameof(FrameReadBenchmarks.PayloadSize));
        foreach (int size in sizes.Cast<int>())
        {
            foreach (var text in Enum.GetValues<PayloadText>())
            {
                yield return new TestCaseData(size, text);
            }
        }
    }

    [TestCaseSource(nameof(FrameReadCases))]
    public void FrameRead_delivers_the_whole_payload_and_leaves_the_input_masked(int size, PayloadText text)
    {
        var benchmarks = new FrameReadBenchmarks { PayloadSize = size, Text = text };
        benchmarks.Setup();
        try
        {
            byte[] maskedBefore = benchmarks.Frame.ToArray();

            Assert.That(benchmarks.ReadTextFrame(), Is.EqualTo(size), "first read");
            Assert.That(benchmarks.ReadTextFrame(), Is.EqualTo(size), "second read over the same bytes");
            Assert.That(benchmarks.Frame.ToArray(), Is.EqualTo(maskedBefore), "the reader must unmask its own copy, not the input");

            var payload = benchmarks.Payload.Span;
            Assert.That(payload.Length, Is.EqualTo(size));
            Assert.That(Utf8.IsValid(payload), Is.True);
            Assert.That(payload.ContainsAnyExceptInRange((byte)0, (byte)0x7F), Is.EqualTo(text == PayloadText.MultiByteUtf8));
            Assert.DoesNotThrow(() => JsonDocument.Parse(benchmarks.Payload).Dispose(), "the payload should be JSON");
        }
        finally
        {
            benchmarks.Cleanup();
        }
    }

    [TestCase(1, FanOutBenchmarks.Wakeup.WorkItemPerConnection)]
    [TestCase(100, FanOutBenchmarks.Wakeup.WorkItemPerConnection)]
    [TestCase(1, FanOutBenchmarks.Wakeup.SharedFlushers)]
    [TestCase(100, FanOutBenchmarks.Wakeup.SharedFlushers)]
    public void FanOut_hands_one_frame_to_every_subscriber_per_publish(int subscribers, FanOutBenchmarks.Wakeup writers)
    {
        var benchmarks = new FanOutBenchmarks { Subscribers = subscribers, Writers = writers };
        benchmarks.Setup();
        // Each call returns only once every subscriber's "socket" got the frame; a lost frame would hang, so bound it.
        var run = Task.Run(() => (Once: benchmarks.SerializeOnce(), PerSubscriber: benchmarks.SerializePerSubscriber()));
        Assert.That(run.Wait(TimeSpan.FromSeconds(30)), Is.True, "every subscriber received both events");
        Assert.That(run.Result.Once, Is.EqualTo(subscribers));
        Assert.That(run.Result.PerSubscriber, Is.EqualTo(subscribers));
    }

    [Test]
    public void FrameWrite_produces_the_whole_frame_and_each_header_form()
    {
        var benchmarks = new FrameWriteBenchmarks();
        benchmarks.Setup();
        try
        {
            int payload = benchmarks.Serialized.Length;
            Assert.That(payload, Is.InRange(150, 260), "a ~200-byte event");
            int frame = FrameHeaderWriter.HeaderLength(payload) + payload;

            Assert.That(benchmarks.SharedFrameJson(), Is.EqualTo(frame));
            Assert.That(benchmarks.SharedFrameJson(), Is.EqualTo(frame), "a second frame from the pool");
            Assert.That(benchmarks.SharedFrameCopy(), Is.EqualTo(frame));
            Assert.That(benchmarks.HeaderWrite7BitLength(), Is.EqualTo(2));
            Assert.That(benchmarks.HeaderWrite16BitLength(), Is.EqualTo(4));
            Assert.That(benchmarks.HeaderWrite64BitLength(), Is.EqualTo(10));
        }
        finally
        {
            benchmarks.Cleanup();
        }
    }

    [Test]
    public void RequestParse_consumes_the_whole_head_and_writes_the_101()
    {
        var benchmarks = new RequestParseBenchmarks();
        benchmarks.Setup();
        try
        {
            Assert.That(benchmarks.HeadLength, Is.InRange(450, 700), "a browser-sized upgrade request");
            Assert.That(benchmarks.ParseSingleSegment(), Is.EqualTo(benchmarks.HeadLength));
            Assert.That(benchmarks.ParseThreeSegments(), Is.EqualTo(benchmarks.HeadLength));
            Assert.That(benchmarks.ParseSingleSegment(), Is.EqualTo(benchmarks.HeadLength), "again, with the reused request");
            Assert.That(benchmarks.WriteAcceptResponse(), Is.InRange(28 + 4, WebSocketHandshake.MaxAcceptResponseLength));
        }
        finally
        {
            benchmarks.Cleanup();
        }
    }

    // A benchmark added later without its own test above still gets run once here.
    private static IEnumerable<TestCaseData> AllBenchmarks() =>
        typeof(FrameReadBenchmarks).Assembly.GetTypes()
            .SelectMany(type => type.GetMethods().Where(method => method.GetCustomAttribute<BenchmarkAttribute>() is not null))
            .Select(method => new TestCaseData(method).SetArgDisplayNames($"{method.DeclaringType!.Name}.{method.Name}"));

    [TestCaseSource(nameof(AllBenchmarks))]
    public void Every_benchmark_runs_once_with_its_first_parameters(MethodInfo benchmark)
    {
        var type = benchmark.DeclaringType!;
        object instance = Activator.CreateInstance(type)!;
        foreach (var property in type.GetProperties())
        {
            var values = property.GetCustomAttribute<ParamsAttribute>()?.Values
                ?? (property.GetCustomAttribute<ParamsAllValuesAttribute>() is not null ? Enum.GetValues(property.PropertyType).Cast<object>().ToArray() : null);
            if (values is not null)
            {
                property.SetValue(instance, values[0]);
            }
        }
        Invoke<GlobalSetupAttribute>(type, instance);
        try
        {
            Assert.That(benchmark.GetParameters(), Is.Empty, "benchmarks with [Arguments] need a case here");
            object? result = benchmark.Invoke(instance, null);
            // Each benchmark returns evidence that it did the work: a positive length or count, true, or Accepted.
            switch (result)
            {
                case int length:
                    Assert.That(length, Is.GreaterThan(0), "a benchmark returning a length returns a positive one");
                    break;
                case bool succeeded:
                    Assert.That(succeeded, Is.True, "a benchmark returning a bool reports success");
                    break;
                case ProcessHub.Hub.ReportResult report:
                    Assert.That(report, Is.EqualTo(ProcessHub.Hub.ReportResult.Accepted));
                    break;
                default:
                    Assert.Fail($"{benchmark.Name} returns {result?.GetType().Name ?? "null"}; give it a check here");
                    break;
            }
        }
        finally
        {
            Invoke<GlobalCleanupAttribute>(type, instance);
        }
    }

    private static object?[] ParamsOf(string property) =>
        typeof(FrameReadBenchmarks).GetProperty(property)!.GetCustomAttribute<ParamsAttribute>()!.Values;

    private static void Invoke<TAttribute>(Type type, object instance)
        where TAttribute : Attribute
    {
        foreach (var method in type.GetMethods().Where(method => method.GetCustomAttribute<TAttribute>() is not null))
        {
            method.Invoke(instance, null);
        }
    }
}
