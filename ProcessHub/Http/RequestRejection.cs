namespace ProcessHub.Http;

/// <summary>Why a request head was refused; mapped to a status in <see cref="RequestRejectionStatus"/>.</summary>
internal enum RequestRejection : byte
{
    None = 0,
    InvalidRequestLine,
    InvalidRequestTarget,
    UnsupportedHttpVersion,
    InvalidHeaderLine,
    HeadTooLarge,
    MissingHost,
    DuplicateHost,
    RepeatedHeader,
    InvalidHost,
    BareLineEnding,
    InvalidContentLength,
    InvalidTransferEncoding,
    UnsupportedTransferCoding,
    TransferEncodingWithContentLength,
    UnsupportedExpectation,
    InvalidChunkedBody,
    TrailersTooLarge,
    BodyTooLarge,
}
