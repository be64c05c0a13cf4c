using System.CommandLine;
using System.Runtime.InteropServices;
using ProcessHub.Client;
using ProcessHub.Client.Internal;
using Spectre.Console;

namespace ProcessHub.Cli;

/// <summary>
/// <c>processhub watch</c>: the terminal view, on <see cref="HubWatcher"/>. Connects to a hub like a browser tab
/// would and shows a live progress bar for every visible process (Spectre.Console), or with <c>--json</c> prints the
/// hub's messages one per line for scripts. When the hub restarts (1001), drops the connection or cannot be reached,
/// it says so and reconnects with backoff, resuming where it was (docs/protocol.md sections 5-6); only a host name that
/// does not resolve at the first attempt ends it (exit 1). Ctrl+C closes the WebSocket with 1000.
/// </summary>
internal sealed class WatchCommand
{
    // A person is waiting at a terminal: retry at least every 10 s rather than the library's 30.
    private static readonly TimeSpan MaxReconnectDelay = TimeSpan.FromSeconds(10);
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
            // The dashboard's address is what a user has at hand: say which WebSocket URL it stands for.
            string suggestion = url is { Scheme: "http" or "https" }
                ? $" (for that hub: {new UriBuilder(url) { Scheme = url.Scheme == "https" ? "wss" : "ws", Port = url.IsDefaultPort ? -1 : url.Port, Path = url.AbsolutePath is "/" or "" ? "/ws" : url.AbsolutePath, Query = "" }.Uri})"
                : "";
            await Console.Error.WriteLineAsync($"{WatchMessages.Prefix}--url must be a ws:// or wss:// URL{suggestion}").ConfigureAwait(false);
            return 2;
        }
        string? token = result.GetValue(_token);
        if (token is not null && string.IsNullOrWhiteSpace(token))
        {
            // The watcher refuses a blank token in its constructor: said here as the option it came from, not as a crash.
            await Console.Error.WriteLineAsync($"{WatchMessages.Prefix}--token is empty").ConfigureAwait(false);
            return 2;
        }
        // The dev banner's WebSocket URL carries its token: taken as --token (which wins when both are given) and
        // taken out of the URL. Left in, it sent "no token" to the dev-token fetch against a hub with a secret, and it
        // outranked the fresh token the hub checks second (docs/protocol.md 2.2) after a dev hub's restart.
        var (withoutToken, tokenInUrl) = TakeToken(url);
        url = withoutToken;

        using var stop = new CancellationTokenSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using var devTokens = token is null ? new DevTokenSource(url) : null;
        var watcher = new HubWatcher(new HubWatcherOptions
        {
            Url = url,
            Token = token,
            TokenProvider = devTokens is null ? null : tokenInUrl is null ? devTokens.FetchAsync : UrlTokenThenDevTokens(tokenInUrl, devTokens),
            MaxReconnectDelay = MaxReconnectDelay,
        });
        bool interactive = !Console.IsOutputRedirected;
        bool bars = !result.GetValue(_json);
        // Declared before the view, so disposed after it: the final frame is drawn while the terminal echoes nothing.
        using var echoOff = bars && interactive ? TerminalEcho.Off(fd: 1) : null;
        using var view = bars ? new WatchView(AnsiConsole.Console, interactive) : null;
        // A resized terminal is laid out again at once (the console reads its new width at the next draw).
        using var resize = view is not null && interactive && !OperatingSystem.IsWindows()
            ? PosixSignalRegistration.Create(PosixSignal.SIGWINCH, _ => view.Redraw())
            : null;
        // Until the first attempt has come out one way or the other: a host name that does not resolve then is given up
        // on; once watch has been connected (or has reached the hub), it is a blip or a restart and is retried.
        bool firstAttempt = true;
        // Ended rows leave when the hub forgets them (it says nothing then): looked at once a second.
        using var expiry = view is null ? null : new Timer(_ => view.ForgetExpired(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        try
        {
            await foreach (var hubEvent in watcher.WatchAsync(stop.Token).ConfigureAwait(false))
            {
                bool wasFirstAttempt = firstAttempt;
                firstAttempt &= hubEvent is not (HubConnected or HubDisconnected);
                switch (hubEvent)
                {
                    case HubDisconnected { WasConnected: false } unresolved when wasFirstAttempt && UnresolvedHost.Is(unresolved.Exception):
                        view?.Dispose();
                        await Console.Error.WriteLineAsync(WatchMessages.Prefix + WatchMessages.UnknownHost(unresolved.Url)).ConfigureAwait(false);
                        return 1;
                    case HubDisconnected disconnected:
                        Notice(view, WatchMessages.Disconnected(disconnected));
                        break;
                    case HubConnected connected:
                        Notice(view, connected.IsReconnect ? WatchMessages.Reconnected(connected) : null);
                        break;
                    case { RawJson: { } json } when view is null:
                        await Console.Out.WriteLineAsync(json).ConfigureAwait(false);
                        await Console.Out.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                        break;
                    default:
                        view?.Apply(hubEvent);
                        break;
                }
            }
            return 0; // Ctrl+C, or the hub ended the connection normally (1000)
        }
        catch (HubConnectionException ex)
        {
            view?.Dispose();
            // A token given to a dev hub is most often the banner's of an earlier run, signed with that run's key: say
            // so when the hub hands out dev tokens (without --token the watcher fetches them and would not be here).
            string hint = ex.CloseStatus == 4401 && token is not null && await HandsOutDevTokensAsync(url).ConfigureAwait(false)
                ? WatchMessages.DevTokenHint
                : "";
            // A rejected token is said the same way wherever it came from: watch's own token provider (the URL's token,
            // then the hub's dev tokens) is nothing the person who typed the command set up or needs to hear of.
            string said = ex.CloseStatus == 4401 ? $"the hub rejected the token ({(string.IsNullOrEmpty(ex.CloseReason) ? "4401" : $"4401 {ex.CloseReason}")})" : ex.Message;
            await Console.Error.WriteLineAsync(WatchMessages.Prefix + said + hint).ConfigureAwait(false);
            return 1;
        }
        catch (DevTokenUnavailableException ex)
        {
            view?.Dispose();
            await Console.Error.WriteLineAsync($"{WatchMessages.Prefix}no token: pass --token (or PROCESSHUB_TOKEN); {ex.Message}").ConfigureAwait(false);
            return 2;
        }

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }
    }

    // Whether the hub is in dev mode: it answers GET /api/dev-token with a token (which is not used, nor shown). A hub
    // that cannot be asked gets no hint: the rejection is reported as it is.
    private static async Task<bool> HandsOutDevTokensAsync(Uri url)
    {
        using var devTokens = new DevTokenSource(url);
        try
        {
            await devTokens.FetchAsync(CancellationToken.None).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is HttpRequestException or DevTokenUnavailableException or TaskCanceledException)
        {
            return false;
        }
    }

    // The URL's token first. Later connections take the hub's dev token when it hands one out (a dev hub restarted:
    // the banner's token died with the run), and the URL's token again from a hub that does not (it has a secret).
    private static Func<CancellationToken, ValueTask<string>> UrlTokenThenDevTokens(string tokenInUrl, DevTokenSource devTokens)
    {
        bool first = true;
        return async cancellationToken =>
        {
            if (first)
            {
                first = false;
                return tokenInUrl;
            }
            try
            {
                return await devTokens.FetchAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (DevTokenUnavailableException)
            {
                return tokenInUrl;
            }
        };
    }

    private static (Uri Url, string? Token) TakeToken(Uri url)
    {
        string query = url.Query.TrimStart('?');
        if (query.Length == 0)
        {
            return (url, null);
        }
        string? token = null;
        var kept = new List<string>();
        foreach (string pair in query.Split('&'))
        {
            if (pair.StartsWith("token=", StringComparison.Ordinal))
            {
                token = Uri.UnescapeDataString(pair["token=".Length..]);
            }
            else
            {
                kept.Add(pair);
            }
        }
        var rebuilt = new UriBuilder(url) { Query = string.Join('&', kept) };
        return (rebuilt.Uri, string.IsNullOrWhiteSpace(token) ? null : token);
    }

    // JSON mode keeps stdout for the hub's messages: notices go to stderr. The bar view places them itself.
    private static void Notice(WatchView? view, string? text)
    {
        if (view is not null)
        {
            view.Notice(text);
        }
        else if (text is not null)
        {
            Console.Error.WriteLine(WatchMessages.Prefix + text);
        }
    }
}
