using System.CommandLine;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Spectre.Console;

namespace ProcessHub.Cli;

/// <summary>
/// <c>processhub watch</c>: the terminal view. Connects to a hub like a browser tab would and shows a live progress
/// bar for every visible process (Spectre.Console), or with <c>--json</c> prints the raw messages one per line for
/// scripts. Ctrl+C closes the WebSocket with 1000.
/// </summary>
internal sealed class WatchCommand
{
    private readonly Option<string> _url = EnvironmentOption.Text("--url", "The hub's WebSocket URL", "ws://127.0.0.1:8501/ws");
    private readonly Option<string?> _token = EnvironmentOption.OptionalText("--token", "JWT to connect with; in dev mode the hub's dev token is fetched when omitted");
    private readonly Option<bool> _json = new("--json") { Description = "Print every message as one line of JSON instead of progress bars" };

    public void AddTo(RootCommand root)
    {
        var command = new Command("watch", "Watch a hub's processes live in the terminal");
        command.Options.Add(_url);
        command.Options.Add(_token);
        command.Options.Add(_json);
        command.SetAction((result, _) => RunAsync(result));
        root.Subcommands.Add(command);
    }

    private async Task<int> RunAsync(ParseResult result)
    {
        if (!Uri.TryCreate(result.GetValue(_url), UriKind.Absolute, out var url) || url.Scheme is not ("ws" or "wss"))
        {
            await Console.Error.WriteLineAsync("processhub watch: --url must be a ws:// or wss:// URL").ConfigureAwait(false);
            return 2;
        }
        bool json = result.GetValue(_json);

        using var stop = new CancellationTokenSource();
        using var socket = new ClientWebSocket();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);

        string? token = result.GetValue(_token) ?? await FetchDevTokenAsync(url, stop.Token).ConfigureAwait(false);
        if (token is null)
        {
            await Console.Error.WriteLineAsync("processhub watch: no token: pass --token (or PROCESSHUB_TOKEN); only a hub in dev mode hands one out").ConfigureAwait(false);
            return 2;
        }

        socket.Options.SetRequestHeader("Authorization", $"Bearer {token}");
        try
        {
            await socket.ConnectAsync(url, stop.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or HttpRequestException or OperationCanceledException)
        {
            await Console.Error.WriteLineAsync($"processhub watch: cannot connect to {url}: {ex.Message}").ConfigureAwait(false);
            return stop.IsCancellationRequested ? 0 : 1;
        }

        var view = json ? null : new WatchView(AnsiConsole.Console, interactive: !Console.IsOutputRedirected);
        return await ReceiveAsync(socket, view, stop.Token).ConfigureAwait(false);

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }
    }

    private static async Task<int> ReceiveAsync(ClientWebSocket socket, WatchView? view, CancellationToken stop)
    {
        // Ctrl+C starts a normal close (1000), as closing a tab would; the loop then reads until the hub's answer.
        // Cancelling the receive itself would abort the socket without a close frame.
        using var closeDeadline = new CancellationTokenSource();
        using var onStop = stop.Register(() =>
        {
            _ = socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
            closeDeadline.CancelAfter(TimeSpan.FromSeconds(2));
        });
        var buffer = new byte[64 * 1024];
        var message = new MemoryStream();
        var stdout = Console.OpenStandardOutput();
        try
        {
            while (true)
            {
                var received = await socket.ReceiveAsync(buffer, closeDeadline.Token).ConfigureAwait(false);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    return stop.IsCancellationRequested ? 0 : Report(socket);
                }
                message.Write(buffer, 0, received.Count);
                if (!received.EndOfMessage)
                {
                    continue;
                }
                var text = message.GetBuffer().AsMemory(0, (int)message.Length);
                if (view is null)
                {
                    await stdout.WriteAsync(text, CancellationToken.None).ConfigureAwait(false);
                    await stdout.WriteAsync("\n"u8.ToArray(), CancellationToken.None).ConfigureAwait(false);
                    await stdout.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                }
                else
                {
                    using var document = JsonDocument.Parse(text);
                    view.Apply(document.RootElement);
                }
                message.SetLength(0);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            if (stop.IsCancellationRequested)
            {
                return 0; // we were closing anyway; the hub did not answer in time
            }
            await Console.Error.WriteLineAsync($"processhub watch: connection lost: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
    }

    private static int Report(ClientWebSocket socket)
    {
        var status = (int?)socket.CloseStatus;
        Console.Error.WriteLine($"processhub watch: the hub closed the connection ({status} {socket.CloseStatusDescription})");
        return status is 1000 or 1001 ? 0 : 1;
    }

    private static async Task<string?> FetchDevTokenAsync(Uri webSocketUrl, CancellationToken cancellationToken)
    {
        var http = new UriBuilder(webSocketUrl) { Scheme = webSocketUrl.Scheme == "wss" ? "https" : "http", Path = "/api/dev-token", Query = "" }.Uri;
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            using var response = await client.GetAsync(http, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return null;
            }
            var body = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken).ConfigureAwait(false);
            return body.TryGetProperty("token", out var token) ? token.GetString() : null;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException)
        {
            return null;
        }
    }
}
