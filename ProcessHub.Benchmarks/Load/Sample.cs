namespace ProcessHub.Benchmarks.Load;

/// <summary>One measurement: a scenario point of one server in one run, with named values.</summary>
internal sealed record Sample(string Scenario, string Server, int Connections, string Point, int Run, Dictionary<string, double> Values);
