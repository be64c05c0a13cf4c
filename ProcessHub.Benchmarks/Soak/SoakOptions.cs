using System.Globalization;

namespace ProcessHub.Benchmarks.Soak;

/// <summary>The soak's command line: <c>soak [--minutes N | --seconds N] [--hub DLL] [--store sqlite|memory] [--seed N] [--report FILE]</c>.</summary>
internal sealed record SoakOptions(TimeSpan Duration, string HubDll, string Store, int Seed, string? ReportPath, TimeSpan WarmUp)
{
    private const double LongestMinutes = 7 * 24 * 60; // a week; TimeSpan itself overflows far beyond

    public static SoakOptions Parse(string[] args)
    {
        TimeSpan duration = TimeSpan.FromMinutes(1);
        string? hub = null;
        string store = "sqlite";
        int seed = Environment.TickCount & 0xFFFF;
        string? report = null;
        TimeSpan? warmUp = null;
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--minutes":
                    duration = TimeSpan.FromMinutes(Number("--minutes", Value(), max: LongestMinutes));
                    break;
                case "--seconds":
                    duration = TimeSpan.FromSeconds(Number("--seconds", Value(), max: LongestMinutes * 60));
                    break;
                case "--hub":
                    hub = Value();
                    break;
                case "--store":
                    store = Value();
                    if (store is not ("sqlite" or "memory"))
                    {
                        throw new ArgumentException("--store is sqlite or memory");
                    }
                    break;
                case "--seed":
                    seed = int.TryParse(Value(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int parsed) ? parsed : throw new ArgumentException($"--seed takes a whole number, got '{args[i]}'");
                    break;
                case "--report":
                    report = Value();
                    break;
                case "--warmup":
                    warmUp = TimeSpan.FromSeconds(Number("--warmup", Value(), max: LongestMinutes * 60));
                    break;
                default:
                    throw new ArgumentException($"unknown option {args[i]}");
            }
        }
        if (duration <= TimeSpan.Zero)
        {
            throw new ArgumentException("the duration must be positive");
        }
        return new SoakOptions(duration, hub ?? DefaultHubDll(), store, seed, report,
            warmUp ?? TimeSpan.FromSeconds(Math.Min(300, duration.TotalSeconds / 5)));
    }

    /// <summary>A number of the command line: a usage error, not the runtime's FormatException and a stack trace.</summary>
    private static double Number(string option, string text, double max) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && value >= 0 && value <= max
            ? value
            : throw new ArgumentException($"{option} takes a number from 0 to {max}, got '{text}'");

    /// <summary>The hub built beside this tool: ProcessHub/bin/&lt;configuration&gt;/net10.0/ProcessHub.dll in the same repository.</summary>
    public static string DefaultHubDll()
    {
        var tool = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string framework = tool.Name;
        string configuration = tool.Parent!.Name;
        var root = tool;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "ProcessHub.sln")))
        {
            root = root.Parent;
        }
        if (root is null)
        {
            throw new ArgumentException("cannot find the repository (ProcessHub.sln) above the tool; give --hub");
        }
        string path = Path.Combine(root.FullName, "ProcessHub", "bin", configuration, framework, "ProcessHub.dll");
        return File.Exists(path) ? path : throw new ArgumentException($"{path} does not exist: build ProcessHub ({configuration}) or give --hub");
    }
}
