#!/usr/bin/env bash
# ProcessHub's two commands (and a few more):
#   ./run.sh [server options]   build (Release) and run the server on 127.0.0.1:8501
#   ./run.sh test [filter]      install what the tests need, then run the whole suite
#   ./run.sh bench              the fan-out comparison (ProcessHub vs Kestrel, ws, Bun), about 12 minutes
#   ./run.sh bench micro        the BenchmarkDotNet suites
#   ./run.sh bench durable      the sqlite store against the memory store (ingest, latency, fan-out, restart), ~10 minutes
#   ./run.sh bench scaleout     three hubs on one Redis against a lone hub (ingest, latency, fan-out, failover), ~15 minutes
#   ./run.sh fuzz [target] [--minutes N]
#                               coverage-guided fuzzing with afl-fuzz (every target in turn without one)
#   ./run.sh soak --minutes N   the real binary under churn for N minutes, invariants checked all along
#   ./run.sh chaos [--minutes N] [options]
#                               three hubs on one Redis under faults (kill -9, SIGSTOP, Redis restarts) for N minutes
# Run ./run.sh --help for the server's options.
set -euo pipefail
# The server (and its token and watch commands) runs where it was called from, so that a relative --data-dir,
# --jwt-secret-file or --jwt-public-key means what it says there; everything else runs in the repository.
CALLER_DIR=$PWD
cd "$(dirname "$0")"
REPO_DIR=$PWD

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

SERVER_DLL=ProcessHub/bin/Release/net10.0/ProcessHub.dll

# Quiet unless it fails or takes a while: the server's own first line (its URL) should be what a newcomer sees,
# but a first build (restore + compile, half a minute on a small machine) must not look like a hang.
build_server() {
    local log stamp
    if [ ! -f "$SERVER_DLL" ]; then
        echo "run.sh: building ProcessHub (Release) for the first time; this takes about half a minute..." >&2
    elif [ -n "$(find ProcessHub ProcessHub.Client Directory.Build.props Directory.Packages.props .editorconfig \( -name bin -o -name obj \) -prune \
            -o -newer "$SERVER_DLL" -print -quit)" ]; then
        # Directories count too: a file deleted (a script or an asset embedded by pattern) changes only its directory.
        echo "run.sh: sources changed; rebuilding ProcessHub (Release)..." >&2
    else
        # Nothing newer than the binary: skip the few seconds an up-to-date `dotnet build` still takes (watch, token).
        return 0
    fi
    log=$(mktemp)
    # The build's output directories exist before the stamp is taken: created during a first build, they would make
    # their project directories newer than the binary, and the next run would build again for nothing.
    mkdir -p ProcessHub/bin ProcessHub/obj ProcessHub.Client/bin ProcessHub.Client/obj
    stamp=$(mktemp)   # the time the build started: a file saved during it is newer, and builds again next time
    if ! dotnet build ProcessHub/ProcessHub.csproj -c Release -v quiet -nologo -clp:ErrorsOnly >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log" "$stamp"
        exit 1
    fi
    rm -f "$log"
    # Built from what was there at the start: MSBuild leaves the binary's time alone when a change did not alter it
    # (a client-only edit), which would make every later run build again.
    touch -r "$stamp" "$SERVER_DLL"
    rm -f "$stamp"
}

apt_install() {
    local sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    echo "run.sh: installing Debian packages: $*" >&2
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >&2
}

# nginx for the test of docs/scale-out.md's configuration (ScaleOut/NginxFrontTests): Debian's package unpacked into
# artifacts/tools/nginx, not installed, because installing it starts a system service on port 80. Its libraries
# (libc, libssl, libpcre2, zlib) are on every Debian that runs .NET.
install_nginx_unpacked() {
    local target=artifacts/tools/nginx
    if [ -x /usr/sbin/nginx ] || [ -x "$target/usr/sbin/nginx" ]; then return; fi
    echo "run.sh: unpacking Debian's nginx into $target" >&2
    local download
    download=$(mktemp -d)
    local sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq >&2
    (cd "$download" && apt-get download -qq nginx nginx-common) >&2
    mkdir -p "$target"
    for package in "$download"/*.deb; do dpkg-deb -x "$package" "$target"; done
    rm -rf "$download"
}

# Everything the tests need on a fresh machine: Debian's chromium for the browser tests (Playwright's own
# browser download cannot work offline), redis-server for the scale-out tests, Node and the ws package for the
# interop client, tmux for watch in a real terminal.
install_test_dependencies() {
    local missing=()
    if [ ! -x /usr/bin/chromium ]; then missing+=(chromium); fi
    # The scale-out tests start their own Redis (Debian's redis-server) on a free port; none is left running.
    if [ ! -x /usr/bin/redis-server ]; then missing+=(redis-server); fi
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then missing+=(nodejs npm); fi
    # watch's Ctrl+C test runs it in a tmux pane: a real terminal, with the echo of ^C that a pipe does not have.
    if ! command -v tmux >/dev/null 2>&1; then missing+=(tmux); fi
    if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi
    install_nginx_unpacked
    if [ ! -d ProcessHub.Tests/node/node_modules/ws ]; then
        echo "run.sh: installing Node test clients (npm ci)" >&2
        (cd ProcessHub.Tests/node && npm ci --no-audit --no-fund --loglevel=error) >&2
    fi
}

# What the cluster chaos soak needs, installed as for the tests: redis-server (and redis-cli), Node, and the ws
# package from the test clients' node_modules, which the script loads from there.
install_chaos_dependencies() {
    local missing=()
    if [ ! -x /usr/bin/redis-server ]; then missing+=(redis-server); fi
    if ! command -v redis-cli >/dev/null 2>&1; then missing+=(redis-tools); fi
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then missing+=(nodejs npm); fi
    if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi
    if [ ! -d ProcessHub.Tests/node/node_modules/ws ]; then
        echo "run.sh: installing Node test clients (npm ci)" >&2
        (cd ProcessHub.Tests/node && npm ci --no-audit --no-fund --loglevel=error) >&2
    fi
}

# The failed tests again, name and message, just above the count: a CI log is often read from its tail only.
print_failures() {
    echo "failed tests:"
    awk '
        /<UnitTestResult / && /outcome="Failed"/ {
            match($0, /testName="[^"]*"/); name = substr($0, RSTART + 10, RLENGTH - 11)
            print "  " name; failing = 1; next
        }
        /<UnitTestResult / { failing = 0 }
        failing && /<Message>/ { inMessage = 1; lines = 0 }
        failing && inMessage {
            line = $0; gsub(/<\/?Message>/, "", line); gsub(/&quot;/, "\"", line); gsub(/&lt;/, "<", line); gsub(/&gt;/, ">", line); gsub(/&amp;/, "\\&", line)
            if (lines++ < 12) print "    " line
        }
        failing && /<\/Message>/ { inMessage = 0; failing = 0 }
    ' "$1"
}

run_tests() {
    install_test_dependencies
    rm -rf TestResults
    local filter=()
    if [ $# -gt 0 ]; then filter=(--filter "$1"); fi
    local status=0
    dotnet test ProcessHub.Tests/ProcessHub.Tests.csproj -c Release -nologo \
        --logger "trx;LogFileName=results.trx" --logger "console;verbosity=normal" \
        --results-directory TestResults "${filter[@]}" || status=$?
    local trx=TestResults/results.trx
    if [ -f "$trx" ]; then
        local passed failed
        passed=$(grep -o '<Counters [^>]*' "$trx" | grep -o ' passed="[0-9]*"' | grep -o '[0-9]*')
        failed=$(grep -o '<Counters [^>]*' "$trx" | grep -o ' failed="[0-9]*"' | grep -o '[0-9]*')
        if [ "${failed:-0}" != 0 ]; then print_failures "$trx"; fi
        echo "tests: ${passed:-0} passed, ${failed:-0} failed"
    else
        echo "tests: 0 passed, 1 failed"
        status=1
    fi
    return $status
}

# Coverage-guided fuzzing (docs/reliability.md, "Fuzzing"): SharpFuzz instruments a published copy of the code
# under test, afl-fuzz drives ProcessHub.Fuzz with it. Everything lands in artifacts/fuzz (git-ignored); crash and
# hang inputs are copied to ProcessHub.Fuzz/Findings/TARGET, where the test suite replays them as regression tests.
FUZZ_TARGETS=(http-head frame client-message token redis-entry api-body)
FUZZ_ROOT=artifacts/fuzz

# What afl-fuzz's coverage map sees for each target: the component's own types (and, for tokens, the JWT library
# that does the parsing). The harness itself and the runtime stay uninstrumented.
fuzz_instrumented() {
    case "$1" in
        http-head) echo "ProcessHub.dll ProcessHub.Http" ;;
        frame) echo "ProcessHub.dll ProcessHub.WebSockets" ;;
        client-message) echo "ProcessHub.dll ProcessHub.Hub.Messages.ClientMessage" ;;
        token) echo "ProcessHub.dll ProcessHub.Auth"
               echo "Microsoft.IdentityModel.JsonWebTokens.dll"
               echo "Microsoft.IdentityModel.Tokens.dll" ;;
        redis-entry) echo "ProcessHub.dll ProcessHub.Redis.RedisEventMessage ProcessHub.Hub.Processes.EventPayload ProcessHub.Hub.LoneSurrogates" ;;
        api-body) echo "ProcessHub.dll ProcessHub.Api.JsonBody ProcessHub.Hub.LoneSurrogates ProcessHub.Hub.JsonNesting ProcessHub.Hub.Processes.ProgressJson ProcessHub.Runners.BenchmarkPlan" ;;
    esac
}

fuzz_setup() {
    if ! command -v afl-fuzz >/dev/null 2>&1; then apt_install afl++; fi
    dotnet tool restore >/dev/null
    echo "fuzz: publishing ProcessHub.Fuzz" >&2
    rm -rf "$FUZZ_ROOT/publish"
    dotnet publish ProcessHub.Fuzz/ProcessHub.Fuzz.csproj -c Release -o "$FUZZ_ROOT/publish" -v quiet -nologo -clp:ErrorsOnly >&2
}

fuzz_target() {
    local target=$1 minutes=$2
    local dir="$FUZZ_ROOT/$target"
    rm -rf "$dir"
    mkdir -p "$dir"
    cp -r "$FUZZ_ROOT/publish" "$dir/bin"
    local line
    while read -r line; do
        # shellcheck disable=SC2086 # the assembly, then its type prefixes
        set -- $line
        local assembly=$1
        shift
        local log
        log=$(dotnet tool run sharpfuzz "$dir/bin/$assembly" "$@" 2>&1)
        if [ -n "$log" ]; then
            echo "$log" >&2
            echo "fuzz: instrumenting $assembly failed" >&2
            exit 1
        fi
    done < <(fuzz_instrumented "$target")

    echo "fuzz: $target for $minutes minute(s), output in $dir/out" >&2
    # A container has no CPU governor to check and its core_pattern is not ours; dotnet itself is not an AFL binary
    # (SharpFuzz's fork server speaks for it). nice: the machine is shared. -t: a hang is 5 s for one small input.
    AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_SKIP_BIN_CHECK=1 AFL_NO_AFFINITY=1 \
    AFL_NO_UI=1 AFL_QUIET=1 \
        nice -n 19 afl-fuzz -i "ProcessHub.Fuzz/Corpus/$target" -o "$dir/out" -x "ProcessHub.Fuzz/Dictionaries/$target.dict" \
        -t 5000 -m none -V $((minutes * 60)) -- dotnet "$dir/bin/ProcessHub.Fuzz.dll" "$target" >"$dir/afl.log" 2>&1 \
        || { tail -n 40 "$dir/afl.log" >&2; echo "fuzz: afl-fuzz failed for $target" >&2; exit 1; }

    local stats="$dir/out/default/fuzzer_stats"
    fuzz_stat() { grep -E "^$1 *:" "$stats" | sed -E 's/^[^:]*: *//'; }
    local findings="ProcessHub.Fuzz/Findings/$target" copied=()
    local kind file name stamp
    stamp=$(date -u +%Y%m%dT%H%M)
    for kind in crashes hangs; do
        for file in "$dir/out/default/$kind"/id:*; do
            [ -e "$file" ] || continue
            mkdir -p "$findings"
            name="${kind%es}"
            name="${name%s}-$stamp-$(basename "$file" | sed -E 's/^id:([0-9]+).*/\1/')"
            cp "$file" "$findings/$name"
            copied+=("$findings/$name")
        done
    done
    printf 'fuzz: %-15s %5s s  %8s execs  %7s execs/s  corpus %5s (from %s seeds)  edges %5s  crashes %s  hangs %s\n' \
        "$target" "$(fuzz_stat run_time)" "$(fuzz_stat execs_done)" "$(fuzz_stat execs_per_sec)" "$(fuzz_stat corpus_count)" \
        "$(find "ProcessHub.Fuzz/Corpus/$target" -type f | wc -l)" "$(fuzz_stat edges_found)" "$(fuzz_stat saved_crashes)" "$(fuzz_stat saved_hangs)"
    if [ ${#copied[@]} -gt 0 ]; then
        echo "fuzz: findings copied (the test suite replays them): ${copied[*]}"
        timeout 120 dotnet "$FUZZ_ROOT/publish/ProcessHub.Fuzz.dll" "$target" --replay "${copied[@]}" | head -n 60 || true
    fi
}

run_fuzz() {
    local targets=() minutes=10
    while [ $# -gt 0 ]; do
        case "$1" in
            --minutes) minutes=$2; shift 2 ;;
            *) targets+=("$1"); shift ;;
        esac
    done
    if [ ${#targets[@]} -eq 0 ]; then targets=("${FUZZ_TARGETS[@]}"); fi
    local target
    for target in "${targets[@]}"; do
        if [[ ! " ${FUZZ_TARGETS[*]} " =~ " $target " ]]; then
            echo "fuzz: unknown target '$target'; targets: ${FUZZ_TARGETS[*]}" >&2
            exit 2
        fi
    done
    fuzz_setup
    for target in "${targets[@]}"; do
        fuzz_target "$target" "$minutes"
    done
}

case "${1:-}" in
    test)
        shift
        run_tests "$@"
        ;;
    soak)
        shift
        # The soak (ProcessHub.Benchmarks/Soak): builds the hub and the tool, then runs the hub's binary under churn.
        build_server
        log=$(mktemp)
        if ! dotnet build ProcessHub.Benchmarks/ProcessHub.Benchmarks.csproj -c Release -v quiet -nologo -clp:ErrorsOnly >"$log" 2>&1; then
            cat "$log" >&2
            rm -f "$log"
            exit 1
        fi
        rm -f "$log"
        exec dotnet ProcessHub.Benchmarks/bin/Release/net10.0/ProcessHub.Benchmarks.dll soak "$@"
        ;;
    chaos)
        shift
        # The cluster chaos soak (ProcessHub.Benchmarks/Chaos, docs/reliability.md): the Release hub, three of it.
        build_server
        install_chaos_dependencies
        exec node ProcessHub.Benchmarks/Chaos/cluster-chaos.js "$@"
        ;;
    bench)
        shift
        if [ "${1:-}" = micro ]; then
            exec ./ProcessHub.Benchmarks/run-benchmarks.sh "$@"
        fi
        if [ "${1:-}" = durable ]; then
            shift
            exec ./ProcessHub.Benchmarks/run-durable.sh "$@"
        fi
        if [ "${1:-}" = scaleout ]; then
            shift
            exec ./ProcessHub.Benchmarks/run-scaleout.sh "$@"
        fi
        # The fan-out comparison against Kestrel, Node's ws and Bun; rewrites docs/benchmarks.md.
        exec ./ProcessHub.Benchmarks/run-fanout.sh "$@"
        ;;
    fuzz)
        shift
        run_fuzz "$@"
        ;;
    *)
        build_server
        cd "$CALLER_DIR"
        exec dotnet "$REPO_DIR/$SERVER_DLL" "$@"
        ;;
esac
