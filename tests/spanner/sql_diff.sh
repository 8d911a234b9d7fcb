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
# its gateway_main; both are stopped at the end.
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
# without it the test prints a SKIPPING line and counts nothing. Ends with
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

# parse_corpus FILE: the plan {"ddl": [...], "steps": [{kind, sql, note, expect, params,
# group}]}; group numbers the sections (a "-- tx" section is one transaction).
parse_corpus() {
    awk '
        function flush() {
            if (sql != "") {
                gsub(/\t/, " ", sql)
                print section "\t" note "\t" expect "\t" params "\t" group "\t" sql
            }
            sql = ""; note = ""; expect = ""; params = ""
        }
        /^-- (ddl|dml|query|stream|commit|read|alter|batch|tx)[ \t]*$/ {
            flush(); section = $2; group++; next
        }
        /^-- google-emulator-wrong: / { note = substr($0, 27); next }
        /^-- expect: / { expect = substr($0, 12); next }
        /^-- params: / { params = substr($0, 12); gsub(/\t/, " ", params); next }
        /^--/ || /^[ \t]*$/ { next }
        {
            line = $0
            sql = sql == "" ? line : sql " " line
            if (line ~ /;[ \t]*$/) { sub(/;[ \t]*$/, "", sql); flush() }
        }
        END { flush() }
    ' "$1" | jq -Rn '[inputs | split("\t")
            | {kind: .[0], note: .[1], expect: .[2], params: ((.[3] | select(. != "") | fromjson) // {}),
               group: (.[4] | tonumber), sql: .[5]}]
        | {ddl: [.[] | select(.kind == "ddl") | .sql], steps: [.[] | select(.kind != "ddl")]}'
}

# ---- a Spanner REST endpoint: ours or Google's emulator ----

# http METHOD URL [BODY]: the response body on stdout.
http() {
    curl -sS -m 60 -X "$1" -H 'Content-Type: application/json' "$2" ${3:+-d "$3"}
}

# to_lines: executeSql answers (or errors), a stream of JSON values, as result lines.
to_lines() {
    jq -c '
        def tname: if .code == "ARRAY" then "ARRAY<" + (.arrayElementType | tname) + ">"
                   elif .code == "STRUCT" then "STRUCT<" + ([.structType.fields[]
                       | (if (.name // "") == "" then "" else .name + " " end) + (.type | tname)]
                       | join(", ")) + ">"
                   else .code end;
        def codes: ["OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
                    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
                    "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
                    "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"];
        if .error then {error: .error.status, message: .error.message}
        elif (.code | type) == "number" then {error: codes[.code], message: .message}
        elif .resultSets or .status then {batch: [(.resultSets // [])[]
              | .stats.rowCountExact // null | if . then tonumber else . end],
              status: codes[.status.code // 0]}
        elif .stats.rowCountExact then {modified: (.stats.rowCountExact | tonumber)}
        elif .stats.rowCountLowerBound then
            {modifiedAtLeast: (.stats.rowCountLowerBound | tonumber)}
        elif .commitTimestamp then {committed: true}
        elif .altered then {altered: true}
        elif .began then {began: true}
        elif . == {} then {rolledBack: true}
        else {fields: [(.metadata.rowType.fields // [])[] | [.name // "", (.type | tname)]],
              rows: (.rows // [])} end'
}

# stream_answer URL BODY: executeStreamingSql's PartialResultSets merged into one ResultSet
# (values regrouped into rows; a chunked value is flagged, not merged), or its error. Ours
# answers a JSON array of them; Google's gateway one {"result": ...} or {"error": ...} per
# line.
stream_answer() {
    answer POST "$1" "$2" | jq -sc '
        (if length == 1 and (.[0] | type) == "array" then .[0] else . end)
        | map(if .result then .result elif .error and (.error | has("status") | not)
              then .error else . end)
        | if any(.[]; .error or (.code | type) == "number") then
              (map(select(.error or (.code | type) == "number")) | first)
        elif any(.[]; .chunkedValue) then {chunked: true}
        else ((.[0].metadata.rowType.fields // []) | length) as $n
             | (map(.values // []) | add // []) as $v
             | {metadata: .[0].metadata, stats: (last.stats),
                rows: (if $n == 0 then [] else [range(0; ($v | length) / $n) | $v[. * $n:(. + 1) * $n]] end)}
             | if .stats == null then del(.stats) else . end
        end'
}

# answer METHOD URL BODY: one JSON answer on stdout, an error object when none came.
answer() {
    local out
    out="$(http "$@")"
    [[ -n "$out" ]] || out='{"error":{"status":"NO_ANSWER"}}'
    printf '%s\n' "$out"
}

# alter_ddl BASE DB BODY: BODY's statement through updateDatabaseDdl, its operation awaited;
# the operation's error, or {"altered": true}.
alter_ddl() {
    local out op
    out="$(http PATCH "$1/$2/ddl" "$(jq -c '{statements: [.sql]}' <<<"$3")")"
    op="$(jq -r '.name // empty' <<<"$out" 2>/dev/null)"
    if [[ -z "$op" ]]; then
        [[ -n "$out" ]] || out='{"error":{"status":"NO_ANSWER"}}'
        printf '%s\n' "$out"
        return
    fi
    for _ in $(seq 300); do
        out="$(http GET "$1/$op")"
        jq -e '.done == true' <<<"$out" >/dev/null 2>&1 && break
        sleep 0.1
    done
    jq -c 'if .error then .error else {altered: true} end' <<<"$out"
}

# begin BASE SESSION OPTIONS: a new transaction's ID on stdout, or its error's answer
# (exit 1).
begin() {
    local out
    out="$(http POST "$1/$2:beginTransaction" "{\"options\":$3}")"
    jq -er '.id // empty' <<<"$out" 2>/dev/null && return 0
    [[ -n "$out" ]] || out='{"error":{"status":"NO_ANSWER"}}'
    printf '%s\n' "$out"
    return 1
}

# with_tx BODY TX [SEQNO]: BODY naming transaction TX (and the seqno of a DML call, unless
# BODY's params give one: "none" for no seqno).
with_tx() {
    jq -c --arg tx "$2" --arg seqno "${3:-}" \
        '. + {transaction: {id: $tx}} + (if $seqno == "" or has("seqno") then {} else {seqno: $seqno} end)
        | del(.seqno | select(. == "none"))' <<<"$1"
}

# run_batch BASE SESSION BODY: an executeBatchDml body in a read-write transaction of its own,
# committed after it.
run_batch() {
    local tx
    tx="$(begin "$1" "$2" '{"readWrite":{}}')" || { printf '%s\n' "$tx"; return; }
    answer POST "$1/$2:executeBatchDml" "$(with_tx "$3" "$tx" 1)"
    http POST "$1/$2:commit" "{\"transactionId\":\"$tx\"}" >/dev/null
}

# tx_step BASE SESSION BODY: one statement of a "-- tx" section (see the header) in the
# section's transaction, TX (begun here, read-write, when the section did not begin it);
# SEQNO counts its DML calls.
tx_step() {
    local base="$1" session="$2" body="$3" sql word rest
    sql="$(jq -r '.sql' <<<"$body")"
    word="${sql%% *}"
    rest=""
    [[ "$sql" == *" "* ]] && rest="${sql#* }"
    if [[ "$word" == BEGIN ]]; then
        TX="$(begin "$base" "$session" "$rest")" && echo '{"began":true}' || printf '%s\n' "$TX"
        return
    fi
    if [[ -z "$TX" ]]; then
        TX="$(begin "$base" "$session" '{"readWrite":{}}')" || { printf '%s\n' "$TX"; return; }
    fi
    SEQNO=$((SEQNO + 1))
    case "$word" in
        COMMIT) answer POST "$base/$session:commit" \
            "$(jq -c --arg tx "$TX" '{transactionId: $tx} + .' <<<"${rest:-"{}"}")" ;;
        ROLLBACK) answer POST "$base/$session:rollback" "{\"transactionId\":\"$TX\"}" ;;
        READ) answer POST "$base/$session:read" "$(with_tx "$rest" "$TX")" ;;
        BATCH) answer POST "$base/$session:executeBatchDml" "$(with_tx "$rest" "$TX" "$SEQNO")" ;;
        *) answer POST "$base/$session:executeSql" "$(with_tx "$body" "$TX" "$SEQNO")" ;;
    esac
}

# run_http BASE: the plan on stdin through executeSql at BASE (.../v1): a new database with
# the plan's DDL (named after the file's number, DB_SEQ: a database of an earlier file is
# never reused), each DML statement in its own read-write transaction, queries single-use,
# the other sections as the header says.
run_http() {
    local base="$1" plan db session tx kind group body section=""
    plan="$(cat)"
    db="projects/diff-project/instances/diff/databases/d$DB_SEQ"
    http POST "$base/projects/diff-project/instances" \
        '{"instanceId":"diff","instance":{"config":"projects/diff-project/instanceConfigs/emulator-config","displayName":"diff","nodeCount":1}}' >/dev/null
    body="$(jq -c --arg id "${db##*/}" '{createStatement: ("CREATE DATABASE `" + $id + "`"),
        extraStatements: .ddl}' <<<"$plan")"
    local created="$tmp/create.$BASHPID.json" # the two sides run at once
    http POST "$base/projects/diff-project/instances/diff/databases" "$body" >"$created"
    if grep -q '"error"' "$created"; then
        echo "sql_diff: the database was not created at $base: $(cat "$created")" >&2
        return 1
    fi
    for _ in $(seq 100); do
        http GET "$base/$db" | grep -q '"READY"' && break
        sleep 0.1
    done
    session="$(http POST "$base/$db/sessions" '{}' | sed -n 's/.*"name": *"\([^"]*\)".*/\1/p')"
    if [[ -z "$session" ]]; then
        echo "sql_diff: no database at $base: $(cat "$created")" >&2
        return 1
    fi
    jq -r '.steps[] | [.kind, .group, (if .kind == "commit"
            then {singleUseTransaction: {readWrite: {}}} + (.sql | fromjson)
            elif .kind == "read" or .kind == "batch" then .sql | fromjson
            else {sql} + .params end | tojson)]
        | @tsv' <<<"$plan" |
        while IFS=$'\t' read -r kind group body; do
            body="${body//\\\\/\\}" # @tsv doubled the backslashes of the JSON text
            if [[ "$kind" == tx ]]; then
                if [[ "$group" != "$section" ]]; then
                    section="$group" TX="" SEQNO=0
                fi
                tx_step "$base" "$session" "$body"
            elif [[ "$kind" == batch ]]; then
                run_batch "$base" "$session" "$body"
            elif [[ "$kind" == dml ]]; then
                tx="$(http POST "$base/$session:beginTransaction" '{"options":{"readWrite":{}}}' |
                    sed -n 's/.*"id": *"\([^"]*\)".*/\1/p')"
                answer POST "$base/$session:executeSql" \
                    "${body%\}},\"transaction\":{\"id\":\"$tx\"},\"seqno\":\"1\"}"
                http POST "$base/$session:commit" "{\"transactionId\":\"$tx\"}" >/dev/null
            elif [[ "$kind" == commit || "$kind" == read ]]; then
                answer POST "$base/$session:$kind" "$body"
            elif [[ "$kind" == stream ]]; then
                stream_answer "$base/$session:executeStreamingSql" "$body"
            elif [[ "$kind" == alter ]]; then
                alter_ddl "$base" "$db" "$body"
            else
                answer POST "$base/$session:executeSql" "$body"
            fi
        done | to_lines
}

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

# ---- comparison ----

checks=0
failures=0

# compare FILE PLAN OURS GOOGLE: one line per step, "ok|FAIL<TAB>#n: sql<TAB>details".
# Error messages are not compared (a failure shows them); rows are sorted unless the
# statement has an ORDER BY.
compare() {
    jq -rn --arg file "${1##*/}" --argjson plan "$2" --slurpfile ours "$3" \
        --slurpfile google "$4" '
        def norm($sql): if .rows and (($sql | ascii_upcase | contains("ORDER BY")) | not)
              then .rows |= sort else . end;
        range(0; $plan.steps | length) as $i | $plan.steps[$i] as $s
        | ($ours[$i] // {error: "NO_ANSWER"} | norm($s.sql)) as $got
        | (if $s.note != "" then ($s.expect | fromjson) else ($google[$i] // {error: "NO_ANSWER"})
           end | norm($s.sql)) as $want
        | [if ($got | del(.message)) == ($want | del(.message)) and $got.error != "NO_ANSWER"
           then "ok" else "FAIL" end, "\($file) #\($i + 1): \($s.sql)",
           (if $s.note != "" then "(Google'"'"'s emulator is wrong here: \($s.note)) "
            else "" end) + "expected: \($want | tojson)", "ours:     \($got | tojson)"]
        | @tsv'
}

compare_file() {
    local file="$1" plan result title want got
    checks=$((checks + 1))
    DB_SEQ=$((DB_SEQ + 1))
    if ! plan="$(parse_corpus "$file")"; then
        failures=$((failures + 1))
        echo "FAIL ${file##*/}: the corpus file could not be read (above)"
        return
    fi
    # both sides at once (a core each): a file's statements run in order on each
    local ours google ours_ok=0 google_ok=0
    run_http "$OURS_URL" <<<"$plan" >"$tmp/ours.jsonl" &
    ours=$!
    run_http "$GOOGLE_URL" <<<"$plan" >"$tmp/google.jsonl" &
    google=$!
    wait "$ours" || ours_ok=1
    wait "$google" || google_ok=1
    if ((ours_ok || google_ok)); then
        failures=$((failures + 1))
        echo "FAIL ${file##*/}: its schema could not be built (above)"
        return
    fi
    while IFS=$'\t' read -r result title want got; do
        checks=$((checks + 1))
        if [[ "$result" == FAIL ]]; then
            failures=$((failures + 1))
            printf 'FAIL %s\n  %s\n  %s\n' "$title" "$want" "$got"
        elif [[ "${VERBOSE:-0}" == 1 ]]; then
            echo "ok   $title"
        fi
    done < <(compare "$file" "$plan" "$tmp/ours.jsonl" "$tmp/google.jsonl")
}

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
DB_SEQ=0
(( ${#files[@]} )) || files=("$here"/sql_corpus/*.sql)
for file in "${files[@]}"; do
    compare_file "$file"
done
if (( failures )); then
    echo "$name: $failures of $checks checks FAILED"
    exit 1
fi
echo "$name: all $checks checks passed"
