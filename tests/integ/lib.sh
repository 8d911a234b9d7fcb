# shellcheck shell=bash
# lib.sh: what every integration test (tests/integ/test_*.sh) sources.
#
# A test starts a real stack on loopback with a free port base and an ephemeral data
# directory, drives it with curl (api) and the real gcloud (setup_gcloud, gcloud_as),
# checks what came back with the expect_* assertions, and ends with `finish`:
#
#   source "$(dirname "$0")/lib.sh"
#   start_stack --iam enforce
#   section "health"
#   api GET "$CONTROL_URL/health"
#   expect_status 200
#   finish
#
# Stack:      start_stack [emulator flags...], stop_stack; exports PORT_BASE, CONTROL_URL,
#             KMS_URL, PUBSUB_URL, BIGTABLE_URL, SPANNER_URL, RUNNER_URL.
# REST:       api METHOD URL [JSON_BODY | @FILE] sets HTTP_STATUS and BODY; never fails.
#             With API_PRINCIPAL set, the request carries "Authorization: Bearer <it>";
#             API_AUTHORIZATION sends that Authorization header as is instead, and
#             API_HEADER adds one more header line ("Name: value").
#             grant URL MEMBER ROLE sets a resource's policy to that binding (as $OWNER);
#             protected_state SERVICE NAME prints a CMEK resource's state.
# gcloud:     setup_gcloud [project] [principal] (HAVE_GCLOUD=1; 0 under FAST=1, the fast
#             loop, and under GCLOUD=0, make asan's integration pass; or with a loud
#             SKIPPING line when gcloud is missing; with a principal, gcloud sends it as its
#             token), gcloud_as PRINCIPAL args... runs gcloud as that principal;
#             require_gcloud_clients sets SDK_ROOT (gcloud's generated API clients).
# Assertions: expect_status, expect_eq, expect_contains, expect_json, expect_error_json,
#             expect_healthy; each failure prints what was expected and what came, is
#             counted, and the test goes on. section "text" prints a heading.
# Clean-up:   on_exit "command" runs at exit; the stack and TEST_TMP always go.
#             A stack that exits with a non-zero status, or a sanitizer report from any
#             process (sanitizer builds write them to $TEST_TMP/sanitizer.<pid>), fails
#             the test, even after `finish`.
#
# Environment: BIN_DIR (default <repo>/bin), VERBOSE=1 prints passing checks too.

set -uo pipefail

INTEG_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$INTEG_DIR/../.." && pwd)"
BIN_DIR="${BIN_DIR:-$REPO_DIR/bin}"
TEST_NAME="$(basename "$0" .sh)"
TEST_TMP="$(mktemp -d "${TMPDIR:-/tmp}/cmek-integ.XXXXXX")"
STACK_START_TIMEOUT=30
STACK_STOP_TIMEOUT=15

CHECKS=0
FAILURES=0
HTTP_STATUS=""
BODY=""
LAST_REQUEST=""
export HAVE_GCLOUD=0 # set by setup_gcloud, read by the tests
STACK_PID=""
_EXIT_HOOKS=()

# Sanitizer builds (make asan): every process reports into TEST_TMP, where we look.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$TEST_TMP/sanitizer"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$TEST_TMP/sanitizer"

for _tool in curl jq; do
    command -v "$_tool" >/dev/null || { echo "$TEST_NAME: $_tool is required (scripts/install-deps)" >&2; exit 1; }
done
if [[ ! -x "$BIN_DIR/emulator" ]]; then
    echo "$TEST_NAME: no $BIN_DIR/emulator; build first (make) or set BIN_DIR" >&2
    exit 1
fi

# --- clean-up ---

on_exit() { _EXIT_HOOKS+=("$1"); }

_lib_cleanup() {
    local status=$? failures_before=$FAILURES hook
    for hook in "${_EXIT_HOOKS[@]+"${_EXIT_HOOKS[@]}"}"; do
        eval "$hook" || true
    done
    stop_stack
    check_sanitizer_reports
    rm -rf "$TEST_TMP"
    if (( FAILURES > failures_before )); then
        echo "$TEST_NAME: FAILED while cleaning up"
        exit 1
    fi
    exit "$status"
}

# check_sanitizer_reports: fails (once per report) when an ASan/UBSan report was written.
check_sanitizer_reports() {
    local report
    for report in "$TEST_TMP"/sanitizer.*; do
        [[ -e "$report" ]] || continue
        _fail "sanitizer report $(basename "$report"):"
        head -n 40 "$report" >&2
        rm -f "$report"
    done
}
trap _lib_cleanup EXIT

# --- time ---

now_ms() { date +%s%3N; }

# wait_for SECONDS DESCRIPTION COMMAND...: runs COMMAND every 100 ms until it succeeds;
# returns 1 (after printing why) once SECONDS have passed.
wait_for() {
    local seconds=$1 what=$2
    shift 2
    local deadline=$(( $(now_ms) + seconds * 1000 ))
    until "$@" >/dev/null 2>&1; do
        if (( $(now_ms) >= deadline )); then
            echo "  timed out after ${seconds}s waiting for: $what" >&2
            return 1
        fi
        sleep 0.1
    done
}

# --- stacks ---

# port_in_use PORT: whether something listens on 127.0.0.1:PORT.
port_in_use() { (: </dev/tcp/127.0.0.1/"$1") 2>/dev/null; }

# free_port_base: a random port base whose six ports are all free.
# Bases come from below the kernel's ephemeral port range, so no outgoing connection
# (a keep-alive socket of another test) can be holding one of the ports.
free_port_base() {
    local base p busy _ low
    low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
    for _ in $(seq 1 50); do
        base=$(( 10240 + (RANDOM * 32768 + RANDOM) % (low - 10240 - 16) ))
        busy=0
        for p in 0 1 2 3 4 5; do
            if port_in_use $((base + p)); then busy=1; break; fi
        done
        if (( ! busy )); then echo "$base"; return 0; fi
    done
    return 1
}

# stack_healthy CONTROL_URL: the status endpoint answers and every service is healthy.
stack_healthy() {
    curl -sf --max-time 2 "$1/emulator/v1/status" | jq -e 'all(.services[]; .healthy)' >/dev/null
}

# wait_stack_healthy PID CONTROL_URL LOG: waits until healthy; fails early if PID exits.
wait_stack_healthy() {
    local pid=$1 url=$2 log=$3
    local deadline=$(( $(now_ms) + STACK_START_TIMEOUT * 1000 ))
    until stack_healthy "$url"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "  the emulator (pid $pid) exited while starting; its log:" >&2
            tail -n 20 "$log" >&2
            return 1
        fi
        if (( $(now_ms) >= deadline )); then
            echo "  the stack at $url was not healthy after ${STACK_START_TIMEOUT}s; log tail:" >&2
            tail -n 20 "$log" >&2
            return 1
        fi
        sleep 0.1
    done
}

# stop_pid PID: SIGTERM, up to STACK_STOP_TIMEOUT seconds, then SIGKILL; reaps it and
# returns its exit status (0 when it was gone already).
stop_pid() {
    local pid=$1
    kill -TERM "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    if ! wait_for "$STACK_STOP_TIMEOUT" "pid $pid to stop" _process_gone "$pid"; then
        echo "  pid $pid ignored SIGTERM; killing it" >&2
        kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
}

# _process_gone PID: PID has exited (a zombie counts as exited).
_process_gone() {
    [[ ! -e "/proc/$1" || "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" == Z ]]
}

_export_urls() {
    export PORT_BASE=$1
    export CONTROL_URL="http://127.0.0.1:$((PORT_BASE + 0))"
    export KMS_URL="http://127.0.0.1:$((PORT_BASE + 1))"
    export PUBSUB_URL="http://127.0.0.1:$((PORT_BASE + 2))"
    export BIGTABLE_URL="http://127.0.0.1:$((PORT_BASE + 3))"
    export SPANNER_URL="http://127.0.0.1:$((PORT_BASE + 4))"
    export RUNNER_URL="http://127.0.0.1:$((PORT_BASE + 5))"
}

# start_stack [emulator flags...]: an ephemeral stack on a free port base, healthy.
# Exits the test when the stack cannot start (nothing else could be checked).
start_stack() {
    local base _
    for _ in 1 2 3; do
        base=$(free_port_base) || { echo "$TEST_NAME: no free port base found" >&2; exit 1; }
        _export_urls "$base"
        "$BIN_DIR/emulator" --ephemeral --port-base "$PORT_BASE" "$@" \
            >>"$TEST_TMP/stack.log" 2>&1 &
        STACK_PID=$!
        if wait_stack_healthy "$STACK_PID" "$CONTROL_URL" "$TEST_TMP/stack.log"; then
            return 0
        fi
        stop_pid "$STACK_PID" || true
        STACK_PID=""
        grep -q "cannot listen" "$TEST_TMP/stack.log" || break # only a port race is retried
        echo "  port base $base was taken meanwhile; trying another" >&2
    done
    echo "$TEST_NAME: the stack did not start" >&2
    exit 1
}

# stop_stack: stops the stack start_stack started; fails the test when it does not exit
# cleanly (status 0).
stop_stack() {
    [[ -n "$STACK_PID" ]] || return 0
    local status=0
    stop_pid "$STACK_PID" || status=$?
    STACK_PID=""
    if (( status != 0 )); then
        _fail "the emulator exited with status $status when stopped; log tail:"
        tail -n 20 "$TEST_TMP/stack.log" >&2
    fi
}

# start_persistent [emulator flags...]: a stack on the data directory $DATA (kept across
# restarts, unlike start_stack's), on PORT_BASE (a free one the first time), healthy.
# Ends the test when it cannot start.
start_persistent() {
    [[ -n "${PORT_BASE:-}" ]] || _export_urls "$(free_port_base)"
    "$BIN_DIR/emulator" --data-dir "$DATA" --port-base "$PORT_BASE" "$@" >>"$TEST_TMP/stack.log" 2>&1 &
    STACK_PID=$!
    wait_stack_healthy "$STACK_PID" "$CONTROL_URL" "$TEST_TMP/stack.log" ||
        { _fail "the stack did not start"; finish; }
}

# kill9_service NAME: kill -9 the stack's service NAME and wait (60 s at most) until the
# control plane has restarted it, healthy, under another pid; each step a check.
service_pid_of() {
    curl -s "$CONTROL_URL/emulator/v1/status" | jq -r --arg n "$1" '.services[] | select(.name==$n) | .pid'
}
_service_back() {
    curl -s "$CONTROL_URL/emulator/v1/status" |
        jq -e --arg n "$1" --arg old "$2" '.services[] | select(.name==$n) |
            .healthy and .state == "RUNNING" and (.pid | tostring) != $old' >/dev/null
}
kill9_service() {
    local name=$1 old
    old=$(service_pid_of "$name")
    kill -9 "$old"
    expect_eq 0 $? "killed $name (pid $old)"
    wait_for 60 "the control plane to restart $name" _service_back "$name" "$old"
}

# stop_service_promptly NAME: stops the stack's service NAME through the control plane and
# checks it stopped within 5 s, on its own (the supervisor sends SIGKILL after 10 s).
stop_service_promptly() {
    local started took
    started=$(now_ms)
    api POST "$CONTROL_URL/emulator/v1/services/$1:stop" '{}'
    expect_status 200
    took=$(( $(now_ms) - started ))
    if (( took < 5000 )); then _pass "$1 stopped in $took ms"; else _fail "$1 took $took ms to stop"; fi
}

# require_gcloud_clients: sets SDK_ROOT, the SDK holding the gcloud on PATH, whose
# generated clients (lib/googlecloudsdk/generated_clients) list every API method; ends the
# test with a loud SKIPPING line without gcloud, and fails it without python3.
require_gcloud_clients() {
    if ! command -v gcloud >/dev/null 2>&1; then
        echo "!!!!!!!! SKIPPING $TEST_NAME: gcloud not installed (its clients list the methods) !!!!!!!!" >&2
        finish
    fi
    command -v python3 >/dev/null || { echo "$TEST_NAME: python3 is required" >&2; exit 1; }
    # bin/gcloud is in the SDK (`gcloud info` takes seconds)
    SDK_ROOT=$(dirname "$(dirname "$(readlink -f "$(command -v gcloud)")")")
    [[ -d $SDK_ROOT/lib/googlecloudsdk ]] ||
        SDK_ROOT=$(gcloud info --format='value(installation.sdk_root)' 2>/dev/null)
}

# --- REST ---

# api METHOD URL [JSON_BODY | @FILE]: sets HTTP_STATUS ("000" when nothing answered)
# and BODY.
api() {
    local method=$1 url=$2
    local args=(-s -o "$TEST_TMP/api.body" -w '%{http_code}' -X "$method" --max-time 120)
    if [[ $# -ge 3 ]]; then
        args+=(-H 'Content-Type: application/json' --data-binary "$3")
    fi
    if [[ -n "${API_AUTHORIZATION+set}" ]]; then
        args+=(-H "Authorization: $API_AUTHORIZATION")
    elif [[ -n "${API_PRINCIPAL:-}" ]]; then
        args+=(-H "Authorization: Bearer $API_PRINCIPAL")
    fi
    if [[ -n "${API_HEADER:-}" ]]; then
        args+=(-H "$API_HEADER")
    fi
    LAST_REQUEST="$method $url"
    rm -f "$TEST_TMP/api.body"
    HTTP_STATUS=$(curl "${args[@]}" "$url" 2>/dev/null) || true
    [[ -n "$HTTP_STATUS" ]] || HTTP_STATUS="000"
    BODY=$(cat "$TEST_TMP/api.body" 2>/dev/null || true)
}

# regional_keys PROJECT_PATH REGION...: key ring r and key k (ENCRYPT_DECRYPT) in each
# region, each step a check: $PROJECT_PATH/locations/REGION/keyRings/r/cryptoKeys/k.
regional_keys() {
    local project=$1 region
    shift
    for region in "$@"; do
        api POST "$KMS_URL/v1/$project/locations/$region/keyRings?keyRingId=r" '{}'
        expect_status 200
        api POST "$KMS_URL/v1/$project/locations/$region/keyRings/r/cryptoKeys?cryptoKeyId=k" \
            '{"purpose":"ENCRYPT_DECRYPT"}'
        expect_status 200
    done
}

# --- gcloud ---

# setup_gcloud [project] [principal]: an isolated gcloud configuration pointing at the
# stack; with a principal (under --iam enforce: user:developer@example.com, the owner of
# every project) gcloud sends it as its access token, otherwise no token at all.
setup_gcloud() {
    local project=${1:-emulator-project} principal=${2:-}
    # the fast loop (FAST=1) and the ASan pass (GCLOUD=0): curl and Node.js only; the full
    # run's make test has gcloud
    if [[ ${FAST:-0} == 1 || ${GCLOUD:-1} == 0 ]]; then
        echo "$TEST_NAME: FAST=1 or GCLOUD=0 skips the gcloud sections (make test has them)"
        HAVE_GCLOUD=0
        return 0
    fi
    if ! command -v gcloud >/dev/null 2>&1; then
        echo "!!!!!!!! SKIPPING gcloud tests: gcloud not installed !!!!!!!!" >&2
        HAVE_GCLOUD=0
        return 0
    fi
    export CLOUDSDK_CONFIG="$TEST_TMP/gcloud"
    export CLOUDSDK_CORE_DISABLE_PROMPTS=1
    "$REPO_DIR/scripts/gcloud-config" --port-base "$PORT_BASE" --project "$project" \
        --config-dir "$CLOUDSDK_CONFIG" ${principal:+--principal "$principal"} >/dev/null
    HAVE_GCLOUD=1
}

# gcloud_as PRINCIPAL args...: gcloud sending "Authorization: Bearer PRINCIPAL", from a
# copy of the configuration with credentials on and an access token file.
gcloud_as() {
    local principal=$1
    shift
    local dir
    dir="$TEST_TMP/gcloud-as/$(printf %s "$principal" | tr -c 'A-Za-z0-9._-' '_')"
    if [[ ! -d "$dir" ]]; then
        mkdir -p "$dir"
        cp -r "$CLOUDSDK_CONFIG/configurations" "$CLOUDSDK_CONFIG/active_config" "$dir/"
        printf %s "$principal" >"$dir/token"
        sed -i -e '/^access_token_file = /d' \
            -e "s|^disable_credentials = .*\$|disable_credentials = false\naccess_token_file = $dir/token|" \
            "$dir/configurations/config_emulator"
    fi
    CLOUDSDK_CONFIG="$dir" gcloud "$@"
}

# protected_state SERVICE NAME: the CMEK state (ACCESSIBLE, INACCESSIBLE, ...) the control
# plane's protectedResources shows for the resource NAME of SERVICE ("pubsub", ...).
protected_state() {
    api GET "$CONTROL_URL/emulator/v1/protectedResources?service=$1"
    jq -r --arg n "$2" '.protectedResources[] | select(.name == $n) | .state' <<<"$BODY"
}

# grant URL_OF_RESOURCE MEMBER ROLE: sets the resource's policy to that one binding, as
# $OWNER (under --iam enforce, the default principal owns every project); status 200.
grant() {
    API_PRINCIPAL=$OWNER api POST "$1:setIamPolicy" \
        "{\"policy\": {\"bindings\": [{\"role\": \"$3\", \"members\": [\"$2\"]}]}}"
    expect_status 200
}

# --- assertions ---

section() { echo "== $*"; }

_pass() {
    CHECKS=$((CHECKS + 1))
    if [[ "${VERBOSE:-0}" == 1 ]]; then echo "  ok: $*"; fi
}

_fail() {
    CHECKS=$((CHECKS + 1))
    FAILURES=$((FAILURES + 1))
    echo "  FAIL: $*" >&2
}

_short() { local text=$1; (( ${#text} > 600 )) && text="${text:0:600}..."; printf %s "$text"; }

# expect_status CODE: the last api call answered HTTP CODE.
expect_status() {
    if [[ "$HTTP_STATUS" == "$1" ]]; then
        _pass "$LAST_REQUEST -> $1"
    else
        _fail "$LAST_REQUEST: expected HTTP $1, got $HTTP_STATUS; body: $(_short "$BODY")"
    fi
}

# expect_eq EXPECTED ACTUAL WHAT
expect_eq() {
    if [[ "$1" == "$2" ]]; then
        _pass "$3"
    else
        _fail "$3: expected '$(_short "$1")', got '$(_short "$2")'"
    fi
}

# expect_contains HAYSTACK NEEDLE WHAT
expect_contains() {
    if [[ "$1" == *"$2"* ]]; then
        _pass "$3"
    else
        _fail "$3: expected to contain '$2', got '$(_short "$1")'"
    fi
}

# expect_json JQ_EXPR EXPECTED: jq -r JQ_EXPR applied to BODY gives EXPECTED.
expect_json() {
    local actual
    actual=$(jq -r "$1" <<<"$BODY" 2>&1) || actual="(jq failed: $actual)"
    if [[ "$actual" == "$2" ]]; then
        _pass "$LAST_REQUEST: $1 == $2"
    else
        _fail "$LAST_REQUEST: $1: expected '$2', got '$(_short "$actual")'; body: $(_short "$BODY")"
    fi
}

# expect_error_json CODE STATUS: BODY is Google's error JSON with this code and status
# and a message.
expect_error_json() {
    local got
    got=$(jq -r '[.error.code, .error.status, (.error.message | type == "string" and length > 0)] | @tsv' \
        <<<"$BODY" 2>/dev/null) || got="(not JSON)"
    if [[ "$got" == "$1"$'\t'"$2"$'\t'"true" ]]; then
        _pass "$LAST_REQUEST -> $1 $2"
    else
        _fail "$LAST_REQUEST: expected Google's error JSON with code $1, status $2 and a message; got $(_short "$BODY")"
    fi
}

# expect_healthy URL: URL/health answers {"status":"SERVING"}.
expect_healthy() {
    local body
    body=$(curl -s --max-time 5 "$1/health" 2>/dev/null) || body=""
    if [[ "$(jq -r .status <<<"$body" 2>/dev/null)" == "SERVING" ]]; then
        _pass "$1 healthy"
    else
        _fail "$1/health: expected {\"status\":\"SERVING\"}, got '$(_short "$body")'"
    fi
}

# finish: prints the summary; exits 1 when a check failed.
finish() {
    if (( FAILURES > 0 )); then
        echo "$TEST_NAME: $FAILURES of $CHECKS checks FAILED"
        exit 1
    fi
    echo "$TEST_NAME: all $CHECKS checks passed"
    exit 0
}
