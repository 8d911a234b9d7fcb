#!/usr/bin/env bash
# test_pubsub_api: the Pub/Sub REST surface through curl. Topics and subscriptions with
# every setting, bad input answered with Google's error JSON (and the service healthy
# afterwards), Google's limits, publish / pull / acknowledge / modifyAckDeadline on the
# emulator clock, filters, ordering keys, dead-lettering, retry backoff, seek and
# snapshots, detach, topic deletion (subscriptions keep their backlog), the kmsKeyName
# location rule, secrecy: a marker published in message data and attributes appears
# in no file of the data directory; and the wire details of Google's client libraries
# (tags, enums as numbers, bodies of "") and hostile text (the null-item crash, invalid
# UTF-8 and NUL), with binary message data still going through.
source "$(dirname "$0")/lib.sh"

start_stack
PROJECT=api-project
V1="$PUBSUB_URL/v1/projects/$PROJECT"
T="projects/$PROJECT/topics"
S="projects/$PROJECT/subscriptions"
KEYS="projects/$PROJECT/locations"

advance() { api POST "$CONTROL_URL/emulator/v1/clock:advance" "{\"seconds\": $1}"; }
b64() { printf %s "$1" | base64 -w0; }
# pull SUB [MAX]: returnImmediately pull; sets BODY
pull() { api POST "$V1/subscriptions/$1:pull" "{\"maxMessages\": ${2:-10}, \"returnImmediately\": true}"; }
ack_ids() { jq -c '[.receivedMessages[]?.ackId]' <<<"$BODY"; }
datas() { jq -r '[.receivedMessages[]?.message.data | @base64d] | join(",")' <<<"$BODY"; }

section "fixtures: KMS keys in global and us-east1"
for loc in global us-east1; do
    api POST "$KMS_URL/v1/$KEYS/$loc/keyRings?keyRingId=ring" '{}'
    expect_status 200
    api POST "$KMS_URL/v1/$KEYS/$loc/keyRings/ring/cryptoKeys?cryptoKeyId=key" \
        '{"purpose":"ENCRYPT_DECRYPT"}'
    expect_status 200
done
GLOBAL_KEY="$KEYS/global/keyRings/ring/cryptoKeys/key"
EAST_KEY="$KEYS/us-east1/keyRings/ring/cryptoKeys/key"

section "topics"
api PUT "$V1/topics/orders" "{\"kmsKeyName\":\"$GLOBAL_KEY\",\"labels\":{\"team\":\"payments\"},\"messageRetentionDuration\":\"3600s\"}"
expect_status 200
expect_json .name "$T/orders"
expect_json .kmsKeyName "$GLOBAL_KEY"
expect_json .labels.team payments
expect_json .messageRetentionDuration 3600s
api PUT "$V1/topics/orders" '{}'
expect_error_json 409 ALREADY_EXISTS
api GET "$V1/topics/orders"
expect_json .kmsKeyName "$GLOBAL_KEY"
api PATCH "$V1/topics/orders" '{"topic":{"labels":{"team":"risk"}},"updateMask":"labels"}'
expect_status 200
expect_json .labels.team risk
api PATCH "$V1/topics/orders" '{"topic":{"labels":{"team":"x"}}}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "update_mask" "a patch without updateMask names it"
api PATCH "$V1/topics/orders" '{"topic":{"name":"x"},"updateMask":"name"}'
expect_error_json 400 INVALID_ARGUMENT
for t in plain-a plain-b plain-c; do api PUT "$V1/topics/$t" '{}'; done
api GET "$V1/topics?pageSize=2"
expect_json '.topics | length' 2
TOKEN=$(jq -r .nextPageToken <<<"$BODY")
api GET "$V1/topics?pageSize=2&pageToken=$TOKEN"
expect_json '.topics | length' 2
expect_json 'has("nextPageToken")' false
api GET "$V1/topics/nothing-here"
expect_error_json 404 NOT_FOUND

section "kmsKeyName: shape and location rule"
api PUT "$V1/topics/regional-no-policy" "{\"kmsKeyName\":\"$EAST_KEY\"}"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" '\"us-east1\"' "names the key's location"
expect_contains "$BODY" '\"global\"' "names the topic's (unconstrained) location"
api PUT "$V1/topics/regional-wrong" "{\"kmsKeyName\":\"$EAST_KEY\",\"messageStoragePolicy\":{\"allowedPersistenceRegions\":[\"us-east1\",\"europe-west1\"]}}"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "europe-west1" "names the uncovered region"
api PUT "$V1/topics/regional-ok" "{\"kmsKeyName\":\"$EAST_KEY\",\"messageStoragePolicy\":{\"allowedPersistenceRegions\":[\"us-east1\"],\"enforceInTransit\":true}}"
expect_status 200
expect_json '.messageStoragePolicy.allowedPersistenceRegions[0]' us-east1
expect_json '.messageStoragePolicy.enforceInTransit' true
api PUT "$V1/topics/bad-key" '{"kmsKeyName":"projects/p/keyRings/r/cryptoKeys/k"}'
expect_error_json 400 INVALID_ARGUMENT
api PUT "$V1/topics/missing-key" "{\"kmsKeyName\":\"$KEYS/global/keyRings/ring/cryptoKeys/nope\"}"
expect_error_json 404 NOT_FOUND
api PUT "$V1/topics/bad-region" '{"messageStoragePolicy":{"allowedPersistenceRegions":["mars-north1"]}}'
expect_error_json 400 INVALID_ARGUMENT
# a new key follows the same location rule as at creation (re-keying: test_pubsub_cmek.sh)
api PATCH "$V1/topics/orders" "{\"topic\":{\"kmsKeyName\":\"$EAST_KEY\"},\"updateMask\":\"kmsKeyName\"}"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "us-east1" "the key's location is named"

section "invalid resource IDs (Google's rules)"
for id in ab 1abc goog-topic 'a%20b' "$(printf 'x%.0s' {1..256})" 'caf%C3%A9'; do
    api PUT "$V1/topics/$id" '{}'
    expect_error_json 400 INVALID_ARGUMENT
    api PUT "$V1/subscriptions/$id" "{\"topic\":\"$T/orders\"}"
    expect_error_json 400 INVALID_ARGUMENT
done
api PUT "$V1/topics/$(printf 'x%.0s' {1..255})" '{}'
expect_status 200
api PUT "$V1/topics/a-b_c.d~e+f%25g" '{}'
expect_status 200
api PUT "$PUBSUB_URL/v1/projects/BAD_PROJECT/topics/topic" '{}'
expect_error_json 400 INVALID_ARGUMENT
expect_healthy "$PUBSUB_URL"

section "malformed and wrongly typed bodies"
api PUT "$V1/topics/broken" '{"labels":{"a":"b"}'
expect_error_json 400 INVALID_ARGUMENT
api PUT "$V1/topics/broken" '{"labels":{}} trailing'
expect_error_json 400 INVALID_ARGUMENT
api PUT "$V1/topics/broken" '["not","an","object"]'
expect_error_json 400 INVALID_ARGUMENT
api PUT "$V1/topics/broken" '{"labels":"x"}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "labels" "wrong type names the field"
api PUT "$V1/topics/broken" '{"colour":"red"}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" 'Unknown name \"colour\"' "unknown field named"
api PUT "$V1/subscriptions/broken" "{\"topic\":\"$T/orders\",\"ackDeadlineSeconds\":\"soon\"}"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "ack_deadline_seconds" "wrong type names the field"
api POST "$V1/topics/orders:publish" '{"messages":{"data":"aGk="}}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$V1/topics/orders:publish" '{"messages":[{"data":"***"}]}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$V1/topics/orders:publish" '{"messages":[{"data":"aGk=","attributes":{"a":1}}]}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$V1/subscriptions/broken:pull" '{"maxMessages":true}'
expect_error_json 400 INVALID_ARGUMENT
printf '\x00\x01\x02garbage' >"$TEST_TMP/binary"
api POST "$V1/topics/orders:publish" "@$TEST_TMP/binary"
expect_error_json 400 INVALID_ARGUMENT
expect_healthy "$PUBSUB_URL"

section "limits: request size, message count, attributes, ordering keys"
head -c 11000000 /dev/zero | tr '\0' 'a' >"$TEST_TMP/huge.json"
api POST "$V1/topics/orders:publish" "@$TEST_TMP/huge.json"
expect_status 413
expect_error_json 413 INVALID_ARGUMENT
jq -cn '{messages: [range(1001) | {data: "aGk="}]}' >"$TEST_TMP/many.json"
api POST "$V1/topics/orders:publish" "@$TEST_TMP/many.json"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "1000" "names the maximum"
jq -cn '{messages: [range(1000) | {data: "aGk="}]}' >"$TEST_TMP/max.json"
api POST "$V1/topics/plain-a:publish" "@$TEST_TMP/max.json"
expect_status 200
expect_json '.messageIds | length' 1000
api POST "$V1/topics/orders:publish" '{"messages":[]}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$V1/topics/orders:publish" '{"messages":[{}]}'
expect_error_json 400 INVALID_ARGUMENT
LONG_KEY=$(printf 'k%.0s' {1..257})
api POST "$V1/topics/orders:publish" "{\"messages\":[{\"data\":\"aGk=\",\"attributes\":{\"$LONG_KEY\":\"v\"}}]}"
expect_error_json 400 INVALID_ARGUMENT
LONG_VALUE=$(printf 'v%.0s' {1..1025})
api POST "$V1/topics/orders:publish" "{\"messages\":[{\"data\":\"aGk=\",\"attributes\":{\"k\":\"$LONG_VALUE\"}}]}"
expect_error_json 400 INVALID_ARGUMENT
api POST "$V1/topics/orders:publish" '{"messages":[{"data":"aGk=","attributes":{"googkey":"v"}}]}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$V1/topics/orders:publish" "{\"messages\":[{\"data\":\"aGk=\",\"orderingKey\":\"$(printf 'o%.0s' {1..1025})\"}]}"
expect_error_json 400 INVALID_ARGUMENT
# one ordering key per request (PubsubMessage.ordering_key); no key and "" are the same
api POST "$V1/topics/orders:publish" '{"messages":[{"data":"aGk=","orderingKey":"a"},{"data":"aGk=","orderingKey":"b"}]}'
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "same ordering key" "names the rule"
api POST "$V1/topics/orders:publish" '{"messages":[{"data":"aGk=","orderingKey":"a"},{"data":"aGk="}]}'
expect_error_json 400 FAILED_PRECONDITION
api PUT "$V1/topics/one-key" '{}'
api POST "$V1/topics/one-key:publish" '{"messages":[{"data":"aGk=","orderingKey":""},{"data":"aGk="}]}'
expect_status 200
expect_healthy "$PUBSUB_URL"

section "unknown paths, verbs and unimplemented methods"
api GET "$V1/nothing/here"
expect_error_json 404 NOT_FOUND
api POST "$V1/topics/orders:explode" '{}'
expect_error_json 404 NOT_FOUND
api DELETE "$V1/topics/orders:publish"
expect_error_json 404 NOT_FOUND
api POST "$PUBSUB_URL/v1/projects/$PROJECT:validateMessageTransform" '{}'
expect_error_json 400 UNIMPLEMENTED
expect_contains "$BODY" "ValidateMessageTransform" "names the method"

section "subscriptions"
api PUT "$V1/subscriptions/orders-sub" "{\"topic\":\"$T/orders\",\"ackDeadlineSeconds\":20,\"labels\":{\"env\":\"test\"}}"
expect_status 200
expect_json .ackDeadlineSeconds 20
expect_json .messageRetentionDuration 604800s
expect_json .expirationPolicy.ttl 2678400s
expect_json .topicMessageRetentionDuration 3600s
expect_json '.pushConfig | length' 0
api PUT "$V1/subscriptions/orders-sub" "{\"topic\":\"$T/orders\"}"
expect_error_json 409 ALREADY_EXISTS
api PUT "$V1/subscriptions/no-topic" "{\"topic\":\"$T/missing-topic\"}"
expect_error_json 404 NOT_FOUND
for deadline in 5 601; do
    api PUT "$V1/subscriptions/bad-deadline" "{\"topic\":\"$T/orders\",\"ackDeadlineSeconds\":$deadline}"
    expect_error_json 400 INVALID_ARGUMENT
done
api PUT "$V1/subscriptions/bad-retention" "{\"topic\":\"$T/orders\",\"messageRetentionDuration\":\"60s\"}"
expect_error_json 400 INVALID_ARGUMENT
# "0s" is a retention under 10 minutes, not the default (that is the field left out)
api PUT "$V1/subscriptions/zero-retention" "{\"topic\":\"$T/orders\",\"messageRetentionDuration\":\"0s\"}"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "message_retention_duration" "names the field"
api PUT "$V1/topics/zero-retention" '{"messageRetentionDuration":"0s"}'
expect_error_json 400 INVALID_ARGUMENT
api PATCH "$V1/topics/orders" '{"topic":{"messageRetentionDuration":"0s"},"updateMask":"messageRetentionDuration"}'
expect_error_json 400 INVALID_ARGUMENT
api PUT "$V1/subscriptions/bad-dl" "{\"topic\":\"$T/orders\",\"deadLetterPolicy\":{\"deadLetterTopic\":\"$T/plain-a\",\"maxDeliveryAttempts\":3}}"
expect_error_json 400 OUT_OF_RANGE
api PUT "$V1/subscriptions/bad-push" "{\"topic\":\"$T/orders\",\"pushConfig\":{\"pushEndpoint\":\"ftp://x\"}}"
expect_error_json 400 INVALID_ARGUMENT
api PUT "$V1/subscriptions/bad-filter" "{\"topic\":\"$T/orders\",\"filter\":\"data = \\\"x\\\"\"}"
expect_error_json 400 INVALID_ARGUMENT
api PUT "$V1/subscriptions/bigquery" "{\"topic\":\"$T/orders\",\"bigqueryConfig\":{\"table\":\"p.d.t\"}}"
expect_error_json 400 UNIMPLEMENTED
api PATCH "$V1/subscriptions/orders-sub" '{"subscription":{"ackDeadlineSeconds":60},"updateMask":"ackDeadlineSeconds"}'
expect_status 200
expect_json .ackDeadlineSeconds 60
expect_json .labels.env test
api PATCH "$V1/subscriptions/orders-sub" '{"subscription":{"ackDeadlineSeconds":20},"updateMask":"ack_deadline_seconds"}'
expect_json .ackDeadlineSeconds 20
api PATCH "$V1/subscriptions/orders-sub" '{"subscription":{"filter":"attributes:x"},"updateMask":"filter"}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "filter" "the filter is immutable"
api GET "$V1/topics/orders/subscriptions"
expect_json '.subscriptions[0]' "$S/orders-sub"
api GET "$V1/subscriptions"
expect_json '.subscriptions | length' 1

section "publish, pull, acknowledge on the emulator clock"
api POST "$V1/topics/orders:publish" "{\"messages\":[{\"data\":\"$(b64 one)\",\"attributes\":{\"n\":\"1\"}},{\"data\":\"$(b64 two)\"}]}"
expect_status 200
expect_json '.messageIds | join(",")' "1,2"
pull orders-sub
expect_json '.receivedMessages | length' 2
expect_eq "one,two" "$(datas)" "messages in publish order"
expect_json '.receivedMessages[0].message.messageId' 1
expect_json '.receivedMessages[0].message.attributes.n' 1
expect_json '.receivedMessages[0] | has("deliveryAttempt")' false
# milliseconds, printed as proto3 JSON does: no fraction on a whole second (1 pull in 1,000)
expect_json '.receivedMessages[0].message.publishTime | test("^[0-9-]+T[0-9:]+(\\.[0-9]{3})?Z$")' true
FIRST_ACK=$(jq -r '.receivedMessages[0].ackId' <<<"$BODY")
SECOND_ACK=$(jq -r '.receivedMessages[1].ackId' <<<"$BODY")
pull orders-sub
expect_eq "{}" "$BODY" "outstanding messages are not handed out twice"
api POST "$V1/subscriptions/orders-sub:acknowledge" "{\"ackIds\":[\"$FIRST_ACK\"]}"
expect_status 200
api POST "$V1/subscriptions/orders-sub:modifyAckDeadline" "{\"ackIds\":[\"$SECOND_ACK\"],\"ackDeadlineSeconds\":120}"
expect_status 200
advance 30
pull orders-sub
expect_eq "{}" "$BODY" "extended deadline: not redelivered after 30 s"
advance 100
pull orders-sub
expect_eq "two" "$(datas)" "redelivered once the extended deadline passed"
api POST "$V1/subscriptions/orders-sub:acknowledge" "{\"ackIds\":$(ack_ids)}"
advance 200
pull orders-sub
expect_eq "{}" "$BODY" "acknowledged messages never come back"
api POST "$V1/subscriptions/orders-sub:acknowledge" '{"ackIds":["garbage"]}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$V1/subscriptions/orders-sub:acknowledge" '{"ackIds":[]}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$V1/subscriptions/orders-sub:modifyAckDeadline" "{\"ackIds\":[\"$FIRST_ACK\"],\"ackDeadlineSeconds\":601}"
expect_error_json 400 INVALID_ARGUMENT
api POST "$V1/subscriptions/orders-sub:pull" '{"returnImmediately":true}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$V1/subscriptions/missing-sub:pull" '{"maxMessages":1}'
expect_error_json 404 NOT_FOUND
api POST "$V1/topics/missing-topic:publish" '{"messages":[{"data":"aGk="}]}'
expect_error_json 404 NOT_FOUND

section "a pull with nothing to return waits a bounded time, and wakes on a publish"
start=$(now_ms)
api POST "$V1/subscriptions/orders-sub:pull" '{"maxMessages":1}'
waited=$(( $(now_ms) - start ))
expect_eq "{}" "$BODY" "empty pull"
expect_eq 1 "$(( waited >= 2000 && waited < 10000 ))" "the empty pull waited 2-10 s (${waited} ms)"
( sleep 1; curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
    -d "{\"messages\":[{\"data\":\"$(b64 late)\"}]}" "$V1/topics/orders:publish" ) &
publisher=$!
start=$(now_ms)
api POST "$V1/subscriptions/orders-sub:pull" '{"maxMessages":1}'
waited=$(( $(now_ms) - start ))
wait "$publisher"
expect_eq "late" "$(datas)" "the waiting pull got the message published meanwhile"
expect_eq 1 "$(( waited < 2500 ))" "woken by the publish (${waited} ms)"
api POST "$V1/subscriptions/orders-sub:acknowledge" "{\"ackIds\":$(ack_ids)}"
api GET "$PUBSUB_URL/health"
expect_status 200

section "filters"
api PUT "$V1/subscriptions/red-only" "{\"topic\":\"$T/plain-b\",\"filter\":\"attributes.color = \\\"red\\\" AND NOT attributes:test\"}"
expect_status 200
api POST "$V1/topics/plain-b:publish" "{\"messages\":[{\"data\":\"$(b64 r1)\",\"attributes\":{\"color\":\"red\"}},{\"data\":\"$(b64 b1)\",\"attributes\":{\"color\":\"blue\"}},{\"data\":\"$(b64 t1)\",\"attributes\":{\"color\":\"red\",\"test\":\"1\"}},{\"data\":\"$(b64 n1)\"}]}"
pull red-only
expect_eq "r1" "$(datas)" "only matching messages are delivered"

section "ordering keys"
api PUT "$V1/subscriptions/ordered" "{\"topic\":\"$T/plain-c\",\"enableMessageOrdering\":true}"
expect_json .enableMessageOrdering true
api POST "$V1/topics/plain-c:publish" "{\"messages\":[{\"data\":\"$(b64 k1)\",\"orderingKey\":\"k\"},{\"data\":\"$(b64 k2)\",\"orderingKey\":\"k\"}]}"
api POST "$V1/topics/plain-c:publish" "{\"messages\":[{\"data\":\"$(b64 j1)\",\"orderingKey\":\"j\"}]}"
api POST "$V1/topics/plain-c:publish" "{\"messages\":[{\"data\":\"$(b64 k3)\",\"orderingKey\":\"k\"}]}"
pull ordered 2
expect_eq "k1,k2" "$(datas)" "the first batch of key k, in order"
K_ACKS=$(ack_ids)
pull ordered 10
expect_eq "j1" "$(datas)" "k is blocked while its batch is outstanding; j flows"
api POST "$V1/subscriptions/ordered:acknowledge" "{\"ackIds\":$K_ACKS}"
pull ordered 10
expect_eq "k3" "$(datas)" "k resumes once its batch is acknowledged"
expect_json '.receivedMessages[0].message.orderingKey' k

section "dead-letter policy and delivery attempts"
api PUT "$V1/topics/dead-letters" '{}'
api PUT "$V1/subscriptions/dead-letters-sub" "{\"topic\":\"$T/dead-letters\"}"
api PUT "$V1/topics/jobs" '{}'
api PUT "$V1/subscriptions/jobs-sub" "{\"topic\":\"$T/jobs\",\"deadLetterPolicy\":{\"deadLetterTopic\":\"$T/dead-letters\",\"maxDeliveryAttempts\":5}}"
expect_json .deadLetterPolicy.maxDeliveryAttempts 5
api POST "$V1/topics/jobs:publish" "{\"messages\":[{\"data\":\"$(b64 poison)\",\"attributes\":{\"kind\":\"bad\"}}]}"
for attempt in 1 2 3 4 5; do
    pull jobs-sub
    expect_json '.receivedMessages[0].deliveryAttempt' "$attempt"
    api POST "$V1/subscriptions/jobs-sub:modifyAckDeadline" "{\"ackIds\":$(ack_ids),\"ackDeadlineSeconds\":0}"
done
advance 1
pull jobs-sub
expect_eq "{}" "$BODY" "no sixth delivery"
pull dead-letters-sub
expect_eq "poison" "$(datas)" "forwarded to the dead-letter topic"
expect_json '.receivedMessages[0].message.attributes.kind' bad
expect_json '.receivedMessages[0].message.attributes.CloudPubSubDeadLetterSourceDeliveryCount' 5
expect_json '.receivedMessages[0].message.attributes.CloudPubSubDeadLetterSourceSubscription' jobs-sub

section "retry policy: exponential backoff on the emulator clock"
api PUT "$V1/subscriptions/retry-sub" "{\"topic\":\"$T/jobs\",\"retryPolicy\":{\"minimumBackoff\":\"30s\",\"maximumBackoff\":\"100s\"}}"
expect_json .retryPolicy.minimumBackoff 30s
api POST "$V1/topics/jobs:publish" "{\"messages\":[{\"data\":\"$(b64 retry)\"}]}"
pull retry-sub
api POST "$V1/subscriptions/retry-sub:modifyAckDeadline" "{\"ackIds\":$(ack_ids),\"ackDeadlineSeconds\":0}"
advance 20
pull retry-sub
expect_eq "{}" "$BODY" "not before the minimum backoff"
advance 15
pull retry-sub
expect_eq "retry" "$(datas)" "redelivered after 30 s"
api POST "$V1/subscriptions/retry-sub:modifyAckDeadline" "{\"ackIds\":$(ack_ids),\"ackDeadlineSeconds\":0}"
advance 45
pull retry-sub
expect_eq "{}" "$BODY" "second failure: 60 s"
advance 20
pull retry-sub
expect_eq "retry" "$(datas)" "redelivered after 60 s"

section "exactly-once delivery: only a message's current delivery acknowledges it"
api PUT "$V1/topics/once" '{}'
api PUT "$V1/subscriptions/once-sub" "{\"topic\":\"$T/once\",\"enableExactlyOnceDelivery\":true}"
expect_json .enableExactlyOnceDelivery true
api PUT "$V1/subscriptions/once-loose" "{\"topic\":\"$T/once\"}"
api POST "$V1/topics/once:publish" "{\"messages\":[{\"data\":\"$(b64 once)\"}]}"
pull once-sub
OLD_ACK=$(jq -r '.receivedMessages[0].ackId' <<<"$BODY")
pull once-loose
LOOSE_ACK=$(jq -r '.receivedMessages[0].ackId' <<<"$BODY")
advance 11 # the leases end
api POST "$V1/subscriptions/once-sub:acknowledge" "{\"ackIds\":[\"$OLD_ACK\"]}"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "Some acknowledgement ids in the request were invalid." "exactly-once: Google's message"
expect_json '.error.details[0]["@type"]' type.googleapis.com/google.rpc.ErrorInfo
expect_json '.error.details[0].reason' EXACTLY_ONCE_ACKID_FAILURE
expect_json '.error.details[0].domain' pubsub.googleapis.com
expect_json ".error.details[0].metadata[\"$OLD_ACK\"]" PERMANENT_FAILURE_INVALID_ACK_ID
api POST "$V1/subscriptions/once-sub:modifyAckDeadline" "{\"ackIds\":[\"$OLD_ACK\"],\"ackDeadlineSeconds\":60}"
expect_error_json 400 INVALID_ARGUMENT
expect_json ".error.details[0].metadata[\"$OLD_ACK\"]" PERMANENT_FAILURE_INVALID_ACK_ID
api POST "$V1/subscriptions/once-loose:acknowledge" "{\"ackIds\":[\"$LOOSE_ACK\"]}"
expect_status 200 # without exactly-once delivery an expired ack ID is no error
pull once-sub
expect_eq "once" "$(datas)" "redelivered after the lease"
NEW_ACK=$(jq -r '.receivedMessages[0].ackId' <<<"$BODY")
api POST "$V1/subscriptions/once-sub:acknowledge" "{\"ackIds\":[\"$OLD_ACK\",\"$NEW_ACK\"]}"
expect_error_json 400 INVALID_ARGUMENT
expect_json '.error.details[0].metadata | keys | join(",")' "$OLD_ACK"
api POST "$V1/subscriptions/once-sub:acknowledge" "{\"ackIds\":[\"$NEW_ACK\"]}"
expect_status 200 # acknowledged by the call before: again, no error
advance 120
pull once-sub
expect_eq "{}" "$BODY" "an acknowledged message is not delivered again"

section "seek to a time and to a snapshot"
api PUT "$V1/topics/replay" '{}'
api PUT "$V1/subscriptions/replay-sub" "{\"topic\":\"$T/replay\",\"retainAckedMessages\":true}"
api POST "$V1/topics/replay:publish" "{\"messages\":[{\"data\":\"$(b64 r1)\"},{\"data\":\"$(b64 r2)\"}]}"
api PUT "$V1/snapshots/before-acks" "{\"subscription\":\"$S/replay-sub\",\"labels\":{\"why\":\"test\"}}"
expect_status 200
expect_json .topic "$T/replay"
expect_json .labels.why test
api PUT "$V1/snapshots/before-acks" "{\"subscription\":\"$S/replay-sub\"}"
expect_error_json 409 ALREADY_EXISTS
pull replay-sub
api POST "$V1/subscriptions/replay-sub:acknowledge" "{\"ackIds\":$(ack_ids)}"
api POST "$V1/subscriptions/replay-sub:seek" "{\"snapshot\":\"projects/$PROJECT/snapshots/before-acks\"}"
expect_status 200
pull replay-sub
expect_eq "r1,r2" "$(datas)" "seek to the snapshot: unacknowledged again"
api POST "$V1/subscriptions/replay-sub:acknowledge" "{\"ackIds\":$(ack_ids)}"
api POST "$V1/subscriptions/replay-sub:seek" '{"time":"2000-01-01T00:00:00Z"}'
pull replay-sub
expect_eq "r1,r2" "$(datas)" "seek to the past replays retained acknowledged messages"
api POST "$V1/subscriptions/replay-sub:seek" '{"time":"2100-01-01T00:00:00Z"}'
pull replay-sub
expect_eq "{}" "$BODY" "seek to the future acknowledges everything"
api POST "$V1/subscriptions/replay-sub:seek" '{}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$V1/subscriptions/orders-sub:seek" "{\"snapshot\":\"projects/$PROJECT/snapshots/before-acks\"}"
expect_error_json 400 FAILED_PRECONDITION
api GET "$V1/topics/replay/snapshots"
expect_json '.snapshots[0]' "projects/$PROJECT/snapshots/before-acks"
api PATCH "$V1/snapshots/before-acks" '{"snapshot":{"labels":{"why":"patched"}},"updateMask":"labels"}'
expect_json .labels.why patched
api DELETE "$V1/snapshots/before-acks"
expect_status 200
api GET "$V1/snapshots/before-acks"
expect_error_json 404 NOT_FOUND

section "detach"
api POST "$V1/subscriptions/replay-sub:detach"
expect_status 200
api GET "$V1/subscriptions/replay-sub"
expect_json .detached true
api POST "$V1/subscriptions/replay-sub:pull" '{"maxMessages":1}'
expect_error_json 400 FAILED_PRECONDITION
api GET "$V1/topics/replay/subscriptions"
expect_json '.subscriptions // [] | length' 0

section "topic deletion: subscriptions stay on _deleted-topic_ with their backlog"
api DELETE "$V1/topics/plain-c"
expect_status 200
api GET "$V1/subscriptions/ordered"
expect_json .topic _deleted-topic_
api GET "$V1/topics/plain-c"
expect_error_json 404 NOT_FOUND
api POST "$V1/topics/plain-c:publish" "{\"messages\":[{\"data\":\"$(b64 late)\"}]}"
expect_error_json 404 NOT_FOUND
pull ordered
expect_eq "j1,k3" "$(datas)" "the unacknowledged messages are still delivered"
ORPHAN_ACKS=$(ack_ids)
api POST "$V1/subscriptions/ordered:modifyAckDeadline" "{\"ackIds\":$ORPHAN_ACKS,\"ackDeadlineSeconds\":60}"
expect_status 200
api POST "$V1/subscriptions/ordered:acknowledge" "{\"ackIds\":$ORPHAN_ACKS}"
expect_status 200
advance 61
pull ordered
expect_eq "{}" "$BODY" "acknowledged: not delivered again"
api POST "$V1/subscriptions/ordered:seek" '{"time":"2000-01-01T00:00:00Z"}'
expect_status 200
api PUT "$V1/topics/plain-c" '{}'
expect_status 200
api PUT "$V1/subscriptions/ordered-again" "{\"topic\":\"$T/plain-c\"}"
api POST "$V1/topics/plain-c:publish" "{\"messages\":[{\"data\":\"$(b64 reborn)\"}]}"
expect_json '.messageIds[0]' 1
pull ordered-again
expect_eq "reborn" "$(datas)" "the re-created topic is a new topic"
pull ordered
expect_eq "{}" "$BODY" "the old subscription does not receive from the new topic"
api GET "$V1/topics/plain-c/subscriptions"
expect_json '.subscriptions | join(",")' "$S/ordered-again"
api DELETE "$V1/subscriptions/ordered"
expect_status 200

section "secrecy: message data and attributes never reach the disk in clear"
MARKER="MARKER$RANDOM$RANDOM$RANDOM"
api POST "$V1/topics/orders:publish" "{\"messages\":[{\"data\":\"$(b64 "$MARKER-data")\",\"attributes\":{\"secret\":\"$MARKER-attr\"},\"orderingKey\":\"$MARKER-key\"}]}"
expect_status 200
api POST "$V1/topics/plain-a:publish" "{\"messages\":[{\"data\":\"$(b64 "$MARKER-plain")\",\"attributes\":{\"$MARKER\":\"1\"}}]}"
expect_status 200
pull orders-sub
expect_eq "$MARKER-data" "$(datas)" "the marker message is readable through the API"
DATA_DIR=$(curl -s "$CONTROL_URL/emulator/v1/status" | jq -r .dataDir)
expect_eq 1 "$(find "$DATA_DIR/pubsub" -name '*.db-wal' | wc -l | awk '{print ($1 > 0)}')" \
    "topic stores have WAL files to search"
found=$(grep -rl -a -e "$MARKER" "$DATA_DIR" 2>/dev/null)
expect_eq "" "$found" "no file under the data directory holds the marker"
found=$(grep -rl -a -e "$(b64 "$MARKER-data" | head -c 16)" "$DATA_DIR" 2>/dev/null)
expect_eq "" "$found" "nor its base64"

section "Google's client libraries: tags, enums as numbers, bodies of \"\""
# @google-cloud/pubsub 6.x sends "tags":{} on every create, enums as proto numbers, asks
# for numbers back with $alt=json;enum-encoding=int, and sends "" for an empty message.
INT='%24alt=json%3Benum-encoding%3Dint'
api PUT "$V1/topics/wire-topic" '{"labels":{"team":"wire"},"tags":{}}'
expect_status 200
expect_json '[.labels.team, .state, .tags // "input only"] | join(",")' "wire,ACTIVE,input only"
api PUT "$V1/topics/wire-tagged?$INT" '{"tags":{"123456789/environment":"production"}}'
expect_json .state 1
api PUT "$V1/subscriptions/wire-sub?$INT" "{\"topic\":\"$T/wire-topic\",\"tags\":{}}"
expect_status 200
expect_json .state 1
api PUT "$V1/subscriptions/wire-sub2" "{\"topic\":\"$T/wire-topic\",\"tags\":{\"123/env\":\"dev\"}}"
expect_json .state ACTIVE
api PUT "$V1/snapshots/wire-snap" "{\"subscription\":\"$S/wire-sub\",\"tags\":{}}"
expect_status 200
api PUT "$V1/topics/wire-bad" '{"tags":{"k":1}}'
expect_error_json 400 INVALID_ARGUMENT
api GET "$V1/topics?$INT"
expect_json "[.topics[] | select(.name == \"$T/wire-topic\") | .state] | join(\",\")" 1
api GET "$V1/subscriptions?\$alt=json;enum-encoding=int"
expect_json '[.subscriptions[] | .state] | unique | join(",")' 1
api GET "$V1/subscriptions/wire-sub"
expect_json .state ACTIVE
api PATCH "$V1/subscriptions/wire-sub?$INT" \
    '{"subscription":{"ackDeadlineSeconds":30},"updateMask":"ackDeadlineSeconds"}'
expect_json '[.ackDeadlineSeconds, .state] | join(",")' "30,1"
api PATCH "$V1/topics/wire-topic?$INT" '{"topic":{"labels":{"team":"wire2"}},"updateMask":"labels"}'
expect_json '[.labels.team, .state] | join(",")' "wire2,1"
# state is output only: a known number is ignored, a number outside Topic.State refused
api PUT "$V1/topics/wire-state" '{"state":2}'
expect_json .state ACTIVE
api PUT "$V1/topics/wire-bad" '{"state":3}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "google.pubsub.v1.Topic.State" "the enum type is named"
api POST "$V1/subscriptions/wire-sub:detach" '""'
expect_status 200
api POST "$V1/subscriptions/wire-sub2:modifyPushConfig" '""'
expect_status 200
api POST "$V1/subscriptions/wire-sub2:pull" '""'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "max_messages" "an empty PullRequest is read, and refused for what it lacks"

section "null items, invalid UTF-8 and NUL are refused, and Pub/Sub keeps answering"
api PUT "$V1/topics/wire-null" '{"messageStoragePolicy":{"allowedPersistenceRegions":[null]}}'
expect_error_json 400 INVALID_ARGUMENT
expect_json .error.message \
    "Invalid value at 'message_storage_policy.allowed_persistence_regions[0]' (TYPE_STRING), null"
expect_healthy "$PUBSUB_URL"
api PATCH "$V1/topics/wire-topic" \
    '{"topic":{"messageStoragePolicy":{"allowedPersistenceRegions":["us-east1",null]}},"updateMask":"messageStoragePolicy"}'
expect_error_json 400 INVALID_ARGUMENT
expect_healthy "$PUBSUB_URL"
api POST "$V1/subscriptions/wire-sub2:acknowledge" '{"ackIds":[null]}'
expect_error_json 400 INVALID_ARGUMENT
expect_json .error.message "Invalid value at 'ack_ids[0]' (TYPE_STRING), null"
api POST "$V1/subscriptions/wire-sub2:modifyAckDeadline" '{"ackIds":["x",null],"ackDeadlineSeconds":10}'
expect_error_json 400 INVALID_ARGUMENT
api PUT "$V1/topics/wire-null" '{"labels":{"a":null}}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$V1/topics/wire-topic:publish" '{"messages":[null]}'
expect_error_json 400 INVALID_ARGUMENT
api PUT "$V1/topics/wire-null" '{"kmsKeyName":null,"labels":null,"messageStoragePolicy":null}'
expect_status 200
api POST "$V1/topics/wire-topic:publish" $'{"messages":[{"data":"aGk=","attributes":{"k":"\xff"}}]}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "Invalid UTF-8" "the reason is given"
api POST "$V1/topics/wire-topic:publish" '{"messages":[{"data":"aGk=","attributes":{"k":"a\u0000b"}}]}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "NUL" "the reason is given"
api POST "$V1/topics/wire-topic:publish" $'{"messages":[{"data":"aGk=","orderingKey":"\xed\xa0\x80"}]}'
expect_error_json 400 INVALID_ARGUMENT
# message data is base64: any bytes, NUL and 0xFF included, go through
BINARY=$(printf 'a\000\377\376z' | base64 -w0)
api POST "$V1/topics/wire-topic:publish" "{\"messages\":[{\"data\":\"$BINARY\",\"attributes\":{\"k\":\"caf\u00e9 €\"}}]}"
expect_status 200
pull wire-sub2
expect_json '.receivedMessages[0].message.data' "$BINARY"
expect_json '.receivedMessages[0].message.attributes.k' "café €"
api PUT "$V1/topics/wire%00x" '{}'
expect_error_json 400 INVALID_ARGUMENT
api GET "$V1/topics/wire"
expect_error_json 404 NOT_FOUND
api GET "$V1/topics?pageToken=%C3"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "page_token" "the parameter is named"

section "an expired subscription's or snapshot's IAM policy goes with it"
BOB_POLICY='{"policy":{"bindings":[{"role":"roles/pubsub.subscriber","members":["user:bob@example.com"]}]}}'
api PUT "$V1/topics/expiring" '{}'
api PUT "$V1/subscriptions/expiring-sub" "{\"topic\":\"$T/expiring\",\"messageRetentionDuration\":\"86400s\",\"expirationPolicy\":{\"ttl\":\"86400s\"}}"
expect_status 200
api PUT "$V1/subscriptions/snap-source" "{\"topic\":\"$T/expiring\"}"
api POST "$V1/topics/expiring:publish" '{"messages":[{"data":"aGk="}]}'
api PUT "$V1/snapshots/expiring-snap" "{\"subscription\":\"$S/snap-source\"}"
expect_status 200
for resource in subscriptions/expiring-sub snapshots/expiring-snap; do
    api POST "$V1/$resource:setIamPolicy" "$BOB_POLICY"
    expect_status 200
done
advance $((8 * 86400))
wait_for 10 "the subscription's expiry" bash -c '[[ $(curl -s -o /dev/null -w "%{http_code}" "$1") == 404 ]]' _ "$V1/subscriptions/expiring-sub"
wait_for 10 "the snapshot's expiry" bash -c '[[ $(curl -s -o /dev/null -w "%{http_code}" "$1") == 404 ]]' _ "$V1/snapshots/expiring-snap"
api PUT "$V1/subscriptions/expiring-sub" "{\"topic\":\"$T/expiring\"}"
expect_status 200
api GET "$V1/subscriptions/expiring-sub:getIamPolicy"
expect_json '.bindings // [] | length' 0 # a new subscription of the name inherits no grant
api PUT "$V1/subscriptions/snap-source2" "{\"topic\":\"$T/expiring\"}"
api POST "$V1/topics/expiring:publish" '{"messages":[{"data":"aGk="}]}'
api PUT "$V1/snapshots/expiring-snap" "{\"subscription\":\"$S/snap-source2\"}"
expect_status 200
api GET "$V1/snapshots/expiring-snap:getIamPolicy"
expect_json '.bindings // [] | length' 0

expect_healthy "$PUBSUB_URL"
finish
