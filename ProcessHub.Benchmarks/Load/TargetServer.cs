using System.Net;

namespace ProcessHub.Benchmarks.Load;

/// <summary>What kind of server a target is: it decides the upgrade URL, the publish request and the welcome.</summary>
internal enum ServerKind
{
    /// <summary>ProcessHub: token in the upgrade URL, process_list first, progress over the producer HTTP API.</summary>
    ProcessHub,

    /// <summary>A peer of the shared contract: GET /ws, POST /publish, POST /gc, GET /count.</summary>
    Peer,
}

/// <summary>One server under test, as the bench script started it (pinned to the server core).</summary>
internal sealed record TargetServer(string Name, ServerKind Kind, int Port, int Pid)
{
    public IPEndPoint EndPoint { get; } = new(IPAddress.Loopback, Port);

    /// <summary>name=kind:port:pid, e.g. processhub=processhub:9001:1234 or bun=peer:9004:1240.</summary>
    public static TargetServer Parse(string text)
    {
        int eq = text.IndexOf('=', StringComparison.Ordinal);
        var parts = text[(eq + 1)..].Split(':');
        if (eq <= 0 || parts.Length != 3)
        {
            throw new ArgumentException($"expected name=kind:port:pid, got '{text}'");
        }
        var kind = parts[0] switch
        {
            "processhub" => ServerKind.ProcessHub,
            "peer" => ServerKind.Peer,
            _ => throw new ArgumentException($"unknown server kind '{parts[0]}' (processhub or peer)"),
        };
        return new TargetServer(text[..eq], kind, int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture), int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture));
    }
}
