#!/usr/bin/env bash
# Build the Go echo server: bench/peers/go/echo_build.sh [OUTPUT] (default build-echo/echo_server_go,
# at the repository root, where bench/echo.sh puts it: build*/ is ignored by git).
# Standard library only, no network: GOPROXY=off, and a file build needs no go.mod.
set -euo pipefail
dir=$(cd "$(dirname "$0")" && pwd)
out=${1:-$dir/../../../build-echo/echo_server_go}
mkdir -p "$(dirname "$out")"
export GOPROXY=off GOFLAGS='' GOCACHE=${GOCACHE:-/tmp/troupe-peer-gocache}
cd "$dir" && go build -o "$out" echo_server.go
