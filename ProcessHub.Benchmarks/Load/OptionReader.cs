using System.Globalization;

namespace ProcessHub.Benchmarks.Load;

/// <summary>
/// Walks a tool's command line (`--name value ...`) option by option for the parsers of `load run`, `durable` and
/// `scaleout`: the value after the current option (an ArgumentException naming the option when there is none), as
/// text, a whole number, a number or a comma-separated list; numbers in the invariant culture.
/// </summary>
internal sealed class OptionReader(string[] args)
{
    private int _index = -1;

    /// <summary>The option being read.</summary>
    public string Name => args[_index];

    /// <summary>Moves to the next option; false past the last.</summary>
    public bool Next() => ++_index < args.Length;

    /// <summary>Takes the current option's value.</summary>
    public string Value() => _index + 1 < args.Length ? args[++_index] : throw new ArgumentException($"{Name} needs a value");

    public int Int() => ParseInt(Value());

    public double Double() => ParseDouble(Value());

    public string[] List() => Value().Split(',');

    /// <summary>Whole numbers, comma-separated; with <paramref name="allowEmpty"/> empty entries are dropped, so "" is an empty list.</summary>
    public int[] Ints(bool allowEmpty = false) =>
        Value().Split(',', allowEmpty ? StringSplitOptions.RemoveEmptyEntries : StringSplitOptions.None).Select(ParseInt).ToArray();

    public double[] Doubles() => List().Select(ParseDouble).ToArray();

    private static int ParseInt(string text) => int.Parse(text, CultureInfo.InvariantCulture);

    private static double ParseDouble(string text) => double.Parse(text, CultureInfo.InvariantCulture);
}
