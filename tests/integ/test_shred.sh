#!/usr/bin/env bash
# test_shred: erased secrets leave no copy in any file of the data directory.
#
#   - a KMS key version is destroyed and the clock advanced 30 days: its sealed key
#     material was in metadata.db (or its WAL) before, and is in no file afterwards;
#   - a CMEK topic nobody reads is deleted: its wrapped KEK and DEK (the engine's row)
#     were on disk before, and are in no file afterwards.
#
# The bytes are read with the sqlite3 shell from a copy of metadata.db taken before the
# erasure, then searched for (as hex) in every file under the data directory: the
# database, its -wal and -shm, the logs, the topic stores.
source "$(dirname "$0")/lib.sh"

command -v sqlite3 >/dev/null || { echo "$TEST_NAME: sqlite3 is required (scripts/install-deps --dev)" >&2; exit 1; }

start_stack
P=projects/shred-project
RING=$P/locations/global/keyRings/ring
api GET "$CONTROL_URL/emulator/v1/status"
DATA=$(jq -r .dataDir <<<"$BODY")
expect_eq 1 "$([[ -d $DATA ]] && echo 1)" "the data directory is known ($DATA)"

# sql QUERY: runs QUERY on a consistent copy of metadata.db, made by SQLite's backup from a
# read-only connection (the live database is only read). Copying the files with cp raced
# with checkpoints: an old database beside a log the checkpoint had just emptied lost whole
# tables (seen in CI).
sql() {
    rm -rf "$TEST_TMP/copy" && mkdir -p "$TEST_TMP/copy"
    sqlite3 "file:$DATA/metadata.db?mode=ro" ".backup '$TEST_TMP/copy/metadata.db'"
    sqlite3 "$TEST_TMP/copy/metadata.db" "$1"
}
# files_holding HEX: the files under the data directory whose bytes contain HEX. Write-ahead
# logs are read before their databases: a checkpoint running meanwhile copies the log into
# the database before it truncates the log, so a page is seen in one or the other.
files_holding() {
    local file
    while IFS= read -r -d '' file; do
        if od -An -v -tx1 "$file" | tr -d ' \n' | grep -q "$1"; then echo "$file"; fi
    done < <(find "$DATA" -type f -name '*-wal' -print0; find "$DATA" -type f ! -name '*-wal' -print0)
}

section "fixtures: a key ring, a key to destroy, a key for a topic"
api POST "$KMS_URL/v1/$P/locations/global/keyRings?keyRingId=ring" '{}'
expect_status 200
for key in doomed topic-key; do
    api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=$key" '{"purpose":"ENCRYPT_DECRYPT"}'
    expect_status 200
done
api PUT "$PUBSUB_URL/v1/$P/topics/shredded" "{\"kmsKeyName\":\"$RING/cryptoKeys/topic-key\"}"
expect_status 200
api POST "$PUBSUB_URL/v1/$P/topics/shredded:publish" '{"messages":[{"data":"c2VjcmV0"}]}'
expect_status 200

section "the secrets are on disk before"
MATERIAL=$(sql "SELECT lower(hex(sealed_material)) FROM kms_key_versions
                WHERE key_name = '$RING/cryptoKeys/doomed' AND version = 1")
expect_eq 1 "$(( ${#MATERIAL} >= 64 ))" "the sealed material of version 1 was read (${#MATERIAL} hex digits)"
WRAPPED_KEK=$(sql "SELECT lower(hex(wrapped_kek)) FROM cmek_resources WHERE resource = '$P/topics/shredded'")
WRAPPED_DEK=$(sql "SELECT lower(hex(wrapped_dek)) FROM cmek_resources WHERE resource = '$P/topics/shredded'")
expect_eq 1 "$(( ${#WRAPPED_KEK} >= 64 && ${#WRAPPED_DEK} >= 64 ))" "the topic's wrapped keys were read"
expect_contains "$(files_holding "$MATERIAL")" "metadata.db" "the sealed material is in a file before"
expect_contains "$(files_holding "$WRAPPED_KEK")" "metadata.db" "the wrapped KEK is in a file before"

section "destroy the version, 30 days pass: its material is in no file"
api POST "$KMS_URL/v1/$RING/cryptoKeys/doomed/cryptoKeyVersions/1:destroy" '{}'
expect_status 200
expect_json .state DESTROY_SCHEDULED
api POST "$CONTROL_URL/emulator/v1/clock:advance" '{"seconds": 2592001}'
expect_status 200
api GET "$KMS_URL/v1/$RING/cryptoKeys/doomed/cryptoKeyVersions/1"
expect_json .state DESTROYED
expect_eq "" "$(sql "SELECT hex(sealed_material) FROM kms_key_versions
                     WHERE key_name = '$RING/cryptoKeys/doomed' AND version = 1")" "the row holds no material"
expect_eq "" "$(files_holding "$MATERIAL")" "files still holding the destroyed material"

section "delete the topic (no subscription reads it): its wrapped keys are in no file"
api DELETE "$PUBSUB_URL/v1/$P/topics/shredded"
expect_status 200
expect_eq "" "$(files_holding "$WRAPPED_KEK")" "files still holding the shredded topic's wrapped KEK"
expect_eq "" "$(files_holding "$WRAPPED_DEK")" "files still holding the shredded topic's wrapped DEK"

section "the stack keeps working"
api POST "$KMS_URL/v1/$RING/cryptoKeys/topic-key:encrypt" '{"plaintext":"aGVsbG8="}'
expect_status 200
expect_healthy "$KMS_URL"
expect_healthy "$PUBSUB_URL"
finish
