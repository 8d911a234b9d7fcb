#!/usr/bin/env bash
# test_spanner_gcloud: Spanner's admin plane driven by the real gcloud CLI, then by curl
# for Google's error JSON, then across a stop and start of the stack.
#
# Instance configs, instances (create, describe, list, update, delete: long-running
# operations gcloud polls), databases with DDL (create --ddl, ddl describe in Spanner's
# canonical formatting, ddl update, list, describe, delete), encryption config stored and
# echoed, and instances, databases and DDL surviving a restart (persistent data directory).
# full-run-only: a gcloud walkthrough; `FAST=1 tests/integ/run-all` (scripts/test-all --fast) skips it
source "$(dirname "$0")/lib.sh"

P=projects/spanner-project
DATA="$TEST_TMP/data"
mkdir -p "$DATA"
start_persistent
setup_gcloud spanner-project
INST="$P/instances/test-inst"
DB="$INST/databases/orders"

section "KMS keys for the CMEK databases (key ring r in us-central1)"
api POST "$KMS_URL/v1/$P/locations/us-central1/keyRings?keyRingId=r" '{}'
expect_status 200
for key in k gcloud-key; do
    api POST "$KMS_URL/v1/$P/locations/us-central1/keyRings/r/cryptoKeys?cryptoKeyId=$key" '{"purpose":"ENCRYPT_DECRYPT"}'
    expect_status 200
done

section "instance configs over REST"
api GET "$SPANNER_URL/v1/$P/instanceConfigs"
expect_status 200
expect_json '[.instanceConfigs[].name | select(endswith("/regional-us-central1"))] | length' 1
expect_json '.instanceConfigs[] | select(.name | endswith("/nam3")) | [.replicas[].location] | join(",")' \
    "us-east4,us-east1,us-central1"
expect_json '.instanceConfigs[] | select(.name | endswith("/emulator-config")) | .replicas[0].type' READ_WRITE
api GET "$SPANNER_URL/v1/$P/instanceConfigs/eur3"
expect_status 200
expect_json '[.replicas[] | select(.type == "WITNESS") | .location] | join(",")' europe-north1
api GET "$SPANNER_URL/v1/$P/instanceConfigs/regional-nowhere1"
expect_error_json 404 NOT_FOUND

if (( HAVE_GCLOUD )); then
    section "gcloud: instance configs and instances"
    configs=$(gcloud spanner instance-configs list --format='value(name)')
    expect_contains "$configs" "regional-europe-west1" "instance-configs list shows regional configs"
    expect_contains "$configs" "nam6" "and multi-region ones"
    gcloud spanner instances create test-inst --config=regional-us-central1 \
        --description="Test Instance" --nodes=1 >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "instances create (polls its operation) $(cat "$TEST_TMP/err")"
    expect_eq "Test Instance READY 1 1000" \
        "$(gcloud spanner instances describe test-inst --format='value(displayName,state,nodeCount,processingUnits)' | tr '\t' ' ')" \
        "instances describe"
    expect_contains "$(gcloud spanner instances list --format='value(name)')" "test-inst" "instances list"
    out=$(gcloud spanner instances create test-inst --config=regional-us-central1 \
        --description="Test Instance" --nodes=1 2>&1)
    expect_contains "$out" "Instance already exists: $INST" "creating an instance twice"
    gcloud spanner instances update test-inst --description="Renamed" --nodes=3 >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "instances update $(cat "$TEST_TMP/err")"
    expect_eq "Renamed 3 3000" \
        "$(gcloud spanner instances describe test-inst --format='value(displayName,nodeCount,processingUnits)' | tr '\t' ' ')" \
        "the update is seen"

    section "gcloud: databases and DDL"
    gcloud spanner databases create orders --instance=test-inst \
        --ddl='CREATE TABLE Singers (SingerId INT64 NOT NULL, Name STRING(MAX), Ts TIMESTAMP OPTIONS (allow_commit_timestamp=true)) PRIMARY KEY (SingerId)' \
        >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "databases create --ddl $(cat "$TEST_TMP/err")"
    ddl=$(gcloud spanner databases ddl describe orders --instance=test-inst)
    expect_eq "$(printf 'CREATE TABLE Singers (\n  SingerId INT64 NOT NULL,\n  Name STRING(MAX),\n  Ts TIMESTAMP OPTIONS (\n    allow_commit_timestamp = true\n  ),\n) PRIMARY KEY(SingerId);')" \
        "$ddl" "ddl describe prints the canonical DDL"
    gcloud spanner databases ddl update orders --instance=test-inst \
        --ddl='CREATE INDEX SingersByName ON Singers(Name); ALTER TABLE Singers ADD COLUMN Age INT64' \
        >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "ddl update $(cat "$TEST_TMP/err")"
    ddl=$(gcloud spanner databases ddl describe orders --instance=test-inst)
    expect_contains "$ddl" "  Age INT64," "the new column is in the DDL"
    expect_contains "$ddl" "CREATE INDEX SingersByName ON Singers(Name);" "and the index"
    out=$(gcloud spanner databases ddl update orders --instance=test-inst \
        --ddl='ALTER TABLE NoSuchTable ADD COLUMN X INT64' 2>&1)
    expect_eq 1 "$(( $? != 0 ))" "ddl update on a missing table fails"
    expect_contains "$out" "NoSuchTable" "and says which table"
    out=$(gcloud spanner databases roles list --database=orders --instance=test-inst \
        --format='value(name)' 2>&1)
    expect_eq "public spanner_info_reader spanner_sys_reader" \
        "$(tr '\n' ' ' <<<"$out" | sed 's|[^ ]*/databaseRoles/||g; s/ $//')" \
        "roles list: the three system roles of every database"
    gcloud spanner databases create other --instance=test-inst >/dev/null 2>&1
    expect_eq "orders,other" \
        "$(gcloud spanner databases list --instance=test-inst --format='value(name.basename())' | paste -sd,)" \
        "databases list"
    expect_eq "READY GOOGLE_STANDARD_SQL" \
        "$(gcloud spanner databases describe orders --instance=test-inst --format='value(state,databaseDialect)' | tr '\t' ' ')" \
        "databases describe"
    gcloud spanner databases delete other --instance=test-inst --quiet >/dev/null 2>&1
    expect_eq "orders" \
        "$(gcloud spanner databases list --instance=test-inst --format='value(name.basename())' | paste -sd,)" \
        "databases delete"
    KEY="$P/locations/us-central1/keyRings/r/cryptoKeys/gcloud-key"
    gcloud spanner databases create keyed --instance=test-inst --kms-key="$KEY" >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "databases create --kms-key $(cat "$TEST_TMP/err")"
    expect_eq "$KEY" \
        "$(gcloud spanner databases describe keyed --instance=test-inst --format='value(encryptionConfig.kmsKeyName)')" \
        "describe echoes the key"
    out=$(gcloud spanner databases create misplaced --instance=test-inst \
        --kms-key="$P/locations/europe-west1/keyRings/r/cryptoKeys/k" 2>&1)
    expect_contains "$out" "INVALID_ARGUMENT" "a key outside the config's region is refused"
    gcloud spanner databases delete keyed --instance=test-inst --quiet >/dev/null 2>&1
    ops=$(gcloud spanner operations list --instance=test-inst --database=orders --format='value(name.basename(),done)' 2>&1)
    expect_eq 2 "$(grep -c True <<<"$ops")" "operations list: the create and the ddl update, done ($ops)"
    started=$(date +%s)
    out=$(gcloud spanner databases create pg --instance=test-inst --database-dialect=POSTGRESQL 2>&1)
    expect_contains "$out" "UNIMPLEMENTED" "a PostgreSQL database is refused clearly"
    (( $(date +%s) - started < 15 ))
    expect_eq 0 $? "and at once (UNIMPLEMENTED is HTTP 400: gcloud retries a 501 for half a minute)"

    gcloud spanner databases update orders --instance=test-inst --enable-drop-protection >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "databases update --enable-drop-protection $(cat "$TEST_TMP/err")"
    expect_eq True \
        "$(gcloud spanner databases describe orders --instance=test-inst --format='value(enableDropProtection)')" \
        "describe shows the protection"
    out=$(gcloud spanner databases delete orders --instance=test-inst --quiet 2>&1)
    expect_contains "$out" "FAILED_PRECONDITION" "a protected database cannot be dropped"
    expect_contains "$out" "enable_drop_protection" "and the error says why"
    out=$(gcloud spanner instances delete test-inst --quiet 2>&1)
    expect_contains "$out" "contains databases with drop protection enabled" "nor its instance deleted"
    out=$(gcloud spanner databases update orders --instance=test-inst --kms-keys="$P/locations/us-central1/keyRings/r/cryptoKeys/k" 2>&1)
    expect_contains "$out" "UNIMPLEMENTED" "changing the key by update is refused clearly"
else
    api POST "$SPANNER_URL/v1/$P/instances" \
        '{"instanceId":"test-inst","instance":{"config":"'"$P"'/instanceConfigs/regional-us-central1","displayName":"Renamed","nodeCount":3}}'
    api POST "$SPANNER_URL/v1/$INST/databases" \
        '{"createStatement":"CREATE DATABASE `orders`","extraStatements":["CREATE TABLE Singers (SingerId INT64 NOT NULL, Age INT64) PRIMARY KEY (SingerId)"]}'
fi

section "REST: operations, encryption config, errors"
api POST "$SPANNER_URL/v1/$INST/databases" \
    "{\"createStatement\":\"CREATE DATABASE \`secure\`\",\"encryptionConfig\":{\"kmsKeyName\":\"$P/locations/us-central1/keyRings/r/cryptoKeys/k\"}}"
expect_status 200
expect_json '.metadata["@type"]' "type.googleapis.com/google.spanner.admin.database.v1.CreateDatabaseMetadata"
expect_json '.name | startswith("'"$INST"'/databases/secure/operations/")' true
OP=$(jq -r .name <<<"$BODY")
wait_for 20 "the create operation to finish" \
    bash -c "curl -s '$SPANNER_URL/v1/$OP' | jq -e .done >/dev/null"
api GET "$SPANNER_URL/v1/$OP"
expect_json '.response["@type"]' "type.googleapis.com/google.spanner.admin.database.v1.Database"
expect_json .response.state READY
api GET "$SPANNER_URL/v1/$INST/databases/secure"
expect_json .encryptionConfig.kmsKeyName "$P/locations/us-central1/keyRings/r/cryptoKeys/k"
expect_json '.encryptionInfo[0].encryptionType' CUSTOMER_MANAGED_ENCRYPTION
expect_json '.encryptionInfo[0].kmsKeyVersion' "$P/locations/us-central1/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1"
api GET "$CONTROL_URL/emulator/v1/protectedResources"
expect_contains "$BODY" "$INST/databases/secure" "the database is a protected resource of the CMEK engine"
api POST "$SPANNER_URL/v1/$INST/databases" \
    "{\"createStatement\":\"CREATE DATABASE \`nokey\`\",\"encryptionConfig\":{\"kmsKeyName\":\"$P/locations/us-central1/keyRings/r/cryptoKeys/missing\"}}"
expect_error_json 404 NOT_FOUND
expect_contains "$BODY" "cryptoKeys/missing" "a key KMS does not know fails the creation, naming it"
api GET "$SPANNER_URL/v1/$INST/databases/nokey"
expect_error_json 404 NOT_FOUND # and nothing was created
api GET "$SPANNER_URL/v1/$INST/databases/secure/databaseRoles?pageSize=2"
expect_json '[.databaseRoles[].name] | join(",")' \
    "$INST/databases/secure/databaseRoles/public,$INST/databases/secure/databaseRoles/spanner_info_reader"
expect_json '.nextPageToken | length > 0' true
api GET "$SPANNER_URL/v1/$INST/databases/nokey/databaseRoles"
expect_error_json 404 NOT_FOUND
api POST "$SPANNER_URL/v1/$INST/databases" \
    "{\"createStatement\":\"CREATE DATABASE \`wrongplace\`\",\"encryptionConfig\":{\"kmsKeyName\":\"$P/locations/europe-west1/keyRings/r/cryptoKeys/k\"}}"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "europe-west1" "the key location rule names the key's location"
expect_contains "$BODY" "us-central1" "and the config's"
api PATCH "$SPANNER_URL/v1/$INST/databases/secure/ddl" \
    '{"statements":["CREATE TABLE T (K INT64) PRIMARY KEY (K)"],"operationId":"my_ddl"}'
expect_status 200
expect_json .name "$INST/databases/secure/operations/my_ddl"
expect_json '.metadata["@type"]' "type.googleapis.com/google.spanner.admin.database.v1.UpdateDatabaseDdlMetadata"
expect_json '.metadata.statements | length' 1
expect_json '.metadata.commitTimestamps | length' 1
api GET "$SPANNER_URL/v1/$INST/databases/secure/operations"
expect_json '[.operations[].name] | map(select(endswith("/my_ddl"))) | length' 1
api PATCH "$SPANNER_URL/v1/$INST/databases/secure/ddl" '{"statements":["CREATE TABLE U (K INT64) PRIMARY KEY (K)"],"operationId":"my_ddl"}'
expect_error_json 409 ALREADY_EXISTS
api PATCH "$SPANNER_URL/v1/$INST/databases/secure/ddl" '{"statements":["CREATE TABLE U (K INT64) PRIMARY KEY (K)"],"operationId":"bad id!"}'
expect_error_json 400 INVALID_ARGUMENT
# operation_id is "[a-z][a-z0-9_]*" (UpdateDatabaseDdlRequest); "" is none, one is made
api PATCH "$SPANNER_URL/v1/$INST/databases/secure/ddl" '{"statements":["CREATE TABLE U (K INT64) PRIMARY KEY (K)"],"operationId":"1st"}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" '1st' "the refusal names the operation ID"
api PATCH "$SPANNER_URL/v1/$INST/databases/secure/ddl" '{"statements":["CREATE TABLE U (K INT64) PRIMARY KEY (K)"],"operationId":"With_Upper"}'
expect_error_json 400 INVALID_ARGUMENT
# a statement no DDL starts with is a syntax error, not a missing feature
api PATCH "$SPANNER_URL/v1/$INST/databases/secure/ddl" '{"statements":["garbage"]}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" 'Syntax error' "an unknown statement is a syntax error"
# session labels follow Google's label rules
api POST "$SPANNER_URL/v1/$INST/databases/secure/sessions" '{"session":{"labels":{"Env":"dev"}}}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" 'Env' "the refusal names the label key"
api POST "$SPANNER_URL/v1/$INST/databases/secure/sessions:batchCreate" '{"sessionCount":2,"sessionTemplate":{"labels":{"env":"DEV"}}}'
expect_error_json 400 INVALID_ARGUMENT
api GET "$SPANNER_URL/v1/$INST/databases/secure/ddl"
expect_json '.statements | length' 1 # the refused calls changed nothing
api PATCH "$SPANNER_URL/v1/$INST/databases/secure/ddl" '{"statements":["CREATE TABLE T2 ("]}'
expect_error_json 400 INVALID_ARGUMENT
api GET "$SPANNER_URL/v1/$P/instances/missing"
expect_error_json 404 NOT_FOUND
expect_json .error.message "Instance not found: $P/instances/missing"
api GET "$SPANNER_URL/v1/$INST/databases/missing"
expect_error_json 404 NOT_FOUND
expect_json .error.message "Database not found: $INST/databases/missing"
api POST "$SPANNER_URL/v1/$P/instances/missing/databases" '{"createStatement":"CREATE DATABASE `x1`"}'
expect_error_json 404 NOT_FOUND
api POST "$SPANNER_URL/v1/$INST/databases" '{"createStatement":"CREATE DATABASE `secure`"}'
expect_error_json 409 ALREADY_EXISTS
api POST "$SPANNER_URL/v1/$INST/databases" '{"createStatement":"CREATE DATABASE `Bad Name`"}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$SPANNER_URL/v1/$INST/databases" '{"createStatement":"CREATE TABLE x"}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$SPANNER_URL/v1/$INST/databases" '{"createStatement":"CREATE DATABASE bare-dash"}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" 'CREATE DATABASE `bare-dash`' "a hyphenated ID must be backquoted"
api POST "$SPANNER_URL/v1/$INST/databases" '{"createStatement":"CREATE DATABASE `no-ddl`"}'
expect_status 200
api GET "$SPANNER_URL/v1/$INST/databases/no-ddl/ddl"
expect_status 200
expect_json 'has("statements")' false # proto3 JSON leaves the empty list out
api POST "$SPANNER_URL/v1/$P/instances" '{"instanceId":"Bad_Id","instance":{"config":"'"$P"'/instanceConfigs/emulator-config","displayName":"Bad one"}}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$SPANNER_URL/v1/$P/instances" '{"instanceId":"no-config","instance":{"config":"'"$P"'/instanceConfigs/mars1","displayName":"No config"}}'
expect_error_json 404 NOT_FOUND
api POST "$SPANNER_URL/v1/$P/instances" '{"instanceId":"x1","instance":{"bogus":1}}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" 'Unknown name \"bogus\"' "unknown fields are refused by the schema"
api POST "$SPANNER_URL/v1/$INST:getIamPolicy" '{}'
expect_status 200
api POST "$SPANNER_URL/v1/$P/instances/missing:getIamPolicy" '{}'
expect_error_json 404 NOT_FOUND
api PATCH "$SPANNER_URL/v1/$DB?updateMask=enable_drop_protection" '{"enableDropProtection":true}'
expect_status 200
expect_json '.metadata["@type"]' type.googleapis.com/google.spanner.admin.database.v1.UpdateDatabaseMetadata
expect_json .metadata.request.updateMask enable_drop_protection
expect_json .metadata.progress.progressPercent 100
UPDATE_OP=$(jq -r .name <<<"$BODY")
op_done() { [[ $(curl -s "$SPANNER_URL/v1/$UPDATE_OP" | jq -r .done) == true ]]; }
wait_for 10 "the UpdateDatabase operation" op_done
api GET "$SPANNER_URL/v1/$UPDATE_OP"
expect_json .response.enableDropProtection true
expect_json '.response["@type"]' type.googleapis.com/google.spanner.admin.database.v1.Database
api DELETE "$SPANNER_URL/v1/$DB"
expect_error_json 400 FAILED_PRECONDITION
api PATCH "$SPANNER_URL/v1/$DB?updateMask=state" '{"state":"READY"}'
expect_error_json 400 INVALID_ARGUMENT
api PATCH "$SPANNER_URL/v1/$DB" '{"enableDropProtection":false}'
expect_error_json 400 INVALID_ARGUMENT # no mask
api PATCH "$SPANNER_URL/v1/$INST/databases/missing?updateMask=enable_drop_protection" '{"enableDropProtection":true}'
expect_error_json 404 NOT_FOUND
api POST "$SPANNER_URL/v1/$P/instances" '{"instanceId":"auto","instance":{"config":"'"$P"'/instanceConfigs/nam3","displayName":"Autoscaled","autoscalingConfig":{}}}'
expect_error_json 400 UNIMPLEMENTED

section "instances, databases and DDL survive a stop and start"
before=$(curl -s "$SPANNER_URL/v1/$DB/ddl")
stop_stack
start_persistent
api GET "$SPANNER_URL/v1/$INST"
expect_status 200
expect_json .displayName Renamed
expect_json .nodeCount 3
api GET "$SPANNER_URL/v1/$DB/ddl"
expect_eq "$before" "$BODY" "the DDL after the restart"
expect_contains "$BODY" "Age INT64" "with the column added by ddl update"
api GET "$SPANNER_URL/v1/$INST/databases/secure"
expect_json .encryptionConfig.kmsKeyName "$P/locations/us-central1/keyRings/r/cryptoKeys/k"
api GET "$SPANNER_URL/v1/$INST/databases/secure/operations/my_ddl"
expect_json .done true
api GET "$SPANNER_URL/v1/$DB"
expect_json .enableDropProtection true

section "delete"
api DELETE "$SPANNER_URL/v1/$INST"
expect_error_json 400 FAILED_PRECONDITION # orders is protected
api PATCH "$SPANNER_URL/v1/$DB?updateMask=enableDropProtection" '{"enableDropProtection":false}'
expect_status 200
api GET "$SPANNER_URL/v1/$DB"
expect_json .enableDropProtection null
if (( HAVE_GCLOUD )); then
    gcloud spanner instances delete test-inst --quiet >/dev/null 2>&1
    expect_eq 0 $? "instances delete"
else
    api DELETE "$SPANNER_URL/v1/$INST"
fi
api GET "$SPANNER_URL/v1/$INST"
expect_error_json 404 NOT_FOUND
api GET "$SPANNER_URL/v1/$DB"
expect_error_json 404 NOT_FOUND # an instance's databases go with it
api GET "$CONTROL_URL/emulator/v1/protectedResources"
expect_eq "" "$(grep -o "$INST/databases/secure" <<<"$BODY")" "and their keys are forgotten by the CMEK engine"

stop_stack
finish
