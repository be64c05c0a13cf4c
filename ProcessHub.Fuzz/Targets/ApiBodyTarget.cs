using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using ProcessHub.Api;
using ProcessHub.Hub;
using ProcessHub.Hub.Processes;
using ProcessHub.Runners;

namespace ProcessHub.Fuzz.Targets;

/// <summary>
/// The HTTP API's request bodies, which any token holder sends (docs/protocol.md section 1). Byte 0 picks the route
/// (<see cref="ApiRoute"/>); the rest is the body. The target calls what the route calls, in its order and with the
/// default limits of <see cref="HubOptions"/>: <see cref="JsonBody.TryParseObject"/>, then the route's checks in
/// <c>ProcessesApi</c> and <c>BenchmarkApi</c> (<see cref="ProgressJson"/>, <see cref="BenchmarkPlan.TryParse"/>). Only
/// the refusals the route answers (a problem text, an <see cref="ArgumentException"/> where the route catches one)
/// may come out; anything else would be a 500. A body is accepted exactly when it is UTF-8 without a byte order mark,
/// one JSON object a strict parser reads (no repeated name, at most 32 levels) and every string is valid Unicode; and
/// every JSON the route keeps (progress, params, result, error) is UTF-8 that reads back as the value sent.
/// </summary>
internal sealed class ApiBodyTarget : IFuzzTarget
{
    private static readonly HubOptions Limits = new();

    // What JsonBody promises, read without it: the same strictness and depth.
    private static readonly JsonDocumentOptions Strict = new() { MaxDepth = 32, AllowDuplicateProperties = false };
    private static readonly JsonDocumentOptions Lenient = new() { MaxDepth = 32 };

    // Every 400 JsonBody gives (docs/protocol.md section 8).
    private static readonly HashSet<string> BodyProblems = new(StringComparer.Ordinal)
    {
        "the body must be a JSON object", "the body is not valid UTF-8", JsonBody.ByteOrderMarkProblem, JsonBody.RepeatedMemberName,
        "malformed JSON", "a string is not valid Unicode (an escaped lone surrogate)", $"the body may nest at most {Strict.MaxDepth} levels of objects and arrays",
    };

    private static readonly ApiRoute[] Routes = Enum.GetValues<ApiRoute>();

    public string Name => "api-body";

    public void Run(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }
        var route = Routes[input[0] % Routes.Length];
        byte[] body = input[1..].ToArray();
        bool allowEmpty = route == ApiRoute.Complete; // the only route whose body may be left out
        bool parsed = JsonBody.TryParseObject(body, allowEmpty, out var document, out string? problem);
        CheckParse(body, allowEmpty, parsed, document, problem);
        if (!parsed)
        {
            return;
        }
        using (document)
        {
            var root = document!.RootElement;
            switch (route)
            {
                case ApiRoute.Create:
                    Create(root);
                    break;
                case ApiRoute.Progress:
                    Progress(root);
                    break;
                case ApiRoute.Complete:
                    Complete(root);
                    break;
                case ApiRoute.Fail:
                    Fail(root);
                    break;
                default:
                    // BenchmarkApi validates a copy, the document's pooled buffer given back first.
                    Benchmark(root.Clone());
                    break;
            }
        }
    }

    private static void CheckParse(byte[] body, bool allowEmpty, bool parsed, JsonDocument? document, string? problem)
    {
        if (!parsed)
        {
            InvariantViolationException.Check(document is null, "a refusal that hands out a document");
            InvariantViolationException.Check(problem is not null && BodyProblems.Contains(problem), $"the refusal '{problem}' is not one JsonBody answers");
            InvariantViolationException.Check(!IsAcceptable(body, allowEmpty), $"refused an acceptable body ({problem})");
            InvariantViolationException.Check(
                body.Length == 0 || Utf8.IsValid(body) == (problem != "the body is not valid UTF-8"),
                $"'{problem}' for a body that is {(Utf8.IsValid(body) ? "" : "not ")}valid UTF-8");
            InvariantViolationException.Check(problem != JsonBody.RepeatedMemberName || ParsesLeniently(body), "'repeats a member name' for a body that is malformed otherwise");
            return;
        }
        InvariantViolationException.Check(problem is null, $"accepted with the problem '{problem}'");
        InvariantViolationException.Check(document is not null && document.RootElement.ValueKind == JsonValueKind.Object, "accepted, but no object");
        InvariantViolationException.Check(IsAcceptable(body, allowEmpty), "accepted a body that is not UTF-8, has a byte order mark, is no strict JSON object or holds a lone surrogate");
    }

    // Independent of JsonBody: UTF-8 without a byte order mark, one object a strict parser reads, and every name and
    // string readable (GetString throws on an escaped lone surrogate, which LoneSurrogates finds by another way).
    private static bool IsAcceptable(byte[] body, bool allowEmpty)
    {
        if (body.Length == 0)
        {
            return allowEmpty;
        }
        if (!Utf8.IsValid(body) || body.AsSpan().StartsWith("\uFEFF"u8))
        {
            return false;
        }
        try
        {
            using var document = JsonDocument.Parse(body, Strict);
            return document.RootElement.ValueKind == JsonValueKind.Object && EveryStringReads(document.RootElement);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return false;
        }
    }

    private static bool EveryStringReads(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    _ = property.Name;
                    if (!EveryStringReads(property.Value))
                    {
                        return false;
                    }
                }
                return true;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    if (!EveryStringReads(item))
                    {
                        return false;
                    }
                }
                return true;
            case JsonValueKind.String:
                _ = element.GetString();
                return true;
            default:
                return true;
        }
    }

    private static bool ParsesLeniently(byte[] body)
    {
        try
        {
            using var _ = JsonDocument.Parse(body, Lenient);
            return true;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return false;
        }
    }

    // ProcessesApi.CreateAsync, but for the caller's own rights (an owner other than the caller), which are not the body's.
    private static void Create(JsonElement body)
    {
        if (!JsonBody.TryGetOptionalString(body, "process_type", out var processType, out string? problem)
            || !JsonBody.TryGetOptionalString(body, "owner", out var owner, out problem))
        {
            Refused(problem);
            return;
        }
        if (processType is null
            || FieldLimits.HasMoreCharactersThan(processType, FieldLimits.MaxProcessTypeLength)
            || (owner is not null && FieldLimits.IsLongerThanAUserName(owner)))
        {
            return; // a 400 whose text the route writes itself
        }
        long total = 0;
        if (body.TryGetProperty("total", out var totalElement) && totalElement.ValueKind != JsonValueKind.Null)
        {
            if (!ProgressJson.IsCount(totalElement))
            {
                Refused(ProgressJson.CountProblem("total", totalElement));
                return;
            }
            total = totalElement.GetInt64();
        }
        byte[]? parameters;
        try
        {
            parameters = ProgressJson.Params(body.TryGetProperty("params", out var paramsElement) ? paramsElement : null, Limits.MaxParamsBytes, namesChecked: true);
        }
        catch (ArgumentException ex)
        {
            Refused(ex); // 413
            return;
        }
        byte[] progress = ProgressJson.Create(0, total, null, null);

        CheckString(body, "process_type", processType);
        InvariantViolationException.Check(!string.IsNullOrWhiteSpace(processType), "started a process with a blank type");
        if (owner is not null)
        {
            CheckString(body, "owner", owner);
            InvariantViolationException.Check(Encoding.UTF8.GetByteCount(owner) <= FieldLimits.MaxOwnerBytes, $"started a process for an owner of {Encoding.UTF8.GetByteCount(owner)} bytes");
        }
        CheckKept("params", parameters, Member(body, "params"), Limits.MaxParamsBytes);
        using var started = ReadBack("the first progress", progress);
        InvariantViolationException.Check(
            started.RootElement.GetProperty("current").GetInt64() == 0 && started.RootElement.GetProperty("total").GetInt64() == total,
            $"the first progress {Encoding.UTF8.GetString(progress)} is not 0 of total {total}");
    }

    // ProcessesApi.ProgressAsync.
    private static void Progress(JsonElement body)
    {
        byte[] progress;
        try
        {
            progress = ProgressJson.Validate(body, Limits.MaxProgressBytes, namesChecked: true);
        }
        catch (ArgumentException ex)
        {
            Refused(ex); // 400
            return;
        }
        CheckKept("progress", progress, body, Limits.MaxProgressBytes);
        foreach (string name in (ReadOnlySpan<string>)["current", "total"])
        {
            InvariantViolationException.Check(
                body.TryGetProperty(name, out var count) && count.ValueKind == JsonValueKind.Number && count.TryGetInt64(out long value) && value >= 0,
                $"kept progress whose {name} is no count: {Encoding.UTF8.GetString(progress)}");
        }
    }

    // ProcessesApi.CompleteAsync.
    private static void Complete(JsonElement body)
    {
        byte[]? result;
        try
        {
            result = ProgressJson.Result(body.TryGetProperty("result", out var resultElement) ? resultElement : null, Limits.MaxResultBytes, namesChecked: true);
        }
        catch (ArgumentException ex)
        {
            Refused(ex); // 413
            return;
        }
        CheckKept("result", result, Member(body, "result"), Limits.MaxResultBytes);
    }

    // ProcessesApi.FailAsync.
    private static void Fail(JsonElement body)
    {
        string? problem = null;
        if (!body.TryGetProperty("error", out var error) || error.ValueKind != JsonValueKind.Object
            || !JsonBody.TryGetOptionalString(error, "message", out var message, out problem, "error.message") || message is null
            || !JsonBody.TryGetOptionalString(error, "code", out var code, out problem, "error.code"))
        {
            Refused(problem ?? "error.message is required");
            return;
        }
        byte[] errorJson;
        try
        {
            errorJson = ProgressJson.ProducerError(message, code, Limits.MaxErrorMessageBytes);
        }
        catch (ArgumentException ex)
        {
            Refused(ex); // 400
            return;
        }
        CheckString(error, "message", message);
        InvariantViolationException.Check(Encoding.UTF8.GetByteCount(message) <= Limits.MaxErrorMessageBytes, "kept an error message over the limit");
        using var kept = ReadBack("error", errorJson);
        var root = kept.RootElement;
        InvariantViolationException.Check(
            root.ValueKind == JsonValueKind.Object && root.GetProperty("message").GetString() == message
            && (code is null ? !root.TryGetProperty("code", out _) : root.GetProperty("code").GetString() == code)
            && root.EnumerateObject().Count() == (code is null ? 1 : 2),
            $"the error {Encoding.UTF8.GetString(errorJson)} is not the message and code sent");
    }

    // BenchmarkApi.StartAsync, then ProcessProducer.StartAsync, whose params are the whole body; BenchmarkApi answers
    // 413 only for an ArgumentException about those params, so any other would be a 500.
    private static void Benchmark(JsonElement body)
    {
        if (!BenchmarkPlan.TryParse(body, out var plan, out string? problem))
        {
            Refused(problem);
            return;
        }
        byte[]? parameters;
        try
        {
            parameters = ProgressJson.Params(body, Limits.MaxParamsBytes);
        }
        catch (ArgumentException ex) when (ex.ParamName == "parameters")
        {
            Refused(ex); // 413
            return;
        }
        InvariantViolationException.Check(plan.TotalSteps is >= 1 and <= BenchmarkPlan.MaxSteps, $"a plan of {plan.TotalSteps} steps");
        InvariantViolationException.Check(plan.Runs is >= 1 and <= 1000 && plan.StepMs is >= 0 and <= 600_000, $"runs {plan.Runs}, step_ms {plan.StepMs}");
        InvariantViolationException.Check(plan.FailAt is null || (plan.FailAt >= 1 && plan.FailAt <= plan.TotalSteps), $"fail_at {plan.FailAt} of {plan.TotalSteps} steps");
        CheckNames(body, "models", plan.Models);
        CheckNames(body, "contexts", plan.Contexts);
        CheckKept("params", parameters, body, Limits.MaxParamsBytes);
    }

    private static void CheckNames(JsonElement body, string name, IReadOnlyList<string> names)
    {
        var sent = body.GetProperty(name).EnumerateArray().Select(item => item.GetString()).ToArray();
        InvariantViolationException.Check(sent.SequenceEqual(names, StringComparer.Ordinal), $"{name} became [{string.Join(", ", names)}]");
        InvariantViolationException.Check(
            names.All(item => !string.IsNullOrWhiteSpace(item) && !FieldLimits.HasMoreCharactersThan(item, FieldLimits.MaxBenchmarkNameLength)),
            $"accepted {name} [{string.Join(", ", names)}]");
    }

    private static JsonElement? Member(JsonElement body, string name) =>
        body.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    private static void CheckString(JsonElement body, string name, string kept) =>
        InvariantViolationException.Check(body.GetProperty(name).GetString() == kept, $"kept {name} '{kept}' where the body says {body.GetProperty(name).GetRawText()}");

    // What the route keeps goes to every tab and into the store as it is: UTF-8 JSON within the limit that reads back
    // as exactly what was sent (none when none was sent).
    private static void CheckKept(string what, byte[]? kept, JsonElement? sent, int maxBytes)
    {
        if (sent is not { } value)
        {
            InvariantViolationException.Check(kept is null, $"kept {what} that was not sent");
            return;
        }
        InvariantViolationException.Check(kept is not null, $"dropped the {what} sent");
        InvariantViolationException.Check(kept!.Length <= maxBytes, $"kept {what} of {kept.Length} bytes, over {maxBytes}");
        using var document = ReadBack(what, kept);
        InvariantViolationException.Check(JsonElement.DeepEquals(document.RootElement, value), $"kept {what} {Encoding.UTF8.GetString(kept)} for {value.GetRawText()}");
    }

    private static JsonDocument ReadBack(string what, byte[] kept)
    {
        InvariantViolationException.Check(Utf8.IsValid(kept), $"kept {what} that is not UTF-8");
        try
        {
            return JsonDocument.Parse(kept, Strict);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            throw new InvariantViolationException($"kept {what} that no strict parser reads: {Encoding.UTF8.GetString(kept)}", ex);
        }
    }

    private static void Refused(string? problem) =>
        InvariantViolationException.Check(!string.IsNullOrEmpty(problem), "a refusal without a problem");

    private static void Refused(ArgumentException refusal) =>
        InvariantViolationException.Check(!string.IsNullOrEmpty(ProblemText.Of(refusal)), "a refusal whose message says nothing");
}
