#!/usr/bin/env bash
# test_runner_stream: the runner's streaming text source, Google's
# Stream_GCS_Text_to_Cloud_PubSub template: the files matching the pattern at launch become
# messages, then each new file at the next poll (every 10 s of emulator time), each read
# once; and a restart of the stack does not publish a file again. Also the watermark of a
# Pub/Sub source: a backlog older than its window is counted, not dropped as late, while an
# event time older than what the job already saw is late.
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

section "a Pub/Sub backlog older than its window is counted in that window, not dropped"
for t in events counts; do
    api PUT "$PUBSUB_URL/v1/$P/topics/$t" '{}'
    expect_status 200
    api PUT "$PUBSUB_URL/v1/$P/subscriptions/$t-sub" "{\"topic\":\"$P/topics/$t\"}"
    expect_status 200
done
mkdir -p "$DATA/gcs/runner-bkt/pipelines"
cat >"$DATA/gcs/runner-bkt/pipelines/count.json" <<EOF
{"steps": [
  {"name": "read", "transform": "ReadPubSub", "subscription": "$P/subscriptions/events-sub", "timestampAttribute": "ts"},
  {"name": "minute", "transform": "Window", "input": "read", "type": "fixed", "size": "60s"},
  {"name": "count", "transform": "CountPerElement", "input": "minute", "counters": {"late": "dropped"}},
  {"name": "line", "transform": "Map", "input": "count", "fn": "format", "template": "{key}: {value}"},
  {"name": "publish", "transform": "WritePubSub", "input": "line", "topic": "$P/topics/counts"}
]}
EOF
b64() { printf %s "$1" | base64 -w0; }
api POST "$PUBSUB_URL/v1/$P/topics/events:publish" \
    "{\"messages\":[{\"data\":\"$(b64 a)\"},{\"data\":\"$(b64 b)\"},{\"data\":\"$(b64 a)\"}]}"
expect_status 200
advance 180 # three minutes pass before the job reads them
api POST "$LOC/flexTemplates:launch" '{"launchParameter":{"jobName":"counter","containerSpecGcsPath":"gs://runner-bkt/pipelines/count.json"}}'
expect_status 200
CT_ID=$(jq -r .job.id <<<"$BODY")
got=""
for _ in $(seq 1 100); do got="$got,$(pull_texts counts-sub)"; [[ "$got" == *b:* ]] && break; sleep 0.2; done
expect_eq "a: 2,b: 1" "$(texts "$got")" "the backlog's window is emitted with all three"
late_count() { curl -s "$LOC/jobs/$CT_ID/metrics" | jq '[.metrics[] | select(.name.origin == "user" and .name.name == "late") | .scalar] | add // 0'; }
expect_eq 0 "$(late_count)" "nothing was late"
now=$(curl -s "$CONTROL_URL/emulator/v1/clock" | jq -r .now)
old_ts=$(date -u -d "@$(( $(date -d "$now" +%s) - 600 ))" +%Y-%m-%dT%H:%M:%SZ)
api POST "$PUBSUB_URL/v1/$P/topics/events:publish" \
    "{\"messages\":[{\"data\":\"$(b64 old)\",\"attributes\":{\"ts\":\"$old_ts\"}}]}"
expect_status 200
wait_for 30 "the late element" bash -c "[[ \$(curl -s '$LOC/jobs/$CT_ID/metrics' | jq '[.metrics[] | select(.name.name == \"late\") | .scalar] | add // 0') == 1 ]]"
expect_eq 1 "$(late_count)" "an event time ten minutes behind the watermark is late: dropped"
advance 61
sleep 1
expect_eq "" "$(pull_texts counts-sub)" "and never counted"

section "cancel"
for job in "$ST_ID" "$CT_ID"; do
    api PUT "$LOC/jobs/$job" '{"requestedState":"JOB_STATE_CANCELLED"}'
    expect_status 200
    wait_state "$job" JOB_STATE_CANCELLED 30
    expect_eq JOB_STATE_CANCELLED "$(job_state "$job")" "job $job is cancelled"
done

section "a windowed count written as text: one file per window, nothing dropped as late"
printf 'the cat the dog\n' >"$DATA/gcs/runner-bkt/words.txt"
api POST "$LOC/jobs" '{"name":"windowed","environment":{"sdkPipelineOptions":{"pipeline":{"steps":[
  {"name":"r","transform":"ReadText","path":"gs://runner-bkt/words.txt"},
  {"name":"s","transform":"FlatMap","input":"r","fn":"split_words"},
  {"name":"w","transform":"Window","input":"s","type":"fixed","size":"1m"},
  {"name":"c","transform":"CountPerElement","input":"w"},
  {"name":"f","transform":"Map","input":"c","fn":"format","template":"{key}: {value}"},
  {"name":"o","transform":"WriteText","input":"f","path":"gs://runner-bkt/windowed/out","counters":{"late":"dropped"}}]}}}}'
expect_status 200
WINDOWED=$(jq -r .id <<<"$BODY")
wait_state "$WINDOWED" JOB_STATE_DONE 30
expect_eq "cat: 1,dog: 1,the: 2" "$(cat "$DATA"/gcs/runner-bkt/windowed/out-* 2>/dev/null | sort | paste -sd, -)" \
    "the window's counts reach WriteText (they were dropped as late)"
expect_eq 1 "$(ls "$DATA"/gcs/runner-bkt/windowed/ | wc -l)" "one file for the one window"

stop_stack
finish
