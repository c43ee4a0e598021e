#!/usr/bin/env bash
# Installs the four peers' toolchains from Debian 12's packages (as root):
#   bench/peers/install.sh
# Go 1.19 (golang-go), Erlang/OTP 25 (erlang-base, erlang-dev for erlc's
# headers), CAF 0.17 (libcaf-dev) and Tokio 1.24 as crate sources
# (librust-tokio+*-dev, built offline by tokio/.cargo/config.toml with cargo).
set -euo pipefail
packages=(golang-go erlang-base erlang-dev libcaf-dev
  'librust-tokio+rt-multi-thread-dev' 'librust-tokio+sync-dev'
  'librust-tokio+macros-dev' 'librust-tokio+time-dev')
command -v cargo >/dev/null || packages+=(cargo rustc)
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${packages[@]}" >/dev/null
echo "peers installed: $(go version | cut -d' ' -f3)," \
  "OTP $(erl -noshell -eval 'io:put_chars(erlang:system_info(otp_release)), halt().')," \
  "CAF $(dpkg-query -W -f='${Version}' libcaf-dev)," \
  "Tokio $(dpkg-query -W -f='${Version}' librust-tokio-dev)"
