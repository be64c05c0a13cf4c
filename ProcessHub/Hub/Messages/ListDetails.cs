namespace ProcessHub.Hub.Messages;

/// <summary>Which of a process's larger fields a <c>process_list</c> entry carries.</summary>
[Flags]
internal enum ListDetails : byte
{
    None = 0,
    Params = 1,
    Result = 2,
    All = Params | Result,
}
