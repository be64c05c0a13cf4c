using System.Text.Json;
using NUnit.Framework;
using ProcessHub.Client;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.Client;

/// <summary>
/// From an audit: options and arguments the client took without a word, to fail later and worse (a retry that waited
/// for ever, a reconnect loop without a pause, a 400 from the hub, an exception that named what the caller never
/// passed). Each is now refused where it was given, naming it; the hub's own rules (docs/protocol.md 1.4) are checked
/// before anything is sent.
/// </summary>
[TestFixture]
[Category("socket")]
public sealed class ClientArgumentTests
{
    private static readonly Uri Http = new("http://127.0.0.1:8501");
    private static readonly Uri Ws = new("ws://127.0.0.1:8501/ws");

    private static IEnumerable<TestCaseData> ProducerOptionsOutOfRange()
    {
        // Infinite as a cap made every retry wait for ever; a negative one threw at the first retry.
        yield return new TestCaseData("MaxRetryDelay", new HubProducerOptions { HubUrl = Http, Token = "t", MaxRetryDelay = Timeout.InfiniteTimeSpan }).SetArgDisplayNames("MaxRetryDelay infinite");
        yield return new TestCaseData("MaxRetryDelay", new HubProducerOptions { HubUrl = Http, Token = "t", MaxRetryDelay = TimeSpan.FromSeconds(-1) }).SetArgDisplayNames("MaxRetryDelay negative");
        yield return new TestCaseData("MaxRetryDelay", new HubProducerOptions { HubUrl = Http, Token = "t", MaxRetryDelay = TimeSpan.FromDays(50) }).SetArgDisplayNames("MaxRetryDelay past a timer's reach");
        yield return new TestCaseData("MaxRetries", new HubProducerOptions { HubUrl = Http, Token = "t", MaxRetries = -1 }).SetArgDisplayNames("MaxRetries negative");
    }

    [TestCaseSource(nameof(ProducerOptionsOutOfRange))]
    public void A_producer_option_out_of_range_is_refused_by_the_constructor_naming_it(string option, HubProducerOptions options)
    {
        var refused = Assert.Throws<ArgumentOutOfRangeException>(() => new HubProducer(options).Dispose());
        Assert.That(refused!.ParamName, Is.EqualTo($"options.{option}"), refused.Message);
    }

    private static IEnumerable<TestCaseData> WatcherOptionsOutOfRange()
    {
        var min = TimeSpan.FromSeconds(2);
        // Zero or less retried a refused port in a tight loop (36,611 HubDisconnected in 4 s).
        yield return Case("MinReconnectDelay", new HubWatcherOptions { Url = Ws, Token = "t", MinReconnectDelay = TimeSpan.Zero }, "zero");
        yield return Case("MinReconnectDelay", new HubWatcherOptions { Url = Ws, Token = "t", MinReconnectDelay = TimeSpan.FromSeconds(-1) }, "negative");
        yield return Case("MaxReconnectDelay", new HubWatcherOptions { Url = Ws, Token = "t", MinReconnectDelay = min, MaxReconnectDelay = TimeSpan.FromSeconds(1) }, "below the minimum");
        yield return Case("MaxReconnectDelay", new HubWatcherOptions { Url = Ws, Token = "t", MaxReconnectDelay = Timeout.InfiniteTimeSpan }, "infinite");
        yield return Case("StableAfter", new HubWatcherOptions { Url = Ws, Token = "t", StableAfter = TimeSpan.FromSeconds(-1) }, "negative");
        yield return Case("ReconnectJitter", new HubWatcherOptions { Url = Ws, Token = "t", ReconnectJitter = double.NaN }, "NaN");
        yield return Case("ReconnectJitter", new HubWatcherOptions { Url = Ws, Token = "t", ReconnectJitter = -0.1 }, "below 0");
        yield return Case("ReconnectJitter", new HubWatcherOptions { Url = Ws, Token = "t", ReconnectJitter = 1.5 }, "above 1");
        yield return Case("MaxFailedAttempts", new HubWatcherOptions { Url = Ws, Token = "t", MaxFailedAttempts = 0 }, "zero");
        yield return Case("MaxFailedAttempts", new HubWatcherOptions { Url = Ws, Token = "t", MaxFailedAttempts = -3 }, "negative");
        yield return Case("ConnectTimeout", new HubWatcherOptions { Url = Ws, Token = "t", ConnectTimeout = TimeSpan.Zero }, "zero");
        yield return Case("ConnectTimeout", new HubWatcherOptions { Url = Ws, Token = "t", ConnectTimeout = TimeSpan.FromSeconds(-5) }, "negative");
        yield return Case("KeepAliveInterval", new HubWatcherOptions { Url = Ws, Token = "t", KeepAliveInterval = TimeSpan.FromSeconds(-5) }, "negative");
        yield return Case("MaxMessageBytes", new HubWatcherOptions { Url = Ws, Token = "t", MaxMessageBytes = 0 }, "zero");
        yield return Case("MaxMessageBytes", new HubWatcherOptions { Url = Ws, Token = "t", MaxMessageBytes = -1 }, "negative");

        static TestCaseData Case(string option, HubWatcherOptions options, string what) =>
            new TestCaseData(option, options).SetArgDisplayNames($"{option} {what}");
    }

    [TestCaseSource(nameof(WatcherOptionsOutOfRange))]
    public void A_watcher_option_out_of_range_is_refused_by_the_constructor_naming_it(string option, HubWatcherOptions options)
    {
        var refused = Assert.Throws<ArgumentOutOfRangeException>(() => _ = new HubWatcher(options));
        Assert.That(refused!.ParamName, Is.EqualTo($"options.{option}"), refused.Message);
    }

    [Test]
    public void The_edges_of_each_watcher_options_range_are_taken()
    {
        Assert.DoesNotThrow(() => _ = new HubWatcher(new HubWatcherOptions
        {
            Url = Ws,
            Token = "t",
            MinReconnectDelay = TimeSpan.FromMilliseconds(1),
            MaxReconnectDelay = TimeSpan.FromMilliseconds(1),
            StableAfter = TimeSpan.Zero,
            ReconnectJitter = 1,
            MaxFailedAttempts = 1,
            ConnectTimeout = Timeout.InfiniteTimeSpan, // no limit
            KeepAliveInterval = TimeSpan.Zero, // no pings
            MaxMessageBytes = 1,
        }));
        Assert.DoesNotThrow(() => _ = new HubWatcher(new HubWatcherOptions { Url = Ws, Token = "t", ReconnectJitter = 0, KeepAliveInterval = Timeout.InfiniteTimeSpan }));
        Assert.DoesNotThrow(() => new HubProducer(new HubProducerOptions { HubUrl = Http, Token = "t", MaxRetries = 0, MaxRetryDelay = TimeSpan.Zero }).Dispose());
    }

    [TestCase("abc\ndef")]
    [TestCase("abc def")]
    [TestCase("abc\u0000def")]
    public void A_token_with_white_space_or_a_control_character_inside_is_refused_by_the_constructors(string token)
    {
        // From an audit: it was taken, then failed at the first request (FormatException from the producer, an
        // ArgumentException naming the runtime's 'value' out of the watch).
        var cases = new (TestDelegate Construct, string ParamName)[]
        {
            (() => new HubProducer(Http, token).Dispose(), "token"),
            (() => new HubProducer(new HubProducerOptions { HubUrl = Http, Token = token }).Dispose(), "options.Token"),
            (() => _ = new HubWatcher(Ws, token), "token"),
            (() => _ = new HubWatcher(new HubWatcherOptions { Url = Ws, Token = token }), "options.Token"),
        };
        foreach (var (construct, paramName) in cases)
        {
            var refused = Assert.Throws<ArgumentException>(construct);
            Assert.That(refused!.ParamName, Is.EqualTo(paramName), refused.Message);
        }
    }

    [Test]
    public void A_relative_url_is_refused_as_not_absolute_naming_the_parameter_that_carried_it()
    {
        // It threw InvalidOperationException "This operation is not supported for a relative URI".
        var relative = new Uri("/ws", UriKind.Relative);
        var cases = new (TestDelegate Construct, string ParamName)[]
        {
            (() => new HubProducer(relative, "t").Dispose(), "hubUrl"),
            (() => new HubProducer(new HubProducerOptions { HubUrl = relative, Token = "t" }).Dispose(), "options.HubUrl"),
            (() => _ = new HubWatcher(relative, "t"), "url"),
            (() => _ = new HubWatcher(new HubWatcherOptions { Url = relative, Token = "t" }), "options.Url"),
            (() => _ = new HubWatcher(new HubWatcherOptions { Url = Ws, FailoverUrls = [relative], Token = "t" }), "options.FailoverUrls"),
        };
        foreach (var (construct, paramName) in cases)
        {
            var refused = Assert.Throws<ArgumentException>(construct);
            Assert.That(refused!.ParamName, Is.EqualTo(paramName));
            Assert.That(refused.Message, Does.Contain("must be an absolute"));
        }
        var wrongScheme = Assert.Throws<ArgumentException>(() => _ = new HubWatcher(Http, "t"));
        Assert.That(wrongScheme!.ParamName, Is.EqualTo("url"));
    }

    [Test]
    public void A_missing_or_blank_token_is_refused_naming_the_token()
    {
        // new HubProducer(uri, null) named 'options', which the caller never passed.
        Assert.That(Assert.Throws<ArgumentNullException>(() => new HubProducer(Http, null!).Dispose())!.ParamName, Is.EqualTo("token"));
        Assert.That(Assert.Throws<ArgumentNullException>(() => _ = new HubWatcher(Ws, null!))!.ParamName, Is.EqualTo("token"));
        foreach (string blank in new[] { "", "  ", "\n", "\r\n\t" })
        {
            Assert.That(Assert.Throws<ArgumentException>(() => new HubProducer(Http, blank).Dispose())!.ParamName, Is.EqualTo("token"));
            Assert.That(Assert.Throws<ArgumentException>(() => _ = new HubWatcher(Ws, blank))!.ParamName, Is.EqualTo("token"));
            Assert.That(Assert.Throws<ArgumentException>(() => new HubProducer(new HubProducerOptions { HubUrl = Http, Token = blank }).Dispose())!.ParamName, Is.EqualTo("options.Token"));
            Assert.That(Assert.Throws<ArgumentException>(() => _ = new HubWatcher(new HubWatcherOptions { Url = Ws, Token = blank }))!.ParamName, Is.EqualTo("options.Token"));
        }
    }

    [Test]
    public async Task Arguments_the_hub_would_refuse_with_400_are_refused_before_any_request_and_the_edges_go_through()
    {
        await using var host = HubTestHost.Start();
        var handler = new RecordingHandler();
        using var http = new HttpClient(handler);
        // Role producer: it may name another owner, so an owner of 256 bytes is the hub's to take.
        using var producer = new HubProducer(new HubProducerOptions { HubUrl = new Uri($"http://{host.App.LocalEndPoint}"), Token = host.Token("alice", ["producer"]), HttpClient = http, MaxRetries = 0 });
        string tooLong = new('t', 65);
        string owner257 = new string('o', 255) + "é"; // 257 bytes of UTF-8 in 256 characters

        Refused<ArgumentNullException>(() => producer.StartAsync(null!), "processType");
        Refused<ArgumentException>(() => producer.StartAsync("   "), "processType");
        Refused<ArgumentException>(() => producer.StartAsync(tooLong), "processType");
        Refused<ArgumentOutOfRangeException>(() => producer.StartAsync("eval", total: -1), "total");
        Refused<ArgumentException>(() => producer.StartAsync("eval", owner: ""), "owner");
        Refused<ArgumentException>(() => producer.StartAsync("eval", owner: " \t"), "owner");
        Refused<ArgumentException>(() => producer.StartAsync("eval", owner: owner257), "owner");
        // default(JsonElement) threw InvalidOperationException "Operation is not valid due to the current state of the object".
        Refused<ArgumentException>(() => producer.StartAsync("eval", parameters: default(JsonElement)), "parameters");
        Refused<ArgumentException>(() => producer.StartAsync("eval", 0, (object)default(JsonElement)), "parameters");
        Assert.That(handler.Paths, Is.Empty, "nothing was sent");

        // The edges: 64 characters (64 emoji are 128 UTF-16 code units: the hub counts characters), 256 bytes.
        using var edge = await producer.StartAsync(string.Concat(Enumerable.Repeat("🚀", 64)), total: int.MaxValue, owner: new string('o', 254) + "é");
        Assert.That(handler.Statuses, Is.EqualTo(new[] { 201 }));

        Refused<ArgumentOutOfRangeException>(() => edge.ReportAsync(-1, 3), "current");
        Refused<ArgumentOutOfRangeException>(() => edge.ReportAsync(1, -3), "total");
        Refused<ArgumentException>(() => edge.ReportAsync(default(JsonElement)), "progress");
        using var negative = JsonDocument.Parse("""{"current":1,"total":-2}""");
        Refused<ArgumentException>(() => edge.ReportAsync(negative.RootElement), "progress");
        using var fraction = JsonDocument.Parse("""{"current":1.5,"total":2}""");
        Refused<ArgumentException>(() => edge.ReportAsync(fraction.RootElement), "progress");
        using var array = JsonDocument.Parse("[1,2]");
        Refused<ArgumentException>(() => edge.ReportAsync(array.RootElement), "progress");
        Refused<ArgumentException>(() => edge.CompleteAsync(default(JsonElement)), "result");
        Refused<ArgumentException>(() => edge.CompleteAsync((object)default(JsonElement)), "result");
        Refused<ArgumentException>(() => edge.FailAsync(""), "message");
        Refused<ArgumentException>(() => edge.FailAsync("  "), "message");
        Refused<ArgumentException>(() => edge.FailAsync("GPU lost", ""), "code");
        Refused<ArgumentException>(() => edge.FailAsync("GPU lost", " "), "code");
        Refused<ArgumentException>(() => edge.FailAsync("GPU lost", tooLong), "code");
        Assert.That(handler.Statuses, Is.EqualTo(new[] { 201 }), "nothing more was sent");

        Assert.That(await edge.ReportAsync(0, 0), Is.False);
        Assert.That(await edge.FailAsync("GPU lost", string.Concat(Enumerable.Repeat("é", 64))), Is.True, "a code of 64 characters");
        Assert.That(handler.Statuses, Is.EqualTo(new[] { 201, 200, 200 }));
    }

    private static void Refused<T>(Func<Task> call, string paramName) where T : ArgumentException
    {
        var refused = Assert.ThrowsAsync<T>(async () => await call());
        Assert.That(refused!.ParamName, Is.EqualTo(paramName), refused.Message);
    }
}
