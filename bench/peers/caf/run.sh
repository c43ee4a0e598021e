#!/usr/bin/env bash
# The CAF (0.17) peer of troupe's benchmarks (bench/README.md says what each
# does), run like bench/run.sh:
#   bench/peers/caf/run.sh NAME|all [divisor]
# Builds peer.cpp (Debian's libcaf-dev) into bench/out/caf-peer if the source
# is newer, then runs each benchmark with WORKERS (default 2) scheduler threads
# (scheduler.max-threads), printing one BENCH line (impl=caf) per benchmark on
# stdout and progress on stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
who=caf-peer
known=(pingpong counting ring skynet spawn_mem fanout_backpressure fanout_fj broker many_to_many)
. "$here/../../runner.sh" "$@"
export WORKERS=${WORKERS:-2}
bin="$root/bench/out/caf-peer"
[ -f /usr/include/caf/all.hpp ] || { echo "caf-peer: CAF is not installed (apt-get install libcaf-dev)" >&2; exit 2; }
if [ ! -x "$bin" ] || [ "$here/peer.cpp" -nt "$bin" ]; then
  echo "caf-peer: building $bin" >&2
  mkdir -p "$(dirname "$bin")"
  g++ -O2 -std=c++17 -o "$bin.tmp" "$here/peer.cpp" -lcaf_core -pthread
  mv "$bin.tmp" "$bin"
fi
run_one() { timeout 600 "$bin" "$1" "$2"; }
run_each run_one "WORKERS=$WORKERS"
