using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

using KestrelPeer;

// The fan-out peer on Kestrel + ASP.NET Core WebSockets, written the way an ASP.NET Core user would write a
// broadcast hub: one send loop per connection fed by a channel (a WebSocket allows one send at a time).
// Contract shared by every peer: GET /ws upgrades and sends {"type":"hello"} first (the connection storm waits for
// a first message); POST /publish sends its body as one text message to every open connection; POST /gc runs a
// full blocking GC; GET /count answers the number of open connections.
// Usage: dotnet KestrelPeer.dll PORT
int port = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 9002;
var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(k =>
{
    k.Listen(System.Net.IPAddress.Loopback, port);
    k.Limits.MaxConcurrentConnections = null;
    k.Limits.MaxConcurrentUpgradedConnections = null;
    k.Limits.KeepAliveTimeout = TimeSpan.FromHours(1);
    k.Limits.MinRequestBodyDataRate = null;
    k.Limits.MinResponseDataRate = null;
});
var app = builder.Build();
app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.Zero });
var hub = new BroadcastHub();

app.Map("/ws", async context =>
{
    if (!context.WebSockets.IsWebSocketRequest)
    {
        context.Response.StatusCode = 400;
        return;
    }
    using var socket = await context.WebSockets.AcceptWebSocketAsync();
    await hub.RunAsync(socket, context.RequestAborted);
});

app.MapPost("/publish", async context =>
{
    int length = (int)(context.Request.ContentLength ?? 0);
    var body = new byte[length];
    await context.Request.Body.ReadExactlyAsync(body);
    hub.Broadcast(body);
    context.Response.ContentLength = 2;
    await context.Response.Body.WriteAsync("ok"u8.ToArray());
});

app.MapPost("/gc", () =>
{
    GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
    GC.WaitForPendingFinalizers();
    GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
    return "ok";
});

app.MapGet("/count", () => hub.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));

Console.WriteLine($"kestrel peer listening on 127.0.0.1:{port}");
app.Run();
