using System.Globalization;
using System.Text;
using Spectre.Console;

namespace ProcessHub.Cli;

/// <summary>
/// What a producer wrote, made safe to print on a terminal, and measured and cut as a terminal draws it. Any user's
/// strings reach an admin's <c>watch</c> (type, model, detail, error message), and the hub only bounds their length:
/// an escape sequence in a detail could clear the admin's screen, retitle the window or write to the clipboard, and a
/// newline would break "one line per change". Control characters become a space (line breaks, tabs) or U+FFFD (the
/// rest), so nothing printed can steer the terminal; everything else, accents and scripts of every language included,
/// is kept.
/// </summary>
internal static class TerminalText
{
    private const string EmojiPresentation = "\uFE0F"; // VS16
    private const int ZeroWidthJoiner = 0x200D;

    public static string Printable(string text)
    {
        int first = text.AsSpan().IndexOfAnyInRange('\0', '\u001f');
        if (first < 0 && text.AsSpan().IndexOfAnyInRange('\u007f', '\u009f') < 0)
        {
            return text;
        }
        var printable = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            printable.Append(c switch
            {
                '\n' or '\r' or '\t' => ' ',
                _ when char.IsControl(c) => '\uFFFD',
                _ => c,
            });
        }
        return printable.ToString();
    }

    /// <summary>
    /// The terminal cells <paramref name="text"/> takes, counted by text element (grapheme cluster), not by code point:
    /// "👩‍💻" (woman, zero-width joiner, laptop) or "👍🏽" (thumb, skin tone) is one symbol, two cells, where counting its
    /// code points made it four and a row holding it wider than the terminal.
    /// </summary>
    public static int Width(string text)
    {
        if (IsAscii(text))
        {
            return text.Length;
        }
        int width = 0;
        var elements = StringInfo.GetTextElementEnumerator(text);
        while (elements.MoveNext())
        {
            width += ElementWidth(elements.GetTextElement());
        }
        return width;
    }

    /// <summary>
    /// <paramref name="text"/> as drawn in <paramref name="width"/> cells: whole when it fits, else cut with an ellipsis,
    /// always between text elements. A cut inside one left half an emoji, or a joiner that glued the ellipsis to it.
    /// </summary>
    public static string Fit(string text, int width)
    {
        if (width <= 0)
        {
            return "";
        }
        if (IsAscii(text))
        {
            return text.Length <= width ? text : string.Concat(text.AsSpan(0, width - 1), "…");
        }
        bool whole = Width(text) <= width;
        int room = whole ? width : width - 1;
        var fitted = new StringBuilder(text.Length + 1);
        int used = 0;
        var elements = StringInfo.GetTextElementEnumerator(text);
        while (elements.MoveNext())
        {
            string element = elements.GetTextElement();
            int cells = ElementWidth(element);
            if (used + cells > room)
            {
                break;
            }
            fitted.Append(Drawn(element, cells));
            used += cells;
        }
        return whole ? fitted.ToString() : fitted.Append('…').ToString();
    }

    private static bool IsAscii(string text) => !text.AsSpan().ContainsAnyExceptInRange(' ', '~');

    // An emoji presentation sequence (emoji joined by zero-width joiners, or one with a skin tone) is one symbol of two
    // cells. Spectre counts those by their first symbol, so "✌🏽" or "❤‍🔥" would be one cell; every other element (a
    // letter and its accents, a Hangul syllable, a flag, an emoji with VS16, a CJK character) it counts as drawn.
    private static int ElementWidth(string element) => IsEmojiSequence(element) ? 2 : element.GetCellWidth();

    private static bool IsEmojiSequence(string element)
    {
        bool first = true;
        bool afterJoiner = false;
        foreach (var rune in element.EnumerateRunes())
        {
            if (!first && (afterJoiner || rune.Value is >= 0x1F3FB and <= 0x1F3FF))
            {
                return true; // a symbol joined to the one before, or a skin tone (an emoji modifier) after one
            }
            afterJoiner = rune.Value == ZeroWidthJoiner;
            first = false;
        }
        return false;
    }

    // Spectre pads a table cell by its own count of the text: an emoji sequence it counts short would push the row's
    // right border out past the terminal's edge. VS16 at the end of the sequence (which a terminal draws as an emoji
    // already) makes Spectre count it as the two cells it takes.
    private static string Drawn(string element, int cells)
    {
        if (cells != 2 || element.GetCellWidth() == 2)
        {
            return element;
        }
        string withPresentation = element + EmojiPresentation;
        return withPresentation.GetCellWidth() == 2 ? withPresentation : element;
    }
}
