#!/usr/bin/env bash
# The Tokio versions of troupe's benchmarks, run like bench/run.sh:
#   bench/peers/tokio/run.sh NAME|all [scale-divisor]
# Builds (release, offline from Debian's crate sources: .cargo/config.toml)
# into bench/out/tokio-target if src/main.rs or Cargo.toml is newer than the
# binary, then runs each benchmark in its own process with WORKERS Tokio
# worker threads (default 2), printing one BENCH line (impl=tokio) each.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
who=tokio-peer
known=(pingpong counting ring skynet spawn_mem fanout_backpressure fanout_fj broker many_to_many)
. "$here/../../runner.sh" "$@"
export CARGO_TARGET_DIR="$root/bench/out/tokio-target"
export WORKERS=${WORKERS:-2}
bin="$CARGO_TARGET_DIR/release/peer"
cargo=cargo
command -v cargo >/dev/null || cargo="$HOME/.cargo/bin/cargo"
[ -x "$(command -v "$cargo")" ] || { echo "tokio-peer: cargo is not installed" >&2; exit 2; }
if [ ! -x "$bin" ] || [ "$here/src/main.rs" -nt "$bin" ] || [ "$here/Cargo.toml" -nt "$bin" ]; then
  echo "tokio-peer: building $bin" >&2
  (cd "$here" && "$cargo" build --release -q)
  touch "$bin" # cargo may keep an up-to-date binary's old time
fi
run_one() { timeout 600 "$bin" "$1" "$2"; }
run_each run_one "WORKERS=$WORKERS"
