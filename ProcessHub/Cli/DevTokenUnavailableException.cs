namespace ProcessHub.Cli;

/// <summary>The hub answered, but hands out no dev token: it is not in dev mode, so <c>watch</c> needs <c>--token</c>.</summary>
internal sealed class DevTokenUnavailableException(Uri hub, int status)
    : Exception($"the hub at {hub} hands out no dev token ({status}): it is not in dev mode")
{
}
