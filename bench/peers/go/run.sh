#!/usr/bin/env bash
# The Go peer: pingpong, counting, ring, skynet, spawn_mem and
# fanout_backpressure (the core lines) and fanout_fj, broker and many_to_many
# (the scaling lines), run like bench/run.sh:
#   bench/peers/go/run.sh NAME|all [scale-divisor]
# Builds (standard library only, offline) into bench/out/go-peer if a source
# is newer, then runs each with GOMAXPROCS=$WORKERS (default 2), printing one
# BENCH line (impl=go) per benchmark on stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
who=go-peer
known=(pingpong counting ring skynet spawn_mem fanout_backpressure fanout_fj broker many_to_many)
. "$here/../../runner.sh" "$@"
bin="$root/bench/out/go-peer"
export GOMAXPROCS=${WORKERS:-2} GOPROXY=off GOFLAGS=-mod=mod
export GOCACHE=${GOCACHE:-/tmp/troupe-bench-gocache}
command -v go >/dev/null || { echo "go-peer: go is not installed (apt-get install golang-go)" >&2; exit 2; }
if [ ! -x "$bin" ] || [ -n "$(find "$here" -name '*.go' -newer "$bin")" ] || [ "$here/go.mod" -nt "$bin" ]; then
  echo "go-peer: building $bin" >&2
  mkdir -p "$(dirname "$bin")"
  (cd "$here" && go build -o "$bin" .)
fi
run_one() { timeout 600 "$bin" "$1" "$2"; }
run_each run_one "GOMAXPROCS=$GOMAXPROCS"
