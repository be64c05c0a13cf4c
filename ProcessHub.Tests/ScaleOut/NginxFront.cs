using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.ScaleOut;

/// <summary>
/// A real nginx in front of real hubs, configured with the very block docs/scale-out.md gives users: only the hubs'
/// addresses, the port and the logs' paths are put in for the test, so the test fails if the documented
/// configuration stops carrying WebSockets, the API or SSE. One process (no daemon, no workers) with every file in a
/// temporary directory; the binary is Debian's, which <c>./run.sh test</c> unpacks into <c>artifacts/tools/nginx</c>
/// (unpacked, not installed, so that no system service is started).
/// </summary>
internal sealed partial class NginxFront : IAsyncDisposable
{
    private readonly string _directory;
    private readonly Process _process;

    private NginxFront(Process process, IPEndPoint endPoint, string directory)
    {
        _process = process;
        EndPoint = endPoint;
        _directory = directory;
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>The access log, in the documented format.</summary>
    public string AccessLog => ReadLog("access.log");

    /// <summary>What nginx wrote to its error logs: the documented server's and the test's own of the whole process.</summary>
    public string ErrorLogs => ReadLog("processhub.error.log") + ReadLog("error.log");

    private string ReadLog(string name) => File.Exists(Path.Combine(_directory, name)) ? File.ReadAllText(Path.Combine(_directory, name)) : "";

    public static string? Executable() =>
        new[] { Path.Combine(RepositoryPaths.Root, "artifacts", "tools", "nginx", "usr", "sbin", "nginx"), "/usr/sbin/nginx" }.FirstOrDefault(File.Exists);

    /// <summary>The ```nginx block of docs/scale-out.md, with <paramref name="hubs"/> as its upstream servers.</summary>
    public static string DocumentedConfiguration(IReadOnlyList<IPEndPoint> hubs, int port, string directory)
    {
        string doc = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "docs", "scale-out.md"));
        var block = DocumentedBlock().Match(doc);
        if (!block.Success)
        {
            throw new InvalidDataException("docs/scale-out.md has no ```nginx block");
        }
        string servers = string.Join('\n', hubs.Select(h => $"    server {h};"));
        // The documented servers go; the hubs take the place of the first.
        int replaced = 0;
        string configuration = UpstreamServers().Replace(block.Groups[1].Value, _ => replaced++ == 0 ? servers : "");
        return configuration
            .Replace("listen 80;", $"listen 127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)};", StringComparison.Ordinal)
            .Replace("/var/log/nginx/processhub.access.log", Path.Combine(directory, "access.log"), StringComparison.Ordinal)
            .Replace("/var/log/nginx/processhub.error.log", Path.Combine(directory, "processhub.error.log"), StringComparison.Ordinal);
    }

    public static async Task<NginxFront> StartAsync(IReadOnlyList<IPEndPoint> hubs)
    {
        string? executable = Executable();
        RequiredTools.Nginx(executable);
        string directory = Path.Combine(Path.GetTempPath(), "processhub-nginx-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        int port = LoopbackPort.Free();
        string http = DocumentedConfiguration(hubs, port, directory);
        string temp = string.Join('\n', new[] { "client_body", "proxy", "fastcgi", "uwsgi", "scgi" }
            .Select(kind => $"    {kind}_temp_path {Path.Combine(directory, kind)};"));
        File.WriteAllText(Path.Combine(directory, "nginx.conf"), $$"""
            daemon off;
            master_process off;
            pid {{Path.Combine(directory, "nginx.pid")}};
            error_log {{Path.Combine(directory, "error.log")}} warn;
            events { worker_connections 1024; }
            http {
            {{temp}}
            {{http}}
            }
            """);
        var start = new ProcessStartInfo(executable!) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in new[] { "-p", directory, "-e", Path.Combine(directory, "error.log"), "-c", Path.Combine(directory, "nginx.conf") })
        {
            start.ArgumentList.Add(arg);
        }
        var process = Process.Start(start)!;
        var front = new NginxFront(process, new IPEndPoint(IPAddress.Loopback, port), directory);
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(front.EndPoint.Address, port);
                return front;
            }
            catch (SocketException) when (!process.HasExited && deadline.Elapsed < TimeSpan.FromSeconds(20))
            {
                await Task.Delay(50); // polling for the port: nginx says nothing when it listens
            }
            catch (SocketException)
            {
                string log = File.Exists(Path.Combine(directory, "error.log")) ? File.ReadAllText(Path.Combine(directory, "error.log")) : "";
                await front.DisposeAsync();
                throw new InvalidOperationException($"nginx did not start: {log}");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        ScratchDirectory.Delete(_directory);
    }

    [GeneratedRegex("```nginx\n(.*?)\n```", RegexOptions.Singleline)]
    private static partial Regex DocumentedBlock();

    [GeneratedRegex(@"^[ \t]*server [0-9.]+:[0-9]+;[ \t]*$", RegexOptions.Multiline)]
    private static partial Regex UpstreamServers();
}
