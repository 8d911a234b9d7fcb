#!/usr/bin/env bash
# test_spanner_readme: the README's Spanner walkthrough ("A walkthrough with gcloud (Spanner
# with a customer-managed key)"), extracted from README.md and run verbatim with the real
# gcloud against a fresh stack: an instance, a database under a customer-managed key, a DDL
# update, rows inserted, a query and a DML statement, a backup under another key, a restore,
# the database's key disabled (FAILED_PRECONDITION through gcloud) and enabled again.
#
# The block runs as one bash script with an ERR trap that records each command that fails:
# exactly one may, the query made while the key is disabled. Its output is then checked
# line by line, and the resulting resources through the REST API.
# full-run-only: a gcloud walkthrough; `FAST=1 tests/integ/run-all` (scripts/test-all --fast) skips it
source "$(dirname "$0")/lib.sh"

start_stack
setup_gcloud my-project # the walkthrough's project
if [[ $HAVE_GCLOUD != 1 ]]; then finish; fi

section "the walkthrough's block in README.md"
HEADING='## A walkthrough with gcloud (Spanner with a customer-managed key)'
# readme_block: the first ```sh block after HEADING, without its fences.
readme_block() {
    awk -v heading="$HEADING" '
        $0 == heading { found = 1; next }
        found && !inside && /^```sh$/ { inside = 1; next }
        inside && /^```$/ { exit }
        inside { print }' "$REPO_DIR/README.md"
}
BLOCK="$TEST_TMP/walkthrough.sh"
readme_block >"$BLOCK"
expect_eq 1 "$(( $(wc -l <"$BLOCK") > 20 ))" "README.md has the Spanner walkthrough block ($(wc -l <"$BLOCK") lines)"
if [[ ! -s "$BLOCK" ]]; then finish; fi
# port-base independent: gcloud finds the services through its configuration, curl
# through CONTROL, whose default is the block's only address
expect_eq "CONTROL=\${CONTROL:-http://127.0.0.1:8790}" "$(grep -o '^CONTROL=[^ ]*' "$BLOCK")" "CONTROL is overridable"
expect_eq 1 "$(grep -c '127\.0\.0\.1\|localhost\|:87[0-9][0-9]' "$BLOCK")" "no other address in the block"

section "run verbatim (CONTROL is the test stack's control plane)"
mkdir -p "$TEST_TMP/walk"
FAILED="$TEST_TMP/failed-commands"
: >"$FAILED"
# The runner: each failing command of the block is written to $FAILED; the block goes on.
cat >"$TEST_TMP/run-block.sh" <<'EOF'
trap 'printf "%s\n" "$BASH_COMMAND" >>"$FAILED"' ERR
source "$1"
EOF
started=$(now_ms)
(cd "$TEST_TMP/walk" && CONTROL="$CONTROL_URL" FAILED="$FAILED" \
    timeout 300 bash "$TEST_TMP/run-block.sh" "$BLOCK" >"$TEST_TMP/out" 2>"$TEST_TMP/err")
echo "  the walkthrough took $(( ($(now_ms) - started) / 1000 )) s"
out=$(cat "$TEST_TMP/out")
err=$(cat "$TEST_TMP/err")
# gcloud's tables, with runs of spaces squeezed: "1 apple 3"
table=$(tr -s ' ' <<<"$out")

section "only the query under the disabled key failed"
expect_eq "gcloud spanner databases execute-sql orders --instance=shop --sql='SELECT COUNT(*) AS n FROM Orders'" \
    "$(cat "$FAILED")" "the commands that failed"
expect_contains "$err" \
    "ERROR: (gcloud.spanner.databases.execute-sql) FAILED_PRECONDITION: KMS key required by the Spanner resource is not accessible." \
    "gcloud prints Spanner's FAILED_PRECONDITION"
if [[ -s "$FAILED" && "$(wc -l <"$FAILED")" != 1 ]]; then
    echo "  stderr of the walkthrough:" >&2
    tail -n 30 "$TEST_TMP/err" >&2
fi

section "what the walkthrough printed"
expect_contains "$err" "Creating instance..." "instances create waited for its operation"
expect_contains "$err" "Creating database..." "databases create waited for its operation"
expect_contains "$err" "Schema updating..." "ddl update waited for its operation"
expect_contains "$err" "Restoring backup orders-backup to database orders-restored..." "restore waited"
expect_eq 2 "$(grep -c "^commitTimestamp: '" <<<"$out")" "two rows inserts, each with its commit timestamp"
expect_contains "$out" "Statement modified 1 row" "the DML statement"
expect_contains "$table" $'OrderId Item Quantity\n1 apple 3\n2 pear 6' "the query sees the inserts and the update"
expect_contains "$out" \
    "projects/my-project/locations/us-central1/keyRings/spanner-ring/cryptoKeys/backup-key/cryptoKeyVersions/1" \
    "the backup is pinned to backup-key's version 1"
expect_contains "$out" $'total\n9' "the restored database has the rows as backed up"
expect_contains "$out" "state: DISABLED" "the key version was disabled"
expect_contains "$out" '"offset":"300s"' "the first clock advance (the next key check)"
expect_contains "$out" '"offset":"600s"' "the second clock advance"
expect_contains "$out" "CREATE INDEX OrdersByItem ON Orders(Item);" "ddl describe answers under the disabled key"
expect_eq $'n\n2' "$(tail -n 2 <<<"$out")" "re-enabled: the last query counts both rows"

section "the resources, through the API"
P=projects/my-project
INST="$P/instances/shop"
KEYS="$P/locations/us-central1/keyRings/spanner-ring/cryptoKeys"
api GET "$SPANNER_URL/v1/$INST/databases/orders"
expect_status 200
expect_json .encryptionConfig.kmsKeyName "$KEYS/db-key"
expect_json '.encryptionInfo[0].kmsKeyVersion' "$KEYS/db-key/cryptoKeyVersions/1"
api GET "$SPANNER_URL/v1/$INST/backups/orders-backup"
expect_json .state READY
expect_json .encryptionInfo.encryptionType CUSTOMER_MANAGED_ENCRYPTION
api GET "$SPANNER_URL/v1/$INST/databases/orders-restored"
expect_json .restoreInfo.backupInfo.backup "$INST/backups/orders-backup"
expect_json .restoreInfo.backupInfo.sourceDatabase "$INST/databases/orders"
api GET "$CONTROL_URL/emulator/v1/protectedResources?service=spanner"
expect_json "[.protectedResources[] | select(.name == \"$INST/databases/orders\") | .state] | join(\",\")" ACCESSIBLE
expect_healthy "$SPANNER_URL"
finish
