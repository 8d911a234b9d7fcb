#!/usr/bin/env bash
# test_runner_seed002: seed 002 end to end. Two producers (bin/emulator-produce), each with
# its own KMS key, publish envelope-encrypted messages to one topic; a streaming pipeline
# decrypts them (DecryptEnvelope: DEKs unwrapped through KMS, cached 200 s of emulator
# time), counts words per 60 s window and publishes the counts to another topic. Disabling
# producer A's key: messages whose DEK is still cached keep decrypting until the cache
# entry expires; then only A's messages go to the dead-letter topic (reason KEY_DISABLED),
# while B's are counted. Also: the KMS audit log names the job; VerifySignature passes
# signed messages and dead-letters a tampered one (BAD_SIGNATURE).
source "$(dirname "$0")/lib.sh"

PROJECT=seed-project
P=projects/$PROJECT
DATA="$TEST_TMP/data"
mkdir -p "$DATA"
_export_urls "$(free_port_base)"
"$BIN_DIR/emulator" --data-dir "$DATA" --port-base "$PORT_BASE" >>"$TEST_TMP/stack.log" 2>&1 &
STACK_PID=$!
wait_stack_healthy "$STACK_PID" "$CONTROL_URL" "$TEST_TMP/stack.log" || { _fail "the stack did not start"; finish; }
mkdir -p "$DATA/gcs/seed-bkt/pipelines"
LOC="$RUNNER_URL/v1b3/$P/locations/us-central1"
KEY_A="$P/locations/global/keyRings/producers/cryptoKeys/producer-a"
KEY_B="$P/locations/global/keyRings/producers/cryptoKeys/producer-b"

advance() { api POST "$CONTROL_URL/emulator/v1/clock:advance" "{\"seconds\": $1}"; expect_status 200; }
produce() { "$BIN_DIR/emulator-produce" --port-base "$PORT_BASE" "$@"; }
# pull_all SUB: every message now on SUB (acknowledged), one JSON object a line
pull_all() {
    local body ids
    while :; do
        body=$(curl -s -X POST "$PUBSUB_URL/v1/$P/subscriptions/$1:pull" -d '{"maxMessages": 100, "returnImmediately": true}')
        [[ $(jq '.receivedMessages | length' <<<"$body") -gt 0 ]] || break
        jq -c '.receivedMessages[].message' <<<"$body"
        ids=$(jq -c '{ackIds: [.receivedMessages[].ackId]}' <<<"$body")
        curl -s -X POST "$PUBSUB_URL/v1/$P/subscriptions/$1:acknowledge" -d "$ids" >/dev/null
    done
}
# counts SUB: the "word: n" lines published to SUB, summed per word over windows, sorted
counts() {
    pull_all "$1" | jq -r '.data | @base64d' |
        awk -F': ' '{n[$1] += $2} END {for (w in n) print w ": " n[w]}' | sort | paste -sd, -
}
metric() {
    curl -s "$LOC/jobs/$1/metrics" | jq ".metrics[] | select(.name.context.output_user_name == \"$2.out0\") | .scalar // 0"
}
wait_read() { wait_for 60 "job $1 read $2 messages" bash -c "[[ \$(curl -s '$LOC/jobs/$1/metrics' | jq '[.metrics[] | select(.name.context.output_user_name == \"read.out0\") | .scalar] | add // 0') == $2 ]]"; }
# publish_file FILE: publishes each request body (one a line) that --print wrote
publish_file() {
    local body
    while read -r body; do
        api POST "$PUBSUB_URL/v1/$P/topics/words:publish" "$body"
        expect_status 200
    done <"$1"
}

section "keys, topics, the pipeline"
api POST "$KMS_URL/v1/$P/locations/global/keyRings?keyRingId=producers" '{}'
expect_status 200
for k in producer-a producer-b; do
    api POST "$KMS_URL/v1/$P/locations/global/keyRings/producers/cryptoKeys?cryptoKeyId=$k" '{"purpose":"ENCRYPT_DECRYPT"}'
    expect_status 200
done
for t in words word-counts words-dead signed signed-ok signed-dead; do
    api PUT "$PUBSUB_URL/v1/$P/topics/$t" '{}'
    expect_status 200
done
for t in word-counts words-dead signed-ok signed-dead; do
    api PUT "$PUBSUB_URL/v1/$P/subscriptions/$t-sub" "{\"topic\":\"$P/topics/$t\"}"
    expect_status 200
done
cat >"$DATA/gcs/seed-bkt/pipelines/envelope-wordcount.json" <<'EOF'
{
  "parameters": {"input": {"required": true}, "output": {"required": true}, "dead": {"required": true}},
  "steps": [
    {"name": "read", "transform": "ReadPubSub", "topic": "${input}", "binary": true},
    {"name": "decrypt", "transform": "DecryptEnvelope", "input": "read"},
    {"name": "words", "transform": "FlatMap", "input": "decrypt", "fn": "split_words"},
    {"name": "lower", "transform": "Map", "input": "words", "fn": "lowercase"},
    {"name": "minute", "transform": "Window", "input": "lower", "type": "fixed", "size": "60s"},
    {"name": "count", "transform": "CountPerElement", "input": "minute"},
    {"name": "line", "transform": "Map", "input": "count", "fn": "format", "template": "{key}: {value}"},
    {"name": "publish", "transform": "WritePubSub", "input": "line", "topic": "${output}"},
    {"name": "dead-letter", "transform": "WritePubSub", "input": "decrypt.failed", "topic": "${dead}"}
  ]
}
EOF
api POST "$LOC/flexTemplates:launch" "{\"launchParameter\":{\"jobName\":\"envelope-wordcount\",\"containerSpecGcsPath\":\"gs://seed-bkt/pipelines/envelope-wordcount.json\",\"parameters\":{\"input\":\"$P/topics/words\",\"output\":\"$P/topics/word-counts\",\"dead\":\"$P/topics/words-dead\"}}}"
expect_status 200
JOB=$(jq -r .job.id <<<"$BODY")
wait_for 30 "the job's subscription exists" bash -c "curl -sf '$PUBSUB_URL/v1/$P/subscriptions/dataflow-$JOB-read' >/dev/null"

section "producer A's messages are made now (its key enabled), some published later"
printf 'Apple banana\napple Cherry\napple\n' |
    produce --topic "$P/topics/words" --key "$KEY_A" --rotate-messages 2 --print >"$TEST_TMP/a1.json" 2>"$TEST_TMP/a1.err"
expect_eq 0 $? "emulator-produce --print: $(cat "$TEST_TMP/a1.err")"
expect_contains "$(cat "$TEST_TMP/a1.err")" "printed 3 messages to $P/topics/words with 2 keys" "a fresh DEK every 2 messages"
expect_eq 2 "$(jq -s '[.[].messages[].attributes.dek_wrapped] | unique | length' "$TEST_TMP/a1.json")" "two wrapped DEKs in the attributes"
expect_eq "$KEY_A" "$(jq -rs '[.[].messages[].attributes.kms_keyname] | unique | join(",")' "$TEST_TMP/a1.json")" "kms_keyname names A's key"
expect_eq 0 "$(jq -rs '[.[].messages[].data | @base64d] | map(select(test("apple";"i"))) | length' "$TEST_TMP/a1.json" 2>/dev/null || echo 0)" \
    "the data is not plaintext"
produce --topic "$P/topics/words" --key "$KEY_A" --print --message "elder fig" --message "fig" >"$TEST_TMP/a2.json" 2>/dev/null
expect_eq 0 $? "A's second batch made"

section "both producers publish: the pipeline decrypts and counts words per window"
publish_file "$TEST_TMP/a1.json"
printf 'banana cherry\ncherry\n' | produce --topic "$P/topics/words" --key "$KEY_B" 2>"$TEST_TMP/b1.err"
expect_eq 0 $? "producer B publishes: $(cat "$TEST_TMP/b1.err")"
wait_read "$JOB" 5
advance 61
out=""
for _ in $(seq 1 100); do out="$(counts word-counts-sub)"; [[ -n "$out" ]] && break; sleep 0.2; done
expect_eq "apple: 3,banana: 2,cherry: 3" "$out" "the words of both producers, counted"
expect_eq "" "$(pull_all words-dead-sub)" "nothing in the dead-letter topic"
api POST "$CONTROL_URL/emulator/v1/internal:flush" '{}'
api POST "$CONTROL_URL/v2/entries:list" "{\"resourceNames\":[\"$P\"],\"filter\":\"protoPayload.methodName=\\\"Decrypt\\\"\",\"pageSize\":100}"
expect_contains "$(jq -r '[.entries[].protoPayload.metadata.callerResource] | join(" ")' <<<"$BODY")" "jobs/$JOB" \
    "the KMS audit entries of the DEK unwraps carry the job id"
expect_eq 3 "$(jq "[.entries[].protoPayload | select((.metadata.callerResource // \"\" | contains(\"$JOB\")) and (.resourceName | contains(\"/producers/\")))] | length" <<<"$BODY")" \
    "three DEKs, three unwraps (A's two, B's one)"

section "A's key disabled: its cached DEKs still decrypt until the cache entry expires"
api PATCH "$KMS_URL/v1/$KEY_A/cryptoKeyVersions/1?updateMask=state" '{"state":"DISABLED"}'
expect_status 200
publish_file "$TEST_TMP/a1.json"
produce --topic "$P/topics/words" --key "$KEY_B" --message "date" 2>/dev/null
wait_read "$JOB" 9
advance 61
out=""
for _ in $(seq 1 100); do out="$(counts word-counts-sub)"; [[ "$out" == *date* ]] && break; sleep 0.2; done
expect_eq "apple: 3,banana: 1,cherry: 1,date: 1" "$out" "A's messages under cached DEKs (unwrapped < 200 s ago) still count"
expect_eq "" "$(pull_all words-dead-sub)" "nothing in the dead-letter topic yet"

section "after the cache TTL only A's messages go to the dead-letter topic"
advance 140 # 262 s since the unwraps
publish_file "$TEST_TMP/a1.json"
publish_file "$TEST_TMP/a2.json"
printf 'banana date\n' | produce --topic "$P/topics/words" --key "$KEY_B" 2>/dev/null
wait_read "$JOB" 15
dead=""
for _ in $(seq 1 100); do dead+="$(pull_all words-dead-sub)"$'\n'; [[ $(grep -c . <<<"$dead") -ge 5 ]] && break; sleep 0.2; done
dead=$(grep . <<<"$dead")
expect_eq 5 "$(grep -c . <<<"$dead")" "exactly A's five messages are dead letters"
expect_eq "KEY_DISABLED" "$(jq -r .attributes.error_reason <<<"$dead" | sort -u | paste -sd, -)" "each with reason KEY_DISABLED"
expect_eq "$KEY_A" "$(jq -r .attributes.kms_keyname <<<"$dead" | sort -u | paste -sd, -)" "each from A's key"
expect_contains "$(jq -r .attributes.error <<<"$dead" | head -1)" "$KEY_A" "the error names the key"
advance 61
out=""
for _ in $(seq 1 100); do out="$(counts word-counts-sub)"; [[ -n "$out" ]] && break; sleep 0.2; done
expect_eq "banana: 1,date: 1" "$out" "only B's words are counted"
expect_eq JOB_STATE_RUNNING "$(curl -s "$LOC/jobs/$JOB" | jq -r .currentState)" "the job keeps running"
expect_eq 5 "$(metric "$JOB" dead-letter)" "the dead-letter step published 5 elements"

section "re-enabled, A's messages decrypt again"
api PATCH "$KMS_URL/v1/$KEY_A/cryptoKeyVersions/1?updateMask=state" '{"state":"ENABLED"}'
expect_status 200
publish_file "$TEST_TMP/a2.json"
wait_read "$JOB" 17
advance 61
out=""
for _ in $(seq 1 100); do out="$(counts word-counts-sub)"; [[ -n "$out" ]] && break; sleep 0.2; done
expect_eq "elder: 1,fig: 2" "$out" "A's second batch counted once its key is enabled"

section "KMS unreachable: the bundle waits and is retried, nothing is a dead letter"
decrypted=$(metric "$JOB" decrypt)
api POST "$CONTROL_URL/emulator/v1/faults" '{"kmsUnreachable": true}'
expect_status 200
produce --topic "$P/topics/words" --key "$KEY_B" --message "grape" 2>/dev/null # a new DEK
wait_read "$JOB" 18
wait_for 30 "the job's warning" bash -c "curl -s '$LOC/jobs/$JOB/messages?minimumImportance=JOB_MESSAGE_WARNING' | grep -q 'Cloud KMS cannot be reached to unwrap'"
expect_eq 0 $? "a JOB_MESSAGE_WARNING says the bundle waits for KMS"
expect_eq "$decrypted" "$(metric "$JOB" decrypt)" "nothing decrypted while KMS is unreachable"
expect_eq "" "$(pull_all words-dead-sub)" "and nothing dead-lettered"
api POST "$CONTROL_URL/emulator/v1/faults" '{"kmsUnreachable": false}'
wait_for 30 "the retried bundle" bash -c "[[ \$(curl -s '$LOC/jobs/$JOB/metrics' | jq '.metrics[] | select(.name.context.output_user_name == \"decrypt.out0\") | .scalar') == $((decrypted + 1)) ]]"
advance 61
out=""
for _ in $(seq 1 100); do out="$(counts word-counts-sub)"; [[ -n "$out" ]] && break; sleep 0.2; done
expect_eq "grape: 1" "$out" "the message is counted once KMS answers"

section "VerifySignature: signed messages pass, a tampered one is a dead letter"
cat >"$DATA/gcs/seed-bkt/pipelines/verify.json" <<EOF
{"steps": [
  {"name": "read", "transform": "ReadPubSub", "topic": "$P/topics/signed"},
  {"name": "verify", "transform": "VerifySignature", "input": "read"},
  {"name": "ok", "transform": "WritePubSub", "input": "verify", "topic": "$P/topics/signed-ok"},
  {"name": "bad", "transform": "WritePubSub", "input": "verify.failed", "topic": "$P/topics/signed-dead"}
]}
EOF
api POST "$LOC/flexTemplates:launch" '{"launchParameter":{"jobName":"verify","containerSpecGcsPath":"gs://seed-bkt/pipelines/verify.json"}}'
expect_status 200
VJOB=$(jq -r .job.id <<<"$BODY")
wait_for 30 "the verify job's subscription exists" bash -c "curl -sf '$PUBSUB_URL/v1/$P/subscriptions/dataflow-$VJOB-read' >/dev/null"
produce --topic "$P/topics/signed" --key "$KEY_B" --sign --message "hello" --message "world" --print >"$TEST_TMP/s.json" 2>/dev/null
expect_eq 0 $? "signed messages made"
api POST "$PUBSUB_URL/v1/$P/topics/signed:publish" "@$TEST_TMP/s.json"
expect_status 200
tampered=$(jq -c --arg d "$(printf 'hellO' | base64 -w0)" '.messages |= [.[0] | .data = $d]' "$TEST_TMP/s.json")
api POST "$PUBSUB_URL/v1/$P/topics/signed:publish" "$tampered"
expect_status 200
wait_read "$VJOB" 3
ok=""
for _ in $(seq 1 100); do ok+="$(pull_all signed-ok-sub | jq -r '.data | @base64d')"$'\n'; [[ $(grep -c . <<<"$ok") -ge 2 ]] && break; sleep 0.2; done
expect_eq "hello,world" "$(grep . <<<"$ok" | sort | paste -sd, -)" "the signed messages pass"
bad=""
for _ in $(seq 1 100); do bad="$(pull_all signed-dead-sub)"; [[ -n "$bad" ]] && break; sleep 0.2; done
expect_eq "hellO BAD_SIGNATURE" "$(jq -r '(.data | @base64d) + " " + .attributes.error_reason' <<<"$bad")" "the tampered message is a dead letter"

for j in "$JOB" "$VJOB"; do api PUT "$LOC/jobs/$j" '{"requestedState":"JOB_STATE_CANCELLED"}'; done
stop_stack
finish
