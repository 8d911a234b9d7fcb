#!/usr/bin/env bash
# test_api_coverage: every method of the REST APIs gcloud knows (its generated clients:
# KMS, Pub/Sub, Bigtable admin, Spanner, Dataflow) reaches a route of its service: built
# methods answer as themselves, the others UNIMPLEMENTED naming the method, never the
# NOT_FOUND "The requested URL ... was not found" of a URL no API has. Paths carry
# placeholder IDs (x1), so built methods mostly answer NOT_FOUND or INVALID_ARGUMENT about
# their resource: what is checked is only that the path was routed.
# shellcheck source=tests/integ/lib.sh
source "$(dirname "$0")/lib.sh"

require_gcloud_clients
start_stack

# check_api API VERSION URL: each method of the API's generated client, requested on URL
check_api() {
    local out
    out=$(python3 "$INTEG_DIR/api_methods.py" "$SDK_ROOT" "$1" "$2" 127.0.0.1 "${3##*:}" 2>&1)
    if [[ $out =~ ^([0-9]+)\ methods$ ]] && (( BASH_REMATCH[1] > 20 )); then
        _pass "$1: all ${BASH_REMATCH[1]} methods of gcloud's client are routed"
    else
        _fail "$1 $2: $(_short "$out")"
    fi
}

section "every method of gcloud's clients is routed"
check_api cloudkms v1 "$KMS_URL"
check_api pubsub v1 "$PUBSUB_URL"
check_api bigtableadmin v2 "$BIGTABLE_URL"
check_api spanner v1 "$SPANNER_URL"
check_api dataflow v1b3 "$RUNNER_URL"

section "one unbuilt method of each: UNIMPLEMENTED naming it"
api GET "$SPANNER_URL/v1/projects/p1/instances/i1/instancePartitions"
expect_error_json 400 UNIMPLEMENTED
expect_contains "$BODY" "ListInstancePartitions" "the message names the method"
api POST "$BIGTABLE_URL/v2/projects/p1/instances/i1/materializedViews" '{}'
expect_error_json 400 UNIMPLEMENTED
expect_contains "$BODY" "CreateMaterializedView" "the message names the method"
# Cloud KMS builds every method of gcloud's client: its last one answers as itself
api GET "$KMS_URL/v1/folders/123/kajPolicyConfig"
expect_status 200
expect_json .name folders/123/kajPolicyConfig
# Bigtable's data API (no gcloud client): its unbuilt methods too
api POST "$BIGTABLE_URL/v2/projects/p1/instances/i1/tables/t1:readChangeStream" '{}'
expect_error_json 400 UNIMPLEMENTED
expect_contains "$BODY" "ReadChangeStream" "the message names the method"
api POST "$BIGTABLE_URL/v2/projects/p1/instances/i1:executeQuery" '{}'
expect_error_json 400 UNIMPLEMENTED
expect_contains "$BODY" "ExecuteQuery" "the message names the method"
api GET "$RUNNER_URL/v1b3/projects/p1/snapshots"
expect_error_json 400 UNIMPLEMENTED
expect_contains "$BODY" "ListSnapshots" "the message names the method"
api GET "$SPANNER_URL/v1/projects/p1/no-such-collection"
expect_error_json 404 NOT_FOUND # a URL no API has stays NOT_FOUND

finish
