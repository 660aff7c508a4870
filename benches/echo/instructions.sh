#!/bin/sh
# User-space instructions per echoed line, for each echo server of
# `cargo bench --bench echo`: the server runs under callgrind while a fixed
# client (the bench binary's --client mode) sends N, then 2N lines of 32
# bytes in batches of 16; the difference over N is the per-line cost, with
# start-up and shutdown cancelled out. Deterministic, unlike timings on a
# shared machine. Needs valgrind.
#
#   benches/echo/instructions.sh [lines] [server...]
#
# ECHO_CONNS=50 spreads the lines over 50 connections written to before
# any echo is read, so each poll finds many of them ready (as in the
# timed bench) and per-poll costs are shared out as they are there.
#
# Servers: poe-select mio poe-readwrite poe-server-tcp tokio (default: all).
set -eu
N=${1:-20000}
[ $# -gt 0 ] && shift
SERVERS=${*:-"poe-select mio poe-readwrite poe-server-tcp tokio"}
cd "$(dirname "$0")/../.."
BIN=$(cargo bench --bench echo --no-run --message-format=json 2>/dev/null |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# Total instructions of one server run that echoes $2 lines.
count() {
    valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.out" \
        "$BIN" --serve "$1" >"$TMP/port" 2>"$TMP/log" &
    pid=$!
    port=
    for _ in $(seq 1 200); do
        port=$(head -n 1 "$TMP/port")
        [ -n "$port" ] && break
        sleep 0.1
    done
    "$BIN" --client "$port" "$2" "${ECHO_CONNS:-1}"
    # The servers run until killed; callgrind still writes its counts.
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null || true
    sed -n 's/.*refs: *\([0-9,]*\).*/\1/p' "$TMP/log" | tr -d ,
}

for server in $SERVERS; do
    one=$(count "$server" "$N")
    two=$(count "$server" $((2 * N)))
    echo "server=$server instructions_per_line=$(((two - one) / N))"
done
