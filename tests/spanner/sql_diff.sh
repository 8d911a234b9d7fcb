#!/usr/bin/env bash
# sql_diff: the differential SQL test. Every corpus file (tests/spanner/sql_corpus/*.sql)
# is a database: its DDL, then DML and queries run in order, against ours and against
# Google's Spanner emulator (its REST gateway), and the results are compared statement by
# statement: column names and types, then the rows in Spanner's JSON encoding (in order
# when the statement has an ORDER BY, as multisets otherwise); DML by rows modified; an
# error by its code (the messages are not compared).
#
#   SQL_RUN=build/release/tools/spanner_sql_run tests/spanner/sql_diff.sh [corpus.sql ...]
#
# Our side runs the SQL layer in process (SQL_RUN reads the plan on stdin). Switching it to
# our executeSql over HTTP, once the data plane serves it, is one line: make run_ours call
# `run_http "$SPANNER_URL/v1" <<<"$plan"` with a started stack (see run_ours).
#
# Corpus format: lines "-- ddl", "-- dml", "-- query" start a section; statements end with
# ";" at the end of a line; other "-- " lines are comments. Where Google's emulator is
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
SQL_RUN="${SQL_RUN:-$here/../../build/release/tools/spanner_sql_run}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/sql-diff.XXXXXX")"
google_pid=""
cleanup() {
    if [[ -n "$google_pid" ]]; then
        local children
        children=$(pgrep -P "$google_pid") # the gateway's emulator_main would outlive it
        kill "$google_pid" 2>/dev/null && wait "$google_pid" 2>/dev/null
        [[ -z $children ]] || kill $children 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

# parse_corpus FILE: the plan {"ddl": [...], "steps": [{kind, sql, note, expect}]}.
parse_corpus() {
    awk '
        function flush() {
            if (sql != "") { gsub(/\t/, " ", sql); print section "\t" note "\t" expect "\t" sql }
            sql = ""; note = ""; expect = ""
        }
        /^-- (ddl|dml|query)[ \t]*$/ { flush(); section = $2; next }
        /^-- google-emulator-wrong: / { note = substr($0, 27); next }
        /^-- expect: / { expect = substr($0, 12); next }
        /^--/ || /^[ \t]*$/ { next }
        {
            line = $0
            sql = sql == "" ? line : sql " " line
            if (line ~ /;[ \t]*$/) { sub(/;[ \t]*$/, "", sql); flush() }
        }
        END { flush() }
    ' "$1" | jq -Rn '[inputs | split("\t") | {kind: .[0], note: .[1], expect: .[2], sql: .[3]}]
        | {ddl: [.[] | select(.kind == "ddl") | .sql], steps: [.[] | select(.kind != "ddl")]}'
}

# run_ours: the plan on stdin through our SQL layer; one result line per step.
run_ours() {
    "$SQL_RUN"
}

# ---- Google's emulator (or any Spanner REST endpoint) ----

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
        elif .stats.rowCountExact then {modified: (.stats.rowCountExact | tonumber)}
        else {fields: [.metadata.rowType.fields[] | [.name // "", (.type | tname)]],
              rows: (.rows // [])} end'
}

# answer METHOD URL BODY: one JSON answer on stdout, an error object when none came.
answer() {
    local out
    out="$(http "$@")"
    [[ -n "$out" ]] || out='{"error":{"status":"NO_ANSWER"}}'
    printf '%s\n' "$out"
}

# run_http BASE: the plan on stdin through executeSql at BASE (.../v1): a new database with
# the plan's DDL, each DML statement in its own read-write transaction, queries single-use.
run_http() {
    local base="$1" plan db session tx kind body
    plan="$(cat)"
    db="projects/diff/instances/diff/databases/d$((RANDOM % 90000 + 10000))"
    http POST "$base/projects/diff/instances" \
        '{"instanceId":"diff","instance":{"config":"projects/diff/instanceConfigs/emulator-config","displayName":"diff","nodeCount":1}}' >/dev/null
    body="$(jq -c --arg id "${db##*/}" '{createStatement: ("CREATE DATABASE `" + $id + "`"),
        extraStatements: .ddl}' <<<"$plan")"
    http POST "$base/projects/diff/instances/diff/databases" "$body" >"$tmp/create.json"
    for _ in $(seq 100); do
        http GET "$base/$db" | grep -q '"READY"' && break
        sleep 0.1
    done
    session="$(http POST "$base/$db/sessions" '{}' | sed -n 's/.*"name": *"\([^"]*\)".*/\1/p')"
    if [[ -z "$session" ]]; then
        echo "sql_diff: no database at $base: $(cat "$tmp/create.json")" >&2
        return 1
    fi
    jq -r '.steps[] | [.kind, ({sql} | tojson)] | @tsv' <<<"$plan" |
        while IFS=$'\t' read -r kind body; do
            body="${body//\\\\/\\}" # @tsv doubled the backslashes of the JSON text
            if [[ "$kind" == dml ]]; then
                tx="$(http POST "$base/$session:beginTransaction" '{"options":{"readWrite":{}}}' |
                    sed -n 's/.*"id": *"\([^"]*\)".*/\1/p')"
                answer POST "$base/$session:executeSql" \
                    "${body%\}},\"transaction\":{\"id\":\"$tx\"},\"seqno\":\"1\"}"
                http POST "$base/$session:commit" "{\"transactionId\":\"$tx\"}" >/dev/null
            else
                answer POST "$base/$session:executeSql" "$body"
            fi
        done | to_lines
}

# start_google: Google's emulator on free ports; sets GOOGLE_URL.
start_google() {
    local sdk gateway port
    sdk="$(gcloud info --format='value(installation.sdk_root)' 2>/dev/null)"
    gateway="$sdk/bin/cloud_spanner_emulator/gateway_main"
    [[ -x "$gateway" ]] || return 1
    for _ in $(seq 20); do
        port=$((20000 + RANDOM % 12000))
        (: </dev/tcp/127.0.0.1/$port) 2>/dev/null || (: </dev/tcp/127.0.0.1/$((port + 1))) \
            2>/dev/null || break
    done
    "$gateway" --hostname 127.0.0.1 --grpc_port "$((port + 1))" --http_port "$port" \
        >"$tmp/google.log" 2>&1 &
    google_pid=$!
    GOOGLE_URL="http://127.0.0.1:$port/v1"
    for _ in $(seq 150); do
        curl -sf "$GOOGLE_URL/projects/diff/instanceConfigs" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    echo "sql_diff: Google's emulator did not start: $(tail -n 5 "$tmp/google.log")" >&2
    return 1
}

# ---- comparison ----

checks=0
failures=0

# compare FILE PLAN OURS GOOGLE: one line per step, "ok|FAIL<TAB>#n: sql<TAB>details".
# Error messages are not compared; rows are sorted unless the statement has an ORDER BY.
compare() {
    jq -rn --arg file "${1##*/}" --argjson plan "$2" --slurpfile ours "$3" \
        --slurpfile google "$4" '
        def norm($sql): del(.message)
            | if .rows and (($sql | ascii_upcase | contains("ORDER BY")) | not)
              then .rows |= sort else . end;
        range(0; $plan.steps | length) as $i | $plan.steps[$i] as $s
        | ($ours[$i] // {error: "NO_ANSWER"} | norm($s.sql)) as $got
        | (if $s.note != "" then ($s.expect | fromjson) else ($google[$i] // {error: "NO_ANSWER"})
           end | norm($s.sql)) as $want
        | [if $got == $want and $got.error != "NO_ANSWER" then "ok" else "FAIL" end, "\($file) #\($i + 1): \($s.sql)",
           (if $s.note != "" then "(Google'"'"'s emulator is wrong here: \($s.note)) "
            else "" end) + "expected: \($want | tojson)", "ours:     \($got | tojson)"]
        | @tsv'
}

checks=0
failures=0

compare_file() {
    local file="$1" plan result title want got
    plan="$(parse_corpus "$file")" || return
    checks=$((checks + 1))
    if ! run_ours <<<"$plan" >"$tmp/ours.jsonl" ||
        ! run_http "$GOOGLE_URL" <<<"$plan" >"$tmp/google.jsonl"; then
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

if [[ ! -x "$SQL_RUN" ]]; then
    echo "sql_diff: $SQL_RUN is not built (make sql-diff builds it)" >&2
    exit 1
fi
if ! start_google; then
    echo "SKIPPING $name: Google's Spanner emulator (gcloud's cloud_spanner_emulator/gateway_main) is not installed or did not start"
    exit 0
fi
files=("$@")
(( ${#files[@]} )) || files=("$here"/sql_corpus/*.sql)
for file in "${files[@]}"; do
    compare_file "$file"
done
if (( failures )); then
    echo "$name: $failures of $checks checks FAILED"
    exit 1
fi
echo "$name: all $checks checks passed"
