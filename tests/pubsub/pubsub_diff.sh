#!/usr/bin/env bash
# pubsub_diff: the differential Pub/Sub test. The same REST requests go to our Pub/Sub
# (an ephemeral stack: the control plane and bin/pubsub) and to Google's Pub/Sub emulator
# (gcloud's platform/pubsub-emulator, a JVM serving REST v1), and every answer is compared:
# the HTTP code and google.rpc status of an error (not its message), and for a success the
# parts a check names with a jq projection (never server-made IDs or times).
#
#   tests/pubsub/pubsub_diff.sh [tests/pubsub/diff_corpus/NN_name.sh ...]
#
# The corpus (tests/pubsub/diff_corpus/*.sh, run in name order against both servers, which
# keep their state from file to file) is bash calling these functions; `{P}` in a path or
# body stands for the project, projects/diff-proj:
#
#   check METHOD PATH [BODY]        one request to both; PATH is below /v1/. The result is
#                                   "<HTTP code> <status>" ("200 OK" for a success), then,
#                                   when JQ='<projection>' is set for the call, the
#                                   projection of a successful answer as compact JSON.
#   check_filter SUB 'FILTER'       creates subscription SUB on {P}/topics/filtered with
#                                   that filter: "200 OK" or the refusal.
#   pulled SUB                      pulls SUB (returnImmediately, up to 100) and acknowledges
#                                   what came: "200 [the message data, sorted]".
#   take SUB [MAX]                  pulls without acknowledging: "200 [the data, sorted]"
#                                   (with JQ set, the projection of the answer instead);
#                                   {ACKS} in a later body is the ack IDs each server gave.
#   wrong 'WHY' 'EXPECTED'          before a check: Google's emulator is wrong here (WHY says
#                                   how, and what Google's API does); ours is compared with
#                                   EXPECTED, the result Google's API gives. When Google's
#                                   emulator agrees with EXPECTED after all the note is
#                                   reported stale (fix the corpus) but nothing fails.
#   publish TOPIC 'MESSAGES_JSON'   publishes to both, no comparison (fixtures).
#   both METHOD PATH [BODY]         a request to both, nothing compared: the answers are in
#                                   $tmp/body.ours and $tmp/body.google, the codes in
#                                   $code_ours and $code_google (for checks of their own,
#                                   such as following each server's page token).
#   later SECONDS METHOD PATH [BODY]
#                                   the request to both after SECONDS, in the background,
#                                   answers not kept: to wake a waiting pull (`check` it,
#                                   then `wait "$later_pid"`).
#
# TIMEOUT=SECONDS before a check bounds its requests (30 s unless told): a server still
# silent by then gives "000 NO_STATUS".
#
# Google's emulator is a reference, not an authority: where it ignores a field or accepts
# what Google refuses, the corpus says so (wrong) with Google's documented behaviour.
#
# Without Google's emulator or java the test prints a SKIPPING line and counts nothing.
# Ends with "test_pubsub_diff: all N checks passed" or "F of N checks FAILED" (scripts/
# test-all counts those). VERBOSE=1 prints passing checks too; VERBOSE=2 the second each
# corpus file ends at.
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
name=test_pubsub_diff
BIN_DIR="${BIN_DIR:-$here/../../bin}"
GOOGLE_EMULATOR="${PUBSUB_EMULATOR:-/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator}"
PROJECT=projects/diff-proj
tmp="$(mktemp -d "${TMPDIR:-/tmp}/pubsub-diff.XXXXXX")"
ours_pid=""
google_pid=""

stop() { # stop PID: SIGTERM, then SIGKILL after 10 s
    local pid=$1
    [[ -n $pid ]] || return 0
    kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
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

# wait_http URL SECONDS: until URL answers.
wait_http() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        curl -s -o /dev/null -m 1 "$1" && return 0
        sleep 0.1
    done
    return 1
}

# start_google: launches Google's emulator (the script execs java, so its pid is the JVM's);
# wait_google waits for it (about 10 s), while ours starts.
start_google() {
    local port
    port=$(free_port 1) || return 1
    "$GOOGLE_EMULATOR" --host=127.0.0.1 --port="$port" >"$tmp/google.log" 2>&1 &
    google_pid=$!
    GOOGLE_URL="http://127.0.0.1:$port/v1"
}
wait_google() {
    wait_http "${GOOGLE_URL%/v1}/" 60 && return 0
    echo "pubsub_diff: Google's emulator did not start: $(tail -n 5 "$tmp/google.log")" >&2
    return 1
}

start_ours() {
    local base
    base=$(free_port 3) || return 1
    "$BIN_DIR/emulator" --ephemeral --port-base "$base" --services pubsub --log-level warning \
        >"$tmp/ours.log" 2>&1 &
    ours_pid=$!
    OURS_URL="http://127.0.0.1:$((base + 2))/v1"
    wait_http "http://127.0.0.1:$((base + 2))/health" 30 && return 0
    echo "pubsub_diff: our stack did not start: $(tail -n 5 "$tmp/ours.log")" >&2
    return 1
}

# ---- requests ----

# send SIDE METHOD PATH [BODY]: one request to SIDE (ours or google), its answer in
# $tmp/body.SIDE and its HTTP code on stdout. {ACKS} in BODY stands for the ack IDs that
# server handed out at the last `take`.
acks_ours='[]'
acks_google='[]'
send() {
    local side=$1 method=$2 path=${3//\{P\}/$PROJECT} body=${4-} base=$OURS_URL acks=$acks_ours
    [[ $side == ours ]] || { base=$GOOGLE_URL; acks=$acks_google; }
    if ((${#body} < 100000)); then # bash's substitution is slow on megabytes
        body=${body//\{ACKS\}/$acks}
        body=${body//\{P\}/$PROJECT}
    fi
    printf '%s' "$body" >"$tmp/request.$side"
    curl -s -m "${TIMEOUT:-30}" -o "$tmp/body.$side" -w '%{http_code}' -X "$method" \
        -H 'Content-Type: application/json' ${4+--data-binary "@$tmp/request.$side"} "$base/$path"
}

# both METHOD PATH [BODY]: the request to both servers at once; sets code_ours, code_google.
both() {
    local p1 p2
    send ours "$@" >"$tmp/code.ours" &
    p1=$!
    send google "$@" >"$tmp/code.google" &
    p2=$!
    wait "$p1" "$p2"
    read -r code_ours <"$tmp/code.ours"
    read -r code_google <"$tmp/code.google"
}

# later SECONDS METHOD PATH [BODY]: see the header. Its own curl calls, as send's files
# belong to the check running meanwhile.
later() {
    local delay=$1 method=$2 path=${3//\{P\}/$PROJECT} body=${4-}
    body=${body//\{P\}/$PROJECT}
    (
        sleep "$delay"
        for base in "$OURS_URL" "$GOOGLE_URL"; do
            curl -s -m 10 -o /dev/null -X "$method" -H 'Content-Type: application/json' \
                ${4+--data-binary "$body"} "$base/$path" &
        done
        wait
    ) &
    later_pid=$!
}

# result SIDE CODE: sets RESULT to the result line of SIDE's answer (see the header); JQ
# projects a success. The status is read without a process: a check makes thousands.
result() {
    local side=$1 code=$2 body="" out
    if [[ $code != 2* ]]; then
        IFS= read -r -d '' body <"$tmp/body.$side"
        if [[ $body =~ \"status\"[[:space:]]*:[[:space:]]*\"([A-Z_]+)\" ]]; then
            RESULT="$code ${BASH_REMATCH[1]}"
        else
            RESULT="$code NO_STATUS"
        fi
    elif [[ -n ${JQ-} ]]; then
        out=$(jq -cS "${JQ}" "$tmp/body.$side" 2>/dev/null)
        RESULT="$code ${out//$'\n'/ }"
    else
        RESULT="$code OK"
    fi
}

checks=0
failures=0
stale=0
note=""
expect=""
title=""

wrong() {
    note=$1
    expect=$2
}

# compare WHAT OURS GOOGLE: counts one check.
compare() {
    local what=${1:0:160} got=$2 google=$3 want=$3
    checks=$((checks + 1))
    if [[ -n $note ]]; then
        want=$expect
        if [[ $google == "$expect" ]]; then
            stale=$((stale + 1))
            echo "STALE ${file##*/}: $what: Google's emulator now answers '$google'; drop the wrong note"
        fi
    fi
    if [[ $got != "$want" ]]; then
        failures=$((failures + 1))
        local why=""
        [[ -z $note ]] || why="  (Google's emulator answers $google and is wrong here: $note)"
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
    compare "$1 ${2//\{P\}/$PROJECT} ${3-}" "$ours" "$RESULT"
}

check_filter() { # the filter as a JSON string: \ and " escaped (no control characters)
    local filter=${2//\\/\\\\}
    filter=${filter//\"/\\\"}
    check PUT "{P}/subscriptions/$1" "{\"topic\":\"{P}/topics/filtered\",\"filter\":\"$filter\"}"
}

# pulled SUB: both pull (and acknowledge) what SUB holds; the data, sorted, compared.
# pull_summary SIDE CODE sets RESULT and that side's ack IDs (acks_SIDE).
pull_summary() {
    local side=$1 code=$2 acks data
    if [[ $code != 200 ]]; then
        result "$side" "$code"
        acks='[]'
    else
        { read -r acks && read -r data; } < <(jq -c '[.receivedMessages[]?.ackId],
            ([.receivedMessages[]?.message.data | @base64d] | sort)' "$tmp/body.$side")
        RESULT="$code $data"
    fi
    printf -v "acks_$side" '%s' "$acks"
}
pulled() {
    local ours saved_ours=$acks_ours saved_google=$acks_google
    both POST "{P}/subscriptions/$1:pull" '{"maxMessages":100,"returnImmediately":true}'
    pull_summary ours "$code_ours"
    ours=$RESULT
    pull_summary google "$code_google"
    compare "pull $1" "$ours" "$RESULT"
    [[ $acks_ours == '[]' && $acks_google == '[]' ]] ||
        both POST "{P}/subscriptions/$1:acknowledge" '{"ackIds":{ACKS}}'
    acks_ours=$saved_ours
    acks_google=$saved_google
}

# take SUB [MAX]: both pull SUB (without acknowledging); the data, sorted, is compared (or
# the JQ projection), and each server's ack IDs are kept for {ACKS}.
take() {
    local ours google data='[.receivedMessages[]?.message.data | @base64d] | sort'
    both POST "{P}/subscriptions/$1:pull" "{\"maxMessages\":${2:-100},\"returnImmediately\":true}"
    acks_ours=$(jq -c '[.receivedMessages[]?.ackId]' "$tmp/body.ours")
    acks_google=$(jq -c '[.receivedMessages[]?.ackId]' "$tmp/body.google")
    if [[ -n ${JQ-} ]]; then
        result ours "$code_ours"
        ours=$RESULT
        result google "$code_google"
        google=$RESULT
    else
        ours="$code_ours $(jq -c "$data" "$tmp/body.ours")"
        google="$code_google $(jq -c "$data" "$tmp/body.google")"
    fi
    compare "take $1" "$ours" "$google"
}

# publish TOPIC MESSAGES_JSON: a fixture on both servers; a failure to publish ends the run.
publish() {
    local body side
    body=$(jq -c '{messages: [.[] | .data |= @base64]}' <<<"$2") || exit 1
    for side in ours google; do
        [[ $(send "$side" POST "{P}/topics/$1:publish" "$body") == 200 ]] ||
            { echo "pubsub_diff: publishing to $1 ($side) failed: $(cat "$tmp/body.$side")" >&2; exit 1; }
    done
}

# ---- run ----

if [[ ! -x $GOOGLE_EMULATOR ]] || ! command -v java >/dev/null; then
    echo "SKIPPING $name: Google's Pub/Sub emulator (gcloud components install pubsub-emulator) or java is missing"
    exit 0
fi
if [[ ! -x $BIN_DIR/emulator ]]; then
    echo "pubsub_diff: no $BIN_DIR/emulator; build first (make)" >&2
    exit 1
fi
[[ ${VERBOSE:-0} != 2 ]] || echo "start: ${SECONDS}s"
start_google || exit 1 # the JVM takes seconds: ours starts meanwhile
start_ours || exit 1
wait_google || exit 1
[[ ${VERBOSE:-0} != 2 ]] || echo "both up: ${SECONDS}s"

files=("$@")
((${#files[@]})) || files=("$here"/diff_corpus/*.sh)
for file in "${files[@]}"; do
    # shellcheck source=/dev/null
    source "$file"; [[ ${VERBOSE:-0} != 2 ]] || echo "${file##*/}: ${SECONDS}s"
done
((stale == 0)) || echo "pubsub_diff: $stale wrong notes are stale (Google's emulator agrees now; see STALE above)"
if ((failures)); then
    echo "$name: $failures of $checks checks FAILED"
    exit 1
fi
echo "$name: all $checks checks passed"
