#!/bin/sh
# Self-test of the Perl IKC peer: peer.pl talking to itself in every mode
# and dialect, the protocol edge cases of probe.pl, and the replay of the
# captured Perl-to-Perl transcript (check_transcript.pl).  Exits non-zero
# on any failure.  Needs only perl and libpoe-perl.
#
#   tests/perl/ikc/selftest.sh [--quick]     (--quick: skip the transcript replay)
set -u
cd "$(dirname "$0")" || exit 2

TMP=$(mktemp -d /tmp/ikc-selftest.XXXXXX) || exit 2
SERVER_PID=
failures=0
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

fail() { echo "SELFTEST FAIL: $*"; failures=$((failures + 1)); }

# start_server LABEL ARGS...: sets SERVER_PID and PORT.
start_server() {
    label=$1; shift
    perl peer.pl server "$@" > "$TMP/$label.out" 2> "$TMP/$label.err" &
    SERVER_PID=$!
    PORT=
    i=0
    while [ $i -lt 100 ]; do
        PORT=$(sed -n 's/^READY \([0-9][0-9]*\)$/\1/p' "$TMP/$label.out")
        [ -n "$PORT" ] && return 0
        sleep 0.1; i=$((i + 1))
    done
    fail "$label: server did not print READY"; cat "$TMP/$label.err"
    return 1
}

# stop_server LABEL: the last client posted echo/quit; the server must exit 0.
stop_server() {
    i=0
    while kill -0 "$SERVER_PID" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        fail "$1: server still running after echo/quit"; kill "$SERVER_PID"
    elif ! wait "$SERVER_PID"; then
        fail "$1: server exited with a failure status"
    fi
    grep -q '^QUIT$' "$TMP/$1.out" || fail "$1: no QUIT line"
    SERVER_PID=
}

# run LABEL COMMAND...: prints the output, fails on a non-zero status or a FAIL line.
run() {
    label=$1; shift
    echo "== $label: $*"
    "$@" > "$TMP/run.out" 2> "$TMP/run.err"
    status=$?
    cat "$TMP/run.out"
    [ -s "$TMP/run.err" ] && sed 's/^/   stderr: /' "$TMP/run.err"
    [ $status -eq 0 ] || fail "$label: exit status $status"
    ! grep -q '^FAIL\|^not ok' "$TMP/run.out" || fail "$label: failures reported"
}

expect_got() {    # expect_got LABEL LINE: the server logged exactly this request
    grep -qxF "$2" "$TMP/$1.out" || fail "$1: no server line '$2'"
}

# 1. IKC0 server: clients in both dialects, probes, bench, then quit.
if start_server ikc0 --name perlsrv; then
    run client-ikc0 perl peer.pl client --port "$PORT" --server-name perlsrv
    run client-hello perl peer.pl client --port "$PORT" --server-name perlsrv --protocol IKC --name perlcli2
    run probe perl probe.pl --port "$PORT" --server-name perlsrv
    run bench perl peer.pl bench-client --port "$PORT" --server-name perlsrv --posts 2000 --calls 300 --quit
    grep -q '^bench=ikc_post impl=perl-poe metric=posts_per_s value=[0-9][0-9]*$' "$TMP/run.out" \
        || fail "bench: no ikc_post line"
    grep -q '^bench=ikc_call impl=perl-poe metric=calls_per_s value=[0-9][0-9]*$' "$TMP/run.out" \
        || fail "bench: no ikc_call line"
    stop_server ikc0
    expect_got ikc0 'GOT echo/add [[1,2,"3.5",40]]'
    expect_got ikc0 'GOT echo/ping ["hello-proxy"]'
    expect_got ikc0 'GOT echo/store ["a",[1,2],{"k" => "v"}]'
    expect_got ikc0 'GOT 3/got_double [42]'
    grep -q "^REFUSED check Session 'echo' has not published state 'secret'\.  Request poe://perlsrv/echo/secret sent by poe://.*/tester/IKC:proxy$" \
        "$TMP/ikc0.out" || fail "ikc0: no REFUSED line for echo/secret"
fi

# 2. IKC-only server: a HELLO client, and an IKC0 client that falls back
#    to HELLO after NOT.
if start_server ikc --name perlsrv --protocol IKC; then
    run client-hello-only perl peer.pl client --port "$PORT" --server-name perlsrv --protocol IKC
    run client-fallback perl peer.pl client --port "$PORT" --server-name perlsrv --name perlcli2 --quit
    stop_server ikc
fi

# 3. Replay of the real Perl-to-Perl transcript.
if [ "${1:-}" != --quick ]; then
    run transcript perl check_transcript.pl
fi

if [ $failures -eq 0 ]; then
    echo "SELFTEST OK"
    exit 0
fi
echo "SELFTEST: $failures failure(s)"
exit 1
