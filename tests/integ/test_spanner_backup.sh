#!/usr/bin/env bash
# test_spanner_backup: Spanner backups and restore with CMEK, through curl and gcloud.
#
# A database under its own key, with rows; backups created with each encryption type (the
# config in the query string, as gcloud sends it), described, listed with gcloud's filter,
# given a new expiration, copied, deleted; restored into new databases whose schema and
# rows are the backup's (as of the backup, not later writes) and whose key may differ; no
# row in plaintext in any file. Then the key-version pinning: rotation moves
# the database to the new primary while its backup keeps the version it was taken
# under; that version disabled refuses the restore (FAILED_PRECONDITION naming it), enabled
# again allows it, destroyed makes the backup unrestorable for good. Backups expire on
# the emulator clock; backups survive a restart; an instance with backups cannot be
# deleted.
# full-run-only: most of its time is gcloud; `FAST=1 tests/integ/run-all` (scripts/test-all --fast) skips it
source "$(dirname "$0")/lib.sh"

DATA="$TEST_TMP/data"
mkdir -p "$DATA"
start_persistent
setup_gcloud spanner-project
P=projects/spanner-project
INST="$P/instances/inst"
DB="$INST/databases/orders"
RING="$P/locations/us-central1/keyRings/r"
DB_KEY="$RING/cryptoKeys/db-key"
BACKUP_KEY="$RING/cryptoKeys/backup-key"
OTHER_KEY="$RING/cryptoKeys/other-key"
DDL='CREATE TABLE Singers (SingerId INT64 NOT NULL, Name STRING(MAX)) PRIMARY KEY (SingerId)'

# wait_op NAME: waits for the operation to be done; BODY holds it then.
wait_op() {
    local auth=()
    [[ -n "${API_PRINCIPAL:-}" ]] && auth=(-H "Authorization: Bearer $API_PRINCIPAL")
    wait_for 30 "operation $1" bash -c 'curl -s "${@:2}" "$1" | jq -e .done >/dev/null' _ \
        "$SPANNER_URL/v1/$1" "${auth[@]}"
    api GET "$SPANNER_URL/v1/$1"
}

# emulator_time OFFSET: the emulator clock's now plus OFFSET (a `date -d` phrase), RFC 3339.
emulator_time() {
    local now
    now=$(curl -s "$CONTROL_URL/emulator/v1/clock" | jq -r .now)
    date -u -d "$now $1" +%Y-%m-%dT%H:%M:%SZ
}

# create_backup ID QUERY BODY: POST .../backups?backupId=ID&QUERY; waits for READY.
create_backup() {
    api POST "$SPANNER_URL/v1/$INST/backups?backupId=$1${2:+&$2}" "$3"
    expect_status 200
    [[ "$HTTP_STATUS" == 200 ]] && wait_op "$(jq -r .name <<<"$BODY")"
}

advance() { api POST "$CONTROL_URL/emulator/v1/clock:advance" "{\"seconds\": $1}"; }
key_checks() { api POST "$CONTROL_URL/emulator/v1/keyChecks:run" '{}'; }
set_version() { # KEY VERSION STATE
    api PATCH "$KMS_URL/v1/$1/cryptoKeyVersions/$2?updateMask=state" "{\"state\":\"$3\"}"
    expect_status 200
}

section "keys, an instance, a database under db-key"
api POST "$KMS_URL/v1/$P/locations/us-central1/keyRings?keyRingId=r" '{}'
for key in db-key backup-key other-key; do
    api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=$key" '{"purpose":"ENCRYPT_DECRYPT"}'
    expect_status 200
done
api POST "$SPANNER_URL/v1/$P/instances" \
    '{"instanceId":"inst","instance":{"config":"'"$P"'/instanceConfigs/regional-us-central1","displayName":"Backups","nodeCount":1}}'
expect_status 200
wait_op "$(jq -r .name <<<"$BODY")"
api POST "$SPANNER_URL/v1/$INST/databases" \
    "{\"createStatement\":\"CREATE DATABASE \`orders\`\",\"extraStatements\":[\"$DDL\"],\"encryptionConfig\":{\"kmsKeyName\":\"$DB_KEY\"}}"
expect_status 200
wait_op "$(jq -r .name <<<"$BODY")"
expect_json .response.state READY
DB_DDL=$(curl -s "$SPANNER_URL/v1/$DB/ddl" | jq -c .statements)
MARKER="backup-marker-7c3e"

# sql DATABASE QUERY: the rows of a query, one per line, fields joined by '/'.
sql() {
    local session
    session=$(curl -s -X POST "$SPANNER_URL/v1/$1/sessions" -d '{}' | jq -r .name)
    curl -s -X POST "$SPANNER_URL/v1/$session:executeSql" -d "{\"sql\":\"$2\"}" |
        jq -r '.rows[]? | map(tostring) | join("/")'
}
# insert_singer DATABASE ID NAME
insert_singer() {
    local session
    session=$(curl -s -X POST "$SPANNER_URL/v1/$1/sessions" -d '{}' | jq -r .name)
    api POST "$SPANNER_URL/v1/$session:commit" \
        "{\"singleUseTransaction\":{\"readWrite\":{}},\"mutations\":[{\"insert\":{\"table\":\"Singers\",\"columns\":[\"SingerId\",\"Name\"],\"values\":[[\"$2\",\"$3\"]]}}]}"
    expect_status 200
}
insert_singer "$DB" 1 "Marc $MARKER"
insert_singer "$DB" 2 "Catalina $MARKER"

section "REST: create with the encryption config in the query string"
EXPIRE=$(emulator_time '+2 days')
api POST "$SPANNER_URL/v1/$INST/backups?backupId=b1&encryptionConfig.encryptionType=CUSTOMER_MANAGED_ENCRYPTION&encryptionConfig.kmsKeyName=$BACKUP_KEY" \
    "{\"database\":\"$DB\",\"expireTime\":\"$EXPIRE\"}"
expect_status 200
expect_json '.name | startswith("'"$INST"'/backups/b1/operations/")' true
expect_json '.metadata["@type"]' type.googleapis.com/google.spanner.admin.database.v1.CreateBackupMetadata
expect_json .metadata.database "$DB"
expect_json .metadata.name "$INST/backups/b1"
expect_json '.metadata.progress.progressPercent' null # 0: left out, as proto3 JSON does
wait_op "$(jq -r .name <<<"$BODY")"
expect_json '.response["@type"]' type.googleapis.com/google.spanner.admin.database.v1.Backup
expect_json .response.state READY
expect_json '.metadata.progress.progressPercent' 100 # done: its progress says so
expect_json '.metadata.progress.endTime >= .metadata.progress.startTime' true
api GET "$SPANNER_URL/v1/$INST/backups/b1"
expect_status 200
expect_json .database "$DB"
expect_json .state READY
expect_json .encryptionInfo.encryptionType CUSTOMER_MANAGED_ENCRYPTION
expect_json .encryptionInfo.kmsKeyVersion "$BACKUP_KEY/cryptoKeyVersions/1"
expect_json '.encryptionInformation[0].kmsKeyVersion' "$BACKUP_KEY/cryptoKeyVersions/1"
expect_json '.sizeBytes | tonumber > 0' true
expect_json .expireTime "$EXPIRE"
expect_json '.versionTime == .createTime' true # versionTime defaults to the create time
expect_json '.maxExpireTime > .expireTime' true
api GET "$CONTROL_URL/emulator/v1/protectedResources"
expect_contains "$BODY" "$INST/backups/b1" "the backup is a protected resource of the CMEK engine"
insert_singer "$DB" 3 "Written after the backup"

create_backup b-db "encryptionConfig.encryptionType=USE_DATABASE_ENCRYPTION" \
    "{\"database\":\"$DB\",\"expireTime\":\"$(emulator_time '+60 days')\"}"
api GET "$SPANNER_URL/v1/$INST/backups/b-db"
expect_json .encryptionInfo.kmsKeyVersion "$DB_KEY/cryptoKeyVersions/1"
create_backup b-default "" "{\"database\":\"$DB\",\"expireTime\":\"$(emulator_time '+1 day')\"}"
api GET "$SPANNER_URL/v1/$INST/backups/b-default"
expect_json .encryptionInfo.kmsKeyVersion "$DB_KEY/cryptoKeyVersions/1" # the database's, by default
advance 5 # the versionTime below (2 s ago, in whole seconds) must not precede the database
# the query may name the fields by their proto names, as Google accepts
create_backup b-google "encryption_config.encryption_type=GOOGLE_DEFAULT_ENCRYPTION" \
    "{\"database\":\"$DB\",\"expireTime\":\"$(emulator_time '+1 day')\",\"versionTime\":\"$(emulator_time '-2 seconds')\"}"
api GET "$SPANNER_URL/v1/$INST/backups/b-google"
expect_json .encryptionInfo.encryptionType GOOGLE_DEFAULT_ENCRYPTION
expect_json '.encryptionInfo.kmsKeyVersion // "none"' none

section "REST: create refused with Google's errors"
create_refused() { # QUERY BODY STATUS CODE TEXT
    api POST "$SPANNER_URL/v1/$INST/backups?backupId=refused${1:+&$1}" "$2"
    expect_error_json "$3" "$4"
    expect_contains "$BODY" "$5" "the error names $5"
}
create_refused "" "{\"database\":\"$DB\",\"expireTime\":\"$(emulator_time '+1 hour')\"}" 400 INVALID_ARGUMENT expire_time
create_refused "" "{\"database\":\"$DB\",\"expireTime\":\"$(emulator_time '+400 days')\"}" 400 INVALID_ARGUMENT expire_time
create_refused "" "{\"database\":\"$DB\"}" 400 INVALID_ARGUMENT expire_time
create_refused "" "{\"database\":\"$DB\",\"expireTime\":\"$EXPIRE\",\"versionTime\":\"$(emulator_time '-30 minutes')\"}" \
    400 INVALID_ARGUMENT version_time
create_refused "" "{\"database\":\"$DB\",\"expireTime\":\"$EXPIRE\",\"versionTime\":\"$(emulator_time '+1 hour')\"}" \
    400 INVALID_ARGUMENT "cannot be in the future"
create_refused "encryptionConfig.encryptionType=GOOGLE_DEFAULT_ENCRYPTION&encryptionConfig.kmsKeyName=$BACKUP_KEY" \
    "{\"database\":\"$DB\",\"expireTime\":\"$EXPIRE\"}" 400 INVALID_ARGUMENT kms_key_name
create_refused "encryptionConfig.encryptionType=CUSTOMER_MANAGED_ENCRYPTION" \
    "{\"database\":\"$DB\",\"expireTime\":\"$EXPIRE\"}" 400 INVALID_ARGUMENT kms_key_name
create_refused "encryptionConfig.encryptionType=CUSTOMER_MANAGED_ENCRYPTION&encryptionConfig.kmsKeyName=$P/locations/europe-west1/keyRings/r/cryptoKeys/k" \
    "{\"database\":\"$DB\",\"expireTime\":\"$EXPIRE\"}" 400 INVALID_ARGUMENT europe-west1
create_refused "encryptionConfig.encryptionType=SOMETHING_ELSE" \
    "{\"database\":\"$DB\",\"expireTime\":\"$EXPIRE\"}" 400 INVALID_ARGUMENT encryption_config
create_refused "encryptionConfig.encryptionType=CUSTOMER_MANAGED_ENCRYPTION&encryptionConfig.kmsKeyName=$RING/cryptoKeys/missing" \
    "{\"database\":\"$DB\",\"expireTime\":\"$EXPIRE\"}" 404 NOT_FOUND cryptoKeys/missing
create_refused "" "{\"database\":\"$INST/databases/missing\",\"expireTime\":\"$EXPIRE\"}" 404 NOT_FOUND "Database not found"
create_refused "" "{\"database\":\"$DB\",\"expireTime\":\"$EXPIRE\",\"bogus\":1}" 400 INVALID_ARGUMENT bogus
api POST "$SPANNER_URL/v1/$INST/backups?backupId=b1" "{\"database\":\"$DB\",\"expireTime\":\"$EXPIRE\"}"
expect_error_json 409 ALREADY_EXISTS
api POST "$SPANNER_URL/v1/$INST/backups?backupId=Bad_Id" "{\"database\":\"$DB\",\"expireTime\":\"$EXPIRE\"}"
expect_error_json 400 INVALID_ARGUMENT
api GET "$SPANNER_URL/v1/$INST/backups/refused"
expect_error_json 404 NOT_FOUND # nothing was left behind
expect_json .error.message "Backup not found: $INST/backups/refused"

section "REST: list with gcloud's filter, update the expiration, IAM, operations"
api GET "$SPANNER_URL/v1/$INST/backups"
expect_json '[.backups[].name | split("/") | last] | join(",")' "b-db,b-default,b-google,b1"
api GET "$SPANNER_URL/v1/$INST/backups?filter=$(jq -rn --arg f "database=\"$INST/databases/none\"" '$f|@uri')"
expect_json '.backups // [] | length' 0
api GET "$SPANNER_URL/v1/$INST/backups?filter=$(jq -rn --arg f "database=\"$DB\"" '$f|@uri')"
expect_json '.backups | length' 4
LATER=$(emulator_time '+10 days')
api PATCH "$SPANNER_URL/v1/$INST/backups/b1?updateMask=expire_time" "{\"expireTime\":\"$LATER\"}"
expect_status 200
expect_json .expireTime "$LATER"
api PATCH "$SPANNER_URL/v1/$INST/backups/b1?updateMask=expire_time" "{\"expireTime\":\"$(emulator_time '+2 hours')\"}"
expect_error_json 400 INVALID_ARGUMENT
api PATCH "$SPANNER_URL/v1/$INST/backups/b1?updateMask=database" "{\"database\":\"$DB\"}"
expect_error_json 400 INVALID_ARGUMENT
api GET "$SPANNER_URL/v1/$INST/backups/b1"
expect_json .expireTime "$LATER" # the refused updates changed nothing
api POST "$SPANNER_URL/v1/$INST/backups/b1:getIamPolicy" '{}'
expect_status 200
api POST "$SPANNER_URL/v1/$INST/backups/missing:getIamPolicy" '{}'
expect_error_json 404 NOT_FOUND
api GET "$SPANNER_URL/v1/$INST/backupOperations"
expect_json '[.operations[] | select(.metadata["@type"] | endswith("CreateBackupMetadata"))] | length' 4
api GET "$SPANNER_URL/v1/$INST/backupOperations?filter=$(jq -rn --arg f "metadata.name:\"$INST/backups/b1\"" '$f|@uri')"
expect_json '.operations | length' 1
api GET "$SPANNER_URL/v1/$INST/backups/b1/operations"
expect_json '.operations[0].done' true

section "REST: copy with its own encryption config"
api POST "$SPANNER_URL/v1/$INST/backups:copy" \
    "{\"backupId\":\"b1-copy\",\"sourceBackup\":\"$INST/backups/b1\",\"expireTime\":\"$EXPIRE\",\"encryptionConfig\":{\"encryptionType\":\"CUSTOMER_MANAGED_ENCRYPTION\",\"kmsKeyName\":\"$OTHER_KEY\"}}"
expect_status 200
expect_json '.metadata["@type"]' type.googleapis.com/google.spanner.admin.database.v1.CopyBackupMetadata
expect_json .metadata.sourceBackup "$INST/backups/b1"
expect_json '.name | startswith("'"$INST"'/backups/b1-copy/operations/")' true
wait_op "$(jq -r .name <<<"$BODY")"
expect_json .response.state READY
expect_json '.metadata.progress.progressPercent' 100
api GET "$SPANNER_URL/v1/$INST/backups/b1-copy"
expect_json .encryptionInfo.kmsKeyVersion "$OTHER_KEY/cryptoKeyVersions/1"
expect_json .database "$DB"
expect_json .versionTime "$(curl -s "$SPANNER_URL/v1/$INST/backups/b1" | jq -r .versionTime)"
api POST "$SPANNER_URL/v1/$INST/backups:copy" \
    "{\"backupId\":\"b1-copy2\",\"sourceBackup\":\"$INST/backups/b1\",\"expireTime\":\"$EXPIRE\"}"
expect_status 200
wait_op "$(jq -r .name <<<"$BODY")"
api GET "$SPANNER_URL/v1/$INST/backups/b1-copy2"
expect_json .encryptionInfo.kmsKeyVersion "$BACKUP_KEY/cryptoKeyVersions/1" # the source's key by default
api DELETE "$SPANNER_URL/v1/$INST/backups/b1-copy2"
expect_status 200
api POST "$SPANNER_URL/v1/$INST/backups:copy" \
    "{\"backupId\":\"b1-copy3\",\"sourceBackup\":\"$INST/backups/missing\",\"expireTime\":\"$EXPIRE\"}"
expect_error_json 404 NOT_FOUND

section "REST: restore into a new database under another key"
api POST "$SPANNER_URL/v1/$INST/databases:restore" \
    "{\"databaseId\":\"restored\",\"backup\":\"$INST/backups/b1\",\"encryptionConfig\":{\"encryptionType\":\"CUSTOMER_MANAGED_ENCRYPTION\",\"kmsKeyName\":\"$OTHER_KEY\"}}"
expect_status 200
expect_json '.name | startswith("'"$INST"'/databases/restored/operations/")' true
expect_json '.metadata["@type"]' type.googleapis.com/google.spanner.admin.database.v1.RestoreDatabaseMetadata
expect_json .metadata.sourceType BACKUP
expect_json .metadata.backupInfo.backup "$INST/backups/b1"
expect_json .metadata.backupInfo.sourceDatabase "$DB"
wait_op "$(jq -r .name <<<"$BODY")"
expect_json '.response["@type"]' type.googleapis.com/google.spanner.admin.database.v1.Database
expect_json .response.state READY
expect_json '.metadata.progress | [.progressPercent, (.endTime | length > 0)] | map(tostring) | join(",")' 100,true
api GET "$SPANNER_URL/v1/$INST/databases/restored"
expect_json .restoreInfo.sourceType BACKUP
expect_json .restoreInfo.backupInfo.backup "$INST/backups/b1"
expect_json '.encryptionInfo[0].kmsKeyVersion' "$OTHER_KEY/cryptoKeyVersions/1"
expect_eq "$DB_DDL" "$(curl -s "$SPANNER_URL/v1/$INST/databases/restored/ddl" | jq -c .statements)" \
    "the restored database has the backup's schema"
expect_eq "1/Marc $MARKER,2/Catalina $MARKER" \
    "$(sql "$INST/databases/restored" "SELECT SingerId, Name FROM Singers ORDER BY SingerId" | paste -sd,)" \
    "and its rows as of the backup (not the row written after it)"
insert_singer "$INST/databases/restored" 9 "Only in the restored database"
expect_eq "1,2,3" "$(sql "$DB" "SELECT SingerId FROM Singers ORDER BY SingerId" | paste -sd,)" \
    "the two databases go their own ways"
api GET "$SPANNER_URL/v1/$INST/backups/b1"
expect_json '.referencingDatabases // [] | length' 0 # the reference ends when the restore is done
api GET "$SPANNER_URL/v1/$INST/databaseOperations"
expect_json '[.operations[] | select(.metadata["@type"] | endswith("RestoreDatabaseMetadata"))] | length' 1
api POST "$SPANNER_URL/v1/$INST/databases:restore" \
    "{\"databaseId\":\"restored\",\"backup\":\"$INST/backups/b1\"}"
expect_error_json 409 ALREADY_EXISTS
api POST "$SPANNER_URL/v1/$INST/databases:restore" \
    "{\"databaseId\":\"restored2\",\"backup\":\"$INST/backups/missing\"}"
expect_error_json 404 NOT_FOUND
api POST "$SPANNER_URL/v1/$INST/databases:restore" \
    "{\"databaseId\":\"restored2\",\"backup\":\"$INST/backups/b1\",\"encryptionConfig\":{\"encryptionType\":\"GOOGLE_DEFAULT_ENCRYPTION\",\"kmsKeyName\":\"$OTHER_KEY\"}}"
expect_error_json 400 INVALID_ARGUMENT
api POST "$SPANNER_URL/v1/$INST/databases:restore" \
    "{\"databaseId\":\"from-default\",\"backup\":\"$INST/backups/b-google\"}"
expect_status 200
wait_op "$(jq -r .name <<<"$BODY")"
api GET "$SPANNER_URL/v1/$INST/databases/from-default"
expect_json '.encryptionInfo // [] | length' 0 # Google default encryption, as its backup
expect_eq "1,2,3" "$(sql "$INST/databases/from-default" "SELECT SingerId FROM Singers ORDER BY SingerId" | paste -sd,)" \
    "a Google-default backup restores its rows too"
api POST "$SPANNER_URL/v1/$INST/databases:restore" \
    "{\"databaseId\":\"from-copy\",\"backup\":\"$INST/backups/b1-copy\"}"
expect_status 200
wait_op "$(jq -r .name <<<"$BODY")"
expect_eq "1,2" "$(sql "$INST/databases/from-copy" "SELECT SingerId FROM Singers ORDER BY SingerId" | paste -sd,)" \
    "a copied backup holds the rows of its source"

section "no row in plaintext in any file of the data directory"
DATA_DIR=$(curl -s "$CONTROL_URL/emulator/v1/status" | jq -r .dataDir)
expect_eq 1 "$(ls "$DATA_DIR"/spanner/backups/*.db | wc -l | awk '{print ($1 >= 4)}')" \
    "each backup has its data file"
expect_eq "" "$(grep -rl "$MARKER" "$DATA_DIR" 2>/dev/null)" "the marker is in no file"

if (( HAVE_GCLOUD )); then
    section "gcloud: backups create, describe, list, update-metadata, copy, delete"
    gcloud spanner backups create gb --instance=inst --database=orders --retention-period=7d \
        --encryption-type=customer-managed-encryption --kms-key="$BACKUP_KEY" >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "backups create --kms-key $(cat "$TEST_TMP/err")"
    expect_eq "READY $BACKUP_KEY/cryptoKeyVersions/1 CUSTOMER_MANAGED_ENCRYPTION" \
        "$(gcloud spanner backups describe gb --instance=inst --format='value(state,encryptionInfo.kmsKeyVersion,encryptionInfo.encryptionType)' | tr '\t' ' ')" \
        "backups describe shows the pinned version"
    expect_contains "$(gcloud spanner backups list --instance=inst --database=orders --format='value(name.basename())' | paste -sd,)" \
        "gb" "backups list --database (gcloud's filter)"
    expect_eq "" "$(gcloud spanner backups list --instance=inst --database=restored --format='value(name)')" \
        "no backup of the restored database"
    gcloud spanner backups update-metadata gb --instance=inst --expiration-date="$(date -u -d '+20 days' +%Y-%m-%dT%H:%M:%SZ)" \
        >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "backups update-metadata --expiration-date $(cat "$TEST_TMP/err")"
    expect_contains "$(gcloud spanner backups describe gb --instance=inst --format='value(expireTime)')" \
        "$(date -u -d '+20 days' +%Y-%m-%d)" "the new expiration is seen"
    out=$(gcloud spanner backups update-metadata gb --instance=inst --retention-period=1h 2>&1)
    expect_contains "$out" "expire_time" "an expiration under 6 hours is refused, naming expire_time"
    gcloud spanner backups copy --source-instance=inst --source-backup=gb --destination-instance=inst \
        --destination-backup=gb-copy --retention-period=3d >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "backups copy $(cat "$TEST_TMP/err")"
    expect_eq "READY" "$(gcloud spanner backups describe gb-copy --instance=inst --format='value(state)')" \
        "the copy is ready"
    gcloud spanner backups delete gb-copy --instance=inst --quiet >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "backups delete $(cat "$TEST_TMP/err")"
    out=$(gcloud spanner backups describe gb-copy --instance=inst 2>&1)
    expect_contains "$out" "NOT_FOUND" "the deleted backup is gone"

    section "gcloud: databases restore"
    gcloud spanner databases restore --source-instance=inst --source-backup=gb \
        --destination-instance=inst --destination-database=gcloud-restored \
        --encryption-type=customer-managed-encryption --kms-key="$OTHER_KEY" >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "databases restore $(cat "$TEST_TMP/err")"
    expect_eq "READY $INST/backups/gb $OTHER_KEY/cryptoKeyVersions/1" \
        "$(gcloud spanner databases describe gcloud-restored --instance=inst --format='value(state,restoreInfo.backupInfo.backup,encryptionInfo[0].kmsKeyVersion)' | tr '\t' ' ')" \
        "the restored database: READY, its restoreInfo, its own key"
    expect_eq "$(gcloud spanner databases ddl describe orders --instance=inst)" \
        "$(gcloud spanner databases ddl describe gcloud-restored --instance=inst)" \
        "ddl describe: the restored schema is the source's"
    expect_eq "1,2,3" \
        "$(sql "$INST/databases/gcloud-restored" "SELECT SingerId FROM Singers ORDER BY SingerId" | paste -sd,)" \
        "the database gcloud restored has the rows of the backup"
fi

section "rotation: the database moves to the new primary, its backup keeps its version"
api POST "$KMS_URL/v1/$DB_KEY/cryptoKeyVersions" '{}'
expect_status 200
api POST "$KMS_URL/v1/$DB_KEY:updatePrimaryVersion" '{"cryptoKeyVersionId":"2"}'
expect_status 200
key_checks
api GET "$SPANNER_URL/v1/$DB"
expect_json '.encryptionInfo[0].kmsKeyVersion' "$DB_KEY/cryptoKeyVersions/2"
api GET "$SPANNER_URL/v1/$INST/backups/b-db"
expect_json .encryptionInfo.kmsKeyVersion "$DB_KEY/cryptoKeyVersions/1"
create_backup b-db2 "" "{\"database\":\"$DB\",\"expireTime\":\"$(emulator_time '+60 days')\"}"
api GET "$SPANNER_URL/v1/$INST/backups/b-db2"
expect_json .encryptionInfo.kmsKeyVersion "$DB_KEY/cryptoKeyVersions/2" # a new backup pins the new primary

section "the pinned version disabled: restore FAILED_PRECONDITION naming it; enabled: restored"
set_version "$DB_KEY" 1 DISABLED
api POST "$SPANNER_URL/v1/$INST/databases:restore" \
    "{\"databaseId\":\"from-disabled\",\"backup\":\"$INST/backups/b-db\"}"
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "$DB_KEY/cryptoKeyVersions/1" "the refusal names the pinned version"
api GET "$SPANNER_URL/v1/$INST/databases/from-disabled"
expect_error_json 404 NOT_FOUND # nothing was created
api GET "$SPANNER_URL/v1/$DB"
expect_status 200 # the database, on version 2, is not affected
api GET "$SPANNER_URL/v1/$INST/backups/b-db"
expect_json .encryptionInfo.encryptionStatus.code 9
api POST "$SPANNER_URL/v1/$INST/backups:copy" \
    "{\"backupId\":\"b-db-copy\",\"sourceBackup\":\"$INST/backups/b-db\",\"expireTime\":\"$EXPIRE\"}"
expect_error_json 400 FAILED_PRECONDITION
if (( HAVE_GCLOUD )); then
    out=$(gcloud spanner databases restore --source-instance=inst --source-backup=b-db \
        --destination-instance=inst --destination-database=from-disabled 2>&1)
    expect_contains "$out" "FAILED_PRECONDITION" "gcloud restore: FAILED_PRECONDITION"
    expect_contains "$out" "$DB_KEY/cryptoKeyVersions/1" "naming the version"
fi
api POST "$SPANNER_URL/v1/$INST/databases:restore" \
    "{\"databaseId\":\"from-v2\",\"backup\":\"$INST/backups/b-db2\"}"
expect_status 200 # a backup pinned to version 2 is not affected
wait_op "$(jq -r .name <<<"$BODY")"
set_version "$DB_KEY" 1 ENABLED
api POST "$SPANNER_URL/v1/$INST/databases:restore" \
    "{\"databaseId\":\"from-enabled\",\"backup\":\"$INST/backups/b-db\"}"
expect_status 200
wait_op "$(jq -r .name <<<"$BODY")"
expect_json .response.state READY
api GET "$SPANNER_URL/v1/$INST/databases/from-enabled"
expect_json '.encryptionInfo[0].kmsKeyVersion' "$DB_KEY/cryptoKeyVersions/2" # the key's primary now

section "expiry on the emulator clock"
create_backup b-short "" "{\"database\":\"$DB\",\"expireTime\":\"$(emulator_time '+7 hours')\"}"
SHORT_FILE="$DATA_DIR/spanner/backups/spanner-project+inst+b-short.db"
expect_eq yes "$([[ -s "$SHORT_FILE" ]] && echo yes)" "the backup's data file is there"
advance $((6 * 3600))
api GET "$SPANNER_URL/v1/$INST/backups/b-short"
expect_status 200
advance $((2 * 3600))
api GET "$SPANNER_URL/v1/$INST/backups/b-short"
expect_error_json 404 NOT_FOUND
expect_eq no "$([[ -e "$SHORT_FILE" ]] && echo yes || echo no)" "its data file is gone"
api GET "$CONTROL_URL/emulator/v1/protectedResources"
expect_eq 0 "$(grep -c "backups/b-short" <<<"$BODY")" "its keys are forgotten"

section "the pinned version destroyed: unrestorable for good"
api POST "$KMS_URL/v1/$DB_KEY/cryptoKeyVersions/1:destroy" '{}'
expect_status 200
advance $((31 * 86400))
api GET "$SPANNER_URL/v1/$INST/backups/b1"
expect_error_json 404 NOT_FOUND # expired meanwhile
api POST "$SPANNER_URL/v1/$INST/databases:restore" \
    "{\"databaseId\":\"from-destroyed\",\"backup\":\"$INST/backups/b-db\"}"
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "$DB_KEY/cryptoKeyVersions/1" "the refusal names the destroyed version"
expect_contains "$BODY" "DESTROYED" "and says it is destroyed"
api POST "$KMS_URL/v1/$DB_KEY/cryptoKeyVersions/1:restore" '{}'
expect_error_json 400 FAILED_PRECONDITION # KMS cannot bring it back
api POST "$SPANNER_URL/v1/$INST/databases:restore" \
    "{\"databaseId\":\"from-destroyed\",\"backup\":\"$INST/backups/b-db\"}"
expect_error_json 400 FAILED_PRECONDITION
api GET "$SPANNER_URL/v1/$DB"
expect_status 200 # the database lives on version 2

section "backups survive a stop and start"
stop_stack
start_persistent
api GET "$SPANNER_URL/v1/$INST/backups/b-db2"
expect_json .state READY
expect_json .encryptionInfo.kmsKeyVersion "$DB_KEY/cryptoKeyVersions/2"
api POST "$SPANNER_URL/v1/$INST/databases:restore" \
    "{\"databaseId\":\"after-restart\",\"backup\":\"$INST/backups/b-db2\"}"
expect_status 200
wait_op "$(jq -r .name <<<"$BODY")"
expect_json .response.state READY
expect_eq "1,2,3" "$(sql "$INST/databases/after-restart" "SELECT SingerId FROM Singers ORDER BY SingerId" | paste -sd,)" \
    "a backup restored after a restart has its rows"
api POST "$SPANNER_URL/v1/$INST/databases:restore" \
    "{\"databaseId\":\"from-destroyed\",\"backup\":\"$INST/backups/b-db\"}"
expect_error_json 400 FAILED_PRECONDITION # still shredded

section "IAM: create, copy and restore need a permission on their source too"
stop_stack
start_persistent --iam enforce
export API_PRINCIPAL=user:developer@example.com # the default principal owns every project
api GET "$CONTROL_URL/v1/projects/spanner-project"
AGENT="serviceAccount:service-$(jq -r .projectNumber <<<"$BODY")@gcp-sa-spanner.iam.gserviceaccount.com"
api POST "$KMS_URL/v1/$RING:setIamPolicy" \
    "{\"policy\":{\"bindings\":[{\"role\":\"roles/cloudkms.cryptoKeyEncrypterDecrypter\",\"members\":[\"$AGENT\"]}]}}"
expect_status 200
api POST "$SPANNER_URL/v1/$P/instances" \
    '{"instanceId":"inst2","instance":{"config":"'"$P"'/instanceConfigs/regional-us-central1","displayName":"Restores","nodeCount":1}}'
expect_status 200
wait_op "$(jq -r .name <<<"$BODY")"
api POST "$SPANNER_URL/v1/$P/instances/inst2:setIamPolicy" \
    '{"policy":{"bindings":[{"role":"roles/spanner.restoreAdmin","members":["user:alice@example.com"]},{"role":"roles/spanner.backupWriter","members":["user:alice@example.com"]}]}}'
expect_status 200
API_PRINCIPAL=user:alice@example.com
api POST "$SPANNER_URL/v1/$P/instances/inst2/databases:restore" \
    "{\"databaseId\":\"by-alice\",\"backup\":\"$INST/backups/b-db2\"}"
expect_error_json 403 PERMISSION_DENIED
expect_contains "$BODY" "spanner.backups.restoreDatabase" "restoring needs restoreDatabase on the backup"
api POST "$SPANNER_URL/v1/$P/instances/inst2/backups:copy" \
    "{\"backupId\":\"alice-copy\",\"sourceBackup\":\"$INST/backups/b-db2\",\"expireTime\":\"$(emulator_time '+2 days')\"}"
expect_error_json 403 PERMISSION_DENIED
expect_contains "$BODY" "spanner.backups.copy" "copying needs backups.copy on the source"
api POST "$SPANNER_URL/v1/$P/instances/inst2/backups?backupId=alice-b" \
    "{\"database\":\"$DB\",\"expireTime\":\"$(emulator_time '+2 days')\"}"
expect_error_json 403 PERMISSION_DENIED
expect_contains "$BODY" "spanner.databases.createBackup" "a backup needs createBackup on the database"
API_PRINCIPAL=user:developer@example.com
api POST "$SPANNER_URL/v1/$INST/backups/b-db2:setIamPolicy" \
    '{"policy":{"bindings":[{"role":"roles/spanner.restoreAdmin","members":["user:alice@example.com"]}]}}'
expect_status 200
API_PRINCIPAL=user:alice@example.com
api POST "$SPANNER_URL/v1/$P/instances/inst2/databases:restore" \
    "{\"databaseId\":\"by-alice\",\"backup\":\"$INST/backups/b-db2\"}"
expect_status 200 # granted on the backup: restored into her instance
wait_op "$(jq -r .name <<<"$BODY")"
expect_json .response.state READY
API_PRINCIPAL=user:developer@example.com

section "IAM: a deleted database's, backup's or instance's policy goes with it (a new one of the same name grants nothing)"
BY_ALICE="$P/instances/inst2/databases/by-alice"
api POST "$SPANNER_URL/v1/$BY_ALICE:setIamPolicy" \
    '{"policy":{"bindings":[{"role":"roles/spanner.databaseReader","members":["user:bob@example.com"]}]}}'
expect_status 200
API_PRINCIPAL=user:bob@example.com api POST "$SPANNER_URL/v1/$BY_ALICE/sessions" '{}'
expect_status 200
api DELETE "$SPANNER_URL/v1/$BY_ALICE"
expect_status 200
api POST "$SPANNER_URL/v1/$P/instances/inst2/databases" '{"createStatement":"CREATE DATABASE `by-alice`"}'
expect_status 200
wait_op "$(jq -r .name <<<"$BODY")"
api POST "$SPANNER_URL/v1/$BY_ALICE:getIamPolicy" '{}'
expect_json '.bindings // [] | length' 0
API_PRINCIPAL=user:bob@example.com api POST "$SPANNER_URL/v1/$BY_ALICE/sessions" '{}'
expect_error_json 403 PERMISSION_DENIED
BOB_BACKUP="$P/instances/inst2/backups/for-bob"
backup_for_bob() {
    api POST "$SPANNER_URL/v1/$P/instances/inst2/backups?backupId=for-bob" \
        "{\"database\":\"$BY_ALICE\",\"expireTime\":\"$(emulator_time '+2 days')\"}"
    expect_status 200
    wait_op "$(jq -r .name <<<"$BODY")"
}
backup_for_bob
api POST "$SPANNER_URL/v1/$BOB_BACKUP:setIamPolicy" \
    '{"policy":{"bindings":[{"role":"roles/spanner.backupAdmin","members":["user:bob@example.com"]}]}}'
expect_status 200
api DELETE "$SPANNER_URL/v1/$BOB_BACKUP"
expect_status 200
backup_for_bob
api POST "$SPANNER_URL/v1/$BOB_BACKUP:getIamPolicy" '{}'
expect_json '.bindings // [] | length' 0 # a deleted backup's policy went with it
API_PRINCIPAL=user:bob@example.com api GET "$SPANNER_URL/v1/$BOB_BACKUP"
expect_error_json 403 PERMISSION_DENIED
api DELETE "$SPANNER_URL/v1/$BOB_BACKUP"
expect_status 200

section "an instance with backups cannot be deleted; without them it can"
api DELETE "$SPANNER_URL/v1/$INST"
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "backup" "the refusal says why"
api GET "$SPANNER_URL/v1/$INST/backups"
expect_json '.backups | length > 0' true
for b in $(jq -r '.backups[].name' <<<"$BODY"); do
    api DELETE "$SPANNER_URL/v1/$b"
    expect_status 200
done
api DELETE "$SPANNER_URL/v1/$INST"
expect_status 200
api DELETE "$SPANNER_URL/v1/$P/instances/inst2"
expect_status 200
api POST "$SPANNER_URL/v1/$P/instances" \
    '{"instanceId":"inst2","instance":{"config":"'"$P"'/instanceConfigs/regional-us-central1","displayName":"Restores","nodeCount":1}}'
expect_status 200
wait_op "$(jq -r .name <<<"$BODY")"
api POST "$SPANNER_URL/v1/$P/instances/inst2:getIamPolicy" '{}'
expect_json '.bindings // [] | length' 0 # a deleted instance's policy goes with it

section "organization policies: CMEK required for Spanner, then keys only from other-project"
# Policies on the project, set through the control plane's Org Policy API v2; each create
# is refused before anything starts, with Google's FAILED_PRECONDITION naming the constraint.
ORG="$CONTROL_URL/v2/$P/policies"
I2="$P/instances/inst2"
api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=policy-key" '{"purpose":"ENCRYPT_DECRYPT"}'
expect_status 200
POLICY_KEY="$RING/cryptoKeys/policy-key"
new_db() { # new_db ID [KEY]
    local encryption=""
    [[ -n "${2:-}" ]] && encryption=",\"encryptionConfig\":{\"kmsKeyName\":\"$2\"}"
    api POST "$SPANNER_URL/v1/$I2/databases" "{\"createStatement\":\"CREATE DATABASE \`$1\`\"$encryption}"
}
refused_by() { # refused_by CONSTRAINT: the last call was refused by that constraint
    expect_error_json 400 FAILED_PRECONDITION
    expect_contains "$BODY" "constraints/$1" "the refusal names constraints/$1"
}
api POST "$ORG" "{\"name\":\"$P/policies/gcp.restrictNonCmekServices\",\"spec\":{\"rules\":[{\"values\":{\"deniedValues\":[\"spanner.googleapis.com\"]}}]}}"
expect_status 200
new_db plain
refused_by gcp.restrictNonCmekServices
if (( HAVE_GCLOUD )); then
    gcloud_as "$API_PRINCIPAL" spanner databases create plain --instance=inst2 >/dev/null 2>"$TEST_TMP/err"
    expect_eq 1 $? "gcloud spanner databases create without a key fails"
    expect_contains "$(cat "$TEST_TMP/err")" "gcp.restrictNonCmekServices" "gcloud shows the constraint"
fi
new_db keyed "$POLICY_KEY"
expect_status 200
wait_op "$(jq -r .name <<<"$BODY")"
EXPIRE=$(emulator_time '+2 days')
api POST "$SPANNER_URL/v1/$I2/backups?backupId=pb-plain&encryptionConfig.encryptionType=GOOGLE_DEFAULT_ENCRYPTION" \
    "{\"database\":\"$I2/databases/keyed\",\"expireTime\":\"$EXPIRE\"}"
refused_by gcp.restrictNonCmekServices
api POST "$SPANNER_URL/v1/$I2/backups?backupId=pb-keyed" "{\"database\":\"$I2/databases/keyed\",\"expireTime\":\"$EXPIRE\"}"
expect_status 200 # USE_DATABASE_ENCRYPTION: the database's key
wait_op "$(jq -r .name <<<"$BODY")"
api POST "$SPANNER_URL/v1/$I2/backups:copy" \
    "{\"backupId\":\"pb-copy\",\"sourceBackup\":\"$I2/backups/pb-keyed\",\"expireTime\":\"$EXPIRE\",\"encryptionConfig\":{\"encryptionType\":\"GOOGLE_DEFAULT_ENCRYPTION\"}}"
refused_by gcp.restrictNonCmekServices
api POST "$SPANNER_URL/v1/$I2/databases:restore" \
    "{\"databaseId\":\"restored-plain\",\"backup\":\"$I2/backups/pb-keyed\",\"encryptionConfig\":{\"encryptionType\":\"GOOGLE_DEFAULT_ENCRYPTION\"}}"
refused_by gcp.restrictNonCmekServices
api POST "$ORG" "{\"name\":\"$P/policies/gcp.restrictCmekCryptoKeyProjects\",\"spec\":{\"rules\":[{\"values\":{\"allowedValues\":[\"under:projects/other-project\"]}}]}}"
expect_status 200
new_db keyed2 "$POLICY_KEY"
refused_by gcp.restrictCmekCryptoKeyProjects
api POST "$SPANNER_URL/v1/$I2/backups?backupId=pb-keyed2" "{\"database\":\"$I2/databases/keyed\",\"expireTime\":\"$EXPIRE\"}"
refused_by gcp.restrictCmekCryptoKeyProjects # the database's key is of spanner-project
api POST "$SPANNER_URL/v1/$I2/databases:restore" \
    "{\"databaseId\":\"restored-keyed\",\"backup\":\"$I2/backups/pb-keyed\"}"
refused_by gcp.restrictCmekCryptoKeyProjects # the backup's key by default
for constraint in gcp.restrictNonCmekServices gcp.restrictCmekCryptoKeyProjects; do
    api DELETE "$ORG/$constraint"
    expect_status 200
done
new_db plain
expect_status 200
wait_op "$(jq -r .name <<<"$BODY")"
expect_json .response.state READY
api GET "$SPANNER_URL/v1/$I2/backups"
for b in $(jq -r '.backups[]?.name' <<<"$BODY"); do
    api DELETE "$SPANNER_URL/v1/$b"
    expect_status 200
done

finish
