using System.Text.Json;

namespace ProcessHub.Client;

/// <summary>A process's <c>progress</c> object: <c>current</c> of <c>total</c>, plus what the producer added.</summary>
public sealed class ProgressInfo
{
    internal ProgressInfo(long current, long total, string? model, string? detail, JsonElement json)
    {
        Current = current;
        Total = total;
        Model = model;
        Detail = detail;
        Json = json;
    }

    /// <summary>Steps done.</summary>
    public long Current { get; }

    /// <summary>Steps in all; 0 when the producer does not know.</summary>
    public long Total { get; }

    /// <summary>The optional <c>model</c> field, as text: a value that is not a string (a number, an object) as its compact JSON.</summary>
    public string? Model { get; }

    /// <summary>The optional <c>detail</c> field, as text: a value that is not a string (a number, an object) as its compact JSON.</summary>
    public string? Detail { get; }

    /// <summary>The whole object, with any other fields the producer sent, verbatim.</summary>
    public JsonElement Json { get; }

    /// <summary>The completed share, 0 to 1; 0 when <see cref="Total"/> is unknown.</summary>
    public double Fraction => Total > 0 ? Math.Clamp((double)Current / Total, 0, 1) : 0;

    /// <inheritdoc/>
    public override string ToString() => $"{Current}/{Total}";
}
