# bench_lib.sh: what the benchmark scripts share: free ports, bounded waits, wrk runs.
# Every load is bounded in time (BENCH_SECONDS, default 5) and in connections (16).
set -uo pipefail

BENCH_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$BENCH_LIB_DIR/../.." && pwd)"
BIN_DIR="${BIN_DIR:-$REPO_DIR/bin}"
BENCH_DIR="${BENCH_DIR:-$REPO_DIR/build/release/bench}"
BENCH_SECONDS="${BENCH_SECONDS:-5}"
BENCH_CONNECTIONS=16
BENCH_TMP="$(mktemp -d "${TMPDIR:-/tmp}/cmek-bench.XXXXXX")"
BENCH_PIDS=()

command -v wrk >/dev/null || { echo "wrk is required: scripts/install-deps --dev" >&2; exit 1; }

bench_cleanup() {
    local pid
    for pid in "${BENCH_PIDS[@]+"${BENCH_PIDS[@]}"}"; do
        kill "$pid" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
    done
    rm -rf "$BENCH_TMP"
}
trap bench_cleanup EXIT

port_free() { ! (: </dev/tcp/127.0.0.1/"$1") 2>/dev/null; }

# free_base COUNT: a random port with COUNT free ports from it, below the kernel's
# ephemeral range (so no outgoing connection can be holding one of them).
free_base() {
    local count=$1 base i ok low
    low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
    for _ in $(seq 50); do
        base=$(( 10240 + (RANDOM % ((low - 10240 - 16) / 10)) * 10 ))
        ok=1
        for (( i = 0; i < count; i++ )); do port_free $((base + i)) || ok=0; done
        (( ok )) && { echo "$base"; return 0; }
    done
    return 1
}

# start_bg COMMAND...: starts a server in the background, remembered for clean-up.
start_bg() {
    "$@" >>"$BENCH_TMP/servers.log" 2>&1 &
    BENCH_PIDS+=($!)
}

stop_last() {
    local pid=${BENCH_PIDS[-1]} children
    children=$(pgrep -P "$pid") # those that would outlive it (Google's emulator_main)
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    [[ -z $children ]] || kill $children 2>/dev/null
    unset 'BENCH_PIDS[-1]'
}

# wait_http URL: until URL answers (at most 15 s).
wait_http() {
    for _ in $(seq 150); do
        curl -s -o /dev/null "$1" && return 0
        sleep 0.1
    done
    echo "no answer from $1" >&2
    return 1
}

# wrk_rate URL [LUA_SCRIPT]: requests/s of a bounded wrk run; fails on non-2xx answers.
wrk_rate() {
    local url=$1 script=${2:-} out
    local args=(-t2 -c"$BENCH_CONNECTIONS" -d"${BENCH_SECONDS}s" --latency)
    [[ -n $script ]] && args+=(-s "$script")
    out=$(wrk "${args[@]}" "$url") || return 1
    if grep -q "Non-2xx" <<<"$out"; then
        echo "non-2xx answers from $url:" >&2
        echo "$out" >&2
        return 1
    fi
    awk '/Requests\/sec/ {printf "%d", $2}' <<<"$out"
}

# post_script FILE JSON_BODY: a wrk Lua script that POSTs the body.
post_script() {
    cat >"$1" <<LUA
wrk.method = "POST"
wrk.body = '$2'
wrk.headers["Content-Type"] = "application/json"
LUA
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0 ? 100 * a / b : 0) }'; }
