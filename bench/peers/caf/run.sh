#!/usr/bin/env bash
# The CAF (0.17) peer of troupe's benchmarks (bench/README.md says what each does), run like bench/run.sh:
#   bench/peers/caf/run.sh NAME|all [divisor]
# Builds peer.cpp (Debian's libcaf-dev) into bench/out/caf-peer if the source
# is newer, then runs each benchmark with WORKERS (default 2) scheduler threads
# (scheduler.max-threads), printing one BENCH line (impl=caf) per benchmark on
# stdout and progress on stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
bin="$root/bench/out/caf-peer"
known=(pingpong counting ring skynet spawn_mem fanout_backpressure fanout_fj broker many_to_many)
which=${1:-all}
divisor=${2:-1}
export WORKERS=${WORKERS:-2}
names=("${known[@]}")
if [ "$which" != all ]; then
  case " ${known[*]} " in
    *" $which "*) names=("$which") ;;
    *) echo "caf-peer: unknown benchmark: $which (have: ${known[*]})" >&2; exit 2 ;;
  esac
fi
[ -f /usr/include/caf/all.hpp ] || { echo "caf-peer: CAF is not installed (apt-get install libcaf-dev)" >&2; exit 2; }
if [ ! -x "$bin" ] || [ "$here/peer.cpp" -nt "$bin" ]; then
  echo "caf-peer: building $bin" >&2
  mkdir -p "$(dirname "$bin")"
  g++ -O2 -std=c++17 -o "$bin.tmp" "$here/peer.cpp" -lcaf_core -pthread
  mv "$bin.tmp" "$bin"
fi
status=0
for n in "${names[@]}"; do
  echo "caf-peer: $n (WORKERS=$WORKERS, divisor=$divisor)" >&2
  timeout 600 "$bin" "$n" "$divisor" || { echo "caf-peer: $n failed (exit $?)" >&2; status=1; }
done
exit $status
