using System.CommandLine;
using System.CommandLine.Parsing;

namespace ProcessHub.Cli;

/// <summary>
/// The parser's errors as this program words its own. An option that takes one value, given twice
/// (<c>--port 1 --port 2</c>), came out as System.CommandLine's "Option '--port' expects a single argument but 2 were
/// provided", which reads as if one --port had been given two values; it is said as what happened, with the option's
/// name only (never its values: one of them may be a token).
/// </summary>
internal static class ParseErrorText
{
    /// <summary>One line per problem, without the program's prefix; an option given too often is one line, however many errors it raised.</summary>
    public static IEnumerable<string> Describe(ParseResult parsed) =>
        parsed.Errors.Select(error => Repeated(error.SymbolResult) is { } option
                ? $"{option.IdentifierToken?.Value ?? option.Option.Name} is given {Times(option.IdentifierTokenCount)}: give it once"
                : ValueAfterFlag(parsed, error.Message) ?? error.Message)
            .Distinct(StringComparer.Ordinal);

    // "--no-dev 0" came out as "Unrecognized command or argument '0'": the parser takes a word after a switch as its
    // value only when it reads as a bool (so "--no-dev false" is off), and leaves any other word over. Said as what
    // it is, with the forms a switch takes; the word is echoed, as the parser did, since it is no option's value.
    private static string? ValueAfterFlag(ParseResult parsed, string message)
    {
        const string Prefix = "Unrecognized command or argument '";
        if (!message.StartsWith(Prefix, StringComparison.Ordinal) || !message.EndsWith("'.", StringComparison.Ordinal))
        {
            return null;
        }
        string word = message[Prefix.Length..^2];
        var tokens = parsed.Tokens;
        for (int i = 1; i < tokens.Count; i++)
        {
            if (tokens[i].Value == word && tokens[i].Type == TokenType.Argument && tokens[i - 1].Type == TokenType.Option
                && Switch(parsed, tokens[i - 1].Value) is { } name)
            {
                return $"{name} is a switch and takes no value ('{word}'): write {name} to turn it on, leave it out for off";
            }
        }
        return null;
    }

    private static string? Switch(ParseResult parsed, string name)
    {
        for (SymbolResult? result = parsed.CommandResult; result is not null; result = result.Parent)
        {
            if (result is CommandResult command && command.Command.Options.FirstOrDefault(o => o.Name == name || o.Aliases.Contains(name)) is Option<bool> option)
            {
                return option.Name;
            }
        }
        return null;
    }

    // The error's option when it takes at most one value and its name appears more than once on the command line.
    private static OptionResult? Repeated(SymbolResult? result)
    {
        var option = result as OptionResult ?? (result as ArgumentResult)?.Parent as OptionResult;
        return option is { IdentifierTokenCount: > 1 } && option.Option.Arity.MaximumNumberOfValues <= 1 ? option : null;
    }

    private static string Times(int count) => count == 2 ? "twice" : $"{count} times";
}
