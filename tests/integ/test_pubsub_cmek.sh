#!/usr/bin/env bash
# test_pubsub_cmek: the CMEK behaviour of Pub/Sub, end to end, through REST:
#
#   - a topic's key must exist, be in an allowed location, and (under --iam enforce) be
#     usable by the Pub/Sub service agent;
#   - disable the key version + 300 s: publish and pull fail FAILED_PRECONDITION, the
#     messages are kept; enable + 300 s: they are delivered again;
#   - rotate + 300 s + disable the old version: the topic keeps working;
#   - destroy: after the scheduled 30 days the messages are unrecoverable, and the API
#     says so;
#   - KMS unreachable (fault, or the KMS process stopped): GRACE for 3600 s, then
#     OFFLINE (UNAVAILABLE); clearing the fault restores access; a key disabled before
#     the outage stays inaccessible through it;
#   - a deleted topic: its subscriptions pull the backlog, still under the key (listed as
#     <topic>/deleted/<creation time>; disabling the key stops them), a re-created topic
#     is independent, and the last subscription's deletion shreds the store.
source "$(dirname "$0")/lib.sh"

start_stack
P=projects/cmek-project
RING=$P/locations/global/keyRings/ring

advance() { api POST "$CONTROL_URL/emulator/v1/clock:advance" "{\"seconds\": $1}"; expect_status 200; }
fault() { api POST "$CONTROL_URL/emulator/v1/faults" "{\"kmsUnreachable\": $1}"; expect_status 200; }
key_state() {
    api PATCH "$KMS_URL/v1/$1/cryptoKeyVersions/$2?updateMask=state" "{\"state\":\"$3\"}"
    expect_status 200
}
new_key() {
    api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=$1" '{"purpose":"ENCRYPT_DECRYPT"}'
    expect_status 200
}
new_topic() { # new_topic NAME KEY: a CMEK topic with one subscription NAME-sub
    api PUT "$PUBSUB_URL/v1/$P/topics/$1" "{\"kmsKeyName\":\"$2\"}"
    expect_status 200
    api PUT "$PUBSUB_URL/v1/$P/subscriptions/$1-sub" "{\"topic\":\"$P/topics/$1\"}"
    expect_status 200
}
publish() { # publish TOPIC TEXT
    api POST "$PUBSUB_URL/v1/$P/topics/$1:publish" \
        "{\"messages\":[{\"data\":\"$(printf %s "$2" | base64 -w0)\"}]}"
}
pull() { # pull SUBSCRIPTION: the data of what came back, sorted, on one line
    api POST "$PUBSUB_URL/v1/$P/subscriptions/$1:pull" '{"maxMessages": 100, "returnImmediately": true}'
}
pulled_texts() { jq -r '[.receivedMessages[]?.message.data | @base64d] | sort | join(",")' <<<"$BODY"; }
ack_all() {
    local ids
    ids=$(jq -c '[.receivedMessages[]?.ackId]' <<<"$BODY")
    api POST "$PUBSUB_URL/v1/$P/subscriptions/$1:acknowledge" "{\"ackIds\": $ids}"
}
resource_state() {
    api GET "$CONTROL_URL/emulator/v1/protectedResources?service=pubsub"
    jq -r --arg n "$P/topics/$1" '.protectedResources[] | select(.name == $n) | .state' <<<"$BODY"
}

section "fixtures: key ring and keys"
api POST "$KMS_URL/v1/$P/locations/global/keyRings?keyRingId=ring" '{}'
expect_status 200
for key in k-disable k-rotate k-destroy k-outage k-before; do new_key "$key"; done
api POST "$KMS_URL/v1/$P/locations/us-central1/keyRings?keyRingId=regional" '{}'
api POST "$KMS_URL/v1/$P/locations/us-central1/keyRings/regional/cryptoKeys?cryptoKeyId=iowa" \
    '{"purpose":"ENCRYPT_DECRYPT"}'
expect_status 200

section "creation rules: missing key, key location"
api PUT "$PUBSUB_URL/v1/$P/topics/no-key" "{\"kmsKeyName\":\"$RING/cryptoKeys/missing\"}"
expect_error_json 404 NOT_FOUND
expect_contains "$BODY" "cryptoKeys/missing" "the missing key is named"
api PUT "$PUBSUB_URL/v1/$P/topics/bad-name" '{"kmsKeyName":"not/a/key"}'
expect_error_json 400 INVALID_ARGUMENT
# a key name is checked by its full grammar, not its shape: a verb and a query, a space,
# CR/LF, a percent sign are refused before anything reaches KMS (400, naming the field)
for bad in "$RING/cryptoKeys/k-disable:encrypt?x=" "$RING/cryptoKeys/k-disable encrypt" \
    "$RING/cryptoKeys/k-disable\\r\\nX-Injected: 1" "$RING/cryptoKeys/k-disable%3Aencrypt" \
    "$P/locations/global/keyRings/ring /cryptoKeys/k-disable"; do
    api PUT "$PUBSUB_URL/v1/$P/topics/bad-grammar" "{\"kmsKeyName\":\"$bad\"}"
    expect_error_json 400 INVALID_ARGUMENT
    expect_contains "$BODY" "kms_key_name" "the error names the field ($bad)"
done
api PUT "$PUBSUB_URL/v1/$P/topics/bad-grammar" '{}'
expect_status 200
api PATCH "$PUBSUB_URL/v1/$P/topics/bad-grammar?updateMask=kmsKeyName" \
    "{\"topic\":{\"kmsKeyName\":\"$RING/cryptoKeys/k-disable:encrypt?x=\"}}"
expect_error_json 400 INVALID_ARGUMENT
api DELETE "$PUBSUB_URL/v1/$P/topics/bad-grammar"
expect_status 200
IOWA=$P/locations/us-central1/keyRings/regional/cryptoKeys/iowa
api PUT "$PUBSUB_URL/v1/$P/topics/regional-anywhere" "{\"kmsKeyName\":\"$IOWA\"}"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "us-central1" "the key's location is named"
api PUT "$PUBSUB_URL/v1/$P/topics/regional-elsewhere" \
    "{\"kmsKeyName\":\"$IOWA\",\"messageStoragePolicy\":{\"allowedPersistenceRegions\":[\"europe-west1\"]}}"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "europe-west1" "the storage region is named"
api PUT "$PUBSUB_URL/v1/$P/topics/regional-pinned" \
    "{\"kmsKeyName\":\"$IOWA\",\"messageStoragePolicy\":{\"allowedPersistenceRegions\":[\"us-central1\"]}}"
expect_status 200
expect_json .kmsKeyName "$IOWA"

section "disable the key version: publish and pull fail, messages are kept"
new_topic orders "$RING/cryptoKeys/k-disable"
publish orders first
expect_status 200
publish orders second
expect_status 200
key_state "$RING/cryptoKeys/k-disable" 1 DISABLED
publish orders during
expect_status 200 # not detected before the next key check
advance 300
expect_eq INACCESSIBLE "$(resource_state orders)" "state after the check"
publish orders refused
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "k-disable" "the error names the key"
pull orders-sub
expect_error_json 400 FAILED_PRECONDITION
key_state "$RING/cryptoKeys/k-disable" 1 ENABLED
advance 300
expect_eq ACCESSIBLE "$(resource_state orders)" "state after enabling"
pull orders-sub
expect_status 200
expect_eq "during,first,second" "$(pulled_texts)" "every message published before is delivered"
ack_all orders-sub
expect_status 200
publish orders after
expect_status 200

section "rotate, then disable the old version: the topic keeps working"
new_topic rotated "$RING/cryptoKeys/k-rotate"
publish rotated before-rotation
api POST "$KMS_URL/v1/$RING/cryptoKeys/k-rotate/cryptoKeyVersions" '{}'
api POST "$KMS_URL/v1/$RING/cryptoKeys/k-rotate:updatePrimaryVersion" '{"cryptoKeyVersionId":"2"}'
expect_status 200
advance 300
api GET "$CONTROL_URL/emulator/v1/protectedResources?service=pubsub"
expect_json ".protectedResources[] | select(.name == \"$P/topics/rotated\") | .kmsKeyVersionName" \
    "$RING/cryptoKeys/k-rotate/cryptoKeyVersions/2"
key_state "$RING/cryptoKeys/k-rotate" 1 DISABLED
advance 300
expect_eq ACCESSIBLE "$(resource_state rotated)" "state with version 1 disabled"
publish rotated after-rotation
expect_status 200
pull rotated-sub
expect_eq "after-rotation,before-rotation" "$(pulled_texts)" "messages on both sides of the rotation"
ack_all rotated-sub

section "changing a topic's key: the messages stay, the new key protects them"
new_key k-new
api PATCH "$PUBSUB_URL/v1/$P/topics/rotated" \
    "{\"topic\":{\"kmsKeyName\":\"$RING/cryptoKeys/k-new\"},\"updateMask\":\"kmsKeyName\"}"
expect_status 200
expect_json .kmsKeyName "$RING/cryptoKeys/k-new"
api GET "$CONTROL_URL/emulator/v1/protectedResources?service=pubsub"
expect_json ".protectedResources[] | select(.name == \"$P/topics/rotated\") | .kmsKeyVersionName" \
    "$RING/cryptoKeys/k-new/cryptoKeyVersions/1"
publish rotated under-new-key
pull rotated-sub
expect_eq "under-new-key" "$(pulled_texts)" "a message under the new key (older ones were pulled)"
key_state "$RING/cryptoKeys/k-new" 1 DISABLED
advance 300
publish rotated refused
expect_error_json 400 FAILED_PRECONDITION
key_state "$RING/cryptoKeys/k-new" 1 ENABLED
advance 300
api PATCH "$PUBSUB_URL/v1/$P/topics/rotated" \
    "{\"topic\":{\"kmsKeyName\":\"$IOWA\"},\"updateMask\":\"kmsKeyName\"}"
expect_error_json 400 INVALID_ARGUMENT

section "destroy: after 30 days the messages are unrecoverable"
new_topic shredded "$RING/cryptoKeys/k-destroy"
publish shredded doomed
api POST "$KMS_URL/v1/$RING/cryptoKeys/k-destroy/cryptoKeyVersions/1:destroy" '{}'
expect_json .state DESTROY_SCHEDULED
advance 300
pull shredded-sub
expect_error_json 400 FAILED_PRECONDITION
advance 2592000
pull shredded-sub
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "unrecoverable" "the API says the messages are gone"
api POST "$KMS_URL/v1/$RING/cryptoKeys/k-destroy/cryptoKeyVersions/1:restore" '{}'
expect_error_json 400 FAILED_PRECONDITION
advance 300
expect_eq INACCESSIBLE "$(resource_state shredded)" "no way back after destruction"

section "KMS unreachable: 3600 s of grace, then OFFLINE; clearing the fault restores"
new_topic outage "$RING/cryptoKeys/k-outage"
publish outage before-outage
fault true
advance 300
expect_eq GRACE "$(resource_state outage)" "state during the outage"
publish outage in-grace
expect_status 200
advance 3299
expect_eq GRACE "$(resource_state outage)" "still in grace"
pull outage-sub
expect_status 200
expect_eq "before-outage,in-grace" "$(pulled_texts)" "served from the cached key"
advance 301
expect_eq OFFLINE "$(resource_state outage)" "offline after the grace period"
publish outage refused
expect_error_json 503 UNAVAILABLE
fault false
advance 300
expect_eq ACCESSIBLE "$(resource_state outage)" "back when KMS is reachable"
publish outage after-outage
expect_status 200

section "a key disabled before the outage stays inaccessible through it"
new_topic before "$RING/cryptoKeys/k-before"
key_state "$RING/cryptoKeys/k-before" 1 DISABLED
advance 300
expect_eq INACCESSIBLE "$(resource_state before)" "disabled"
fault true
advance 300
expect_eq INACCESSIBLE "$(resource_state before)" "still inaccessible, not GRACE"
key_state "$RING/cryptoKeys/k-before" 1 ENABLED
advance 300
expect_eq INACCESSIBLE "$(resource_state before)" "KMS cannot confirm the key while unreachable"
fault false
api POST "$CONTROL_URL/emulator/v1/keyChecks:run" '{}'
expect_status 200
expect_eq ACCESSIBLE "$(resource_state before)" "restored once KMS answers"

section "stopping the KMS process has the same effect as the fault"
api POST "$CONTROL_URL/emulator/v1/services/kms:stop" '{}'
expect_status 200
advance 300
expect_eq GRACE "$(resource_state outage)" "grace while KMS is stopped"
api POST "$CONTROL_URL/emulator/v1/services/kms:start" '{}'
expect_status 200
api POST "$CONTROL_URL/emulator/v1/keyChecks:run" '{}'
expect_eq ACCESSIBLE "$(resource_state outage)" "restored when KMS is back"
expect_healthy "$PUBSUB_URL"

section "a deleted topic's backlog stays protected by its key until its last subscription goes"
new_key k-deleted
new_topic doomed "$RING/cryptoKeys/k-deleted"
api PUT "$PUBSUB_URL/v1/$P/subscriptions/doomed-sub-2" "{\"topic\":\"$P/topics/doomed\"}"
publish doomed kept-1
publish doomed kept-2
api DELETE "$PUBSUB_URL/v1/$P/topics/doomed"
expect_status 200
api GET "$CONTROL_URL/emulator/v1/protectedResources?service=pubsub"
RETAINED=$(jq -r --arg p "$P/topics/doomed/deleted/" \
    '.protectedResources[] | select(.name | startswith($p)) | .name' <<<"$BODY")
expect_eq 1 "$(grep -c . <<<"$RETAINED")" "the retained messages are a protected resource ($RETAINED)"
expect_json ".protectedResources[] | select(.name == \"$RETAINED\") | .kmsKeyName" \
    "$RING/cryptoKeys/k-deleted"
expect_json "[.protectedResources[] | select(.name == \"$P/topics/doomed\")] | length" 0
pull doomed-sub
expect_status 200
expect_eq "kept-1,kept-2" "$(pulled_texts)" "the deleted topic's subscription still pulls its backlog"
ack_all doomed-sub
expect_status 200
key_state "$RING/cryptoKeys/k-deleted" 1 DISABLED
advance 300
api GET "$CONTROL_URL/emulator/v1/protectedResources?service=pubsub"
expect_json ".protectedResources[] | select(.name == \"$RETAINED\") | .state" INACCESSIBLE
pull doomed-sub-2
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "deleted topic $P/topics/doomed" "the error names the deleted topic"
key_state "$RING/cryptoKeys/k-deleted" 1 ENABLED
advance 300
pull doomed-sub-2
expect_eq "kept-1,kept-2" "$(pulled_texts)" "delivered again once the key is enabled"
api PUT "$PUBSUB_URL/v1/$P/topics/doomed" "{\"kmsKeyName\":\"$RING/cryptoKeys/k-deleted\"}"
expect_status 200
api PUT "$PUBSUB_URL/v1/$P/subscriptions/doomed-new" "{\"topic\":\"$P/topics/doomed\"}"
publish doomed reborn
pull doomed-new
expect_eq "reborn" "$(pulled_texts)" "the re-created topic has its own messages"
pull doomed-sub
expect_status 200
expect_eq "" "$(pulled_texts)" "the old subscriptions do not receive them"
expect_eq ACCESSIBLE "$(resource_state doomed)" "the new topic is protected under the name"
DATA_DIR=$(curl -s "$CONTROL_URL/emulator/v1/status" | jq -r .dataDir)
stores() { find "$DATA_DIR/pubsub" -name '*.db' | wc -l; }
STORES=$(stores)
api DELETE "$PUBSUB_URL/v1/$P/subscriptions/doomed-sub"
expect_status 200
expect_eq "$STORES" "$(stores)" "the store stays while a subscription reads it"
api DELETE "$PUBSUB_URL/v1/$P/subscriptions/doomed-sub-2"
expect_status 200
expect_eq "$((STORES - 1))" "$(stores)" "the last subscription gone, the store file is removed"
api GET "$CONTROL_URL/emulator/v1/protectedResources?service=pubsub"
expect_json "[.protectedResources[] | select(.name == \"$RETAINED\")] | length" 0
expect_eq ACCESSIBLE "$(resource_state doomed)" "the new topic is untouched"
pull doomed-new
expect_status 200

section "IAM: the Pub/Sub service agent needs the key role"
stop_stack
start_stack --iam enforce
export API_PRINCIPAL=user:developer@example.com # the default principal owns every project
api POST "$KMS_URL/v1/$P/locations/global/keyRings?keyRingId=ring" '{}'
new_key guarded
api PUT "$PUBSUB_URL/v1/$P/topics/guarded" "{\"kmsKeyName\":\"$RING/cryptoKeys/guarded\"}"
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "gcp-sa-pubsub.iam.gserviceaccount.com" "the service agent is named"
api GET "$CONTROL_URL/v1/projects/cmek-project"
AGENT="serviceAccount:service-$(jq -r .projectNumber <<<"$BODY")@gcp-sa-pubsub.iam.gserviceaccount.com"
api POST "$KMS_URL/v1/$RING/cryptoKeys/guarded:setIamPolicy" \
    "{\"policy\":{\"bindings\":[{\"role\":\"roles/cloudkms.cryptoKeyEncrypterDecrypter\",\"members\":[\"$AGENT\"]}]}}"
expect_status 200
api PUT "$PUBSUB_URL/v1/$P/topics/guarded" "{\"kmsKeyName\":\"$RING/cryptoKeys/guarded\"}"
expect_status 200
api POST "$CONTROL_URL/v2/entries:list" \
    "{\"resourceNames\":[\"$P\"],\"filter\":\"protoPayload.methodName=Encrypt protoPayload.authenticationInfo.principalEmail:gcp-sa-pubsub\"}"
expect_json '.entries[0].protoPayload.metadata.callerResource' "$P/topics/guarded"

finish
