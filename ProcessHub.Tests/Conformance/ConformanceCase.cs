using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.Conformance;

/// <summary>
/// One row of the conformance table: an Autobahn|Testsuite case id (scaled to our limits where noted), what it
/// checks, and the steps. Every case ends in a close, so it proves both the verdict and that the connection
/// ended cleanly; a case the server must pass ends with a normal close the client starts.
/// </summary>
internal sealed class ConformanceCase
{
    public ConformanceCase(string id, string title, IReadOnlyList<CaseStep> steps)
    {
        Id = id;
        Title = title;
        Steps = steps;
    }

    public string Id { get; }
    public string Title { get; }
    public IReadOnlyList<CaseStep> Steps { get; }

    public async Task RunAsync(System.Net.IPEndPoint server)
    {
        await using var client = await RawWebSocketClient.OpenAsync(server);
        for (int i = 0; i < Steps.Count; i++)
        {
            try
            {
                await Steps[i].RunAsync(client);
            }
            catch (Exception ex) when (ex is TimeoutException or EndOfStreamException or InvalidDataException or System.Net.Sockets.SocketException)
            {
                throw new InvalidOperationException($"case {Id}, step {i + 1} ({Steps[i]}): {ex.Message}", ex);
            }
        }
    }

    public override string ToString() => $"{Id} {Title}";
}
