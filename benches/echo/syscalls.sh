#!/bin/sh
# System calls per echoed line, for each echo server of `cargo bench
# --bench echo`: the server runs under `strace -c` while the same fixed
# client as instructions.sh (the bench binary's --client mode) sends N,
# then 2N lines of 32 bytes in batches of 16; the difference over N is the
# per-line count, with start-up and shutdown cancelled out.
#
# Most of an echo server's CPU time is spent in the kernel (75-80% on the
# reference machine), so two servers making the same calls spend the same
# system time: this and instructions.sh together explain the timed
# figures of echo_server_tcp. Needs strace.
#
#   benches/echo/syscalls.sh [lines] [server...]
#
# ECHO_CONNS=50 spreads the lines over 50 connections written to before
# any echo is read, as instructions.sh does.
#
# Servers: poe-select mio poe-readwrite poe-server-tcp tokio (default: all).
set -eu
. "$(dirname "$0")/fixed_client.sh"
fixed_client_setup 32000 "$@"

# "name calls" for each system call of one server run that echoes $2
# lines, in $TMP/calls.$3.
count() {
    serve_under "$1" "$2" strace -f -c -o "$TMP/strace"
    # Table rows: % time, seconds, usecs/call, calls, [errors,] name.
    awk '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" { print $NF, $4 }' "$TMP/strace" |
        sort >"$TMP/calls.$3"
}

for server in $SERVERS; do
    count "$server" "$N" one
    count "$server" $((2 * N)) two
    # Calls made per line: the two runs' difference, over N.
    join -a 2 -e 0 -o 0,1.2,2.2 "$TMP/calls.one" "$TMP/calls.two" |
        awk -v n="$N" -v s="$server" '
            { d = ($3 - $2) / n; total += d
              if (d >= 0.001) per = per sprintf(" %s=%.3f", $1, d) }
            END { printf "server=%s syscalls_per_line=%.3f%s\n", s, total, per }'
done
