using NUnit.Framework;
using ProcessHub.Cli;
using ProcessHub.Client;
using Spectre.Console;

namespace ProcessHub.Tests.Watch;

/// <summary>
/// The bar view on 80- and 100-column terminals (the issue saw the bar wrap onto a second row at 100): no line is
/// longer than the terminal, and each process is one row with its id, bar, percentage and counts on it.
/// </summary>
[TestFixture]
[Category("unit")]
public sealed class WatchRenderingTests
{
    private const string Benchmark = "9f86d081884c7d65";
    private const string Evaluation = "1b4f0e9851971998";
    private const string Failed = "60303ae22b998861";
    private const string Huge = "fd61a03af4f77d87";

    [TestCase(80)]
    [TestCase(100)]
    [TestCase(132)]
    public void Every_line_fits_the_width_and_every_process_is_one_row(int width)
    {
        var view = new WatchView(Console(width, out var output), interactive: false, lines: TextWriter.Null, notices: TextWriter.Null);
        view.Apply(HubEvent.Parse($$$"""
            {"type":"process_list","epoch":"e","processes":[
              {"process_id":"{{{Benchmark}}}","process_type":"benchmark","status":"running","owner":"dev","progress":{"current":5,"total":12,"model":"Claude 3.5 Sonnet","detail":"Run 2/3, Context 5K"},"seq":6},
              {"process_id":"{{{Evaluation}}}","process_type":"evaluation","status":"running","owner":"dev","progress":{"current":1,"total":4,"detail":"{{{new string('x', 300)}}}"},"seq":2},
              {"process_id":"{{{Failed}}}","process_type":"transcode","status":"failed","owner":"dev","progress":{"current":3,"total":3},"seq":5,"error":{"message":"GPU lost","code":"oom"}},
              {"process_id":"{{{Huge}}}","process_type":"a-process-type-of-sixty-four-characters-is-allowed-by-the-hub-api","status":"running","owner":"dev","progress":{"current":123456,"total":1000000},"seq":9}
            ]}
            """));
        output.Write(view.Render());

        var lines = Lines(output);
        Assert.That(lines.Where(l => l.Length > width), Is.Empty, $"lines longer than {width}:\n{string.Join("\n", lines)}");
        foreach (var (id, progress) in new[] { (Benchmark, "5/12"), (Evaluation, "1/4"), (Failed, "3/3"), (Huge, "123k/1M") })
        {
            var rows = lines.Where(l => l.Contains(id, StringComparison.Ordinal)).ToList();
            Assert.That(rows, Has.Count.EqualTo(1), $"{id} is on one line:\n{string.Join("\n", lines)}");
            Assert.That(rows[0], Does.Contain("%").And.Contain(progress).And.Contain("█"), "bar, percentage and counts on the same row");
        }
        // The huge row's counts are cut to three digits (its 123456/1000000 took the detail column from every row
        // at 80 columns): the failure's message stays in sight beside its whole type.
        Assert.That(lines.Single(l => l.Contains(Failed, StringComparison.Ordinal)), Does.Contain("GPU lost").And.Contain($"transcode {Failed}"));
        Assert.That(lines.Count(l => l.StartsWith('│')), Is.EqualTo(1 + 4), "the header and one line per process: nothing wrapped");
    }

    [TestCase(99_999, 100_000, "99999/100k")]
    [TestCase(987_654, 1_234_567, "987k/1.23M")]
    [TestCase(999_999, 1_000_000, "999k/1M")]
    [TestCase(1_150_000, 2_000_000_000, "1.15M/2G")]
    [TestCase(-250_000, 12, "-250k/12")]
    [TestCase(long.MaxValue, long.MaxValue, "9.22E/9.22E")]
    public void Counts_past_five_digits_are_cut_to_three_significant_digits(long current, long total, string shown)
    {
        Assert.That(WatchLayout.CountsText(new WatchRow(Huge, "eval", "running", current, total, "", "")), Is.EqualTo(shown));
    }

    [Test]
    public void A_report_without_model_or_detail_shows_none_as_the_list_would()
    {
        // A watch that saw the earlier report kept its model and detail, while one started after it (from the list)
        // and the page showed none: two views of one process that disagreed.
        var seen = new WatchView(Console(120, out var seenOutput), interactive: false, lines: TextWriter.Null, notices: TextWriter.Null);
        seen.Apply(HubEvent.Parse($$$"""{"type":"process_list","epoch":"e","processes":[{"process_id":"{{{Benchmark}}}","process_type":"benchmark","status":"running","owner":"dev","progress":{"current":0,"total":200},"seq":1}]}"""));
        seen.Apply(HubEvent.Parse($$$"""{"type":"process_progress","process_id":"{{{Benchmark}}}","process_type":"benchmark","seq":2,"progress":{"current":57,"total":200,"model":"GPT-4o","detail":"shard 57 of 200"}}"""));
        seen.Apply(HubEvent.Parse($$$"""{"type":"process_progress","process_id":"{{{Benchmark}}}","process_type":"benchmark","seq":3,"progress":{"current":99,"total":200}}"""));
        seenOutput.Write(seen.Render());
        var later = new WatchView(Console(120, out var laterOutput), interactive: false, lines: TextWriter.Null, notices: TextWriter.Null);
        later.Apply(HubEvent.Parse($$$"""{"type":"process_list","epoch":"e","processes":[{"process_id":"{{{Benchmark}}}","process_type":"benchmark","status":"running","owner":"dev","progress":{"current":99,"total":200},"seq":3}]}"""));
        laterOutput.Write(later.Render());

        string seenRow = Lines(seenOutput).Single(l => l.Contains(Benchmark, StringComparison.Ordinal));
        Assert.That(seenRow, Does.Contain("99/200").And.Not.Contain("GPT-4o").And.Not.Contain("shard"));
        Assert.That(seenRow, Is.EqualTo(Lines(laterOutput).Single(l => l.Contains(Benchmark, StringComparison.Ordinal))));
    }

    [Test]
    public void A_cancelled_process_says_who_cancelled_it_whether_the_watch_saw_the_cancel_or_only_the_list()
    {
        // A watch running through the cancel said "cancelled by alice"; one started after it showed the last progress
        // detail and no canceller: two views of one process that disagreed.
        var seen = new WatchView(Console(120, out var seenOutput), interactive: false, lines: TextWriter.Null, notices: TextWriter.Null);
        seen.Apply(HubEvent.Parse($$$"""{"type":"process_list","epoch":"e","processes":[{"process_id":"{{{Benchmark}}}","process_type":"benchmark","status":"running","owner":"dev","progress":{"current":2,"total":10,"detail":"before the cancel"},"seq":2}]}"""));
        seen.Apply(HubEvent.Parse($$$"""{"type":"process_cancelled","process_id":"{{{Benchmark}}}","process_type":"benchmark","seq":3,"cancelled_by":"alice"}"""));
        seenOutput.Write(seen.Render());
        var later = new WatchView(Console(120, out var laterOutput), interactive: false, lines: TextWriter.Null, notices: TextWriter.Null);
        later.Apply(HubEvent.Parse($$$"""{"type":"process_list","epoch":"e","processes":[{"process_id":"{{{Benchmark}}}","process_type":"benchmark","status":"cancelled","owner":"dev","progress":{"current":2,"total":10,"detail":"before the cancel"},"seq":3,"cancelled_by":"alice"}]}"""));
        laterOutput.Write(later.Render());

        string seenRow = Lines(seenOutput).Single(l => l.Contains(Benchmark, StringComparison.Ordinal));
        Assert.That(seenRow, Does.Contain("cancelled by alice"));
        Assert.That(Lines(laterOutput).Single(l => l.Contains(Benchmark, StringComparison.Ordinal)), Is.EqualTo(seenRow));
    }

    [Test]
    public void A_redraw_after_the_terminal_narrowed_lays_the_table_out_for_the_new_width()
    {
        // What SIGWINCH calls: the table was laid out again only when the next event came.
        var writer = new StringWriter();
        var console = LiveConsole(writer, width: 120);
        string drawn;
        using (var view = new WatchView(console, interactive: true, lines: TextWriter.Null, notices: TextWriter.Null))
        {
            view.Apply(HubEvent.Parse($$$"""{"type":"process_list","epoch":"e","processes":[{"process_id":"{{{Benchmark}}}","process_type":"benchmark","status":"running","owner":"dev","progress":{"current":5,"total":12,"model":"Claude 3.5 Sonnet","detail":"Run 2/3, Context 5K"},"seq":6}]}"""));
            writer.GetStringBuilder().Clear();
            console.Profile.Width = 50;

            view.Redraw();
            drawn = writer.ToString(); // before the view is disposed: ending the live display draws a last frame
        }

        // The frame drawn by the redraw: its rows, with the cursor movements of the live display taken out.
        var rows = System.Text.RegularExpressions.Regex.Replace(drawn, @"\x1b\[[0-9;?]*[A-Za-z]", "")
            .Replace("\r", "", StringComparison.Ordinal).Split('\n').Where(l => l.Contains('│', StringComparison.Ordinal)).ToList();
        Assert.That(rows, Is.Not.Empty, drawn);
        Assert.That(rows.Where(l => l.TrimEnd().Length > 50), Is.Empty, string.Join("\n", rows));
    }

    [Test]
    public void A_type_of_three_characters_is_shown_when_its_column_fits_it()
    {
        // The column is sized to "exp" and the id; the type was shown only when 4 cells or more were left for it.
        var view = new WatchView(Console(80, out var output), interactive: false, lines: TextWriter.Null, notices: TextWriter.Null);
        view.Apply(HubEvent.Parse($$$"""{"type":"process_list","epoch":"e","processes":[{"process_id":"{{{Benchmark}}}","process_type":"exp","status":"running","owner":"dev","progress":{"current":1,"total":2},"seq":2}]}"""));
        output.Write(view.Render());

        Assert.That(Lines(output).Single(l => l.Contains(Benchmark, StringComparison.Ordinal)), Does.Contain($"exp {Benchmark}"));
    }

    [Test]
    public void A_watch_left_running_keeps_the_running_rows_and_only_the_most_recently_ended()
    {
        // Connected for days, it kept a row for every process that ended meanwhile, and the table outgrew the terminal.
        var view = new WatchView(Console(132, out var output), interactive: false, lines: TextWriter.Null, notices: TextWriter.Null);
        output.Profile.Height = WatchView.MaxEnded + 10; // every row kept is drawn: this is about what the view keeps
        view.Apply(HubEvent.Parse($$$"""
            {"type":"process_list","epoch":"e","processes":[
              {"process_id":"{{{Benchmark}}}","process_type":"benchmark","status":"running","owner":"dev","progress":{"current":5,"total":12},"seq":6}
            ]}
            """));
        const int Ended = WatchView.MaxEnded + 50;
        for (int i = 0; i < Ended; i++)
        {
            string id = $"p{i:D15}";
            view.Apply(HubEvent.Parse($$"""{"type":"process_started","process_id":"{{id}}","process_type":"eval","seq":1,"progress":{"current":0,"total":1},"owner":"dev"}"""));
            view.Apply(HubEvent.Parse($$"""{"type":"process_completed","process_id":"{{id}}","process_type":"eval","seq":2,"result":{},"duration_ms":1}"""));
        }
        output.Write(view.Render());

        var lines = Lines(output);
        Assert.That(lines.Count(l => l.Contains(Benchmark, StringComparison.Ordinal)), Is.EqualTo(1), "the running row stays");
        Assert.That(lines.Count(l => l.Contains("p000", StringComparison.Ordinal)), Is.EqualTo(WatchView.MaxEnded));
        Assert.That(lines.Any(l => l.Contains($"p{Ended - 1:D15}", StringComparison.Ordinal)), Is.True, "the last to end is kept");
        Assert.That(lines.Any(l => l.Contains($"p{0:D15}", StringComparison.Ordinal)), Is.False, "the first to end is dropped");
    }

    [TestCase(30)]
    [TestCase(40)]
    [TestCase(52)]
    [TestCase(64)]
    public void A_narrow_terminal_drops_the_bar_then_the_counts_and_still_keeps_every_process_on_one_row(int width)
    {
        // A phone's SSH client or a split pane: below about 55 columns the rows used to wrap onto a second line.
        var view = new WatchView(Console(width, out var output), interactive: false, lines: TextWriter.Null, notices: TextWriter.Null);
        view.Apply(HubEvent.Parse($$$"""
            {"type":"process_list","epoch":"e","processes":[
              {"process_id":"{{{Benchmark}}}","process_type":"benchmark","status":"running","owner":"dev","progress":{"current":5,"total":12,"model":"GPT-4o"},"seq":6},
              {"process_id":"{{{Failed}}}","process_type":"transcode","status":"cancelled","owner":"dev","progress":{"current":3,"total":3},"seq":5},
              {"process_id":"{{{Huge}}}","process_type":"export","status":"running","owner":"dev","progress":{"current":123456,"total":1000000},"seq":9}
            ]}
            """));
        output.Write(view.Render());

        var lines = Lines(output);
        string shown = string.Join("\n", lines);
        Assert.That(lines.Where(l => l.GetCellWidth() > width), Is.Empty, $"lines wider than {width}:\n{shown}");
        Assert.That(lines.Count(l => l.StartsWith('│')), Is.EqualTo(1 + 3), $"the header and one line per process: nothing wrapped\n{shown}");
        foreach (var (id, status, percent) in new[] { (Benchmark, "running", " 42%"), (Failed, "cancelled", "100%"), (Huge, "running", " 12%") })
        {
            string row = lines.Single(l => l.StartsWith('│') && l.Contains(id[..4], StringComparison.Ordinal));
            Assert.That(row, Does.Contain(status).And.Contain(percent), $"status and percentage stay at {width} columns:\n{shown}");
        }
    }

    [TestCase(80)]
    [TestCase(100)]
    public void Names_in_wide_characters_are_measured_in_terminal_cells_and_every_process_stays_one_row(int width)
    {
        // A CJK character (or an emoji) takes two cells: counted as one, a type and a detail in them overflowed their
        // columns and the table wrapped them onto extra lines.
        var view = new WatchView(Console(width, out var output), interactive: false, lines: TextWriter.Null, notices: TextWriter.Null);
        view.Apply(HubEvent.Parse($$$"""
            {"type":"process_list","epoch":"e","processes":[
              {"process_id":"{{{Benchmark}}}","process_type":"評価ジョブ評価ジョブ","status":"running","owner":"dev","progress":{"current":5,"total":12,"model":"模型🚀","detail":"{{{new string('模', 40)}}}"},"seq":6},
              {"process_id":"{{{Evaluation}}}","process_type":"evaluation","status":"running","owner":"dev","progress":{"current":1,"total":4,"detail":"第一阶段 🙂🙂🙂 {{{new string('字', 60)}}}"},"seq":2}
            ]}
            """));
        output.Write(view.Render());

        var lines = Lines(output);
        Assert.That(lines.Where(l => l.GetCellWidth() > width), Is.Empty, $"lines wider than {width} cells:\n{string.Join("\n", lines)}");
        Assert.That(lines.Count(l => l.StartsWith('│')), Is.EqualTo(1 + 2), $"the header and one line per process:\n{string.Join("\n", lines)}");
        Assert.That(lines.Any(l => l.Contains('\uFFFD')), Is.False, "no character cut in half");
    }

    [TestCase(80)]
    [TestCase(100)]
    public void Emoji_sequences_in_a_type_or_detail_keep_every_row_one_line_and_its_border_in_place(int width)
    {
        // "👩‍💻" (woman, zero-width joiner, laptop) was counted as four cells and cut after its joiner, which glued the
        // ellipsis to it; "✌🏽" was counted as one. Either way the row came out wider than the terminal and wrapped.
        var view = new WatchView(Console(width, out var output), interactive: false, lines: TextWriter.Null, notices: TextWriter.Null);
        string detail = string.Concat(Enumerable.Repeat("👩‍💻✌🏽❤️👍🏽🇫🇷 ", 20));
        view.Apply(HubEvent.Parse($$$"""
            {"type":"process_list","epoch":"e","processes":[
              {"process_id":"{{{Benchmark}}}","process_type":"👩‍💻 review","status":"running","owner":"dev","progress":{"current":5,"total":12,"model":"🧑🏽‍🚀","detail":"{{{detail}}}"},"seq":6},
              {"process_id":"{{{Evaluation}}}","process_type":"✌🏽 approvals","status":"running","owner":"dev","progress":{"current":1,"total":4,"detail":"{{{string.Concat(Enumerable.Repeat("✌🏽 ok ", 30))}}}"},"seq":2},
              {"process_id":"{{{Failed}}}","process_type":"❤‍🔥 warm-up","status":"failed","owner":"dev","progress":{"current":3,"total":3},"seq":5,"error":{"message":"❤️‍🔥 {{{detail}}}","code":"oom"}}
            ]}
            """));
        output.Write(view.Render());

        var lines = Lines(output);
        string shown = string.Join("\n", lines);
        var table = lines.Where(l => l.Length > 0 && "╭│├╰".Contains(l[0], StringComparison.Ordinal)).ToList();
        Assert.That(table.Select(TerminalText.Width), Is.All.EqualTo(width), $"every line of the table as wide as the terminal draws it:\n{shown}");
        Assert.That(lines.Count(l => l.StartsWith('│')), Is.EqualTo(1 + 3), $"the header and one line per process:\n{shown}");
        Assert.That(shown, Does.Not.Contain("\u200D…").And.Not.Contain("\u200D "), "no joiner left at a cut");
        Assert.That(lines.Single(l => l.Contains(Benchmark, StringComparison.Ordinal)), Does.Contain($"👩‍💻 review {Benchmark}"));
        Assert.That(lines.Single(l => l.Contains(Evaluation, StringComparison.Ordinal)), Does.Contain("✌🏽"));
    }

    [Test]
    public void With_more_rows_than_lines_the_frame_fits_the_terminal_and_says_how_many_are_hidden()
    {
        // The live display cut a frame taller than the terminal at the top, header included, with only "…" to say so.
        var writer = new StringWriter();
        var console = LiveConsole(writer, width: 100);
        console.Profile.Height = 12;
        const int Processes = 20;
        string drawn;
        using (var view = new WatchView(console, interactive: true, lines: TextWriter.Null, notices: TextWriter.Null))
        {
            var processes = Enumerable.Range(0, Processes).Select(i =>
                $$"""{"process_id":"p{{i:D15}}","process_type":"eval","status":"running","owner":"dev","progress":{"current":{{i}},"total":20},"seq":1}""");
            view.Apply(HubEvent.Parse($$"""{"type":"process_list","epoch":"e","processes":[{{string.Join(",", processes)}}]}"""));
            view.Notice("lost the connection to ws://127.0.0.1:8501/ws (connection reset), retrying in 1 s");
            writer.GetStringBuilder().Clear();

            view.Redraw();
            drawn = writer.ToString(); // before the view is disposed: ending the live display draws a last frame
        }

        // The last frame drawn: each starts with a carriage return and the cursor movements of the live display.
        var frame = System.Text.RegularExpressions.Regex.Replace(drawn[(drawn.LastIndexOf('\r') + 1)..], @"\x1b\[[0-9;?]*[A-Za-z]", "")
            .Split('\n').Select(l => l.TrimEnd()).ToList();
        string shown = string.Join("\n", frame);
        // 12 lines: the table's frame (4), the notice, the line about the hidden rows, and so 6 rows.
        Assert.That(frame, Has.Count.LessThanOrEqualTo(12), shown);
        Assert.That(frame[0], Does.StartWith("╭"), $"the frame starts with the table, not with the live display's cut:\n{shown}");
        Assert.That(frame.Any(l => l.Contains("Process", StringComparison.Ordinal) && l.Contains("Status", StringComparison.Ordinal)), Is.True, $"the header stays:\n{shown}");
        Assert.That(frame.Count(l => l.Contains("p000", StringComparison.Ordinal)), Is.EqualTo(6), shown);
        Assert.That(frame, Has.One.EqualTo($"… {Processes - 6} more (resize the terminal or use --json)"), shown);
        Assert.That(frame.Any(l => l.Contains($"p{Processes - 1:D15}", StringComparison.Ordinal)), Is.True, $"the newest row stays:\n{shown}");
        Assert.That(frame.Last(l => l.Length > 0), Does.StartWith("processhub watch: lost the connection"), "the notice stays last");
    }

    [Test]
    public void A_short_terminal_leaves_out_ended_rows_before_running_ones()
    {
        // A watch is for what is running: rows that ended are the ones a short terminal goes without first.
        var console = Console(100, out _);
        console.Profile.Height = 10; // the frame (4), the line about hidden rows, and so 5 rows
        var rows = new List<WatchRow>();
        for (int i = 0; i < 12; i++)
        {
            rows.Add(new WatchRow($"p{i:D15}", "eval", i % 4 == 0 ? "running" : "completed", 1, 1, "", ""));
        }
        console.Write(new WatchTable(rows, null));

        var lines = Lines(console).Where(l => l.Length > 0).ToList();
        string shown = string.Join("\n", lines);
        Assert.That(lines, Has.Count.LessThanOrEqualTo(10), shown);
        var ids = lines.Where(l => l.StartsWith('│')).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Where(w => w.Length > 2 && w[2].StartsWith('p')).Select(w => w[2]).ToList();
        // The three running (0, 4, 8) and the two ended nearest the bottom (10, 11), in their order.
        Assert.That(ids, Is.EqualTo(new[] { 0, 4, 8, 10, 11 }.Select(i => $"p{i:D15}")), shown);
        Assert.That(lines, Has.One.EqualTo("… 7 more (resize the terminal or use --json)"), shown);
    }

    [TestCase(60, "bench…")]
    [TestCase(64, "benchmark")]
    [TestCase(68, "benchmark")]
    [TestCase(72, "benchmark")]
    [TestCase(76, "benchmark")]
    public void Narrowing_drops_the_detail_before_the_type_and_keeps_the_bar(int width, string type)
    {
        // The type says what a row is, the detail only how it is going: from 76 columns down, the process column was
        // cut to the id to keep a few cells of detail.
        var view = new WatchView(Console(width, out var output), interactive: false, lines: TextWriter.Null, notices: TextWriter.Null);
        view.Apply(HubEvent.Parse($$$"""
            {"type":"process_list","epoch":"e","processes":[
              {"process_id":"{{{Benchmark}}}","process_type":"benchmark","status":"running","owner":"dev","progress":{"current":5,"total":12,"model":"GPT-4o","detail":"Run 2/3, Context 5K"},"seq":6},
              {"process_id":"{{{Failed}}}","process_type":"transcode","status":"failed","owner":"dev","progress":{"current":3,"total":3},"seq":5,"error":{"message":"GPU lost","code":"oom"}}
            ]}
            """));
        output.Write(view.Render());

        var lines = Lines(output);
        string shown = string.Join("\n", lines);
        Assert.That(lines.Where(l => l.GetCellWidth() > width), Is.Empty, $"lines wider than {width}:\n{shown}");
        string row = lines.Single(l => l.Contains(Benchmark, StringComparison.Ordinal));
        Assert.That(row, Does.Contain($"{type} {Benchmark}"), $"the type stays at {width} columns:\n{shown}");
        Assert.That(row, Does.Contain("█").And.Contain(" 42%").And.Contain("5/12"), $"bar, percentage and counts stay:\n{shown}");
    }

    [TestCase(80)]
    [TestCase(100)]
    public void The_connection_notice_under_the_table_fits_the_width_too(int width)
    {
        var console = Console(width, out _);
        var output = console;
        output.Write(new WatchTable([new WatchRow(Benchmark, "benchmark", "running", 2, 3, "GPT-4o", "shard 2")],
            "processhub watch: cannot reach ws://a-long-host-name.example.internal:8501/ws (connection refused), retrying in 10 s"));

        var lines = Lines(console);
        Assert.That(lines.Where(l => l.Length > width), Is.Empty, string.Join("\n", lines));
        Assert.That(lines.Last(l => l.Length > 0), Does.StartWith("processhub watch: cannot reach"));
    }

    [Test]
    public void An_ended_row_leaves_when_the_hub_forgets_it_counted_on_the_hubs_clock()
    {
        // The hub says nothing when its retention lets a process go: a watch left open showed ended rows until it had
        // 100. The list says the retention, and its timestamp the hub's clock: this machine's is two hours ahead here,
        // which must not end every row at once.
        var hubNow = new DateTimeOffset(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(hubNow.AddHours(2));
        var view = new WatchView(Console(100, out _), interactive: false, lines: TextWriter.Null, notices: TextWriter.Null, time: clock);
        view.Apply(HubEvent.Parse($$$"""
            {"type":"process_list","epoch":"e","retention_seconds":60,"timestamp":"2026-12-02T12:00:00.000Z","processes":[
              {"process_id":"{{{Failed}}}","process_type":"transcode","status":"failed","owner":"dev","progress":{"current":3,"total":3},"seq":5,"started_at":"2026-12-02T11:58:00.000Z","ended_at":"2026-12-02T11:59:30.000Z","error":{"message":"GPU lost","code":"oom"}},
              {"process_id":"{{{Benchmark}}}","process_type":"benchmark","status":"running","owner":"dev","progress":{"current":5,"total":12},"seq":6,"started_at":"2026-12-02T11:58:00.000Z"}
            ]}
            """));
        view.Apply(HubEvent.Parse($$"""
            {"type":"process_completed","process_id":"{{Evaluation}}","process_type":"evaluation","owner":"dev","seq":9,"result":null,"duration_ms":1,"timestamp":"2026-12-02T12:00:10.000Z"}
            """));

        string Shown()
        {
            var output = Console(100, out _);
            output.Write(view.Render());
            return string.Join("\n", Lines(output));
        }

        clock.Advance(TimeSpan.FromSeconds(29));
        view.ForgetExpired();
        Assert.That(Shown(), Does.Contain(Failed).And.Contain(Evaluation).And.Contain(Benchmark), "29 s on the hub's clock: a minute has not passed since either ended");
        clock.Advance(TimeSpan.FromSeconds(2));
        view.ForgetExpired();
        Assert.That(Shown(), Does.Not.Contain(Failed).And.Contain(Evaluation).And.Contain(Benchmark), "the failure ended 61 s ago by the hub's clock");
        clock.Advance(TimeSpan.FromSeconds(29));
        view.ForgetExpired();
        Assert.That(Shown(), Does.Contain(Evaluation), "the live end at 12:00:10 by the hub's clock, 50 s ago");
        clock.Advance(TimeSpan.FromSeconds(10));
        view.ForgetExpired();
        Assert.That(Shown(), Does.Not.Contain(Evaluation).And.Contain(Benchmark), "the live end 60 s ago goes; a running process is never let go");
    }

    [Test]
    public void With_no_processes_the_table_says_so()
    {
        var console = Console(80, out _);
        console.Write(new WatchTable([], null));
        Assert.That(Lines(console).Any(l => l.Contains("none yet", StringComparison.Ordinal)), Is.True);
    }

    // A terminal as the live display sees it (ANSI, interactive), writing to writer.
    private static IAnsiConsole LiveConsole(StringWriter writer, int width)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.Yes,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.Yes,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = width;
        console.Profile.Encoding = System.Text.Encoding.UTF8;
        return console;
    }

    private static IAnsiConsole Console(int width, out IAnsiConsole same)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(new StringWriter()),
        });
        console.Profile.Width = width;
        console.Profile.Encoding = System.Text.Encoding.UTF8;
        same = console;
        return console;
    }

    private static List<string> Lines(IAnsiConsole console) =>
        console.Profile.Out.Writer.ToString()!.Replace("\r", "", StringComparison.Ordinal).Split('\n').Select(l => l.TrimEnd()).ToList();
}
