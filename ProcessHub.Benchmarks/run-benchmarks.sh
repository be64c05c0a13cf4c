#!/usr/bin/env bash
# The benchmarks, called by ./run.sh bench ARGS:
#   ./run.sh bench micro [BenchmarkDotNet options]   every BenchmarkDotNet suite, a short job, memory diagnoser,
#                                                    markdown tables in BenchmarkDotNet.Artifacts/results/
# Extra options go to BenchmarkDotNet, e.g. `--filter '*FrameRead*'` (replaces the default '*') or `--job dry`
# (replaces the default job).
# The default job is ShortRun's shape (1 launch, 3 warm-ups) with 10 iterations of 250 ms instead of 3 of 500 ms:
# about as quick (2-3 minutes on 2 cores), but with 3 iterations the 99.9% error bar is ~30 standard deviations
# wide, with 10 it is ~5. On a shared machine read the numbers as ratios, not as absolute figures.
set -euo pipefail
cd "$(dirname "$0")/.."

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

case "${1:-}" in
    micro)
        shift
        ;;
    *)
        echo "run-benchmarks.sh: usage: run-benchmarks.sh micro [BenchmarkDotNet options]; the fan-out comparison is ./run.sh bench" >&2
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
if [ "$has_job" = false ]; then
    options+=(--launchCount 1 --warmupCount 3 --iterationCount 10 --iterationTime 250)
fi

dotnet build ProcessHub.Benchmarks/ProcessHub.Benchmarks.csproj -c Release -nologo -v quiet -clp:ErrorsOnly
# The [MemoryDiagnoser] on every suite adds the Allocated column. BenchmarkDotNet's default exporters write
# BenchmarkDotNet.Artifacts/results/*-report-github.md (the tables docs/benchmarks.md quotes), .csv and .html.
exec dotnet ProcessHub.Benchmarks/bin/Release/net10.0/ProcessHub.Benchmarks.dll \
    --artifacts "$PWD/BenchmarkDotNet.Artifacts" "${options[@]}"
