namespace ProcessHub.Transport;

/// <summary>How the accept loop treats a failed accept.</summary>
internal enum AcceptErrorKind : byte
{
    /// <summary>One client's trouble (it reset before we accepted it): log and go on.</summary>
    Transient,

    /// <summary>The process or machine is out of something (EMFILE, ENOBUFS): back off, then retry.</summary>
    ResourcePressure,

    /// <summary>The listener itself is broken or closed: stop accepting.</summary>
    Fatal,
}
