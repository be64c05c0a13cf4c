namespace ProcessHub.Client.Internal;

/// <summary>The close codes of docs/protocol.md section 6, sorted into what a client does about them.</summary>
internal static class ClosePolicy
{
    public static CloseAction For(int closeStatus) => closeStatus switch
    {
        1000 => CloseAction.End,
        // 1001 shutdown, 1006 dropped, 1008 policy (back off), 1011 internal error, 1012/1013 restart/too many
        // connections, 4429 slow consumer: all pass with time.
        1001 or 1006 or 1008 or 1011 or 1012 or 1013 or 4429 => CloseAction.Reconnect,
        4401 => CloseAction.Reauthenticate,
        // 4403 forbidden, 1002 protocol error, 1003 binary, 1007 bad UTF-8, 1009 too big: the same again fails again.
        4403 or 1002 or 1003 or 1007 or 1009 or 1010 => CloseAction.GiveUp,
        // Codes this version does not know: an application's private 4xxx ones mean nothing to us, and a
        // reconnect with backoff is the safe side for the rest.
        _ => CloseAction.Reconnect,
    };
}
