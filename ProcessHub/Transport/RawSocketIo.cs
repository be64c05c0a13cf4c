using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace ProcessHub.Transport;

/// <summary>
/// Non-blocking send and receive straight on a socket's descriptor, where epoll is used (<see cref="ReadinessPoller"/>).
/// The runtime's own synchronous <see cref="Socket.Send(ReadOnlySpan{byte}, SocketFlags, out SocketError)"/> and
/// <c>Receive</c> on a non-blocking socket, and <see cref="Socket.Blocking"/> itself, create the socket's
/// <c>SocketAsyncContext</c> (152 bytes and three lock objects, about 220 bytes of heap per connection, measured with
/// dotnet-gcdump): here an idle connection has none, and one that never blocks on a send never gets one.
/// </summary>
/// <remarks>
/// The handle is referenced for the length of each call, so a concurrent close cannot let the descriptor number be
/// reused by another connection in between (what the runtime's own calls do too).
/// </remarks>
internal static unsafe partial class RawSocketIo
{
    private const int ErrnoInterrupted = 4;      // EINTR
    private const int ErrnoWouldBlock = 11;      // EAGAIN == EWOULDBLOCK on Linux x64 and arm64
    private const int ErrnoBrokenPipe = 32;      // EPIPE
    private const int ErrnoConnectionReset = 104; // ECONNRESET
    private const int ErrnoNotConnected = 107;   // ENOTCONN
    private const int ErrnoTimedOut = 110;       // ETIMEDOUT
    private const int MsgNoSignal = 0x4000;      // MSG_NOSIGNAL: a send to a closed peer is EPIPE, never SIGPIPE
    private const nuint NonBlockingIoctl = 0x5421; // FIONBIO (Linux x64 and arm64)

    /// <summary>Where the calls below are used: the same platforms as <see cref="ReadinessPoller"/>.</summary>
    public static bool IsSupported => EpollInterop.IsSupported;

    /// <summary>Puts the descriptor in non-blocking mode without telling the runtime's <see cref="Socket"/>.</summary>
    public static void SetNonBlocking(SafeSocketHandle handle)
    {
        bool referenced = false;
        handle.DangerousAddRef(ref referenced);
        try
        {
            int on = 1;
            if (Ioctl((int)handle.DangerousGetHandle(), NonBlockingIoctl, &on) < 0)
            {
                throw new SocketException((int)ToSocketError(Marshal.GetLastPInvokeError()));
            }
        }
        finally
        {
            handle.DangerousRelease();
        }
    }

    /// <summary>One non-blocking send; <see cref="SocketError.WouldBlock"/> when the kernel's buffer is full.</summary>
    public static int Send(SafeSocketHandle handle, ReadOnlySpan<byte> data, out SocketError error)
    {
        bool referenced = false;
        handle.DangerousAddRef(ref referenced);
        try
        {
            fixed (byte* bytes = data)
            {
                nint result;
                do
                {
                    result = SysSend((int)handle.DangerousGetHandle(), bytes, (nuint)data.Length, MsgNoSignal);
                }
                while (result < 0 && Marshal.GetLastPInvokeError() == ErrnoInterrupted);
                return Complete(result, out error);
            }
        }
        finally
        {
            handle.DangerousRelease();
        }
    }

    /// <summary>One non-blocking receive; 0 bytes with <see cref="SocketError.Success"/> is the peer's end of stream.</summary>
    public static int Receive(SafeSocketHandle handle, Span<byte> buffer, out SocketError error)
    {
        bool referenced = false;
        handle.DangerousAddRef(ref referenced);
        try
        {
            fixed (byte* bytes = buffer)
            {
                nint result;
                do
                {
                    result = SysRecv((int)handle.DangerousGetHandle(), bytes, (nuint)buffer.Length, 0);
                }
                while (result < 0 && Marshal.GetLastPInvokeError() == ErrnoInterrupted);
                return Complete(result, out error);
            }
        }
        finally
        {
            handle.DangerousRelease();
        }
    }

    private static int Complete(nint result, out SocketError error)
    {
        if (result >= 0)
        {
            error = SocketError.Success;
            return (int)result;
        }
        error = ToSocketError(Marshal.GetLastPInvokeError());
        return 0;
    }

    private static SocketError ToSocketError(int errno) => errno switch
    {
        ErrnoWouldBlock => SocketError.WouldBlock,
        ErrnoBrokenPipe => SocketError.Shutdown,
        ErrnoConnectionReset => SocketError.ConnectionReset,
        ErrnoNotConnected => SocketError.NotConnected,
        ErrnoTimedOut => SocketError.TimedOut,
        _ => SocketError.SocketError,
    };

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    private static partial nint SysSend(int fd, byte* buffer, nuint length, int flags);

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    private static partial nint SysRecv(int fd, byte* buffer, nuint length, int flags);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(int fd, nuint request, int* argument);
}
