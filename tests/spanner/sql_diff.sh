#!/usr/bin/env bash
# sql_diff: the differential SQL test. Every corpus file (tests/spanner/sql_corpus/*.sql)
# is a database: its DDL, then DML and queries run in order, against ours and against
# Google's Spanner emulator (its REST gateway), both through executeSql over HTTP, and the
# results are compared statement by statement: column names and types, then the rows in
# Spanner's JSON encoding (in order when the statement has an ORDER BY, as multisets
# otherwise); DML by rows modified; an error by its code (the messages are not compared).
#
#   BIN_DIR=bin tests/spanner/sql_diff.sh [corpus.sql ...]
#
# Ours is a stack started from BIN_DIR (--ephemeral, a free port base), Google's emulator
# its gateway_main; both are stopped at the end. This script starts them; sql_diff.js (Node,
# no packages) reads the corpus, sends the requests and compares the answers
# (VERBOSE=1: every check; SQL_DIFF_DUMP=DIR: each side's results per file in DIR).
#
# Corpus format: lines "-- ddl", "-- dml", "-- query" start a section; statements end with
# ";" at the end of a line; other "-- " lines are comments. A "-- stream" section's queries
# go through executeStreamingSql, their PartialResultSets merged into rows. Sections "-- commit" and
# "-- read" hold JSON requests instead of SQL, each ending with ";": a commit's body without
# its transaction (a single-use read-write one is added), such as {"mutations": [...]},
# compared by its outcome (committed, or the error's code), and a read's body, compared by
# its rows. A "-- alter" section's statements are DDL sent one by one to updateDatabaseDdl
# after the steps before them, compared by the operation's outcome. A "-- batch" section's
# statements are executeBatchDml bodies ({"statements": [...]}), each run in a read-write
# transaction of its own and committed, compared by the row counts of the statements that
# ran and the batch's status code. A "-- tx" section is one transaction: it begins read-write
# unless its first statement is "BEGIN <TransactionOptions JSON>;"; its SQL statements run
# in it in order (each with the next seqno), and "COMMIT [<JSON merged into the commit
# body>];", "ROLLBACK;", "READ <read body>;" and "BATCH <executeBatchDml body>;" are sent as
# those calls with its ID; each is one check (statements after a COMMIT or ROLLBACK still
# name the ended transaction). A statement with parameters is
# preceded by "-- params: <JSON>", an object merged into its executeSql request, such as
# {"params": {"n": "5"}, "paramTypes": {"n": {"code": "INT64"}}}. Where Google's emulator is
# wrong, the statement is preceded by "-- google-emulator-wrong: <why>" and
# "-- expect: <the line Spanner answers>", and ours is checked against that instead.
#
# Google's emulator comes with gcloud (gcloud components install cloud-spanner-emulator);
# without it (or without node) the test prints a SKIPPING line and counts nothing. Ends with
# "test_spanner_sql_diff: all N checks passed" or "F of N checks FAILED" (scripts/test-all
# counts those).
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
name=test_spanner_sql_diff
BIN_DIR="${BIN_DIR:-$here/../../bin}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/sql-diff.XXXXXX")"
google_pid=""
ours_pid=""
cleanup() {
    if [[ -n "$ours_pid" ]]; then
        kill "$ours_pid" 2>/dev/null && wait "$ours_pid" 2>/dev/null
    fi
    if [[ -n "$google_pid" ]]; then
        local children
        children=$(pgrep -P "$google_pid") # the gateway's emulator_main would outlive it
        kill "$google_pid" 2>/dev/null && wait "$google_pid" 2>/dev/null
        [[ -z $children ]] || kill $children 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

# free_ports N: the first of N consecutive free ports (below 32768).
free_ports() {
    local port i busy
    for _ in $(seq 20); do
        port=$((20000 + RANDOM % 12000))
        busy=0
        for ((i = 0; i < $1; i++)); do
            (: </dev/tcp/127.0.0.1/$((port + i))) 2>/dev/null && { busy=1; break; }
        done
        (( busy )) || { echo "$port"; return 0; }
    done
    return 1
}

# start_ours: our stack from BIN_DIR on free ports, data in memory; sets OURS_URL.
start_ours() {
    local base
    base="$(free_ports 6)" || return 1
    "$BIN_DIR/emulator" --ephemeral --port-base "$base" >"$tmp/ours.log" 2>&1 &
    ours_pid=$!
    OURS_URL="http://127.0.0.1:$((base + 4))/v1"
    for _ in $(seq 150); do
        curl -sf "http://127.0.0.1:$base/emulator/v1/status" 2>/dev/null |
            jq -e 'all(.services[]; .healthy)' >/dev/null && return 0
        sleep 0.1
    done
    echo "sql_diff: our stack did not start: $(tail -n 5 "$tmp/ours.log")" >&2
    return 1
}

# start_google: Google's emulator on free ports; sets GOOGLE_URL.
start_google() {
    local sdk gateway port
    sdk="$(gcloud info --format='value(installation.sdk_root)' 2>/dev/null)"
    gateway="$sdk/bin/cloud_spanner_emulator/gateway_main"
    [[ -x "$gateway" ]] || return 1
    port="$(free_ports 2)" || return 1
    "$gateway" --hostname 127.0.0.1 --grpc_port "$((port + 1))" --http_port "$port" \
        >"$tmp/google.log" 2>&1 &
    google_pid=$!
    GOOGLE_URL="http://127.0.0.1:$port/v1"
    for _ in $(seq 150); do
        curl -sf "$GOOGLE_URL/projects/diff-project/instanceConfigs" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    echo "sql_diff: Google's emulator did not start: $(tail -n 5 "$tmp/google.log")" >&2
    return 1
}

command -v node >/dev/null || { echo "SKIPPING $name: node is not installed"; exit 0; }
if [[ ! -x "$BIN_DIR/emulator" ]]; then
    echo "sql_diff: $BIN_DIR/emulator is not built (make sql-diff builds it)" >&2
    exit 1
fi
if ! start_google; then
    echo "SKIPPING $name: Google's Spanner emulator (gcloud's cloud_spanner_emulator/gateway_main) is not installed or did not start"
    exit 0
fi
start_ours || exit 1
files=("$@")
(( ${#files[@]} )) || files=("$here"/sql_corpus/*.sql)
OURS_URL="$OURS_URL" GOOGLE_URL="$GOOGLE_URL" timeout 900 node "$here/sql_diff.js" "${files[@]}" | tee "$tmp/out"
status=${PIPESTATUS[0]}
summary=$(tail -n 1 "$tmp/out")
if [[ "$summary" =~ ^([0-9]+)\ checks,\ ([0-9]+)\ failed$ ]]; then
    if (( BASH_REMATCH[2] == 0 && status == 0 )); then
        echo "$name: all ${BASH_REMATCH[1]} checks passed"
        exit 0
    fi
    echo "$name: ${BASH_REMATCH[2]} of ${BASH_REMATCH[1]} checks FAILED"
    exit 1
fi
echo "$name: sql_diff.js ended before its summary line (exit $status)"
echo "$name: 1 of 1 checks FAILED"
exit 1
