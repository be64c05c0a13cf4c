using System.Globalization;
using System.Text;

namespace ProcessHub.Auth;

/// <summary>
/// How a <c>sub</c> appears in a log line. The token's issuer chose it, so it is treated as untrusted text: at most
/// <see cref="MaxChars"/> of its characters (an ellipsis marks a cut, never inside a surrogate pair), and every
/// character that is not plainly printable (controls, bidi and zero-width formatting, line separators, lone
/// surrogates) written as <c>\uXXXX</c>, with a backslash doubled so an escape cannot be forged. No terminal escape
/// sequence or forged log line can come out of a token.
/// </summary>
internal static class SubjectLogForm
{
    /// <summary>Characters of the sub kept; the escapes of those may make the form longer (6 per escaped character).</summary>
    public const int MaxChars = 64;

    public static string Of(string subject)
    {
        int keep = Math.Min(subject.Length, MaxChars);
        if (keep < subject.Length && char.IsHighSurrogate(subject[keep - 1]) && char.IsLowSurrogate(subject[keep]))
        {
            keep--;
        }
        var kept = subject.AsSpan(0, keep);
        if (keep == subject.Length && !kept.Contains('\\') && IsPlain(kept))
        {
            return subject;
        }

        var form = new StringBuilder(keep + 8);
        for (int i = 0; i < kept.Length; i++)
        {
            char c = kept[i];
            if (char.IsHighSurrogate(c) && i + 1 < kept.Length && char.IsLowSurrogate(kept[i + 1]))
            {
                // A character beyond the BMP: printable (an emoji) stays, a formatting one (tag characters) is escaped.
                char low = kept[i + 1];
                i++;
                if (CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(c, low)) is UnicodeCategory.Format or UnicodeCategory.Control)
                {
                    AppendEscape(form, c);
                    AppendEscape(form, low);
                }
                else
                {
                    form.Append(c).Append(low);
                }
            }
            else if (c == '\\')
            {
                form.Append(@"\\");
            }
            else if (NeedsEscape(c))
            {
                AppendEscape(form, c);
            }
            else
            {
                form.Append(c);
            }
        }
        if (keep < subject.Length)
        {
            form.Append('\u2026');
        }
        return form.ToString();
    }

    private static void AppendEscape(StringBuilder form, char c) =>
        form.Append(@"\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));

    private static bool IsPlain(ReadOnlySpan<char> text)
    {
        foreach (char c in text)
        {
            if (NeedsEscape(c))
            {
                return false;
            }
        }
        return true;
    }

    // Control (C0, DEL, C1), Format (bidi overrides and isolates, zero-width), line/paragraph separators and surrogates
    // (a valid pair is handled by the caller; one met here is alone).
    private static bool NeedsEscape(char c) => CharUnicodeInfo.GetUnicodeCategory(c) is
        UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator or UnicodeCategory.Surrogate;
}
