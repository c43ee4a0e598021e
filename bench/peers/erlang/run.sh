#!/usr/bin/env bash
# The Erlang/OTP peer of troupe's benchmarks (bench/README.md says what each does), run like bench/run.sh:
#   bench/peers/erlang/run.sh NAME|all [scale-divisor]
# Compiles bench_peer.erl and bench_restart.erl with erlc into bench/out/erlang-peer/ when a
# source is newer than its .beam, then runs each benchmark in its own emulator with WORKERS
# (default 2) schedulers, printing one BENCH line (impl=erlang) per benchmark on stdout and
# progress on stderr. An unknown NAME exits 2; a failed benchmark (check=FAIL, a crash, or
# the 600 s limit) makes the script exit 1 after the others have run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out="$root/bench/out/erlang-peer"
known=(pingpong counting ring skynet spawn_mem fanout_backpressure fanout_fj broker many_to_many restart)
which=${1:-all}
divisor=${2:-1}
workers=${WORKERS:-2}
[[ $divisor =~ ^[0-9]+$ ]] && [ "$divisor" -ge 1 ] ||
  { echo "erlang-peer: scale divisor must be an integer >= 1: $divisor" >&2; exit 2; }
names=("${known[@]}")
if [ "$which" != all ]; then
  case " ${known[*]} " in
    *" $which "*) names=("$which") ;;
    *) echo "erlang-peer: unknown benchmark: $which (have: ${known[*]})" >&2; exit 2 ;;
  esac
fi
command -v erlc >/dev/null ||
  { echo "erlang-peer: erlc is not installed (apt-get install erlang-nox erlang-dev)" >&2; exit 2; }
mkdir -p "$out"
for mod in bench_peer bench_restart; do
  if [ ! -f "$out/$mod.beam" ] || [ "$here/$mod.erl" -nt "$out/$mod.beam" ]; then
    echo "erlang-peer: compiling $mod.erl into $out" >&2
    erlc -o "$out" "$here/$mod.erl"
  fi
done
status=0
for n in "${names[@]}"; do
  echo "erlang-peer: $n (+S $workers:$workers, divisor=$divisor)" >&2
  if [ "$n" = restart ]; then run=(bench_restart main "$divisor"); else run=(bench_peer main "$n" "$divisor"); fi
  timeout 600 erl +S "$workers:$workers" +P 5000000 -noshell -pa "$out" -run "${run[@]}" ||
    { echo "erlang-peer: $n failed (exit $?)" >&2; status=1; }
done
exit $status
