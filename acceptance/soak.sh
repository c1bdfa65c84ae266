#!/usr/bin/env bash
# soak.sh runs plugctl test against the correct starters (a polled source,
# a callback source, a sink) over and over while busy loops keep every core
# loaded, and counts the runs in which any check failed. A check whose
# verdict depends on timing shows up here as a flake long before a user
# meets it. It takes long, so CI does not run it.
#
#   acceptance/soak.sh [RUNS]     # default 300 runs of each starter
#   LOAD=4 acceptance/soak.sh 50  # 4 busy loops instead of one per core
#
# Exit status 1 when any run failed; the failing reports are kept in the
# directory it prints.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-300}
load=${LOAD:-$(nproc)}
work=$(mktemp -d -t plugctl-soak-XXXXXX)
busy=()
cleanup() {
	for pid in "${busy[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT

go build -o "$work/plugctl" .
declare -A flags=([source]="source" [callback]="source --shape callback" [sink]="sink")
for name in source callback sink; do
	# shellcheck disable=SC2086 # the flags are words
	(cd "$work" && ./plugctl new ${flags[$name]} "soak-$name" >/dev/null)
	(cd "$work/soak-$name" && go build -o "$work/bin-$name" .)
done

for _ in $(seq "$load"); do
	(while :; do :; done) &
	busy+=($!)
done
echo "soak: $runs runs of each starter under $load busy loops; reports in $work"

failed=0
for i in $(seq "$runs"); do
	for name in source callback sink; do
		out="$work/run-$i-$name.jsonl"
		start=$EPOCHREALTIME
		# --exec runs the plugin where plugctl test runs: in the scratch
		# directory, so that what a sink writes stays out of the checkout.
		if (cd "$work" && ./plugctl test --exec "$work/bin-$name" --manifest "$work/soak-$name/plugin.toml" --json) >"$out" 2>&1; then
			rm "$out"
		else
			failed=$((failed + 1))
			echo "run $i $name FAILED: $(grep -o '"name":"[^"]*","status":"fail"' "$out" | cut -d'"' -f4 | tr '\n' ' ')"
		fi
		awk -v i="$i" -v n="$name" -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN {printf "run %d %s %.2f\n", i, n, b - a}' >>"$work/times"
	done
done

echo "soak: $failed of $((runs * 3)) runs failed"
sort -t' ' -k4 -n "$work/times" | awk '{t[NR]=$4} END {printf "soak: suite time min %s, median %s, max %s\n", t[1], t[int((NR+1)/2)], t[NR]}'
if [ "$failed" -eq 0 ]; then
	rm -rf "$work"
else
	exit 1
fi
