#!/usr/bin/env bash
# The fan-out comparison benchmark: ProcessHub against Kestrel + ASP.NET Core WebSockets, Node's ws
# and Bun's server.publish, in one invocation, servers pinned to core 0 and the load tool to core 1.
#   ProcessHub.Benchmarks/run-fanout.sh            the full run; rewrites the tables in docs/benchmarks.md
#   ProcessHub.Benchmarks/run-fanout.sh --quick    a small run (1 run per point, small N), docs untouched
#   ProcessHub.Benchmarks/run-fanout.sh [load run options...]   passed to `load run` (see Load/BenchOptions.cs)
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
source ProcessHub.Benchmarks/bench-common.sh

SERVER_CORE=0
CLIENT_CORE=1
SECRET="fanout-benchmark-secret-0123456789-abcdefghij"
PEERS=ProcessHub.Benchmarks/Peers
OUT=artifacts/fanout
mkdir -p "$OUT"

split_quick "$@"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "run-fanout: installing Node (Debian packages nodejs npm)" >&2
    sudo_cmd=""; if [ "$(id -u)" != 0 ]; then sudo_cmd="sudo"; fi
    $sudo_cmd apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends nodejs npm >&2
fi
if [ ! -x "$PEERS/node/node_modules/.bin/bun" ] || [ ! -d "$PEERS/node/node_modules/ws" ]; then
    echo "run-fanout: installing the ws and bun npm packages (npm ci)" >&2
    (cd "$PEERS/node" && npm ci --no-audit --no-fund --loglevel=error) >&2
fi

# dotnet-gcdump (a NuGet tool, installed beside the build): it induces a full GC in ProcessHub, which has no GC
# endpoint, and reports its live heap, for the idle-memory scenario.
GCDUMP=artifacts/tools/dotnet-gcdump
if [ ! -x "$GCDUMP" ]; then
    echo "run-fanout: installing dotnet-gcdump (dotnet tool install)" >&2
    dotnet tool install dotnet-gcdump --version 10.0.750501 --tool-path artifacts/tools >&2 || echo "run-fanout: no dotnet-gcdump; ProcessHub's idle memory is measured without a GC" >&2
fi

build_hub_and_tool run-fanout
dotnet build "$PEERS/kestrel/KestrelPeer.csproj" -c Release -v quiet -nologo -clp:ErrorsOnly >&2

# Open files for the servers and the load tool (10,000 storm clients on each side, more where the hard limit
# allows 50,000): the soft limit raised to the hard one, at least 20,000. The tool reports a storm point that
# does not fit as not run.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 20000 2>/dev/null || true
# Where 50,000 does not fit, also the largest storm that does: 1,000 under the limit, in whole thousands.
storm_n=10000,50000
open_files=$(ulimit -n)
if [ "$open_files" != unlimited ] && [ "$open_files" -lt 50300 ]; then
    largest=$(( (open_files - 1000) / 1000 * 1000 ))
    if [ "$largest" -gt 10000 ]; then storm_n=10000,$largest,50000; fi
fi
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

# Both .NET servers: one core, workstation concurrent GC (the repo's default, stated again so it cannot drift).
dotnet_env=(env DOTNET_PROCESSOR_COUNT=1 DOTNET_gcServer=0 DOTNET_gcConcurrent=1 DOTNET_TieredPGO=1)
start() { # name port command...
    local name=$1 port=$2; shift 2
    # A port already served would be shared silently (ProcessHub's listener sets ReuseAddress, which .NET maps to
    # SO_REUSEPORT on Linux), and the benchmark would talk to two servers at once.
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "run-fanout: port $port is already in use; stop whatever serves it first" >&2
        exit 1
    fi
    taskset -c "$SERVER_CORE" "$@" >"$OUT/$name.log" 2>&1 &
    pids+=($!)
    eval "pid_$name=$!"
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "run-fanout: $name did not start; its log:" >&2
    cat "$OUT/$name.log" >&2
    exit 1
}
# ProcessHub as users run it: the default store (sqlite; no --store given), in a data directory of its own that
# starts empty every run. Lifted limits (each named in docs/benchmarks.md): the connection limits (a storm is
# tens of thousands of one user's connections), the client and API rate limits (the publisher is one user),
# the slow-consumer limits (a burst queues far more than a browser would), and pings off.
rm -rf "$OUT/processhub-data"
start processhub 9501 "${dotnet_env[@]}" dotnet ProcessHub/bin/Release/net10.0/ProcessHub.dll --port 9501 --ping-interval 0 \
    --data-dir "$OUT/processhub-data" \
    --jwt-secret "$SECRET" --max-connections 60000 --max-connections-per-user 100000 --rate-limit 100000 \
    --api-rate-limit 1000000 --outbound-limit-bytes 268435456 --stall-limit 600 --no-dev
start kestrel 9502 "${dotnet_env[@]}" dotnet "$PEERS/kestrel/bin/Release/net10.0/KestrelPeer.dll" 9502
start ws 9503 node --expose-gc "$PEERS/node/ws-server.js" 9503
start bun 9504 "$PEERS/node/node_modules/.bin/bun" "$PEERS/node/bun-server.js" 9504
start raw 9500 "${dotnet_env[@]}" dotnet ProcessHub.Benchmarks/bin/Release/net10.0/ProcessHub.Benchmarks.dll load raw-server --port 9500

machine=$(machine_line "Node $(node --version), Bun $("$PEERS/node/node_modules/.bin/bun" --version), ws $(node -p "require('./$PEERS/node/node_modules/ws/package.json').version")")

run=(taskset -c "$CLIENT_CORE" env DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 DOTNET_gcServer=0
    dotnet ProcessHub.Benchmarks/bin/Release/net10.0/ProcessHub.Benchmarks.dll load run
    --server "processhub=processhub:9501:$pid_processhub" --server "kestrel=peer:9502:$pid_kestrel"
    --server "ws=peer:9503:$pid_ws" --server "bun=peer:9504:$pid_bun" --raw "9500:$pid_raw"
    --secret "$SECRET" --gcdump "$GCDUMP" --json "$OUT/results.json" --machine "$machine")
if [ "$quick" = 1 ]; then
    run+=(--command "ProcessHub.Benchmarks/run-fanout.sh --quick" --runs 1 --final-runs 1 --throughput-n 1,100,1000
        --idle-n 1000 --final-events 1000 --throughput-seconds 1 --latency-seconds 1.5
        --warmup-seconds 2 --rate-runs 1 --rate-seconds 2 --storm-runs 1 --storm-n 2000,50000 --storm-users 100)
else
    run+=(--command "./run.sh bench" --markdown docs/benchmarks.md --throughput-seconds 1.5 --latency-seconds 2 --final-timeout 60
        --rate-runs 3 --rate-seconds 4 --storm-runs 3 --storm-n "$storm_n")
fi
"${run[@]}" "${args[@]}" | tee "$OUT/tables.md"
