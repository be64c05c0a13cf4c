namespace ProcessHub.Hub;

/// <summary>
/// A start came with an <c>Idempotency-Key</c> its caller already used for a different request (another
/// <c>process_type</c>, <c>total</c>, <c>owner</c> or <c>params</c>), so it is neither a repeat nor a new start. The
/// HTTP API answers 422 <c>idempotency_key_reused</c>; nothing is started.
/// </summary>
public sealed class IdempotencyKeyReusedException : Exception
{
    public IdempotencyKeyReusedException()
        : base("this Idempotency-Key was used for another request")
    {
    }

    public IdempotencyKeyReusedException(string message)
        : base(message)
    {
    }

    public IdempotencyKeyReusedException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
