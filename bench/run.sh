#!/usr/bin/env bash
# troupe's benchmark runner (bench/README.md says what each line does and the
# BENCH line it prints): bench/run.sh NAME|all [scale-divisor]
# Builds a Release tree (build-bench/) if needed, runs each benchmark with
# WORKERS scheduler threads (default 2) and a 600 s limit, prints the BENCH
# lines on stdout and progress on stderr. A benchmark is bench/NAME.c; `all`
# runs those of the list below (in its order) whose file exists.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build-bench"
known=(pingpong counting ring skynet spawn_mem fanout_backpressure restart fanout_fj broker many_to_many timers)
which=${1:-all}
divisor=${2:-1}
export WORKERS=${WORKERS:-2}
names=()
for n in "${known[@]}"; do
  [ -f "$root/bench/$n.c" ] && names+=("$n")
done
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
  timeout 600 "$build/bench/bench_$n" "$divisor" || { echo "bench: $n failed (exit $?)" >&2; status=1; }
done
exit $status
