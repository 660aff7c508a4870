# Sourced by instructions.sh and syscalls.sh: both count what one echo
# server does while the bench binary's fixed client (--client) echoes a
# set number of lines through it, under some tool.
#
#   fixed_client_setup <default lines> "$@"
#       sets N (lines), SERVERS, BIN (the echo bench binary) and TMP
#       (removed on exit) from the script's arguments;
#   serve_under <server> <lines> <tool and its arguments...>
#       runs `<tool...> $BIN --serve <server>` (its stderr in $TMP/log)
#       while the client sends <lines> lines over $ECHO_CONNS connections
#       (default 1), then stops the server.

fixed_client_setup() {
    N=${2:-$1}
    shift
    [ $# -gt 0 ] && shift
    SERVERS=${*:-"poe-select mio poe-readwrite poe-server-tcp tokio"}
    cd "$(dirname "$0")/../.."
    BIN=$(cargo bench --bench echo --no-run --message-format=json 2>/dev/null |
        sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
    TMP=$(mktemp -d)
    trap 'rm -rf "$TMP"' EXIT
}

serve_under() {
    server=$1
    lines=$2
    shift 2
    "$@" "$BIN" --serve "$server" >"$TMP/port" 2>"$TMP/log" &
    pid=$!
    port=
    for _ in $(seq 1 200); do
        port=$(head -n 1 "$TMP/port")
        [ -n "$port" ] && break
        sleep 0.1
    done
    "$BIN" --client "$port" "$lines" "${ECHO_CONNS:-1}"
    # The servers run until killed. Signal the server itself: a tool
    # that forked it (strace) would only detach on the signal, one that
    # runs it in its own process (valgrind) is the server.
    kill -TERM $(pgrep -P "$pid" || echo "$pid")
    wait "$pid" 2>/dev/null || true
}
