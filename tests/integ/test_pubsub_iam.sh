#!/usr/bin/env bash
# test_pubsub_iam: Pub/Sub under --iam enforce through curl. Policies on topics,
# subscriptions and snapshots (get/set/testIamPermissions), the predefined roles
# (publisher, subscriber, viewer), the second permission some methods need
# (attachSubscription on the topic of a new subscription, consume on a snapshot's source,
# detachSubscription on the topic), and the Pub/Sub service agent's grant on a CMEK key.
source "$(dirname "$0")/lib.sh"

start_stack --iam enforce
PROJECT=iam-project
V1="$PUBSUB_URL/v1/projects/$PROJECT"
T="projects/$PROJECT/topics"
S="projects/$PROJECT/subscriptions"
as() { API_PRINCIPAL=$1; }
admin() { API_PRINCIPAL=user:developer@example.com; } # the default principal owns every project
bind() { # bind RESOURCE_URL ROLE MEMBER: adds one binding to the policy
    local url=$1 role=$2 member=$3 policy
    api GET "$url:getIamPolicy"
    policy=$(jq -c --arg r "$role" --arg m "$member" '.bindings += [{role: $r, members: [$m]}]' <<<"$BODY")
    api POST "$url:setIamPolicy" "{\"policy\":$policy}"
    expect_status 200
}

section "fixtures (as the project owner)"
admin
api PUT "$V1/topics/events" '{}'
expect_status 200
api PUT "$V1/subscriptions/events-sub" "{\"topic\":\"$T/events\"}"
expect_status 200

section "nobody else can do anything yet"
as user:mallory@example.com
api POST "$V1/topics/events:publish" '{"messages":[{"data":"aGk="}]}'
expect_error_json 403 PERMISSION_DENIED
expect_contains "$BODY" "pubsub.topics.publish" "names the permission"
api POST "$V1/subscriptions/events-sub:pull" '{"maxMessages":1}'
expect_error_json 403 PERMISSION_DENIED
api GET "$V1/topics"
expect_error_json 403 PERMISSION_DENIED
api PUT "$V1/topics/mallory-topic" '{}'
expect_error_json 403 PERMISSION_DENIED
api POST "$V1/topics/events:testIamPermissions" '{"permissions":["pubsub.topics.publish","pubsub.topics.get"]}'
expect_status 200
expect_json '.permissions // [] | length' 0

section "a publisher on the topic, a subscriber on the subscription"
admin
bind "$V1/topics/events" roles/pubsub.publisher user:alice@example.com
bind "$V1/subscriptions/events-sub" roles/pubsub.subscriber user:bob@example.com
api GET "$V1/topics/events:getIamPolicy"
expect_json '.bindings[0].role' roles/pubsub.publisher
expect_json '.bindings[0].members[0]' user:alice@example.com
as user:alice@example.com
api POST "$V1/topics/events:publish" '{"messages":[{"data":"ZnJvbS1hbGljZQ=="}]}'
expect_status 200
api POST "$V1/topics/events:testIamPermissions" '{"permissions":["pubsub.topics.publish","pubsub.topics.delete"]}'
expect_json '.permissions | join(",")' pubsub.topics.publish
api POST "$V1/subscriptions/events-sub:pull" '{"maxMessages":1}'
expect_error_json 403 PERMISSION_DENIED
api DELETE "$V1/topics/events"
expect_error_json 403 PERMISSION_DENIED
as user:bob@example.com
api POST "$V1/topics/events:publish" '{"messages":[{"data":"aGk="}]}'
expect_error_json 403 PERMISSION_DENIED
api POST "$V1/subscriptions/events-sub:pull" '{"maxMessages":10,"returnImmediately":true}'
expect_status 200
expect_json '.receivedMessages[0].message.data | @base64d' from-alice
api POST "$V1/subscriptions/events-sub:acknowledge" "$(jq -c '{ackIds: [.receivedMessages[].ackId]}' <<<"$BODY")"
expect_status 200
api POST "$V1/subscriptions/events-sub:seek" '{"time":"2000-01-01T00:00:00Z"}'
expect_status 200
api PATCH "$V1/subscriptions/events-sub" '{"subscription":{"ackDeadlineSeconds":30},"updateMask":"ackDeadlineSeconds"}'
expect_error_json 403 PERMISSION_DENIED

section "second permissions: attach, snapshot source, detach"
admin
api POST "$CONTROL_URL/v1/projects/$PROJECT:getIamPolicy" '{}'
policy=$(jq -c '.bindings += [{role: "roles/pubsub.viewer", members: ["user:carol@example.com"]}]' <<<"$BODY")
api POST "$CONTROL_URL/v1/projects/$PROJECT:setIamPolicy" "{\"policy\":$policy}"
expect_status 200
as user:carol@example.com
api GET "$V1/topics"
expect_status 200
expect_json '.topics[0].name' "$T/events"
api GET "$V1/subscriptions/events-sub"
expect_status 200
api PUT "$V1/subscriptions/carol-sub" "{\"topic\":\"$T/events\"}"
expect_error_json 403 PERMISSION_DENIED
admin
api POST "$CONTROL_URL/v1/projects/$PROJECT:getIamPolicy" '{}'
policy=$(jq -c '.bindings += [{role: "roles/pubsub.editor", members: ["user:dave@example.com"]}]' <<<"$BODY")
api POST "$CONTROL_URL/v1/projects/$PROJECT:setIamPolicy" "{\"policy\":$policy}"
as user:dave@example.com
api PUT "$V1/subscriptions/dave-sub" "{\"topic\":\"$T/events\"}"
expect_status 200
api PUT "$V1/snapshots/dave-snap" "{\"subscription\":\"$S/dave-sub\"}"
expect_status 200
api POST "$V1/subscriptions/dave-sub:detach"
expect_status 200
api POST "$V1/snapshots/dave-snap:setIamPolicy" '{"policy":{"bindings":[]}}'
expect_error_json 403 PERMISSION_DENIED
admin
bind "$V1/snapshots/dave-snap" roles/pubsub.viewer user:erin@example.com
as user:erin@example.com
api GET "$V1/snapshots/dave-snap"
expect_status 200
api DELETE "$V1/snapshots/dave-snap"
expect_error_json 403 PERMISSION_DENIED
api GET "$V1/snapshots/missing:getIamPolicy"
expect_error_json 403 PERMISSION_DENIED
admin
api GET "$V1/snapshots/missing:getIamPolicy"
expect_error_json 404 NOT_FOUND

section "CMEK under enforce: the service agent must hold the key"
admin
KEY="projects/$PROJECT/locations/global/keyRings/ring/cryptoKeys/key"
api POST "$KMS_URL/v1/projects/$PROJECT/locations/global/keyRings?keyRingId=ring" '{}'
api POST "$KMS_URL/v1/projects/$PROJECT/locations/global/keyRings/ring/cryptoKeys?cryptoKeyId=key" \
    '{"purpose":"ENCRYPT_DECRYPT"}'
expect_status 200
api PUT "$V1/topics/secure" "{\"kmsKeyName\":\"$KEY\"}"
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "@gcp-sa-pubsub.iam.gserviceaccount.com" "names the service agent"
api GET "$CONTROL_URL/v1/projects/$PROJECT"
AGENT="serviceAccount:service-$(jq -r .projectNumber <<<"$BODY")@gcp-sa-pubsub.iam.gserviceaccount.com"
bind "$KMS_URL/v1/$KEY" roles/cloudkms.cryptoKeyEncrypterDecrypter "$AGENT"
api PUT "$V1/topics/secure" "{\"kmsKeyName\":\"$KEY\"}"
expect_status 200
expect_json .kmsKeyName "$KEY"

expect_healthy "$PUBSUB_URL"
finish
