using System.Globalization;
using System.Text;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace ProcessHub.Cli;

/// <summary>
/// The bar view's frame: a table laid out for the width it is drawn at (a resized terminal gets a new layout on the
/// next frame), every cell cut to its column so nothing wraps, and the connection's status line under it.
/// </summary>
internal sealed class WatchTable(IReadOnlyList<WatchRow> rows, string? status) : Renderable
{
    protected override Measurement Measure(RenderOptions options, int maxWidth) => new(maxWidth, maxWidth);

    protected override IEnumerable<Segment> Render(RenderOptions options, int maxWidth) =>
        ((IRenderable)Build(maxWidth)).Render(options, maxWidth);

    private IRenderable Build(int width)
    {
        var layout = WatchLayout.For(width, rows);
        var table = new Table().Border(TableBorder.Rounded);
        table.AddColumn(Column("Process", layout.Process));
        table.AddColumn(Column("Status", layout.Status));
        table.AddColumn(Column("Progress", layout.Progress));
        if (layout.ShowsDetail)
        {
            table.AddColumn(Column("Detail", layout.Detail));
        }
        foreach (var row in rows)
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
                cells.Add(new Text(Fit(string.Join("  ", new[] { row.Model, row.Detail }.Where(s => s.Length > 0)), layout.Detail)));
            }
            table.AddRow(cells);
        }
        if (rows.Count == 0)
        {
            table.AddRow(Enumerable.Range(0, table.Columns.Count).Select(i => i == 0 ? new Markup($"[grey]{Fit("none yet", layout.Process)}[/]") : (IRenderable)Text.Empty));
        }
        return status is null ? table : new Rows(table, new Text(Fit(status, width - 1), new Style(Color.Grey)));
    }

    /// <summary>The bar itself: <paramref name="width"/> cells, full blocks for the done share.</summary>
    public static string Bar(double fraction, int width, bool ascii)
    {
        int filled = (int)Math.Round(fraction * width);
        return new string(ascii ? '#' : '█', filled) + new string(ascii ? '.' : '░', width - filled);
    }

    public static string Percent(double fraction) => string.Create(CultureInfo.InvariantCulture, $"{fraction * 100,3:0}%");

    /// <summary>
    /// Cuts <paramref name="text"/> to <paramref name="width"/> terminal cells, marking the cut with an ellipsis. Counted
    /// in cells, not characters: a CJK character or an emoji takes two, and a cut never splits a surrogate pair.
    /// </summary>
    public static string Fit(string text, int width)
    {
        if (width <= 0)
        {
            return "";
        }
        if (text.GetCellWidth() <= width)
        {
            return text;
        }
        var fitted = new StringBuilder();
        int used = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            int cells = rune.ToString().GetCellWidth();
            if (used + cells > width - 1)
            {
                break;
            }
            fitted.Append(rune.ToString());
            used += cells;
        }
        return fitted.Append('…').ToString();
    }

    private static TableColumn Column(string header, int width) =>
        new TableColumn(new Text(Fit(header, width))).Width(width).NoWrap();

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
        return typeWidth < Math.Min(4, row.Type.GetCellWidth()) || row.Type.Length == 0
            ? new Markup($"[grey]{Markup.Escape(Fit(row.Id, width))}[/]")
            : new Markup($"{Markup.Escape(Fit(row.Type, typeWidth))} [grey]{Markup.Escape(row.Id)}[/]");
    }
}
