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
. "$(dirname "$0")/fixed_client.sh"
fixed_client_setup 20000 "$@"

# Total instructions of one server run that echoes $2 lines.
count() {
    serve_under "$1" "$2" valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.out"
    sed -n 's/.*refs: *\([0-9,]*\).*/\1/p' "$TMP/log" | tr -d ,
}

for server in $SERVERS; do
    one=$(count "$server" "$N")
    two=$(count "$server" $((2 * N)))
    echo "server=$server instructions_per_line=$(((two - one) / N))"
done
