using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace ProcessHub.Cli;

/// <summary>
/// Options that fall back to a <c>PROCESSHUB_*</c> environment variable, then to a default:
/// <c>--ping-interval</c> reads <c>PROCESSHUB_PING_INTERVAL</c>. A bad value in either place is a parse error.
/// </summary>
internal static class EnvironmentOption
{
    public static string VariableFor(string optionName) =>
        "PROCESSHUB_" + optionName.TrimStart('-').Replace('-', '_').ToUpperInvariant();

    /// <param name="expected">What a valid value is, for the message when the variable holds another (e.g. "between 1 and 10").</param>
    /// <param name="emptyIsUnset">Whether a variable that is set but empty counts as not set (every option but a flag).</param>
    public static Option<T> Create<T>(string name, string description, T defaultValue, Func<string, (bool Ok, T Value)> parse, string? expected = null, bool emptyIsUnset = true)
    {
        string variable = VariableFor(name);
        return new Option<T>(name)
        {
            Description = $"{description} [env: {variable}]",
            DefaultValueFactory = result =>
            {
                var raw = Environment.GetEnvironmentVariable(variable);
                if (raw is null || (raw.Length == 0 && emptyIsUnset))
                {
                    return defaultValue;
                }
                var (ok, value) = parse(raw);
                if (!ok && !ForAnotherCommand(result))
                {
                    result.AddError(expected is null
                        ? $"{variable}: '{raw}' is not a valid value for {name}"
                        : $"{variable} must be {expected}, got '{raw}'");
                    return defaultValue;
                }
                return value;
            },
        };
    }

    // The root's options (serve's) are read for every command, watch's and token's too: a bad PROCESSHUB_PORT is
    // serve's to refuse, not a reason for `processhub token` to fail.
    private static bool ForAnotherCommand(ArgumentResult result) =>
        result.Parent?.Parent is CommandResult { Parent: null } root && root.Children.OfType<CommandResult>().Any();

    public static Option<int> Int(string name, string description, int defaultValue, int min, int max)
    {
        string expected = $"an integer between {min} and {max}";
        var option = Create(name, $"{description} ({min} to {max})", defaultValue,
            raw => (int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max, v),
            expected);
        // The command line's value gets the message the variable's does (the parser's own named the CLR type,
        // "as expected type 'System.Int32'", and said nothing of the range).
        option.CustomParser = result =>
        {
            string raw = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
            if (int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) && value >= min && value <= max)
            {
                return value;
            }
            result.AddError($"{name} must be {expected}, got '{raw}'");
            return defaultValue;
        };
        return option;
    }

    /// <summary>
    /// One of a few words, on the command line or in the variable, in any case (<c>--store SQLite</c> is
    /// <c>sqlite</c>, as a flag's variable takes <c>TRUE</c>); anything else is named with the choices.
    /// </summary>
    public static Option<string> Choice(string name, string description, string defaultValue, params string[] choices)
    {
        string expected = "one of " + string.Join(", ", choices);
        string? Canonical(string raw) => choices.FirstOrDefault(choice => string.Equals(choice, raw, StringComparison.OrdinalIgnoreCase));
        var option = Create(name, description, defaultValue, raw => Canonical(raw) is { } choice ? (true, choice) : (false, raw), expected);
        option.HelpName = string.Join('|', choices); // --help shows <sqlite|memory>
        option.CustomParser = result =>
        {
            string raw = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
            if (Canonical(raw) is { } choice)
            {
                return choice;
            }
            result.AddError($"{name} must be {expected}, got '{raw}'");
            return defaultValue;
        };
        return option;
    }

    public static Option<string> Text(string name, string description, string defaultValue) =>
        Create(name, description, defaultValue, raw => (true, raw));

    public static Option<string?> OptionalText(string name, string description)
    {
        string variable = VariableFor(name);
        return new Option<string?>(name)
        {
            Description = $"{description} [env: {variable}]",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable(variable) is { Length: > 0 } raw ? raw : null,
        };
    }

    /// <summary>
    /// A switch; its variable is on with <c>1</c>, <c>true</c> or <c>yes</c> and off with <c>0</c>, <c>false</c> or
    /// <c>no</c> (any case). Anything else is a parse error, an empty value too: a flag such as <c>--no-dev</c> guards
    /// against an unsafe start, so a value it does not understand (or a template that left it empty) must not quietly
    /// mean off.
    /// </summary>
    public static Option<bool> Flag(string name, string description)
    {
        var option = Create(name, description, false, raw => raw.ToLowerInvariant() switch
        {
            "1" or "true" or "yes" => (true, true),
            "0" or "false" or "no" => (true, false),
            _ => (false, false),
        }, expected: "1, true or yes (on) or 0, false or no (off); unset it for off", emptyIsUnset: false);
        option.Description = option.Description!.Replace($"[env: {VariableFor(name)}]", $"[env: {VariableFor(name)}=1]", StringComparison.Ordinal);
        return option;
    }

    /// <summary>A repeatable option; the variable holds a comma-separated list.</summary>
    public static Option<string[]> List(string name, string description)
    {
        string variable = VariableFor(name);
        return new Option<string[]>(name)
        {
            Description = $"{description} (repeatable) [env: {variable}, comma-separated]",
            AllowMultipleArgumentsPerToken = false,
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable(variable) is { Length: > 0 } raw
                ? raw.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                : [],
        };
    }
}
