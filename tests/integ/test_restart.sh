#!/usr/bin/env bash
# test_restart: a restart never takes healthy CMEK data offline.
#
# A stack on a persistent data directory with a CMEK topic and its subscription is
#   - stopped and started again six times (SIGTERM to the control plane and a fresh
#     bin/emulator, which is what scripts/stop-all and scripts/start-all do; one of the
#     rounds runs the scripts themselves when BIN_DIR is the repository's bin/);
#   - hit by kill -9 of kms, of pubsub, of both at once, and of the control plane;
#   - made to start pubsub while KMS is down (KMS stopped through the control plane,
#     pubsub killed and restarted by the supervisor), then KMS is started again;
#   - stopped through the control plane right after clients reset their waiting pulls
#     (it must stop at once, not be killed 10 s later).
# After each, the topic must publish and deliver within a few seconds (bounded loops),
# with no UNAVAILABLE answer once the stack reports healthy, and its protected-resource
# state must be ACCESSIBLE. Prints how long each restart took to serve the topic.
source "$(dirname "$0")/lib.sh"

P=projects/restart-project
RING=$P/locations/global/keyRings/ring
TOPIC=$P/topics/orders
DATA="$TEST_TMP/data"
SERVE_LIMIT_MS=5000
mkdir -p "$DATA"
PORT_BASE=$(free_port_base) || { echo "$TEST_NAME: no free port base" >&2; exit 1; }
_export_urls "$PORT_BASE"

# start_persistent (lib.sh) runs bin/emulator on the persistent data directory, as
# scripts/start-all does; lib.sh stops it at exit and checks its status.
service_pid() {
    curl -s --max-time 5 "$CONTROL_URL/emulator/v1/status" |
        jq -r --arg s "$1" '.services[] | select(.name == $s) | .pid'
}
service_back() { # service_back NAME OLD_PID: running again with another pid, healthy
    curl -s --max-time 5 "$CONTROL_URL/emulator/v1/status" |
        jq -e --arg s "$1" --arg old "$2" '.services[] | select(.name == $s) |
            .healthy and .state == "RUNNING" and (.pid | tostring) != $old' >/dev/null
}
ports_free() { ! port_in_use $((PORT_BASE + 1)) && ! port_in_use $((PORT_BASE + 2)); }
topic_state() {
    curl -s --max-time 5 "$CONTROL_URL/emulator/v1/protectedResources?service=pubsub" |
        jq -r --arg n "$TOPIC" '.protectedResources[] | select(.name == $n) | .state'
}

# serves WHAT [ALLOWED_503]: publishes a fresh message and pulls until it comes back, for
# at most SERVE_LIMIT_MS; prints the time it took. Fails when it does not come back, when
# a call answered 503 (unless ALLOWED_503 is 1), or when the topic is not ACCESSIBLE.
SERIAL=0
serves() {
    local what=$1 allowed_503=${2:-0} started text got unavailable=0 deadline ids
    started=$(now_ms)
    deadline=$(( started + SERVE_LIMIT_MS ))
    SERIAL=$(( SERIAL + 1 ))
    text="after-$SERIAL"
    until api POST "$PUBSUB_URL/v1/$TOPIC:publish" \
        "{\"messages\":[{\"data\":\"$(printf %s "$text" | base64 -w0)\"}]}" && [[ $HTTP_STATUS == 200 ]]; do
        [[ $HTTP_STATUS == 503 ]] && unavailable=$(( unavailable + 1 ))
        (( $(now_ms) < deadline )) || break
        sleep 0.05
    done
    got=""
    while [[ $HTTP_STATUS == 200 && $got != *"$text"* ]] && (( $(now_ms) < deadline )); do
        api POST "$PUBSUB_URL/v1/$P/subscriptions/orders-sub:pull" \
            '{"maxMessages": 100, "returnImmediately": true}'
        [[ $HTTP_STATUS == 503 ]] && unavailable=$(( unavailable + 1 ))
        got+=$(jq -r '[.receivedMessages[]?.message.data | @base64d] | join(",")' <<<"$BODY" 2>/dev/null)
        ids=$(jq -c '[.receivedMessages[]?.ackId]' <<<"$BODY" 2>/dev/null)
        [[ -n $ids && $ids != "[]" ]] && api POST "$PUBSUB_URL/v1/$P/subscriptions/orders-sub:acknowledge" "{\"ackIds\": $ids}"
    done
    local took=$(( $(now_ms) - started ))
    expect_contains "$got" "$text" "$what: the topic publishes and delivers within ${SERVE_LIMIT_MS} ms"
    (( allowed_503 )) || expect_eq 0 "$unavailable" "$what: UNAVAILABLE answers once healthy"
    expect_eq ACCESSIBLE "$(topic_state)" "$what: the topic's key state"
    echo "  $what: served after ${took} ms ($unavailable answers 503)"
}

section "fixtures: a CMEK topic with a subscription, on a persistent data directory"
start_persistent
api POST "$KMS_URL/v1/$P/locations/global/keyRings?keyRingId=ring" '{}'
expect_status 200
api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=key" '{"purpose":"ENCRYPT_DECRYPT"}'
expect_status 200
api PUT "$PUBSUB_URL/v1/$TOPIC" "{\"kmsKeyName\":\"$RING/cryptoKeys/key\"}"
expect_status 200
api PUT "$PUBSUB_URL/v1/$P/subscriptions/orders-sub" "{\"topic\":\"$TOPIC\"}"
expect_status 200
serves "first start"

section "stop and start the whole stack, six times"
for round in 1 2 3 4 5 6; do
    started=$(now_ms)
    if [[ $round == 3 && "$(cd "$BIN_DIR" && pwd)" == "$REPO_DIR/bin" ]]; then
        stop_stack
        "$REPO_DIR/scripts/start-all" --data-dir "$DATA" --port-base "$PORT_BASE" >/dev/null 2>&1
        expect_eq 0 $? "round $round: scripts/start-all"
        echo "  round $round (scripts/start-all): healthy after $(( $(now_ms) - started )) ms"
        serves "round $round (scripts/start-all)"
        "$REPO_DIR/scripts/stop-all" --port-base "$PORT_BASE" >/dev/null
        expect_eq 0 $? "round $round: scripts/stop-all"
        start_persistent
        continue
    fi
    stop_stack
    stopped=$(now_ms)
    start_persistent
    echo "  round $round: stopped in $(( stopped - started )) ms, healthy $(( $(now_ms) - stopped )) ms after the start"
    serves "round $round"
done

section "kill -9 of kms: the topic keeps serving on its cached key, KMS comes back"
OLD=$(service_pid kms)
kill -9 "$OLD"
serves "kms killed"
wait_for 30 "kms to be restarted" service_back kms "$OLD"
serves "kms restarted"

section "kill -9 of pubsub: restarted after KMS answers, serving at once"
OLD=$(service_pid pubsub)
kill -9 "$OLD"
wait_for 30 "pubsub to be restarted" service_back pubsub "$OLD"
serves "pubsub restarted"

section "kill -9 of kms and pubsub together"
OLD_KMS=$(service_pid kms)
OLD_PUBSUB=$(service_pid pubsub)
kill -9 "$OLD_KMS" "$OLD_PUBSUB"
wait_for 30 "kms to be restarted" service_back kms "$OLD_KMS"
wait_for 30 "pubsub to be restarted" service_back pubsub "$OLD_PUBSUB"
serves "kms and pubsub restarted"

section "pubsub starts while KMS is down: it retries promptly once KMS is back"
api POST "$CONTROL_URL/emulator/v1/services/kms:stop" '{}'
expect_status 200
OLD=$(service_pid pubsub)
kill -9 "$OLD"
wait_for 30 "pubsub to be restarted without KMS" service_back pubsub "$OLD"
expect_eq OFFLINE "$(topic_state)" "the topic waits for KMS"
api POST "$CONTROL_URL/emulator/v1/services/kms:start" '{}'
expect_status 200
wait_for 30 "kms to be healthy" service_back kms 0
# KMS is back: at most one backoff period (2 s) until the topic is ACCESSIBLE again
serves "KMS back after pubsub" 1

section "kill -9 of the control plane: its services go with it; a new start serves"
kill -9 "$STACK_PID"
wait "$STACK_PID" 2>/dev/null
STACK_PID=""
wait_for 20 "the services to exit with the control plane" ports_free
started=$(now_ms)
start_persistent
echo "  after the control plane's kill -9: healthy after $(( $(now_ms) - started )) ms"
serves "control plane killed and started again"

section "clients reset their waiting pulls: pubsub still stops at once"
# a pull waits up to 3 s for messages; the clients reset their connections meanwhile, and
# pubsub, stopped once the pulls are over, must not wait for calls it believes in flight
# (it did until session 35: the supervisor killed it 10 s later)
RESET=$(python3 "$INTEG_DIR/http_client.py" reset "$((PORT_BASE + 2))" \
    "/v1/$P/subscriptions/orders-sub:pull" '{"maxMessages": 10}' 6 0.5)
expect_eq 6 "$(jq -r .sent <<<"$RESET" 2>/dev/null)" "six waiting pulls sent, then reset"
sleep 3
stop_service_promptly pubsub
expect_eq 0 "$(grep -c 'still running' "$TEST_TMP/stack.log")" "no service needed SIGKILL"
api POST "$CONTROL_URL/emulator/v1/services/pubsub:start" '{}'
expect_status 200
wait_for 30 "pubsub to be healthy" service_back pubsub 0
serves "pubsub started after the resets"

section "nothing acknowledged came back"
api POST "$PUBSUB_URL/v1/$P/subscriptions/orders-sub:pull" '{"maxMessages": 100, "returnImmediately": true}'
expect_status 200
expect_eq "{}" "$BODY" "every message was delivered and acknowledged"
finish
