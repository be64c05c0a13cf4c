#!/usr/bin/env bash
# ProcessHub's two commands (and a few more):
#   ./run.sh [server options]   build (Release) and run the server on 127.0.0.1:8501
#   ./run.sh test [filter]      install what the tests need, then run the whole suite
#   ./run.sh bench              the fan-out comparison (ProcessHub vs Kestrel, ws, Bun), about 12 minutes
#   ./run.sh bench micro        the BenchmarkDotNet suites
# Run ./run.sh --help for the server's options.
set -euo pipefail
cd "$(dirname "$0")"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

SERVER_DLL=ProcessHub/bin/Release/net10.0/ProcessHub.dll

# Quiet unless it fails or takes a while: the server's own first line (its URL) should be what a newcomer sees,
# but a first build (restore + compile, half a minute on a small machine) must not look like a hang.
build_server() {
    local log
    if [ ! -f "$SERVER_DLL" ]; then
        echo "run.sh: building ProcessHub (Release) for the first time; this takes about half a minute..." >&2
    elif [ -n "$(find ProcessHub Directory.Build.props Directory.Packages.props -newer "$SERVER_DLL" -type f \
            -not -path '*/bin/*' -not -path '*/obj/*' -print -quit)" ]; then
        echo "run.sh: sources changed; rebuilding ProcessHub (Release)..." >&2
    fi
    log=$(mktemp)
    if ! dotnet build ProcessHub/ProcessHub.csproj -c Release -v quiet -nologo -clp:ErrorsOnly >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        exit 1
    fi
    rm -f "$log"
}

apt_install() {
    local sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    echo "run.sh: installing Debian packages: $*" >&2
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >&2
}

# Everything the tests need on a fresh machine: Debian's chromium for the browser tests (Playwright's own
# browser download cannot work offline), Node and the ws package for the interop client.
install_test_dependencies() {
    local missing=()
    if [ ! -x /usr/bin/chromium ]; then missing+=(chromium); fi
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then missing+=(nodejs npm); fi
    if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi
    if [ ! -d ProcessHub.Tests/node/node_modules/ws ]; then
        echo "run.sh: installing Node test clients (npm ci)" >&2
        (cd ProcessHub.Tests/node && npm ci --no-audit --no-fund --loglevel=error) >&2
    fi
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
        echo "tests: ${passed:-0} passed, ${failed:-0} failed"
    else
        echo "tests: 0 passed, 1 failed"
        status=1
    fi
    return $status
}

case "${1:-}" in
    test)
        shift
        run_tests "$@"
        ;;
    bench)
        shift
        if [ "${1:-}" = micro ]; then
            exec ./ProcessHub.Benchmarks/run-benchmarks.sh "$@"
        fi
        # The fan-out comparison against Kestrel, Node's ws and Bun; rewrites docs/benchmarks.md.
        exec ./ProcessHub.Benchmarks/run-fanout.sh "$@"
        ;;
    *)
        build_server
        exec dotnet "$SERVER_DLL" "$@"
        ;;
esac
