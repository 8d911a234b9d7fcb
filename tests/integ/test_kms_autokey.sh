#!/usr/bin/env bash
# test_kms_autokey: Cloud KMS Autokey end to end, as a security administrator and a
# developer use it, through REST and the real gcloud CLI.
#
# The administrator sets a folder's AutokeyConfig (key project), the resource project is
# moved into the folder (Resource Manager), a developer creates key handles and gets a
# key per resource in the key project (key ring "autokey", HSM, yearly rotation), protects
# a Pub/Sub topic with it, and the key then behaves as any CMEK key: disabling its version
# stops publishing. Refusals: no configuration above the project, a bad resource type, a
# handle ID taken, a stale etag; everything kept across a restart of the stack.
# full-run-only: a gcloud walkthrough; `FAST=1 tests/integ/run-all` (scripts/test-all --fast) skips it
source "$(dirname "$0")/lib.sh"

DATA="$TEST_TMP/data"
mkdir -p "$DATA"
start_persistent
setup_gcloud app-project
cd "$TEST_TMP"
FOLDER=123456789
CONFIG="$KMS_URL/v1/folders/$FOLDER/autokeyConfig"
HANDLES="$KMS_URL/v1/projects/app-project/locations/us-central1/keyHandles"

advance() { api POST "$CONTROL_URL/emulator/v1/clock:advance" "{\"seconds\": $1}"; expect_status 200; }

# wait_operation NAME: polls the KMS operation until done; BODY is the Operation.
wait_operation() {
    local _
    for _ in $(seq 1 100); do
        api GET "$KMS_URL/v1/$1"
        [[ "$(jq -r '.done // false' <<<"$BODY")" == true ]] && return 0
        sleep 0.05
    done
}

section "AutokeyConfig of a folder"
api GET "$CONFIG"
expect_status 200
expect_json .state UNINITIALIZED
expect_json .name "folders/$FOLDER/autokeyConfig"
api PATCH "$CONFIG" '{"keyProject": "projects/key-project"}'
expect_status 400
expect_error_json 400 INVALID_ARGUMENT
api PATCH "$CONFIG?updateMask=keyProject" '{"keyProject": "projects/1234567"}'
expect_error_json 400 INVALID_ARGUMENT
api GET "$KMS_URL/v1/folders/not-a-number/autokeyConfig"
expect_error_json 400 INVALID_ARGUMENT

section "a key handle needs a configuration above its project"
api POST "$HANDLES?keyHandleId=early" '{"resourceTypeSelector": "pubsub.googleapis.com/Topic"}'
expect_status 200
op=$(jq -r .name <<<"$BODY")
expect_contains "$op" "projects/app-project/locations/us-central1/operations/" "an operation"
wait_operation "$op"
expect_json .error.code 9
expect_json '.error.message | contains("app-project")' true
api GET "$HANDLES/early"
expect_error_json 404 NOT_FOUND

if [[ $HAVE_GCLOUD == 1 ]]; then
    section "gcloud: the administrator configures the folder, the project moves into it"
    printf 'name: folders/%s/autokeyConfig\nkeyProject: projects/key-project\n' "$FOLDER" >config.yaml
    out=$(gcloud kms autokey-config update config.yaml --format=json 2>&1)
    expect_eq "projects/key-project ACTIVE" "$(jq -r '"\(.keyProject) \(.state)"' <<<"$out")" \
        "autokey-config update"
    expect_eq "projects/key-project" \
        "$(gcloud kms autokey-config describe --folder=$FOLDER --format='value(keyProject)')" \
        "autokey-config describe"
    expect_eq "" "$(gcloud kms autokey-config show-effective-config --project=app-project \
        --format='value(keyProject)')" "no effective configuration before the move"
    gcloud beta projects move app-project --folder=$FOLDER --quiet >/dev/null 2>&1
    expect_eq 0 $? "beta projects move --folder"
    expect_eq "projects/key-project" "$(gcloud kms autokey-config show-effective-config \
        --project=app-project --format='value(keyProject)')" "show-effective-config"

    section "gcloud: a developer creates key handles"
    out=$(gcloud kms key-handles create --key-handle-id=orders-topic --location=us-central1 \
        --resource-type=pubsub.googleapis.com/Topic 2>&1)
    expect_contains "$out" "The corresponding CryptoKey is: projects/key-project/locations/us-central1/keyRings/autokey/cryptoKeys/" \
        "key-handles create names the key"
    KEY=$(gcloud kms key-handles describe orders-topic --location=us-central1 --format='value(kmsKey)')
    number=$(gcloud projects describe app-project --format='value(projectNumber)')
    expect_contains "$KEY" "/cryptoKeys/$number-pubsub-topic-" "the key's ID: project number, service, type"
    gcloud kms key-handles create --key-handle-id=orders-db --location=us-central1 \
        --resource-type=spanner.googleapis.com/Database >/dev/null 2>&1
    expect_eq "orders-db" "$(gcloud kms key-handles list --location=us-central1 \
        --resource-type=spanner.googleapis.com/Database --format='value(name.basename())')" \
        "key-handles list --resource-type (Spanner)"
    expect_eq "orders-topic" "$(gcloud kms key-handles list --location=us-central1 \
        --resource-type=pubsub.googleapis.com/Topic --format='value(name.basename())')" \
        "key-handles list --resource-type"
    out=$(gcloud kms key-handles create --key-handle-id=orders-topic --location=us-central1 \
        --resource-type=pubsub.googleapis.com/Topic 2>&1)
    expect_contains "$out" "ALREADY_EXISTS" "a handle ID is used once"
    out=$(gcloud kms key-handles create --key-handle-id=bad --location=us-central1 \
        --resource-type=pubsub/Topic 2>&1)
    expect_contains "$out" "resource_type_selector" "a malformed resource type is refused"

    section "the key is Autokey's: HSM, rotated yearly, in the key project's ring autokey"
    desc=$(gcloud kms keys describe "$KEY" --format=json)
    expect_eq "ENCRYPT_DECRYPT HSM 31536000s" \
        "$(jq -r '"\(.purpose) \(.versionTemplate.protectionLevel) \(.rotationPeriod)"' <<<"$desc")" \
        "purpose, protection level and rotation period"
    expect_contains "$(gcloud kms keys list --keyring=autokey --location=us-central1 \
        --project=key-project --format='value(name)')" "$KEY" "listed in the key project"

    section "a Pub/Sub topic protected by the Autokey key"
    gcloud pubsub topics create orders --topic-encryption-key="$KEY" \
        --message-storage-policy-allowed-regions=us-central1 >"$TEST_TMP/topic.log" 2>&1
    expect_eq 0 $? "topics create with the Autokey key: $(cat "$TEST_TMP/topic.log")"
    expect_eq "$KEY" "$(gcloud pubsub topics describe orders --format='value(kmsKeyName)')" \
        "the topic's kmsKeyName"
    out=$(gcloud pubsub topics publish orders --message=hello 2>&1)
    expect_contains "$out" "messageIds" "publish with the key enabled"
    expect_eq DISABLED "$(gcloud kms keys versions disable "$KEY/cryptoKeyVersions/1" --format='value(state)' 2>&1)" \
        "disable the key's version"
    advance 300 # the next key check
    out=$(gcloud pubsub topics publish orders --message=again 2>&1)
    expect_contains "$out" "FAILED_PRECONDITION" "publish refused once the key's version is disabled"
    gcloud kms keys versions enable "$KEY/cryptoKeyVersions/1" >/dev/null 2>&1
    advance 300
    out=$(gcloud pubsub topics publish orders --message=back 2>&1)
    expect_contains "$out" "messageIds" "publish again once re-enabled"

    section "a stale etag is refused"
    etag=$(gcloud kms autokey-config describe --folder=$FOLDER --format='value(etag)')
    printf 'name: folders/%s/autokeyConfig\nkeyProject: projects/other-keys\netag: "00"\n' \
        "$FOLDER" >stale.yaml
    out=$(gcloud kms autokey-config update stale.yaml 2>&1)
    expect_contains "$out" "etag of folders/$FOLDER/autokeyConfig does not match" \
        "update with a stale etag (409 ABORTED)"
    printf 'name: folders/%s/autokeyConfig\nkeyProject: projects/key-project\netag: "%s"\n' \
        "$FOLDER" "$etag" >fresh.yaml
    gcloud kms autokey-config update fresh.yaml >/dev/null 2>&1
    expect_eq 0 $? "update with the current etag"

    section "kept across a restart"
    stop_stack
    start_persistent
    expect_eq "$KEY" "$(gcloud kms key-handles describe orders-topic --location=us-central1 \
        --format='value(kmsKey)')" "the handle"
    expect_eq "projects/key-project" "$(gcloud kms autokey-config show-effective-config \
        --project=app-project --format='value(keyProject)')" "the configuration and the move"
fi

section "--iam enforce: a folder's policy grants on its configuration"
stop_stack
start_stack --iam enforce
[[ $HAVE_GCLOUD == 1 ]] && setup_gcloud app-project user:developer@example.com
OWNER=user:developer@example.com
CONFIG="$KMS_URL/v1/folders/$FOLDER/autokeyConfig"
HANDLES="$KMS_URL/v1/projects/app-project/locations/us-central1/keyHandles"
API_PRINCIPAL=user:alice@example.com api GET "$CONFIG"
expect_error_json 403 PERMISSION_DENIED
expect_contains "$BODY" "cloudkms.autokeyConfigs.get" "the refusal names the permission"
grant "$CONTROL_URL/v2/folders/$FOLDER" user:alice@example.com roles/cloudkms.autokeyAdmin
API_PRINCIPAL=user:alice@example.com api GET "$CONFIG"
expect_status 200
API_PRINCIPAL=user:alice@example.com api PATCH "$CONFIG?updateMask=keyProject" \
    '{"keyProject": "projects/key-project"}'
expect_error_json 403 PERMISSION_DENIED
expect_contains "$BODY" "cloudkms.cryptoKeys.setIamPolicy" "the key project's permission is needed too"
grant "$CONTROL_URL/v1/projects/key-project" user:alice@example.com roles/cloudkms.admin
API_PRINCIPAL=user:alice@example.com api PATCH "$CONFIG?updateMask=keyProject" \
    '{"keyProject": "projects/key-project"}'
expect_status 200
API_PRINCIPAL=$OWNER api PUT "$CONTROL_URL/v1/projects/app-project" \
    "{\"parent\": {\"type\": \"folder\", \"id\": \"$FOLDER\"}}"
expect_status 200
API_PRINCIPAL=user:bob@example.com api POST "$HANDLES?keyHandleId=bobs" \
    '{"resourceTypeSelector": "pubsub.googleapis.com/Topic"}'
expect_error_json 403 PERMISSION_DENIED
grant "$CONTROL_URL/v1/projects/app-project" user:bob@example.com roles/cloudkms.autokeyUser
API_PRINCIPAL=user:bob@example.com api POST "$HANDLES?keyHandleId=bobs" \
    '{"resourceTypeSelector": "pubsub.googleapis.com/Topic"}'
expect_status 200
op=$(jq -r .name <<<"$BODY")
API_PRINCIPAL=user:bob@example.com wait_operation "$op"
expect_json '.response.kmsKey | contains("projects/key-project/locations/us-central1/keyRings/autokey/")' true
BOBS_KEY=$(jq -r .response.kmsKey <<<"$BODY")
# the key project deleted: Autokey provisions nothing there (the operation fails), until
# it is undeleted
API_PRINCIPAL=$OWNER api DELETE "$CONTROL_URL/v1/projects/key-project"
expect_status 200
API_PRINCIPAL=user:bob@example.com api POST "$HANDLES?keyHandleId=bobs-while-deleted" \
    '{"resourceTypeSelector": "pubsub.googleapis.com/Topic"}'
expect_status 200
op=$(jq -r .name <<<"$BODY")
API_PRINCIPAL=user:bob@example.com wait_operation "$op"
expect_json '[.error.code, (.error.message | contains("key project projects/key-project is deleted"))] | map(tostring) | join(" ")' \
    "9 true"
API_PRINCIPAL=$OWNER api POST "$CONTROL_URL/v1/projects/key-project:undelete" '{}'
expect_status 200
# Autokey granted Pub/Sub's service agent of app-project the use of the key: a topic on it
# works at once, without anyone granting anything
API_PRINCIPAL=$OWNER api PUT "$PUBSUB_URL/v1/projects/app-project/topics/bobs-topic" \
    "{\"kmsKeyName\": \"$BOBS_KEY\", \"messageStoragePolicy\": {\"allowedPersistenceRegions\": [\"us-central1\"]}}"
expect_status 200
API_PRINCIPAL=$OWNER api POST "$PUBSUB_URL/v1/projects/app-project/topics/bobs-topic:publish" \
    '{"messages": [{"data": "aGk="}]}'
expect_status 200
API_PRINCIPAL=$OWNER api GET "$KMS_URL/v1/$BOBS_KEY:getIamPolicy"
expect_json '.bindings[0].role' roles/cloudkms.cryptoKeyEncrypterDecrypter
expect_json '.bindings[0].members[0] | test("^serviceAccount:service-[0-9]{12}@gcp-sa-pubsub.iam.gserviceaccount.com$")' true
etag=$(jq -r .etag <<<"$BODY")
API_PRINCIPAL=$OWNER api POST "$KMS_URL/v1/$BOBS_KEY:setIamPolicy" "{\"policy\": {\"etag\": \"$etag\"}}"
expect_status 200 # the grant removed: the agent may no longer use the key
API_PRINCIPAL=$OWNER api PUT "$PUBSUB_URL/v1/projects/app-project/topics/bobs-second-topic" \
    "{\"kmsKeyName\": \"$BOBS_KEY\", \"messageStoragePolicy\": {\"allowedPersistenceRegions\": [\"us-central1\"]}}"
expect_contains "$HTTP_STATUS" 4 "a topic on the key is refused without the grant"
API_PRINCIPAL=user:bob@example.com api GET "$CONFIG"
expect_error_json 403 PERMISSION_DENIED
API_PRINCIPAL=$OWNER api POST "$CONTROL_URL/v2/folders/not-a-folder:getIamPolicy" '{}'
expect_error_json 400 INVALID_ARGUMENT

section "--iam enforce: bindings on a folder or organization reach the projects in it"
for project in app-project other-project; do
    API_PRINCIPAL=$OWNER api POST "$KMS_URL/v1/projects/$project/locations/global/keyRings?keyRingId=r" '{}'
    API_PRINCIPAL=$OWNER api POST \
        "$KMS_URL/v1/projects/$project/locations/global/keyRings/r/cryptoKeys?cryptoKeyId=k" \
        '{"purpose": "ENCRYPT_DECRYPT"}'
    expect_status 200
done
encrypt_as() { # encrypt_as PRINCIPAL PROJECT
    API_PRINCIPAL=$1 api POST "$KMS_URL/v1/projects/$2/locations/global/keyRings/r/cryptoKeys/k:encrypt" \
        '{"plaintext": "aGk="}'
}
encrypt_as user:dave@example.com app-project
expect_error_json 403 PERMISSION_DENIED
grant "$CONTROL_URL/v2/folders/$FOLDER" user:dave@example.com roles/cloudkms.cryptoKeyEncrypterDecrypter
encrypt_as user:dave@example.com app-project
expect_status 200
encrypt_as user:dave@example.com other-project # not in the folder
expect_error_json 403 PERMISSION_DENIED
grant "$CONTROL_URL/v1/organizations/4242" user:erin@example.com roles/cloudkms.cryptoKeyEncrypterDecrypter
encrypt_as user:erin@example.com other-project
expect_error_json 403 PERMISSION_DENIED
API_PRINCIPAL=$OWNER api PUT "$CONTROL_URL/v1/projects/other-project" \
    '{"parent": {"type": "organization", "id": "4242"}}'
expect_status 200
encrypt_as user:erin@example.com other-project
expect_status 200
encrypt_as user:erin@example.com app-project # its folder is not known to be in the organization
expect_error_json 403 PERMISSION_DENIED
if [[ $HAVE_GCLOUD == 1 ]]; then
    out=$(gcloud organizations add-iam-policy-binding 4242 --member=user:frank@example.com \
        --role=roles/cloudkms.cryptoKeyEncrypterDecrypter 2>&1)
    expect_eq 0 $? "gcloud organizations add-iam-policy-binding: $out"
    encrypt_as user:frank@example.com other-project
    expect_status 200
fi
if [[ $HAVE_GCLOUD == 1 ]]; then
    out=$(gcloud resource-manager folders add-iam-policy-binding $FOLDER \
        --member=user:carol@example.com --role=roles/cloudkms.autokeyAdmin 2>&1)
    expect_eq 0 $? "gcloud resource-manager folders add-iam-policy-binding: $out"
    expect_contains "$(gcloud resource-manager folders get-iam-policy $FOLDER --format=json)" \
        "user:carol@example.com" "gcloud resource-manager folders get-iam-policy"
    expect_eq "projects/key-project" "$(gcloud_as user:carol@example.com kms autokey-config describe \
        --folder=$FOLDER --format='value(keyProject)')" "carol reads the configuration with gcloud"
fi

finish
