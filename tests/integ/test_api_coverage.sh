#!/usr/bin/env bash
# test_api_coverage: every method of the REST APIs gcloud knows (its generated clients:
# KMS, Pub/Sub, Bigtable admin, Spanner, Dataflow) reaches a route of its service: built
# methods answer as themselves, the others UNIMPLEMENTED naming the method, never the
# NOT_FOUND "The requested URL ... was not found" of a URL no API has. Paths carry
# placeholder IDs (x1), so built methods mostly answer NOT_FOUND or INVALID_ARGUMENT about
# their resource: what is checked is only that the path was routed.
# Then the query parameters: each routed method, the control plane's too, binds those its
# client declares and refuses any other, as Google does.
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
api POST "$SPANNER_URL/v1/projects/p1/instances/i1/databases/d1:addSplitPoints" '{}'
expect_error_json 400 UNIMPLEMENTED
expect_contains "$BODY" "AddSplitPoints" "the message names the method"
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

section "query parameters: those gcloud's clients declare bind, no other"
# check_query API VERSION URL: each routed method takes every query parameter its generated
# client declares and refuses an unknown one as Google does
check_query() {
    local out
    out=$(python3 "$INTEG_DIR/api_methods.py" "$SDK_ROOT" "$1" "$2" 127.0.0.1 "${3##*:}" query 2>&1)
    if [[ $out =~ ^([0-9]+)\ methods$ ]] && (( BASH_REMATCH[1] > 9 )); then
        _pass "$1 $2: the query parameters of all ${BASH_REMATCH[1]} methods"
    else
        _fail "$1 $2: $(_short "$out")"
    fi
}
check_query cloudkms v1 "$KMS_URL"
check_query pubsub v1 "$PUBSUB_URL"
check_query bigtableadmin v2 "$BIGTABLE_URL"
check_query spanner v1 "$SPANNER_URL"
check_query dataflow v1b3 "$RUNNER_URL"
# the Google APIs the control plane serves
for api in cloudresourcemanager:v1 cloudresourcemanager:v2 cloudresourcemanager:v3 \
    serviceusage:v1 orgpolicy:v2 logging:v2; do
    check_query "${api%%:*}" "${api##*:}" "$CONTROL_URL"
done
api GET "$PUBSUB_URL/v1/projects/my-project/topics?pagesize=1"
expect_error_json 400 INVALID_ARGUMENT
expect_json .error.message "Invalid JSON payload received. Unknown name \"pagesize\": Cannot bind query parameter. Field 'pagesize' could not be found in request message."
api GET "$PUBSUB_URL/v1/projects/my-project/topics?page_size=1&%24alt=json%3Benum-encoding%3Dint&prettyPrint=false&%24.xgafv=2"
expect_status 200 # the proto name binds too; system parameters bind everywhere

finish
