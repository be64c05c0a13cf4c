#!/usr/bin/env bash
# The scale-out benchmark (issue 11): three hubs on one Redis against a lone hub, in one invocation. The tool starts
# a redis-server itself (appendonly yes, appendfsync always, save "", in a temporary directory, on a free port) and
# five real hubs (ProcessHub.dll): three with --redis on it (the cluster), one with --redis and a key prefix of its
# own (a lone hub on Redis), one with --store memory (a lone hub). Ingest through the engine (appendfsync always and
# everysec), publish-to-delivery latency across hubs at 1,000 events/s (10 and 100 subscribers on each hub), fan-out
# per hub (1,000 and 5,000 subscribers on each hub, 10,000 on one), and the failover of 1,000 tabs from a hub killed
# with SIGKILL. Nothing is pinned (see docs/benchmarks.md, "Scale-out on Redis", for why). About 15 minutes.
#   ./run.sh bench scaleout             the full run; rewrites the generated tables in docs/benchmarks.md
#   ./run.sh bench scaleout --quick     a small run (1 run per point, small sizes), docs untouched
#   ./run.sh bench scaleout [options]   passed to `scaleout` (see ProcessHub.Benchmarks/ScaleOut/ScaleOutOptions.cs)
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
source ProcessHub.Benchmarks/bench-common.sh

split_quick "$@"

if [ ! -x /usr/bin/redis-server ]; then
    echo "run-scaleout: /usr/bin/redis-server is missing (Debian: apt-get install redis-server; ./run.sh test installs it)" >&2
    exit 1
fi

build_hub_and_tool run-scaleout

# 3 x 5,000 subscribers live in the tool's process: it needs every descriptor it may have.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
OUT=artifacts/scaleout
mkdir -p "$OUT"

machine=$(machine_line "$(/usr/bin/redis-server --version | sed -E 's/.*v=([^ ]+).*/Redis \1/')")

placement="Nothing is pinned: the five hubs (each sees both cores), Redis and the tool share the machine's $(nproc) cores under the kernel's scheduler"
# The hubs' logs are kept (in $OUT/work, with Redis's files removed after the run): a failover that ends hub_lost
# sooner than a lease can only be explained from them.
rm -rf "$OUT/work"
run=(env DOTNET_gcServer=0 dotnet ProcessHub.Benchmarks/bin/Release/net10.0/ProcessHub.Benchmarks.dll scaleout
    --machine "$machine" --placement "$placement" --other-load "$(others)" --json "$OUT/results.json"
    --work-dir "$PWD/$OUT/work" --keep)
if [ "$quick" = 1 ]; then
    run+=(--command "./run.sh bench scaleout --quick" --runs 1 --latency-runs 1 --failover-runs 1 --warmup-seconds 2 --warmup-rounds 1
        --ingest-producers 3,24 --ingest-seconds 2 --latency-seconds 2 --fanout-each 300 --fanout-one 1000 --fanout-seconds 1 --failover-tabs 200)
else
    run+=(--command "./run.sh bench scaleout" --markdown docs/benchmarks.md)
fi
"${run[@]}" "${args[@]}" | tee "$OUT/tables.md"
rm -rf "$OUT/work/redis"
