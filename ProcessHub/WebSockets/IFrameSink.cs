namespace ProcessHub.WebSockets;

/// <summary>What <see cref="FrameReader"/> delivers: complete validated messages and control frames.</summary>
internal interface IFrameSink
{
    /// <summary>A complete text message, validated as UTF-8. The span is valid only during the call.</summary>
    void OnTextMessage(ReadOnlySpan<byte> utf8);

    void OnPing(ReadOnlySpan<byte> payload);

    void OnPong(ReadOnlySpan<byte> payload);

    /// <summary>
    /// A data frame of a message that is not complete yet (FIN not set) carrying less than
    /// <see cref="FrameReader.SmallFragmentBytes"/>: the bytes are buffered, the message comes with its last frame.
    /// Told apart so that such frames can be budgeted: a stream of empty continuation frames adds nothing to the
    /// message and never ends it.
    /// </summary>
    void OnSmallFragment()
    {
    }

    /// <summary>A valid close frame; <paramref name="code"/> is null for an empty body.</summary>
    void OnClose(ushort? code, ReadOnlySpan<byte> reason);

    /// <summary>
    /// True once the sink's side has sent its close: asked at each frame header, so that data frames behind a close
    /// queued during this very read (a message past the rate limit, a refused auth) are skipped, not checked.
    /// </summary>
    bool WantsNoMoreData => false;
}
