#!/usr/bin/env bash
# test_spanner_instance_configs: user-managed instance configurations (custom-...), over
# REST and through the real gcloud CLI: create from a Google-managed base config with some
# of its optional (read-only) replicas added (long-running operation, CREATING then
# READY), Google's refusals, validateOnly, update of display name and labels with the etag
# check, instances and CMEK databases on such a config (a key in each replica region),
# delete refused while an instance uses it, the operations under a config and the
# project's, and every config surviving a restart.
source "$(dirname "$0")/lib.sh"

PROJECT=configs-project
P=projects/$PROJECT
DATA="$TEST_TMP/data"
mkdir -p "$DATA"
start_persistent
setup_gcloud "$PROJECT"
CONFIGS="$SPANNER_URL/v1/$P/instanceConfigs"

# wait_op NAME: waits until the operation is done; BODY holds it then.
op_done() { api GET "$SPANNER_URL/v1/$1" && [[ $(jq -r .done <<<"$BODY") == true ]]; }
wait_op() { wait_for 10 "operation $1" op_done "$1" || _fail "operation $1 is not done"; }

# create_config ID BASE REPLICAS_JSON [EXTRA_FIELDS]: POSTs a CreateInstanceConfigRequest.
create_config() {
    api POST "$CONFIGS" "{\"instanceConfigId\":\"$1\",\"instanceConfig\":{\"name\":\"$P/instanceConfigs/$1\",\"baseConfig\":\"$P/instanceConfigs/$2\",\"displayName\":\"Config $1\",\"replicas\":$3${4:+,$4}}}"
}
NAM3='{"location":"us-east4","type":"READ_WRITE","defaultLeaderLocation":true},{"location":"us-east1","type":"READ_WRITE"},{"location":"us-central1","type":"WITNESS"}'
REGIONAL='{"location":"us-central1","type":"READ_WRITE"},{"location":"us-central1","type":"READ_WRITE"},{"location":"us-central1","type":"READ_WRITE"}'

section "Google-managed configs offer optional read-only replicas"
api GET "$CONFIGS/nam3"
expect_status 200
expect_json '.configType' GOOGLE_MANAGED
expect_json '[.optionalReplicas[] | select(.location == "us-west1") | .type] | join(",")' READ_ONLY
api GET "$CONFIGS/emulator-config"
expect_json '.optionalReplicas' null

section "create: a long-running operation, CREATING then READY"
create_config custom-west nam3 "[$NAM3,{\"location\":\"us-west1\",\"type\":\"READ_ONLY\"}]" '"labels":{"env":"test"}'
expect_status 200
expect_json '.name | startswith("'"$P"'/instanceConfigs/custom-west/operations/")' true
expect_json '.metadata."@type"' "type.googleapis.com/google.spanner.admin.instance.v1.CreateInstanceConfigMetadata"
expect_json '.metadata.instanceConfig.configType' USER_MANAGED
expect_json '.metadata.instanceConfig.state' CREATING
expect_json '.metadata.instanceConfig.reconciling' true
expect_json '.metadata.progress.startTime | length > 0' true
wait_op "$(jq -r .name <<<"$BODY")"
expect_json '.response."@type"' "type.googleapis.com/google.spanner.admin.instance.v1.InstanceConfig"
expect_json '.response.state' READY
expect_json '.metadata.progress.progressPercent' 100
expect_json '.metadata.progress.endTime | length > 0' true
api GET "$CONFIGS/custom-west"
expect_status 200
expect_json '.state' READY
expect_json '.reconciling' null
expect_json '.baseConfig' "$P/instanceConfigs/nam3"
expect_json '[.replicas[] | "\(.location)/\(.type)"] | join(",")' \
    "us-east4/READ_WRITE,us-east1/READ_WRITE,us-central1/WITNESS,us-west1/READ_ONLY"
expect_json '[.replicas[] | select(.defaultLeaderLocation) | .location] | join(",")' us-east4
expect_json '.leaderOptions | join(",")' "us-east4,us-east1"
expect_json '.labels.env' test
expect_json '.etag | length > 0' true
etag=$(jq -r .etag <<<"$BODY")
api GET "$CONFIGS?pageSize=500"
expect_json '[.instanceConfigs[] | select(.configType == "USER_MANAGED") | .name] | join(",")' \
    "$P/instanceConfigs/custom-west"
create_config custom-west nam3 "[$NAM3,{\"location\":\"us-west1\",\"type\":\"READ_ONLY\"}]"
expect_error_json 409 ALREADY_EXISTS

section "create: Google's refusals, each naming what is wrong"
create_config west nam3 "[$NAM3]"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" 'must start with \"custom-\"' "an ID without custom-"
create_config custom-bad- nam3 "[$NAM3]"
expect_error_json 400 INVALID_ARGUMENT
create_config custom-missing nam3 '[{"location":"us-east4","type":"READ_WRITE"},{"location":"us-west1","type":"READ_ONLY"}]'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "READ_WRITE replica in us-east1 is missing" "a replica of the base left out"
create_config custom-rw nam3 "[$NAM3,{\"location\":\"us-west1\",\"type\":\"READ_WRITE\"}]"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "READ_WRITE replica in us-west1 is not one of the optional replicas" \
    "a replica the base does not offer"
create_config custom-twice nam3 "[$NAM3,{\"location\":\"us-west1\",\"type\":\"READ_ONLY\"},{\"location\":\"us-west1\",\"type\":\"READ_ONLY\"}]"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "given twice" "an optional replica twice"
create_config custom-nowhere nam3 "[$NAM3,{\"location\":\"us-nowhere9\",\"type\":\"READ_ONLY\"}]"
expect_error_json 400 INVALID_ARGUMENT
create_config custom-untyped nam3 "[$NAM3,{\"location\":\"us-west1\"}]"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "replicas[3].type must be specified" "a replica without a type"
create_config custom-user custom-west "[$NAM3]"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "is user-managed" "a user-managed base"
create_config custom-none regional-nowhere1 "[$NAM3]"
expect_error_json 404 NOT_FOUND
api POST "$CONFIGS" "{\"instanceConfigId\":\"custom-other\",\"instanceConfig\":{\"baseConfig\":\"projects/other-project/instanceConfigs/nam3\",\"displayName\":\"Other\",\"replicas\":[$NAM3]}}"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "must be a configuration of project $PROJECT" "a base in another project"
api POST "$CONFIGS" "{\"instanceConfigId\":\"custom-x\",\"instanceConfig\":{\"name\":\"$P/instanceConfigs/custom-y\",\"baseConfig\":\"$P/instanceConfigs/nam3\",\"displayName\":\"X\",\"replicas\":[$NAM3]}}"
expect_error_json 400 INVALID_ARGUMENT
api POST "$CONFIGS" "{\"instanceConfigId\":\"custom-x\",\"instanceConfig\":{\"baseConfig\":\"$P/instanceConfigs/nam3\",\"replicas\":[$NAM3]}}"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "display_name must be specified" "no display name"
api POST "$CONFIGS" "{\"instanceConfigId\":\"custom-x\",\"instanceConfig\":{\"baseConfig\":\"$P/instanceConfigs/nam3\",\"displayName\":\"X\",\"replicas\":[{\"location\":\"us-east4\",\"type\":\"LEADER\"}]}}"
expect_error_json 400 INVALID_ARGUMENT # not a ReplicaType
api GET "$CONFIGS/custom-missing"
expect_error_json 404 NOT_FOUND # nothing refused was kept

section "validateOnly: checked and answered, nothing made"
api POST "$CONFIGS" '{"instanceConfigId":"custom-q","bogus":1}'
expect_error_json 400 INVALID_ARGUMENT # an unknown field is refused like any other
api POST "$CONFIGS" "{\"instanceConfigId\":\"custom-checked\",\"validateOnly\":true,\"instanceConfig\":{\"baseConfig\":\"$P/instanceConfigs/regional-us-central1\",\"displayName\":\"Checked\",\"replicas\":[$REGIONAL,{\"location\":\"us-east1\",\"type\":\"READ_ONLY\"}]}}"
expect_status 200
expect_json '.done' true
expect_json '.response.name' "$P/instanceConfigs/custom-checked"
api GET "$CONFIGS/custom-checked"
expect_error_json 404 NOT_FOUND

section "update: display name and labels, with the etag"
api PATCH "$CONFIGS/custom-west" "{\"instanceConfig\":{\"name\":\"$P/instanceConfigs/custom-west\",\"displayName\":\"West added\",\"etag\":\"$etag\"},\"updateMask\":\"display_name\"}"
expect_status 200
expect_json '.metadata."@type"' "type.googleapis.com/google.spanner.admin.instance.v1.UpdateInstanceConfigMetadata"
expect_json '.metadata.instanceConfig.displayName' "West added"
wait_op "$(jq -r .name <<<"$BODY")"
api GET "$CONFIGS/custom-west"
expect_json '.displayName' "West added"
expect_json '.labels.env' test # not in the mask: kept
expect_json ".etag != \"$etag\"" true
api PATCH "$CONFIGS/custom-west" "{\"instanceConfig\":{\"displayName\":\"Stale\",\"etag\":\"$etag\"},\"updateMask\":\"displayName\"}"
expect_error_json 409 ABORTED
api PATCH "$CONFIGS/custom-west" '{"instanceConfig":{"replicas":[]},"updateMask":"replicas"}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "Only display_name and labels" "an unchangeable field"
api PATCH "$CONFIGS/custom-west" '{"instanceConfig":{"displayName":"No mask"}}'
expect_error_json 400 INVALID_ARGUMENT
api PATCH "$CONFIGS/nam3" '{"instanceConfig":{"displayName":"Mine"},"updateMask":"displayName"}'
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "Google-managed" "a Google-managed config"
api PATCH "$CONFIGS/custom-west" '{"instanceConfig":{"labels":{"env":"prod"}},"updateMask":"labels","validateOnly":true}'
expect_status 200
api GET "$CONFIGS/custom-west"
expect_json '.labels.env' test # validateOnly changed nothing

section "instances and CMEK databases on a user-managed config"
regional_keys "$P" us-east4 us-east1 us-central1 us-west1
api POST "$SPANNER_URL/v1/$P/instances" "{\"instanceId\":\"west-inst\",\"instance\":{\"config\":\"$P/instanceConfigs/custom-west\",\"displayName\":\"West instance\",\"nodeCount\":1}}"
expect_status 200
wait_op "$(jq -r .name <<<"$BODY")"
INST="$SPANNER_URL/v1/$P/instances/west-inst"
api POST "$INST/databases" "{\"createStatement\":\"CREATE DATABASE one\",\"encryptionConfig\":{\"kmsKeyName\":\"$P/locations/nam3/keyRings/r/cryptoKeys/k\"}}"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "is user-managed: give kms_key_names" \
    "a user-managed config takes kms_key_names, not one kms_key_name"
api POST "$INST/databases" "{\"createStatement\":\"CREATE DATABASE one\",\"encryptionConfig\":{\"kmsKeyNames\":[\"$P/locations/nam3/keyRings/r/cryptoKeys/k\",\"$P/locations/us-west1/keyRings/r/cryptoKeys/k\"]}}"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "not a region" "nor a multi-region key"
keys="\"$P/locations/us-east4/keyRings/r/cryptoKeys/k\",\"$P/locations/us-east1/keyRings/r/cryptoKeys/k\",\"$P/locations/us-central1/keyRings/r/cryptoKeys/k\""
api POST "$INST/databases" "{\"createStatement\":\"CREATE DATABASE two\",\"encryptionConfig\":{\"kmsKeyNames\":[$keys]}}"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "no key in location us-west1" "kmsKeyNames must cover the added replica's region"
api POST "$INST/databases" "{\"createStatement\":\"CREATE DATABASE three\",\"encryptionConfig\":{\"kmsKeyNames\":[$keys,\"$P/locations/us-west1/keyRings/r/cryptoKeys/k\"]}}"
expect_status 200
wait_op "$(jq -r .name <<<"$BODY")"
api GET "$INST/databases/three"
expect_json '.encryptionInfo[0].kmsKeyVersion' "$P/locations/us-east4/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1"

section "delete: refused while an instance uses the config"
api DELETE "$CONFIGS/custom-west"
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "is used by instances ($P/instances/west-inst)" "the message names the instance"
api DELETE "$CONFIGS/nam3"
expect_error_json 400 FAILED_PRECONDITION
api DELETE "$INST"
expect_status 200
api DELETE "$CONFIGS/custom-west?etag=stale"
expect_error_json 409 ABORTED
api DELETE "$CONFIGS/custom-west?validateOnly=true"
expect_status 200
api GET "$CONFIGS/custom-west"
expect_status 200 # validateOnly deleted nothing
api DELETE "$CONFIGS/custom-west?validateOnly=maybe"
expect_error_json 400 INVALID_ARGUMENT

section "operations: under each config and the project's"
api GET "$CONFIGS/custom-west/operations"
expect_json '[.operations[].metadata."@type" | split(".") | last] | join(",")' \
    "CreateInstanceConfigMetadata,UpdateInstanceConfigMetadata"
api GET "$SPANNER_URL/v1/$P/instanceConfigOperations"
expect_status 200
expect_json '[.operations[].name | select(contains("/custom-west/"))] | length' 2
api GET "$SPANNER_URL/v1/$P/instanceConfigOperations?filter=metadata.@type%3Dtype.googleapis.com/google.spanner.admin.instance.v1.UpdateInstanceConfigMetadata"
expect_json '.operations | length' 1

if (( HAVE_GCLOUD )); then
    section "gcloud: instance-configs create, describe, update, list, delete"
    gcloud spanner instance-configs create custom-east --clone-config=regional-us-central1 \
        --add-replicas=location=us-east1,type=READ_ONLY --display-name="East reads" >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "instance-configs create --clone-config (polls its operation) $(cat "$TEST_TMP/err")"
    expect_eq "USER_MANAGED READY $P/instanceConfigs/regional-us-central1" \
        "$(gcloud spanner instance-configs describe custom-east --format='value(configType,state,baseConfig)' | tr '\t' ' ')" \
        "instance-configs describe"
    gcloud spanner instance-configs create custom-east2 --base-config=regional-us-central1 \
        --replicas="location=us-central1,type=READ_WRITE:location=us-central1,type=READ_WRITE:location=us-central1,type=READ_WRITE:location=us-east1,type=READ_ONLY" \
        --display-name="East two" >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "instance-configs create --base-config --replicas $(cat "$TEST_TMP/err")"
    out=$(gcloud spanner instance-configs create custom-bad --base-config=nam3 \
        --replicas="location=us-east4,type=READ_WRITE" --display-name="Bad" 2>&1)
    expect_contains "$out" "is missing" "gcloud prints the refusal"
    gcloud spanner instance-configs update custom-east --display-name="East renamed" \
        --update-labels=team=data >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "instance-configs update $(cat "$TEST_TMP/err")"
    api GET "$CONFIGS/custom-east"
    expect_json '"\(.displayName) \(.labels.team)"' "East renamed data"
    expect_contains "$(gcloud spanner instance-configs list --format='value(name)')" "custom-east2" \
        "instance-configs list shows user-managed configs"
    ops=$(gcloud spanner operations list --instance-config=custom-east --format='value(name)')
    expect_eq 2 "$(wc -l <<<"$ops")" "operations list --instance-config: create and update"
    gcloud spanner instances create east-inst --config=custom-east --description="East inst" \
        --nodes=1 >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "instances create on a user-managed config $(cat "$TEST_TMP/err")"
    out=$(gcloud spanner instance-configs delete custom-east --quiet 2>&1)
    expect_contains "$out" "FAILED_PRECONDITION" "instance-configs delete while in use"
    api DELETE "$SPANNER_URL/v1/$P/instances/east-inst"
    gcloud spanner instance-configs delete custom-east2 --quiet >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "instance-configs delete $(cat "$TEST_TMP/err")"
    api GET "$CONFIGS/custom-east2"
    expect_error_json 404 NOT_FOUND
fi

section "user-managed configs survive a stop and start"
stop_stack
start_persistent
api GET "$CONFIGS/custom-west"
expect_status 200
expect_json '.displayName' "West added"
expect_json '.state' READY
api DELETE "$CONFIGS/custom-west"
expect_status 200
api GET "$CONFIGS/custom-west"
expect_error_json 404 NOT_FOUND
api POST "$SPANNER_URL/v1/$P/instances" "{\"instanceId\":\"late\",\"instance\":{\"config\":\"$P/instanceConfigs/custom-west\",\"displayName\":\"Too late\",\"nodeCount\":1}}"
expect_error_json 404 NOT_FOUND # no instance on a deleted config

stop_stack
finish
