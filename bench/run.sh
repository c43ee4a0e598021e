#!/usr/bin/env bash
# The benchmark runner of ../shared/bench/SPEC.md: bench/run.sh NAME|all [scale-divisor]
# Builds a Release tree (build-bench/) if needed, runs each benchmark with
# WORKERS scheduler threads (default 2), prints the BENCH lines on stdout and
# progress on stderr. A benchmark is bench/NAME.c; the list is in run order.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build-bench"
names=(pingpong counting ring skynet spawn_mem)
which=${1:-all}
divisor=${2:-1}
export WORKERS=${WORKERS:-2}
if [ "$which" != all ]; then
  [ -f "$root/bench/$which.c" ] || { echo "unknown benchmark: $which (have: ${names[*]})" >&2; exit 2; }
  names=("$which")
fi
echo "bench: building (Release) in $build" >&2
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DTROUPE_BUILD_TESTS=OFF \
  -DTROUPE_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" -j2 --target "${names[@]/#/bench_}" >/dev/null
status=0
for n in "${names[@]}"; do
  echo "bench: $n (workers=$WORKERS, divisor=$divisor)" >&2
  "$build/bench/bench_$n" "$divisor" || status=1
done
exit $status
