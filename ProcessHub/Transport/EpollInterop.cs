using System.Runtime.InteropServices;

namespace ProcessHub.Transport;

/// <summary>
/// The few Linux epoll calls <see cref="ReadinessPoller"/> needs. <c>struct epoll_event</c> is packed on x86-64
/// (12 bytes, the data right after the 4-byte mask) and naturally aligned elsewhere (16 bytes), so events are read
/// and written through <see cref="EventSize"/> and <see cref="DataOffset"/> rather than one struct layout.
/// </summary>
internal static unsafe partial class EpollInterop
{
    public const int CtlAdd = 1;
    public const int CtlDel = 2;
    public const int CtlMod = 3;

    public const uint In = 0x001;
    public const uint Err = 0x008;
    public const uint Hup = 0x010;
    public const uint RdHup = 0x2000;
    public const uint OneShot = 1u << 30;

    public const int CloExec = 0x80000; // EPOLL_CLOEXEC == O_CLOEXEC
    public const int ErrnoInterrupted = 4; // EINTR
    public const int ErrnoExists = 17; // EEXIST
    public const int ErrnoNotFound = 2; // ENOENT

    public static bool IsSupported { get; } =
        OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64;

    public static int EventSize { get; } = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

    private static int DataOffset { get; } = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

    /// <summary>epoll_ctl with one event built in place.</summary>
    public static int Control(int epollFd, int operation, int fd, uint events, ulong data)
    {
        byte* ev = stackalloc byte[16];
        new Span<byte>(ev, 16).Clear();
        *(uint*)ev = events;
        *(ulong*)(ev + DataOffset) = data;
        return EpollCtl(epollFd, operation, fd, ev);
    }

    public static ulong ReadData(byte* events, int index) => *(ulong*)(events + (index * EventSize) + DataOffset);

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    public static partial int Create(int flags);

    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    public static partial int Wait(int epollFd, byte* events, int maxEvents, int timeoutMilliseconds);

    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    private static partial int EpollCtl(int epollFd, int operation, int fd, byte* ev);
}
