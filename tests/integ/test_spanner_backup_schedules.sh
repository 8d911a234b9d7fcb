#!/usr/bin/env bash
# test_spanner_backup_schedules: Spanner backup schedules with CMEK, through gcloud and curl.
#
# A database under its own key, with rows; two schedules made with gcloud (one encrypting
# as the database, one under another key), described, listed and updated with gcloud;
# Spanner's refusals (a crontab that is not one, full backups less than 12 hours apart, a
# retention outside 6 hours to 366 days, an incremental schedule on a Standard edition
# instance, no backup type, a duplicate, an unknown database or update_mask path). The
# emulator clock moved past the scheduled times: each schedule makes its backup with its
# CreateBackup operation, named by the schedule, under the key it asks for, restorable.
# The database's key disabled at the scheduled time: no backup; enabled again: backups
# again. The project deleted at the scheduled time: no backup; undeleted: backups again.
# Backups expire after the schedule's retention; schedules survive a restart;
# deleting one or dropping its database removes it; no row in clear on disk.
# full-run-only: most of its time is gcloud; `FAST=1 tests/integ/run-all` (scripts/test-all --fast) skips it
source "$(dirname "$0")/lib.sh"

DATA="$TEST_TMP/data"
mkdir -p "$DATA"
start_persistent
setup_gcloud schedule-project
P=projects/schedule-project
INST="$P/instances/inst"
DB="$INST/databases/ledger"
RING="$P/locations/us-central1/keyRings/r"
DB_KEY="$RING/cryptoKeys/db-key"
BACKUP_KEY="$RING/cryptoKeys/backup-key"
S="$SPANNER_URL/v1"

wait_op() {
    wait_for 30 "operation $1" bash -c 'curl -s "$1" | jq -e .done >/dev/null' _ "$S/$1"
    api GET "$S/$1"
}
advance() { api POST "$CONTROL_URL/emulator/v1/clock:advance" "{\"seconds\": $1}"; }
key_checks() { api POST "$CONTROL_URL/emulator/v1/keyChecks:run" '{}'; }
set_version() { # KEY VERSION STATE
    api PATCH "$KMS_URL/v1/$1/cryptoKeyVersions/$2?updateMask=state" "{\"state\":\"$3\"}"
    expect_status 200
}
# advance_to HH:MM: moves the emulator clock to the next HH:MM UTC after now.
advance_to() {
    local now target seconds
    now=$(curl -s "$CONTROL_URL/emulator/v1/clock" | jq -r .now)
    target=$(date -u -d "$(date -u -d "$now" +%F) $1" +%s)
    seconds=$((target - $(date -u -d "$now" +%s)))
    ((seconds <= 0)) && seconds=$((seconds + 86400))
    advance "$seconds"
    expect_status 200
}
# backups_of SCHEDULE_ID: the names of the backups the schedule made, sorted.
backups_of() {
    curl -s "$S/$INST/backups" |
        jq -c --arg s "$DB/backupSchedules/$1" '[.backups[]? | select(.backupSchedules[0] == $s) | .name] | sort'
}
# wait_backups SCHEDULE_ID COUNT: until the schedule made COUNT backups, all READY.
wait_backups() {
    wait_for 30 "$2 READY backups of $1" bash -c \
        'curl -s "$1" | jq -e --arg s "$2" --argjson n "$3" "[.backups[]? | select(.backupSchedules[0] == \$s and .state == \"READY\")] | length == \$n" >/dev/null' \
        _ "$S/$INST/backups" "$DB/backupSchedules/$1" "$2" ||
        _fail "$2 READY backups of $1: $(backups_of "$1")"
}

section "keys, an instance, a database under db-key with rows"
# the schedules below run at 01:00 and 02:30 UTC and the checks move the clock to 03:00:
# start from just after midnight, whatever the time of day the test runs at
advance_to 00:05
api POST "$KMS_URL/v1/$P/locations/us-central1/keyRings?keyRingId=r" '{}'
for key in db-key backup-key; do
    api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=$key" '{"purpose":"ENCRYPT_DECRYPT"}'
    expect_status 200
done
api POST "$S/$P/instances" \
    '{"instanceId":"inst","instance":{"config":"'"$P"'/instanceConfigs/regional-us-central1","displayName":"Schedules","nodeCount":1}}'
expect_status 200
wait_op "$(jq -r .name <<<"$BODY")"
api POST "$S/$INST/databases" \
    "{\"createStatement\":\"CREATE DATABASE ledger\",\"extraStatements\":[\"CREATE TABLE Entries (Id INT64 NOT NULL, Note STRING(MAX)) PRIMARY KEY (Id)\"],\"encryptionConfig\":{\"kmsKeyName\":\"$DB_KEY\"}}"
expect_status 200
wait_op "$(jq -r .name <<<"$BODY")"
api POST "$S/$DB/sessions" '{}'
SESSION=$(jq -r .name <<<"$BODY")
api POST "$S/$SESSION:commit" '{"singleUseTransaction":{"readWrite":{}},"mutations":[{"insert":{"table":"Entries","columns":["Id","Note"],"values":[["1","SECRET-SCHEDULED-ROW"]]}}]}'
expect_status 200

section "schedules made, described, listed and updated with gcloud"
G=(--instance=inst --database=ledger)
if ((HAVE_GCLOUD)); then
    gcloud spanner backup-schedules create nightly "${G[@]}" --cron="0 2 * * *" \
        --retention-duration=2d --backup-type=full-backup >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "gcloud backup-schedules create nightly $(cat "$TEST_TMP/err")"
    gcloud spanner backup-schedules create keyed "${G[@]}" --cron="30 2 * * *" \
        --retention-duration=1d --backup-type=full-backup \
        --encryption-type=customer-managed-encryption --kms-key="$BACKUP_KEY" >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "gcloud backup-schedules create keyed (CMEK) $(cat "$TEST_TMP/err")"
    out=$(gcloud spanner backup-schedules describe keyed "${G[@]}" --format=json 2>"$TEST_TMP/err")
    expect_eq "$BACKUP_KEY" "$(jq -r .encryptionConfig.kmsKeyName <<<"$out")" "gcloud describe: the schedule's key"
    expect_eq "30 2 * * *:UTC:86400s" "$(jq -r '[.spec.cronSpec.text, .spec.cronSpec.timeZone, .retentionDuration] | join(":")' <<<"$out")" \
        "gcloud describe: crontab in UTC, retention as a duration"
    out=$(gcloud spanner backup-schedules list "${G[@]}" --format='value(name.basename())' 2>"$TEST_TMP/err")
    expect_eq "keyed nightly" "$(echo $out)" "gcloud list: both schedules"
    gcloud spanner backup-schedules update nightly "${G[@]}" --cron="0 1 * * *" \
        --retention-duration=3d >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "gcloud backup-schedules update $(cat "$TEST_TMP/err")"
    out=$(gcloud spanner backup-schedules update nightly "${G[@]}" --cron="0 */6 * * *" 2>&1)
    expect_contains "$out" "at least 12 hours apart" "gcloud update: full backups 6 hours apart refused"
else
    api POST "$S/$DB/backupSchedules?backupScheduleId=nightly" \
        '{"spec":{"cronSpec":{"text":"0 1 * * *"}},"retentionDuration":"259200s","fullBackupSpec":{}}'
    expect_status 200
    api POST "$S/$DB/backupSchedules?backupScheduleId=keyed" \
        "{\"spec\":{\"cronSpec\":{\"text\":\"30 2 * * *\"}},\"retentionDuration\":\"86400s\",\"fullBackupSpec\":{},\"encryptionConfig\":{\"encryptionType\":\"CUSTOMER_MANAGED_ENCRYPTION\",\"kmsKeyName\":\"$BACKUP_KEY\"}}"
    expect_status 200
fi
api GET "$S/$DB/backupSchedules/nightly"
expect_status 200
expect_eq "0 1 * * *:259200s" "$(jq -r '[.spec.cronSpec.text, .retentionDuration] | join(":")' <<<"$BODY")" "the update took"
expect_eq "false" "$(jq 'has("_doneUntil")' <<<"$BODY")" "no emulator bookkeeping in the resource"

section "Spanner's refusals"
refuse() { # ID BODY CODE STATUS TEXT
    api POST "$S/$DB/backupSchedules?backupScheduleId=$1" "$2"
    expect_error_json "$3" "$4"
    expect_contains "$BODY" "$5" "refused: $5"
}
FULL='"retentionDuration":"86400s","fullBackupSpec":{}'
refuse bad '{"spec":{"cronSpec":{"text":"0 2 * *"}},'"$FULL"'}' 400 INVALID_ARGUMENT "a crontab has five fields"
refuse bad '{"spec":{"cronSpec":{"text":"0 25 * * *"}},'"$FULL"'}' 400 INVALID_ARGUMENT 'its hour field \"25\"'
refuse bad '{"spec":{"cronSpec":{"text":"0 2,8 * * *"}},'"$FULL"'}' 400 INVALID_ARGUMENT "times 6 hours apart"
refuse bad '{"spec":{"cronSpec":{"text":"0 0 31 2 *"}},'"$FULL"'}' 400 INVALID_ARGUMENT "names no time at all"
refuse bad '{"spec":{"cronSpec":{"text":"0 2 * * *"}},"retentionDuration":"3600s","fullBackupSpec":{}}' 400 INVALID_ARGUMENT "at least 6 hours and at most 366 days"
refuse bad '{"spec":{"cronSpec":{"text":"0 2 * * *"}},"retentionDuration":"86400s"}' 400 INVALID_ARGUMENT "full_backup_spec or incremental_backup_spec"
refuse bad '{"spec":{"cronSpec":{"text":"0 */4 * * *"}},"retentionDuration":"86400s","incrementalBackupSpec":{}}' 400 FAILED_PRECONDITION "STANDARD edition"
refuse bad '{"spec":{"cronSpec":{"text":"0 2 * * *"}},"retentionDuration":"86400s","fullBackupSpec":{},"encryptionConfig":{"encryptionType":"GOOGLE_DEFAULT_ENCRYPTION","kmsKeyName":"'"$BACKUP_KEY"'"}}' 400 INVALID_ARGUMENT "kms_key_name must not be set"
refuse Bad '{"spec":{"cronSpec":{"text":"0 2 * * *"}},'"$FULL"'}' 400 INVALID_ARGUMENT "backup schedule ID"
refuse nightly '{"spec":{"cronSpec":{"text":"0 2 * * *"}},'"$FULL"'}' 409 ALREADY_EXISTS "Backup schedule already exists"
section "an instance's edition: incremental schedules on Enterprise only; unbuilt settings refused"
edition() { # EDITION: UpdateInstance's field mask "edition"
    api PATCH "$S/$INST" "{\"instance\":{\"edition\":\"$1\"},\"fieldMask\":\"edition\"}"
}
edition ENTERPRISE
expect_status 200
api GET "$S/$INST"
expect_json .edition ENTERPRISE
api POST "$S/$DB/backupSchedules?backupScheduleId=inc" '{"spec":{"cronSpec":{"text":"0 */4 * * *"}},"retentionDuration":"86400s","incrementalBackupSpec":{}}'
expect_status 200
edition STANDARD
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "makes incremental backups" "no downgrade while an incremental schedule is there"
api DELETE "$S/$DB/backupSchedules/inc"
expect_status 200
edition STANDARD
expect_status 200
api GET "$S/$INST"
expect_json .edition STANDARD
CONFIG="$P/instanceConfigs/regional-us-central1"
for setting in '"instanceType":"FREE_INSTANCE"' '"defaultBackupScheduleType":"AUTOMATIC"' '"ssdCache":"c1"'; do
    api POST "$S/$P/instances" "{\"instanceId\":\"other\",\"instance\":{\"config\":\"$CONFIG\",\"displayName\":\"Other one\",$setting}}"
    expect_error_json 400 UNIMPLEMENTED
done
if ((HAVE_GCLOUD)); then
    gcloud spanner instances create ent-inst --config=regional-us-central1 --description="Ent inst" \
        --nodes=1 --edition=ENTERPRISE_PLUS --default-backup-schedule-type=NONE >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "gcloud instances create --edition=ENTERPRISE_PLUS $(cat "$TEST_TMP/err")"
    expect_eq "ENTERPRISE_PLUS NONE" "$(gcloud spanner instances describe ent-inst \
        --format='value(edition,defaultBackupScheduleType)' | tr '\t' ' ')" "gcloud describe: edition and schedule type kept"
    out=$(gcloud spanner instances create free-inst --config=regional-us-central1 \
        --description="Free inst" --instance-type=free-instance 2>&1)
    expect_contains "$out" "UNIMPLEMENTED: Free trial instances" "gcloud: a free instance is refused, not made provisioned"
    gcloud spanner instances delete ent-inst --quiet >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "gcloud instances delete $(cat "$TEST_TMP/err")"
fi

api POST "$S/$INST/databases/nope/backupSchedules?backupScheduleId=s1" '{"spec":{"cronSpec":{"text":"0 2 * * *"}},'"$FULL"'}'
expect_error_json 404 NOT_FOUND
api PATCH "$S/$DB/backupSchedules/nightly?updateMask=fullBackupSpec" '{}'
expect_error_json 400 INVALID_ARGUMENT
api GET "$S/$DB/backupSchedules/nope"
expect_error_json 404 NOT_FOUND

section "the clock passes the scheduled times: a backup per schedule, under its key"
advance_to 03:00
wait_backups nightly 1
wait_backups keyed 1
NIGHTLY=$(backups_of nightly | jq -r '.[0]')
KEYED=$(backups_of keyed | jq -r '.[0]')
expect_contains "$NIGHTLY" "$INST/backups/nightly-" "the backup is named by its schedule"
api GET "$S/$NIGHTLY"
expect_contains "$(jq -r .encryptionInfo.kmsKeyVersion <<<"$BODY")" "$DB_KEY/cryptoKeyVersions/1" "nightly: under the database's key"
api GET "$S/$KEYED"
expect_contains "$(jq -r .encryptionInfo.kmsKeyVersion <<<"$BODY")" "$BACKUP_KEY/cryptoKeyVersions/1" "keyed: under the schedule's key"
api GET "$S/$INST/backupOperations"
expect_eq 2 "$(jq '[.operations[] | select(.metadata["@type"] | endswith("CreateBackupMetadata")) | select(.done)] | length' <<<"$BODY")" \
    "each backup has its finished CreateBackup operation"
api POST "$S/$INST/databases:restore" "{\"databaseId\":\"restored\",\"backup\":\"$KEYED\"}"
expect_status 200
wait_op "$(jq -r .name <<<"$BODY")"
api POST "$S/$INST/databases/restored/sessions" '{}'
api POST "$S/$(jq -r .name <<<"$BODY"):executeSql" '{"sql":"SELECT Note FROM Entries"}'
expect_eq "SECRET-SCHEDULED-ROW" "$(jq -r '.rows[0][0]' <<<"$BODY")" "the scheduled backup restores the rows"

section "the database's key disabled at the scheduled time: no backup; enabled: backups again"
set_version "$DB_KEY" 1 DISABLED
key_checks
advance_to 03:00
sleep 1
expect_eq 1 "$(backups_of nightly | jq length)" "no nightly backup while the key is disabled"
set_version "$DB_KEY" 1 ENABLED
key_checks
advance_to 03:00
wait_backups nightly 2
wait_backups keyed 1
expect_eq '[]' "$(curl -s "$S/$INST/backups" | jq -c --arg k "$KEYED" '[.backups[] | select(.name == $k)]')" \
    "the first keyed backup expired after its one-day retention"

section "the project deleted at the scheduled time: no backup; undeleted: backups again"
# a database without a key too: its backups need no KMS, so only the deletion stops them
api POST "$S/$INST/databases" '{"createStatement":"CREATE DATABASE plain"}'
expect_status 200
wait_op "$(jq -r .name <<<"$BODY")"
api POST "$S/$INST/databases/plain/backupSchedules?backupScheduleId=daily" \
    '{"spec":{"cronSpec":{"text":"0 1 * * *"}},"retentionDuration":"259200s","fullBackupSpec":{}}'
expect_status 200
api DELETE "$CONTROL_URL/v1/$P"
expect_status 200
advance_to 03:00
SKIPPED_DAY=$(date -u -d "$(curl -s "$CONTROL_URL/emulator/v1/clock" | jq -r .now)" +%Y%m%d)
sleep 1
api POST "$CONTROL_URL/v1/$P:undelete" '{}'
expect_status 200
# backups_made_on DAY: how many backups (of both schedules) are named by that day's run
backups_made_on() {
    curl -s "$S/$INST/backups" | jq --arg d "-$1-0100-" '[.backups[]? | select(.name | contains($d))] | length'
}
expect_eq 0 "$(backups_made_on "$SKIPPED_DAY")" "no backup of $SKIPPED_DAY, while the project was deleted"
advance_to 03:00
NEXT_DAY=$(date -u -d "$(curl -s "$CONTROL_URL/emulator/v1/clock" | jq -r .now)" +%Y%m%d)
wait_for 30 "the backups of $NEXT_DAY" bash -c \
    'curl -s "$1" | jq -e --arg d "-$2-0100-" "[.backups[]? | select(.name | contains(\$d)) | select(.state == \"READY\")] | length == 2" >/dev/null' \
    _ "$S/$INST/backups" "$NEXT_DAY"
expect_eq 0 $? "undeleted: both databases' backups of $NEXT_DAY"
api DELETE "$S/$INST/databases/plain"
expect_status 200

section "after a restart, schedules still run; delete and drop remove them"
stop_stack
start_persistent
api GET "$S/$DB/backupSchedules"
expect_eq "keyed nightly" "$(jq -r '[.backupSchedules[].name | split("/") | last] | join(" ")' <<<"$BODY")" "both schedules are back"
BEFORE=$(backups_of nightly)
advance_to 03:00
wait_for 30 "a new nightly backup" bash -c '[[ "$(curl -s "$1" | jq -c --arg s "$2" "[.backups[]? | select(.backupSchedules[0] == \$s and .state == \"READY\") | .name] | sort")" != "$3" ]]' \
    _ "$S/$INST/backups" "$DB/backupSchedules/nightly" "$BEFORE"
expect_eq 1 "$(jq -n --argjson a "$BEFORE" --argjson b "$(backups_of nightly)" '$b - $a | length')" \
    "the schedule made its backup after the restart"
expect_eq true "$(jq -n --argjson a "$BEFORE" --argjson b "$(backups_of nightly)" '$b - $a | .[0] | contains("-0100-")')" \
    "the new backup is named by its scheduled time, 01:00"
if ((HAVE_GCLOUD)); then
    gcloud spanner backup-schedules delete keyed "${G[@]}" >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "gcloud backup-schedules delete $(cat "$TEST_TMP/err")"
else
    api DELETE "$S/$DB/backupSchedules/keyed"
    expect_status 200
fi
api GET "$S/$DB/backupSchedules/keyed"
expect_error_json 404 NOT_FOUND
api DELETE "$S/$DB"
expect_status 200
api POST "$S/$INST/databases" '{"createStatement":"CREATE DATABASE ledger"}'
expect_status 200
wait_op "$(jq -r .name <<<"$BODY")"
api GET "$S/$DB/backupSchedules"
expect_eq 0 "$(jq '.backupSchedules | length' <<<"$BODY")" "a dropped database's schedules went with it"

section "no plaintext on disk"
found=$(grep -rl --binary-files=text -e "SECRET-SCHEDULED-ROW" "$DATA" 2>/dev/null | head -3)
expect_eq "" "$found" "no row data in plaintext under $DATA"

finish
