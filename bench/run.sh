#!/usr/bin/env bash
# Runs plugctl's throughput and latency benchmarks and prints the Markdown
# table. Works from a clean checkout: go test builds the plugins itself.
#
#   bench/run.sh              # 5 runs of every benchmark (10 to 13 minutes)
#   COUNT=10 bench/run.sh     # more runs
#
# The raw go test output is kept in bench/bench.out (ignored by git), for
# benchstat: go run golang.org/x/perf/cmd/benchstat@latest bench/bench.out
set -euo pipefail
cd "$(dirname "$0")"

count=${COUNT:-5}
# Latency (plugctl and its floors) and idle cost first, in a process of
# their own: after minutes of saturating both cores the latency tail grows
# (p99 0.1 ms on a quiet machine, 0.3 to 2.5 ms right after the ceilings),
# which says more about the machine than about plugctl.
latency="go test -run '^\$' -bench '^Benchmark(Latency|Idle)\$' -benchtime 3s -count $count"
throughput="go test -run '^\$' -bench '^Benchmark(Throughput|Ceiling)\$' -count $count"
sink="go test -run '^\$' -bench '^BenchmarkSink\$' -count $count"
cmd="$latency; $throughput; $sink"

go build ./... # the plugins and benchtable compile before anything is measured
load_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
{ eval "$latency" && eval "$throughput" && eval "$sink"; } | tee bench.out
load_after=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
echo
go run ./cmd/benchtable -cmd "cd bench && $cmd" < bench.out
echo
echo "Load average (1, 5, 15 min) before: $load_before; after: $load_after."
