using Microsoft.Extensions.Logging;
using NUnit.Framework;
using ProcessHub.Auth;
using ProcessHub.Hub;
using ProcessHub.Server;
using ProcessHub.Tests.Api;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.ServerPolicies;

/// <summary>
/// Connection lines (issue 15): a line per WebSocket opened, authenticated and closed is Debug (it was most of a
/// connection's cost in a reconnect storm); at Information the server sums them up instead, and only when any came or went.
/// </summary>
[TestFixture]
[Category("socket")]
internal sealed class ConnectionLogTests
{
    [Test]
    public async Task At_information_connections_are_summed_up_not_logged_one_by_one()
    {
        await using var hub = LoggedHub.Start(LogLevel.Information);
        var (app, logs) = (hub.App, hub.Logs);
        string token = app.Tokens.Issue("dora", [], TimeSpan.FromMinutes(5));

        var (first, _) = await RawWebSocketClient.OpenWithListAsync(app.LocalEndPoint, token);
        var (second, _) = await RawWebSocketClient.OpenWithListAsync(app.LocalEndPoint, token);
        await second.DisposeAsync();
        await Eventually.HoldsAsync(() => app.Server.OpenWebSockets == 1, "the closed WebSocket is gone");
        app.Server.LogConnectionSummary();
        app.Server.LogConnectionSummary(); // nothing came or went since: no second line

        var lines = logs.Lines.ToArray();
        Assert.That(lines.Where(l => l.Contains("websockets:", StringComparison.Ordinal)), Is.EqualTo(new[]
        {
            "Information ProcessHub.Server: websockets: 2 opened and 1 closed since the last summary, 1 open ",
        }));
        Assert.That(lines.Where(l => l.Contains("open from", StringComparison.Ordinal) || l.Contains("authenticated as", StringComparison.Ordinal) || l.Contains("closed with", StringComparison.Ordinal)), Is.Empty);
        await first.DisposeAsync();
    }

    [Test]
    public async Task At_debug_every_connection_is_logged_opened_authenticated_and_closed()
    {
        await using var hub = LoggedHub.Start(LogLevel.Debug);
        var (app, logs) = (hub.App, hub.Logs);
        string token = app.Tokens.Issue("erin", [], TimeSpan.FromMinutes(5));

        var (socket, _) = await RawWebSocketClient.OpenWithListAsync(app.LocalEndPoint, token);
        await socket.DisposeAsync();
        await Eventually.HoldsAsync(() => logs.Lines.Any(l => l.Contains("closed with", StringComparison.Ordinal)), "the closed line");

        var lines = logs.Lines.ToArray();
        Assert.That(lines.Count(l => l.StartsWith("Debug ", StringComparison.Ordinal) && l.Contains(" open from 127.0.0.1:", StringComparison.Ordinal)), Is.EqualTo(1), string.Join("\n", lines));
        Assert.That(lines.Count(l => l.StartsWith("Debug ", StringComparison.Ordinal) && l.Contains(" authenticated as erin", StringComparison.Ordinal)), Is.EqualTo(1), string.Join("\n", lines));
        Assert.That(lines.Count(l => l.StartsWith("Debug ", StringComparison.Ordinal) && l.Contains(" closed with ", StringComparison.Ordinal)), Is.EqualTo(1), string.Join("\n", lines));
        Assert.That(lines.Where(l => l.Contains(token, StringComparison.Ordinal)), Is.Empty, "no token in any line");
    }
}
