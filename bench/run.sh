#!/usr/bin/env bash
# Runs plugctl's throughput and latency benchmarks and prints the Markdown
# table. Works from a clean checkout: go test builds the plugins itself.
#
#   bench/run.sh              # 5 rounds of every benchmark (10 to 13 minutes)
#   COUNT=10 bench/run.sh     # more rounds
#
# Each round runs every benchmark of a group once (go test -count 1), so a
# plugctl row and its baselines and ceilings are measured minutes apart at
# most: this machine's speed moves by half within minutes, and -count 5
# would measure five plugctl runs in one phase and the ceiling's in another.
#
# The raw go test output is kept in bench/bench.out (ignored by git), for
# benchstat: go run golang.org/x/perf/cmd/benchstat@latest bench/bench.out
set -euo pipefail
cd "$(dirname "$0")"

count=${COUNT:-5}
# Latency (plugctl and its floors) and idle cost first: after minutes of
# saturating both cores the latency tail grows (p99 0.1 ms on a quiet
# machine, 0.3 to 2.5 ms right after the ceilings), which says more about
# the machine than about plugctl.
latency="go test -run '^\$' -bench '^Benchmark(Latency|Idle)\$' -benchtime 3s -count 1"
throughput="go test -run '^\$' -bench '^Benchmark(Throughput|Ceiling)\$' -count 1"
sink="go test -run '^\$' -bench '^BenchmarkSink\$' -count 1"
cmd="for i in \$(seq $count); do $latency; done; for i in \$(seq $count); do $throughput; done; for i in \$(seq $count); do $sink; done"

rounds() { # rounds CMD: CMD count times
	for _ in $(seq "$count"); do eval "$1" || return; done
}

go build ./... # the plugins and benchtable compile before anything is measured
load_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
{ rounds "$latency" && rounds "$throughput" && rounds "$sink"; } | tee bench.out
load_after=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
echo
go run ./cmd/benchtable -cmd "cd bench && $cmd" < bench.out
echo
echo "Load average (1, 5, 15 min) before: $load_before; after: $load_after."
