#!/usr/bin/env bash
# test_runner_stream: the runner's streaming text source, Google's
# Stream_GCS_Text_to_Cloud_PubSub template: the files matching the pattern at launch become
# messages, then each new file at the next poll (every 10 s of emulator time), each read
# once; and a restart of the stack does not publish a file again.
source "$(dirname "$0")/lib.sh"

PROJECT=stream-project
P=projects/$PROJECT
DATA="$TEST_TMP/data"
mkdir -p "$DATA"
start_persistent
LOC="$RUNNER_URL/v1b3/$P/locations/us-central1"

job_state() { api GET "$LOC/jobs/$1"; jq -r .currentState <<<"$BODY"; }
wait_state() {
    local job=$1 want=$2 seconds=${3:-60}
    wait_for "$seconds" "job $job in $want" bash -c "[[ \$(curl -s '$LOC/jobs/$job' | jq -r .currentState) == '$want' ]]"
}
advance() { api POST "$CONTROL_URL/emulator/v1/clock:advance" "{\"seconds\": $1}"; expect_status 200; }
pull_texts() {
    api POST "$PUBSUB_URL/v1/$P/subscriptions/$1:pull" '{"maxMessages": 100, "returnImmediately": true}'
    jq -r '[.receivedMessages[]?.message.data | @base64d] | sort | join(",")' <<<"$BODY"
    local ids
    ids=$(jq -c '{ackIds: [.receivedMessages[]?.ackId]}' <<<"$BODY")
    api POST "$PUBSUB_URL/v1/$P/subscriptions/$1:acknowledge" "$ids"
}
texts() { tr ',' '\n' <<<"$1" | grep -v '^$' | sort | paste -sd, -; }

section "Stream_GCS_Text_to_Cloud_PubSub: new files become messages"
mkdir -p "$DATA/gcs/runner-bkt/incoming"
printf 'first line\nsecond line\n' >"$DATA/gcs/runner-bkt/incoming/a.txt"
api PUT "$PUBSUB_URL/v1/$P/topics/lines" '{}'
api PUT "$PUBSUB_URL/v1/$P/subscriptions/lines-sub" "{\"topic\":\"$P/topics/lines\"}"
expect_status 200
api POST "$LOC/templates" "{\"jobName\":\"watcher\",\"gcsPath\":\"gs://dataflow-templates/latest/Stream_GCS_Text_to_Cloud_PubSub\",\"parameters\":{\"inputFilePattern\":\"gs://runner-bkt/incoming/*.txt\",\"outputTopic\":\"$P/topics/lines\"}}"
expect_status 200
expect_json .type JOB_TYPE_STREAMING
ST_ID=$(jq -r .id <<<"$BODY")
got=""
for _ in $(seq 1 100); do got="$got,$(pull_texts lines-sub)"; [[ "$got" == *second* ]] && break; sleep 0.2; done
expect_eq "first line,second line" "$(texts "$got")" "the lines of the file present at launch are published"
printf 'third line\n' >"$DATA/gcs/runner-bkt/incoming/b.txt"
advance 11 # the next poll, 10 s of emulator time later
got=""
for _ in $(seq 1 100); do got="$got,$(pull_texts lines-sub)"; [[ "$got" == *third* ]] && break; sleep 0.2; done
expect_eq "third line" "$(texts "$got")" "only the new file's line is published at the next poll"

section "after a restart, files already read are not published again"
stop_stack
start_persistent
wait_state "$ST_ID" JOB_STATE_RUNNING 30
expect_eq JOB_STATE_RUNNING "$(job_state "$ST_ID")" "the watcher runs again"
printf 'fourth line\n' >"$DATA/gcs/runner-bkt/incoming/c.txt"
advance 11
got=""
for _ in $(seq 1 100); do got="$got,$(pull_texts lines-sub)"; [[ "$got" == *fourth* ]] && break; sleep 0.2; done
expect_eq "fourth line" "$(texts "$got")" "only the file added meanwhile is published"

section "cancel"
api PUT "$LOC/jobs/$ST_ID" '{"requestedState":"JOB_STATE_CANCELLED"}'
expect_status 200
wait_state "$ST_ID" JOB_STATE_CANCELLED 30
expect_eq JOB_STATE_CANCELLED "$(job_state "$ST_ID")" "the watcher is cancelled"

stop_stack
finish
