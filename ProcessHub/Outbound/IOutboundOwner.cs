namespace ProcessHub.Outbound;

/// <summary>What an <see cref="OutboundQueue"/> reports to the connection that owns it.</summary>
public interface IOutboundOwner
{
    /// <summary>Our close frame has been handed to the socket.</summary>
    void OnCloseFrameSent();

    /// <summary>The socket refused data: the connection is gone.</summary>
    void OnSendFailed(Exception error);
}
