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
                : error.Message)
            .Distinct(StringComparer.Ordinal);

    // The error's option when it takes at most one value and its name appears more than once on the command line.
    private static OptionResult? Repeated(SymbolResult? result)
    {
        var option = result as OptionResult ?? (result as ArgumentResult)?.Parent as OptionResult;
        return option is { IdentifierTokenCount: > 1 } && option.Option.Arity.MaximumNumberOfValues <= 1 ? option : null;
    }

    private static string Times(int count) => count == 2 ? "twice" : $"{count} times";
}
