#!/usr/bin/env bash
# test_spanner_instance_partitions: instance partitions over REST and through the real
# gcloud CLI: create (an operation, CREATING then READY) on an Enterprise Plus instance
# only, Google's refusals, get and list (one instance's, every instance's with "-"),
# update of display name and capacity with the etag check, delete, the operations under a
# partition and the instance's instancePartitionOperations, and partitions going with
# their instance.
source "$(dirname "$0")/lib.sh"

PROJECT=partitions-project
P=projects/$PROJECT
start_stack
setup_gcloud "$PROJECT"
INST="$SPANNER_URL/v1/$P/instances/ent"
PARTS="$INST/instancePartitions"

op_done() { api GET "$SPANNER_URL/v1/$1" && [[ $(jq -r .done <<<"$BODY") == true ]]; }
wait_op() { wait_for 10 "operation $1" op_done "$1" || _fail "operation $1 is not done"; }
# create_instance ID EDITION
create_instance() {
    api POST "$SPANNER_URL/v1/$P/instances" "{\"instanceId\":\"$1\",\"instance\":{\"config\":\"$P/instanceConfigs/regional-us-central1\",\"displayName\":\"Instance $1\",\"nodeCount\":1,\"edition\":\"$2\"}}"
    expect_status 200
    wait_op "$(jq -r .name <<<"$BODY")"
}
# create_partition ID DISPLAY_NAME [EXTRA_FIELDS] (on instance ent)
create_partition() {
    api POST "$PARTS" "{\"instancePartitionId\":\"$1\",\"instancePartition\":{\"config\":\"$P/instanceConfigs/regional-us-east1\",\"displayName\":\"$2\"${3:+,$3}}}"
}

section "an Enterprise Plus instance, and a Standard one"
create_instance ent ENTERPRISE_PLUS
create_instance std STANDARD
api POST "$SPANNER_URL/v1/$P/instances/std/instancePartitions" "{\"instancePartitionId\":\"p1\",\"instancePartition\":{\"config\":\"$P/instanceConfigs/regional-us-east1\",\"displayName\":\"Part one\"}}"
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "need the ENTERPRISE_PLUS edition" "a Standard instance has no partitions"

section "create: an operation, CREATING then READY"
create_partition p1 "Part one" '"nodeCount":2'
expect_status 200
expect_json '.name | startswith("'"$P"'/instances/ent/instancePartitions/p1/operations/")' true
expect_json '.metadata."@type"' type.googleapis.com/google.spanner.admin.instance.v1.CreateInstancePartitionMetadata
expect_json .metadata.instancePartition.state CREATING
expect_json '.metadata.startTime | length > 0' true
wait_op "$(jq -r .name <<<"$BODY")"
expect_json '.response."@type"' type.googleapis.com/google.spanner.admin.instance.v1.InstancePartition
expect_json .response.state READY
expect_json '.metadata.endTime | length > 0' true
api GET "$PARTS/p1"
expect_status 200
expect_json .config "$P/instanceConfigs/regional-us-east1"
expect_json .nodeCount 2
expect_json .processingUnits 2000
expect_json .state READY
etag=$(jq -r .etag <<<"$BODY")
create_partition p1 "Part one again"
expect_error_json 409 ALREADY_EXISTS

section "create: Google's refusals"
create_partition p2 "Part one"
expect_error_json 409 ALREADY_EXISTS
expect_contains "$BODY" "unique in the project" "a display name is unique in the project"
create_partition P2 "Part two"
expect_error_json 400 INVALID_ARGUMENT # uppercase ID
create_partition p2 "P2"
expect_error_json 400 INVALID_ARGUMENT # display name too short
create_partition p2 "Part two" '"processingUnits":150'
expect_error_json 400 INVALID_ARGUMENT
create_partition p2 "Part two" '"nodeCount":1,"processingUnits":1000'
expect_error_json 400 INVALID_ARGUMENT
create_partition p2 "Part two" '"autoscalingConfig":{}'
expect_error_json 400 UNIMPLEMENTED
api POST "$PARTS" "{\"instancePartitionId\":\"p2\",\"instancePartition\":{\"config\":\"$P/instanceConfigs/regional-mars1\",\"displayName\":\"Part two\"}}"
expect_error_json 404 NOT_FOUND
api POST "$PARTS" '{"instancePartitionId":"p2","instancePartition":{"displayName":"Part two"}}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$SPANNER_URL/v1/$P/instances/none/instancePartitions" "{\"instancePartitionId\":\"p2\",\"instancePartition\":{\"config\":\"$P/instanceConfigs/regional-us-east1\",\"displayName\":\"Part two\"}}"
expect_error_json 404 NOT_FOUND
api GET "$PARTS/p2"
expect_error_json 404 NOT_FOUND

section "list: the instance's, and every instance's with -"
create_partition p3 "Part three" '"processingUnits":500'
expect_status 200
wait_op "$(jq -r .name <<<"$BODY")"
api GET "$PARTS"
expect_json '[.instancePartitions[].name | split("/") | last] | join(",")' p1,p3
api GET "$PARTS?pageSize=1"
expect_json '.instancePartitions | length' 1
expect_json '.nextPageToken | length > 0' true
api GET "$SPANNER_URL/v1/$P/instances/-/instancePartitions"
expect_json '.instancePartitions | length' 2
api GET "$PARTS?instancePartitionDeadline=soon"
expect_error_json 400 INVALID_ARGUMENT

section "update: display name and capacity, with the etag"
api PATCH "$PARTS/p1" "{\"instancePartition\":{\"name\":\"$P/instances/ent/instancePartitions/p1\",\"displayName\":\"Part renamed\",\"processingUnits\":3000,\"etag\":\"$etag\"},\"fieldMask\":\"display_name,processing_units\"}"
expect_status 200
expect_json '.metadata."@type"' type.googleapis.com/google.spanner.admin.instance.v1.UpdateInstancePartitionMetadata
wait_op "$(jq -r .name <<<"$BODY")"
api GET "$PARTS/p1"
expect_json .displayName "Part renamed"
expect_json .nodeCount 3
expect_json .processingUnits 3000
api PATCH "$PARTS/p1" "{\"instancePartition\":{\"displayName\":\"Stale\",\"etag\":\"$etag\"},\"fieldMask\":\"displayName\"}"
expect_error_json 409 ABORTED
api PATCH "$PARTS/p1" '{"instancePartition":{"config":"x"},"fieldMask":"config"}'
expect_error_json 400 INVALID_ARGUMENT
api PATCH "$PARTS/p1" '{"instancePartition":{"displayName":"Part three"},"fieldMask":"displayName"}'
expect_error_json 409 ALREADY_EXISTS # p3's name
api PATCH "$PARTS/p1" '{"instancePartition":{"displayName":"No mask"}}'
expect_error_json 400 INVALID_ARGUMENT

section "an instance with partitions stays ENTERPRISE_PLUS"
api PATCH "$INST" '{"instance":{"edition":"ENTERPRISE"},"fieldMask":"edition"}'
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "has 2 instance partitions" "the edition is kept while partitions exist"

section "operations: under a partition and the instance's instancePartitionOperations"
api GET "$PARTS/p1/operations"
expect_json '[.operations[].metadata."@type" | split(".") | last] | join(",")' \
    CreateInstancePartitionMetadata,UpdateInstancePartitionMetadata
api GET "$INST/instancePartitionOperations"
expect_json '.operations | length' 3
api GET "$INST/instancePartitionOperations?filter=metadata.@type%3Dtype.googleapis.com/google.spanner.admin.instance.v1.UpdateInstancePartitionMetadata"
expect_json '.operations | length' 1

section "delete, with the etag"
api DELETE "$PARTS/p3?etag=stale"
expect_error_json 409 ABORTED
api DELETE "$PARTS/p3"
expect_status 200
api GET "$PARTS/p3"
expect_error_json 404 NOT_FOUND
api DELETE "$PARTS/p3"
expect_error_json 404 NOT_FOUND

if (( HAVE_GCLOUD )); then
    section "gcloud: instance-partitions create, describe, list, update, delete"
    gcloud spanner instance-partitions create gp --instance=ent --config=regional-us-east4 \
        --description="Gcloud part" --nodes=1 >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "instance-partitions create (polls its operation) $(cat "$TEST_TMP/err")"
    expect_eq "Gcloud part READY 1" \
        "$(gcloud spanner instance-partitions describe gp --instance=ent --format='value(displayName,state,nodeCount)' | tr '\t' ' ')" \
        "instance-partitions describe"
    expect_contains "$(gcloud spanner instance-partitions list --instance=ent --format='value(name)')" \
        "gp" "instance-partitions list"
    gcloud spanner instance-partitions update gp --instance=ent --description="Gcloud renamed" \
        --processing-units=500 >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "instance-partitions update $(cat "$TEST_TMP/err")"
    api GET "$PARTS/gp"
    expect_json '"\(.displayName) \(.processingUnits)"' "Gcloud renamed 500"
    out=$(gcloud spanner instance-partitions create gp2 --instance=std --config=regional-us-east4 \
        --description="Std part" --nodes=1 2>&1)
    expect_contains "$out" "ENTERPRISE_PLUS" "gcloud prints the edition refusal"
    gcloud spanner instance-partitions delete gp --instance=ent --quiet >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "instance-partitions delete $(cat "$TEST_TMP/err")"
fi

section "partitions go with their instance"
api DELETE "$INST"
expect_status 200
create_instance ent ENTERPRISE_PLUS
api GET "$PARTS/p1"
expect_error_json 404 NOT_FOUND

stop_stack
finish
