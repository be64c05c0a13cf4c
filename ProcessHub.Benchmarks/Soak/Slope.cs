namespace ProcessHub.Benchmarks.Soak;

/// <summary>A least-squares line through (seconds, value) points: how fast a series grows, per hour.</summary>
internal static class Slope
{
    /// <summary>The slope in units per hour, or 0 with fewer than two points.</summary>
    public static double PerHour(IReadOnlyList<(double Seconds, double Value)> points)
    {
        if (points.Count < 2)
        {
            return 0;
        }
        double meanX = points.Average(p => p.Seconds);
        double meanY = points.Average(p => p.Value);
        double covariance = points.Sum(p => (p.Seconds - meanX) * (p.Value - meanY));
        double variance = points.Sum(p => (p.Seconds - meanX) * (p.Seconds - meanX));
        return variance == 0 ? 0 : covariance / variance * 3600;
    }
}
