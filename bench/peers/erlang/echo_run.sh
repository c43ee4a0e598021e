#!/usr/bin/env bash
# Build (if needed) and run the Erlang echo server: bench/peers/erlang/echo_run.sh HOST PORT
# WORKERS (default 2) sets the number of schedulers, as for the other peers. The .beam goes to
# ECHO_BEAM_DIR (default build-echo/ at the repository root, where bench/echo.sh puts it).
# exec, so the caller's $! is the emulator itself (its /proc/PID/status is the server's).
set -euo pipefail
dir=$(cd "$(dirname "$0")" && pwd)
out=${ECHO_BEAM_DIR:-$dir/../../../build-echo}
mkdir -p "$out"
[ "$out/echo_server.beam" -nt "$dir/echo_server.erl" ] || erlc -o "$out" "$dir/echo_server.erl"
w=${WORKERS:-2}
exec erl +S "$w:$w" -noshell -pa "$out" -run echo_server start "$@"
