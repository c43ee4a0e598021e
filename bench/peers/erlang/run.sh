#!/usr/bin/env bash
# The Erlang/OTP peer of troupe's benchmarks (bench/README.md says what each
# does), run like bench/run.sh:
#   bench/peers/erlang/run.sh NAME|all [scale-divisor]
# Compiles bench_peer.erl and bench_restart.erl with erlc into
# bench/out/erlang-peer/ when a source is newer than its .beam, then runs each
# benchmark in its own emulator with WORKERS (default 2) schedulers, printing
# one BENCH line (impl=erlang) per benchmark on stdout and progress on stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
who=erlang-peer
known=(pingpong counting ring skynet spawn_mem fanout_backpressure fanout_fj broker many_to_many restart)
. "$here/../../runner.sh" "$@"
workers=${WORKERS:-2}
out="$root/bench/out/erlang-peer"
command -v erlc >/dev/null ||
  { echo "erlang-peer: erlc is not installed (apt-get install erlang-base erlang-dev)" >&2; exit 2; }
mkdir -p "$out"
for mod in bench_peer bench_restart; do
  if [ ! -f "$out/$mod.beam" ] || [ "$here/$mod.erl" -nt "$out/$mod.beam" ]; then
    echo "erlang-peer: compiling $mod.erl into $out" >&2
    erlc -o "$out" "$here/$mod.erl"
  fi
done
run_one() {
  timeout 600 erl +S "$workers:$workers" +P 5000000 -noshell -pa "$out" -run bench_peer main "$1" "$2"
}
run_each run_one "+S $workers:$workers"
