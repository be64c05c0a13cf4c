using ProcessHub.Fuzz.Targets;

namespace ProcessHub.Fuzz;

/// <summary>Every fuzz target, by name; the corpus of each lives in <c>ProcessHub.Fuzz/Corpus/NAME</c>.</summary>
internal static class FuzzTargets
{
    public static IReadOnlyList<IFuzzTarget> All { get; } =
    [
        new HttpHeadTarget(),
        new FrameTarget(),
        new ClientMessageTarget(),
        new TokenTarget(),
        new RedisEntryTarget(),
        new ApiBodyTarget(),
    ];

    public static IFuzzTarget? Find(string name) =>
        All.FirstOrDefault(target => string.Equals(target.Name, name, StringComparison.Ordinal));
}
