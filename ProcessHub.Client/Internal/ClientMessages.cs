using System.Text.Json;

namespace ProcessHub.Client.Internal;

/// <summary>The client-to-hub messages the watcher sends (docs/protocol.md section 4).</summary>
internal static class ClientMessages
{
    /// <summary><c>{"type":"subscribe","process_id":ID,"since":SEQ,"epoch":EPOCH,"request_id":R}</c>: replay what came after <paramref name="since"/>.</summary>
    public static byte[] Subscribe(string processId, long since, string epoch, string requestId) => JsonObjectBytes.Write(writer =>
    {
        writer.WriteString("type", "subscribe");
        writer.WriteString("process_id", processId);
        writer.WriteNumber("since", since);
        writer.WriteString("epoch", epoch);
        writer.WriteString("request_id", requestId);
    });

    /// <summary><c>{"type":"auth","token":T}</c>: a fresh token for the open connection (docs/protocol.md 2.6; no reply).</summary>
    public static byte[] Auth(string token) => JsonObjectBytes.Write(writer =>
    {
        writer.WriteString("type", "auth");
        writer.WriteString("token", token);
    });

    /// <summary><c>{"type":"cancel_process","process_id":ID,"request_id":R}</c>.</summary>
    public static byte[] Cancel(string processId, string requestId) => JsonObjectBytes.Write(writer =>
    {
        writer.WriteString("type", "cancel_process");
        writer.WriteString("process_id", processId);
        writer.WriteString("request_id", requestId);
    });
}
