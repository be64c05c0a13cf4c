using System.Globalization;
using ProcessHub.Client;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace ProcessHub.Cli;

/// <summary>
/// The bar view of <c>processhub watch</c>: one row per visible process with a progress bar, redrawn in place on a
/// terminal and laid out to fit its width (<see cref="WatchTable"/>). With output redirected (a pipe, a file, CI)
/// it prints one plain line per change instead, and connection notices go to stderr.
/// </summary>
internal sealed class WatchView : IDisposable
{
    /// <summary>
    /// Ended rows kept, the most recently ended; older ones are dropped. A watch left running kept a row for every
    /// process that ever ended while it was connected, so the table outgrew any terminal (the dashboard keeps 500).
    /// </summary>
    internal const int MaxEnded = 100;

    private const int LineBarWidth = 24;
    private readonly IAnsiConsole _console;
    private readonly bool _interactive;
    private readonly TextWriter _lines;
    private readonly TextWriter _notices;
    private readonly Dictionary<string, WatchRow> _rows = new(StringComparer.Ordinal);
    private readonly Dictionary<string, WatchRow> _printed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _seqs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _endedAt = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];
    private readonly TaskCompletionSource _liveReady = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _liveDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task? _liveTask;
    private readonly TimeProvider _time;

    // From the last list: how long the hub keeps an ended process, and its clock minus ours (docs/protocol.md 5.7).
    private TimeSpan? _retention;
    private TimeSpan _hubClockAhead;

    // Events come from the watcher's loop, a redraw after a resize from the signal's thread: one at a time.
    private readonly Lock _gate = new();
    private bool _disposed;
    private LiveDisplayContext? _live;
    private string? _status;
    private string? _epoch;

    /// <param name="console">Where the live table is drawn (interactive only).</param>
    /// <param name="interactive">Redraw a table in place; otherwise print a line per change.</param>
    /// <param name="lines">The plain lines (default stdout).</param>
    /// <param name="notices">Connection notices when not interactive (default stderr).</param>
    /// <param name="time">This machine's clock, against which the hub's retention is counted (tests move it).</param>
    public WatchView(IAnsiConsole console, bool interactive, TextWriter? lines = null, TextWriter? notices = null, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _console = console;
        _interactive = interactive;
        _lines = lines ?? Console.Out;
        _notices = notices ?? Console.Error;
        if (_interactive)
        {
            _liveTask = _console.Live(Render()).AutoClear(false).StartAsync(async context =>
            {
                _live = context;
                _liveReady.TrySetResult();
                await _liveDone.Task.ConfigureAwait(false);
            });
        }
    }

    public void Apply(HubEvent hubEvent)
    {
        lock (_gate)
        {
            ApplyLocked(hubEvent);
        }
    }

    /// <summary>
    /// Draws the table again at the console's width now: a resized terminal (SIGWINCH) gets a new layout at once, not
    /// at the next event, which on a quiet hub may be minutes away while the old, wider frame wraps into garbage.
    /// </summary>
    public void Redraw()
    {
        lock (_gate)
        {
            if (_interactive && !_disposed)
            {
                Refresh();
            }
        }
    }

    private void ApplyLocked(HubEvent hubEvent)
    {
        switch (hubEvent)
        {
            case ProcessListed list:
                ApplyList(list);
                ForgetOldestEnded();
                break;
            case ProcessEvent processEvent:
                Update(processEvent);
                ForgetOldestEnded();
                break;
            case HubError error:
                NoticeLocked($"error {error.Code}: {error.Message}");
                return;
            default:
                return;
        }
        Refresh();
    }

    /// <summary>A line about the connection: under the table on a terminal, on stderr otherwise.</summary>
    public void Notice(string? text)
    {
        lock (_gate)
        {
            NoticeLocked(text);
        }
    }

    private void NoticeLocked(string? text)
    {
        if (!_interactive)
        {
            if (text is not null)
            {
                _notices.WriteLine(WatchMessages.Prefix + text);
            }
            return;
        }
        _status = text is null ? null : WatchMessages.Prefix + text;
        Refresh();
    }

    /// <summary>The current frame, drawn at whatever width the console has.</summary>
    internal IRenderable Render() => new WatchTable(_order.Select(id => _rows[id]).ToList(), _status);

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true; // a resize signalled as the view ends finds the live display gone
        }
        _liveDone.TrySetResult();
        _liveTask?.Wait(TimeSpan.FromSeconds(1));
    }

    // The list is the truth (a restarted hub's is all there is): rows it does not have are gone. In the same epoch,
    // a row shown from a later seq than the list's entry stays: that hub is behind (docs/protocol.md 11.4), and the
    // watcher drops the events in between as already seen, so taking the entry would keep an ended run "running".
    private void ApplyList(ProcessListed list)
    {
        bool sameEpoch = list.Epoch == _epoch;
        _epoch = list.Epoch;
        _retention = list.Retention;
        _hubClockAhead = list.Timestamp - _time.GetUtcNow();
        var shown = new Dictionary<string, (WatchRow Row, long Seq)>(_rows.Count, StringComparer.Ordinal);
        if (sameEpoch)
        {
            foreach (var (id, row) in _rows)
            {
                shown[id] = (row, _seqs.GetValueOrDefault(id));
            }
        }
        var endedBefore = new Dictionary<string, DateTimeOffset>(_endedAt, StringComparer.Ordinal);
        _rows.Clear();
        _seqs.Clear();
        _order.Clear();
        _endedAt.Clear();
        foreach (var process in list.Processes)
        {
            bool keep = shown.TryGetValue(process.ProcessId, out var known) && known.Seq > process.Seq;
            (WatchRow Row, long Seq) entry = keep ? known : (FromList(process), process.Seq);
            _rows[process.ProcessId] = entry.Row;
            _seqs[process.ProcessId] = entry.Seq;
            _order.Add(process.ProcessId);
            DateTimeOffset? endedAt = !keep ? process.EndedAt
                : endedBefore.TryGetValue(process.ProcessId, out var before) ? before : null;
            if (endedAt is { } when)
            {
                _endedAt[process.ProcessId] = when;
            }
        }
    }

    private void Update(ProcessEvent processEvent)
    {
        _seqs[processEvent.ProcessId] = processEvent.Seq;
        var row = _rows.GetValueOrDefault(processEvent.ProcessId);
        if (row is null)
        {
            row = new WatchRow(processEvent.ProcessId, TerminalText.Printable(processEvent.ProcessType), "running", 0, 0, "", "");
            _order.Add(row.Id);
        }
        row = processEvent switch
        {
            ProcessStarted started => WithProgress(row with { Type = TerminalText.Printable(started.ProcessType) }, started.Progress),
            ProcessProgress progress => WithProgress(row, progress.Progress),
            ProcessCompleted => row with { Status = "completed" },
            ProcessFailed failed => row with { Status = "failed", Detail = TerminalText.Printable(failed.ErrorMessage) },
            ProcessCancelled cancelled => row with { Status = "cancelled", Detail = TerminalText.Printable($"cancelled by {cancelled.CancelledBy}") },
            _ => row,
        };
        _rows[row.Id] = row;
        if (row.Status != "running")
        {
            _endedAt.TryAdd(row.Id, processEvent.Timestamp); // the hub's clock, as the list's ended_at
        }
    }

    /// <summary>
    /// Drops the ended rows the hub has forgotten by now: its list says after how long (<c>retention_seconds</c>), and
    /// it sends nothing when it does, so a watch left open showed them until it had 100. Counted on the hub's clock,
    /// which may be minutes off this machine's. Called once a second by the command.
    /// </summary>
    public void ForgetExpired()
    {
        lock (_gate)
        {
            if (_retention is not { } retention || _disposed)
            {
                return;
            }
            var hubNow = _time.GetUtcNow() + _hubClockAhead;
            var expired = _order.Where(id => _rows[id].Status != "running" && _endedAt.TryGetValue(id, out var ended) && ended + retention <= hubNow).ToList();
            foreach (var id in expired)
            {
                Forget(id);
            }
            if (expired.Count > 0)
            {
                Refresh();
            }
        }
    }

    private void Forget(string id)
    {
        _rows.Remove(id);
        _seqs.Remove(id);
        _printed.Remove(id);
        _endedAt.Remove(id);
        _order.Remove(id);
    }

    private void ForgetOldestEnded()
    {
        var ended = _order.Where(id => _rows[id].Status != "running").ToList();
        if (ended.Count <= MaxEnded)
        {
            return;
        }
        foreach (var id in ended.OrderBy(id => _endedAt.GetValueOrDefault(id)).Take(ended.Count - MaxEnded).ToList())
        {
            Forget(id);
        }
    }

    private static WatchRow FromList(ProcessInfo process)
    {
        string status = process.Status switch
        {
            ProcessState.Completed => "completed",
            ProcessState.Failed => "failed",
            ProcessState.Cancelled => "cancelled",
            _ => "running",
        };
        var row = WithProgress(new WatchRow(process.ProcessId, TerminalText.Printable(process.ProcessType), status, 0, 0, "", ""), process.Progress);
        // The list says what the events said: a watch started after the end shows what one running through it showed.
        return process switch
        {
            { ErrorMessage: { } error } => row with { Detail = TerminalText.Printable(error) },
            { Status: ProcessState.Cancelled, CancelledBy: { } by } => row with { Detail = TerminalText.Printable($"cancelled by {by}") },
            _ => row,
        };
    }

    // A report is the process's whole progress (docs/protocol.md 1.4.2): one without model or detail has none, as
    // process_list and the page then show. (Keeping the last ones made a watch that saw the earlier report disagree
    // with one started after it.) Every producer's string is made printable as it comes in (TerminalText), so both
    // views print only safe text.
    private static WatchRow WithProgress(WatchRow row, ProgressInfo progress) =>
        row with
        {
            Current = progress.Current,
            Total = progress.Total,
            Model = progress.Model is { } model ? TerminalText.Printable(model) : "",
            Detail = progress.Detail is { } detail ? TerminalText.Printable(detail) : "",
        };

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
            if (_printed.GetValueOrDefault(id) == row)
            {
                continue;
            }
            _printed[id] = row;
            // Plain lines, never cut to a terminal width: this output is for pipes and logs, where brackets make the
            // bar's extent obvious.
            string line = string.Create(CultureInfo.InvariantCulture,
                $"{row.Id} {row.Type} {row.Status} [{WatchTable.Bar(row.Fraction, LineBarWidth, ascii: true)}] {WatchTable.Percent(row.Fraction)} {row.Current}/{row.Total} {row.Model} {row.Detail}");
            _lines.WriteLine(line.TrimEnd());
        }
        _lines.Flush();
    }
}
