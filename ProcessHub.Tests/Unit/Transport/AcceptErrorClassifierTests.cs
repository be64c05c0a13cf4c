using System.Net.Sockets;
using NUnit.Framework;
using ProcessHub.Transport;

namespace ProcessHub.Tests.Unit.Transport;

/// <summary>
/// Which accept errors stop the accept loop. Only a listener that is gone may: the errors Linux reports for the
/// connection being accepted, and the errnos .NET has no name for (EPROTO, ENOMEM: <see cref="SocketError.SocketError"/>),
/// used to be fatal, and the hub then ran on without accepting anyone.
/// </summary>
[TestFixture]
[Category("unit")]
internal sealed class AcceptErrorClassifierTests
{
    [TestCase(SocketError.ConnectionAborted, AcceptErrorKind.Transient)]
    [TestCase(SocketError.HostDown, AcceptErrorKind.Transient)]
    [TestCase(SocketError.ProtocolOption, AcceptErrorKind.Transient)]
    [TestCase(SocketError.OperationNotSupported, AcceptErrorKind.Transient)]
    [TestCase(SocketError.AccessDenied, AcceptErrorKind.Transient)]
    [TestCase(SocketError.NetworkUnreachable, AcceptErrorKind.Transient)]
    [TestCase(SocketError.TooManyOpenSockets, AcceptErrorKind.ResourcePressure)]
    [TestCase(SocketError.NoBufferSpaceAvailable, AcceptErrorKind.ResourcePressure)]
    [TestCase(SocketError.SocketError, AcceptErrorKind.ResourcePressure)]
    [TestCase(SocketError.OperationAborted, AcceptErrorKind.Fatal)]
    [TestCase(SocketError.NotSocket, AcceptErrorKind.Fatal)]
    [TestCase(SocketError.InvalidArgument, AcceptErrorKind.Fatal)]
    public void Only_a_listener_that_is_gone_stops_accepting(SocketError error, AcceptErrorKind expected) =>
        Assert.That(AcceptErrorClassifier.Classify(error), Is.EqualTo(expected));
}
