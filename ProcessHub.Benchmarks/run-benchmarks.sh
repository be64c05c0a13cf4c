#!/usr/bin/env bash
# The benchmarks, called by ./run.sh bench ARGS:
#   ./run.sh bench micro [BenchmarkDotNet options]   every BenchmarkDotNet suite, ShortRun job, memory diagnoser,
#                                                    markdown tables in BenchmarkDotNet.Artifacts/results/
# Extra options go to BenchmarkDotNet, e.g. `--filter '*FrameRead*'` (replaces the default '*') or `--job dry`.
# A short job (3 warm-ups, 3 iterations, 1 launch) keeps the run to a few minutes on a 2-core machine:
# read the numbers as ratios, not as absolute figures.
set -euo pipefail
cd "$(dirname "$0")/.."

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

case "${1:-}" in
    micro)
        shift
        ;;
    *)
        echo "run-benchmarks.sh: the fan-out comparison (./run.sh bench) is not built yet; only './run.sh bench micro' exists" >&2
        exit 2
        ;;
esac

options=("$@")
has_filter=false
has_job=false
for option in "${options[@]}"; do
    case "$option" in
        --filter|-f) has_filter=true ;;
        --job|-j) has_job=true ;;
    esac
done
if [ "$has_filter" = false ]; then options+=(--filter '*'); fi
if [ "$has_job" = false ]; then options+=(--job short); fi

dotnet build ProcessHub.Benchmarks/ProcessHub.Benchmarks.csproj -c Release -nologo -v quiet -clp:ErrorsOnly
# The [MemoryDiagnoser] on every suite adds the Allocated column. BenchmarkDotNet's default exporters write
# BenchmarkDotNet.Artifacts/results/*-report-github.md (the tables docs/benchmarks.md quotes), .csv and .html.
exec dotnet ProcessHub.Benchmarks/bin/Release/net10.0/ProcessHub.Benchmarks.dll \
    --artifacts "$PWD/BenchmarkDotNet.Artifacts" "${options[@]}"
