using System.Globalization;
using Spectre.Console;
namespace ProcessHub.Cli;

/// <summary>
/// Column widths of the bar view for one terminal width, so that a row never wraps (the issue's 100-column
/// terminal wrapped the bar onto a second line). What identifies a row outlasts what describes it: as the terminal
/// narrows, the bar shrinks to <see cref="MinBar"/>, then the detail column (which takes what is left) narrows and
/// is dropped, then the process type is cut down to the id, then the bar goes, then the counts, then the id is cut.
/// The status and the percentage always stay.
/// </summary>
internal readonly record struct WatchLayout(int Process, int Status, int Bar, int Counts, int Detail)
{
    public const int MaxBar = 24;
    public const int MinBar = 8;
    public const int StatusWidth = 9; // "cancelled", "completed"
    private const int IdLength = 16;
    private const int MaxProcess = IdLength + 1 + 11;
    private const int MinDetail = 12; // the bar shrinks to keep this much
    private const int MinShownDetail = 8; // narrower, the detail column is dropped: "Run 2/…" says little
    private const int MinProcess = 6;

    /// <summary>The progress column: the bar and a space (none when <see cref="Bar"/> is 0), "100%", and " current/total" (none when <see cref="Counts"/> is 0).</summary>
    public int Progress => (Bar > 0 ? Bar + 1 : 0) + 4 + (Counts > 0 ? 1 + Counts : 0);

    public bool ShowsDetail => Detail > 0;

    public static WatchLayout For(int width, IReadOnlyCollection<WatchRow> rows)
    {
        int counts = 3;
        int process = "none yet".Length; // the placeholder row, and the "Process" header
        foreach (var row in rows)
        {
            counts = Math.Max(counts, CountsText(row).Length);
            process = Math.Max(process, TerminalText.Width(row.Type) + 1 + row.Id.Length); // cells: a CJK type takes two a character
        }
        process = Math.Min(process, MaxProcess);

        // A rounded table: a border on each side, and per column one space of padding on each side plus a separator.
        // The detail column never takes the process column's room: the type says what a row is, the detail only how
        // it is going (at 60 columns the type was dropped to keep a 4-cell detail).
        int content = width - TableOverhead(columns: 4) - StatusWidth;
        int bar = Math.Clamp(content - process - (6 + counts) - MinDetail, MinBar, MaxBar);
        int detail = content - process - (bar + 6 + counts);
        if (detail >= MinShownDetail)
        {
            return new WatchLayout(process, StatusWidth, bar, counts, detail);
        }

        // Too narrow for details: three columns, the bar takes the freed space back. Where it does not fit whole, the
        // type is cut (down to the id) before the bar goes.
        content = width - TableOverhead(columns: 3) - StatusWidth;
        int room = content - process - (6 + counts);
        if (room >= MinBar)
        {
            return new WatchLayout(process, StatusWidth, Math.Min(room, MaxBar), counts, 0);
        }
        int besideMinBar = content - (MinBar + 6 + counts);
        if (besideMinBar >= Math.Min(process, IdLength))
        {
            return new WatchLayout(besideMinBar, StatusWidth, MinBar, counts, 0);
        }

        // Narrower still (a phone, a split pane): no bar, the process column down to the id, then no counts, then
        // the id cut. The percentage and the status stay, so every process is still one row at 30 columns.
        int percentAndCounts = 4 + 1 + counts;
        process = Math.Max(Math.Min(process, content - percentAndCounts), Math.Min(process, IdLength));
        if (process + percentAndCounts <= content)
        {
            return new WatchLayout(process, StatusWidth, 0, counts, 0);
        }
        return new WatchLayout(Math.Clamp(content - 4, MinProcess, process), StatusWidth, 0, 0, 0);
    }

    public static string CountsText(WatchRow row) => $"{Compact(row.Current)}/{Compact(row.Total)}";

    /// <summary>
    /// Up to five digits as they are; past that, three significant digits and a suffix (<c>987k</c>, <c>1.23M</c>).
    /// The counts column is as wide as its widest row, so one producer counting in millions took the room of every
    /// row's detail at 80 columns, failures' messages included. The percentage beside it keeps the precision.
    /// Cut, not rounded: 999,999 of 1,000,000 reads "999k/1M", never "1M/1M" before the end.
    /// </summary>
    private static string Compact(long value)
    {
        if (value is > -100_000 and < 100_000) return value.ToString(CultureInfo.InvariantCulture);
        const string Suffixes = "kMGTPE";
        // In decimal, so that 1,150,000 is 1.15 exactly (in binary floating point 1.15 * 100 is 114.999…: "1.14M").
        decimal magnitude = Math.Abs((decimal)value);
        int unit = 1;
        while (magnitude >= 1000m * Pow1000(unit)) unit++;
        decimal scaled = magnitude / Pow1000(unit);
        decimal factor = scaled >= 100 ? 1m : scaled >= 10 ? 10m : 100m;
        decimal cut = Math.Floor(scaled * factor) / factor;
        return $"{(value < 0 ? "-" : "")}{cut.ToString("0.##", CultureInfo.InvariantCulture)}{Suffixes[unit - 1]}";
    }

    private static decimal Pow1000(int unit)
    {
        decimal power = 1m;
        for (int i = 0; i < unit; i++) power *= 1000m;
        return power;
    }

    private static int TableOverhead(int columns) => 1 + (columns * 3);
}
