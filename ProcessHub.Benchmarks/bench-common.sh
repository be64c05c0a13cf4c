# What the benchmark scripts (run-fanout.sh, run-durable.sh, run-scaleout.sh) share; each sources this file from the
# repository root after its `cd`. Not run by itself.

# split_quick ARG...: quick=1 when --quick is among the arguments; every other argument into args, for the tool.
split_quick() {
    quick=0
    args=()
    local a
    for a in "$@"; do
        if [ "$a" = "--quick" ]; then quick=1; else args+=("$a"); fi
    done
}

# build_hub_and_tool NAME: the hub and the benchmark tool, Release, errors only (NAME prefixes the progress line).
build_hub_and_tool() {
    echo "$1: building (Release)" >&2
    dotnet build ProcessHub/ProcessHub.csproj -c Release -v quiet -nologo -clp:ErrorsOnly >&2
    dotnet build ProcessHub.Benchmarks/ProcessHub.Benchmarks.csproj -c Release -v quiet -nologo -clp:ErrorsOnly >&2
}

# machine_line [MORE]: the reports' "Machine: ..." sentence: cores, CPU model, memory, kernel, .NET, then MORE (e.g.
# the peers' or Redis's versions).
machine_line() {
    local cpu
    cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
    echo "Machine: $(nproc) cores ($cpu), $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -sr), .NET $(dotnet --version)${1:+, $1}."
}

# What else used the CPU when the run started (a shared machine): the busiest processes over 2 s (% of one core),
# each as its program and its first argument (for dotnet, the .dll it runs), e.g. ".../testhost.dll (35%)".
others() {
    top -b -n 2 -d 2 -w 512 -c 2>/dev/null | awk '
        /^top -/ { block++ } block == 2 && $1 ~ /^[0-9]+$/ && $9 + 0 >= 5 && n < 8 {
            arg = $13; for (i = 13; i <= NF; i++) if ($i ~ /\.dll$/ && $(i - 1) !~ /^--/) { arg = $i; break }
            cmd = $12 " " arg; if (length(cmd) > 100) cmd = "..." substr(cmd, length(cmd) - 96)
            printf "%s%s (%d%%)", sep, cmd, $9; sep = ", "; n++ }'
}
