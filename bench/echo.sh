#!/usr/bin/env bash
# The TCP echo benchmark: bench/echo.sh [SERVER...], SERVER one of troupe, go,
# erlang (default: all three, those that can be built). For each server, in
# turn: start it on a free loopback port, read its resident memory (VmRSS in
# /proc/PID/status), open CONNECTIONS connections with echo_load and hold them
# idle, read it again (memory per idle connection), then have echo_load send
# LINES lines on every connection and check every echoed byte (lines/s, p50
# and p99 round trip). Prints progress on stderr, then one ECHO line per
# server and a table on stdout. Exit 1 if any server failed or any run had
# errors.
#
# Environment: CONNECTIONS (10000), LINES per connection (20), LINE_BYTES (32),
# WINDOW (lines in flight per connection, 1), CLIENT_THREADS (echo_load's
# threads, 2), WORKERS (the server's threads: troupe's workers, GOMAXPROCS,
# Erlang schedulers; 2).
#
# The servers: troupe's is examples/echo_server.c, built in a Release tree
# (build-echo/) and run as `echo_server HOST PORT IDLE_MS` (WORKERS in its
# environment). Its idle timer stays on, as shipped, but at TROUPE_IDLE_MS
# (600000: 10 minutes) it cannot fire while the connections are held idle; Go
# and Erlang's servers have no such timer. Theirs are
# bench/peers/go/echo_server.go and bench/peers/erlang/echo_server.erl. Logs
# go to build-echo/echo-logs/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-echo
logs=$build/echo-logs
conns=${CONNECTIONS:-10000}
lines=${LINES:-20}
bytes=${LINE_BYTES:-32}
window=${WINDOW:-1}
cthreads=${CLIENT_THREADS:-2}
export WORKERS=${WORKERS:-2}
troupe_idle_ms=${TROUPE_IDLE_MS:-600000}
say() { echo "echo.sh: $*" >&2; }

servers=("$@")
[ ${#servers[@]} -gt 0 ] || servers=(troupe go erlang)
for s in "${servers[@]}"; do
  case $s in troupe | go | erlang) ;; *) say "unknown server '$s' (troupe, go or erlang)"; exit 2 ;; esac
done

# Every connection is a file descriptor in the server and another in echo_load
# (two processes, so each needs CONNECTIONS plus a few of its own). The soft
# limit is usually 1,024; anyone may raise it to the hard limit, which is what
# this does (the servers inherit it). Only root raises the hard limit: as root,
# `ulimit -Hn 65536` in the shell that runs this script, `nofile` in
# /etc/security/limits.conf (then log in again), LimitNOFILE= for a systemd
# service, `docker run --ulimit nofile=65536:65536` for a container.
need=$((conns + 64))
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$need" ]; then
  say "$conns connections need 'ulimit -n' of at least $need, but the hard limit is $hard."
  say "raise it as root (ulimit -Hn $need, or nofile in /etc/security/limits.conf), or set CONNECTIONS lower"
  exit 1
fi
if [ "$hard" = unlimited ]; then ulimit -n "$need"; else ulimit -n "$hard"; fi

# Build: echo_load (needed), troupe's echo_server (skipped if it will not build).
mkdir -p "$logs"
say "building (Release) in $build"
load=$build/examples/echo_load
if ! { cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DTROUPE_BUILD_TESTS=OFF \
  -DTROUPE_BUILD_BENCH=OFF && cmake --build "$build" -j2 --target echo_load; } >"$logs/build.log" 2>&1; then
  # echo_load uses no troupe call: a library that does not build now need not stop the peers.
  say "the library did not build (see $logs/build.log); building echo_load alone"
  load=$build/echo_load_alone
  cc -std=c11 -O2 -pthread "$root/examples/echo_load.c" -o "$load"
fi
want=()
for s in "${servers[@]}"; do
  case $s in
  troupe)
    if [ ! -f "$root/examples/echo_server.c" ]; then
      say "troupe: examples/echo_server.c does not exist yet (it comes with the runtime's TCP support): skipping troupe"
      continue
    elif ! cmake --build "$build" -j2 --target echo_server >"$logs/build-troupe.log" 2>&1; then
      say "troupe: examples/echo_server did not build (see $logs/build-troupe.log): skipping troupe"
      continue
    fi ;;
  go)
    if ! command -v go >/dev/null || ! "$root/bench/peers/go/echo_build.sh" "$build/echo_server_go" >"$logs/build-go.log" 2>&1; then
      say "go: no Go toolchain, or the server did not build (see $logs/build-go.log): skipping go"
      continue
    fi ;;
  erlang)
    if ! command -v erlc >/dev/null || ! erlc -o "$build" "$root/bench/peers/erlang/echo_server.erl" >"$logs/build-erlang.log" 2>&1; then
      say "erlang: no Erlang/OTP, or the server did not build (see $logs/build-erlang.log): skipping erlang"
      continue
    fi ;;
  esac
  want+=("$s")
done
[ ${#want[@]} -gt 0 ] || { say "no server to run"; exit 1; }

# shellcheck source=bench/ports.sh
source "$root/bench/ports.sh"
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
settled_rss_kb() { # PID: VmRSS once two reads half a second apart agree within 256 kB (5 s at most)
  local a b
  b=$(rss_kb "$1")
  for _ in $(seq 10); do
    sleep 0.5
    a=$b b=$(rss_kb "$1")
    [ $((a > b ? a - b : b - a)) -lt 256 ] && break
  done
  echo "$b"
}
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }' || echo 0; } # utime + stime
hz=$(getconf CLK_TCK)
nfds() { { ls "/proc/$1/fd" 2>/dev/null || true; } | wc -l; }

spid='' lpid=''
# shellcheck disable=SC2317 # cleanup is called by the trap
cleanup() {
  for p in $lpid $spid; do kill "$p" 2>/dev/null || true; done
  for p in $lpid $spid; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rows=() status=0
fmt='%-8s %11s %10s %10s %10s %9s %9s %8s %12s %7s'
# shellcheck disable=SC2059 # the format is $fmt
row() { rows+=("$(printf "$fmt" "$@")"); }
for s in "${want[@]}"; do
  port=$(free_port) || { say "no free port"; exit 1; }
  case $s in
  troupe) cmd=("$build/examples/echo_server" 127.0.0.1 "$port" "$troupe_idle_ms") ;;
  go) cmd=(env GOMAXPROCS="$WORKERS" "$build/echo_server_go" 127.0.0.1 "$port") ;;
  erlang) cmd=(env ECHO_BEAM_DIR="$build" "$root/bench/peers/erlang/echo_run.sh" 127.0.0.1 "$port") ;;
  esac
  say "$s: starting on 127.0.0.1:$port (workers=$WORKERS)"
  "${cmd[@]}" >"$logs/$s.server.log" 2>&1 &
  spid=$! # each of the commands above execs its way to the server process itself
  if ! listening "$spid" "$port"; then
    say "$s: server did not start listening (see $logs/$s.server.log)"
    row "$s" "-" "-" "-" "-" "-" "-" "-" "-" "failed"
    status=1
    kill "$spid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
    spid=
    continue
  fi
  rss0=$(settled_rss_kb "$spid") fd0=$(nfds "$spid")

  # Connect everything and hold it idle; echo_load starts sending on SIGUSR1.
  "$load" -t "$cthreads" -w "$window" -i 300 127.0.0.1 "$port" "$conns" "$lines" "$bytes" \
    >"$logs/$s.load.out" 2>"$logs/$s.load.err" &
  lpid=$!
  connected=''
  while [ -z "$connected" ] && kill -0 "$lpid" 2>/dev/null; do
    sleep 0.1
    connected=$(sed -n 's/^echo_load: connected \([0-9]*\) of .*idle.*/\1/p' "$logs/$s.load.err")
  done
  connected=${connected:-0}
  # The server has a descriptor per connection once it has accepted it: wait
  # for all of them (up to 60 s), then for its memory to settle.
  for _ in $(seq 600); do
    [ $(($(nfds "$spid") - fd0)) -ge "$connected" ] && break
    sleep 0.1
  done
  accepted=$(($(nfds "$spid") - fd0))
  rss1=$(settled_rss_kb "$spid")
  per_conn=-
  [ "$connected" -gt 0 ] && per_conn=$(((rss1 - rss0) * 1024 / connected))
  say "$s: $connected connected, $accepted accepted; RSS ${rss0} kB before, ${rss1} kB with them idle ($per_conn B each)"

  # The server's CPU time over the send phase, per line: steadier than the
  # rate on a machine shared with other work.
  cpu0=$(cpu_ticks "$spid")
  kill -USR1 "$lpid"
  rc=0
  wait "$lpid" || rc=$?
  lpid=
  cpu1=$(cpu_ticks "$spid")
  cat "$logs/$s.load.err" >&2
  echo_line=$(grep '^ECHO ' "$logs/$s.load.out" || true)
  field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$echo_line"; }
  if [ -z "$echo_line" ]; then
    say "$s: echo_load failed (exit $rc) without a result"
    row "$s" "$conns" "-" "-" "-" "$((rss0 / 1024))" "$((rss1 / 1024))" "$per_conn" "-" "failed"
    status=1
  else
    [ "$rc" -eq 0 ] || status=1
    n=$(field lines)
    cpu_line=-
    [ "$n" -gt 0 ] && cpu_line=$(awk -v t=$((cpu1 - cpu0)) -v hz="$hz" -v n="$n" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
    echo "${echo_line/ECHO /ECHO server=$s } workers=$WORKERS rss_base_kb=$rss0 rss_idle_kb=$rss1 rss_per_idle_conn_b=$per_conn server_cpu_us_per_line=$cpu_line"
    row "$s" "$(field conns)" "$(field rate)" "$(field p50_us)" "$(field p99_us)" \
      "$((rss0 / 1024))" "$((rss1 / 1024))" "$per_conn" "$cpu_line" "$(field errors)"
  fi
  kill "$spid" 2>/dev/null || true
  wait "$spid" 2>/dev/null || true
  spid=
done

echo
echo "$conns connections x $lines lines of $bytes bytes, window $window, $cthreads client threads, $WORKERS server threads"
# shellcheck disable=SC2059
printf "$fmt\n" server connections lines/s p50_us p99_us base_MiB idle_MiB B/conn cpu_us/line errors
printf '%s\n' "${rows[@]}"
exit $status
