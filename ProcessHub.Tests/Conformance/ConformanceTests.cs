using NUnit.Framework;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.Conformance;

/// <summary>
/// The Autobahn-derived case tables, each case on its own connection to one shared echo server: a case that
/// breaks its connection cannot disturb the next, and one server start serves the whole table.
/// </summary>
[TestFixture]
[Category("socket")]
internal sealed class ConformanceTests
{
    private TestServer _server = null!;

    [OneTimeSetUp]
    public void StartServer() => _server = TestServer.Start();

    [OneTimeTearDown]
    public async Task StopServer() => await _server.DisposeAsync();

    [TestCaseSource(nameof(Framing))]
    public Task Section1_Framing(ConformanceCase testCase) => testCase.RunAsync(_server.EndPoint);

    [TestCaseSource(nameof(PingPong))]
    public Task Section2_PingPong(ConformanceCase testCase) => testCase.RunAsync(_server.EndPoint);

    [TestCaseSource(nameof(ReservedBits))]
    public Task Section3_ReservedBits(ConformanceCase testCase) => testCase.RunAsync(_server.EndPoint);

    [TestCaseSource(nameof(ReservedOpcodes))]
    public Task Section4_ReservedOpcodes(ConformanceCase testCase) => testCase.RunAsync(_server.EndPoint);

    [TestCaseSource(nameof(Fragmentation))]
    public Task Section5_Fragmentation(ConformanceCase testCase) => testCase.RunAsync(_server.EndPoint);

    [TestCaseSource(nameof(Utf8))]
    public Task Section6_Utf8(ConformanceCase testCase) => testCase.RunAsync(_server.EndPoint);

    [TestCaseSource(nameof(Close))]
    public Task Section7_Close(ConformanceCase testCase) => testCase.RunAsync(_server.EndPoint);

    [TestCaseSource(nameof(Limits))]
    public Task Section9_10_LimitsAndHeaders(ConformanceCase testCase) => testCase.RunAsync(_server.EndPoint);

    private static IEnumerable<TestCaseData> Framing() => AsTestCases(FramingCases.All());

    private static IEnumerable<TestCaseData> PingPong() => AsTestCases(PingPongCases.All());

    private static IEnumerable<TestCaseData> ReservedBits() => AsTestCases(ReservedBitsCases.All());

    private static IEnumerable<TestCaseData> ReservedOpcodes() => AsTestCases(ReservedOpcodeCases.All());

    private static IEnumerable<TestCaseData> Fragmentation() => AsTestCases(FragmentationCases.All());

    private static IEnumerable<TestCaseData> Utf8() => AsTestCases(Utf8Cases.All());

    private static IEnumerable<TestCaseData> Close() => AsTestCases(CloseCases.All());

    private static IEnumerable<TestCaseData> Limits() => AsTestCases(LimitCases.All());

    private static IEnumerable<TestCaseData> AsTestCases(IEnumerable<ConformanceCase> cases) =>
        cases.Select(c => new TestCaseData(c).SetArgDisplayNames(c.ToString()));
}
