#!/usr/bin/env bash
# Runs plugctl's throughput and latency benchmarks and prints the Markdown
# table. Works from a clean checkout: go test builds the plugins itself.
#
#   bench/run.sh              # 5 runs of every benchmark (about 4 minutes)
#   COUNT=10 bench/run.sh     # more runs
#
# The raw go test output is kept in bench/bench.out (ignored by git) for
# benchstat: go run golang.org/x/perf/cmd/benchstat@latest bench/bench.out
set -euo pipefail
cd "$(dirname "$0")"

count=${COUNT:-5}
cmd="go test -run '^\$' -bench . -count $count"

go build ./...           # the plugins and benchtable compile before anything runs
eval "$cmd" | tee bench.out
echo
go run ./cmd/benchtable -cmd "cd bench && $cmd" < bench.out
