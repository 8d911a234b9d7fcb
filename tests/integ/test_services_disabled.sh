#!/usr/bin/env bash
# test_services_disabled: Service Usage's choices take effect, through REST and gcloud.
#
# A project that disables one of the emulator's service APIs (pubsub, cloudkms, spanner,
# bigtableadmin, dataflow) has that service refuse its calls with Google's 403
# SERVICE_DISABLED (ErrorInfo reason, service, consumer) until it enables it again; other
# projects are untouched. The CMEK drill: the key project disables the Cloud KMS API, the
# next key check finds the topic's key refused and the topic INACCESSIBLE, and enabling
# it again brings the topic back. The control plane's own APIs stay enabled. The choice
# survives a restart.
source "$(dirname "$0")/lib.sh"

DATA="$TEST_TMP/data"
mkdir -p "$DATA"
start_persistent
setup_gcloud app-project
SU="$CONTROL_URL/v1/projects/app-project/services"
KEY_SU="$CONTROL_URL/v1/projects/key-project/services"
TOPICS="$PUBSUB_URL/v1/projects/app-project/topics"
KEY=projects/key-project/locations/global/keyRings/ring/cryptoKeys/topics
topic_state() { protected_state pubsub projects/app-project/topics/orders; }

section "a disabled API: its service refuses the project's calls"
api PUT "$TOPICS/orders-plain" '{}'
expect_status 200
api POST "$SU/pubsub.googleapis.com:disable" '{}'
expect_status 200
expect_json .response.service.state DISABLED
api GET "$TOPICS"
expect_error_json 403 PERMISSION_DENIED
expect_contains "$(jq -r .error.message <<<"$BODY")" \
    "Cloud Pub/Sub API has not been used in project $(jq -r .error.details[0].metadata.containerInfo <<<"$BODY") before or it is disabled" \
    "Google's words"
expect_json '.error.details[0].reason' SERVICE_DISABLED
expect_json '.error.details[0].metadata.service' pubsub.googleapis.com
expect_contains "$(jq -r .error.details[0].metadata.consumer <<<"$BODY")" "projects/" "the consumer project"
api GET "$PUBSUB_URL/v1/projects/other-project/topics"
expect_status 200 # another project is untouched
api GET "$SU/pubsub.googleapis.com"
expect_json .state DISABLED
api POST "$SU/pubsub.googleapis.com:enable" '{}'
expect_status 200
api GET "$TOPICS"
expect_status 200
expect_json '.topics[0].name' projects/app-project/topics/orders-plain
api POST "$SU/serviceusage.googleapis.com:disable" '{}'
expect_error_json 400 FAILED_PRECONDITION

section "CMEK: the key project disables Cloud KMS; the topic follows at its next key check"
api POST "$KMS_URL/v1/projects/key-project/locations/global/keyRings?keyRingId=ring" '{}'
api POST "$KMS_URL/v1/projects/key-project/locations/global/keyRings/ring/cryptoKeys?cryptoKeyId=topics" \
    '{"purpose":"ENCRYPT_DECRYPT"}'
expect_status 200
api PUT "$TOPICS/orders" "{\"kmsKeyName\":\"$KEY\"}"
expect_status 200
api POST "$KEY_SU/cloudkms.googleapis.com:disable" '{}'
expect_status 200
api POST "$KMS_URL/v1/$KEY:encrypt" '{"plaintext":"aGk="}'
expect_error_json 403 PERMISSION_DENIED
api POST "$CONTROL_URL/emulator/v1/keyChecks:run" '{}'
expect_eq INACCESSIBLE "$(topic_state)" "the topic is INACCESSIBLE"
api GET "$CONTROL_URL/emulator/v1/protectedResources?service=pubsub"
expect_contains "$(jq -r '.protectedResources[] | select(.name == "projects/app-project/topics/orders") | .reason' <<<"$BODY")" \
    "Cloud Key Management Service (KMS) API has not been used in project" "its reason names the disabled API"
api POST "$TOPICS/orders:publish" '{"messages":[{"data":"aGk="}]}'
expect_error_json 400 FAILED_PRECONDITION

section "a restart keeps the choice"
stop_stack
start_persistent
api POST "$KMS_URL/v1/$KEY:encrypt" '{"plaintext":"aGk="}'
expect_error_json 403 PERMISSION_DENIED
api POST "$KEY_SU/cloudkms.googleapis.com:enable" '{}'
expect_status 200
api POST "$KMS_URL/v1/$KEY:encrypt" '{"plaintext":"aGk="}'
expect_status 200
api POST "$CONTROL_URL/emulator/v1/keyChecks:run" '{}'
expect_eq ACCESSIBLE "$(topic_state)" "enabled again: the next check restores the topic"

if [[ $HAVE_GCLOUD == 1 ]]; then
    section "gcloud services disable / enable"
    out=$(gcloud services disable spanner.googleapis.com --project app-project 2>&1)
    expect_eq 0 $? "gcloud services disable spanner.googleapis.com: $out"
    out=$(gcloud spanner instances list --project app-project 2>&1)
    expect_contains "$out" "Cloud Spanner API has not been used in project" "gcloud shows Google's message"
    out=$(gcloud services enable spanner.googleapis.com --project app-project 2>&1)
    expect_eq 0 $? "gcloud services enable spanner.googleapis.com: $out"
    gcloud spanner instances list --project app-project >/dev/null 2>&1
    expect_eq 0 $? "gcloud spanner instances list once enabled"
    out=$(gcloud services disable spanner.googleapis.com --project app-project 2>&1)
    expect_contains "$out" "has usage in the last 30 days" \
        "used in the last 30 days: gcloud (check_if_service_has_usage CHECK) is refused"
    expect_contains "$out" "--force" "and gcloud names --force"
    out=$(gcloud services disable spanner.googleapis.com --project app-project --force 2>&1)
    expect_eq 0 $? "gcloud services disable --force (SKIP): $out"
    out=$(gcloud services enable spanner.googleapis.com --project app-project 2>&1)
    expect_eq 0 $? "enabled again: $out"
fi
stop_stack
finish
