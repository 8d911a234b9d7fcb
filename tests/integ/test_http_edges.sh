#!/usr/bin/env bash
# test_http_edges.sh: the HTTP layer of every process (em_http) against hostile and odd
# requests, on a real stack: HEAD, too many query parameters, an over-long URL, huge
# headers, oversized bodies (declared and chunked: read and dropped up to 1 MiB past the
# limit, then refused), and a first request libmicrohttpd
# would refuse with its own HTML page (bad version, request line, header line, Host,
# Content-Length, 64 KB heads) are answered at once with Google's JSON error; and
# 1,100 slow clients on a service and on the control plane leave /health and real
# requests answering, until their requests' deadline (10 s from the first byte) closes
# them. Raw requests go through tests/integ/http_client.py (python3).
# full-run-only: 1,100 slow clients held until their deadline; `FAST=1 tests/integ/run-all`
# (scripts/test-all --fast) skips it
# shellcheck source=tests/integ/lib.sh
source "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || { echo "$TEST_NAME: python3 is required" >&2; exit 1; }
CLIENT="$INTEG_DIR/http_client.py"
SLOW_CLIENTS=1100 # more than libmicrohttpd's default connection limit (FD_SETSIZE - 4)
SLOW_SECONDS=13   # past the 10 s request deadline
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true # the slow clients' sockets

start_stack --max-body-bytes 65536
KMS_PORT=$((PORT_BASE + 1))
KEY_RINGS="$KMS_URL/v1/projects/edge-project/locations/global/keyRings"

# raw PORT REQUEST: sends a raw request; sets HTTP_STATUS, BODY, RAW (the client's JSON).
raw() {
    RAW=$(python3 "$CLIENT" raw "$1" "$2" 2>&1) || RAW='{}'
    LAST_REQUEST="raw $(head -c 60 <<<"$2")"
    HTTP_STATUS=$(jq -r '.status' <<<"$RAW" 2>/dev/null || echo 0)
    BODY=$(jq -r '.body' <<<"$RAW" 2>/dev/null || echo "")
}

# expect_raw FIELD VALUE: a field of the raw client's report.
expect_raw() { expect_eq "$2" "$(jq -r ".$1" <<<"$RAW" 2>/dev/null)" "$LAST_REQUEST: $1"; }

# expect_quick MAX_MS: the raw answer came within MAX_MS.
expect_quick() {
    local ms
    ms=$(jq -r '.ms' <<<"$RAW" 2>/dev/null || echo 99999)
    if (( ms <= $1 )); then _pass "$LAST_REQUEST in $ms ms"; else _fail "$LAST_REQUEST took $ms ms (at most $1)"; fi
}

# repeat TEXT COUNT [SEPARATOR]: TEXT COUNT times, joined by SEPARATOR.
repeat() {
    local items joined
    mapfile -t items < <(yes "$1" | head -n "$2")
    joined=$(printf "%s${3:-}" "${items[@]}")
    printf %s "${joined%"${3:-}"}"
}

section "HEAD is GET without a body, on every port"
raw "$KMS_PORT" 'HEAD /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n'
expect_status 200
expect_raw content_type "application/json; charset=UTF-8"
expect_raw body ""
for url in "$CONTROL_URL" "$KMS_URL" "$PUBSUB_URL"; do
    LAST_REQUEST="curl -I $url/health"
    HTTP_STATUS=$(curl -s -o /dev/null -w '%{http_code}' -I --max-time 5 "$url/health") || HTTP_STATUS=000
    expect_status 200
done

# get WHAT URL [curl args...]: a GET described as WHAT (the URLs here are long); sets
# HTTP_STATUS, BODY and SECONDS_TAKEN (curl's time for the whole answer).
get() {
    local what=$1 url=$2 out
    shift 2
    LAST_REQUEST="GET $what"
    out=$(curl -s -o "$TEST_TMP/get.body" -w '%{http_code} %{time_total}' --max-time 5 "$@" "$url") ||
        out="000 5"
    HTTP_STATUS=${out% *}
    SECONDS_TAKEN=${out#* }
    BODY=$(cat "$TEST_TMP/get.body" 2>/dev/null || true)
}

# expect_within SECONDS: the last get answered within SECONDS.
expect_within() {
    if awk -v t="$SECONDS_TAKEN" -v max="$1" 'BEGIN { exit !(t <= max) }'; then
        _pass "$LAST_REQUEST in $SECONDS_TAKEN s"
    else
        _fail "$LAST_REQUEST took $SECONDS_TAKEN s (at most $1)"
    fi
}

section "too many query parameters: 400 at once, not a hang"
get "keyRings with 463 query parameters" "$KEY_RINGS?$(repeat 'pageSize=1' 463 '&')"
expect_status 400
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "Too many query parameters: 463" "the message counts them"
expect_within 1
get "keyRings with 33 query parameters" "$KEY_RINGS?$(repeat 'x=1' 33 '&')"
expect_status 400
expect_error_json 400 INVALID_ARGUMENT
api GET "$KEY_RINGS?pageSize=5&alt=json"
expect_status 200

section "an over-long URL: 414 JSON"
get "keyRings with a 20 KB page token" "$KEY_RINGS?pageToken=$(repeat a 20000 '')"
expect_status 414
expect_error_json 414 INVALID_ARGUMENT
expect_within 1
get "a 20 KB project name" "$KMS_URL/v1/projects/$(repeat p 20000 '')"
expect_status 414
expect_error_json 414 INVALID_ARGUMENT

section "huge headers: 431 JSON"
get "/health with a 40 KB header" "$KMS_URL/health" -H "X-Big: $(repeat x 40000 '')"
expect_status 431
expect_error_json 431 INVALID_ARGUMENT
expect_within 1
headers=()
value=$(repeat v 120 '')
for i in $(seq 1 300); do headers+=(-H "X-H$i: $value"); done
get "control /health with 300 headers of 120 bytes" "$CONTROL_URL/health" "${headers[@]}"
expect_status 431
expect_error_json 431 INVALID_ARGUMENT

section "oversized bodies: 413 JSON, after dropping up to 1 MiB past the limit"
raw "$KMS_PORT" 'POST /v1/projects/edge-project/locations/global/keyRings?keyRingId=r HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 99999999999\r\n\r\n'
expect_status 413
expect_error_json 413 INVALID_ARGUMENT
expect_quick 1000
# a little over the limit: read to its end (and dropped), then answered, so a client
# still sending sees the answer rather than a reset
RAW=$(python3 "$CLIENT" chunked "$KMS_PORT" "/v1/projects/edge-project/locations/global/keyRings?keyRingId=r" 16384 40)
LAST_REQUEST="chunked body of 40 x 16 KB (limit 64 KB)"
expect_raw status 413
BODY=$(jq -r .body <<<"$RAW")
expect_error_json 413 INVALID_ARGUMENT
expect_raw chunks_sent 40
# far over it: refused once 1 MiB past the limit has come (the 69th chunk), not read on
RAW=$(python3 "$CLIENT" chunked "$KMS_PORT" "/v1/projects/edge-project/locations/global/keyRings?keyRingId=r" 16384 200)
LAST_REQUEST="chunked body of 200 x 16 KB (limit 64 KB)"
expect_raw status 413
BODY=$(jq -r .body <<<"$RAW")
expect_error_json 413 INVALID_ARGUMENT
sent=$(jq -r .chunks_sent <<<"$RAW")
if (( sent >= 69 && sent <= 80 )); then _pass "refused after $sent chunks"; else _fail "chunked body refused after $sent chunks (1 MiB past the limit at 69)"; fi
api GET "$KMS_URL/health"
expect_status 200

section "a malformed first request: Google's JSON at once, then the connection closes"
# libmicrohttpd 0.9.75 answers these with its own HTML page (or closes without an answer,
# or serves them); em_http_accept checks the first request's head before it does (em_http.c)
# refused PORT REQUEST HTTP STATUS WORDS: REQUEST is answered at once with Google's JSON
# error HTTP/STATUS, a message containing WORDS, and Connection: close.
refused() {
    raw "$1" "$2"
    expect_status "$3"
    expect_raw content_type "application/json; charset=UTF-8"
    expect_error_json "$3" "$4"
    expect_contains "$(jq -r .error.message <<<"$BODY" 2>/dev/null)" "$5" "$LAST_REQUEST: the message names the problem"
    expect_raw closed true
    expect_quick 1000
}
for port in "$KMS_PORT" "$PORT_BASE"; do # a service (epoll pool) and the control plane (thread per connection)
    refused "$port" 'GET /health HTTP/3.0\r\nHost: t\r\n\r\n' 505 UNIMPLEMENTED "HTTP/3.0 is not supported"
    refused "$port" 'GET /health HTTP/1.1\r\nHost: t\r\nNo colon here\r\n\r\n' 400 INVALID_ARGUMENT "no colon"
done
refused "$KMS_PORT" 'GET /health HTTP/2.0\r\nHost: t\r\n\r\n' 505 UNIMPLEMENTED "HTTP/2.0 is not supported"
refused "$KMS_PORT" 'GET /health\r\nHost: t\r\n\r\n' 400 INVALID_ARGUMENT "no HTTP version"
refused "$KMS_PORT" '\x16\x03\x01 {garbage} ??\r\n\r\n' 400 INVALID_ARGUMENT "Malformed request line"
refused "$KMS_PORT" 'GARBAGE\r\n\r\n' 400 INVALID_ARGUMENT "no spaces"
refused "$KMS_PORT" 'GET /health HTTP/1.1\r\nX-A: 1\r\n\r\n' 400 INVALID_ARGUMENT "must have a Host header"
refused "$KMS_PORT" "POST /v1/projects/edge-project/locations/global/keyRings?keyRingId=r HTTP/1.1\\r\\nHost: t\\r\\nContent-Length: 12abc\\r\\n\\r\\n" \
    400 INVALID_ARGUMENT '"12abc" is not a number'
refused "$KMS_PORT" "POST /v1/projects/edge-project/locations/global/keyRings?keyRingId=r HTTP/1.1\\r\\nHost: t\\r\\nContent-Length: 2\\r\\nContent-Length: 12\\r\\n\\r\\n{}" \
    400 INVALID_ARGUMENT "different values (2 and 12)"
# over libmicrohttpd's 64 KB of memory per connection, where it sent its 431 and 414 pages
refused "$KMS_PORT" "GET /health HTTP/1.1\\r\\nHost: t\\r\\nX-Big: $(repeat x 70000 '')\\r\\n\\r\\n" \
    431 INVALID_ARGUMENT "headers are too large"
refused "$KMS_PORT" "GET /v1/projects/$(repeat p 70000 '') HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n" \
    414 INVALID_ARGUMENT "URL is too long"
api GET "$KMS_URL/health"
expect_status 200

section "slow clients: $SLOW_CLIENTS on kms and on the control plane, probed every second"
python3 "$CLIENT" slow "$KMS_PORT" "$SLOW_CLIENTS" "$SLOW_SECONDS" /health \
    /v1/projects/edge-project/locations/global/keyRings >"$TEST_TMP/slow_kms.json" &
kms_load=$!
python3 "$CLIENT" slow "$PORT_BASE" "$SLOW_CLIENTS" "$SLOW_SECONDS" /health \
    /emulator/v1/status >"$TEST_TMP/slow_control.json" &
control_load=$!
wait "$kms_load" "$control_load"
for name in kms control; do
    report=$(cat "$TEST_TMP/slow_$name.json")
    echo "  $name: $report"
    LAST_REQUEST="$name under $SLOW_CLIENTS slow clients"
    expect_eq "$SLOW_CLIENTS" "$(jq -r .opened <<<"$report")" "$name: slow connections opened"
    expect_eq 0 "$(jq -r .probe_failures <<<"$report")" "$name: probes that failed"
    max_ms=$(jq -r .probe_max_ms <<<"$report")
    if (( max_ms < 2000 )); then _pass "$name: slowest probe $max_ms ms"; else _fail "$name: slowest probe took $max_ms ms"; fi
    expect_eq "$SLOW_CLIENTS" "$(jq -r .closed_by_server <<<"$report")" "$name: slow connections closed by the server"
    first=$(jq -r '.closed_after_s[0] // 0' <<<"$report")
    last=$(jq -r '.closed_after_s[1] // 99' <<<"$report")
    if awk -v a="$first" -v b="$last" 'BEGIN { exit !(a >= 9.5 && b <= 12.5) }'; then
        _pass "$name: closed $first..$last s after their first byte"
    else
        _fail "$name: slow connections closed $first..$last s after their first byte (deadline 10 s)"
    fi
done
expect_healthy "$KMS_URL"
expect_healthy "$CONTROL_URL"

finish
