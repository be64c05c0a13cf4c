using System.Runtime.InteropServices;

namespace ProcessHub.Cli;

/// <summary>
/// The terminal's echo, off while the bar view draws and back as it was on dispose. Ctrl+C is echoed by the terminal
/// itself (<c>^C</c>) where the cursor rests, at the end of the frame's last border; a frame as wide as the terminal
/// wraps that echo onto a line of its own, and the live display, which redraws relative to where it left the cursor,
/// then drew its final frame a line too low: a stray top border above it, or a <c>^</c> left beside a border. watch
/// reads nothing from the terminal, so echo off loses nothing (and keys typed meanwhile no longer scribble on the
/// frame either); the Ctrl+C still sends SIGINT, which is not echo's business.
/// </summary>
internal sealed unsafe partial class TerminalEcho : IDisposable
{
    private const uint Echo = 0x8; // ECHO in c_lflag: the same bit on Linux, macOS and the BSDs
    private const int SetNow = 0; // TCSANOW
    private const int TermiosBytes = 256; // more than any platform's struct termios (60 bytes on Linux, 72 on macOS)

    private readonly int _fd;
    private readonly byte[] _saved;

    private TerminalEcho(int fd, byte[] saved)
    {
        _fd = fd;
        _saved = saved;
    }

    // c_lflag is the fourth tcflag_t: an unsigned long on macOS, an unsigned int on Linux and the BSDs.
    private static int LocalFlagsOffset => OperatingSystem.IsMacOS() ? 3 * sizeof(ulong) : 3 * sizeof(uint);

    /// <summary>
    /// Echo off on the terminal behind <paramref name="fd"/>; null (nothing done) on Windows, when it is no terminal,
    /// or when watch is not the terminal's foreground job (a background job changing the terminal is stopped with
    /// SIGTTOU, and its echo is not in the way of anything).
    /// </summary>
    public static TerminalEcho? Off(int fd)
    {
        if (OperatingSystem.IsWindows() || IsATty(fd) != 1 || GetForegroundGroup(fd) != GetProcessGroup())
        {
            return null;
        }
        var saved = new byte[TermiosBytes];
        var changed = new byte[TermiosBytes];
        fixed (byte* savedPointer = saved)
        {
            if (GetAttributes(fd, savedPointer) != 0)
            {
                return null;
            }
        }
        saved.CopyTo(changed, 0);
        fixed (byte* flags = &changed[LocalFlagsOffset])
        {
            if (OperatingSystem.IsMacOS())
            {
                *(ulong*)flags &= ~(ulong)Echo;
            }
            else
            {
                *(uint*)flags &= ~Echo;
            }
        }
        fixed (byte* changedPointer = changed)
        {
            return SetAttributes(fd, SetNow, changedPointer) == 0 ? new TerminalEcho(fd, saved) : null;
        }
    }

    public void Dispose()
    {
        // Not from the background (SIGTTOU would stop watch as it ends): the shell that took the terminal back sets
        // its own modes.
        if (GetForegroundGroup(_fd) != GetProcessGroup())
        {
            return;
        }
        fixed (byte* saved = _saved)
        {
            _ = SetAttributes(_fd, SetNow, saved);
        }
    }

    [LibraryImport("libc", EntryPoint = "isatty")]
    private static partial int IsATty(int fd);

    [LibraryImport("libc", EntryPoint = "tcgetpgrp")]
    private static partial int GetForegroundGroup(int fd);

    [LibraryImport("libc", EntryPoint = "getpgrp")]
    private static partial int GetProcessGroup();

    [LibraryImport("libc", EntryPoint = "tcgetattr")]
    private static partial int GetAttributes(int fd, byte* termios);

    [LibraryImport("libc", EntryPoint = "tcsetattr")]
    private static partial int SetAttributes(int fd, int optionalActions, byte* termios);
}
