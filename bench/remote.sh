#!/usr/bin/env bash
# The remote benchmarks of the distribution issue: bench/remote.sh [scale-divisor]
#
#   remote_pingpong  R = 100,000 round trips between an actor on one node and
#                    one on another (n = 2R messages; p50_us, p99_us per round trip)
#   remote_counting  10 senders on one node each send 100,000 integers to one
#                    counter on another, then ask it for its count and sum
#
# Each is run as two processes on this machine, a server and a client, both
# with WORKERS scheduler threads (default 2): troupe's bench/remote_*.c as two
# nodes of cluster "bench" through one nats-server (NATS_SERVER, or the one in
# PATH or /usr/sbin; JetStream, loopback, a free port, a temporary store), and
# Erlang's bench/peers/erlang/remote_bench.erl as two nodes of distributed
# Erlang on loopback (+S WORKERS:WORKERS each, a private epmd on a free port,
# a random cookie). ROUNDS rounds (default 3),
# interleaved: troupe's two, then Erlang's two. BENCH lines (with p50_us,
# p99_us and server_rss_kb, the server's peak RSS) go to stdout, progress and
# a summary of medians to stderr; every process gets REMOTE_TIMEOUT seconds
# (default 300). Exit 1 if any run failed. An impl that cannot run (no
# nats-server, a library that does not build or link yet, no Erlang) is
# skipped with a note.
#
#   bench/remote.sh 10 | bench/table.py      # a quick run, as a table
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build-bench"
divisor=${1:-1}
rounds=${ROUNDS:-3}
limit=${REMOTE_TIMEOUT:-300}
export WORKERS=${WORKERS:-2}
benches=(remote_pingpong remote_counting)
say() { echo "remote.sh: $*" >&2; }
[[ $divisor =~ ^[1-9][0-9]*$ ]] || { say "usage: bench/remote.sh [scale-divisor >= 1]"; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/troupe-remote.XXXXXX")
nats_pid='' epmd_pid='' spid=''
# shellcheck disable=SC2317 # cleanup is called by the trap
cleanup() {
  for p in $spid $nats_pid $epmd_pid; do kill "$p" 2>/dev/null || true; done
  for p in $spid $nats_pid $epmd_pid; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=bench/ports.sh
source "$root/bench/ports.sh"

# ---- troupe: build, and one nats-server for all its runs ----
impls=()
nats=${NATS_SERVER:-$(command -v nats-server || true)}
for d in /usr/sbin /usr/local/bin /usr/bin; do
  [ -n "$nats" ] && break
  [ -x "$d/nats-server" ] && nats=$d/nats-server
done
say "building (Release) in $build"
mkdir -p "$build"
if [ -z "$nats" ] || [ ! -x "$nats" ]; then
  say "troupe: no nats-server${nats:+ at $nats} (Debian: apt-get install nats-server, or set NATS_SERVER): skipping troupe"
elif ! { cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DTROUPE_BUILD_TESTS=OFF \
  -DTROUPE_BUILD_EXAMPLES=OFF && cmake --build "$build" -j2 --target "${benches[@]/#/bench_}"; } \
  >"$build/remote-build.log" 2>&1; then
  say "troupe: the benchmarks did not build (see $build/remote-build.log): skipping troupe"
else
  port=$(free_port) || { say "no free port"; exit 1; }
  "$nats" -js -a 127.0.0.1 -p "$port" -sd "$tmp/jetstream" >"$tmp/nats.log" 2>&1 &
  nats_pid=$!
  for _ in $(seq 100); do
    grep -q 'Server is ready' "$tmp/nats.log" && break
    kill -0 "$nats_pid" 2>/dev/null || break
    sleep 0.1
  done
  if grep -q 'Server is ready' "$tmp/nats.log" && listening "$nats_pid" "$port"; then
    url="nats://127.0.0.1:$port"
    say "troupe: nats-server $("$nats" --version | sed 's/.*v//') at $url"
    impls+=(troupe)
  else
    say "troupe: nats-server did not start: skipping troupe"
    tail -n 20 "$tmp/nats.log" >&2
  fi
fi

# ---- erlang: compile, and a private epmd (never one a user runs) ----
if ! command -v erl >/dev/null || ! command -v erlc >/dev/null || ! command -v epmd >/dev/null; then
  say "erlang: no Erlang/OTP (erl, erlc, epmd): skipping erlang"
elif ! { mkdir -p "$tmp/ebin" && erlc -o "$tmp/ebin" "$root/bench/peers/erlang/remote_bench.erl"; } >&2; then
  say "erlang: remote_bench.erl did not compile: skipping erlang"
else
  eport=$(free_port) || { say "no free port"; exit 1; }
  epmd -port "$eport" >"$tmp/epmd.log" 2>&1 &
  epmd_pid=$!
  if listening "$epmd_pid" "$eport"; then
    cookie="rb$RANDOM$RANDOM$RANDOM"
    impls+=(erlang)
  else
    say "erlang: epmd did not start on port $eport: skipping erlang"
  fi
fi
[ ${#impls[@]} -gt 0 ] || { say "nothing to run"; exit 1; }

# An Erlang node on loopback: add -name and -run remote_bench main ARGS.
erl_base=(erl +S "$WORKERS:$WORKERS" -noshell -setcookie "${cookie:-}" -start_epmd false
  -kernel inet_dist_use_interface '{127,0,0,1}' -pa "$tmp/ebin")
[ -z "${eport:-}" ] || export ERL_EPMD_PORT=$eport ERL_CRASH_DUMP=$tmp/erl_crash.dump

# One run: the server in the background, the client in the foreground; the
# server ends by itself once the client has told it to (or has gone), else it
# is killed after 10 s. Returns nonzero if either failed.
run_pair() { # IMPL NAME ROUND
  local impl=$1 name=$2 round=$3 slog="$tmp/$1.$2.$3.server.log" rc=0 src=0
  local srv cli
  case $impl in
  troupe)
    srv=("$build/bench/bench_$name" serve "$url")
    cli=("$build/bench/bench_$name" run "$url" "$divisor") ;;
  erlang)
    local node="rb$$_${round}_${name#remote_}" what=${name#remote_}
    srv=("${erl_base[@]}" -name "${node}_srv@127.0.0.1" -run remote_bench main serve "$what")
    cli=(env REMOTE_BENCH_SERVER="${node}_srv@127.0.0.1" "${erl_base[@]}" -name "${node}_cli@127.0.0.1"
      -run remote_bench main run "$what" "$divisor") ;;
  esac
  say "$impl: $name round $round (workers=$WORKERS, divisor=$divisor)"
  timeout "$limit" "${srv[@]}" >"$slog" 2>&1 &
  spid=$!
  timeout "$limit" "${cli[@]}" | tee -a "$tmp/bench.txt" || rc=$?
  for _ in $(seq 100); do
    kill -0 "$spid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$spid" 2>/dev/null; then
    say "$impl: $name: the server did not exit after its client: killing it"
    kill "$spid" 2>/dev/null || true
  fi
  wait "$spid" || src=$?
  spid=
  if [ "$rc" -ne 0 ] || [ "$src" -ne 0 ]; then
    say "$impl: $name round $round failed (client exit $rc, server exit $src); the server's log:"
    tail -n 20 "$slog" >&2
    return 1
  fi
}

status=0
for round in $(seq "$rounds"); do
  for impl in "${impls[@]}"; do
    for name in "${benches[@]}"; do
      run_pair "$impl" "$name" "$round" || status=1
    done
  done
done

# The summary: medians over the rounds whose check was ok.
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
say "medians of $rounds rounds (workers=$WORKERS, divisor=$divisor):"
printf '%-16s %-7s %5s %12s %9s %9s %12s %12s\n' name impl ok rate p50_us p99_us rss_kb server_rss_kb >&2
for name in "${benches[@]}"; do
  for impl in "${impls[@]}"; do
    lines=$(grep "^BENCH name=$name impl=$impl .*check=ok" "$tmp/bench.txt" || true)
    ok=$(grep -c . <<<"$lines" || true)
    [ -n "$lines" ] || ok=0
    printf '%-16s %-7s %5s %12s %9s %9s %12s %12s\n' "$name" "$impl" "$ok/$rounds" \
      "$(field rate <<<"$lines" | median)" "$(field p50_us <<<"$lines" | median)" \
      "$(field p99_us <<<"$lines" | median)" "$(field rss_kb <<<"$lines" | median)" \
      "$(field server_rss_kb <<<"$lines" | median)" >&2
  done
done
exit $status
