#!/usr/bin/env bash
# tour.sh [BUILD_DIR] — the troupe demo: runs the examples built in BUILD_DIR
# (default ./build), each under a header line, then a quick benchmark table
# (bench/run.sh all 10: every benchmark at a tenth of its size). Stops with a
# nonzero status at the first example whose check fails.
set -euo pipefail

build=$(cd "${1:-./build}" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)

for example in pingpong counter_race producer_consumer backpressure inbox supervision; do
    printf '\n== %s\n' "$example"
    "$build/examples/$example"
done

printf '\n== benchmarks: bench/run.sh all 10 (a tenth of full size)\n'
cd "$root"
table=$root/../shared/bench/table.py
if [ -f "$table" ]; then
    bench/run.sh all 10 | python3 "$table"
else
    bench/run.sh all 10 | grep '^BENCH '
fi
