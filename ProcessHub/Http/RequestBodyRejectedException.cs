namespace ProcessHub.Http;

/// <summary>
/// A request body that cannot be accepted (a malformed or oversized chunked body). Thrown out of a body read so
/// that it unwinds a handler that asked for the body; the connection loop answers with the rejection's status.
/// </summary>
internal sealed class RequestBodyRejectedException : Exception
{
    public RequestBodyRejectedException(RequestRejection rejection)
        : base(RequestRejectionStatus.ToMessage(rejection)) => Rejection = rejection;

    public RequestBodyRejectedException()
    {
    }

    public RequestBodyRejectedException(string message)
        : base(message)
    {
    }

    public RequestBodyRejectedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public RequestRejection Rejection { get; } = RequestRejection.InvalidChunkedBody;
}
