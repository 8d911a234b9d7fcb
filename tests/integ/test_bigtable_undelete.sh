#!/usr/bin/env bash
# test_bigtable_undelete: a deleted Bigtable table stays recoverable for 7 days of emulator
# time, through gcloud (`instances tables delete` / `undelete`, which polls the operation)
# and curl (everything when gcloud is missing, and the operation's JSON).
#
# An instance with two clusters under their region's keys and a table with rows. Deleted:
# get, list and data calls answer NOT_FOUND while its replicas stay protected. Undeleted:
# its families and rows are back in both clusters. The east key disabled: undelete is
# FAILED_PRECONDITION naming the key; enabled again: it works. A new table with the same id
# ends the old one's recovery; so do 7 days, a restart does not; deleting a cluster shreds
# that cluster's replica, deleting the instance shreds them all, and so does a cluster's
# 30-day data deletion (its key refused). No cell in plaintext.
source "$(dirname "$0")/lib.sh"

P=projects/bt-undelete
DATA="$TEST_TMP/data"
mkdir -p "$DATA"
start_persistent
setup_gcloud bt-undelete
INST="$P/instances/ud-inst"
TABLE="$INST/tables/orders"
EAST_KEY="$P/locations/us-east1/keyRings/r/cryptoKeys/k"
WEST_KEY="$P/locations/us-west1/keyRings/r/cryptoKeys/k"
MARKER="UDMARKER_7c21"
WEEK=604800
b64() { printf %s "$1" | base64 -w0; }
ROWS='[.[].chunks[] | .rowKey // empty] | map(@base64d) | join(",")'
advance() { api POST "$CONTROL_URL/emulator/v1/clock:advance" "{\"seconds\": $1}"; expect_status 200; }
set_version() { # KEY VERSION STATE
    api PATCH "$KMS_URL/v1/$1/cryptoKeyVersions/$2?updateMask=state" "{\"state\":\"$3\"}"
    expect_status 200
}
wait_op() {
    wait_for 30 "operation $1" bash -c 'curl -s "$1" | jq -e .done >/dev/null' _ "$BIGTABLE_URL/v2/$1"
    api GET "$BIGTABLE_URL/v2/$1"
}
put_row() { # KEY VALUE
    api POST "$BIGTABLE_URL/v2/$TABLE:mutateRow" \
        "{\"rowKey\":\"$(b64 "$1")\",\"mutations\":[{\"setCell\":{\"familyName\":\"cf1\",\"columnQualifier\":\"$(b64 q)\",\"timestampMicros\":\"-1\",\"value\":\"$(b64 "$2")\"}}]}"
    expect_status 200
}
rows() { # [PROFILE]: the row keys, comma-separated
    curl -s -X POST "$BIGTABLE_URL/v2/$TABLE:readRows" -d "{\"appProfileId\":\"${1:-default}\"}" | jq -r "$ROWS"
}
families() { # the table's column families, space-separated
    curl -s "$BIGTABLE_URL/v2/$TABLE" | jq -r '.columnFamilies // {} | keys | join(" ")'
}
replicas() { # how many replicas of orders the CMEK engine protects
    curl -s "$CONTROL_URL/emulator/v1/protectedResources" | grep -o "$INST/clusters/[a-z0-9-]*/tables/orders\"" | sort -u | wc -l
}
delete_table() {
    if (( HAVE_GCLOUD )); then
        gcloud bigtable instances tables delete orders --instance=ud-inst --quiet >/dev/null 2>"$TEST_TMP/err"
        expect_eq 0 $? "gcloud tables delete $(cat "$TEST_TMP/err")"
    else
        api DELETE "$BIGTABLE_URL/v2/$TABLE"
        expect_status 200
    fi
}
undelete_table() { # undeletes orders and waits for the operation
    if (( HAVE_GCLOUD )); then
        gcloud bigtable instances tables undelete orders --instance=ud-inst >/dev/null 2>"$TEST_TMP/err"
        expect_eq 0 $? "gcloud tables undelete (polls its operation) $(cat "$TEST_TMP/err")"
    else
        api POST "$BIGTABLE_URL/v2/$TABLE:undelete" '{}'
        expect_status 200
        [[ "$HTTP_STATUS" == 200 ]] && wait_op "$(jq -r .name <<<"$BODY")"
    fi
}

section "keys, an instance with two clusters, a table with two families and rows"
regional_keys "$P" us-east1 us-west1
api POST "$BIGTABLE_URL/v2/$P/instances" "{\"instanceId\":\"ud-inst\",\"instance\":{\"displayName\":\"Undelete\"},\"clusters\":{\"east-c1\":{\"location\":\"$P/locations/us-east1-b\",\"serveNodes\":1,\"encryptionConfig\":{\"kmsKeyName\":\"$EAST_KEY\"}},\"west-c2\":{\"location\":\"$P/locations/us-west1-a\",\"serveNodes\":1,\"encryptionConfig\":{\"kmsKeyName\":\"$WEST_KEY\"}}}}"
expect_status 200
wait_op "$(jq -r .name <<<"$BODY")"
for profile in east-only:east-c1 west-only:west-c2; do
    api POST "$BIGTABLE_URL/v2/$INST/appProfiles?appProfileId=${profile%%:*}" "{\"singleClusterRouting\":{\"clusterId\":\"${profile#*:}\"}}"
    expect_status 200
done
api POST "$BIGTABLE_URL/v2/$INST/tables" '{"tableId":"orders","table":{"columnFamilies":{"cf1":{"gcRule":{"maxNumVersions":2}},"cf2":{}}}}'
expect_status 200
for k in row-1 row-2; do put_row "$k" "value of $k $MARKER"; done
expect_eq "row-1,row-2" "$(rows)" "the table's rows"
expect_eq 2 "$(replicas)" "a replica per cluster"

section "deleted: gone from get, list and the data plane; its replicas stay protected"
delete_table
api GET "$BIGTABLE_URL/v2/$TABLE"
expect_error_json 404 NOT_FOUND
api GET "$BIGTABLE_URL/v2/$INST/tables"
expect_json '.tables // [] | length' 0
api POST "$BIGTABLE_URL/v2/$TABLE:readRows" '{}'
expect_error_json 404 NOT_FOUND
api POST "$BIGTABLE_URL/v2/$TABLE:mutateRow" "{\"rowKey\":\"$(b64 x)\",\"mutations\":[{\"deleteFromRow\":{}}]}"
expect_error_json 404 NOT_FOUND
expect_eq 2 "$(replicas)" "the deleted table's replicas are still protected (recoverable)"

section "undelete: its families and rows are back in both clusters"
undelete_table
expect_eq "cf1 cf2" "$(families)" "the column families are back"
expect_eq "row-1,row-2" "$(rows east-only)" "rows back in the east cluster"
expect_eq "row-1,row-2" "$(rows west-only)" "rows back in the west cluster"
put_row row-3 "written after the undelete $MARKER"
expect_eq "row-1,row-2,row-3" "$(rows west-only)" "writes replicate again"

section "the operation (REST): UndeleteTableMetadata, then the Table; errors"
api POST "$BIGTABLE_URL/v2/$TABLE:undelete" '{}'
expect_error_json 404 NOT_FOUND # a live table has nothing to undelete
api POST "$BIGTABLE_URL/v2/$INST/tables/never:undelete" '{}'
expect_error_json 404 NOT_FOUND
api POST "$BIGTABLE_URL/v2/$TABLE:undelete" '{"bogus":1}'
expect_error_json 400 INVALID_ARGUMENT
api DELETE "$BIGTABLE_URL/v2/$TABLE"
expect_status 200
api POST "$BIGTABLE_URL/v2/$TABLE:undelete" '{}'
expect_status 200
expect_json '.name | startswith("operations/'"$INST"'/locations/us-east1-b/operations/")' true
expect_json '.metadata["@type"]' type.googleapis.com/google.bigtable.admin.v2.UndeleteTableMetadata
expect_json .metadata.name "$TABLE"
wait_op "$(jq -r .name <<<"$BODY")"
expect_json '.response["@type"]' type.googleapis.com/google.bigtable.admin.v2.Table
expect_json .response.name "$TABLE"
expect_json '.metadata.startTime <= .metadata.endTime' true
UNDELETE_OP=$(jq -r .name <<<"$BODY")
api POST "$BIGTABLE_URL/v2/$UNDELETE_OP:cancel" '{"bogus":1}'
expect_error_json 400 INVALID_ARGUMENT # CancelOperation has no body fields
api POST "$BIGTABLE_URL/v2/$UNDELETE_OP:cancel" ''
expect_status 200 # a finished operation: nothing to cancel

section "CMEK: undelete while the east key is disabled is refused, naming the key"
delete_table
set_version "$EAST_KEY" 1 DISABLED
api POST "$BIGTABLE_URL/v2/$TABLE:undelete" '{}'
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "$EAST_KEY" "the refusal names the east key"
if (( HAVE_GCLOUD )); then
    out=$(gcloud bigtable instances tables undelete orders --instance=ud-inst 2>&1)
    expect_contains "$out" "FAILED_PRECONDITION" "gcloud undelete shows the refusal"
fi
api GET "$BIGTABLE_URL/v2/$TABLE"
expect_error_json 404 NOT_FOUND # still deleted, still recoverable
set_version "$EAST_KEY" 1 ENABLED
undelete_table
expect_eq "row-1,row-2,row-3" "$(rows east-only)" "the key enabled again: undeleted with its rows"

section "a restart keeps a deleted table recoverable"
delete_table
stop_stack
start_persistent
undelete_table
expect_eq "row-1,row-2,row-3" "$(rows)" "undeleted after a restart, with its rows"

section "IAM: the policy leaves with the deleted table and comes back with the undelete"
policy_members() { # the members of TABLE's policy, comma-separated
    api POST "$BIGTABLE_URL/v2/$TABLE:getIamPolicy" '{}'
    jq -r '[.bindings // [] | .[].members[]] | join(",")' <<<"$BODY"
}
api POST "$BIGTABLE_URL/v2/$TABLE:setIamPolicy" \
    '{"policy":{"bindings":[{"role":"roles/bigtable.reader","members":["user:bob@example.com"]}]}}'
expect_status 200
delete_table
undelete_table
expect_eq "user:bob@example.com" "$(policy_members)" "an undeleted table has its policy back"

section "a new table with the same id ends the old one's recovery"
delete_table
api POST "$BIGTABLE_URL/v2/$INST/tables" '{"tableId":"orders","table":{"columnFamilies":{"cf1":{},"fresh":{}}}}'
expect_status 200
expect_eq "" "$(rows)" "the new table is empty"
expect_eq "" "$(policy_members)" "and inherits none of the old one's grants"
api DELETE "$BIGTABLE_URL/v2/$TABLE"
expect_status 200
undelete_table
expect_eq "cf1 fresh" "$(families)" "undelete brings back the newer table, the old one is gone"
expect_eq "" "$(rows)" "none of the old table's rows"
put_row row-9 "in the fresh table"

section "7 days of emulator time: shredded, then undelete is NOT_FOUND"
delete_table
advance $((WEEK - 3600))
undelete_table
expect_eq "row-9" "$(rows)" "recoverable an hour before the 7 days end"
delete_table
advance "$WEEK"
expect_eq 0 "$(replicas)" "after 7 days the replicas are crypto-shredded"
api POST "$BIGTABLE_URL/v2/$TABLE:undelete" '{}'
expect_error_json 404 NOT_FOUND

section "a deleted table goes with its cluster's replica, then with its instance"
api POST "$BIGTABLE_URL/v2/$INST/tables" '{"tableId":"orders","table":{"columnFamilies":{"cf1":{}}}}'
expect_status 200
put_row row-c "before the cluster goes"
delete_table
api DELETE "$BIGTABLE_URL/v2/$INST/clusters/west-c2"
expect_status 200
expect_eq 1 "$(replicas)" "deleting the west cluster shreds its replica of the deleted table"
undelete_table
expect_eq "row-c" "$(rows east-only)" "undeleted from the east replica"
delete_table
api DELETE "$BIGTABLE_URL/v2/$INST"
expect_status 200
expect_eq 0 "$(replicas)" "deleting the instance shreds the deleted table's replicas"

section "30 days of a refused key: the deleted table's replica in that cluster goes with the cluster's data"
I30="$P/instances/ud30-inst"
api POST "$BIGTABLE_URL/v2/$P/instances" "{\"instanceId\":\"ud30-inst\",\"instance\":{\"displayName\":\"Thirty\"},\"clusters\":{\"east-c1\":{\"location\":\"$P/locations/us-east1-b\",\"serveNodes\":1,\"encryptionConfig\":{\"kmsKeyName\":\"$EAST_KEY\"}},\"west-c2\":{\"location\":\"$P/locations/us-west1-a\",\"serveNodes\":1,\"encryptionConfig\":{\"kmsKeyName\":\"$WEST_KEY\"}}}}"
expect_status 200
wait_op "$(jq -r .name <<<"$BODY")"
for t in live gone; do
    api POST "$BIGTABLE_URL/v2/$I30/tables" "{\"tableId\":\"$t\",\"table\":{\"columnFamilies\":{\"cf1\":{}}}}"
    expect_status 200
done
gone_replicas() {
    curl -s "$CONTROL_URL/emulator/v1/protectedResources" | grep -o "$I30/clusters/[a-z0-9-]*/tables/gone\"" | sort -u | wc -l
}
set_version "$EAST_KEY" 1 DISABLED
api POST "$CONTROL_URL/emulator/v1/keyChecks:run" '{}'
expect_status 200
advance $((25 * 86400))
api DELETE "$BIGTABLE_URL/v2/$I30/tables/gone" # deletes are allowed while a cluster is disabled
expect_status 200
expect_eq 2 "$(gone_replicas)" "deleted on day 25: both replicas kept"
advance $((5 * 86400 + 600))
expect_eq 1 "$(gone_replicas)" "day 30: the east replica of the deleted table is shredded with east-c1's data"
set_version "$EAST_KEY" 1 ENABLED
api DELETE "$BIGTABLE_URL/v2/$I30"
expect_status 200

section "no cell value in plaintext in any file of the data directory"
if grep -rqa "$MARKER" "$DATA"; then
    _fail "the marker $MARKER is in plaintext under the data directory"
else
    _pass "no plaintext marker"
fi

stop_stack
finish
