namespace ProcessHub.Tests.Infrastructure;

/// <summary>A connection the engine has finished with, and the close code it recorded (1006 when the peer vanished).</summary>
internal readonly record struct ClosedConnection(long Id, ushort? CloseStatus);
