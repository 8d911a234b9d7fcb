#!/usr/bin/env bash
# bench_spanner: Spanner's data plane over REST, 16 connections, BENCH_SECONDS per run, in
# one run of the script:
#
#   point read by primary key through executeSql (SELECT ... WHERE K = @k, one row)
#   one-row commit (single-use read-write transaction, one insertOrUpdate mutation)
#
# against our Spanner (a CMEK database, and one without a key) and Google's Spanner
# emulator (gateway_main, its REST gateway). Each of ours is measured twice and the better
# run kept (the machine is shared). Google's emulator is measured twice too, after a
# warm-up run; the better of the two is its figure.
#
# Google's emulator runs one read-write transaction at a time: a commit that arrives while
# another is active is answered 409 ABORTED ("The emulator only supports one transaction at
# a time."), which a client retries. Its commit figure is therefore the rate of commits that
# succeeded, and the aborts are printed beside it; ours must answer every request 2xx.
#
# Targets (DESIGN section 8, README "Performance"): each >= 10x Google's emulator; CMEK
# costs < 20 % against the database without a key.
source "$(dirname "$0")/bench_lib.sh"
THREADS="${BENCH_THREADS:-$(( $(nproc) < 4 ? $(nproc) : 4 ))}"
GOOGLE_GATEWAY="${SPANNER_GATEWAY:-/usr/lib/google-cloud-sdk/bin/cloud_spanner_emulator/gateway_main}"
PROJECT=bench-project
TABLE='CREATE TABLE T (K INT64 NOT NULL, V STRING(MAX)) PRIMARY KEY (K)'

base=$(free_base 10) || { echo "no free ports" >&2; exit 1; }
json() { curl -sf -X "$1" -H 'Content-Type: application/json' "$2" -d "$3"; }

# setup URL DATABASE [KEY]: instance (once), database with T and one row, a session;
# prints the session's name.
setup() {
    local url=$1 db=$2 key=${3:-} enc=""
    [[ -n $key ]] && enc=",\"encryptionConfig\":{\"kmsKeyName\":\"$key\"}"
    json POST "$url/v1/projects/$PROJECT/instances" \
        "{\"instanceId\":\"bench\",\"instance\":{\"config\":\"projects/$PROJECT/instanceConfigs/emulator-config\",\"displayName\":\"Benchmark\",\"nodeCount\":1}}" >/dev/null
    local inst="$url/v1/projects/$PROJECT/instances/bench"
    for _ in $(seq 50); do
        json POST "$inst/databases" "{\"createStatement\":\"CREATE DATABASE \`$db\`\",\"extraStatements\":[\"$TABLE\"]$enc}" >/dev/null && break
        sleep 0.2
    done
    for _ in $(seq 100); do
        [[ $(curl -s "$inst/databases/$db" | jq -r .state) == READY ]] && break
        sleep 0.1
    done
    local session
    session=$(json POST "$inst/databases/$db/sessions" '{}' | jq -r .name) || return 1
    json POST "$url/v1/$session:commit" '{"singleUseTransaction":{"readWrite":{}},"mutations":[{"insertOrUpdate":{"table":"T","columns":["K","V"],"values":[["1","one"]]}}]}' >/dev/null || return 1
    echo "$session"
}

post_script "$BENCH_TMP/read.lua" \
    '{"sql":"SELECT K, V FROM T WHERE K = @k","params":{"k":"1"},"paramTypes":{"k":{"code":"INT64"}}}'
post_script "$BENCH_TMP/commit.lua" \
    '{"singleUseTransaction":{"readWrite":{}},"mutations":[{"insertOrUpdate":{"table":"T","columns":["K","V"],"values":[["2","two"]]}}]}'
best() { (( $1 > $2 )) && echo "$1" || echo "$2"; }

# succeeded_rate URL LUA_SCRIPT: 2xx answers/s of a bounded wrk run, for Google's emulator's
# commits (see above); the non-2xx count goes to $BENCH_TMP/aborts.
succeeded_rate() {
    local out
    out=$(wrk -t2 -c"$BENCH_CONNECTIONS" -d"${BENCH_SECONDS}s" -s "$2" "$1") || return 1
    awk '/requests in/ { total = $1; secs = $4 + 0 }
         /Non-2xx or 3xx responses/ { failed = $5 }
         END { printf "%d\n", (secs > 0 ? (total - failed) / secs : 0); print failed + 0 > "/dev/stderr" }' \
        <<<"$out" 2>>"$BENCH_TMP/aborts"
}

# measure SESSION_URL [PEER]: "read commit" (better of two runs each). Ours (no PEER):
# every answer must be 2xx. PEER: Google's emulator, whose commits may abort.
measure() {
    local r1 r2 c1 c2 commit_rate=wrk_rate
    [[ ${2:-} == peer ]] && commit_rate=succeeded_rate
    r1=$(wrk_rate "$1:executeSql" "$BENCH_TMP/read.lua") || return 1
    c1=$($commit_rate "$1:commit" "$BENCH_TMP/commit.lua") || return 1
    r2=$(wrk_rate "$1:executeSql" "$BENCH_TMP/read.lua") || return 1
    c2=$($commit_rate "$1:commit" "$BENCH_TMP/commit.lua") || return 1
    echo "$(best "$r1" "$r2") $(best "$c1" "$c2")"
}

start_bg "$BIN_DIR/emulator" --ephemeral --port-base "$base" --services kms,spanner \
    --threads "$THREADS" --log-level warning
OURS="http://127.0.0.1:$((base + 4))"
KMS="http://127.0.0.1:$((base + 1))/v1/projects/$PROJECT/locations/us-central1"
wait_http "$OURS/health" || exit 1
wait_http "http://127.0.0.1:$((base + 1))/health" || exit 1
json POST "$KMS/keyRings?keyRingId=bench" '{}' >/dev/null &&
    json POST "$KMS/keyRings/bench/cryptoKeys?cryptoKeyId=db" '{"purpose":"ENCRYPT_DECRYPT"}' >/dev/null ||
    { echo "cannot create the benchmark key" >&2; exit 1; }
# emulator-config has no region: the CMEK database's key is checked by grammar there
cmek_session=$(setup "$OURS" cmek "projects/$PROJECT/locations/us-central1/keyRings/bench/cryptoKeys/db") ||
    { echo "cannot create the CMEK database" >&2; exit 1; }
plain_session=$(setup "$OURS" plain) || { echo "cannot create the database" >&2; exit 1; }
read -r cmek_read cmek_commit < <(measure "$OURS/v1/$cmek_session") || exit 1
read -r plain_read plain_commit < <(measure "$OURS/v1/$plain_session") || exit 1
stop_last

google_read=0
google_commit=0
if [[ -x $GOOGLE_GATEWAY ]]; then
    gport=$((base + 8))
    start_bg "$GOOGLE_GATEWAY" --hostname 127.0.0.1 --grpc_port $((base + 9)) --http_port "$gport"
    GOOGLE="http://127.0.0.1:$gport"
    for _ in $(seq 300); do curl -s -o /dev/null "$GOOGLE/v1/projects/$PROJECT/instances" && break; sleep 0.1; done
    google_session=$(setup "$GOOGLE" plain) && [[ $google_session == projects/* ]] ||
        { echo "Google's Spanner emulator did not start on port $gport" >&2; exit 1; }
    wrk_rate "$GOOGLE/v1/$google_session:executeSql" "$BENCH_TMP/read.lua" >/dev/null # warm-up
    read -r google_read google_commit < <(measure "$GOOGLE/v1/$google_session" peer) || exit 1
    stop_last
else
    echo "!!!!!!!! Google's Spanner emulator (gateway_main) not found: no peer to compare with !!!!!!!!"
fi

printf '%-58s %12s %12s\n' "Spanner, $BENCH_SECONDS s runs, 16 connections" "reads/s" "commits/s"
printf '%-58s %12s %12s\n' "our Spanner, CMEK database" "$cmek_read" "$cmek_commit"
printf '%-58s %12s %12s\n' "our Spanner, database without a key" "$plain_read" "$plain_commit"
printf '%-58s %12s %12s\n' "Google's Spanner emulator (REST gateway, warmed up)" "$google_read" "$google_commit"
if [[ -s $BENCH_TMP/aborts ]]; then
    printf "Google's emulator aborted %s of its commits per run (one transaction at a time); its figure counts the others\n" \
        "$(paste -sd/ "$BENCH_TMP/aborts")"
fi
for what in read commit; do
    c=cmek_$what p=plain_$what g=google_$what
    cost=$(awk -v c="${!c}" -v p="${!p}" 'BEGIN { printf "%.1f", (p > 0 ? 100 * (p - c) / p : 0) }')
    printf '%s: CMEK costs %s %% against no key (target < 20 %%): %s\n' "$what" "$cost" \
        "$(awk -v c="${!c}" -v p="${!p}" 'BEGIN { print (100 * (p - c) < 20 * p ? "MET" : "NOT MET") }')"
    if (( ${!g} > 0 )); then
        times=$(awk -v c="${!c}" -v g="${!g}" 'BEGIN { printf "%.2f", c / g }')
        printf '%s: CMEK = %sx Google'"'"'s emulator (target >= 10x): %s\n' "$what" "$times" \
            "$(awk -v c="${!c}" -v g="${!g}" 'BEGIN { print (c >= 10 * g ? "MET" : "NOT MET") }')"
    fi
done
