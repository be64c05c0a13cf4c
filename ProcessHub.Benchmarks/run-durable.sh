#!/usr/bin/env bash
# The durable-store benchmark (issue 10): the sqlite store against the memory store in one invocation. The tool
# starts two real hubs itself (ProcessHub.dll --store memory, and --store sqlite --data-dir <temp>), pinned to
# core 0, and runs pinned to core 1: fan-out at 1,000 and 10,000 subscribers, publish-to-delivery latency at
# 1,000 events/s (also under a background ingest that keeps the checkpointer busy), HTTP ingest, in-process
# ingest, and the restart of a store of 1,000 processes x 1,000 events. About 10 minutes.
#   ./run.sh bench durable             the full run; rewrites the generated tables in docs/benchmarks.md
#   ./run.sh bench durable --quick     a small run (1 run per point, small sizes), docs untouched
#   ./run.sh bench durable [options]   passed to `durable` (see ProcessHub.Benchmarks/Durable/DurableOptions.cs)
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
source ProcessHub.Benchmarks/bench-common.sh

split_quick "$@"

build_hub_and_tool run-durable

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
OUT=artifacts/durable
mkdir -p "$OUT"

machine=$(machine_line)

cores=$(nproc)
pin=()
tool_pin=()
if [ "$cores" -ge 2 ] && command -v taskset >/dev/null 2>&1; then
    pin=(--server-cpus 0)
    tool_pin=(taskset -c 1)
fi

run=("${tool_pin[@]}" env DOTNET_gcServer=0 dotnet ProcessHub.Benchmarks/bin/Release/net10.0/ProcessHub.Benchmarks.dll durable
    "${pin[@]}" --machine "$machine" --other-load "$(others)" --json "$OUT/results.json")
if [ "$quick" = 1 ]; then
    run+=(--command "./run.sh bench durable --quick" --runs 1 --fanout-n 100,1000 --fanout-seconds 1 --warmup-seconds 2
        --warmup-rounds 1 --latency-seconds 2 --ingest-producers 1,16 --ingest-seconds 2 --inproc-producers 1,16
        --inproc-seconds 1 --restart-processes 100 --restart-events 1000 --restart-runs 1 --latency-runs 1 --steady-processes 20)
else
    run+=(--command "./run.sh bench durable" --markdown docs/benchmarks.md)
fi
"${run[@]}" "${args[@]}" | tee "$OUT/tables.md"
