namespace ProcessHub.Benchmarks.Soak;

/// <summary>
/// A worker on the HTTP producer API: starts a process for one of the users, reports progress a random number of
/// times, then completes, fails or cancels it. Each acknowledged end goes into the <see cref="Ledger"/> with the seq
/// the hub must have given it (1 for the start, one more per accepted report).
/// </summary>
internal sealed class Producer
{
    private readonly SoakContext _context;
    private readonly string[] _users;
    private readonly Random _random;
    private readonly string _detail;
    private readonly int _maxSteps;
    private readonly int _maxPauseMs;

    /// <param name="detailBytes">Size of each progress report's detail (the noisy producer sends almost 4 KiB).</param>
    public Producer(SoakContext context, string[] users, int seed, int detailBytes = 16, int maxSteps = 20, int maxPauseMs = 40)
    {
        _context = context;
        _users = users;
        _random = new Random(seed);
        _detail = new string('d', detailBytes);
        _maxSteps = maxSteps;
        _maxPauseMs = maxPauseMs;
    }

    public async Task RunAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await RunOneAsync(stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (HttpRequestException ex)
            {
                _context.Violations.Add($"producer: the hub's API failed: {ex.Message}");
                await Task.Delay(500, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    private async Task RunOneAsync(CancellationToken stop)
    {
        string user = _users[_random.Next(_users.Length)];
        string token = _context.Token(user);
        int steps = _random.Next(1, _maxSteps + 1);
        var (status, body) = await _context.SendAsync(HttpMethod.Post, "/api/processes", token, new { process_type = "soak", total = steps, @params = new { seed = _context.Seed, steps } }, stop).ConfigureAwait(false);
        if (status != 201)
        {
            _context.Violations.Tally($"producer: create answered {status}");
            if (status is not (429 or 503))
            {
                _context.Violations.Add($"producer: create answered {status}: {body}");
            }
            await Task.Delay(200, stop).ConfigureAwait(false);
            return;
        }
        string id = body.GetProperty("process_id").GetString()!;
        _context.Ledger.CountStart();
        _context.MarkRunning(id, user);
        long seq = 1;
        try
        {
            for (int step = 1; step <= steps; step++)
            {
                var (progressStatus, progressBody) = await SendWithRetryAsync($"/api/processes/{id}/progress", token, new { current = step, total = steps, detail = _detail }, stop).ConfigureAwait(false);
                if (progressStatus != 200)
                {
                    _context.Violations.Add($"producer: progress of {id} answered {progressStatus}: {progressBody}");
                    return;
                }
                seq++;
                if (_maxPauseMs > 0)
                {
                    await Task.Delay(_random.Next(_maxPauseMs), stop).ConfigureAwait(false);
                }
            }
            // Ended even when the soak is stopping, so that no process is left running and unchecked.
            int pick = _random.Next(100);
            var (path, payload, terminal) = pick switch
            {
                < 70 => ($"/api/processes/{id}/complete", (object)new { result = new { score = _random.NextDouble() } }, "process_completed"),
                < 85 => ($"/api/processes/{id}/fail", new { error = new { message = "soak failure", code = "soak" } }, "process_failed"),
                _ => ($"/api/processes/{id}/cancel", new { }, "process_cancelled"),
            };
            var (endStatus, endBody) = await SendWithRetryAsync(path, token, payload, CancellationToken.None).ConfigureAwait(false);
            if (endStatus != 200)
            {
                _context.Violations.Add($"producer: ending {id} answered {endStatus}: {endBody}");
                return;
            }
            seq++;
            _context.Ledger.RecordEnd(new EndedProcess(id, user, terminal, seq, _context.Now));
            _context.Violations.Tally($"processes {terminal["process_".Length..]}");
        }
        finally
        {
            _context.MarkEnded(id);
        }
    }

    // The API's per-user budget (429) may refuse a report under load; it is retried as a worker would.
    private async Task<(int Status, System.Text.Json.JsonElement Body)> SendWithRetryAsync(string path, string token, object body, CancellationToken stop)
    {
        while (true)
        {
            var answer = await _context.SendAsync(HttpMethod.Post, path, token, body, stop).ConfigureAwait(false);
            if (answer.Status != 429)
            {
                return answer;
            }
            _context.Violations.Tally("producer: report answered 429 (retried)");
            await Task.Delay(100, stop).ConfigureAwait(false);
        }
    }
}
