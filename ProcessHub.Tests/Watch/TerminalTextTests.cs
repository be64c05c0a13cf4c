using NUnit.Framework;
using ProcessHub.Cli;
using Spectre.Console;

namespace ProcessHub.Tests.Watch;

/// <summary>
/// Widths and cuts of producers' strings as a terminal draws them: by grapheme cluster, an emoji sequence (joined by
/// zero-width joiners, or with a skin tone or VS16) one symbol of two cells, never cut inside one.
/// </summary>
[TestFixture]
[Category("unit")]
public sealed class TerminalTextTests
{
    [Test]
    public void Width_counts_a_grapheme_cluster_as_one_symbol_and_an_emoji_sequence_as_two_cells()
    {
        // Counted by code point, "👩‍💻" was four cells and "❤️" one; counted by Spectre's first symbol, "✌🏽" and "❤‍🔥" one.
        Assert.Multiple(() =>
        {
            foreach (var (text, cells) in new[]
            {
                ("👩‍💻", 2), ("👩‍💻 dev", 6), ("🧑🏽‍🚀", 2), ("👍🏽", 2), ("✌🏽", 2), ("☝🏻 review", 9), ("❤️", 2), ("❤‍🔥", 2),
                ("🇫🇷", 2), ("e\u0301", 1), ("模型", 4), ("eval", 4),
            })
            {
                Assert.That(TerminalText.Width(text), Is.EqualTo(cells), text);
            }
        });
    }

    [Test]
    public void Fit_cuts_between_grapheme_clusters_and_the_table_counts_what_it_keeps_as_the_terminal_draws_it()
    {
        // Cut by code point, "👩‍💻👩‍💻👩‍💻" kept a trailing joiner that glued the ellipsis to the emoji, and "❤️❤️❤️" kept all
        // three hearts (one cell each by that count) in 5 cells.
        Assert.Multiple(() =>
        {
            foreach (var (text, width, fitted) in new[]
            {
                ("👩‍💻👩‍💻👩‍💻", 5, "👩‍💻👩‍💻…"),
                ("❤️❤️❤️", 5, "❤️❤️…"),
                ("👍🏽👍🏽", 4, "👍🏽👍🏽"),
                ("e\u0301e\u0301e\u0301e\u0301", 3, "e\u0301e\u0301…"),
                ("模型模型", 4, "模…"),
                ("run 🚀 now", 7, "run 🚀…"),
                ("✌🏽✌🏽✌🏽", 5, "✌🏽\uFE0F✌🏽\uFE0F…"), // VS16 at the end of each: Spectre pads the cell by its own count
            })
            {
                string cut = TerminalText.Fit(text, width);
                Assert.That(cut, Is.EqualTo(fitted), $"{text} in {width}");
                Assert.That(cut.GetCellWidth(), Is.EqualTo(TerminalText.Width(cut)), $"{cut}: Spectre's count, which pads the cell, is the terminal's");
            }
        });
    }
}
