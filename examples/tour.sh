#!/usr/bin/env bash
# tour.sh [BUILD_DIR] — the troupe demo: runs the examples built in BUILD_DIR
# (default ./build), each under a header line, then a quick benchmark table
# (bench/run.sh all 10: every benchmark at a tenth of its size). Stops with a
# nonzero status at the first example whose check fails.
set -euo pipefail

build=$(cd "${1:-./build}" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)

for example in pingpong counter_race producer_consumer backpressure inbox steps supervision; do
    printf '\n== %s\n' "$example"
    "$build/examples/$example"
done

# The echo server on a free loopback port, under a load of 200 connections.
printf '\n== echo_server + echo_load (200 connections x 100 lines)\n'
out=$(mktemp)
"$build/examples/echo_server" 127.0.0.1 0 >"$out" &
server=$!
trap 'kill -INT $server 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 100); do grep -q listening "$out" && break; sleep 0.05; done
port=$(sed -n 's/.*listening on [^:]*:\([0-9]*\),.*/\1/p' "$out")
cat "$out"
"$build/examples/echo_load" 127.0.0.1 "$port" 200 100
kill -INT $server
wait $server
tail -n 1 "$out"
trap - EXIT
rm -f "$out"

# Distribution: three node processes through a NATS server (when built with
# libnats; test/install-deps.sh installs it and nats-server).
if [ -x "$build/examples/cluster" ] && grep -q "LIBNATS_FOUND:INTERNAL=1" "$build/CMakeCache.txt"; then
    printf '\n== cluster: a token ring and a worker pool over three processes\n'
    "$root/examples/cluster.sh" "$build"
fi

printf '\n== benchmarks: bench/run.sh all 10 (a tenth of full size)\n'
cd "$root"
bench/run.sh all 10 | python3 bench/table.py
