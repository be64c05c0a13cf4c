using System.Reflection;

namespace ProcessHub.Redis;

/// <summary>
/// The engine's Lua scripts, one per transition (start, progress, end, cancel) and one for a new epoch, each in its own file under
/// <c>Redis/Scripts</c> and embedded in the binary. Each checks and changes a process and publishes its event in one
/// atomic step, so a process's seq stays gap-free whichever hub its producer talks to.
/// </summary>
internal static class RedisScripts
{
    public static readonly string Start = Load("start.lua");
    public static readonly string Progress = Load("progress.lua");
    public static readonly string End = Load("end.lua");
    public static readonly string Cancel = Load("cancel.lua");
    public static readonly string NewEpoch = Load("new-epoch.lua");

    private static string Load(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("ProcessHub.Redis.Scripts." + name)
            ?? throw new InvalidOperationException($"the script {name} is not embedded");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
