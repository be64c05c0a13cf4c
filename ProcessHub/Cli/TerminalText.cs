using System.Text;

namespace ProcessHub.Cli;

/// <summary>
/// What a producer wrote, made safe to print on a terminal. Any user's strings reach an admin's <c>watch</c> (type,
/// model, detail, error message), and the hub only bounds their length: an escape sequence in a detail could clear
/// the admin's screen, retitle the window or write to the clipboard, and a newline would break "one line per change".
/// Control characters become a space (line breaks, tabs) or U+FFFD (the rest), so nothing printed can steer the
/// terminal; everything else, accents and scripts of every language included, is kept.
/// </summary>
internal static class TerminalText
{
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
}
