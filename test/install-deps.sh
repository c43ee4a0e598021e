#!/usr/bin/env bash
# Installs what troupe needs to build and test on Debian 12 (run as root);
# installs nothing that is already there.
set -euo pipefail
need=()
for pkg in build-essential cmake pkg-config libuv1-dev libmsgpack-dev libnats-dev nats-server python3; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
