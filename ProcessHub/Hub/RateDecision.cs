namespace ProcessHub.Hub;

internal enum RateDecision : byte
{
    Allowed,
    Refused,
    Close,
}
