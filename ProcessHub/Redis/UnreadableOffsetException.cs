namespace ProcessHub.Redis;

/// <summary>
/// Redis's offset key holds something that is not a number: written by another program under the hub's prefix. The
/// hubs cannot tell from it which events they have, so they neither apply nor claim anything against it.
/// </summary>
internal sealed class UnreadableOffsetException(string message) : Exception(message);
