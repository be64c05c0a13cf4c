namespace ProcessHub.Fuzz;

/// <summary>
/// One component under fuzzing. <see cref="Run"/> returns normally for every input the component handles as
/// designed, accepted or refused; it throws only for a bug: an unexpected exception escaping the component, or an
/// <see cref="InvariantViolationException"/> when an answer contradicts what the component promises.
/// </summary>
internal interface IFuzzTarget
{
    /// <summary>The name used by <c>./run.sh fuzz NAME</c> and the corpus folder <c>Corpus/NAME</c>.</summary>
    string Name { get; }

    void Run(ReadOnlySpan<byte> input);
}
