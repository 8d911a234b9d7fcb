#!/usr/bin/env bash
# test_spanner_instance_move: MoveInstance (gcloud spanner instances move) with
# customer-managed keys: the refusals checked when the call comes (backups, a CMEK database
# without keys for the target config, keys given to a Google-managed database, keys that
# do not cover the target's regions), a move whose new key KMS refuses (the operation fails
# and nothing moves), and moves that succeed: the instance in the target config, each CMEK
# database's key-encryption key wrapped with its key there (encryptionInfo, and disabling
# the new key makes the database inaccessible at the next key check), its rows intact.
source "$(dirname "$0")/lib.sh"

PROJECT=move-project
P=projects/$PROJECT
start_stack
setup_gcloud "$PROJECT"
INST="$SPANNER_URL/v1/$P/instances/mv"
key() { echo "$P/locations/$1/keyRings/r/cryptoKeys/k"; }
NAM3_KEYS="\"$(key us-east4)\",\"$(key us-east1)\",\"$(key us-central1)\""
NOT_ACCESSIBLE="KMS key required by the Spanner resource is not accessible."

op_done() { api GET "$SPANNER_URL/v1/$1" && [[ $(jq -r .done <<<"$BODY") == true ]]; }
wait_op() { wait_for 10 "operation $1" op_done "$1" || _fail "operation $1 is not done"; }
move() { api POST "$INST:move" "$1"; }
sql() { # DATABASE SQL: the first column of each row
    local session
    session=$(curl -s -X POST "$INST/databases/$1/sessions" -d '{}' | jq -r .name)
    curl -s -X POST "$SPANNER_URL/v1/$session:executeSql" -d "{\"sql\":\"$2\"}" | jq -r '.rows[]?[0]'
}
set_version() { # KEY VERSION STATE
    api PATCH "$KMS_URL/v1/$1/cryptoKeyVersions/$2?updateMask=state" "{\"state\":\"$3\"}"
    expect_status 200
}

section "an instance in us-central1: a CMEK database with rows, one without a key"
regional_keys "$P" us-central1 us-east4 us-east1 us-west1
api POST "$SPANNER_URL/v1/$P/instances" "{\"instanceId\":\"mv\",\"instance\":{\"config\":\"$P/instanceConfigs/regional-us-central1\",\"displayName\":\"Move me\",\"nodeCount\":1}}"
expect_status 200
wait_op "$(jq -r .name <<<"$BODY")"
api POST "$INST/databases" "{\"createStatement\":\"CREATE DATABASE secure\",\"extraStatements\":[\"CREATE TABLE T (K INT64 NOT NULL, V STRING(MAX)) PRIMARY KEY (K)\"],\"encryptionConfig\":{\"kmsKeyName\":\"$(key us-central1)\"}}"
expect_status 200
wait_op "$(jq -r .name <<<"$BODY")"
api POST "$INST/databases" '{"createStatement":"CREATE DATABASE plain"}'
expect_status 200
wait_op "$(jq -r .name <<<"$BODY")"
session=$(curl -s -X POST "$INST/databases/secure/sessions" -d '{}' | jq -r .name)
api POST "$SPANNER_URL/v1/$session:commit" '{"singleUseTransaction":{"readWrite":{}},"mutations":[{"insert":{"table":"T","columns":["K","V"],"values":[["1","one"],["2","two"]]}}]}'
expect_status 200

section "refused when the call comes, nothing moved"
move '{}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "target_config must be specified" "no target"
move "{\"targetConfig\":\"$P/instanceConfigs/regional-us-central1\"}"
expect_error_json 400 FAILED_PRECONDITION # already there
move "{\"targetConfig\":\"$P/instanceConfigs/nam99\"}"
expect_error_json 404 NOT_FOUND
move "{\"targetConfig\":\"$P/instanceConfigs/nam3\"}"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "databases/secure uses customer-managed encryption" \
    "a CMEK database needs keys for the target config"
move "{\"targetConfig\":\"$P/instanceConfigs/nam3\",\"targetDatabaseMoveConfigs\":[{\"databaseId\":\"secure\",\"encryptionConfig\":{\"kmsKeyNames\":[$NAM3_KEYS]}},{\"databaseId\":\"plain\",\"encryptionConfig\":{\"kmsKeyNames\":[$NAM3_KEYS]}}]}"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "databases/plain uses Google-managed encryption" \
    "a Google-managed database cannot be given keys"
move "{\"targetConfig\":\"$P/instanceConfigs/nam3\",\"targetDatabaseMoveConfigs\":[{\"databaseId\":\"nope\"}]}"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "names database nope, which instance" "an unknown database"
move "{\"targetConfig\":\"$P/instanceConfigs/nam3\",\"targetDatabaseMoveConfigs\":[{\"databaseId\":\"secure\",\"encryptionConfig\":{\"kmsKeyNames\":[\"$(key us-east4)\",\"$(key us-east1)\"]}}]}"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "no key in location us-central1" "keys must cover the target's regions"
move "{\"targetConfig\":\"$P/instanceConfigs/nam3\",\"targetDatabaseMoveConfigs\":[{\"databaseId\":\"secure\",\"encryptionConfig\":{\"kmsKeyName\":\"$(key us-central1)\"}}]}"
expect_error_json 400 INVALID_ARGUMENT # a us-central1 key is not a nam3 key
api POST "$INST/backups?backupId=bk" "{\"database\":\"$P/instances/mv/databases/plain\",\"expireTime\":\"$(date -u -d "+10 days" +%Y-%m-%dT%H:%M:%SZ)\"}"
expect_status 200
wait_op "$(jq -r .name <<<"$BODY")"
move "{\"targetConfig\":\"$P/instanceConfigs/nam3\",\"targetDatabaseMoveConfigs\":[{\"databaseId\":\"secure\",\"encryptionConfig\":{\"kmsKeyNames\":[$NAM3_KEYS]}}]}"
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "Cannot move instance $P/instances/mv because it contains 1 backup" \
    "an instance with backups"
api DELETE "$INST/backups/bk"
expect_status 200
api GET "$INST"
expect_json .config "$P/instanceConfigs/regional-us-central1"

section "KMS refuses the target key: the operation fails, nothing moved"
set_version "$(key us-east4)" 1 DISABLED
move "{\"targetConfig\":\"$P/instanceConfigs/nam3\",\"targetDatabaseMoveConfigs\":[{\"databaseId\":\"secure\",\"encryptionConfig\":{\"kmsKeyNames\":[$NAM3_KEYS]}}]}"
expect_status 200
wait_op "$(jq -r .name <<<"$BODY")"
expect_json '.error.code | . > 0' true
expect_json .response null
api GET "$INST"
expect_json .config "$P/instanceConfigs/regional-us-central1"
api GET "$INST/databases/secure"
expect_json .encryptionConfig.kmsKeyName "$(key us-central1)"
expect_json '.encryptionInfo[0].kmsKeyVersion' "$(key us-central1)/cryptoKeyVersions/1"
expect_eq "1,2" "$(sql secure "SELECT K FROM T ORDER BY K" | paste -sd,)" "the rows are read under the old key"
set_version "$(key us-east4)" 1 ENABLED

section "the move: nam3, the CMEK database under its nam3 keys"
move "{\"targetConfig\":\"$P/instanceConfigs/nam3\",\"targetDatabaseMoveConfigs\":[{\"databaseId\":\"secure\",\"encryptionConfig\":{\"kmsKeyNames\":[$NAM3_KEYS]}}]}"
expect_status 200
expect_json '.name | startswith("'"$P"'/instances/mv/operations/")' true
expect_json '.metadata."@type"' type.googleapis.com/google.spanner.admin.instance.v1.MoveInstanceMetadata
expect_json .metadata.targetConfig "$P/instanceConfigs/nam3"
wait_op "$(jq -r .name <<<"$BODY")"
expect_json '.response."@type"' type.googleapis.com/google.spanner.admin.instance.v1.MoveInstanceResponse
expect_json .metadata.progress.progressPercent 100
api GET "$INST"
expect_json .config "$P/instanceConfigs/nam3"
api GET "$INST/databases/secure"
expect_json '.encryptionConfig.kmsKeyNames | length' 3
expect_json .encryptionConfig.kmsKeyName null
expect_json '.encryptionInfo[0].kmsKeyVersion' "$(key us-east4)/cryptoKeyVersions/1" # the default leader's
api GET "$INST/databases/plain"
expect_json .encryptionConfig null
expect_json .encryptionInfo null # Google default encryption: none shown
expect_eq "1,2" "$(sql secure "SELECT K FROM T ORDER BY K" | paste -sd,)" "the rows are read under the new key"

section "the old key no longer matters, the new one does"
set_version "$(key us-central1)" 1 DISABLED
api POST "$CONTROL_URL/emulator/v1/keyChecks:run" '{}'
expect_eq "1,2" "$(sql secure "SELECT K FROM T ORDER BY K" | paste -sd,)" "the old key disabled: still readable"
set_version "$(key us-east4)" 1 DISABLED
api POST "$CONTROL_URL/emulator/v1/keyChecks:run" '{}'
api POST "$INST/databases/secure/sessions" '{}'
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "$NOT_ACCESSIBLE" "the new key disabled: the database is not accessible"
set_version "$(key us-east4)" 1 ENABLED
set_version "$(key us-central1)" 1 ENABLED
api POST "$CONTROL_URL/emulator/v1/keyChecks:run" '{}'
expect_eq "1,2" "$(sql secure "SELECT K FROM T ORDER BY K" | paste -sd,)" "enabled again: readable"

if (( HAVE_GCLOUD )); then
    section "gcloud: instances move to a user-managed config"
    api POST "$SPANNER_URL/v1/$P/instanceConfigs" "{\"instanceConfigId\":\"custom-west\",\"instanceConfig\":{\"baseConfig\":\"$P/instanceConfigs/regional-us-central1\",\"displayName\":\"West reads\",\"replicas\":[{\"location\":\"us-central1\",\"type\":\"READ_WRITE\"},{\"location\":\"us-central1\",\"type\":\"READ_WRITE\"},{\"location\":\"us-central1\",\"type\":\"READ_WRITE\"},{\"location\":\"us-west1\",\"type\":\"READ_ONLY\"}]}}"
    expect_status 200
    wait_op "$(jq -r .name <<<"$BODY")"
    out=$(gcloud spanner instances move mv --target-config=custom-west --quiet 2>&1)
    expect_contains "$out" "uses customer-managed encryption" "gcloud prints the refusal"
    out=$(gcloud spanner instances move mv --target-config=custom-west --quiet \
        --target-database-move-configs="^:^database-id=secure:kms-key-names=$(key us-central1),$(key us-west1)" 2>&1)
    expect_contains "$out" "Instance move started" "instances move $out"
    wait_for 10 "the move" bash -c "[[ \$(curl -s '$INST' | jq -r .config) == '$P/instanceConfigs/custom-west' ]]"
    expect_eq "$P/instanceConfigs/custom-west" "$(gcloud spanner instances describe mv --format='value(config)')" \
        "instances describe: the new config"
    api GET "$INST/databases/secure"
    expect_json '.encryptionInfo[0].kmsKeyVersion' "$(key us-central1)/cryptoKeyVersions/1" # the leader region's
    expect_contains "$(gcloud spanner operations list --instance=mv --type=INSTANCE --format='value(metadata.@type)')" \
        "MoveInstanceMetadata" "operations list shows the moves"
    expect_eq "1,2" "$(sql secure "SELECT K FROM T ORDER BY K" | paste -sd,)" "the rows after the second move"
fi

stop_stack
finish
