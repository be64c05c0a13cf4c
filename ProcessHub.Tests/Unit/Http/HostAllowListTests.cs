using NUnit.Framework;
using ProcessHub.Http;

namespace ProcessHub.Tests.Unit.Http;

/// <summary>
/// How <c>--allowed-host</c> values are read (<see cref="HostAllowList.TryNormalize"/>): an IPv6 address is kept in
/// its canonical spelling, in brackets as Host carries it; a port, scheme or path is refused, never dropped.
/// </summary>
[TestFixture]
[Category("unit")]
internal sealed class HostAllowListTests
{
    [TestCase("hub.example.com", "hub.example.com")]
    [TestCase("hub.example.com.", "hub.example.com")]
    [TestCase("10.0.0.11", "10.0.0.11")]
    [TestCase("::1", "[::1]")]
    [TestCase("[::1]", "[::1]")]
    [TestCase("0:0:0:0:0:0:0:1", "[::1]")]
    [TestCase("[0:0::2]", "[::2]")]
    [TestCase("fe80::1%eth0", "[fe80::1%eth0]")]
    [TestCase("[fe80::1%eth0]", "[fe80::1%eth0]")]
    public void A_name_or_address_is_kept_as_Host_carries_it(string value, string expected)
    {
        Assert.That(HostAllowList.TryNormalize(value, out var name, out var problem), Is.True, problem);
        Assert.That(name, Is.EqualTo(expected));
    }

    [TestCase("[::1]:8501")]
    [TestCase("[0:0::1]:80")]
    [TestCase("hub.example.com:8501")]
    [TestCase("http://hub.example.com")]
    [TestCase("[::1")]
    [TestCase("")]
    public void A_port_scheme_or_broken_bracket_is_refused_not_dropped(string value)
    {
        Assert.That(HostAllowList.TryNormalize(value, out var name, out var problem), Is.False, $"taken as '{name}'");
        Assert.That(problem, Does.Contain("not a host name or address"));
    }
}
