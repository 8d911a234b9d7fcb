#!/usr/bin/env bash
# test_spanner_change_streams: the DDL of change streams in a CMEK database, through gcloud
# and REST: a database created with one (extraStatements), gcloud ddl update (CREATE, ALTER
# SET FOR, SET OPTIONS, DROP) and ddl describe in Google's emulator's form, Spanner's
# refusals (a key column listed, a bad retention period, dropping a listed table or column),
# the four INFORMATION_SCHEMA views through gcloud execute-sql, a change stream query
# refused by name, and the change streams still there after a restart of the stack.
source "$(dirname "$0")/lib.sh"

P=projects/stream-project
DATA="$TEST_TMP/data"
mkdir -p "$DATA"
start_persistent
setup_gcloud stream-project
INST="$P/instances/cs-inst"
DB="$INST/databases/shop"
KEY="$P/locations/us-central1/keyRings/r/cryptoKeys/k"
S="$SPANNER_URL/v1"

section "a CMEK database created with a change stream"
regional_keys "$P" us-central1
api POST "$S/$P/instances" "{\"instanceId\":\"cs-inst\",\"instance\":{\"config\":\"$P/instanceConfigs/regional-us-central1\",\"displayName\":\"Streams\",\"nodeCount\":1}}"
expect_status 200
DDL='["CREATE TABLE Orders (Id INT64 NOT NULL, Item STRING(MAX), Price NUMERIC) PRIMARY KEY (Id)",
      "CREATE TABLE Audit (Id INT64 NOT NULL, Note STRING(MAX)) PRIMARY KEY (Id)",
      "CREATE CHANGE STREAM Everything FOR ALL"]'
api POST "$S/$INST/databases" "{\"createStatement\":\"CREATE DATABASE shop\",\"extraStatements\":$DDL,\"encryptionConfig\":{\"kmsKeyName\":\"$KEY\"}}"
expect_status 200
api GET "$S/$DB/ddl"
expect_eq '"CREATE CHANGE STREAM Everything FOR ALL"' "$(jq -c '.statements[-1]' <<<"$BODY")" \
    "getDdl lists the change stream after the tables"

section "a key column cannot be listed; an unknown table is named"
api PATCH "$S/$DB/ddl" '{"statements":["CREATE CHANGE STREAM Bad FOR Orders(Id)"]}'
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "should not list the primary key column Id of Table Orders" "Spanner's message"
api PATCH "$S/$DB/ddl" '{"statements":["CREATE CHANGE STREAM Bad FOR Nope"]}'
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "Change Stream Bad cannot track Nope" "the missing table is named"

if (( HAVE_GCLOUD )); then
    G=(--instance=cs-inst)
    section "gcloud: ddl update and describe"
    gcloud spanner databases ddl update shop "${G[@]}" \
        --ddl="CREATE CHANGE STREAM OrderPrices FOR Orders(Price), Audit OPTIONS (retention_period = '36h', value_capture_type = 'NEW_VALUES')" \
        >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "ddl update CREATE CHANGE STREAM $(cat "$TEST_TMP/err")"
    gcloud spanner databases ddl update shop "${G[@]}" \
        --ddl="ALTER CHANGE STREAM OrderPrices SET OPTIONS (retention_period = '7d', exclude_delete = true)" \
        >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "ddl update ALTER CHANGE STREAM SET OPTIONS $(cat "$TEST_TMP/err")"
    OUT=$(gcloud spanner databases ddl describe shop "${G[@]}" 2>&1)
    expect_contains "$OUT" "CREATE CHANGE STREAM OrderPrices FOR Orders(Price), Audit OPTIONS ( retention_period = '7d', value_capture_type = 'NEW_VALUES', exclude_delete = true )" \
        "ddl describe shows the stream, its options kept and merged"

    section "gcloud: what a change stream lists cannot be dropped"
    OUT=$(gcloud spanner databases ddl update shop "${G[@]}" --ddl="ALTER TABLE Orders DROP COLUMN Price" 2>&1)
    expect_contains "$OUT" "Column Orders.Price is tracked by 1 Change Stream: OrderPrices" \
        "gcloud prints Spanner's refusal"
    OUT=$(gcloud spanner databases ddl update shop "${G[@]}" --ddl="DROP TABLE Audit" 2>&1)
    expect_contains "$OUT" "Table Audit is tracked by 1 Change Stream: OrderPrices" "a listed table stays"
    OUT=$(gcloud spanner databases ddl update shop "${G[@]}" \
        --ddl="ALTER CHANGE STREAM OrderPrices SET OPTIONS (retention_period = '30d')" 2>&1)
    expect_contains "$OUT" "must be a value in the range [24h, 7d]" "a retention period too long"
    gcloud spanner databases ddl update shop "${G[@]}" \
        --ddl="ALTER CHANGE STREAM OrderPrices SET FOR Orders(Item)" >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "SET FOR replaces what it tracks $(cat "$TEST_TMP/err")"
    gcloud spanner databases ddl update shop "${G[@]}" \
        --ddl="ALTER TABLE Orders DROP COLUMN Price" >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "then the column no longer listed can be dropped $(cat "$TEST_TMP/err")"

    section "gcloud execute-sql: INFORMATION_SCHEMA, and a change stream query refused by name"
    OUT=$(gcloud spanner databases execute-sql shop "${G[@]}" --format='value(rows)' \
        --sql="SELECT CHANGE_STREAM_NAME, TABLE_NAME, COLUMN_NAME FROM INFORMATION_SCHEMA.CHANGE_STREAM_COLUMNS" 2>&1)
    expect_contains "$OUT" "OrderPrices" "CHANGE_STREAM_COLUMNS lists the column"
    expect_contains "$OUT" "Item" "... Orders.Item"
    OUT=$(gcloud spanner databases execute-sql shop "${G[@]}" --format=json \
        --sql="SELECT CHANGE_STREAM_NAME, \`ALL\` FROM INFORMATION_SCHEMA.CHANGE_STREAMS ORDER BY 1" 2>&1)
    expect_eq '[["Everything",true],["OrderPrices",false]]' "$(jq -c .rows <<<"$OUT" 2>&1)" \
        "CHANGE_STREAMS: both, one FOR ALL"
    OUT=$(gcloud spanner databases execute-sql shop "${G[@]}" \
        --sql="SELECT ChangeRecord FROM READ_Everything(start_timestamp => CURRENT_TIMESTAMP(), end_timestamp => NULL, partition_token => NULL, heartbeat_milliseconds => 10000)" 2>&1)
    expect_contains "$OUT" "Reading a change stream with READ_Everything(...) is not supported by this emulator" \
        "reading a change stream is UNIMPLEMENTED, by name"
fi

section "REST: the options view, and DROP CHANGE STREAM"
api POST "$S/$DB/sessions" '{}'
expect_status 200
SESSION=$(jq -r .name <<<"$BODY")
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT CHANGE_STREAM_NAME, OPTION_NAME, OPTION_TYPE, OPTION_VALUE FROM INFORMATION_SCHEMA.CHANGE_STREAM_OPTIONS ORDER BY 2"}'
expect_status 200
if (( HAVE_GCLOUD )); then
    expect_eq '[["OrderPrices","exclude_delete","BOOL","TRUE"],["OrderPrices","retention_period","STRING","7d"],["OrderPrices","value_capture_type","STRING","NEW_VALUES"]]' \
        "$(jq -c .rows <<<"$BODY")" "CHANGE_STREAM_OPTIONS"
fi
api PATCH "$S/$DB/ddl" '{"statements":["CREATE CHANGE STREAM Temporary FOR Audit(Note)","DROP CHANGE STREAM Temporary"]}'
expect_status 200
api PATCH "$S/$DB/ddl" '{"statements":["DROP CHANGE STREAM Temporary"]}'
expect_error_json 404 NOT_FOUND
expect_contains "$BODY" "Change Stream not found: Temporary" "a dropped stream is gone"

section "after a restart of the stack, the change streams are there"
api GET "$S/$DB/ddl"
BEFORE=$(jq -c .statements <<<"$BODY")
stop_stack
start_persistent
api GET "$S/$DB/ddl"
expect_status 200
expect_eq "$BEFORE" "$(jq -c .statements <<<"$BODY")" "getDdl is the same after the restart"
api PATCH "$S/$DB/ddl" '{"statements":["CREATE CHANGE STREAM Everything FOR ALL"]}'
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "Duplicate name in schema: Everything" "the restored stream holds its name"

finish
