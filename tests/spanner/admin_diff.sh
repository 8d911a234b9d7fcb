#!/usr/bin/env bash
# admin_diff: the differential test of Spanner's admin plane. The same REST v1 requests go
# to our Spanner (an ephemeral stack: the control plane and bin/spanner) and to Google's
# Spanner emulator (gcloud's cloud_spanner_emulator/gateway_main), and the answers are
# compared: the HTTP code and google.rpc status of an error (not its message), and for a
# success the parts a check names with a jq projection (never server-made times,
# operation IDs or session IDs). Instance configs, instances, databases, DDL, database
# operations and sessions; not the data plane (tests/spanner/sql_diff.sh covers that).
#
#   tests/spanner/admin_diff.sh [tests/spanner/admin_corpus/NN_name.sh ...]
#                       (make spanner-admin-diff; BIN_DIR; VERBOSE=1: passing checks too,
#                        VERBOSE=2: the second each corpus file ends at)
#
# The corpus (tests/spanner/admin_corpus/*.sh, run in name order against both servers,
# which keep their state from file to file) is bash calling these functions; in a path or
# a body `{P}` stands for the project (projects/diff-project), `{C}` for
# {P}/instanceConfigs/emulator-config and `{I}` for {P}/instances/adm, the instance
# 10_configs.sh creates for the files after it:
#
#   check METHOD PATH [BODY]    one request to both; PATH is below /v1/. The result is
#                               "<HTTP code> <status>" ("200 OK" for a success), or, when
#                               JQ='<projection>' is set for the call, "200 " and the
#                               projection of the answer as compact JSON (keys sorted).
#   check_op METHOD PATH [BODY] a request answered by a long-running operation: the
#                               result is the answer's HTTP code, its operation's name
#                               with the ID as "*" and metadata's @type; then the
#                               operation polled until done: its error's status, or JQ
#                               applied to its response (default: the response's @type).
#                               An error answered at once is "<HTTP code> <status>".
#   pages PATH FIELD SIZE       lists PATH (a query string of its own allowed) SIZE items a
#                               page, following nextPageToken: "<pages> [FIELD's items'
#                               JQ projection (default .name), in order]".
#   wrong 'WHY' 'EXPECTED'      before a check: Google's emulator is wrong here (WHY says
#                               how, and what Google's API does); ours is compared with
#                               EXPECTED, the result Google's API gives. When Google's
#                               emulator agrees with EXPECTED after all the note is
#                               reported stale (fix the corpus) but nothing fails.
#   differs 'WHY' 'OURS'        before a check: no Google document settles it and ours
#                               answers differently on purpose (WHY says why); ours is
#                               compared with OURS. Stale, like wrong, when Google's
#                               emulator answers OURS.
#   both METHOD PATH [BODY]     a request to both, nothing compared (fixtures): the answers
#                               are in $tmp/body.ours and $tmp/body.google.
#   both_op METHOD PATH [BODY]  the same for a long-running call, its operations awaited.
#   session_of DB               a session on both (fixtures): {S} in a later path or body
#                               is each server's own session's name.
#
# Google's emulator is a reference, not an authority: where it differs from Google's
# documented API (the REST reference and the googleapis protos) the corpus says so (wrong)
# with the documented answer. It answers an error as {"code": N, "message"}, ours as
# Google's {"error": {"code", "message", "status"}}: both are read as the status's name.
#
# Without Google's emulator the test prints a SKIPPING line and counts nothing. Ends with
# "test_spanner_admin_diff: all N checks passed" or "F of N checks FAILED" (scripts/test-all
# counts those).
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
name=test_spanner_admin_diff
BIN_DIR="${BIN_DIR:-$here/../../bin}"
PROJECT=projects/diff-project
tmp="$(mktemp -d "${TMPDIR:-/tmp}/spanner-admin-diff.XXXXXX")"
ours_pid=""
google_pid=""

stop() { # stop PID: SIGTERM, then SIGKILL after 10 s; the gateway's emulator_main too
    local pid=$1 children
    [[ -n $pid ]] || return 0
    children=$(pgrep -P "$pid")
    kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    [[ -z $children ]] || kill $children 2>/dev/null
}
cleanup() {
    stop "$google_pid"
    stop "$ours_pid"
    rm -rf "$tmp"
}
trap cleanup EXIT

# free_port COUNT: a port with COUNT free ports from it, below the kernel's ephemeral range.
free_port() {
    local count=$1 base i ok low
    low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
    ((low > 32768)) && low=32768
    for _ in $(seq 50); do
        base=$((10240 + RANDOM % (low - 10240 - 16)))
        ok=1
        for ((i = 0; i < count; i++)); do
            (: </dev/tcp/127.0.0.1/$((base + i))) 2>/dev/null && ok=0
        done
        ((ok)) && { echo "$base"; return 0; }
    done
    return 1
}

# wait_http URL SECONDS: until URL answers 200.
wait_http() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        curl -sf -o /dev/null -m 1 "$1" && return 0
        sleep 0.1
    done
    return 1
}

start_google() {
    local sdk gateway port
    sdk="$(gcloud info --format='value(installation.sdk_root)' 2>/dev/null)"
    gateway="$sdk/bin/cloud_spanner_emulator/gateway_main"
    [[ -x $gateway ]] || return 1
    port=$(free_port 2) || return 1
    "$gateway" --hostname 127.0.0.1 --grpc_port "$((port + 1))" --http_port "$port" \
        >"$tmp/google.log" 2>&1 &
    google_pid=$!
    GOOGLE_URL="http://127.0.0.1:$port/v1"
}
wait_google() {
    wait_http "$GOOGLE_URL/$PROJECT/instanceConfigs" 30 && return 0
    echo "admin_diff: Google's emulator did not start: $(tail -n 5 "$tmp/google.log")" >&2
    return 1
}

start_ours() {
    local base
    base=$(free_port 5) || return 1
    "$BIN_DIR/emulator" --ephemeral --port-base "$base" --services spanner --log-level warning \
        >"$tmp/ours.log" 2>&1 &
    ours_pid=$!
    OURS_URL="http://127.0.0.1:$((base + 4))/v1"
    wait_http "$OURS_URL/$PROJECT/instanceConfigs" 30 && return 0
    echo "admin_diff: our stack did not start: $(tail -n 5 "$tmp/ours.log")" >&2
    return 1
}

# ---- requests ----

# expand SIDE TEXT: sets EXPANDED to TEXT with {P}, {C}, {I} and {S} (SIDE's session)
# replaced. (The helpers below set variables rather than print: a check costs few forks.)
session_ours=""
session_google=""
expand() {
    local text=$2 session=$session_ours
    [[ $1 == ours ]] || session=$session_google
    text=${text//\{I\}/$PROJECT/instances/adm}
    text=${text//\{C\}/$PROJECT/instanceConfigs/emulator-config}
    text=${text//\{S\}/$session}
    EXPANDED=${text//\{P\}/$PROJECT}
}

# send SIDE METHOD PATH [BODY]: one request to SIDE (ours or google), its answer in
# $tmp/body.SIDE and its HTTP code in $tmp/code.SIDE.
send() {
    local side=$1 method=$2 path base=$OURS_URL
    expand "$side" "$3"
    path=$EXPANDED
    [[ $side == ours ]] || base=$GOOGLE_URL
    if [[ -n ${4+x} ]]; then
        expand "$side" "$4"
        printf '%s' "$EXPANDED" >"$tmp/request.$side"
    fi
    curl -s -m 30 -o "$tmp/body.$side" -w '%{http_code}' -X "$method" \
        -H 'Content-Type: application/json' ${4+--data-binary "@$tmp/request.$side"} \
        "$base/$path" >"$tmp/code.$side"
}

# both METHOD PATH [BODY]: the request to both servers at once; sets code_ours, code_google.
both() {
    local p1
    send ours "$@" &
    p1=$!
    send google "$@"
    wait "$p1"
    read -r code_ours <"$tmp/code.ours"
    read -r code_google <"$tmp/code.google"
}

# body_of SIDE: sets BODY to SIDE's last answer.
body_of() {
    BODY=""
    IFS= read -r -d '' BODY <"$tmp/body.$1"
}

# await SIDE: the operation in $tmp/body.SIDE polled until done (10 s at most); the done
# operation replaces it. (An operation's first "name" is its own.)
await() {
    local side=$1 op
    body_of "$side"
    [[ $BODY =~ \"name\"[[:space:]]*:[[:space:]]*\"([^\"]*/operations/[^\"]*)\" ]] || return 0
    op=${BASH_REMATCH[1]}
    for _ in $(seq 200); do
        [[ $BODY =~ \"done\"[[:space:]]*:[[:space:]]*true ]] && return 0
        sleep 0.05
        send "$side" GET "$op"
        body_of "$side"
    done
}

both_op() {
    local p
    both "$@"
    await ours &
    p=$!
    await google
    wait "$p"
}

# status_of SIDE: sets STATUS to the google.rpc status name of SIDE's error answer: ours
# names it, Google's emulator gives its number.
codes=(OK CANCELLED UNKNOWN INVALID_ARGUMENT DEADLINE_EXCEEDED NOT_FOUND ALREADY_EXISTS
    PERMISSION_DENIED RESOURCE_EXHAUSTED FAILED_PRECONDITION ABORTED OUT_OF_RANGE
    UNIMPLEMENTED INTERNAL UNAVAILABLE DATA_LOSS UNAUTHENTICATED)
codes_json=$(printf '%s\n' "${codes[@]}" | jq -Rsc 'split("\n")')
status_of() {
    body_of "$1"
    if [[ $BODY =~ \"status\"[[:space:]]*:[[:space:]]*\"([A-Z_]+)\" ]]; then
        STATUS=${BASH_REMATCH[1]}
    elif [[ $BODY =~ ^\{\"code\":[[:space:]]*([0-9]+), ]]; then
        STATUS=${codes[${BASH_REMATCH[1]}]:-CODE_${BASH_REMATCH[1]}}
    else
        STATUS=NO_STATUS
    fi
}

# result SIDE CODE: sets RESULT to the result line of SIDE's answer (see the header).
result() {
    local side=$1 code=$2 out
    if [[ $code != 2* ]]; then
        status_of "$side"
        RESULT="$code $STATUS"
    elif [[ -n ${JQ-} ]]; then
        out=$(jq -cS "${JQ}" "$tmp/body.$side" 2>&1)
        RESULT="$code ${out//$'\n'/ }"
    else
        RESULT="$code OK"
    fi
}

# op_result SIDE CODE: RESULT for a long-running call's answer, awaited.
op_result() {
    local side=$1 code=$2 first out
    if [[ $code != 2* ]]; then
        status_of "$side"
        RESULT="$code $STATUS"
        return
    fi
    body_of "$side"
    first="NO_OPERATION"
    [[ $BODY =~ \"name\"[[:space:]]*:[[:space:]]*\"([^\"]*/operations/)[^\"]*\" ]] &&
        first="${BASH_REMATCH[1]}*"
    [[ $BODY =~ \"@type\"[[:space:]]*:[[:space:]]*\"([^\"]*)\" ]] && first+=" ${BASH_REMATCH[1]}"
    await "$side"
    out=$(jq -cS --argjson codes "$codes_json" 'if .done != true then "NOT DONE"
        elif .error then "error " + $codes[.error.code]
        else .response | '"${JQ:-'.["@type"]'}"' end' "$tmp/body.$side" 2>&1)
    RESULT="$code $first -> ${out//$'\n'/ }"
}

checks=0
failures=0
stale=0
note=""
expect=""
kind=""

wrong() {
    note=$1
    expect=$2
    kind="is wrong here"
}
differs() {
    note=$1
    expect=$2
    kind="differs, undocumented"
}

# compare WHAT OURS GOOGLE: counts one check.
compare() {
    local what=${1:0:200} got=$2 google=$3 want=$3
    checks=$((checks + 1))
    if [[ -n $note ]]; then
        want=$expect
        if [[ $google == "$expect" ]]; then
            stale=$((stale + 1))
            echo "STALE ${file##*/}: $what: Google's emulator now answers '$google'; drop the note"
        fi
    fi
    if [[ $got != "$want" ]]; then
        failures=$((failures + 1))
        local why=""
        [[ -z $note ]] || why="  (Google's emulator answers $google and $kind: $note)"
        printf 'FAIL %s: %s\n  expected: %s%s\n  ours:     %s\n' "${file##*/}" "$what" "$want" \
            "$why" "$got"
    elif [[ ${VERBOSE:-0} == 1 ]]; then
        echo "ok   ${file##*/}: $what -> $got"
    fi
    note=""
    expect=""
}

check() {
    local ours
    both "$@"
    result ours "$code_ours"
    ours=$RESULT
    result google "$code_google"
    compare "$1 $2 ${3-}" "$ours" "$RESULT"
}

check_op() {
    local ours p
    both "$@"
    { op_result ours "$code_ours"; printf '%s' "$RESULT" >"$tmp/result.ours"; } &
    p=$! # (a bare wait would wait for the servers too)
    op_result google "$code_google"
    wait "$p"
    ours=$(<"$tmp/result.ours")
    compare "$1 $2 ${3-}" "$ours" "$RESULT"
}

# pages_of SIDE PATH SIZE FIELD: "<pages> [items]" of SIDE's listing (see `pages`).
pages_of() {
    local side=$1 path=$2 size=$3 field=$4 token="" n=0 sep='?' code items='[]'
    [[ $path != *\?* ]] || sep='&'
    while :; do
        n=$((n + 1))
        send "$side" GET "$path${sep}pageSize=$size${token:+&pageToken=$token}"
        read -r code <"$tmp/code.$side"
        if [[ $code != 200 ]]; then
            status_of "$side"
            echo "$code $STATUS at page $n"
            return
        fi
        items=$(jq -c --argjson items "$items" '$items + [(.'"$field"' // [])[] | '"${JQ:-.name}"']' \
            "$tmp/body.$side")
        token=$(jq -r '.nextPageToken // empty' "$tmp/body.$side")
        [[ -n $token && $n -lt 50 ]] || break
    done
    echo "$n $items"
}

pages() {
    local ours google
    ours=$(pages_of ours "$1" "$3" "$2")
    google=$(pages_of google "$1" "$3" "$2")
    compare "list $1 by $3" "$ours" "$google"
}

# session_of DB: a session on each server in DB (a path with {I}), for {S}.
session_of() {
    both POST "$1/sessions" '{}'
    session_ours=$(jq -r '.name // empty' "$tmp/body.ours")
    session_google=$(jq -r '.name // empty' "$tmp/body.google")
    [[ -n $session_ours && -n $session_google ]] && return 0
    echo "admin_diff: no session in $1: $(cat "$tmp/body.ours") / $(cat "$tmp/body.google")" >&2
    exit 1
}

# ---- run ----

if [[ ! -x $BIN_DIR/emulator ]]; then
    echo "admin_diff: no $BIN_DIR/emulator; build first (make)" >&2
    exit 1
fi
if ! start_google; then
    echo "SKIPPING $name: Google's Spanner emulator (gcloud components install cloud-spanner-emulator) is not installed"
    exit 0
fi
start_ours || exit 1
wait_google || exit 1

files=("$@")
((${#files[@]})) || files=("$here"/admin_corpus/*.sh)
for file in "${files[@]}"; do
    # shellcheck source=/dev/null
    source "$file"
    unset JQ
    [[ ${VERBOSE:-0} != 2 ]] || echo "${file##*/}: ${SECONDS}s"
done
((stale == 0)) || echo "admin_diff: $stale wrong notes are stale (Google's emulator agrees now; see STALE above)"
if ((failures)); then
    echo "$name: $failures of $checks checks FAILED"
    exit 1
fi
echo "$name: all $checks checks passed"
