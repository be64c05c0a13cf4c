using NUnit.Framework;
using ProcessHub.Auth;

namespace ProcessHub.Tests.Unit.Auth;

/// <summary>
/// The log form of a <c>sub</c>: whatever the token's issuer put there, a log line gets one line of printable text
/// of bounded length, and the escapes cannot be confused with the characters they replace.
/// </summary>
[TestFixture]
[Category("unit")]
internal sealed class SubjectLogFormTests
{
    [TestCase("alice", "alice", TestName = "A plain sub is unchanged")]
    [TestCase("caf\u00e9 \u65e5\u672c", "caf\u00e9 \u65e5\u672c", TestName = "Printable non-ASCII is unchanged")]
    [TestCase("a\u001b[2Jb", "a\\u001B[2Jb", TestName = "ESC is escaped, so no terminal sequence reaches the log")]
    [TestCase("line\nfake entry", "line\\u000Afake entry", TestName = "LF is escaped, so a sub cannot forge a log line")]
    [TestCase("cr\rtab\tnul\0del\u007f", "cr\\u000Dtab\\u0009nul\\u0000del\\u007F", TestName = "Other C0 controls and DEL are escaped")]
    [TestCase("nel\u0085csi\u009b", "nel\\u0085csi\\u009B", TestName = "C1 controls are escaped")]
    [TestCase("\u202eevil\u2066\u200b", "\\u202Eevil\\u2066\\u200B", TestName = "Bidi overrides and zero-width characters are escaped")]
    [TestCase("ls\u2028ps\u2029", "ls\\u2028ps\\u2029", TestName = "Unicode line and paragraph separators are escaped")]
    [TestCase("back\\slash", "back\\\\slash", TestName = "A backslash is doubled so an escape is never ambiguous")]
    public void Escapes_what_is_not_printable(string subject, string expected) =>
        Assert.That(SubjectLogForm.Of(subject), Is.EqualTo(expected));

    [Test]
    public void A_lone_surrogate_is_escaped()
    {
        // Built at run time: an attribute argument cannot carry a lone surrogate (it is stored as UTF-8).
        string subject = "lone" + (char)0xD800 + "x" + (char)0xDC00;

        Assert.That(SubjectLogForm.Of(subject), Is.EqualTo("lone\\uD800x\\uDC00"));
    }

    [Test]
    public void A_sub_of_64_characters_is_whole()
    {
        string subject = new('x', SubjectLogForm.MaxChars);

        Assert.That(SubjectLogForm.Of(subject), Is.EqualTo(subject));
    }

    [Test]
    public void A_longer_sub_is_cut_to_64_characters_and_an_ellipsis()
    {
        string subject = new string('x', SubjectLogForm.MaxChars) + "tail";

        Assert.That(SubjectLogForm.Of(subject), Is.EqualTo(new string('x', SubjectLogForm.MaxChars) + "\u2026"));
    }

    [Test]
    public void The_cut_never_splits_a_surrogate_pair()
    {
        string subject = new string('x', SubjectLogForm.MaxChars - 1) + "\ud83d\ude00" + "tail";

        Assert.That(SubjectLogForm.Of(subject), Is.EqualTo(new string('x', SubjectLogForm.MaxChars - 1) + "\u2026"));
    }

    [Test]
    public void The_limit_counts_characters_of_the_sub_not_of_its_escapes()
    {
        // 64 ESC characters become 64 six-character escapes: the log line is bounded by 6 x 64 + 1, not by 64.
        string subject = new string('\u001b', SubjectLogForm.MaxChars + 10);

        string form = SubjectLogForm.Of(subject);

        Assert.That(form, Is.EqualTo(string.Concat(Enumerable.Repeat("\\u001B", SubjectLogForm.MaxChars)) + "\u2026"));
    }
}
