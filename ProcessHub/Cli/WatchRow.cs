namespace ProcessHub.Cli;

/// <summary>One process as <c>watch</c> shows it. Immutable: a change is a new row, so a frame being drawn never sees half an update.</summary>
internal sealed record WatchRow(string Id, string Type, string Status, long Current, long Total, string Model, string Detail)
{
    public double Fraction => Total > 0 ? Math.Clamp((double)Current / Total, 0, 1) : Status == "completed" ? 1 : 0;
}
