#!/usr/bin/env bash
# Runs every peer's `run.sh all` ROUNDS times (default 3), the peers in turn
# within a round, and prints their BENCH lines on stdout:
#   bench/peers/run-all.sh [ROUNDS] [scale-divisor]
# WORKERS (default 2) reaches each peer. A peer that fails or runs past 900 s
# is reported on stderr and the rest go on; the exit status is then 1.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rounds=${1:-3}
status=0
for r in $(seq "$rounds"); do
  for peer in go erlang caf tokio; do
    echo "peers: round $r/$rounds, $peer" >&2
    timeout 900 "$here/$peer/run.sh" all "${2:-1}" || { echo "peers: $peer failed (exit $?)" >&2; status=1; }
  done
done
exit $status
