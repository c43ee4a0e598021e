# shellcheck shell=bash
# ports.sh — sourced by bench/echo.sh and bench/remote.sh: finding a free
# loopback port (free_port) and waiting for a server to listen on it
# (listening), from /proc/net/tcp.

# A port is taken if any socket uses it locally; listening is state 0A.
tcp_tables=(/proc/net/tcp)
[ -r /proc/net/tcp6 ] && tcp_tables+=(/proc/net/tcp6)
port_state() { # PORT [STATE]: is a socket on PORT (in STATE)?
  awk -v p="$(printf ':%04X' "$1")" -v st="${2:-}" \
    'NR > 1 && substr($2, length($2) - 4) == p && (st == "" || $4 == st) { f = 1 } END { exit !f }' \
    "${tcp_tables[@]}"
}
free_port() { # below the ephemeral range (32768+), where clients' own ports come from
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 12000))
    port_state "$p" || { echo "$p"; return 0; }
  done
  return 1
}
listening() { # PID PORT: wait up to 10 s for PID to listen on PORT (1: it exited, or did not)
  for _ in $(seq 100); do
    port_state "$2" 0A && return 0
    kill -0 "$1" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
