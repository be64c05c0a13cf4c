namespace ProcessHub.Api;

/// <summary>The message of a refused argument as an error body says it.</summary>
internal static class ProblemText
{
    /// <summary>The exception's message without the " (Parameter 'name')" that .NET appends when it names a parameter.</summary>
    public static string Of(ArgumentException refusal)
    {
        string message = refusal.Message;
        int parameter = message.IndexOf(" (Parameter '", StringComparison.Ordinal);
        return parameter < 0 ? message : message[..parameter];
    }
}
