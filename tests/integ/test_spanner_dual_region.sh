#!/usr/bin/env bash
# test_spanner_dual_region: the dual-region instance configs (quorumType DUAL_REGION), the
# CMEK key rule on them (kms_key_names, a regional key in each of the two regions), and
# ChangeQuorum over REST and through gcloud: single-region quorum in one of the config's
# regions and back, its operation, the database's quorumInfo and its etag, and the
# refusals (a database of another config, a bad quorum type, a stale etag).
source "$(dirname "$0")/lib.sh"

PROJECT=dual-project
P=projects/$PROJECT
start_stack
setup_gcloud "$PROJECT"
INST="$SPANNER_URL/v1/$P/instances/dual"
DB="$INST/databases/qdb"
key() { echo "$P/locations/$1/keyRings/r/cryptoKeys/k"; }

op_done() { api GET "$SPANNER_URL/v1/$1" && [[ $(jq -r .done <<<"$BODY") == true ]]; }
wait_op() { wait_for 10 "operation $1" op_done "$1" || _fail "operation $1 is not done"; }
quorum() { api POST "$DB:changequorum" "$1"; }

section "the dual-region configs"
api GET "$SPANNER_URL/v1/$P/instanceConfigs/dual-region-japan1"
expect_status 200
expect_json .quorumType DUAL_REGION
expect_json '[.replicas[] | "\(.location)/\(.type)"] | join(",")' \
    "asia-northeast1/READ_WRITE,asia-northeast1/READ_WRITE,asia-northeast1/WITNESS,asia-northeast2/READ_WRITE,asia-northeast2/READ_WRITE,asia-northeast2/WITNESS"
expect_json '.leaderOptions | join(",")' "asia-northeast1,asia-northeast2"
api GET "$SPANNER_URL/v1/$P/instanceConfigs"
expect_json '[.instanceConfigs[] | select(.quorumType == "DUAL_REGION") | .name | split("/") | last] | join(",")' \
    "dual-region-australia1,dual-region-germany1,dual-region-india1,dual-region-japan1"
expect_json '.instanceConfigs[] | select(.name | endswith("/nam3")) | .quorumType' MULTI_REGION
expect_json '.instanceConfigs[] | select(.name | endswith("/regional-us-central1")) | .quorumType' REGION

section "an instance and databases: CMEK takes a key in each region"
regional_keys "$P" asia-northeast1 asia-northeast2
api POST "$SPANNER_URL/v1/$P/instances" "{\"instanceId\":\"dual\",\"instance\":{\"config\":\"$P/instanceConfigs/dual-region-japan1\",\"displayName\":\"Dual instance\",\"nodeCount\":1,\"edition\":\"ENTERPRISE_PLUS\"}}"
expect_status 200
wait_op "$(jq -r .name <<<"$BODY")"
api POST "$INST/databases" "{\"createStatement\":\"CREATE DATABASE one\",\"encryptionConfig\":{\"kmsKeyName\":\"$(key asia-northeast1)\"}}"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "is dual-region: give kms_key_names" "one key is not enough"
api POST "$INST/databases" "{\"createStatement\":\"CREATE DATABASE one\",\"encryptionConfig\":{\"kmsKeyNames\":[\"$(key asia-northeast1)\"]}}"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "no key in location asia-northeast2" "each region needs its key"
api POST "$INST/databases" "{\"createStatement\":\"CREATE DATABASE qdb\",\"encryptionConfig\":{\"kmsKeyNames\":[\"$(key asia-northeast1)\",\"$(key asia-northeast2)\"]}}"
expect_status 200
wait_op "$(jq -r .name <<<"$BODY")"
api GET "$DB"
expect_json '.encryptionInfo[0].kmsKeyVersion' "$(key asia-northeast1)/cryptoKeyVersions/1"
expect_json .quorumInfo null # no change yet

section "ChangeQuorum: single-region in Osaka, an operation"
quorum '{"quorumType":{"singleRegion":{"servingLocation":"asia-northeast2"}}}'
expect_status 200
expect_json '.name | startswith("'"$P"'/instances/dual/databases/qdb/operations/")' true
expect_json '.metadata."@type"' type.googleapis.com/google.spanner.admin.database.v1.ChangeQuorumMetadata
expect_json .metadata.request.name "$P/instances/dual/databases/qdb"
expect_json .metadata.request.quorumType.singleRegion.servingLocation asia-northeast2
wait_op "$(jq -r .name <<<"$BODY")"
expect_json '.response."@type"' type.googleapis.com/google.spanner.admin.database.v1.Database
expect_json '.metadata.endTime | length > 0' true
api GET "$DB"
expect_json .quorumInfo.quorumType.singleRegion.servingLocation asia-northeast2
expect_json .quorumInfo.initiator USER
expect_json '.quorumInfo.startTime | length > 0' true
etag=$(jq -r .quorumInfo.etag <<<"$BODY")
expect_eq true "$([[ -n $etag && $etag != null ]] && echo true)" "quorumInfo has an etag"

section "ChangeQuorum: the refusals"
quorum '{"quorumType":{"singleRegion":{"servingLocation":"us-east1"}}}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "(asia-northeast1, asia-northeast2)" "the message names the config's regions"
quorum '{"quorumType":{"singleRegion":{}}}'
expect_error_json 400 INVALID_ARGUMENT
quorum '{"quorumType":{"singleRegion":{"servingLocation":"asia-northeast1"},"dualRegion":{}}}'
expect_error_json 400 INVALID_ARGUMENT
quorum '{}'
expect_error_json 400 INVALID_ARGUMENT
quorum '{"quorumType":{"dualRegion":{}},"etag":"stale"}'
expect_error_json 409 ABORTED
quorum "{\"name\":\"$P/instances/dual/databases/other\",\"quorumType\":{\"dualRegion\":{}}}"
expect_error_json 400 INVALID_ARGUMENT
api POST "$INST/databases/none:changequorum" '{"quorumType":{"dualRegion":{}}}'
expect_error_json 404 NOT_FOUND
api POST "$SPANNER_URL/v1/$P/instances" "{\"instanceId\":\"reg\",\"instance\":{\"config\":\"$P/instanceConfigs/regional-us-central1\",\"displayName\":\"Regional\",\"nodeCount\":1}}"
wait_op "$(jq -r .name <<<"$BODY")"
api POST "$SPANNER_URL/v1/$P/instances/reg/databases" '{"createStatement":"CREATE DATABASE rdb"}'
wait_op "$(jq -r .name <<<"$BODY")"
api POST "$SPANNER_URL/v1/$P/instances/reg/databases/rdb:changequorum" '{"quorumType":{"dualRegion":{}}}'
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "dual-region instance configs" "a regional database has no quorum to change"

section "ChangeQuorum: back to dual-region with the current etag"
quorum "{\"quorumType\":{\"dualRegion\":{}},\"etag\":\"$etag\"}"
expect_status 200
wait_op "$(jq -r .name <<<"$BODY")"
api GET "$DB"
expect_json '.quorumInfo.quorumType | keys | join(",")' dualRegion
expect_json ".quorumInfo.etag != \"$etag\"" true

if (( HAVE_GCLOUD )); then
    section "gcloud: databases change-quorum"
    gcloud spanner databases change-quorum qdb --instance=dual --single-region \
        --serving-location=asia-northeast1 >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "change-quorum --single-region $(cat "$TEST_TMP/err")"
    wait_for 10 "the quorum change" bash -c \
        "[[ \$(curl -s '$DB' | jq -r .quorumInfo.quorumType.singleRegion.servingLocation) == asia-northeast1 ]]"
    expect_eq asia-northeast1 \
        "$(gcloud spanner databases describe qdb --instance=dual --format='value(quorumInfo.quorumType.singleRegion.servingLocation)')" \
        "databases describe shows the quorum"
    out=$(gcloud spanner databases change-quorum qdb --instance=dual --dual-region --etag=stale 2>&1)
    expect_contains "$out" "ABORTED" "gcloud prints the stale etag"
fi

stop_stack
finish
