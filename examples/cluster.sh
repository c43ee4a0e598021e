#!/usr/bin/env bash
# cluster.sh [BUILD_DIR] — the distribution demo (examples/cluster.c): starts
# nats-server (NATS_SERVER, or the one in PATH or /usr/sbin) with JetStream on
# a free loopback port, then
#   1. the ring: three processes, the token goes round 100 times;
#   2. the pool: three processes; once a quarter of the jobs are done, the
#      third process is killed with kill -9, and the coordinator must finish
#      every job on the survivors.
# Exit status 0 only if everything completed: every process that was not
# killed exits 0, the ring counted every hop, the pool finished and checked
# every job after reassigning the dead node's. Cleans up what it started.
# No process runs for ever: each gives up by itself (60 s for the ring, 120 s
# for the pool) and exits nonzero.
set -euo pipefail

build=$(cd "${1:-./build}" && pwd)
bin=$build/examples/cluster
[ -x "$bin" ] || { echo "cluster.sh: no $bin (build the examples first)" >&2; exit 2; }

nats=${NATS_SERVER:-$(command -v nats-server || true)}
for d in /usr/sbin /usr/local/bin /usr/bin; do
    [ -n "$nats" ] && break
    [ -x "$d/nats-server" ] && nats=$d/nats-server
done
if [ -z "$nats" ]; then
    echo "cluster.sh: nats-server not found (install it, or set NATS_SERVER)" >&2
    exit 2
fi

tmp=$(mktemp -d)
started=()
cleanup() {
    for p in "${started[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

# A free port: the server picks one (-p -1) and says which in its log.
"$nats" -a 127.0.0.1 -p -1 -js -sd "$tmp/js" >"$tmp/nats.log" 2>&1 &
started+=($!)
port=
for _ in $(seq 250); do
    port=$(sed -n 's/.*Listening for client connections on [^:]*:\([0-9]*\).*/\1/p' "$tmp/nats.log")
    [ -n "$port" ] && break
    sleep 0.02
done
if [ -z "$port" ]; then
    echo "cluster.sh: nats-server did not start:" >&2
    cat "$tmp/nats.log" >&2
    exit 1
fi
url=nats://127.0.0.1:$port
echo "nats-server on $url"
fail=0

# Waits for pid; its exit status must be $2.
expect_exit() {
    local pid=$1 want=$2 what=$3 st=0
    wait "$pid" || st=$?
    if [ "$st" -ne "$want" ]; then
        echo "cluster.sh: $what exited with $st, expected $want" >&2
        fail=1
    fi
}

printf '\n== ring: 12 actors in 3 processes, the token goes round 100 times\n'
ring=()
for i in 1 2 0; do
    "$bin" ring "$url" "$i" 100 >"$tmp/ring$i.log" 2>&1 &
    ring[$i]=$!
    started+=($!)
done
for i in 0 1 2; do expect_exit "${ring[$i]}" 0 "ring process $i"; done
cat "$tmp/ring1.log" "$tmp/ring2.log" "$tmp/ring0.log"
grep -q "hops (expected" "$tmp/ring0.log" || { echo "cluster.sh: the ring did not finish" >&2; fail=1; }

printf '\n== pool: 6 workers in 3 processes; process 2 is killed (kill -9) a quarter of the way in\n'
pool=()
for i in 1 2; do
    "$bin" pool "$url" "$i" >"$tmp/pool$i.log" 2>&1 &
    pool[$i]=$!
    started+=($!)
done
"$bin" pool "$url" 0 240 --expect-down >"$tmp/pool0.log" 2>&1 &
pool[0]=$!
started+=($!)
killed=0
for _ in $(seq 3000); do
    if grep -q "kill a node now" "$tmp/pool0.log"; then
        kill -9 "${pool[2]}"
        killed=1
        echo "cluster.sh: killed pool process 2 (pid ${pool[2]})"
        break
    fi
    kill -0 "${pool[0]}" 2>/dev/null || break
    sleep 0.01
done
[ "$killed" = 1 ] || { echo "cluster.sh: the coordinator never asked for the kill" >&2; fail=1; }
expect_exit "${pool[0]}" 0 "pool process 0 (the coordinator)"
expect_exit "${pool[1]}" 0 "pool process 1"
expect_exit "${pool[2]}" 137 "pool process 2 (killed)"
cat "$tmp/pool1.log" "$tmp/pool2.log" "$tmp/pool0.log"
grep -q "every result right" "$tmp/pool0.log" || { echo "cluster.sh: the pool did not finish" >&2; fail=1; }

if [ "$fail" = 0 ]; then
    printf '\ncluster.sh: everything completed\n'
else
    printf '\ncluster.sh: FAILED\n' >&2
fi
exit "$fail"
