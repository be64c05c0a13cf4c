using System.Text;
using BenchmarkDotNet.Attributes;
using ProcessHub.Api;
using ProcessHub.Auth;
using ProcessHub.Hub;
using ProcessHub.Hub.Processes;
using ProcessHub.Hub.Sessions;

namespace ProcessHub.Benchmarks.Load;

/// <summary>
/// The pieces of one <c>POST /api/processes/{id}/progress</c>, to find where the HTTP producer path spends its CPU
/// (the fan-out benchmark at N = 1 measures that path, not fan-out): token validation, body parsing, and the
/// report itself with no connection listening.
/// </summary>
[MemoryDiagnoser]
public class ProducerPathBenchmarks
{
    private const string Secret = "producer-path-benchmark-secret-0123456789abcdef";
    private TokenValidator _validator = null!;
    private TokenValidator _uncachedValidator = null!;
    private string _token = null!;
    private ReadOnlyMemory<byte> _body;
    private ProcessHandle _handle = null!;
    private System.Text.Json.JsonDocument _progress = null!;
    private long _i;

    [GlobalSetup]
    public void Setup()
    {
        _validator = new TokenValidator(new JwtSettings { Secret = Secret });
        _uncachedValidator = new TokenValidator(new JwtSettings { Secret = Secret }, cacheCapacity: 0);
        _token = Tokens.Issue(Secret, "load", producer: true);
        _body = Encoding.UTF8.GetBytes("{\"current\":123456,\"total\":2000000000,\"ts\":1234567890123456,\"detail\":\"fan-out load event\"}");
        var options = new HubOptions();
        var registry = new ProcessRegistry(new Broadcaster(new SessionIndex()), options, TimeProvider.System);
        var engine = new LocalProcessEngine(registry, new MemoryProcessStore(), TimeProvider.System);
        engine.Open();
        _handle = new ProcessProducer(engine, registry, options).Start("load", "load", 2_000_000_000);
        JsonBody.TryParseObject(_body, allowEmpty: false, out var progress, out _);
        _progress = progress!;
    }

    /// <summary>A producer's repeated token: answered from the validated-token cache after the first call.</summary>
    [Benchmark]
    public bool ValidateToken() => _validator.Validate(_token).Succeeded;

    /// <summary>Full validation, as a token's first use (or every use with caching off) costs.</summary>
    [Benchmark]
    public bool ValidateTokenInFull() => _uncachedValidator.Validate(_token).Succeeded;

    /// <summary>A report's body parsed and its document disposed, as the progress endpoint does.</summary>
    [Benchmark]
    public bool ParseBody()
    {
        bool parsed = JsonBody.TryParseObject(_body, allowEmpty: false, out var document, out _);
        document?.Dispose();
        return parsed;
    }

    [Benchmark]
    public ReportResult ReportProgress()
    {
        _i++;
        return _handle.ReportProgress(_progress.RootElement);
    }
}
