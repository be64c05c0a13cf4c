using Microsoft.Extensions.Logging;

namespace ProcessHub.Cli;

/// <summary>Structured single-line console logs. Nothing logged anywhere carries a token or a secret.</summary>
internal static class Logging
{
    public static ILoggerFactory CreateFactory(LogLevel minimum = LogLevel.Information) =>
        LoggerFactory.Create(builder => builder
            .SetMinimumLevel(minimum)
            .AddSimpleConsole(console =>
            {
                console.SingleLine = true;
                console.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                console.UseUtcTimestamp = true;
            }));
}
