using Spectre.Console;
namespace ProcessHub.Cli;

/// <summary>
/// Column widths of the bar view for one terminal width, so that a row never wraps (the 100-column
/// terminal wrapped the bar onto a second line): the bar shrinks first, then the process column, and the detail
/// column takes what is left, or is dropped when too little is; narrower still, the bar goes, then the counts.
/// </summary>
internal readonly record struct WatchLayout(int Process, int Status, int Bar, int Counts, int Detail)
{
    public const int MaxBar = 24;
    public const int MinBar = 8;
    public const int StatusWidth = 9; // "cancelled", "completed"
    private const int IdLength = 16;
    private const int MaxProcess = IdLength + 1 + 11;
    private const int MinDetail = 12;
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
            process = Math.Max(process, row.Type.GetCellWidth() + 1 + row.Id.Length); // cells: a CJK type takes two a character
        }
        process = Math.Min(process, MaxProcess);

        // A rounded table: a border on each side, and per column one space of padding on each side plus a separator.
        int content = width - TableOverhead(columns: 4) - StatusWidth;
        int bar = Math.Clamp(content - process - (6 + counts) - MinDetail, MinBar, MaxBar);
        int detail = content - process - (bar + 6 + counts);
        if (detail < MinDetail)
        {
            int give = Math.Min(MinDetail - detail, process - Math.Min(process, IdLength));
            process -= give;
            detail += give;
        }
        if (detail >= 4)
        {
            return new WatchLayout(process, StatusWidth, bar, counts, detail);
        }

        // Too narrow for details: three columns, the bar takes the freed space back.
        content = width - TableOverhead(columns: 3) - StatusWidth;
        int room = content - process - (6 + counts);
        if (room >= MinBar)
        {
            return new WatchLayout(process, StatusWidth, Math.Min(room, MaxBar), counts, 0);
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

    public static string CountsText(WatchRow row) => $"{row.Current}/{row.Total}";

    private static int TableOverhead(int columns) => 1 + (columns * 3);
}
