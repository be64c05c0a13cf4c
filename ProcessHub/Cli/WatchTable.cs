using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace ProcessHub.Cli;

/// <summary>
/// The bar view's frame: a table laid out for the size it is drawn at (a resized terminal gets a new layout on the
/// next frame), every cell cut to its column so nothing wraps, as many rows as the terminal has lines for and a line
/// saying how many more there are, and the connection's status line under it.
/// </summary>
internal sealed class WatchTable(IReadOnlyList<WatchRow> rows, string? status) : Renderable
{
    private const int FrameLines = 4; // the top border, the header, the line under it and the bottom border

    protected override Measurement Measure(RenderOptions options, int maxWidth) => new(maxWidth, maxWidth);

    protected override IEnumerable<Segment> Render(RenderOptions options, int maxWidth) =>
        ((IRenderable)Build(maxWidth, options.ConsoleSize.Height)).Render(options, maxWidth);

    private IRenderable Build(int width, int height)
    {
        var shown = Visible(rows, height - FrameLines - (status is null ? 0 : 1));
        var layout = WatchLayout.For(width, shown);
        var table = new Table().Border(TableBorder.Rounded);
        table.AddColumn(Column("Process", layout.Process));
        table.AddColumn(Column("Status", layout.Status));
        table.AddColumn(Column("Progress", layout.Progress));
        if (layout.ShowsDetail)
        {
            table.AddColumn(Column("Detail", layout.Detail));
        }
        foreach (var row in shown)
        {
            string color = row.Status switch { "completed" => "green", "failed" => "red", "cancelled" => "yellow", _ => "blue" };
            var cells = new List<IRenderable>
            {
                ProcessCell(row, layout.Process),
                new Markup($"[{color}]{row.Status}[/]"),
                ProgressCell(row, layout, color),
            };
            if (layout.ShowsDetail)
            {
                cells.Add(new Text(TerminalText.Fit(string.Join("  ", new[] { row.Model, row.Detail }.Where(s => s.Length > 0)), layout.Detail)));
            }
            table.AddRow(cells);
        }
        if (rows.Count == 0)
        {
            table.AddRow(Enumerable.Range(0, table.Columns.Count).Select(i => i == 0 ? new Markup($"[grey]{TerminalText.Fit("none yet", layout.Process)}[/]") : (IRenderable)Text.Empty));
        }
        var lines = new List<IRenderable> { table };
        if (shown.Count < rows.Count)
        {
            lines.Add(new Text(TerminalText.Fit($"… {rows.Count - shown.Count} more (resize the terminal or use --json)", width - 1), new Style(Color.Grey)));
        }
        if (status is not null)
        {
            lines.Add(new Text(TerminalText.Fit(status, width - 1), new Style(Color.Grey)));
        }
        return new Rows(lines);
    }

    /// <summary>The bar itself: <paramref name="width"/> cells, full blocks for the done share.</summary>
    public static string Bar(double fraction, int width, bool ascii)
    {
        int filled = (int)Math.Round(fraction * width);
        return new string(ascii ? '#' : '█', filled) + new string(ascii ? '.' : '░', width - filled);
    }

    public static string Percent(double fraction) => string.Create(CultureInfo.InvariantCulture, $"{fraction * 100,3:0}%");

    /// <summary>
    /// The rows drawn in <paramref name="lines"/> lines, one of them saying how many are left out. A frame taller than
    /// the terminal was cut at its top by the live display, header included, with a bare "…": it kept the bottom, where
    /// new processes come in. Rows that ended are left out before running ones (a running process is what a watch is
    /// for, and <see cref="WatchView.MaxEnded"/> forgets ended ones first), each from the top, the earliest started;
    /// the rest keep their order.
    /// </summary>
    internal static IReadOnlyList<WatchRow> Visible(IReadOnlyList<WatchRow> rows, int lines)
    {
        if (rows.Count <= lines || lines <= 0)
        {
            return rows; // a terminal of unknown height (0) or too short for even the frame: the live display crops it
        }
        int hide = rows.Count - Math.Max(0, lines - 1);
        var hidden = new bool[rows.Count];
        foreach (bool ended in new[] { true, false })
        {
            for (int i = 0; i < rows.Count && hide > 0; i++)
            {
                if ((rows[i].Status != "running") == ended)
                {
                    hidden[i] = true;
                    hide--;
                }
            }
        }
        return rows.Where((_, i) => !hidden[i]).ToList();
    }

    private static TableColumn Column(string header, int width) =>
        new TableColumn(new Text(TerminalText.Fit(header, width))).Width(width).NoWrap();

    private static Markup ProgressCell(WatchRow row, WatchLayout layout, string color)
    {
        string bar = layout.Bar > 0 ? $"[{color}]{Bar(row.Fraction, layout.Bar, ascii: false)}[/] " : "";
        string counts = layout.Counts > 0 ? " " + WatchLayout.CountsText(row) : "";
        return new Markup(bar + Percent(row.Fraction) + counts);
    }

    // The id is what a person copies to cancel: the type is cut before it is.
    private static Markup ProcessCell(WatchRow row, int width)
    {
        // A type is shown whole, or cut to no fewer than 4 cells (a shorter cut says nothing): "exp" fits in 3.
        int typeWidth = width - row.Id.Length - 1;
        return typeWidth < Math.Min(4, TerminalText.Width(row.Type)) || row.Type.Length == 0
            ? new Markup($"[grey]{Markup.Escape(TerminalText.Fit(row.Id, width))}[/]")
            : new Markup($"{Markup.Escape(TerminalText.Fit(row.Type, typeWidth))} [grey]{Markup.Escape(row.Id)}[/]");
    }
}
