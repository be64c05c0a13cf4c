using Spectre.Console;
namespace ProcessHub.Cli;

/// <summary>
/// Column widths of the bar view for one terminal width, so that a row never wraps (the 100-column
/// terminal wrapped the bar onto a second line): the bar shrinks first, then the process column, and the detail
/// column takes what is left, or is dropped when too little is.
/// </summary>
internal readonly record struct WatchLayout(int Process, int Status, int Bar, int Counts, int Detail)
{
    public const int MaxBar = 24;
    public const int MinBar = 8;
    public const int StatusWidth = 9; // "cancelled", "completed"
    private const int IdLength = 16;
    private const int MaxProcess = IdLength + 1 + 11;
    private const int MinDetail = 12;

    /// <summary>The progress column: bar, " 100%", and " current/total".</summary>
    public int Progress => Bar + 5 + 1 + Counts;

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
        if (detail < 4)
        {
            // Too narrow for details: three columns, the bar takes the freed space back.
            content = width - TableOverhead(columns: 3) - StatusWidth;
            bar = Math.Clamp(content - process - (6 + counts), MinBar, MaxBar);
            detail = 0;
        }
        return new WatchLayout(process, StatusWidth, bar, counts, detail);
    }

    public static string CountsText(WatchRow row) => $"{row.Current}/{row.Total}";

    private static int TableOverhead(int columns) => 1 + (columns * 3);
}
