#!/usr/bin/env bash
# test_bigtable_replication: Bigtable replication on a stack started with
# --bigtable-replication-delay 60 (seconds of emulator time), over REST.
#
# A write served by east-c1 reaches west-c2 only once the clock has moved 60 s on (not
# after 30 s); while
# west-c2's key is disabled the writes for it wait in east-c1's replication log (in order:
# a set, a deleteFromRow of that row, another set), encrypted on disk like the cells, and
# survive a kill -9 of bigtable; once the key is enabled again the next key check brings
# west-c2 up to date. Consistency tokens: false while a write taken before the token has
# not reached every cluster, true once it has; a bad token, or another table's, is
# INVALID_ARGUMENT. A table deleted with writes queued, then undeleted, sends them on. An
# aggregate family's AddToCell inputs through either cluster reach the other after the delay
# (each folds both), once each, across a kill -9.
source "$(dirname "$0")/lib.sh"

P=projects/bt-repl
DATA="$TEST_TMP/data"
mkdir -p "$DATA"
_export_urls "$(free_port_base)"
"$BIN_DIR/emulator" --data-dir "$DATA" --port-base "$PORT_BASE" --bigtable-replication-delay 60 \
    >>"$TEST_TMP/stack.log" 2>&1 &
STACK_PID=$!
wait_stack_healthy "$STACK_PID" "$CONTROL_URL" "$TEST_TMP/stack.log" ||
    { _fail "the stack did not start"; finish; }

INST="$P/instances/repl-inst"
T="$BIGTABLE_URL/v2/$INST/tables/t"
b64() { printf %s "$1" | base64 -w0; }
advance() { api POST "$CONTROL_URL/emulator/v1/clock:advance" "{\"seconds\": $1}"; expect_status 200; }
key_checks() { api POST "$CONTROL_URL/emulator/v1/keyChecks:run" '{}'; expect_status 200; }
west_version() { # DISABLED or ENABLED
    api PATCH "$KMS_URL/v1/$P/locations/us-west1/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1?updateMask=state" \
        "{\"state\":\"$1\"}"
    expect_status 200
}
# set_cell PROFILE ROW VALUE / delete_row PROFILE ROW
set_cell() {
    api POST "$T:mutateRow" "{\"appProfileId\":\"$1\",\"rowKey\":\"$(b64 "$2")\",\"mutations\":[{\"setCell\":
        {\"familyName\":\"cf\",\"columnQualifier\":\"cQ==\",\"timestampMicros\":\"-1\",\"value\":\"$(b64 "$3")\"}}]}"
    expect_status 200
}
delete_row() {
    api POST "$T:mutateRow" "{\"appProfileId\":\"$1\",\"rowKey\":\"$(b64 "$2")\",\"mutations\":[{\"deleteFromRow\":{}}]}"
    expect_status 200
}
# rows PROFILE: the row keys a read through the profile sees, comma-separated
rows() {
    api POST "$T:readRows" "{\"appProfileId\":\"$1\"}"
    jq -r '.[].chunks[] | .rowKey // empty' <<<"$BODY" | while read -r k; do printf '%s\n' "$(base64 -d <<<"$k")"; done | paste -sd,
}
# token: a consistency token of the table now; consistent TOKEN: checkConsistency's answer
token() {
    api POST "$T:generateConsistencyToken" '{}'
    expect_status 200
    jq -r .consistencyToken <<<"$BODY"
}
consistent() {
    api POST "$T:checkConsistency" "{\"consistencyToken\":\"$1\"}"
    expect_status 200
    jq -r .consistent <<<"$BODY"
}
bigtable_pid() { curl -s "$CONTROL_URL/emulator/v1/status" | jq -r '.services[] | select(.name=="bigtable") | .pid'; }
bigtable_back() {
    curl -s "$CONTROL_URL/emulator/v1/status" |
        jq -e --arg old "$1" '.services[] | select(.name=="bigtable") |
            .healthy and .state == "RUNNING" and (.pid | tostring) != $old' >/dev/null
}
instance_ready() {
    api GET "$BIGTABLE_URL/v2/$INST"
    [[ $(jq -r .state <<<"$BODY") == READY ]]
}

section "fixtures: a key per region, an instance with two clusters, a table, two profiles"
regional_keys "$P" us-east1 us-west1
api POST "$BIGTABLE_URL/v2/$P/instances" "{\"instanceId\":\"repl-inst\",\"instance\":{\"displayName\":\"Replication\"},
    \"clusters\":{\"east-c1\":{\"location\":\"$P/locations/us-east1-b\",\"serveNodes\":1,
    \"encryptionConfig\":{\"kmsKeyName\":\"$P/locations/us-east1/keyRings/r/cryptoKeys/k\"}},
    \"west-c2\":{\"location\":\"$P/locations/us-west1-a\",\"serveNodes\":1,
    \"encryptionConfig\":{\"kmsKeyName\":\"$P/locations/us-west1/keyRings/r/cryptoKeys/k\"}}}}"
expect_status 200
wait_for 30 "the instance to be READY" instance_ready
api POST "$BIGTABLE_URL/v2/$INST/tables" '{"tableId":"t","table":{"columnFamilies":{"cf":{}}}}'
expect_status 200
for profile in east-only:east-c1 west-only:west-c2; do
    api POST "$BIGTABLE_URL/v2/$INST/appProfiles?appProfileId=${profile%%:*}" \
        "{\"singleClusterRouting\":{\"clusterId\":\"${profile#*:}\"}}"
    expect_status 200
done

section "a 60 s replication delay on the emulator clock; consistency tokens follow it"
BEFORE=$(token)
set_cell east-only r1 one
TOKEN=$(token)
expect_eq "r1" "$(rows east-only)" "the serving cluster has the write at once"
expect_eq "" "$(rows west-only)" "the other cluster does not yet"
expect_eq false "$(consistent "$TOKEN")" "a token taken after the write: not consistent yet"
expect_eq true "$(consistent "$BEFORE")" "a token taken before it: consistent"
# (the emulator clock also runs in real time: a margin of 30 s for a loaded machine)
advance 30
expect_eq "" "$(rows west-only)" "nor 30 s later"
expect_eq false "$(consistent "$TOKEN")" "nor the token"
advance 30
expect_eq "r1" "$(rows west-only)" "60 s later it has"
expect_eq true "$(consistent "$TOKEN")" "and the token is consistent"
api POST "$T:checkConsistency" "{\"consistencyToken\":\"$TOKEN\",\"dataBoostReadLocalWrites\":{}}"
expect_json .consistent true

section "consistency tokens: errors"
api POST "$T:checkConsistency" '{"consistencyToken":"not-a-token"}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$T:checkConsistency" '{}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$T:checkConsistency" '{"consistencyToken":"x","bogus":1}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$BIGTABLE_URL/v2/$INST/tables" '{"tableId":"other","table":{"columnFamilies":{"cf":{}}}}'
expect_status 200
api POST "$BIGTABLE_URL/v2/$INST/tables/other:checkConsistency" "{\"consistencyToken\":\"$TOKEN\"}"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "not generated for the table" "a token belongs to its table"
api POST "$BIGTABLE_URL/v2/$INST/tables/none:generateConsistencyToken" '{}'
expect_error_json 404 NOT_FOUND

section "west-c2's key disabled: writes for it wait in east-c1's log"
west_version DISABLED
key_checks
api POST "$T:readRows" '{"appProfileId":"west-only"}'
expect_error_json 400 FAILED_PRECONDITION "west-c2 is disabled"
set_cell east-only r2 two
set_cell east-only r3 catchup-secret-value
delete_row east-only r3
set_cell east-only r4 four
DISABLED_TOKEN=$(token)
advance 120
expect_eq false "$(consistent "$DISABLED_TOKEN")" "not consistent while west-c2 cannot take the writes"
expect_eq "r1,r2,r4" "$(rows east-only)" "east-c1 serves every write"
expect_eq 0 "$(grep -rac 'catchup-secret-value' "$DATA" | awk -F: '{s += $NF} END {print s + 0}')" \
    "the queued writes are not on disk in plaintext"

section "the queue survives kill -9 of bigtable"
OLD_PID=$(bigtable_pid)
kill -9 "$OLD_PID"
expect_eq 0 $? "killed bigtable (pid $OLD_PID)"
wait_for 30 "the control plane to restart bigtable" bigtable_back "$OLD_PID"

section "the key enabled again: west-c2 catches up, in order"
west_version ENABLED
key_checks
expect_eq "r1,r2,r4" "$(rows west-only)" \
    "west-c2 received the writes it missed (r3 set then deleted: absent)"
expect_eq true "$(consistent "$DISABLED_TOKEN")" "the token taken meanwhile is consistent now"
api POST "$T:readRows" "{\"appProfileId\":\"west-only\",\"rows\":{\"rowKeys\":[\"$(b64 r4)\"]}}"
expect_eq "$(b64 four)" "$(jq -r '.[].chunks[0].value' <<<"$BODY")" "with the values written"
set_cell east-only r5 five
advance 60
expect_eq "r1,r2,r4,r5" "$(rows west-only)" "and replication goes on with its delay"

section "a table deleted with writes still queued: undeleted, they flow again"
set_cell east-only r6 six
api DELETE "$T"
expect_status 200
advance 60 # the drain no longer sees the table: r6 stays queued in east-c1's log
api POST "$T:undelete" '{}'
expect_status 200
advance 1
expect_eq "r1,r2,r4,r5,r6" "$(rows west-only)" "the queued write reached west-c2 after the undelete"

section "aggregate families: each cluster folds the other's AddToCell inputs, after the delay"
api POST "$BIGTABLE_URL/v2/$INST/tables" '{"tableId":"counters","table":{"columnFamilies":{"views":
    {"valueType":{"aggregateType":{"inputType":{"int64Type":{"encoding":{"bigEndianBytes":{}}}},"sum":{}}}}}}}'
expect_status 200
expect_json .columnFamilies.views.valueType.aggregateType.stateType.int64Type.encoding.bigEndianBytes '{}'
COUNTERS="$BIGTABLE_URL/v2/$INST/tables/counters"
add_views() { # add_views PROFILE N
    api POST "$COUNTERS:mutateRow" "{\"appProfileId\":\"$1\",\"rowKey\":\"$(b64 page)\",\"mutations\":[{\"addToCell\":
        {\"familyName\":\"views\",\"columnQualifier\":{\"rawValue\":\"$(b64 hour)\"},
        \"timestamp\":{\"rawTimestampMicros\":\"1733486400000000\"},\"input\":{\"intValue\":\"$2\"}}}]}"
    expect_status 200
}
views() { # views PROFILE: the counter's state as a number ("" when there is none)
    api POST "$COUNTERS:readRows" "{\"appProfileId\":\"$1\"}"
    jq -r '.[].chunks[0].value // empty' <<<"$BODY" | base64 -d | od -An -tx1 | tr -d ' \n' |
        { read -r hex; [[ -n ${hex:-} ]] && echo $((16#$hex)); }
}
add_views east-only 5
add_views west-only 3
expect_eq "5 3" "$(views east-only) $(views west-only)" "each cluster has its own input at once"
advance 60
expect_eq "8 8" "$(views east-only) $(views west-only)" "60 s later both have both inputs"
add_views east-only 10
OLD_PID=$(bigtable_pid)
kill -9 "$OLD_PID"
wait_for 30 "the control plane to restart bigtable" bigtable_back "$OLD_PID"
advance 60
expect_eq "18 18" "$(views east-only) $(views west-only)" "an input queued across a kill -9 is folded once"
api POST "$COUNTERS:mutateRow" "{\"rowKey\":\"$(b64 page)\",\"mutations\":[{\"setCell\":{\"familyName\":\"views\",
    \"columnQualifier\":\"$(b64 hour)\",\"timestampMicros\":\"1733486400000000\",\"value\":\"AAAAAAAAAAE=\"}}]}"
expect_error_json 400 INVALID_ARGUMENT "aggregate column family views"

section "organization policies: CMEK required for Bigtable, then keys only from other-project"
# Set through the control plane's Org Policy API v2; CreateInstance and CreateCluster are
# refused before any operation starts, with FAILED_PRECONDITION naming the constraint.
ORG="$CONTROL_URL/v2/$P/policies"
EAST_KEY="$P/locations/us-east1/keyRings/r/cryptoKeys/k"
new_instance() { # new_instance ID [KEY]
    local encryption=""
    [[ -n "${2:-}" ]] && encryption=",\"encryptionConfig\":{\"kmsKeyName\":\"$2\"}"
    api POST "$BIGTABLE_URL/v2/$P/instances" "{\"instanceId\":\"$1\",\"instance\":{\"displayName\":\"Policy\"},
        \"clusters\":{\"$1-c1\":{\"location\":\"$P/locations/us-east1-b\",\"serveNodes\":1$encryption}}}"
}
refused_by() { # refused_by CONSTRAINT: the last call was refused by that constraint
    expect_error_json 400 FAILED_PRECONDITION
    expect_contains "$BODY" "constraints/$1" "the refusal names constraints/$1"
}
api POST "$ORG" "{\"name\":\"$P/policies/gcp.restrictNonCmekServices\",\"spec\":{\"rules\":[{\"values\":{\"deniedValues\":[\"bigtable.googleapis.com\"]}}]}}"
expect_status 200
new_instance plain-inst
refused_by gcp.restrictNonCmekServices
api POST "$BIGTABLE_URL/v2/$INST/clusters?clusterId=plain-c3" "{\"location\":\"$P/locations/us-east1-c\",\"serveNodes\":1}"
refused_by gcp.restrictNonCmekServices
new_instance keyed-inst "$EAST_KEY"
expect_status 200
api POST "$ORG" "{\"name\":\"$P/policies/gcp.restrictCmekCryptoKeyProjects\",\"spec\":{\"rules\":[{\"values\":{\"allowedValues\":[\"under:projects/other-project\"]}}]}}"
expect_status 200
new_instance keyed-inst2 "$EAST_KEY"
refused_by gcp.restrictCmekCryptoKeyProjects
api POST "$BIGTABLE_URL/v2/$INST/clusters?clusterId=keyed-c3" \
    "{\"location\":\"$P/locations/us-east1-c\",\"serveNodes\":1,\"encryptionConfig\":{\"kmsKeyName\":\"$EAST_KEY\"}}"
refused_by gcp.restrictCmekCryptoKeyProjects
for constraint in gcp.restrictNonCmekServices gcp.restrictCmekCryptoKeyProjects; do
    api DELETE "$ORG/$constraint"
    expect_status 200
done
new_instance plain-inst
expect_status 200
finish
