#!/usr/bin/env bash
# test_bigtable_backup: Bigtable backups and table restores with CMEK, through gcloud (the
# admin plane) and curl (rows, and everything when gcloud is missing).
#
# An instance with two clusters, each under its region's key, and a table with rows. A
# backup on the east cluster pins the east key's primary version: after a rotation,
# describe still shows version 1 while a new backup pins version 2. Restoring makes a new
# table with the backup's schema and rows (not later writes), a replica in each cluster
# under that cluster's key, and restoreInfo. A copy to the west cluster is under the west
# key. The pinned version disabled: restore FAILED_PRECONDITION naming it; enabled again:
# restored. A cluster disabled by its key refuses restores (Google's reason) while backups
# can still be deleted. Expiry on the emulator clock, expire-time rules, no plaintext on
# disk, and everything surviving a restart. Hot backups: hotToStandardTime checked (HOT
# only, 24 hours after creation), set and cleared by patch, and the conversion to STANDARD
# once the emulator clock passes it.
# full-run-only: most of its time is gcloud; `FAST=1 tests/integ/run-all` (scripts/test-all --fast) skips it
source "$(dirname "$0")/lib.sh"

P=projects/bt-backup
DATA="$TEST_TMP/data"
mkdir -p "$DATA"
start_persistent
setup_gcloud bt-backup
INST="$P/instances/bk-inst"
TABLE="$INST/tables/orders"
EAST="$INST/clusters/east-c1"
WEST="$INST/clusters/west-c2"
EAST_KEY="$P/locations/us-east1/keyRings/r/cryptoKeys/k"
WEST_KEY="$P/locations/us-west1/keyRings/r/cryptoKeys/k"
MARKER="BKMARKER_51f0"
b64() { printf %s "$1" | base64 -w0; }
ROWS='[.[].chunks[] | .rowKey // empty] | map(@base64d) | join(",")'
key_checks() { api POST "$CONTROL_URL/emulator/v1/keyChecks:run" '{}'; expect_status 200; }
advance() { api POST "$CONTROL_URL/emulator/v1/clock:advance" "{\"seconds\": $1}"; expect_status 200; }
set_version() { # KEY VERSION STATE
    api PATCH "$KMS_URL/v1/$1/cryptoKeyVersions/$2?updateMask=state" "{\"state\":\"$3\"}"
    expect_status 200
}
# emulator_time OFFSET: the emulator clock's now plus OFFSET (a `date -d` phrase), RFC 3339.
emulator_time() {
    local now
    now=$(curl -s "$CONTROL_URL/emulator/v1/clock" | jq -r .now)
    date -u -d "$now $1" +%Y-%m-%dT%H:%M:%SZ
}
# wait_op NAME: waits for the operation to be done; BODY holds it then.
wait_op() {
    wait_for 30 "operation $1" bash -c 'curl -s "$1" | jq -e .done >/dev/null' _ "$BIGTABLE_URL/v2/$1"
    api GET "$BIGTABLE_URL/v2/$1"
}
# put_row TABLE KEY VALUE: one cell in cf1:q.
put_row() {
    api POST "$BIGTABLE_URL/v2/$1:mutateRow" \
        "{\"rowKey\":\"$(b64 "$2")\",\"mutations\":[{\"setCell\":{\"familyName\":\"cf1\",\"columnQualifier\":\"$(b64 q)\",\"timestampMicros\":\"-1\",\"value\":\"$(b64 "$3")\"}}]}"
    expect_status 200
}
# rows TABLE [PROFILE]: the row keys the table holds, comma-separated.
rows() {
    curl -s -X POST "$BIGTABLE_URL/v2/$1:readRows" -d "{\"appProfileId\":\"${2:-default}\"}" | jq -r "$ROWS"
}
# backup_rest CLUSTER ID EXPIRE: creates a backup of orders over REST and waits for it.
backup_rest() {
    api POST "$BIGTABLE_URL/v2/$1/backups?backupId=$2" "{\"sourceTable\":\"$TABLE\",\"expireTime\":\"$3\"}"
    expect_status 200
    [[ "$HTTP_STATUS" == 200 ]] && wait_op "$(jq -r .name <<<"$BODY")"
}
# restore_rest TABLE_ID BACKUP: POST tables:restore; BODY is the answer (not waited for).
restore_rest() {
    api POST "$BIGTABLE_URL/v2/$INST/tables:restore" "{\"tableId\":\"$1\",\"backup\":\"$2\"}"
}

section "keys, an instance with two clusters (east, west), a table with rows"
regional_keys "$P" us-east1 us-west1
api POST "$BIGTABLE_URL/v2/$P/instances" "{\"instanceId\":\"bk-inst\",\"instance\":{\"displayName\":\"Backups\"},\"clusters\":{\"east-c1\":{\"location\":\"$P/locations/us-east1-b\",\"serveNodes\":1,\"encryptionConfig\":{\"kmsKeyName\":\"$EAST_KEY\"}},\"west-c2\":{\"location\":\"$P/locations/us-west1-a\",\"serveNodes\":1,\"encryptionConfig\":{\"kmsKeyName\":\"$WEST_KEY\"}}}}"
expect_status 200
wait_op "$(jq -r .name <<<"$BODY")"
api POST "$BIGTABLE_URL/v2/$INST/tables" '{"tableId":"orders","table":{"columnFamilies":{"cf1":{"gcRule":{"maxNumVersions":2}}}}}'
expect_status 200
for k in row-1 row-2 row-3; do put_row "$TABLE" "$k" "value of $k $MARKER"; done
expect_eq "row-1,row-2,row-3" "$(rows "$TABLE")" "the table's rows"

section "create a backup on the east cluster: CREATING -> READY, pinned to the east key's version 1"
if (( HAVE_GCLOUD )); then
    gcloud bigtable backups create b1 --instance=bk-inst --cluster=east-c1 --table=orders \
        --retention-period=7d >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "backups create (polls its operation) $(cat "$TEST_TMP/err")"
    expect_eq "READY $EAST_KEY/cryptoKeyVersions/1 CUSTOMER_MANAGED_ENCRYPTION $TABLE" \
        "$(gcloud bigtable backups describe b1 --instance=bk-inst --cluster=east-c1 --format='value(state,encryptionInfo.kmsKeyVersion,encryptionInfo.encryptionType,sourceTable)' | tr '\t' ' ')" \
        "backups describe: READY, the pinned version, the source table"
else
    backup_rest "$EAST" b1 "$(emulator_time '+7 days')"
fi
api GET "$BIGTABLE_URL/v2/$EAST/backups/b1"
expect_status 200
expect_json .state READY
expect_json '.sizeBytes | tonumber > 0' true
expect_json '.startTime <= .endTime' true
expect_json .backupType STANDARD
api POST "$BIGTABLE_URL/v2/$EAST/backups?backupId=b-op" \
    "{\"sourceTable\":\"$TABLE\",\"expireTime\":\"$(emulator_time '+1 day')\"}"
expect_status 200
expect_json '.name | startswith("operations/'"$INST"'/locations/us-east1-b/operations/")' true
expect_json '.metadata["@type"]' type.googleapis.com/google.bigtable.admin.v2.CreateBackupMetadata
expect_json .metadata.sourceTable "$TABLE"
wait_op "$(jq -r .name <<<"$BODY")"
expect_json '.response["@type"]' type.googleapis.com/google.bigtable.admin.v2.Backup
expect_json .response.state READY
api GET "$CONTROL_URL/emulator/v1/protectedResources"
expect_contains "$BODY" "$EAST/backups/b1" "the backup is a protected resource of the CMEK engine"
put_row "$TABLE" row-4 "written after the backup"

section "expire-time rules (6 hours to 90 days), bad names, unknown sources"
api POST "$BIGTABLE_URL/v2/$EAST/backups?backupId=short" "{\"sourceTable\":\"$TABLE\",\"expireTime\":\"$(emulator_time '+1 hour')\"}"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "6 hours" "too soon an expire time names the rule"
api POST "$BIGTABLE_URL/v2/$EAST/backups?backupId=long" "{\"sourceTable\":\"$TABLE\",\"expireTime\":\"$(emulator_time '+91 days')\"}"
expect_error_json 400 INVALID_ARGUMENT
api POST "$BIGTABLE_URL/v2/$EAST/backups?backupId=none" "{\"sourceTable\":\"$INST/tables/missing\",\"expireTime\":\"$(emulator_time '+1 day')\"}"
expect_error_json 404 NOT_FOUND
api POST "$BIGTABLE_URL/v2/$EAST/backups?backupId=b1" "{\"sourceTable\":\"$TABLE\",\"expireTime\":\"$(emulator_time '+1 day')\"}"
expect_error_json 409 ALREADY_EXISTS
api GET "$BIGTABLE_URL/v2/$EAST/backups/missing"
expect_error_json 404 NOT_FOUND
api PATCH "$BIGTABLE_URL/v2/$EAST/backups/b1?updateMask=source_table" '{"sourceTable":"x"}'
expect_error_json 400 INVALID_ARGUMENT

section "rotation: the table moves to version 2, the backup keeps version 1"
api POST "$KMS_URL/v1/$EAST_KEY/cryptoKeyVersions" '{}'
expect_status 200
api POST "$KMS_URL/v1/$EAST_KEY:updatePrimaryVersion" '{"cryptoKeyVersionId":"2"}'
expect_status 200
key_checks
api GET "$BIGTABLE_URL/v2/$TABLE?view=ENCRYPTION_VIEW"
expect_json '.clusterStates["east-c1"].encryptionInfo[0].kmsKeyVersion' "$EAST_KEY/cryptoKeyVersions/2"
if (( HAVE_GCLOUD )); then
    expect_eq "$EAST_KEY/cryptoKeyVersions/1" \
        "$(gcloud bigtable backups describe b1 --instance=bk-inst --cluster=east-c1 --format='value(encryptionInfo.kmsKeyVersion)')" \
        "describe after the rotation still shows the pinned version 1"
fi
api GET "$BIGTABLE_URL/v2/$EAST/backups/b1"
expect_json .encryptionInfo.kmsKeyVersion "$EAST_KEY/cryptoKeyVersions/1"
backup_rest "$EAST" b2 "$(emulator_time '+30 days')"
expect_json .response.encryptionInfo.kmsKeyVersion "$EAST_KEY/cryptoKeyVersions/2" # a new backup pins the new primary

section "restore into a new table: the backup's schema and rows, a replica per cluster"
if (( HAVE_GCLOUD )); then
    gcloud bigtable instances tables restore --source="$EAST/backups/b1" \
        --destination=restored --destination-instance=bk-inst >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "instances tables restore (polls its operation) $(cat "$TEST_TMP/err")"
else
    restore_rest restored "$EAST/backups/b1"
    expect_status 200
    wait_op "$(jq -r .name <<<"$BODY")"
fi
expect_eq "row-1,row-2,row-3" "$(rows "$INST/tables/restored")" \
    "the restored table holds the backup's rows, not the later write"
api GET "$BIGTABLE_URL/v2/$INST/tables/restored"
expect_json .restoreInfo.sourceType BACKUP
expect_json .restoreInfo.backupInfo.backup "$EAST/backups/b1"
expect_json .restoreInfo.backupInfo.sourceTable "$TABLE"
expect_json .columnFamilies.cf1.gcRule.maxNumVersions 2
key_checks
api GET "$BIGTABLE_URL/v2/$INST/tables/restored?view=ENCRYPTION_VIEW"
expect_json '.clusterStates["east-c1"].encryptionInfo[0].kmsKeyVersion' "$EAST_KEY/cryptoKeyVersions/2"
expect_json '.clusterStates["west-c2"].encryptionInfo[0].kmsKeyVersion' "$WEST_KEY/cryptoKeyVersions/1"
api POST "$BIGTABLE_URL/v2/$INST/appProfiles?appProfileId=west-only" \
    '{"singleClusterRouting":{"clusterId":"west-c2"}}'
expect_status 200
expect_eq "row-1,row-2,row-3" "$(rows "$INST/tables/restored" west-only)" \
    "the west cluster's replica of the restored table has the rows too"
restore_rest restored "$EAST/backups/b1"
expect_error_json 409 ALREADY_EXISTS
api POST "$BIGTABLE_URL/v2/$INST/tables:restore" "{\"tableId\":\"r2\",\"backup\":\"$EAST/backups/missing\"}"
expect_error_json 404 NOT_FOUND
restore_rest r-op "$EAST/backups/b2"
expect_status 200
expect_json '.metadata["@type"]' type.googleapis.com/google.bigtable.admin.v2.RestoreTableMetadata
expect_json .metadata.sourceType BACKUP
expect_json .metadata.backupInfo.backup "$EAST/backups/b2"
wait_op "$(jq -r .name <<<"$BODY")"
expect_json '.response["@type"]' type.googleapis.com/google.bigtable.admin.v2.Table
expect_json .response.name "$INST/tables/r-op"

section "copy to the west cluster: under the west key"
if (( HAVE_GCLOUD )); then
    gcloud bigtable backups copy --source-instance=bk-inst --source-cluster=east-c1 --source-backup=b1 \
        --destination-instance=bk-inst --destination-cluster=west-c2 --destination-backup=b1-copy \
        --retention-period=10d >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "backups copy $(cat "$TEST_TMP/err")"
else
    api POST "$BIGTABLE_URL/v2/$WEST/backups:copy" \
        "{\"backupId\":\"b1-copy\",\"sourceBackup\":\"$EAST/backups/b1\",\"expireTime\":\"$(emulator_time '+10 days')\"}"
    expect_status 200
    wait_op "$(jq -r .name <<<"$BODY")"
fi
api GET "$BIGTABLE_URL/v2/$WEST/backups/b1-copy"
expect_status 200
expect_json .state READY
expect_json .sourceBackup "$EAST/backups/b1"
expect_json .encryptionInfo.kmsKeyVersion "$WEST_KEY/cryptoKeyVersions/1"
api POST "$BIGTABLE_URL/v2/$WEST/backups:copy" \
    "{\"backupId\":\"copy-of-copy\",\"sourceBackup\":\"$WEST/backups/b1-copy\",\"expireTime\":\"$(emulator_time '+10 days')\"}"
expect_error_json 400 FAILED_PRECONDITION
api POST "$BIGTABLE_URL/v2/$WEST/backups:copy" \
    "{\"backupId\":\"too-long\",\"sourceBackup\":\"$EAST/backups/b1\",\"expireTime\":\"$(emulator_time '+31 days')\"}"
expect_error_json 400 INVALID_ARGUMENT
restore_rest from-copy "$WEST/backups/b1-copy"
expect_status 200
wait_op "$(jq -r .name <<<"$BODY")"
expect_eq "row-1,row-2,row-3" "$(rows "$INST/tables/from-copy")" "a copy restores the rows of its source"

section "list (one cluster, every cluster) and update"
if (( HAVE_GCLOUD )); then
    expect_eq "b-op,b1,b1-copy,b2" \
        "$(gcloud bigtable backups list --instance=bk-inst --format='value(name.basename())' | sort | paste -sd,)" \
        "backups list --instance (clusters/-)"
    expect_eq "b1-copy" \
        "$(gcloud bigtable backups list --instance=bk-inst --cluster=west-c2 --format='value(name.basename())' | paste -sd,)" \
        "backups list --cluster"
    gcloud bigtable backups update b2 --instance=bk-inst --cluster=east-c1 --retention-period=20d \
        >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "backups update --retention-period $(cat "$TEST_TMP/err")"
fi
api GET "$BIGTABLE_URL/v2/$INST/clusters/-/backups"
expect_json '[.backups[].name | split("/") | last] | sort | join(",")' "b-op,b1,b1-copy,b2"
api GET "$BIGTABLE_URL/v2/$EAST/backups?filter=name:b-op"
expect_json '[.backups[].name | split("/") | last] | join(",")' "b-op"
NEW_EXPIRE=$(emulator_time '+25 days')
api PATCH "$BIGTABLE_URL/v2/$EAST/backups/b2?updateMask=expire_time" "{\"expireTime\":\"$NEW_EXPIRE\"}"
expect_status 200
expect_json .expireTime "$NEW_EXPIRE"
api PATCH "$BIGTABLE_URL/v2/$EAST/backups/b2?updateMask=expire_time" "{\"expireTime\":\"$(emulator_time '+100 days')\"}"
expect_error_json 400 INVALID_ARGUMENT

section "the pinned version disabled: restore FAILED_PRECONDITION naming it; enabled: restored"
set_version "$EAST_KEY" 1 DISABLED
restore_rest from-disabled "$EAST/backups/b1"
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "$EAST_KEY/cryptoKeyVersions/1" "the refusal names the pinned version"
api GET "$BIGTABLE_URL/v2/$EAST/backups/b1"
expect_json .encryptionInfo.encryptionStatus.code 9
restore_rest from-v2 "$EAST/backups/b2"
expect_status 200 # b2 is pinned to version 2, still enabled
wait_op "$(jq -r .name <<<"$BODY")"
set_version "$EAST_KEY" 1 ENABLED
restore_rest from-enabled "$EAST/backups/b1"
expect_status 200
wait_op "$(jq -r .name <<<"$BODY")"
expect_eq "row-1,row-2,row-3" "$(rows "$INST/tables/from-enabled")" "restored once the version is enabled again"

section "a cluster disabled by its key: restore refused, deleting a backup allowed"
set_version "$WEST_KEY" 1 DISABLED
key_checks
key_checks # one cluster at a time, as Google's cascade
restore_rest while-disabled "$EAST/backups/b2"
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "restore" "Google's reason: restore is refused while a cluster is disabled"
api DELETE "$BIGTABLE_URL/v2/$EAST/backups/b-op"
expect_status 200
api GET "$BIGTABLE_URL/v2/$EAST/backups/b-op"
expect_error_json 404 NOT_FOUND
set_version "$WEST_KEY" 1 ENABLED
key_checks
restore_rest after-enable "$EAST/backups/b2"
expect_status 200
wait_op "$(jq -r .name <<<"$BODY")"

section "no cell value in plaintext in any file of the data directory"
advance 1 # flush what is buffered
if grep -rqa "$MARKER" "$DATA"; then
    _fail "the marker written to a cell appears in clear under the data directory"
else
    _pass "the marker appears in no file of the data directory (tables, backups, restores)"
fi

section "backups and restored tables survive a stop and start"
stop_stack
start_persistent
api GET "$BIGTABLE_URL/v2/$EAST/backups/b1"
expect_json .state READY
expect_json .encryptionInfo.kmsKeyVersion "$EAST_KEY/cryptoKeyVersions/1"
expect_eq "row-1,row-2,row-3" "$(rows "$INST/tables/restored")" "the restored table's rows after a restart"
restore_rest after-restart "$EAST/backups/b1"
expect_status 200
wait_op "$(jq -r .name <<<"$BODY")"
expect_eq "row-1,row-2,row-3" "$(rows "$INST/tables/after-restart")" "a restore after a restart has the rows"

section "delete through gcloud; expiry on the emulator clock"
if (( HAVE_GCLOUD )); then
    gcloud bigtable backups delete b1-copy --instance=bk-inst --cluster=west-c2 --quiet >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "backups delete $(cat "$TEST_TMP/err")"
else
    api DELETE "$BIGTABLE_URL/v2/$WEST/backups/b1-copy"
    expect_status 200
fi
api GET "$BIGTABLE_URL/v2/$WEST/backups/b1-copy"
expect_error_json 404 NOT_FOUND
backup_rest "$EAST" b-short "$(emulator_time '+7 hours')"
api POST "$BIGTABLE_URL/v2/$EAST/backups/b-short:setIamPolicy" \
    '{"policy":{"bindings":[{"role":"roles/bigtable.reader","members":["user:bob@example.com"]}]}}'
expect_status 200
advance $((6 * 3600))
api GET "$BIGTABLE_URL/v2/$EAST/backups/b-short"
expect_status 200 # not expired yet
advance $((2 * 3600))
api GET "$BIGTABLE_URL/v2/$EAST/backups/b-short"
expect_error_json 404 NOT_FOUND # expired on the emulator clock
backup_rest "$EAST" b-short "$(emulator_time '+7 hours')"
api POST "$BIGTABLE_URL/v2/$EAST/backups/b-short:getIamPolicy" '{}'
expect_json '.bindings // [] | length' 0 # the expired backup's policy went with it
api GET "$BIGTABLE_URL/v2/$EAST/backups/b1"
expect_status 200 # 7 days: still there
advance $((8 * 86400))
api GET "$BIGTABLE_URL/v2/$EAST/backups/b1"
expect_error_json 404 NOT_FOUND
api GET "$CONTROL_URL/emulator/v1/protectedResources"
expect_eq "false" "$(jq -r --arg n "$EAST/backups/b1" '[.. | strings | select(. == $n)] | length > 0' <<<"$BODY")" \
    "an expired backup's keys are forgotten"

section "hot backups become standard on the emulator clock"
# hot_rest ID HOT_TIME: a HOT backup of the table, expiring in 20 days, converted at HOT_TIME.
hot_rest() {
    api POST "$BIGTABLE_URL/v2/$EAST/backups?backupId=$1" "{\"sourceTable\":\"$TABLE\",\"expireTime\":\"$(emulator_time '+20 days')\",\"backupType\":\"HOT\",\"hotToStandardTime\":\"$2\"}"
}
hot_rest b-hot-soon "$(emulator_time '+23 hours')"
expect_error_json 400 INVALID_ARGUMENT # less than 24 hours after the creation
api POST "$BIGTABLE_URL/v2/$EAST/backups?backupId=b-std-hot" "{\"sourceTable\":\"$TABLE\",\"expireTime\":\"$(emulator_time '+20 days')\",\"backupType\":\"STANDARD\",\"hotToStandardTime\":\"$(emulator_time '+2 days')\"}"
expect_error_json 400 INVALID_ARGUMENT # a standard backup takes no hotToStandardTime
if (( HAVE_GCLOUD )); then
    gcloud bigtable backups create b-hot --instance=bk-inst --cluster=east-c1 --table=orders \
        --retention-period=20d --backup-type=HOT --hot-to-standard-time="$(emulator_time '+2 days')" \
        >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "backups create --backup-type=HOT $(cat "$TEST_TMP/err")"
else
    hot_rest b-hot "$(emulator_time '+2 days')"
    expect_status 200
    wait_op "$(jq -r .name <<<"$BODY")"
fi
hot_rest b-hot-kept "$(emulator_time '+2 days')"
expect_status 200
wait_op "$(jq -r .name <<<"$BODY")"
api GET "$BIGTABLE_URL/v2/$EAST/backups/b-hot"
expect_json .backupType HOT
api PATCH "$BIGTABLE_URL/v2/$EAST/backups/b-hot?updateMask=hot_to_standard_time" "{\"hotToStandardTime\":\"$(emulator_time '+3 days')\"}"
expect_status 200
api PATCH "$BIGTABLE_URL/v2/$EAST/backups/b-hot-kept?updateMask=hot_to_standard_time" '{}'
expect_status 200
expect_eq "null" "$(jq -r .hotToStandardTime <<<"$BODY")" "patch with no hotToStandardTime clears it"
advance $((2 * 86400 + 3600))
api GET "$BIGTABLE_URL/v2/$EAST/backups/b-hot"
expect_json .backupType HOT # moved to 3 days by the patch
advance 86400
api GET "$BIGTABLE_URL/v2/$EAST/backups/b-hot"
expect_json .backupType STANDARD
expect_eq "null" "$(jq -r .hotToStandardTime <<<"$BODY")" "a converted backup has no hotToStandardTime"
api GET "$BIGTABLE_URL/v2/$EAST/backups/b-hot-kept"
expect_json .backupType HOT # no time: stays hot
api PATCH "$BIGTABLE_URL/v2/$EAST/backups/b-hot?updateMask=hot_to_standard_time" "{\"hotToStandardTime\":\"$(emulator_time '+3 days')\"}"
expect_error_json 400 INVALID_ARGUMENT # standard now

finish
