using System.Net.Sockets;

namespace ProcessHub.Transport;

internal static class AcceptErrorClassifier
{
    public static AcceptErrorKind Classify(SocketError error) => error switch
    {
        SocketError.ConnectionAborted or SocketError.ConnectionReset or SocketError.Interrupted
            or SocketError.TryAgain or SocketError.WouldBlock or SocketError.TimedOut
            or SocketError.NetworkDown or SocketError.NetworkUnreachable or SocketError.HostUnreachable
            or SocketError.ProtocolNotSupported => AcceptErrorKind.Transient,
        // EMFILE/ENFILE surface as TooManyOpenSockets, ENOBUFS/ENOMEM as NoBufferSpaceAvailable.
        SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable => AcceptErrorKind.ResourcePressure,
        _ => AcceptErrorKind.Fatal,
    };
}
