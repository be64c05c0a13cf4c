using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace ProcessHub.Cli;

/// <summary>
/// The bar view of <c>processhub watch</c>: one row per visible process with a progress bar, redrawn in place on a
/// terminal. With output redirected (a pipe, a file, CI) it prints one plain line per change instead.
/// </summary>
internal sealed class WatchView
{
    private const int BarWidth = 24;
    private readonly IAnsiConsole _console;
    private readonly bool _interactive;
    private readonly Dictionary<string, Row> _rows = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];
    private LiveDisplayContext? _live;
    private Task? _liveTask;
    private readonly TaskCompletionSource _liveReady = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public WatchView(IAnsiConsole console, bool interactive)
    {
        _console = console;
        _interactive = interactive;
        if (_interactive)
        {
            _liveTask = _console.Live(Render()).AutoClear(false).StartAsync(async context =>
            {
                _live = context;
                _liveReady.TrySetResult();
                await Task.Delay(Timeout.Infinite).ConfigureAwait(false);
            });
        }
    }

    public void Apply(JsonElement message)
    {
        string type = message.GetProperty("type").GetString() ?? "";
        if (type == "process_list")
        {
            foreach (var process in message.GetProperty("processes").EnumerateArray())
            {
                Upsert(process.GetProperty("process_id").GetString()!, process, process.GetProperty("status").GetString()!);
            }
        }
        else if (type.StartsWith("process_", StringComparison.Ordinal))
        {
            string status = type switch
            {
                "process_completed" => "completed",
                "process_failed" => "failed",
                "process_cancelled" => "cancelled",
                _ => "running",
            };
            Upsert(message.GetProperty("process_id").GetString()!, message, status);
        }
        else if (type == "error")
        {
            _console.MarkupLineInterpolated($"[red]error[/] {message.GetProperty("message").GetString()}");
            return;
        }
        else
        {
            return;
        }
        Refresh();
    }

    private void Upsert(string id, JsonElement source, string status)
    {
        if (!_rows.TryGetValue(id, out var row))
        {
            row = new Row(id);
            _rows[id] = row;
            _order.Add(id);
        }
        row.Status = status;
        if (source.TryGetProperty("process_type", out var type))
        {
            row.Type = type.GetString() ?? row.Type;
        }
        if (source.TryGetProperty("owner", out var owner))
        {
            row.Owner = owner.GetString() ?? row.Owner;
        }
        if (source.TryGetProperty("progress", out var progress) && progress.ValueKind == JsonValueKind.Object)
        {
            row.Current = progress.TryGetProperty("current", out var c) && c.TryGetInt64(out long current) ? current : row.Current;
            row.Total = progress.TryGetProperty("total", out var t) && t.TryGetInt64(out long total) ? total : row.Total;
            row.Model = progress.TryGetProperty("model", out var m) ? m.GetString() ?? "" : row.Model;
            row.Detail = progress.TryGetProperty("detail", out var d) ? d.GetString() ?? "" : row.Detail;
        }
        if (source.TryGetProperty("error", out var error) && error.TryGetProperty("message", out var message))
        {
            row.Detail = message.GetString() ?? row.Detail;
        }
    }

    private void Refresh()
    {
        if (_interactive)
        {
            _liveReady.Task.Wait(TimeSpan.FromSeconds(1));
            _live?.UpdateTarget(Render());
            _live?.Refresh();
            return;
        }
        foreach (var id in _order)
        {
            var row = _rows[id];
            if (row.Printed == row.Signature)
            {
                continue;
            }
            row.Printed = row.Signature;
            string line = string.Create(CultureInfo.InvariantCulture, $"{row.Id} {row.Type} {row.Status} {Bar(row, ascii: true)} {row.Current}/{row.Total} {row.Model} {row.Detail}");
            // Plain lines, never wrapped to a terminal width: this output is for pipes and logs.
            Console.Out.WriteLine(line.TrimEnd());
        }
    }

    private IRenderable Render()
    {
        var table = new Table().Border(TableBorder.Rounded).Expand();
        table.AddColumn("Process");
        table.AddColumn("Status");
        table.AddColumn("Progress");
        table.AddColumn("Model");
        table.AddColumn("Detail");
        foreach (var id in _order)
        {
            var row = _rows[id];
            string color = row.Status switch { "completed" => "green", "failed" => "red", "cancelled" => "yellow", _ => "blue" };
            table.AddRow(
                new Markup($"{Markup.Escape(row.Type)} [grey]{Markup.Escape(row.Id)}[/]"),
                new Markup($"[{color}]{row.Status}[/]"),
                new Markup($"[{color}]{Bar(row, ascii: false)}[/] {row.Current}/{row.Total}"),
                new Text(row.Model),
                new Text(row.Detail));
        }
        if (_order.Count == 0)
        {
            table.AddRow(new Markup("[grey]no processes yet[/]"), Text.Empty, Text.Empty, Text.Empty, Text.Empty);
        }
        return table;
    }

    private static string Bar(Row row, bool ascii)
    {
        double fraction = row.Total > 0 ? Math.Clamp((double)row.Current / row.Total, 0, 1) : row.Status == "completed" ? 1 : 0;
        int filled = (int)Math.Round(fraction * BarWidth);
        string done = new(ascii ? '#' : '█', filled);
        string left = new(ascii ? '.' : '░', BarWidth - filled);
        string percent = string.Create(CultureInfo.InvariantCulture, $"{fraction * 100,3:0}%");
        // Redirected output is read by scripts and logs: brackets make the bar's extent obvious there.
        return ascii ? $"[{done}{left}] {percent}" : $"{done}{left} {percent}";
    }

    private sealed class Row(string id)
    {
        public string Id { get; } = id;
        public string Type { get; set; } = "";
        public string Owner { get; set; } = "";
        public string Status { get; set; } = "running";
        public long Current { get; set; }
        public long Total { get; set; }
        public string Model { get; set; } = "";
        public string Detail { get; set; } = "";
        public string? Printed { get; set; }
        public string Signature => $"{Status}|{Current}|{Total}|{Model}|{Detail}";
    }
}
