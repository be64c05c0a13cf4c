namespace ProcessHub.Storage;

/// <summary>
/// The store cannot be opened (the directory or database is read-only, locked by another process, or corrupt). Its
/// message is meant for an operator, printed as it is before the hub exits with code 1.
/// </summary>
public sealed class StoreOpenException : Exception
{
    public StoreOpenException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }

    public StoreOpenException()
    {
    }

    public StoreOpenException(string message)
        : base(message)
    {
    }
}
