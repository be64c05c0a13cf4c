using System.Net.Sockets;

namespace ProcessHub.Transport;

/// <summary>
/// What an accept(2) error means for the accept loop. Linux reports on accept the errors of the connection being
/// accepted, not only of the listener (its man page: retry on ENETDOWN, EPROTO, ENOPROTOOPT, EHOSTDOWN, ENONET,
/// EHOSTUNREACH, EOPNOTSUPP, ENETUNREACH, and EPERM when a firewall refused it), and .NET maps the errnos it has no
/// name for (EPROTO among them) to <see cref="SocketError.SocketError"/>. Taking those as fatal stopped accepting for
/// good while the process ran on, so only a listener that is gone is fatal; an error not known is retried after a
/// pause, like resource pressure, and logged.
/// </summary>
internal static class AcceptErrorClassifier
{
    public static AcceptErrorKind Classify(SocketError error) => error switch
    {
        SocketError.ConnectionAborted or SocketError.ConnectionReset or SocketError.Interrupted
            or SocketError.TryAgain or SocketError.WouldBlock or SocketError.TimedOut
            or SocketError.NetworkDown or SocketError.NetworkUnreachable or SocketError.NetworkReset
            or SocketError.HostUnreachable or SocketError.HostDown or SocketError.ProtocolNotSupported
            or SocketError.ProtocolOption or SocketError.OperationNotSupported or SocketError.AccessDenied => AcceptErrorKind.Transient,
        // The listener itself is closed or is no listening socket: nothing to retry.
        SocketError.OperationAborted or SocketError.NotSocket or SocketError.InvalidArgument or SocketError.Fault
            or SocketError.Shutdown => AcceptErrorKind.Fatal,
        // EMFILE/ENFILE surface as TooManyOpenSockets, ENOBUFS as NoBufferSpaceAvailable; ENOMEM and the errnos .NET
        // has no name for as SocketError. All pass, after a pause that doubles while they last.
        _ => AcceptErrorKind.ResourcePressure,
    };
}
