#!/usr/bin/env bash
# test_bigtable_gcloud: Bigtable driven by the real gcloud CLI (admin plane) and by curl
# (the data plane: gcloud has no data commands), then across a stop and start of the stack.
#
# An instance with two clusters in two regions, each with its own key (the key must be in
# the cluster's region), clusters updated through long-running operations, tables with
# column families and views (ENCRYPTION_VIEW: UNKNOWN until the first key check), app
# profiles with single- and multi-cluster routing, cells written and read over REST and
# replicated to both clusters, no plaintext on disk, a disabled key making its cluster
# DISABLED (multi-cluster routing fails over, single-cluster routing fails, creating a
# table or a cluster and modifying column families are refused), re-enabling,
# app profile updates naming one field of a routing policy or an isolation, a Data Boost
# profile that reads but refuses writes, and everything surviving a restart.
# full-run-only: a gcloud walkthrough; `FAST=1 tests/integ/run-all` (scripts/test-all --fast) skips it
source "$(dirname "$0")/lib.sh"

P=projects/bt-project
DATA="$TEST_TMP/data"
mkdir -p "$DATA"
start_persistent
setup_gcloud bt-project
INST="$P/instances/orders-inst"
TABLE="$INST/tables/orders"
EAST_KEY="$P/locations/us-east1/keyRings/r/cryptoKeys/k"
WEST_KEY="$P/locations/us-west1/keyRings/r/cryptoKeys/k"
b64() { printf %s "$1" | base64 -w0; }
# the row keys of a ReadRows stream (the chunks that start a row), comma-separated
ROWS='[.[].chunks[] | .rowKey // empty] | join(",")'
CHUNKS='[.[].chunks[]]'
key_checks() { api POST "$CONTROL_URL/emulator/v1/keyChecks:run" '{}'; expect_status 200; }

section "KMS keys: one per region (us-east1, us-west1)"
regional_keys "$P" us-east1 us-west1

if (( HAVE_GCLOUD )); then
    section "gcloud: an instance with two clusters, each under its region's key"
    gcloud bigtable instances create orders-inst --display-name="Orders" \
        --cluster-config=id=east-c1,zone=us-east1-b,nodes=1,kms-key=$EAST_KEY \
        --cluster-config=id=west-c2,zone=us-west1-a,autoscaling-min-nodes=1,autoscaling-max-nodes=3,autoscaling-cpu-target=60,kms-key=$WEST_KEY \
        >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "instances create (polls its operation) $(cat "$TEST_TMP/err")"
    expect_eq "Orders READY PRODUCTION" \
        "$(gcloud bigtable instances describe orders-inst --format='value(displayName,state,type)' | tr '\t' ' ')" \
        "instances describe"
    expect_contains "$(gcloud bigtable instances list --format='value(name)')" "orders-inst" "instances list"
    out=$(gcloud bigtable instances create orders-inst --display-name="Orders" \
        --cluster-config=id=east-c1,zone=us-east1-b,nodes=1 2>&1)
    expect_contains "$out" "Instance already exists: $INST" "creating an instance twice"
    gcloud bigtable instances update orders-inst --display-name="Orders DB" >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "instances update (PUT) $(cat "$TEST_TMP/err")"
    expect_eq "Orders DB" "$(gcloud bigtable instances describe orders-inst --format='value(displayName)')" \
        "the update is seen"

    section "gcloud: clusters"
    expect_eq "east-c1 us-east1-b 1 READY;west-c2 us-west1-a 1 READY" \
        "$(gcloud bigtable clusters list --instances=orders-inst --format='value(name.basename(),location.basename(),serveNodes,state)' | tr '\t' ' ' | paste -sd';')" \
        "clusters list --instances"
    expect_contains "$(gcloud bigtable clusters list --format=json | jq -r '.[].name')" "$INST/clusters/west-c2" \
        "clusters list without an instance (instances/-/clusters)"
    expect_eq "$EAST_KEY" \
        "$(gcloud bigtable clusters describe east-c1 --instance=orders-inst --format='value(encryptionConfig.kmsKeyName)')" \
        "clusters describe shows the cluster's key"
    expect_eq "60" \
        "$(gcloud bigtable clusters describe west-c2 --instance=orders-inst --format='value(clusterConfig.clusterAutoscalingConfig.autoscalingTargets.cpuUtilizationPercent)')" \
        "autoscaling is kept"
    gcloud bigtable clusters update east-c1 --instance=orders-inst --num-nodes=3 >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "clusters update --num-nodes (PATCH serve_nodes, an operation) $(cat "$TEST_TMP/err")"
    expect_eq 3 "$(gcloud bigtable clusters describe east-c1 --instance=orders-inst --format='value(serveNodes)')" \
        "the new node count is seen"
    out=$(gcloud bigtable clusters create third-c3 --instance=orders-inst --zone=us-central1-b \
        --num-nodes=1 --kms-key=$EAST_KEY 2>&1)
    expect_contains "$out" "us-east1" "a key outside the cluster's region is refused, naming the key's region"
    expect_contains "$out" "us-central1" "and the cluster's"
    gcloud bigtable clusters create third-c3 --instance=orders-inst --zone=us-central1-b --num-nodes=1 \
        >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "clusters create (Google default encryption) $(cat "$TEST_TMP/err")"
    gcloud bigtable clusters delete third-c3 --instance=orders-inst >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "clusters delete $(cat "$TEST_TMP/err")"

    section "gcloud: tables"
    gcloud bigtable instances tables create orders --instance=orders-inst \
        --column-families="cf1:maxversions=1,cf2:maxversions=5||maxage=5d,cf3:maxage=10d&&maxversions=2" \
        --splits=car,key >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "tables create with column families and splits $(cat "$TEST_TMP/err")"
    schema=$(gcloud bigtable instances tables describe orders --instance=orders-inst --format=json)
    expect_eq 1 "$(jq -r .columnFamilies.cf1.gcRule.maxNumVersions <<<"$schema")" "cf1: maxversions=1"
    expect_eq "432000s" "$(jq -r '.columnFamilies.cf2.gcRule.union.rules[1].maxAge' <<<"$schema")" "cf2: a union"
    expect_eq "2" "$(jq -r '.columnFamilies.cf3.gcRule.intersection.rules[1].maxNumVersions' <<<"$schema")" "cf3: an intersection"
    enc=$(gcloud bigtable instances tables describe orders --instance=orders-inst --view=encryption --format=json)
    expect_eq "2 2" "$(jq -r '[.clusterStates[].encryptionInfo[0].encryptionStatus.code] | join(" ")' <<<"$enc")" \
        "encryption status UNKNOWN (2) in both clusters before the first key check"
    key_checks
    enc=$(gcloud bigtable instances tables describe orders --instance=orders-inst --view=encryption --format=json)
    expect_eq "$EAST_KEY/cryptoKeyVersions/1" "$(jq -r '.clusterStates["east-c1"].encryptionInfo[0].kmsKeyVersion' <<<"$enc")" \
        "after a key check: the east cluster's key version"
    expect_eq "$WEST_KEY/cryptoKeyVersions/1" "$(jq -r '.clusterStates["west-c2"].encryptionInfo[0].kmsKeyVersion' <<<"$enc")" \
        "and the west cluster's"
    expect_eq "CUSTOMER_MANAGED_ENCRYPTION" "$(jq -r '.clusterStates["west-c2"].encryptionInfo[0].encryptionType' <<<"$enc")" \
        "encryption type"
    expect_eq "orders" "$(gcloud bigtable instances tables list --instances=orders-inst --format='value(name.basename())')" \
        "tables list"
    gcloud bigtable instances tables update orders --instance=orders-inst --deletion-protection \
        >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "tables update --deletion-protection $(cat "$TEST_TMP/err")"
    out=$(gcloud bigtable instances tables delete orders --instance=orders-inst 2>&1)
    expect_contains "$out" "protected against deletion" "a protected table is not deleted"
    gcloud bigtable instances tables update orders --instance=orders-inst --no-deletion-protection \
        >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "tables update --no-deletion-protection $(cat "$TEST_TMP/err")"

    section "gcloud: a table's change stream, tiered storage; automated backups refused"
    gcloud bigtable instances tables create events --instance=orders-inst --column-families=cf \
        --change-stream-retention-period=2d >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "tables create --change-stream-retention-period $(cat "$TEST_TMP/err")"
    expect_eq 172800s "$(gcloud bigtable instances tables describe events --instance=orders-inst \
        --format='value(changeStreamConfig.retentionPeriod)')" "the change stream's retention is kept"
    gcloud bigtable instances tables update events --instance=orders-inst \
        --change-stream-retention-period=7d >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "tables update --change-stream-retention-period $(cat "$TEST_TMP/err")"
    expect_eq 604800s "$(gcloud bigtable instances tables describe events --instance=orders-inst \
        --format='value(changeStreamConfig.retentionPeriod)')" "and updated"
    out=$(gcloud bigtable instances tables update events --instance=orders-inst \
        --change-stream-retention-period=8d 2>&1)
    expect_contains "$out" "at most 7 days" "a retention over 7 days is refused"
    gcloud bigtable instances tables update events --instance=orders-inst \
        --clear-change-stream-retention-period >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "tables update --clear-change-stream-retention-period $(cat "$TEST_TMP/err")"
    expect_eq "" "$(gcloud bigtable instances tables describe events --instance=orders-inst \
        --format='value(changeStreamConfig)')" "the change stream is gone"
    gcloud beta bigtable instances tables update events --instance=orders-inst \
        --tiered-storage-infrequent-access-older-than=30d >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "beta tables update --tiered-storage-infrequent-access-older-than $(cat "$TEST_TMP/err")"
    expect_eq 2592000s "$(gcloud bigtable instances tables describe events --instance=orders-inst \
        --format='value(tieredStorageConfig.infrequentAccess.includeIfOlderThan)')" "tiered storage is kept"
    out=$(gcloud bigtable instances tables update events --instance=orders-inst \
        --enable-automated-backup 2>&1)
    expect_contains "$out" "Automated backups (automated_backup_policy) are not implemented" \
        "automated backups are refused, not silently dropped"
    gcloud bigtable instances tables delete events --instance=orders-inst --quiet >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "tables delete $(cat "$TEST_TMP/err")"

    section "gcloud: app profiles"
    gcloud bigtable app-profiles create east-only --instance=orders-inst --route-to=east-c1 \
        --transactional-writes >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "app-profiles create --route-to $(cat "$TEST_TMP/err")"
    gcloud bigtable app-profiles create west-only --instance=orders-inst --route-to=west-c2 \
        >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "app-profiles create --route-to (west) $(cat "$TEST_TMP/err")"
    gcloud bigtable app-profiles create any --instance=orders-inst --route-any >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "app-profiles create --route-any $(cat "$TEST_TMP/err")"
    expect_eq "any default east-only west-only" \
        "$(gcloud bigtable app-profiles list --instance=orders-inst --format='value(name.basename())' | paste -sd' ')" \
        "app-profiles list (with the default profile)"
    gcloud bigtable app-profiles update any --instance=orders-inst --route-any --description="Any cluster" \
        >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "app-profiles update (an operation) $(cat "$TEST_TMP/err")"
    expect_eq "Any cluster" \
        "$(gcloud bigtable app-profiles describe any --instance=orders-inst --format='value(description)')" \
        "the update is seen"
    # update sends a field of the routing policy (singleClusterRouting.clusterId,
    # multiClusterRoutingUseAny.clusterIds) or of the isolation (standardIsolation.priority)
    gcloud bigtable app-profiles update any --instance=orders-inst --route-to=east-c1 \
        --transactional-writes >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "app-profiles update --route-to --transactional-writes $(cat "$TEST_TMP/err")"
    expect_eq "east-c1 True" \
        "$(gcloud bigtable app-profiles describe any --instance=orders-inst --format='value(singleClusterRouting.clusterId,singleClusterRouting.allowTransactionalWrites,multiClusterRoutingUseAny)' | tr '\t' ' ' | xargs)" \
        "single-cluster routing replaces multi-cluster routing"
    gcloud bigtable app-profiles update any --instance=orders-inst --route-to=west-c2 \
        --priority=PRIORITY_LOW >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "app-profiles update --route-to --priority $(cat "$TEST_TMP/err")"
    expect_eq "west-c2 True PRIORITY_LOW" \
        "$(gcloud bigtable app-profiles describe any --instance=orders-inst --format='value(singleClusterRouting.clusterId,singleClusterRouting.allowTransactionalWrites,standardIsolation.priority)' | tr '\t' ' ')" \
        "the cluster and the priority change, transactional writes stay"
    gcloud bigtable app-profiles update any --instance=orders-inst --route-any --restrict-to=west-c2 \
        --row-affinity >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "app-profiles update --route-any --restrict-to --row-affinity $(cat "$TEST_TMP/err")"
    expect_eq '{"clusterIds":["west-c2"],"rowAffinity":{}} null' \
        "$(gcloud bigtable app-profiles describe any --instance=orders-inst --format=json | jq -c '.multiClusterRoutingUseAny, .singleClusterRouting' | paste -sd' ')" \
        "multi-cluster routing with its clusters and row affinity replaces single-cluster routing"
    gcloud bigtable app-profiles create boost --instance=orders-inst --route-to=west-c2 --data-boost \
        --data-boost-compute-billing-owner=HOST_PAYS >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "app-profiles create --data-boost $(cat "$TEST_TMP/err")"
    expect_eq "HOST_PAYS" \
        "$(gcloud bigtable app-profiles describe boost --instance=orders-inst --format='value(dataBoostIsolationReadOnly.computeBillingOwner,standardIsolation)' | xargs)" \
        "a Data Boost profile is kept as one"
    out=$(gcloud bigtable app-profiles update boost --instance=orders-inst --route-to=west-c2 \
        --transactional-writes 2>&1)
    expect_contains "$out" "read-only" "a Data Boost profile cannot allow transactional writes"
    out=$(gcloud bigtable app-profiles create bad --instance=orders-inst --route-to=nowhere-c9 2>&1)
    expect_contains "$out" "nowhere-c9" "a profile routing to an unknown cluster is refused"
    gcloud bigtable app-profiles delete any --instance=orders-inst --force >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "app-profiles delete $(cat "$TEST_TMP/err")"
else
    section "no gcloud: the same resources over REST"
    api POST "$BIGTABLE_URL/v2/$P/instances" "{\"instanceId\":\"orders-inst\",\"instance\":{\"displayName\":\"Orders DB\"},\"clusters\":{\"east-c1\":{\"location\":\"$P/locations/us-east1-b\",\"serveNodes\":3,\"encryptionConfig\":{\"kmsKeyName\":\"$EAST_KEY\"}},\"west-c2\":{\"location\":\"$P/locations/us-west1-a\",\"serveNodes\":1,\"encryptionConfig\":{\"kmsKeyName\":\"$WEST_KEY\"}}}}"
    expect_status 200
    sleep 1
    # the column families gcloud creates above (cf2's maxAge is what the data plane checks)
    api POST "$BIGTABLE_URL/v2/$INST/tables" '{"tableId":"orders","table":{"columnFamilies":{"cf1":{"gcRule":{"maxNumVersions":1}},"cf2":{"gcRule":{"union":{"rules":[{"maxNumVersions":5},{"maxAge":"432000s"}]}}},"cf3":{"gcRule":{"intersection":{"rules":[{"maxAge":"864000s"},{"maxNumVersions":2}]}}}}}}'
    expect_status 200
    key_checks
    for profile in east-only:east-c1 west-only:west-c2; do
        api POST "$BIGTABLE_URL/v2/$INST/appProfiles?appProfileId=${profile%%:*}" "{\"singleClusterRouting\":{\"clusterId\":\"${profile#*:}\"}}"
        expect_status 200
    done
    api POST "$BIGTABLE_URL/v2/$INST/appProfiles?appProfileId=boost" \
        '{"singleClusterRouting":{"clusterId":"west-c2"},"dataBoostIsolationReadOnly":{"computeBillingOwner":"HOST_PAYS"}}'
    expect_status 200
fi

section "REST: operations and errors in Google's shape"
api GET "$BIGTABLE_URL/v2/operations/$P/operations"
expect_status 200
expect_json '[.operations[] | select(.metadata["@type"] | endswith("CreateInstanceMetadata"))] | length' 1
expect_json '.operations[0].name | test("^operations/projects/bt-project/instances/orders-inst/locations/us-east1-b/operations/")' true
expect_json '[.operations[] | select(.done == true and .response.name != null)] | length > 0' true
api GET "$BIGTABLE_URL/v2/$P/instances/missing-inst"
expect_error_json 404 NOT_FOUND
expect_json .error.message "Instance not found: $P/instances/missing-inst"
api GET "$BIGTABLE_URL/v2/$TABLE?view=SOMETHING"
expect_error_json 400 INVALID_ARGUMENT
api GET "$BIGTABLE_URL/v2/$TABLE?view=NAME_ONLY"
expect_json 'keys | join(",")' "name"
api GET "$BIGTABLE_URL/v2/$TABLE?view=REPLICATION_VIEW"
expect_json '[.clusterStates[].replicationState] | join(",")' "READY,READY"
api PATCH "$BIGTABLE_URL/v2/$INST/clusters/east-c1?updateMask=encryption_config.kms_key_name" \
    "{\"encryptionConfig\":{\"kmsKeyName\":\"$WEST_KEY\"}}"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "immutable" "a cluster's encryption config cannot change"
api POST "$BIGTABLE_URL/v2/$INST/clusters?clusterId=bad-zone" "{\"location\":\"$P/locations/us-east1\",\"serveNodes\":1}"
expect_error_json 400 INVALID_ARGUMENT
api POST "$BIGTABLE_URL/v2/$P/instances" '{"instanceId":"x","instance":{"displayName":"Bad"},"clusters":{}}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$BIGTABLE_URL/v2/$INST/tables" '{"tableId":"t","table":{"columnFamilies":{"cf":{"gcRule":{"maxAge":"soon"}}}}}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$BIGTABLE_URL/v2/$INST:getIamPolicy" '{}'
expect_status 200
api POST "$BIGTABLE_URL/v2/$P/instances/missing-inst:getIamPolicy" '{}'
expect_error_json 404 NOT_FOUND
api POST "$BIGTABLE_URL/v2/$INST/tables:restore" '{"tableId":"r","backup":"b"}'
expect_error_json 400 INVALID_ARGUMENT # not a backup's name

section "data plane over REST: mutateRow, readRows"
K1=$(b64 row-1) K2=$(b64 row-2) K3=$(b64 row-3) Q=$(b64 qual)
for k in row-1 row-2 row-3; do
    api POST "$BIGTABLE_URL/v2/$TABLE:mutateRow" \
        "{\"rowKey\":\"$(b64 $k)\",\"mutations\":[{\"setCell\":{\"familyName\":\"cf1\",\"columnQualifier\":\"$Q\",\"timestampMicros\":\"-1\",\"value\":\"$(b64 "value of $k BTMARKER_7c1d")\"}},{\"setCell\":{\"familyName\":\"cf2\",\"columnQualifier\":\"$Q\",\"timestampMicros\":\"-1\",\"value\":\"$(b64 v2)\"}},{\"setCell\":{\"familyName\":\"cf2\",\"columnQualifier\":\"$Q\",\"timestampMicros\":\"2000\",\"value\":\"$(b64 expired)\"}}]}"
    expect_status 200
done
api POST "$BIGTABLE_URL/v2/$TABLE:readRows" '{}'
expect_status 200
expect_json "$ROWS" "$K1,$K2,$K3"
expect_json "$CHUNKS | length" 6 # cf2's cell of 1970 is past its maxAge (5 days): GC hides it
expect_json "$CHUNKS | .[0].familyName" cf1
expect_json "$CHUNKS | .[0].value" "$(b64 "value of row-1 BTMARKER_7c1d")"
expect_json "$CHUNKS | .[1] | [.familyName, .value, .commitRow] | join(\",\")" "cf2,$(b64 v2),true"
expect_json "$CHUNKS | .[1].rowKey" null # the row key is on the row's first chunk only
api POST "$BIGTABLE_URL/v2/$TABLE:readRows" "{\"rows\":{\"rowKeys\":[\"$K3\",\"$K1\"]}}"
expect_json "$ROWS" "$K1,$K3"
api POST "$BIGTABLE_URL/v2/$TABLE:readRows" "{\"rows\":{\"rowRanges\":[{\"startKeyOpen\":\"$K1\",\"endKeyClosed\":\"$K3\"}]}}"
expect_json "$ROWS" "$K2,$K3"
api POST "$BIGTABLE_URL/v2/$TABLE:readRows" "{\"rows\":{\"rowRanges\":[{\"startKeyClosed\":\"$K1\",\"endKeyOpen\":\"$K3\"}]}}"
expect_json "$ROWS" "$K1,$K2"
api POST "$BIGTABLE_URL/v2/$TABLE:readRows" '{"rowsLimit":"2","reversed":true}'
expect_json "$ROWS" "$K3,$K2"
api POST "$BIGTABLE_URL/v2/$TABLE:readRows" '{"filter":{"familyNameRegexFilter":"cf2"}}'
expect_json "$CHUNKS | map(.familyName // empty) | unique | join(\",\")" cf2
api POST "$BIGTABLE_URL/v2/$TABLE:readRows" \
    "{\"rowsLimit\":\"1\",\"filter\":{\"chain\":{\"filters\":[{\"rowKeyRegexFilter\":\"$(b64 'row-[23]')\"},{\"cellsPerRowLimitFilter\":1},{\"stripValueTransformer\":true}]}}}"
expect_json "$ROWS" "$K2"
expect_json "$CHUNKS | length" 1
expect_json "$CHUNKS | .[0].value" null # stripped
api POST "$BIGTABLE_URL/v2/$TABLE:readRows" '{"filter":{"rowKeyRegexFilter":"KA=="}}'
expect_error_json 400 INVALID_ARGUMENT # "(": not a regular expression
expect_contains "$BODY" "invalid RE2 regular expression: missing ): (" "RE2's own reason"
api POST "$BIGTABLE_URL/v2/$TABLE:readRows" "{\"filter\":{\"valueRegexFilter\":\"$(b64 '(a)\1')\"}}"
expect_error_json 400 INVALID_ARGUMENT # RE2 has no backreferences
# RE2 is linear in the text: nested and consecutive repetitions over a long value that a
# backtracking matcher takes exponential time on (and PCRE2's DFA minutes) answer at once
long_a=$(head -c 20000 /dev/zero | tr '\0' a)
api POST "$BIGTABLE_URL/v2/$TABLE:mutateRow" \
    "{\"rowKey\":\"$(b64 row-4)\",\"mutations\":[{\"setCell\":{\"familyName\":\"cf1\",\"columnQualifier\":\"$Q\",\"value\":\"$(b64 "$long_a!")\"}}]}"
expect_status 200
started=$(now_ms)
api POST "$BIGTABLE_URL/v2/$TABLE:readRows" \
    "{\"filter\":{\"chain\":{\"filters\":[{\"valueRegexFilter\":\"$(b64 '(a+)+$|(a|aa)*b|a{0,1000}a{0,1000}a{0,1000}a{0,1000}c')\"},{\"stripValueTransformer\":true}]}}}"
expect_status 200
expect_json "$ROWS" "" # no value matches
took=$(($(now_ms) - started))
if ((took < 5000)); then _pass "pathological regular expressions: ${took} ms"; else
    _fail "pathological regular expressions took ${took} ms"; fi
api POST "$BIGTABLE_URL/v2/$TABLE:readRows" \
    "{\"filter\":{\"chain\":{\"filters\":[{\"valueRegexFilter\":\"$(b64 '(a+)+!')\"},{\"stripValueTransformer\":true}]}}}"
expect_json "$ROWS" "$(b64 row-4)"
api POST "$BIGTABLE_URL/v2/$TABLE:mutateRow" "{\"rowKey\":\"$(b64 row-4)\",\"mutations\":[{\"deleteFromRow\":{}}]}"
expect_status 200
api POST "$BIGTABLE_URL/v2/$TABLE:mutateRow" "{\"rowKey\":\"$K1\",\"mutations\":[{\"setCell\":{\"familyName\":\"nope\",\"value\":\"$Q\"}}]}"
expect_error_json 404 NOT_FOUND
api POST "$BIGTABLE_URL/v2/$TABLE:mutateRow" "{\"rowKey\":\"$K1\",\"mutations\":[{\"setCell\":{\"familyName\":\"cf1\",\"timestampMicros\":\"1500\",\"value\":\"$Q\"}}]}"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "granularity" "a timestamp that is not whole milliseconds is refused"
api POST "$BIGTABLE_URL/v2/$TABLE:mutateRow" "{\"rowKey\":\"\",\"mutations\":[{\"deleteFromRow\":{}}]}"
expect_error_json 400 INVALID_ARGUMENT

section "app profiles: Data Boost reads only, a stale etag fails an update"
api POST "$BIGTABLE_URL/v2/$TABLE:readRows" "{\"appProfileId\":\"boost\",\"rows\":{\"rowKeys\":[\"$K1\"]}}"
expect_json "$ROWS" "$K1" # reads go through a Data Boost profile
for call in "mutateRow:{\"rowKey\":\"$K1\",\"mutations\":[{\"deleteFromRow\":{}}]}" \
    "mutateRows:{\"entries\":[{\"rowKey\":\"$K1\",\"mutations\":[{\"deleteFromRow\":{}}]}]}" \
    "checkAndMutateRow:{\"rowKey\":\"$K1\",\"trueMutations\":[{\"deleteFromRow\":{}}]}" \
    "readModifyWriteRow:{\"rowKey\":\"$K1\",\"rules\":[{\"familyName\":\"cf1\",\"columnQualifier\":\"$Q\",\"appendValue\":\"$Q\"}]}"; do
    api POST "$BIGTABLE_URL/v2/$TABLE:${call%%:*}" "{\"appProfileId\":\"boost\",${call#*:{}"
    expect_error_json 400 FAILED_PRECONDITION # writes do not
done
expect_contains "$BODY" "Data Boost" "the refusal names Data Boost"
api POST "$BIGTABLE_URL/v2/$TABLE:readRows" "{\"rows\":{\"rowKeys\":[\"$K1\"]}}"
expect_json "$CHUNKS | .[0].value" "$(b64 "value of row-1 BTMARKER_7c1d")" # row-1 untouched
api GET "$BIGTABLE_URL/v2/$INST/appProfiles/west-only"
etag=$(jq -r .etag <<<"$BODY")
api PATCH "$BIGTABLE_URL/v2/$INST/appProfiles/west-only?updateMask=description" \
    "{\"description\":\"West\",\"etag\":\"$etag\"}"
expect_status 200
api PATCH "$BIGTABLE_URL/v2/$INST/appProfiles/west-only?updateMask=description" \
    "{\"description\":\"Stale\",\"etag\":\"$etag\"}"
expect_error_json 409 ABORTED
api GET "$BIGTABLE_URL/v2/$INST/appProfiles/west-only"
expect_json .description West
api POST "$BIGTABLE_URL/v2/$TABLE:readRows" "{\"materializedViewName\":\"$INST/materializedViews/mv\"}"
expect_error_json 400 UNIMPLEMENTED # not the table read instead
expect_contains "$BODY" "materialized_view_name" "the refusal names the field"
api GET "$BIGTABLE_URL/v2/$TABLE:sampleRowKeys?materializedViewName=$INST/materializedViews/mv"
expect_error_json 400 UNIMPLEMENTED

section "GC: a column's garbage is deleted when the column is written"
K5=$(b64 row-5)
for ts in 1000 2000 3000; do
    api POST "$BIGTABLE_URL/v2/$TABLE:mutateRow" \
        "{\"rowKey\":\"$K5\",\"mutations\":[{\"setCell\":{\"familyName\":\"cf1\",\"columnQualifier\":\"$Q\",\"timestampMicros\":\"$ts\",\"value\":\"$(b64 "v$ts")\"}}]}"
    expect_status 200
done
# cf1 keeps one version; with a rule that keeps five, the two it made garbage stay gone
api POST "$BIGTABLE_URL/v2/$TABLE:modifyColumnFamilies" '{"modifications":[{"id":"cf1","update":{"gcRule":{"maxNumVersions":5}}}]}'
expect_status 200
api POST "$BIGTABLE_URL/v2/$TABLE:readRows" "{\"rows\":{\"rowKeys\":[\"$K5\"]}}"
expect_json "$CHUNKS | map(.value) | join(\",\")" "$(b64 v3000)"
api POST "$BIGTABLE_URL/v2/$TABLE:modifyColumnFamilies" '{"modifications":[{"id":"cf1","update":{"gcRule":{"maxNumVersions":1}}}]}'
expect_status 200
api POST "$BIGTABLE_URL/v2/$TABLE:mutateRow" "{\"rowKey\":\"$K5\",\"mutations\":[{\"deleteFromRow\":{}}]}"
expect_status 200

section "data plane: mutateRows, checkAndMutateRow, readModifyWriteRow, sampleRowKeys, ping"
api POST "$BIGTABLE_URL/v2/$TABLE:mutateRows" \
    "{\"entries\":[{\"rowKey\":\"$K2\",\"mutations\":[{\"deleteFromFamily\":{\"familyName\":\"cf2\"}}]},{\"rowKey\":\"$K2\",\"mutations\":[{\"setCell\":{\"familyName\":\"missing\"}}]}]}"
expect_status 200
expect_json '.[0].entries | map(.status.code // 0) | join(",")' "0,5"
api POST "$BIGTABLE_URL/v2/$TABLE:readRows" "{\"rows\":{\"rowKeys\":[\"$K2\"]}}"
expect_json "$CHUNKS | length" 1
api POST "$BIGTABLE_URL/v2/$TABLE:checkAndMutateRow" \
    "{\"rowKey\":\"$(b64 absent)\",\"trueMutations\":[{\"deleteFromRow\":{}}],\"falseMutations\":[{\"setCell\":{\"familyName\":\"cf3\",\"columnQualifier\":\"$Q\",\"timestampMicros\":\"-1\",\"value\":\"$(b64 created)\"}}]}"
expect_json .predicateMatched false
api POST "$BIGTABLE_URL/v2/$TABLE:checkAndMutateRow" \
    "{\"rowKey\":\"$(b64 absent)\",\"predicateFilter\":{\"familyNameRegexFilter\":\"cf1\"},\"trueMutations\":[{\"deleteFromRow\":{}}]}"
expect_json .predicateMatched false # the row has a cf3 cell only
api POST "$BIGTABLE_URL/v2/$TABLE:checkAndMutateRow" \
    "{\"rowKey\":\"$(b64 absent)\",\"trueMutations\":[{\"deleteFromRow\":{}}]}"
expect_json .predicateMatched true
api POST "$BIGTABLE_URL/v2/$TABLE:readRows" "{\"rows\":{\"rowKeys\":[\"$(b64 absent)\"]}}"
expect_json length 0
api POST "$BIGTABLE_URL/v2/$TABLE:readModifyWriteRow" \
    "{\"rowKey\":\"$(b64 counter)\",\"rules\":[{\"familyName\":\"cf3\",\"columnQualifier\":\"$Q\",\"incrementAmount\":\"5\"},{\"familyName\":\"cf3\",\"columnQualifier\":\"$Q\",\"incrementAmount\":\"-2\"}]}"
expect_status 200
# two rules on one column: one cell, its final contents (5 - 2)
expect_json '.row.families[0].columns | length' 1
expect_json '.row.families[0].columns[0].cells[0].value' "$(printf '\0\0\0\0\0\0\0\3' | base64 -w0)"
api POST "$BIGTABLE_URL/v2/$TABLE:readModifyWriteRow" \
    "{\"rowKey\":\"$K1\",\"rules\":[{\"familyName\":\"cf1\",\"columnQualifier\":\"$Q\",\"appendValue\":\"$(b64 '!')\"}]}"
expect_json '.row.families[0].columns[0].cells[0].value' "$(b64 "value of row-1 BTMARKER_7c1d!")"
api POST "$BIGTABLE_URL/v2/$TABLE:readModifyWriteRow" \
    "{\"rowKey\":\"$K1\",\"rules\":[{\"familyName\":\"cf1\",\"columnQualifier\":\"$Q\",\"incrementAmount\":\"1\"}]}"
expect_error_json 400 INVALID_ARGUMENT
api GET "$BIGTABLE_URL/v2/$TABLE:sampleRowKeys"
expect_status 200
expect_json '.[-1].rowKey' ""
expect_json '.[-1].offsetBytes | tonumber > 0' true
api POST "$BIGTABLE_URL/v2/$INST:ping" '{}'
expect_status 200

section "replication: a write through one cluster is read through the other"
api POST "$BIGTABLE_URL/v2/$TABLE:mutateRow" \
    "{\"appProfileId\":\"east-only\",\"rowKey\":\"$(b64 replicated)\",\"mutations\":[{\"setCell\":{\"familyName\":\"cf1\",\"columnQualifier\":\"$Q\",\"timestampMicros\":\"-1\",\"value\":\"$(b64 both)\"}}]}"
expect_status 200
api POST "$BIGTABLE_URL/v2/$TABLE:readRows" "{\"appProfileId\":\"west-only\",\"rows\":{\"rowKeys\":[\"$(b64 replicated)\"]}}"
expect_json '.[0].chunks[0].value' "$(b64 both)"

section "no plaintext on disk: cells, qualifiers and row keys are encrypted"
api POST "$CONTROL_URL/emulator/v1/clock:advance" '{"seconds":1}' # flush what is buffered
if grep -rqa "BTMARKER_7c1d" "$DATA"; then
    _fail "the marker written to a cell appears in clear under the data directory"
else
    _pass "the marker appears in no file of the data directory"
fi
expect_eq 2 "$(find "$DATA/bigtable" -name '*.db' | wc -l)" "one data file per replica: two clusters, one table"

section "CMEK: a disabled key disables its cluster; multi-cluster routing fails over"
api PATCH "$KMS_URL/v1/$EAST_KEY/cryptoKeyVersions/1?updateMask=state" '{"state":"DISABLED"}'
expect_status 200
key_checks
api GET "$BIGTABLE_URL/v2/$INST/clusters"
expect_json '[.clusters[] | .state] | join(",")' "DISABLED,READY"
api POST "$BIGTABLE_URL/v2/$TABLE:readRows" "{\"rows\":{\"rowKeys\":[\"$K3\"]}}"
expect_status 200
expect_json '.[0].chunks[0].rowKey' "$K3" # the default profile (any cluster) is served by west
api POST "$BIGTABLE_URL/v2/$TABLE:readRows" '{"appProfileId":"east-only"}'
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "clusters/east-c1" "the error names the disabled cluster"
api POST "$BIGTABLE_URL/v2/$TABLE:mutateRow" \
    "{\"appProfileId\":\"east-only\",\"rowKey\":\"$K1\",\"mutations\":[{\"deleteFromRow\":{}}]}"
expect_error_json 400 FAILED_PRECONDITION
api POST "$BIGTABLE_URL/v2/$INST/tables" '{"tableId":"while-disabled"}'
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "Cannot create a table while the cluster $INST/clusters/east-c1 is disabled" \
    "creating a table is refused while a cluster is disabled"
api POST "$BIGTABLE_URL/v2/$TABLE:modifyColumnFamilies" '{"modifications":[{"id":"cf9","create":{}}]}'
expect_error_json 400 FAILED_PRECONDITION
api POST "$BIGTABLE_URL/v2/$INST/clusters?clusterId=third-c3" "{\"location\":\"$P/locations/us-central1-b\",\"serveNodes\":1}"
expect_error_json 400 FAILED_PRECONDITION
api GET "$BIGTABLE_URL/v2/$TABLE?view=ENCRYPTION_VIEW"
expect_json '.clusterStates["east-c1"].encryptionInfo[0].encryptionStatus.code' 9
expect_json '.clusterStates["west-c2"].encryptionInfo[0].encryptionStatus.code' null
if (( HAVE_GCLOUD )); then
    expect_eq "east-c1 DISABLED;west-c2 READY" \
        "$(gcloud bigtable clusters list --instances=orders-inst --format='value(name.basename(),state)' | tr '\t' ' ' | paste -sd';')" \
        "gcloud shows the disabled cluster"
fi
api PATCH "$KMS_URL/v1/$EAST_KEY/cryptoKeyVersions/1?updateMask=state" '{"state":"ENABLED"}'
expect_status 200
key_checks
api POST "$BIGTABLE_URL/v2/$TABLE:readRows" "{\"appProfileId\":\"east-only\",\"rows\":{\"rowKeys\":[\"$K3\"]}}"
expect_json '.[0].chunks[0].rowKey' "$K3" # re-enabling restores the cluster
api GET "$BIGTABLE_URL/v2/$INST/clusters/east-c1"
expect_json .state READY

section "instances, clusters, tables, profiles and cells survive a stop and start"
stop_stack
start_persistent
api GET "$BIGTABLE_URL/v2/$INST/clusters"
expect_json '[.clusters[] | .name | split("/") | last] | join(",")' "east-c1,west-c2"
api GET "$BIGTABLE_URL/v2/$TABLE"
expect_json '.columnFamilies | keys | join(",")' "cf1,cf2,cf3"
api GET "$BIGTABLE_URL/v2/$INST/appProfiles/east-only"
expect_json .singleClusterRouting.clusterId east-c1
api POST "$BIGTABLE_URL/v2/$TABLE:readRows" "{\"appProfileId\":\"east-only\",\"rows\":{\"rowKeys\":[\"$K1\"]}}"
expect_json '.[0].chunks[0].value' "$(b64 "value of row-1 BTMARKER_7c1d!")"

section "dropRowRange, modifyColumnFamilies, delete (recoverable 7 days, then the replicas are shredded)"
api POST "$BIGTABLE_URL/v2/$TABLE:dropRowRange" "{\"rowKeyPrefix\":\"$(b64 row-)\"}"
expect_status 200
api POST "$BIGTABLE_URL/v2/$TABLE:readRows" '{}'
expect_json "$ROWS" "$(b64 counter),$(b64 replicated)"
api POST "$BIGTABLE_URL/v2/$TABLE:dropRowRange" '{"deleteAllDataFromTable":false}'
expect_status 200 # "Setting this to false is a no-op" (bigtable_table_admin.proto)
api POST "$BIGTABLE_URL/v2/$TABLE:readRows" '{}'
expect_json "$ROWS" "$(b64 counter),$(b64 replicated)"
api POST "$BIGTABLE_URL/v2/$TABLE:dropRowRange" '{}'
expect_error_json 400 INVALID_ARGUMENT # neither target
api POST "$BIGTABLE_URL/v2/$INST/tables/no-such-table:dropRowRange" '{"deleteAllDataFromTable":false}'
expect_error_json 404 NOT_FOUND
api POST "$BIGTABLE_URL/v2/$TABLE:modifyColumnFamilies" '{"modifications":[{"id":"cf3","drop":true},{"id":"cf4","create":{"gcRule":{"maxNumVersions":2}}}]}'
expect_status 200
expect_json '.columnFamilies | keys | join(",")' "cf1,cf2,cf4"
api POST "$BIGTABLE_URL/v2/$TABLE:readRows" "{\"rows\":{\"rowKeys\":[\"$(b64 counter)\"]}}"
expect_json length 0 # the dropped family's cells are gone
api DELETE "$BIGTABLE_URL/v2/$TABLE"
expect_status 200
expect_eq 2 "$(find "$DATA/bigtable" -name '*.db' | wc -l)" "a deleted table keeps its replicas' files (recoverable)"
api GET "$BIGTABLE_URL/v2/$TABLE"
expect_error_json 404 NOT_FOUND
api POST "$CONTROL_URL/emulator/v1/clock:advance" '{"seconds": 604800}'
expect_status 200
expect_eq 0 "$(find "$DATA/bigtable" -name '*.db' | wc -l)" "7 days later its replicas' files are removed"
api DELETE "$BIGTABLE_URL/v2/$INST"
expect_status 200
api GET "$BIGTABLE_URL/v2/$INST/appProfiles"
expect_error_json 404 NOT_FOUND

stop_stack
finish
