using System.CommandLine;
using System.Security.Cryptography;
using System.Text;
using ProcessHub.Auth;

namespace ProcessHub.Cli;

/// <summary>
/// <c>processhub token</c>: signs a token with the hub's HS256 secret, for trying a hub that has one (scale-out on one
/// machine, a script, a health check as a given user). Without it a newcomer following docs/scale-out.md had no way to
/// get a token: a hub with a secret has no dev-token endpoint. It reads the same options and variables as the hub
/// (<c>--jwt-secret</c>, <c>--jwt-secret-file</c>, <c>--jwt-issuer</c>, <c>--jwt-audience</c>), so a token made in the
/// hub's environment is one the hub accepts. An identity provider issues real users' tokens; this is for people and
/// scripts that hold the secret anyway.
/// </summary>
internal sealed class TokenCommand
{
    private const int MaxLifetimeSeconds = 30 * 24 * 3600;

    private readonly Option<string> _user = new("--user") { Description = "The token's sub: the user it is for", Required = true };
    private readonly Option<string[]> _roles = new("--role") { Description = "A role to grant: admin (sees every process) or producer (drives any process); repeatable" };
    private readonly Option<int> _expiresIn = new("--expires-in") { Description = $"Seconds until the token expires (1 to {MaxLifetimeSeconds})", DefaultValueFactory = _ => 3600 };
    private readonly Option<string?> _secret = EnvironmentOption.OptionalText("--jwt-secret", "The hub's HS256 shared secret (at least 32 bytes)");
    private readonly Option<string?> _secretFile = EnvironmentOption.OptionalText("--jwt-secret-file", "File holding the hub's HS256 shared secret");
    private readonly Option<string?> _issuer = EnvironmentOption.OptionalText("--jwt-issuer", "The iss claim the hub requires, if it requires one");
    private readonly Option<string?> _audience = EnvironmentOption.OptionalText("--jwt-audience", "The aud claim the hub requires, if it requires one");

    public void AddTo(RootCommand root)
    {
        var command = new Command("token", "Print a token signed with the hub's HS256 secret (for trying a hub that has one)");
        foreach (var option in new Option[] { _user, _roles, _expiresIn, _secret, _secretFile, _issuer, _audience })
        {
            command.Options.Add(option);
        }
        command.SetAction(Run);
        root.Subcommands.Add(command);
    }

    private int Run(ParseResult result)
    {
        string user = result.GetValue(_user)!;
        if (string.IsNullOrWhiteSpace(user) || Encoding.UTF8.GetByteCount(user) > TokenValidator.MaxSubjectBytes)
        {
            return Refuse($"--user must be a user id of 1 to {TokenValidator.MaxSubjectBytes} bytes");
        }
        string[] roles = result.GetValue(_roles) ?? [];
        if (roles.FirstOrDefault(role => role is not ("admin" or "producer")) is { } unknown)
        {
            return Refuse($"--role must be admin or producer, got '{unknown}'");
        }
        int lifetime = result.GetValue(_expiresIn);
        if (lifetime is < 1 or > MaxLifetimeSeconds)
        {
            return Refuse($"--expires-in must be between 1 and {MaxLifetimeSeconds}, got {lifetime}");
        }
        string? secret = result.GetValue(_secret);
        string? secretFile = result.GetValue(_secretFile);
        // As the hub reads them: one given on the command line sets aside the other's variable; both given is an error.
        bool secretGiven = result.GetResult(_secret) is { Implicit: false };
        bool fileGiven = result.GetResult(_secretFile) is { Implicit: false };
        if (secretGiven && fileGiven)
        {
            return Refuse("give only one of --jwt-secret and --jwt-secret-file");
        }
        if (secretGiven)
        {
            secretFile = null;
        }
        else if (fileGiven)
        {
            secret = null;
        }
        foreach (var option in new[] { _issuer, _audience })
        {
            if (result.GetValue(option) is { } claim && string.IsNullOrWhiteSpace(claim))
            {
                return Refuse($"{option.Name} is empty: give the value the hub requires, or leave the option out");
            }
        }
        if ((secret is null) == (secretFile is null))
        {
            return Refuse("token needs the hub's secret: give one of --jwt-secret and --jwt-secret-file (or PROCESSHUB_JWT_SECRET, "
                + "PROCESSHUB_JWT_SECRET_FILE). A hub in dev mode gives tokens itself: GET /api/dev-token");
        }
        try
        {
            var settings = new JwtSettings
            {
                Secret = secret ?? KeyFile.Read("--jwt-secret-file", secretFile!).Trim(),
                Issuer = result.GetValue(_issuer),
                Audience = result.GetValue(_audience),
            };
            var signer = new TokenValidator(settings); // checks the secret as the hub does (length)
            Console.WriteLine(signer.Issue(user, roles, TimeSpan.FromSeconds(lifetime)));
            return 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or CryptographicException)
        {
            return Refuse(ex.Message);
        }
    }

    private static int Refuse(string message)
    {
        Console.Error.WriteLine($"processhub: {message}");
        return 2;
    }
}
