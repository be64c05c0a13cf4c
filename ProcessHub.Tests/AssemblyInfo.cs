using NUnit.Framework;

// Fixtures run side by side; the tests of one fixture run one after another (they share its server).
[assembly: Parallelizable(ParallelScope.Fixtures)]
[assembly: LevelOfParallelism(2)]
