#!/usr/bin/env bash
# test_pubsub_durability: kill -9 of the pubsub process while 4 publishers publish 200
# messages (each retried until acknowledged). The control plane restarts it; every
# message whose publish was acknowledged can be pulled, message IDs are never reused,
# and acknowledged messages never come back after another kill -9 (at-least-once
# delivery, acks durable). A deleted topic's backlog, kept for its subscription, survives
# a kill -9 too.
# full-run-only: kill -9 drills under load; `FAST=1 tests/integ/run-all` (scripts/test-all
# --fast) skips it
source "$(dirname "$0")/lib.sh"

start_stack
V1="$PUBSUB_URL/v1/projects/durable-project"
T=projects/durable-project/topics

pubsub_pid() { curl -s "$CONTROL_URL/emulator/v1/status" | jq -r '.services[] | select(.name=="pubsub") | .pid'; }
pubsub_restarts() { curl -s "$CONTROL_URL/emulator/v1/status" | jq -r '.services[] | select(.name=="pubsub") | .restarts'; }
pubsub_back() {
    curl -s "$CONTROL_URL/emulator/v1/status" |
        jq -e --arg old "$1" '.services[] | select(.name=="pubsub") |
            .healthy and .state == "RUNNING" and (.pid | tostring) != $old' >/dev/null
}
# publish_one DATA: one publish; prints its message ID, fails when it was not acknowledged
publish_one() {
    curl -s --max-time 5 -X POST -H 'Content-Type: application/json' \
        -d "{\"messages\":[{\"data\":\"$(printf '%s' "$1" | base64 -w0)\"}]}" \
        "$V1/topics/ledger:publish" | jq -er '.messageIds[0]' 2>/dev/null
}
# publisher N: PER_PUBLISHER publishes, each retried until acknowledged (pubsub may be
# down meanwhile), recording acknowledged message IDs; fails after 120 s in all. A fixed
# count, not a time window: how many get through does not depend on the machine's load.
PER_PUBLISHER=50
publisher() {
    local n=$1 i id deadline=$(( $(now_ms) + 120000 ))
    for (( i = 0; i < PER_PUBLISHER; i++ )); do
        until id=$(publish_one "w$n-$i"); do
            (( $(now_ms) < deadline )) || return 1
            sleep 0.1
        done
        echo "$id" >>"$TEST_TMP/acked.$n"
    done
}
acked_count() { cat "$TEST_TMP"/acked.* 2>/dev/null | wc -l; }
acked_at_least() { (( $(acked_count) >= $1 )); }
# drain SUB: pulls (and acknowledges) until a pull comes back empty; prints message IDs
drain() {
    local i ids
    for (( i = 0; i < 50; i++ )); do
        api POST "$V1/subscriptions/$1:pull" '{"maxMessages":1000,"returnImmediately":true}'
        ids=$(jq -r '.receivedMessages[]?.message.messageId' <<<"$BODY")
        [[ -n $ids ]] || break
        printf '%s\n' "$ids"
        api POST "$V1/subscriptions/$1:acknowledge" "$(jq -c '{ackIds: [.receivedMessages[].ackId]}' <<<"$BODY")"
    done
}

section "fixtures"
api PUT "$V1/topics/ledger" '{}'
expect_status 200
api PUT "$V1/subscriptions/ledger-sub" "{\"topic\":\"$T/ledger\"}"
expect_status 200

section "kill -9 under load"
PUBLISHERS=()
for n in 1 2 3 4; do publisher "$n" & PUBLISHERS+=($!); done
wait_for 60 "publishes acknowledged before the kill" acked_at_least 20
BEFORE=$(acked_count)
OLD_PID=$(pubsub_pid)
kill -9 "$OLD_PID"
expect_eq 0 $? "killed pubsub (pid $OLD_PID)"
wait_for 30 "the control plane to restart pubsub" pubsub_back "$OLD_PID"
AT_RESTART=$(acked_count)
expect_eq 1 "$(pubsub_restarts)" "restarted once"
FINISHED=0
for pid in "${PUBLISHERS[@]}"; do wait "$pid" && FINISHED=$((FINISHED + 1)); done
expect_eq 4 "$FINISHED" "every publisher got all its publishes acknowledged within 120 s"
cat "$TEST_TMP"/acked.* | sort -n | uniq >"$TEST_TMP/acked"
ACKED=$(wc -l <"$TEST_TMP/acked")
expect_eq 1 "$(( BEFORE >= 20 && ACKED > AT_RESTART ))" \
    "publishes were acknowledged before the kill ($BEFORE) and after the restart ($AT_RESTART -> $ACKED)"
expect_eq "$ACKED" "$(acked_count)" "no message ID was handed out twice"

section "every acknowledged publish is delivered"
drain ledger-sub | sort -n | uniq >"$TEST_TMP/pulled"
missing=$(comm -23 "$TEST_TMP/acked" "$TEST_TMP/pulled" | head -5)
expect_eq "" "$missing" "acknowledged messages missing after the restart"
api POST "$V1/topics/ledger:publish" '{"messages":[{"data":"YWZ0ZXI="}]}'
NEW_ID=$(jq -r '.messageIds[0]' <<<"$BODY")
MAX_ID=$(sort -n "$TEST_TMP/pulled" | tail -n 1)
expect_eq 1 "$(( NEW_ID > MAX_ID ))" "IDs keep growing after the restart ($NEW_ID > $MAX_ID)"
drain ledger-sub >/dev/null

section "acknowledged messages stay acknowledged through another kill -9"
OLD_PID=$(pubsub_pid)
kill -9 "$OLD_PID"
wait_for 30 "the control plane to restart pubsub" pubsub_back "$OLD_PID"
api POST "$V1/subscriptions/ledger-sub:pull" '{"maxMessages":1000,"returnImmediately":true}'
expect_eq "{}" "$BODY" "nothing is redelivered"
api GET "$V1/subscriptions/ledger-sub"
expect_json .topic "$T/ledger"

section "a deleted topic's backlog survives kill -9, then goes with its last subscription"
api PUT "$V1/topics/retired" '{}'
api PUT "$V1/subscriptions/retired-sub" "{\"topic\":\"$T/retired\"}"
api POST "$V1/topics/retired:publish" '{"messages":[{"data":"b2xk"},{"data":"b2xkZXI="}]}'
expect_status 200
api DELETE "$V1/topics/retired"
expect_status 200
api PUT "$V1/topics/retired" '{}' # the name again, while the old data is kept
expect_status 200
OLD_PID=$(pubsub_pid)
kill -9 "$OLD_PID"
wait_for 30 "the control plane to restart pubsub" pubsub_back "$OLD_PID"
api POST "$V1/subscriptions/retired-sub:pull" '{"maxMessages":10,"returnImmediately":true}'
expect_eq "old,older" "$(jq -r '[.receivedMessages[]?.message.data | @base64d] | join(",")' <<<"$BODY")" \
    "the backlog of the deleted topic after the restart"
api GET "$V1/subscriptions/retired-sub"
expect_json .topic _deleted-topic_
retained() {
    curl -s "$CONTROL_URL/emulator/v1/protectedResources?service=pubsub" |
        jq -r --arg p "$T/retired/deleted/" '[.protectedResources[] | select(.name | startswith($p))] | length'
}
expect_eq 1 "$(retained)" "its CMEK protection is still listed"
api DELETE "$V1/subscriptions/retired-sub"
expect_status 200
expect_eq 0 "$(retained)" "and gone with the last subscription"
api GET "$V1/topics/retired"
expect_status 200

expect_healthy "$PUBSUB_URL"
finish
