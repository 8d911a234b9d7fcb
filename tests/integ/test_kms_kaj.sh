#!/usr/bin/env bash
# test_kms_kaj: Key Access Justifications end to end, through REST and the real gcloud CLI.
#
# A key's policy (keyAccessJustificationsPolicy.allowedAccessReasons) decides which access
# reasons may use it. A client's own calls are CUSTOMER_INITIATED_ACCESS; the CMEK
# engine's key checks are GOOGLE_INITIATED_SYSTEM_OPERATION, so a policy that leaves
# that reason out makes the key's resources INACCESSIBLE at their next check, as Google's
# documentation warns ("results in your service becoming unavailable"), and listing it
# again brings them back. Every use of a key has its reason in the audit log. Default
# policies of folders and projects reach new keys; policies survive a restart.
source "$(dirname "$0")/lib.sh"

DATA="$TEST_TMP/data"
mkdir -p "$DATA"
start_persistent
setup_gcloud kaj-project
cd "$TEST_TMP"
RING=projects/kaj-project/locations/global/keyRings/kaj
KEY=$RING/cryptoKeys/orders
HELLO=$(printf 'hello, kaj' | base64)
CUSTOMER=CUSTOMER_INITIATED_ACCESS
SYSTEM=GOOGLE_INITIATED_SYSTEM_OPERATION

encrypt() { api POST "$KMS_URL/v1/$1:encrypt" "{\"plaintext\":\"$HELLO\"}"; }
policy_of() {
    api GET "$KMS_URL/v1/$1"
    jq -r '(.keyAccessJustificationsPolicy // "none") | if type == "string" then . else tojson end' <<<"$BODY"
}
denied_message() { echo "The Key Access Justifications policy of $1 does not allow access reason $2."; }
topic_state() {
    api GET "$CONTROL_URL/emulator/v1/protectedResources?service=pubsub"
    jq -r '.protectedResources[] | select(.name == "projects/kaj-project/topics/orders") | .state' <<<"$BODY"
}

section "a key's policy: created, read, updated, removed"
api POST "$KMS_URL/v1/projects/kaj-project/locations/global/keyRings?keyRingId=kaj" '{}'
expect_status 200
api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=orders" \
    "{\"purpose\":\"ENCRYPT_DECRYPT\",\"keyAccessJustificationsPolicy\":{\"allowedAccessReasons\":[\"$CUSTOMER\"]}}"
expect_status 200
expect_json '.keyAccessJustificationsPolicy.allowedAccessReasons | join(",")' "$CUSTOMER"
encrypt "$KEY"
expect_status 200
CT=$(jq -r .ciphertext <<<"$BODY")
api PATCH "$KMS_URL/v1/$KEY?updateMask=keyAccessJustificationsPolicy" \
    "{\"keyAccessJustificationsPolicy\":{\"allowedAccessReasons\":[\"$SYSTEM\"]}}"
expect_status 200
encrypt "$KEY"
expect_error_json 400 FAILED_PRECONDITION
expect_json .error.message "$(denied_message "$KEY" "$CUSTOMER")"
api POST "$KMS_URL/v1/$KEY:decrypt" "{\"ciphertext\":\"$CT\"}"
expect_error_json 400 FAILED_PRECONDITION
api PATCH "$KMS_URL/v1/$KEY?updateMask=keyAccessJustificationsPolicy" '{"keyAccessJustificationsPolicy":{}}'
expect_status 200
expect_eq '{}' "$(policy_of "$KEY")" "an empty list is kept: it denies every reason"
encrypt "$KEY"
expect_error_json 400 FAILED_PRECONDITION
api PATCH "$KMS_URL/v1/$KEY?updateMask=keyAccessJustificationsPolicy" '{}'
expect_status 200
expect_eq none "$(policy_of "$KEY")" "the mask without the field removes the policy"
api POST "$KMS_URL/v1/$KEY:decrypt" "{\"ciphertext\":\"$CT\"}"
expect_status 200
expect_json .plaintext "$HELLO"
api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=bad" \
    '{"purpose":"ENCRYPT_DECRYPT","keyAccessJustificationsPolicy":{"allowedAccessReasons":["NOT_A_REASON"]}}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "AccessReason" "an unknown reason is named"
api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=bad" \
    '{"purpose":"ENCRYPT_DECRYPT","keyAccessJustificationsPolicy":{"allowedAccessReasons":["REASON_UNSPECIFIED"]}}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "REASON_UNSPECIFIED" "REASON_UNSPECIFIED is refused"

section "only the emulator's own services give an access reason"
api_with_reason() {
    HTTP_STATUS=$(curl -s -o "$TEST_TMP/api.body" -w '%{http_code}' -X POST \
        -H "X-Emulator-Access-Reason: $SYSTEM" "$KMS_URL/v1/$1:encrypt" -d "{\"plaintext\":\"$HELLO\"}")
    BODY=$(cat "$TEST_TMP/api.body")
}
api_with_reason "$KEY"
expect_error_json 403 PERMISSION_DENIED

if [[ $HAVE_GCLOUD == 1 ]]; then
    section "gcloud: keys create / update --allowed-access-reasons, --remove-key-access-justifications-policy"
    gcloud kms keys create gc --keyring kaj --location global --purpose encryption \
        --allowed-access-reasons=customer-initiated-access,google-initiated-system-operation \
        >"$TEST_TMP/out" 2>&1
    expect_eq 0 $? "gcloud kms keys create --allowed-access-reasons: $(_short "$(cat "$TEST_TMP/out")")"
    out=$(gcloud kms keys describe gc --keyring kaj --location global \
        --format='value(keyAccessJustificationsPolicy.allowedAccessReasons)' 2>&1)
    expect_eq "$CUSTOMER;$SYSTEM" "$out" "gcloud describes the policy"
    printf 'hello, kaj' >plain.txt
    gcloud kms encrypt --key gc --keyring kaj --location global --plaintext-file plain.txt \
        --ciphertext-file ct.bin >"$TEST_TMP/out" 2>&1
    expect_eq 0 $? "gcloud kms encrypt under the policy"
    gcloud kms keys update gc --keyring kaj --location global \
        --allowed-access-reasons=google-initiated-system-operation >"$TEST_TMP/out" 2>&1
    expect_eq 0 $? "gcloud kms keys update --allowed-access-reasons: $(_short "$(cat "$TEST_TMP/out")")"
    gcloud kms decrypt --key gc --keyring kaj --location global --ciphertext-file ct.bin \
        --plaintext-file back.txt >"$TEST_TMP/out" 2>&1
    expect_eq 1 $? "gcloud kms decrypt is refused"
    expect_contains "$(cat "$TEST_TMP/out")" "does not allow access reason $CUSTOMER" \
        "gcloud shows why"
    gcloud kms keys update gc --keyring kaj --location global \
        --remove-key-access-justifications-policy >"$TEST_TMP/out" 2>&1
    expect_eq 0 $? "gcloud kms keys update --remove-key-access-justifications-policy"
    gcloud kms decrypt --key gc --keyring kaj --location global --ciphertext-file ct.bin \
        --plaintext-file back.txt >"$TEST_TMP/out" 2>&1
    expect_eq "hello, kaj" "$(cat back.txt 2>/dev/null)" "gcloud kms decrypt once the policy is gone"
    out=$(gcloud kms keys describe gc --keyring kaj --location global \
        --format='value(keyAccessJustificationsPolicy)' 2>&1)
    expect_eq "" "$out" "the key has no policy"
fi

section "CMEK: a policy without GOOGLE_INITIATED_SYSTEM_OPERATION fails the key checks"
api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=topics" \
    "{\"purpose\":\"ENCRYPT_DECRYPT\",\"keyAccessJustificationsPolicy\":{\"allowedAccessReasons\":[\"$CUSTOMER\"]}}"
expect_status 200
TOPIC_KEY=$RING/cryptoKeys/topics
api PUT "$PUBSUB_URL/v1/projects/kaj-project/topics/orders" "{\"kmsKeyName\":\"$TOPIC_KEY\"}"
expect_status 200 # the topic's KEK is wrapped for the customer's request
api PUT "$PUBSUB_URL/v1/projects/kaj-project/subscriptions/orders-sub" \
    '{"topic":"projects/kaj-project/topics/orders"}'
expect_status 200
api POST "$PUBSUB_URL/v1/projects/kaj-project/topics/orders:publish" \
    "{\"messages\":[{\"data\":\"$HELLO\"}]}"
expect_status 200
api POST "$CONTROL_URL/emulator/v1/keyChecks:run" '{}'
expect_status 200
expect_eq INACCESSIBLE "$(topic_state)" "the key check is refused: the topic is INACCESSIBLE"
api GET "$CONTROL_URL/emulator/v1/protectedResources?service=pubsub"
expect_json '.protectedResources[] | select(.name == "projects/kaj-project/topics/orders") | .reason' \
    "$(denied_message "$TOPIC_KEY" "$SYSTEM")"
api POST "$PUBSUB_URL/v1/projects/kaj-project/topics/orders:publish" \
    "{\"messages\":[{\"data\":\"$HELLO\"}]}"
expect_error_json 400 FAILED_PRECONDITION
api PATCH "$KMS_URL/v1/$TOPIC_KEY?updateMask=keyAccessJustificationsPolicy" \
    "{\"keyAccessJustificationsPolicy\":{\"allowedAccessReasons\":[\"$CUSTOMER\",\"$SYSTEM\"]}}"
expect_status 200
api POST "$CONTROL_URL/emulator/v1/keyChecks:run" '{}'
expect_eq ACCESSIBLE "$(topic_state)" "the reason allowed again: the next check restores the topic"
api POST "$PUBSUB_URL/v1/projects/kaj-project/subscriptions/orders-sub:pull" '{"maxMessages":10}'
expect_status 200
expect_json '.receivedMessages[0].message.data' "$HELLO"

section "the audit log records each use's reason"
api POST "$CONTROL_URL/v2/entries:list" \
    '{"resourceNames":["projects/kaj-project"],"filter":"protoPayload.serviceName=\"cloudkms.googleapis.com\"","pageSize":200}'
expect_status 200
agent_reasons=$(jq -r '[.entries[].protoPayload | select(.authenticationInfo.principalEmail | startswith("service-"))
    | .metadata.keyAccessJustification.reason] | unique | join(",")' <<<"$BODY")
expect_eq "$CUSTOMER,$SYSTEM" "$agent_reasons" "the service agent's wrap and key checks"
refused=$(jq -r '[.entries[].protoPayload | select(.metadata.keyAccessJustification.reason == "'"$SYSTEM"'"
    and .status.code == 9)] | length' <<<"$BODY")
[[ $refused -ge 1 ]] && _pass "the refused key check is in the log" || _fail "no refused key check in the log"
expect_eq true "$(jq -r '[.entries[].protoPayload.metadata.keyAccessJustification.policyEnforced // empty] | any' <<<"$BODY")" \
    "entries say a policy was checked"

section "a simulated access for a reason of Google's (kaj:simulateAccess)"
api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=reviewed" \
    '{"purpose":"ENCRYPT_DECRYPT","keyAccessJustificationsPolicy":{"allowedAccessReasons":["GOOGLE_INITIATED_SERVICE"]}}'
expect_status 200
api POST "$CONTROL_URL/emulator/v1/kaj:simulateAccess" \
    "{\"name\":\"$RING/cryptoKeys/reviewed\",\"reason\":\"GOOGLE_INITIATED_SERVICE\"}"
expect_status 200
expect_json .cryptoKeyVersion "$RING/cryptoKeys/reviewed/cryptoKeyVersions/1"
api POST "$CONTROL_URL/emulator/v1/kaj:simulateAccess" \
    "{\"name\":\"$RING/cryptoKeys/reviewed\",\"reason\":\"THIRD_PARTY_DATA_REQUEST\"}"
expect_error_json 400 FAILED_PRECONDITION
expect_json .error.message "$(denied_message "$RING/cryptoKeys/reviewed" THIRD_PARTY_DATA_REQUEST)"
api POST "$CONTROL_URL/emulator/v1/kaj:simulateAccess" \
    "{\"name\":\"$RING/cryptoKeys/reviewed\",\"reason\":\"NOT_A_REASON\"}"
expect_error_json 400 INVALID_ARGUMENT
api POST "$KMS_URL/emulator/v1/internal:keyAccess" \
    "{\"name\":\"$RING/cryptoKeys/reviewed\",\"reason\":\"GOOGLE_INITIATED_SERVICE\"}"
expect_error_json 403 PERMISSION_DENIED # KMS's route is the control plane's alone
api POST "$CONTROL_URL/v2/entries:list" \
    '{"resourceNames":["projects/kaj-project"],"filter":"protoPayload.methodName=\"SimulatedKeyAccess\"","pageSize":10}'
expect_json '[.entries[].protoPayload.metadata.keyAccessJustification.reason] | sort | join(",")' \
    "GOOGLE_INITIATED_SERVICE,THIRD_PARTY_DATA_REQUEST"

section "default policies: a folder's reaches a new key of its projects"
api POST "$CONTROL_URL/v1/projects" '{"projectId":"kaj-child","parent":{"type":"folder","id":"4242"}}'
expect_status 200
api PATCH "$KMS_URL/v1/folders/4242/kajPolicyConfig" \
    "{\"defaultKeyAccessJustificationPolicy\":{\"allowedAccessReasons\":[\"$SYSTEM\"]}}"
expect_status 200
expect_json .name folders/4242/kajPolicyConfig
api GET "$KMS_URL/v1/projects/kaj-child:showEffectiveKeyAccessJustificationsPolicyConfig"
expect_status 200
expect_json .effectiveKajPolicy.name folders/4242/kajPolicyConfig
api GET "$KMS_URL/v1/projects/kaj-child:showEffectiveKeyAccessJustificationsEnrollmentConfig"
expect_json .softwareConfig.policyEnforcement true
api POST "$KMS_URL/v1/projects/kaj-child/locations/global/keyRings?keyRingId=r" '{}'
api POST "$KMS_URL/v1/projects/kaj-child/locations/global/keyRings/r/cryptoKeys?cryptoKeyId=k" \
    '{"purpose":"ENCRYPT_DECRYPT"}'
expect_status 200
expect_json '.keyAccessJustificationsPolicy.allowedAccessReasons | join(",")' "$SYSTEM"
api PATCH "$KMS_URL/v1/organizations/4242/kajPolicyConfig?updateMask=etag" '{}'
expect_error_json 400 INVALID_ARGUMENT

section "a restart keeps policies and defaults"
stop_stack
start_persistent
expect_eq "{\"allowedAccessReasons\":[\"$CUSTOMER\",\"$SYSTEM\"]}" "$(policy_of "$TOPIC_KEY")" \
    "the key's policy"
api GET "$KMS_URL/v1/folders/4242/kajPolicyConfig"
expect_json '.defaultKeyAccessJustificationPolicy.allowedAccessReasons | join(",")' "$SYSTEM"
stop_stack

section "--iam enforce: configurations need their permissions on their parent"
start_stack --iam enforce
OWNER=user:developer@example.com
API_PRINCIPAL=user:alice@example.com api GET "$KMS_URL/v1/folders/777/kajPolicyConfig"
expect_error_json 403 PERMISSION_DENIED
expect_contains "$BODY" "cloudkms.kajPolicyConfigs.get" "the refusal names the permission"
grant "$CONTROL_URL/v2/folders/777" user:alice@example.com roles/cloudkms.keyAccessJustificationsPolicyConfigAdmin
API_PRINCIPAL=user:alice@example.com api PATCH "$KMS_URL/v1/folders/777/kajPolicyConfig" \
    "{\"defaultKeyAccessJustificationPolicy\":{\"allowedAccessReasons\":[\"$CUSTOMER\"]}}"
expect_status 200
API_PRINCIPAL=user:alice@example.com api GET "$KMS_URL/v1/projects/kaj-project/kajPolicyConfig"
expect_error_json 403 PERMISSION_DENIED # the folder's grant does not reach another project
API_PRINCIPAL=user:bob@example.com api GET \
    "$KMS_URL/v1/projects/kaj-project:showEffectiveKeyAccessJustificationsEnrollmentConfig"
expect_error_json 403 PERMISSION_DENIED
expect_contains "$BODY" "cloudkms.projects.showEffectiveKajEnrollmentConfig" "the refusal names the permission"
grant "$CONTROL_URL/v1/projects/kaj-project" user:bob@example.com \
    roles/cloudkms.keyAccessJustificationsEnrollmentConfigViewer
API_PRINCIPAL=user:bob@example.com api GET \
    "$KMS_URL/v1/projects/kaj-project:showEffectiveKeyAccessJustificationsEnrollmentConfig"
expect_status 200
expect_json .hardwareConfig.auditLogging true
stop_stack
finish
