#!/usr/bin/env bash
# troupe's benchmark runner (bench/README.md says what each line does and the
# BENCH line it prints): bench/run.sh NAME|all [scale-divisor]
# Builds a Release tree (build-bench/) if needed, runs each benchmark with
# WORKERS scheduler threads (default 2) and a 600 s limit, prints the BENCH
# lines on stdout and progress on stderr. A benchmark is bench/NAME.c; `all`
# runs those of the list below (in its order) whose file exists, and the
# arguments and the loop are bench/runner.sh's, as for the peers.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build-bench"
who=bench
known=(pingpong counting ring skynet spawn_mem fanout_backpressure restart fanout_fj broker many_to_many timers)
present=() # bench/scaling.sh reads the known=(...) line above
for n in "${known[@]}"; do [ ! -f "$root/bench/$n.c" ] || present+=("$n"); done
known=("${present[@]}")
. "$root/bench/runner.sh" "$@"
export WORKERS=${WORKERS:-2}
echo "bench: building (Release) in $build" >&2
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DTROUPE_BUILD_TESTS=OFF \
  -DTROUPE_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" -j2 --target "${names[@]/#/bench_}" >/dev/null
run_one() { timeout 600 "$build/bench/bench_$1" "$2"; }
run_each run_one "workers=$WORKERS"
