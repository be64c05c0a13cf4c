using NUnit.Framework;

namespace ProcessHub.Tests.Api;

/// <summary>One hub for a fixture's tests; each test works as users of its own so tests never see each other's processes.</summary>
internal abstract class ApiFixture
{
    private static int s_users;

    protected HubTestHost Server { get; private set; } = null!;

    [OneTimeSetUp]
    public void StartServer() => Server = HubTestHost.Start();

    [OneTimeTearDown]
    public async Task StopServer() => await Server.DisposeAsync();

    /// <summary>A fresh user name and a token for it.</summary>
    protected (string Subject, string Token) NewUser(params string[] roles)
    {
        string subject = $"user{Interlocked.Increment(ref s_users)}";
        return (subject, Server.Token(subject, roles));
    }
}
