using System.CommandLine;
using ProcessHub.Cli;

var root = new RootCommand("ProcessHub: a real-time process-status hub (WebSocket + SSE) on its own HTTP/1.1 and RFC 6455 stack.");
new ServeCommand().AddTo(root);
new WatchCommand().AddTo(root);
new TokenCommand().AddTo(root);

var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    foreach (string message in ParseErrorText.Describe(parsed))
    {
        Console.Error.WriteLine($"processhub: {message}");
    }
    Console.Error.WriteLine("Run with --help for the options.");
    return 2;
}
// We handle SIGINT/SIGTERM ourselves (graceful drain), so the parser must not kill the process on them.
return await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }).ConfigureAwait(false);
