#!/usr/bin/env bash
# bigtable_diff: the differential test of our Bigtable data plane and table admin API
# against Google's Bigtable emulator (cbtemulator, from gcloud's bigtable component). Starts
# both on free loopback ports (ours: the whole stack, --ephemeral), then runs
# tests/bigtable/bigtable_diff.js, which replays the cases of tests/bigtable/bigtable_corpus.js
# and tests/bigtable/bigtable_admin_corpus.js on both and compares the results check by
# check (see its header).
#
#   tests/bigtable/bigtable_diff.sh [case-name-substring ...]     (make bigtable-diff)
#   (BIN_DIR: our binaries, default <repo>/bin; CBTEMULATOR: Google's emulator; VERBOSE=1)
#
# Without cbtemulator, node or tests/node/node_modules the test prints a SKIPPING line and
# counts nothing. Ends with "test_bigtable_diff: all N checks passed" or "F of N checks
# FAILED" (scripts/test-all counts those).
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
name=test_bigtable_diff
BIN_DIR="${BIN_DIR:-$repo/bin}"
# CBTEMULATOR: Google's emulator; by default gcloud's (its SDK root, or Debian's package path)
if [[ -z "${CBTEMULATOR:-}" ]]; then
    CBTEMULATOR="$(gcloud info --format='value(installation.sdk_root)' 2>/dev/null)/platform/bigtable-emulator/cbtemulator"
    [[ -x "$CBTEMULATOR" ]] || CBTEMULATOR=/usr/lib/google-cloud-sdk/platform/bigtable-emulator/cbtemulator
fi
tmp="$(mktemp -d "${TMPDIR:-/tmp}/bigtable-diff.XXXXXX")"
google_pid=""
ours_pid=""

# stop PID: SIGTERM, then SIGKILL after 10 s; reaped.
stop() {
    local pid=$1 _
    kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}
cleanup() {
    [[ -z "$google_pid" ]] || stop "$google_pid"
    [[ -z "$ours_pid" ]] || stop "$ours_pid"
    rm -rf "$tmp"
}
trap cleanup EXIT

skip() {
    echo "SKIPPING $name: $1"
    exit 0
}

port_in_use() { (: </dev/tcp/127.0.0.1/"$1") 2>/dev/null; }

# free_ports N: the first of N consecutive free ports, below the ephemeral range.
free_ports() {
    local base p busy _
    for _ in $(seq 50); do
        base=$((10240 + RANDOM % 20000))
        busy=0
        for ((p = 0; p < $1; p++)); do
            if port_in_use $((base + p)); then busy=1; break; fi
        done
        if (( ! busy )); then echo "$base"; return 0; fi
    done
    return 1
}

# wait_until SECONDS COMMAND...: COMMAND succeeds within SECONDS (tried every 100 ms).
wait_until() {
    local tries=$(($1 * 10))
    shift
    while ! "$@" >/dev/null 2>&1; do
        (( --tries > 0 )) || return 1
        sleep 0.1
    done
}

[[ -x "$CBTEMULATOR" ]] || skip "Google's Bigtable emulator (gcloud components install bigtable) is not installed"
command -v node >/dev/null || skip "node is not installed"
[[ -d "$repo/tests/node/node_modules/@google-cloud/bigtable" ]] ||
    skip "tests/node/node_modules has no @google-cloud/bigtable (tests/integ/test_node_clients.sh installs it)"
if [[ ! -x "$BIN_DIR/emulator" ]]; then
    echo "$name: no $BIN_DIR/emulator; build first (make)" >&2
    exit 1
fi

port=$(free_ports 1) || { echo "$name: no free port" >&2; exit 1; }
"$CBTEMULATOR" -host 127.0.0.1 -port "$port" >"$tmp/google.log" 2>&1 &
google_pid=$!
export GOOGLE_BIGTABLE="127.0.0.1:$port"
wait_until 20 port_in_use "$port" || {
    echo "$name: Google's emulator did not start: $(tail -n 5 "$tmp/google.log")" >&2
    exit 1
}

base=$(free_ports 6) || { echo "$name: no free port base" >&2; exit 1; }
"$BIN_DIR/emulator" --ephemeral --port-base "$base" >"$tmp/ours.log" 2>&1 &
ours_pid=$!
export OURS_BIGTABLE="http://127.0.0.1:$((base + 3))"
stack_healthy() {
    curl -sf --max-time 2 "http://127.0.0.1:$base/emulator/v1/status" | jq -e 'all(.services[]; .healthy)'
}
wait_until 30 stack_healthy || {
    echo "$name: our emulator did not start: $(tail -n 5 "$tmp/ours.log")" >&2
    exit 1
}

NODE_NO_WARNINGS=1 timeout 300 node "$here/bigtable_diff.js" "$@" | tee "$tmp/out"
status=${PIPESTATUS[0]}
summary=$(tail -n 1 "$tmp/out")
if [[ "$summary" =~ ^([0-9]+)\ checks,\ ([0-9]+)\ failed$ ]]; then
    checks=${BASH_REMATCH[1]}
    failures=${BASH_REMATCH[2]}
    if (( failures == 0 && status == 0 )); then
        echo "$name: all $checks checks passed"
        exit 0
    fi
    echo "$name: $failures of $checks checks FAILED"
    exit 1
fi
echo "$name: the harness stopped (status $status) before its summary"
exit 1
