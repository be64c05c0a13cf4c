#!/usr/bin/env bash
# Two ProcessHub builds (or two settings of one build) side by side in one load-tool run: the same servers' setup as
# the fan-out comparison (run-fanout.sh: pinned to core 0, the load tool to core 1, the same lifted limits, each on
# the default sqlite store in a fresh data directory), alternating within each run. For before/after tables.
#   ProcessHub.Benchmarks/run-compare.sh REV_A REV_B [load run options...]
# REV is a git revision, built in a temporary worktree, or "." for the working tree as it is. Per side, A_ARGS / B_ARGS
# add server options (A_ARGS="--store memory") and A_ENV / B_ENV environment (B_ENV="DOTNET_TieredPGO=0");
# WITH_BUN=1 adds Bun as a third server. Example, the pipelining A/B of issue 15:
#   ProcessHub.Benchmarks/run-compare.sh f426148 . --scenarios throughput --throughput-n 1,100,1000,10000 --runs 3 --throughput-seconds 1.5
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
if [ $# -lt 2 ]; then
    sed -n '2,10p' "$0" >&2
    exit 2
fi
rev_a=$1; rev_b=$2; shift 2
SECRET="compare-benchmark-secret-0123456789-abcdefghij"
OUT=artifacts/compare
rm -rf "$OUT"; git worktree prune; mkdir -p "$OUT"

build_rev() { # REV DIR -> prints the server dll
    local rev=$1 dir=$2
    if [ "$rev" = "." ]; then
        dotnet build ProcessHub/ProcessHub.csproj -c Release -v quiet -nologo -clp:ErrorsOnly >&2
        echo "ProcessHub/bin/Release/net10.0/ProcessHub.dll"
    else
        git worktree add --detach -q "$dir" "$rev" >&2
        dotnet build "$dir/ProcessHub/ProcessHub.csproj" -c Release -v quiet -nologo -clp:ErrorsOnly >&2
        echo "$dir/ProcessHub/bin/Release/net10.0/ProcessHub.dll"
    fi
}
worktrees=()
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    for wt in "${worktrees[@]}"; do git worktree remove --force "$wt" 2>/dev/null || true; done
}
trap cleanup EXIT
[ "$rev_a" != "." ] && worktrees+=("$PWD/$OUT/a")
[ "$rev_b" != "." ] && worktrees+=("$PWD/$OUT/b")
dll_a=$(build_rev "$rev_a" "$PWD/$OUT/a")
dll_b=$(build_rev "$rev_b" "$PWD/$OUT/b")
dotnet build ProcessHub.Benchmarks/ProcessHub.Benchmarks.csproj -c Release -v quiet -nologo -clp:ErrorsOnly >&2

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
dotnet_env=(env DOTNET_PROCESSOR_COUNT=1 DOTNET_gcServer=0 DOTNET_gcConcurrent=1 DOTNET_TieredPGO=1)
limits=(--ping-interval 0 --jwt-secret "$SECRET" --max-connections 60000 --max-connections-per-user 100000 --rate-limit 100000
    --api-rate-limit 1000000 --outbound-limit-bytes 268435456 --stall-limit 600 --no-dev)
wait_port() {
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "run-compare: nothing listens on $1" >&2
    exit 1
}
# shellcheck disable=SC2086 # A_ENV/B_ENV/A_ARGS/B_ARGS are word lists on purpose
taskset -c 0 "${dotnet_env[@]}" ${A_ENV:-} dotnet "$dll_a" --port 9701 --data-dir "$OUT/data-a" "${limits[@]}" ${A_ARGS:-} >"$OUT/a.log" 2>&1 &
pid_a=$!; pids+=("$pid_a")
# shellcheck disable=SC2086
taskset -c 0 "${dotnet_env[@]}" ${B_ENV:-} dotnet "$dll_b" --port 9702 --data-dir "$OUT/data-b" "${limits[@]}" ${B_ARGS:-} >"$OUT/b.log" 2>&1 &
pid_b=$!; pids+=("$pid_b")
servers=(--server "A=processhub:9701:$pid_a" --server "B=processhub:9702:$pid_b")
wait_port 9701; wait_port 9702
if [ "${WITH_BUN:-0}" = 1 ]; then
    bun=ProcessHub.Benchmarks/Peers/node/node_modules/.bin/bun
    [ -x "$bun" ] || (cd ProcessHub.Benchmarks/Peers/node && npm ci --no-audit --no-fund --loglevel=error) >&2
    taskset -c 0 "$bun" ProcessHub.Benchmarks/Peers/node/bun-server.js 9704 >"$OUT/bun.log" 2>&1 &
    pid_bun=$!; pids+=("$pid_bun")
    servers+=(--server "bun=peer:9704:$pid_bun")
    wait_port 9704
fi
echo "run-compare: A = $rev_a ${A_ENV:-} ${A_ARGS:-}; B = $rev_b ${B_ENV:-} ${B_ARGS:-}" >&2
taskset -c 1 env DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 DOTNET_gcServer=0 \
    dotnet ProcessHub.Benchmarks/bin/Release/net10.0/ProcessHub.Benchmarks.dll load run "${servers[@]}" --secret "$SECRET" \
    --command "ProcessHub.Benchmarks/run-compare.sh $rev_a $rev_b $*" "$@"
