#!/usr/bin/env bash
# test_bigtable_views: Bigtable authorized views, through curl (and gcloud's
# `bigtable authorized-views` commands when gcloud is there).
#
# A table with two families and rows under two prefixes. A view of rows "cust-a#" and of
# family cf1's qualifier "name" plus qualifiers starting "addr": created (an operation
# answering the view), read with the views NAME_ONLY / BASIC / FULL, listed. Through the
# view: readRows shows only its rows and columns, sampleRowKeys its rows; mutateRow,
# mutateRows, checkAndMutateRow and readModifyWriteRow inside it work, outside it answer
# PERMISSION_DENIED. Patch changes the subset (etag checked: ABORTED), deletionProtection
# refuses the view's deletion and its table's; IAM on the view; deleting the table
# deletes its views.
source "$(dirname "$0")/lib.sh"

P=projects/bt-views
start_stack
setup_gcloud bt-views
INST="$P/instances/av-inst"
TABLE="$INST/tables/people"
VIEW="$TABLE/authorizedViews/team-a"
b64() { printf %s "$1" | base64 -w0; }
ROWS='[.[].chunks[] | .rowKey // empty] | map(@base64d) | join(",")'
QUALIFIERS='[.[].chunks[] | .qualifier // empty] | map(@base64d) | join(",")'
wait_op() {
    wait_for 30 "operation $1" bash -c 'curl -s "$1" | jq -e .done >/dev/null' _ "$BIGTABLE_URL/v2/$1"
    api GET "$BIGTABLE_URL/v2/$1"
}
set_cell() { # TARGET KEY FAMILY QUALIFIER VALUE: mutateRow (HTTP_STATUS, BODY)
    api POST "$BIGTABLE_URL/v2/$1:mutateRow" \
        "{\"rowKey\":\"$(b64 "$2")\",\"mutations\":[{\"setCell\":{\"familyName\":\"$3\",\"columnQualifier\":\"$(b64 "$4")\",\"timestampMicros\":\"-1\",\"value\":\"$(b64 "$5")\"}}]}"
}
read_all() { # TARGET JQ: the readRows answer through jq
    curl -s -X POST "$BIGTABLE_URL/v2/$1:readRows" -d '{}' | jq -r "$2"
}

section "an instance, a table with two families, rows under two prefixes"
api POST "$BIGTABLE_URL/v2/$P/instances" "{\"instanceId\":\"av-inst\",\"instance\":{\"displayName\":\"Views\"},\"clusters\":{\"av-east-c1\":{\"location\":\"$P/locations/us-east1-b\",\"serveNodes\":1}}}"
expect_status 200
wait_op "$(jq -r .name <<<"$BODY")"
api POST "$BIGTABLE_URL/v2/$INST/tables" '{"tableId":"people","table":{"columnFamilies":{"cf1":{},"cf2":{}}}}'
expect_status 200
for key in cust-a#1 cust-a#2 cust-b#1; do
    for q in name addr-home secret; do
        set_cell "$TABLE" "$key" cf1 "$q" "v-$key-$q"
        expect_status 200
    done
    set_cell "$TABLE" "$key" cf2 other "x"
    expect_status 200
done

section "create (an operation answering the view), get with views, list"
DEF="{\"subsetView\":{\"rowPrefixes\":[\"$(b64 'cust-a#')\"],\"familySubsets\":{\"cf1\":{\"qualifiers\":[\"$(b64 name)\"],\"qualifierPrefixes\":[\"$(b64 addr)\"]}}}}"
api POST "$BIGTABLE_URL/v2/$TABLE/authorizedViews?authorizedViewId=team-a" "$DEF"
expect_status 200
expect_json .metadata.\"@type\" type.googleapis.com/google.bigtable.admin.v2.CreateAuthorizedViewMetadata
wait_op "$(jq -r .name <<<"$BODY")"
expect_json .response.name "$VIEW"
expect_json .response.\"@type\" type.googleapis.com/google.bigtable.admin.v2.AuthorizedView
api POST "$BIGTABLE_URL/v2/$TABLE/authorizedViews?authorizedViewId=team-a" "$DEF"
expect_error_json 409 ALREADY_EXISTS
api POST "$BIGTABLE_URL/v2/$TABLE/authorizedViews?authorizedViewId=bad-family" '{"subsetView":{"rowPrefixes":[""],"familySubsets":{"nope":{"qualifierPrefixes":[""]}}}}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$BIGTABLE_URL/v2/$TABLE/authorizedViews?authorizedViewId=bad-case" '{"subsetView":{"rowPrefixes":[""],"familySubsets":{"CF1":{"qualifierPrefixes":[""]}}}}'
expect_error_json 400 INVALID_ARGUMENT # family IDs are case-sensitive: CF1 is not cf1
set_cell "$TABLE" "cust-a#1" CF1 name "no"
expect_error_json 404 NOT_FOUND # nor through the table: no cells of a family it lacks
api POST "$BIGTABLE_URL/v2/$TABLE/authorizedViews?authorizedViewId=no-subset" '{}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$BIGTABLE_URL/v2/$INST/tables/nope/authorizedViews?authorizedViewId=v" "$DEF"
expect_error_json 404 NOT_FOUND
api GET "$BIGTABLE_URL/v2/$VIEW"
expect_json .deletionProtection false
expect_eq "null" "$(jq -r .subsetView <<<"$BODY")" "BASIC (the default) has no subsetView"
ETAG=$(jq -r .etag <<<"$BODY")
[[ -n "$ETAG" && "$ETAG" != null ]] && _pass "BASIC has an etag" || _fail "BASIC has no etag: $BODY"
api GET "$BIGTABLE_URL/v2/$VIEW?view=NAME_ONLY"
expect_eq '["name"]' "$(jq -c keys <<<"$BODY")" "NAME_ONLY answers the name only"
api GET "$BIGTABLE_URL/v2/$VIEW?view=FULL"
expect_json '.subsetView.familySubsets.cf1.qualifiers[0]' "$(b64 name)"
api GET "$BIGTABLE_URL/v2/$VIEW?view=SIDEWAYS"
expect_error_json 400 INVALID_ARGUMENT
api GET "$BIGTABLE_URL/v2/$TABLE/authorizedViews"
expect_eq "$VIEW" "$(jq -r '.authorizedViews | map(.name) | join(",")' <<<"$BODY")" "list names the view"
api GET "$BIGTABLE_URL/v2/$TABLE/authorizedViews/nope"
expect_error_json 404 NOT_FOUND
# a view's row prefixes and qualifiers are customer data: sealed in metadata.db
api POST "$BIGTABLE_URL/v2/$TABLE/authorizedViews?authorizedViewId=marked" \
    "{\"subsetView\":{\"rowPrefixes\":[\"$(b64 VIEWMARKER_9e2a)\"],\"familySubsets\":{\"cf1\":{\"qualifiers\":[\"$(b64 QUALMARKER_41bd)\"]}}}}"
wait_op "$(jq -r .name <<<"$BODY")"
api GET "$BIGTABLE_URL/v2/$TABLE/authorizedViews/marked?view=FULL"
expect_json '.subsetView.rowPrefixes[0]' "$(b64 VIEWMARKER_9e2a)"
DATA=$(curl -s "$CONTROL_URL/emulator/v1/status" | jq -r .dataDir)
for marker in VIEWMARKER_9e2a "$(b64 VIEWMARKER_9e2a)" QUALMARKER_41bd "$(b64 QUALMARKER_41bd)"; do
    if grep -rqaF -- "$marker" "$DATA"; then
        _fail "the view's definition ($marker) appears in clear in $(grep -rlaF -- "$marker" "$DATA" | tr '\n' ' ')"
    else
        _pass "the view's definition ($marker) is in no file of the data directory"
    fi
done
api DELETE "$BIGTABLE_URL/v2/$TABLE/authorizedViews/marked"
expect_status 200

section "reads through the view see its rows and columns only"
expect_eq "cust-a#1,cust-a#2" "$(read_all "$VIEW" "$ROWS")" "readRows through the view: its rows"
expect_eq "addr-home,name,addr-home,name" "$(read_all "$VIEW" "$QUALIFIERS")" "readRows through the view: its columns"
expect_eq "cust-a#1,cust-a#2,cust-b#1" "$(read_all "$TABLE" "$ROWS")" "the table itself: every row"
api POST "$BIGTABLE_URL/v2/$VIEW:readRows" "{\"rows\":{\"rowKeys\":[\"$(b64 'cust-b#1')\"]}}"
expect_eq "" "$(jq -r "$ROWS" <<<"$BODY")" "a row outside the view reads as absent"
api GET "$BIGTABLE_URL/v2/$VIEW:sampleRowKeys"
expect_status 200

section "writes through the view: inside work, outside PERMISSION_DENIED"
set_cell "$VIEW" "cust-a#3" cf1 name "new"
expect_status 200
set_cell "$VIEW" "cust-b#9" cf1 name "no"
expect_error_json 403 PERMISSION_DENIED
set_cell "$VIEW" "cust-a#3" cf1 secret "no"
expect_error_json 403 PERMISSION_DENIED
set_cell "$VIEW" "cust-a#3" cf2 other "no"
expect_error_json 403 PERMISSION_DENIED
api POST "$BIGTABLE_URL/v2/$VIEW:mutateRow" "{\"rowKey\":\"$(b64 'cust-a#3')\",\"mutations\":[{\"deleteFromRow\":{}}]}"
expect_error_json 403 PERMISSION_DENIED # the row has columns outside the view
api POST "$BIGTABLE_URL/v2/$VIEW:mutateRows" "{\"entries\":[{\"rowKey\":\"$(b64 'cust-a#4')\",\"mutations\":[{\"setCell\":{\"familyName\":\"cf1\",\"columnQualifier\":\"$(b64 addr-work)\",\"timestampMicros\":\"-1\",\"value\":\"$(b64 w)\"}}]},{\"rowKey\":\"$(b64 'cust-b#4')\",\"mutations\":[{\"setCell\":{\"familyName\":\"cf1\",\"columnQualifier\":\"$(b64 name)\",\"timestampMicros\":\"-1\",\"value\":\"$(b64 w)\"}}]}]}"
expect_status 200
expect_eq "0,7" "$(jq -r '[.[0].entries[] | .status.code // 0] | map(tostring) | join(",")' <<<"$BODY")" "mutateRows: per-entry OK and PERMISSION_DENIED"
api POST "$BIGTABLE_URL/v2/$VIEW:checkAndMutateRow" "{\"rowKey\":\"$(b64 'cust-a#1')\",\"predicateFilter\":{\"columnQualifierRegexFilter\":\"$(b64 secret)\"},\"trueMutations\":[{\"setCell\":{\"familyName\":\"cf1\",\"columnQualifier\":\"$(b64 name)\",\"timestampMicros\":\"-1\",\"value\":\"$(b64 seen)\"}}]}"
expect_status 200
expect_json .predicateMatched false # the secret column is invisible to the view's predicate
api POST "$BIGTABLE_URL/v2/$VIEW:checkAndMutateRow" "{\"rowKey\":\"$(b64 'cust-a#1')\",\"trueMutations\":[{\"setCell\":{\"familyName\":\"cf1\",\"columnQualifier\":\"$(b64 secret)\",\"timestampMicros\":\"-1\",\"value\":\"$(b64 x)\"}}]}"
expect_error_json 403 PERMISSION_DENIED
api POST "$BIGTABLE_URL/v2/$VIEW:readModifyWriteRow" "{\"rowKey\":\"$(b64 'cust-a#1')\",\"rules\":[{\"familyName\":\"cf1\",\"columnQualifier\":\"$(b64 name)\",\"appendValue\":\"$(b64 '!')\"}]}"
expect_status 200
expect_json '.row.families[0].columns[0].cells[0].value' "$(b64 'v-cust-a#1-name!')"
api POST "$BIGTABLE_URL/v2/$VIEW:readModifyWriteRow" "{\"rowKey\":\"$(b64 'cust-a#1')\",\"rules\":[{\"familyName\":\"cf2\",\"columnQualifier\":\"$(b64 other)\",\"appendValue\":\"$(b64 '!')\"}]}"
expect_error_json 403 PERMISSION_DENIED
expect_eq "cust-a#1,cust-a#2,cust-a#3,cust-a#4" "$(read_all "$VIEW" "$ROWS")" "the writes inside the view landed"
expect_eq "x" "$(read_all "$TABLE" '[.[].chunks[] | select(.qualifier == "'"$(b64 other)"'") | .value] | map(@base64d) | first')" "cells outside the view are untouched"

section "patch: the subset, the etag, deletion protection"
api PATCH "$BIGTABLE_URL/v2/$VIEW?updateMask=subset_view" "{\"etag\":\"stale\",\"subsetView\":{\"rowPrefixes\":[\"\"],\"familySubsets\":{\"cf2\":{\"qualifierPrefixes\":[\"\"]}}}}"
expect_error_json 409 ABORTED
api PATCH "$BIGTABLE_URL/v2/$VIEW?updateMask=subset_view&ignoreWarnings=true" "{\"etag\":\"$ETAG\",\"subsetView\":{\"rowPrefixes\":[\"\"],\"familySubsets\":{\"cf2\":{\"qualifierPrefixes\":[\"\"]}}}}"
expect_status 200
expect_json .metadata.\"@type\" type.googleapis.com/google.bigtable.admin.v2.UpdateAuthorizedViewMetadata
wait_op "$(jq -r .name <<<"$BODY")"
expect_json '.response.subsetView.familySubsets.cf2.qualifierPrefixes[0]' ""
expect_eq "cust-a#1,cust-a#2,cust-b#1" "$(read_all "$VIEW" "$ROWS")" "the new subset: every row with a cf2 cell"
api PATCH "$BIGTABLE_URL/v2/$VIEW?updateMask=display_name" '{}'
expect_error_json 400 INVALID_ARGUMENT
api PATCH "$BIGTABLE_URL/v2/$VIEW?updateMask=deletion_protection" '{"deletionProtection":true}'
expect_status 200
api DELETE "$BIGTABLE_URL/v2/$VIEW"
expect_error_json 400 FAILED_PRECONDITION
api DELETE "$BIGTABLE_URL/v2/$TABLE"
expect_error_json 400 FAILED_PRECONDITION # a protected view keeps its table
api DELETE "$BIGTABLE_URL/v2/$INST"
expect_error_json 400 FAILED_PRECONDITION # and its instance
api PATCH "$BIGTABLE_URL/v2/$VIEW?updateMask=deletion_protection" '{"deletionProtection":false}'
expect_status 200
api DELETE "$BIGTABLE_URL/v2/$VIEW?etag=stale"
expect_error_json 409 ABORTED

section "IAM on the view, with Bigtable's permission names"
api POST "$BIGTABLE_URL/v2/$VIEW:setIamPolicy" '{"policy":{"bindings":[{"role":"roles/bigtable.reader","members":["user:ana@example.com"]}]}}'
expect_status 200
api POST "$BIGTABLE_URL/v2/$VIEW:getIamPolicy" '{}'
expect_json '.bindings[0].role' roles/bigtable.reader
api POST "$BIGTABLE_URL/v2/$VIEW:testIamPermissions" '{"permissions":["bigtable.authorizedViews.readRows","bigtable.authorizedViews.get"]}'
expect_status 200

section "gcloud bigtable authorized-views"
if (( HAVE_GCLOUD )); then
    printf '%s' "{\"subsetView\":{\"rowPrefixes\":[\"$(b64 'cust-b#')\"],\"familySubsets\":{\"cf1\":{\"qualifiers\":[\"$(b64 name)\"]}}}}" >"$TEST_TMP/def.json"
    gcloud bigtable authorized-views create team-b --instance=av-inst --table=people \
        --definition-file="$TEST_TMP/def.json" --pre-encoded >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "authorized-views create $(cat "$TEST_TMP/err")"
    out=$(gcloud bigtable authorized-views describe team-b --instance=av-inst --table=people --format='value(name)' 2>"$TEST_TMP/err")
    expect_eq "$TABLE/authorizedViews/team-b" "$out" "authorized-views describe $(cat "$TEST_TMP/err")"
    out=$(gcloud bigtable authorized-views list --instance=av-inst --table=people --format='value(name)' 2>"$TEST_TMP/err" | sort | tr '\n' ' ')
    expect_eq "$TABLE/authorizedViews/team-a $TABLE/authorizedViews/team-b " "$out" "authorized-views list $(cat "$TEST_TMP/err")"
    expect_eq "cust-b#1" "$(read_all "$TABLE/authorizedViews/team-b" "$ROWS")" "readRows through the gcloud-made view"
    gcloud bigtable authorized-views delete team-b --instance=av-inst --table=people --quiet >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "authorized-views delete $(cat "$TEST_TMP/err")"
else
    _pass "gcloud is not installed: its commands are not checked"
fi

section "deleting the table deletes its views"
api DELETE "$BIGTABLE_URL/v2/$TABLE"
expect_status 200
api GET "$BIGTABLE_URL/v2/$VIEW"
expect_error_json 404 NOT_FOUND
api POST "$BIGTABLE_URL/v2/$VIEW:readRows" '{}'
expect_error_json 404 NOT_FOUND

finish
