using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace ProcessHub.Transport;

/// <summary>
/// One epoll set and one thread that tell waiting readers their socket has data. It exists for memory per idle
/// connection: a socket waiting through the runtime's own async receive holds a <c>SocketAsyncContext</c>, an
/// <c>AwaitableSocketAsyncEventArgs</c>, a pending receive operation and its callback (about 650 bytes of heap
/// per connection, measured with dotnet-gcdump); here a waiting socket costs an epoll entry in the kernel and
/// one slot in <see cref="_targets"/>.
/// </summary>
/// <remarks>
/// Registrations are one-shot (EPOLLONESHOT): an event disarms the socket until its reader asks again, so one wait
/// gets at most one event and a reader never races its own wake-ups. The event's data is the target's token (slot
/// index and a generation), not a GC handle, so an event still in flight for a connection that has since closed finds
/// a freed or reused slot with another token and is dropped.
/// </remarks>
internal sealed unsafe class ReadinessPoller
{
    private const int MaxEventsPerWait = 256;

    private static readonly Lazy<ReadinessPoller> s_shared = new(() => new ReadinessPoller());

    private readonly int _epollFd;
    private readonly Lock _slotsGate = new();
    private IReadinessTarget?[] _targets = new IReadinessTarget?[1024];
    private uint[] _generations = new uint[1024];
    private int[] _freeSlots = new int[1024];
    private int _freeCount;
    private int _nextUnusedSlot;

    private ReadinessPoller()
    {
        _epollFd = EpollInterop.Create(EpollInterop.CloExec);
        if (_epollFd < 0)
        {
            throw new SocketException(Marshal.GetLastPInvokeError());
        }
        var thread = new Thread(Run) { IsBackground = true, Name = "ProcessHub readiness" };
        thread.Start();
    }

    /// <summary>Whether this platform has epoll; elsewhere readers wait through the runtime's async receive.</summary>
    public static bool IsSupported => EpollInterop.IsSupported;

    public static ReadinessPoller Shared => s_shared.Value;

    /// <summary>Reserves a slot for <paramref name="target"/>; the token goes into every event for it.</summary>
    public ulong Register(IReadinessTarget target)
    {
        lock (_slotsGate)
        {
            int slot;
            if (_freeCount > 0)
            {
                slot = _freeSlots[--_freeCount];
            }
            else
            {
                if (_nextUnusedSlot == _targets.Length)
                {
                    Grow();
                }
                slot = _nextUnusedSlot++;
            }
            _targets[slot] = target;
            return ((ulong)_generations[slot] << 32) | (uint)slot;
        }
    }

    /// <summary>Frees the slot; events still in flight for it are dropped (the generation moves on).</summary>
    public void Unregister(ulong token)
    {
        int slot = (int)(uint)token;
        lock (_slotsGate)
        {
            if (slot >= _nextUnusedSlot || _generations[slot] != (uint)(token >> 32))
            {
                return;
            }
            _targets[slot] = null;
            _generations[slot]++;
            if (_freeCount == _freeSlots.Length)
            {
                Array.Resize(ref _freeSlots, _freeSlots.Length * 2);
            }
            _freeSlots[_freeCount++] = slot;
        }
    }

    /// <summary>
    /// Asks for one readiness event on <paramref name="socket"/>. The socket's handle is held while the kernel is
    /// told, so a concurrent close cannot let the descriptor number be reused by another connection in between.
    /// Returns false when the socket is already closed.
    /// </summary>
    public bool Arm(SafeSocketHandle socket, ulong token, ref bool added)
    {
        bool referenced = false;
        try
        {
            socket.DangerousAddRef(ref referenced);
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
        try
        {
            int fd = (int)socket.DangerousGetHandle();
            const uint Events = EpollInterop.In | EpollInterop.RdHup | EpollInterop.OneShot;
            int operation = added ? EpollInterop.CtlMod : EpollInterop.CtlAdd;
            if (EpollInterop.Control(_epollFd, operation, fd, Events, token) == 0)
            {
                added = true;
                return true;
            }
            int errno = Marshal.GetLastPInvokeError();
            // Out of step with the kernel (should not happen, but both are recoverable): switch operation once.
            int retry = errno switch
            {
                EpollInterop.ErrnoExists => EpollInterop.CtlMod,
                EpollInterop.ErrnoNotFound => EpollInterop.CtlAdd,
                _ => 0,
            };
            if (retry != 0 && EpollInterop.Control(_epollFd, retry, fd, Events, token) == 0)
            {
                added = true;
                return true;
            }
            throw new SocketException(errno);
        }
        finally
        {
            if (referenced)
            {
                socket.DangerousRelease();
            }
        }
    }

    private void Grow()
    {
        int size = _targets.Length * 2;
        // The poller thread reads _targets without the lock: it must see a complete array, so copy first, then publish.
        var targets = new IReadinessTarget?[size];
        Array.Copy(_targets, targets, _targets.Length);
        Array.Resize(ref _generations, size);
        Volatile.Write(ref _targets, targets);
    }

    private void Run()
    {
        byte* events = (byte*)NativeMemory.Alloc((nuint)(MaxEventsPerWait * EpollInterop.EventSize));
        while (true)
        {
            int count = EpollInterop.Wait(_epollFd, events, MaxEventsPerWait, -1);
            if (count < 0)
            {
                if (Marshal.GetLastPInvokeError() == EpollInterop.ErrnoInterrupted)
                {
                    continue;
                }
                // The epoll descriptor itself failed: nothing can be waited for any more, which would hang every reader.
                Environment.FailFast("epoll_wait failed: " + Marshal.GetLastPInvokeError());
            }
            var targets = Volatile.Read(ref _targets);
            for (int i = 0; i < count; i++)
            {
                ulong token = EpollInterop.ReadData(events, i);
                int slot = (int)(uint)token;
                if ((uint)slot < (uint)targets.Length && targets[slot] is { } target && target.ReadinessToken == token)
                {
                    target.OnReadable();
                }
            }
        }
    }
}
