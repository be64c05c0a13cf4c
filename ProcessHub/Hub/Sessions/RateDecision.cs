namespace ProcessHub.Hub.Sessions;

internal enum RateDecision : byte
{
    Allowed,
    Refused,
    Close,
}
