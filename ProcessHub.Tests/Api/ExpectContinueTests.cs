using System.Net.Sockets;
using System.Text;
using NUnit.Framework;

namespace ProcessHub.Tests.Api;

/// <summary>
/// <c>Expect: 100-continue</c> against the API (RFC 9110 10.1.1): the body is asked for only once the request will
/// be served, so a refused one (401, 429) gets its final status at once and the client never sends the body.
/// </summary>
[TestFixture]
[Category("socket")]
internal sealed class ExpectContinueTests : ApiFixture
{
    private const string Body = """{"process_type":"export","total":3}""";

    [Test]
    public async Task A_bad_token_gets_401_at_once_without_100_and_the_body_is_never_read()
    {
        using var connection = await ConnectAsync();
        await SendAsync(connection, Head("not-a-token"));

        var reply = await RawHttp.ReadResponseAsync(connection.Reader);

        Assert.That(reply.Status, Is.EqualTo(401), "no 100 Continue first: " + reply);
        Assert.That(reply.Header("Connection"), Is.EqualTo("close"), reply.ToString());
    }

    [Test]
    public async Task A_missing_token_gets_401_at_once()
    {
        using var connection = await ConnectAsync();
        await SendAsync(connection, Head(token: null));

        var reply = await RawHttp.ReadResponseAsync(connection.Reader);

        Assert.That(reply.Status, Is.EqualTo(401), reply.ToString());
    }

    [Test]
    public async Task A_good_token_gets_100_then_the_body_is_read_and_the_process_created()
    {
        using var connection = await ConnectAsync();
        await SendAsync(connection, Head(Server.Token("expecting")));

        var interim = await connection.Reader.ReadUntilAsync("\r\n\r\n"u8.ToArray(), RawHttp.Timeout);
        await SendAsync(connection, Body);
        var reply = await RawHttp.ReadResponseAsync(connection.Reader);

        Assert.That(interim is null ? "(closed)" : Encoding.ASCII.GetString(interim), Is.EqualTo("HTTP/1.1 100 Continue\r\n\r\n"));
        Assert.That(reply.Status, Is.EqualTo(201), reply.ToString());
        Assert.That(reply.Json.GetProperty("process_id").GetString(), Is.Not.Empty);
    }

    private static string Head(string? token) =>
        RawHttp.BuildRequest("POST", "/api/processes", token, Encoding.UTF8.GetByteCount(Body), ("Expect", "100-continue"));

    private async Task<Connection> ConnectAsync()
    {
        var client = new TcpClient(AddressFamily.InterNetwork) { NoDelay = true };
        using var timeout = new CancellationTokenSource(RawHttp.Timeout);
        await client.ConnectAsync(Server.EndPoint, timeout.Token);
        return new Connection(client);
    }

    private static async Task SendAsync(Connection connection, string text)
    {
        using var timeout = new CancellationTokenSource(RawHttp.Timeout);
        await connection.Client.GetStream().WriteAsync(Encoding.UTF8.GetBytes(text), timeout.Token);
    }

    private sealed class Connection : IDisposable
    {
        public Connection(TcpClient client)
        {
            Client = client;
            Reader = new BufferedSocketReader(client.GetStream());
        }

        public TcpClient Client { get; }

        public BufferedSocketReader Reader { get; }

        public void Dispose() => Client.Dispose();
    }
}
