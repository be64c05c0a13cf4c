namespace ProcessHub.Hub.Processes;

internal enum ReplayOutcome : byte
{
    NotFound,

    /// <summary>Replayed; live events follow.</summary>
    Following,

    /// <summary>Replayed; the process had ended, so the replay was all there is.</summary>
    Ended,
}
