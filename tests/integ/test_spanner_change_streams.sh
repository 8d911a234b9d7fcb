#!/usr/bin/env bash
# test_spanner_change_streams: the DDL of change streams in a CMEK database, through gcloud
# and REST: a database created with one (extraStatements), gcloud ddl update (CREATE, ALTER
# SET FOR, SET OPTIONS, DROP) and ddl describe in Google's emulator's form, Spanner's
# refusals (a key column listed, a bad retention period, dropping a listed table or column),
# the four INFORMATION_SCHEMA views through gcloud execute-sql, and the change streams still
# there after a restart of the stack. Reading them: the partition query's token, then the
# data change records of mutations, DML, partitioned DML, cascaded deletes and a row
# deletion policy's deletes (a system transaction), each stream with its columns, value
# capture type and exclusions; a live query that receives a commit as it happens and
# heartbeats; a transaction excluding itself; Spanner's errors (executeSql, a bad token, a
# start past the retention); the CMEK gate ending a live query when the key is disabled;
# records kept across a restart.
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
    expect_contains "$OUT" "Change stream queries are not supported for the ExecuteSql API" \
        "gcloud execute-sql (ExecuteSql) is refused with Spanner's message"
else
    section "REST: the column the gcloud section drops (what follows expects it gone)"
    api PATCH "$S/$DB/ddl" '{"statements":["ALTER TABLE Orders DROP COLUMN Price"]}'
    expect_status 200
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

section "reading: the partition, then the records of mutations, DML and partitioned DML"
api POST "$S/$SESSION:commit" '{"singleUseTransaction":{"readWrite":{}},"mutations":[
  {"insert":{"table":"Orders","columns":["Id","Item"],"values":[["1","tea"],["2","jam"]]}},
  {"insert":{"table":"Audit","columns":["Id","Note"],"values":[["1","first"]]}}]}'
expect_status 200
START=$(jq -r .commitTimestamp <<<"$BODY")
dml() {
    api POST "$S/$SESSION:executeSql" "$(jq -nc --arg q "$1" '{sql: $q, transaction: {begin: {readWrite: {}}}}')"
    api POST "$S/$SESSION:commit" "{\"transactionId\":\"$(jq -r .metadata.transaction.id <<<"$BODY")\"}"
    expect_status 200
}
dml "UPDATE Orders SET Item = 'green tea' WHERE Id = 1"
dml "UPDATE Audit SET Note = 'second' WHERE Id = 1"
dml "DELETE FROM Orders WHERE Id = 2"
api POST "$S/$SESSION:executeSql" '{"sql":"UPDATE Audit SET Note = CONCAT(Note, \"!\") WHERE TRUE","transaction":{"begin":{"partitionedDml":{}}}}'
expect_status 200
END=$(jq -r .commitTimestamp <<<"$(curl -s -X POST "$S/$SESSION:commit" -H 'Content-Type: application/json' -d '{"singleUseTransaction":{"readWrite":{}},"mutations":[]}')")
# change_query STREAM START END TOKEN HEARTBEAT: a READ_ query with typed parameters
change_query() {
    jq -nc --arg q "SELECT ChangeRecord FROM READ_$1(start_timestamp => @s, end_timestamp => @e, partition_token => @t, heartbeat_milliseconds => @h)" \
        --arg s "$2" --arg e "$3" --arg t "$4" --arg h "$5" \
        '{sql: $q, params: {s: $s, e: (if $e == "" then null else $e end), t: (if $t == "" then null else $t end), h: $h},
          paramTypes: {s: {code: "TIMESTAMP"}, e: {code: "TIMESTAMP"}, t: {code: "STRING"}, h: {code: "INT64"}}}'
}
# records STREAM: its data change records from START to END, "MOD table keys new old" each
records() {
    api POST "$S/$SESSION:executeStreamingSql" "$(change_query "$1" "$START" "$END" "" 1000)"
    local token
    token=$(jq -r '.[0].values[0][0][2][0][2][0][0]' <<<"$BODY")
    api POST "$S/$SESSION:executeStreamingSql" "$(change_query "$1" "$START" "$END" "$token" 1000)"
    jq -c '[.[].values[]?[0][0][] | .[7] as $m | .[4] as $t | .[6][] | "\($m) \($t) \(.[0]) \(.[1]) \(.[2])"]' <<<"$BODY"
}
api POST "$S/$SESSION:executeStreamingSql" "$(change_query Everything "$START" "$END" "" 1000)"
expect_status 200
expect_eq '"00000000"' "$(jq -c '.[0].values[0][0][2][0][1]' <<<"$BODY")" "the first query answers one child partition"
expect_eq '"ChangeRecord"' "$(jq -c '.[0].metadata.rowType.fields[0].name' <<<"$BODY")" "its rowType: ChangeRecord"
expect_eq '["INSERT Orders {\"Id\":\"1\"} {\"Item\":\"tea\"} {}","INSERT Orders {\"Id\":\"2\"} {\"Item\":\"jam\"} {}","INSERT Audit {\"Id\":\"1\"} {\"Note\":\"first\"} {}","UPDATE Orders {\"Id\":\"1\"} {\"Item\":\"green tea\"} {\"Item\":\"tea\"}","UPDATE Audit {\"Id\":\"1\"} {\"Note\":\"second\"} {\"Note\":\"first\"}","DELETE Orders {\"Id\":\"2\"} {} {\"Item\":\"jam\"}","UPDATE Audit {\"Id\":\"1\"} {\"Note\":\"second!\"} {\"Note\":\"second\"}"]' \
    "$(records Everything)" "FOR ALL: every write, old and new values (OLD_AND_NEW_VALUES)"
if (( HAVE_GCLOUD )); then
    expect_eq '["INSERT Orders {\"Id\":\"1\"} {\"Item\":\"tea\"} {}","INSERT Orders {\"Id\":\"2\"} {\"Item\":\"jam\"} {}","UPDATE Orders {\"Id\":\"1\"} {\"Item\":\"green tea\"} {}"]' \
        "$(records OrderPrices)" "FOR Orders(Item), exclude_delete, NEW_VALUES: only those"
fi
api POST "$S/$SESSION:executeStreamingSql" "$(change_query Everything "$START" "$END" "" 1000)"
TOKEN=$(jq -r '.[0].values[0][0][2][0][2][0][0]' <<<"$BODY")
api POST "$S/$SESSION:executeStreamingSql" "$(change_query Everything "$START" "$END" "$TOKEN" 1000)"
expect_eq '[["00000000",false,"2"],["00000001",true,"2"]]' \
    "$(jq -c '[.[0].values[0][0][0][0], .[0].values[1][0][0][0]] | map([.[1], .[3], .[9]])' <<<"$BODY")" \
    "one record per table in a transaction: sequence, last, count"

section "Spanner's errors"
api POST "$S/$SESSION:executeSql" "$(change_query Everything "$START" "$END" "" 1000)"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "Change stream queries are not supported for the ExecuteSql API" "ExecuteSql"
api POST "$S/$SESSION:executeStreamingSql" "$(change_query Everything "$START" "$END" "bm90IG91cnM=" 1000)"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "Specified partition_token is invalid" "a token of another stream"
api POST "$S/$SESSION:executeStreamingSql" "$(change_query Everything "2020-01-01T00:00:00Z" "" "" 1000)"
expect_error_json 400 OUT_OF_RANGE
expect_contains "$BODY" "start_timestamp is too far in the past" "a start past the retention period"
api POST "$S/$SESSION:executeStreamingSql" "$(change_query Everything "$START" "" "" 10)"
expect_error_json 400 OUT_OF_RANGE
expect_contains "$BODY" "heartbeat_milliseconds must be within min 100 and max 300000" "the heartbeat's range"
api POST "$S/$SESSION:executeStreamingSql" "$(change_query Nope "$START" "" "" 1000)"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "Table-valued function not found: READ_Nope" "an unknown stream"

section "excludeTxnFromChangeStreams: left out of the streams that allow it; transaction tags"
api PATCH "$S/$DB/ddl" '{"statements":["CREATE CHANGE STREAM Allowing FOR Audit OPTIONS (allow_txn_exclusion = true)"]}'
expect_status 200
api POST "$S/$SESSION:commit" '{"singleUseTransaction":{"readWrite":{},"excludeTxnFromChangeStreams":true},"mutations":[{"insert":{"table":"Audit","columns":["Id","Note"],"values":[["7","quiet"]]}}]}'
expect_status 200
SAVED_START=$START SAVED_END=$END
START=$(jq -r .commitTimestamp <<<"$BODY") END=$(jq -r .commitTimestamp <<<"$BODY")
expect_eq '["INSERT Audit {\"Id\":\"7\"} {\"Note\":\"quiet\"} {}"]' "$(records Everything)" \
    "a stream that does not allow exclusion records it"
expect_eq '[]' "$(records Allowing)" "allow_txn_exclusion = true: left out"
api POST "$S/$SESSION:batchWrite" '{"excludeTxnFromChangeStreams":true,"mutationGroups":[{"mutations":[{"insert":{"table":"Audit","columns":["Id","Note"],"values":[["9","batch"]]}}]}]}'
expect_status 200
START=$(jq -r '.[0].commitTimestamp' <<<"$BODY") END=$(jq -r '.[0].commitTimestamp' <<<"$BODY")
expect_eq '["INSERT Audit {\"Id\":\"9\"} {\"Note\":\"batch\"} {}"]' "$(records Everything)" \
    "batchWrite: a stream that does not allow exclusion records it"
expect_eq '[]' "$(records Allowing)" "batchWrite with excludeTxnFromChangeStreams: left out of the other"
api POST "$S/$SESSION:beginTransaction" '{"options":{"readWrite":{}},"requestOptions":{"transactionTag":"__orders-service"}}'
expect_status 200
TXN=$(jq -r .id <<<"$BODY")
api POST "$S/$SESSION:commit" "{\"transactionId\":\"$TXN\",\"mutations\":[{\"insert\":{\"table\":\"Audit\",\"columns\":[\"Id\",\"Note\"],\"values\":[[\"8\",\"tagged\"]]}}]}"
expect_status 200
START=$(jq -r .commitTimestamp <<<"$BODY") END=$(jq -r .commitTimestamp <<<"$BODY")
api POST "$S/$SESSION:executeStreamingSql" "$(change_query Everything "$START" "" "" 1000)"
TOKEN_NOW=$(jq -r '.[0].values[0][0][2][0][2][0][0]' <<<"$BODY")
api POST "$S/$SESSION:executeStreamingSql" "$(change_query Everything "$START" "$END" "$TOKEN_NOW" 1000)"
expect_eq '["orders-service"]' "$(jq -c '[.[].values[]?[0][0][][11]]' <<<"$BODY")" \
    "the transaction's tag (beginTransaction's requestOptions), leading underscores removed"
START=$SAVED_START END=$SAVED_END
api POST "$S/$SESSION:beginTransaction" '{"options":{"readOnly":{},"excludeTxnFromChangeStreams":true}}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "only for read-write and partitioned DML" "a read-only transaction cannot ask it"

section "a live query: a commit arrives as it happens, heartbeats between"
NOW=$(curl -s "$CONTROL_URL/emulator/v1/clock" | jq -r .now)
curl -s -N -X POST "$S/$SESSION:executeStreamingSql" -H 'Content-Type: application/json' \
    -d "$(change_query Everything "$NOW" "" "$TOKEN" 500)" >"$TEST_TMP/live" &
LIVE=$!
sleep 1
api POST "$S/$SESSION:commit" '{"singleUseTransaction":{"readWrite":{}},"mutations":[{"insert":{"table":"Orders","columns":["Id","Item"],"values":[["3","live"]]}}]}'
expect_status 200
live_has() { grep -q '"{\\"Item\\":\\"live\\"}"' "$TEST_TMP/live"; }
wait_for 10 "the live query to receive the commit" live_has
expect_contains "$(cat "$TEST_TMP/live")" '"heartbeat_record"' "the stream is open (its metadata came)"
sleep 1.2
grep -q '\[\[\[\],\[\["' "$TEST_TMP/live" # a row [[[], [[timestamp]], []]]
expect_eq 0 $? "heartbeats while nothing is committed"

section "the CMEK gate ends a live query when the key is disabled"
api PATCH "$KMS_URL/v1/$KEY/cryptoKeyVersions/1?updateMask=state" '{"state":"DISABLED"}'
expect_status 200
api POST "$CONTROL_URL/emulator/v1/keyChecks:run" '{}'
expect_status 200
live_ended() { ! kill -0 "$LIVE" 2>/dev/null; }
wait_for 10 "the live query to end" live_ended
expect_contains "$(tail -c 400 "$TEST_TMP/live")" "KMS key required by the Spanner resource is not accessible." \
    "its last element is the CMEK error"
api POST "$S/$SESSION:executeStreamingSql" "$(change_query Everything "$START" "$END" "$TOKEN" 1000)"
expect_error_json 400 FAILED_PRECONDITION
api PATCH "$KMS_URL/v1/$KEY/cryptoKeyVersions/1?updateMask=state" '{"state":"ENABLED"}'
api POST "$CONTROL_URL/emulator/v1/keyChecks:run" '{}'
api POST "$S/$SESSION:executeStreamingSql" "$(change_query Everything "$START" "$END" "$TOKEN" 1000)"
expect_status 200

section "a row deletion policy's deletes: a system transaction, left out by exclude_ttl_deletes"
api PATCH "$S/$DB/ddl" '{"statements":["CREATE TABLE Expiring (Id INT64 NOT NULL, Happened TIMESTAMP) PRIMARY KEY (Id), ROW DELETION POLICY (OLDER_THAN(Happened, INTERVAL 1 DAY))","CREATE CHANGE STREAM NoTtl FOR Expiring OPTIONS (exclude_ttl_deletes = true)"]}'
expect_status 200
api POST "$S/$SESSION:executeSql" '{"transaction":{"begin":{"readWrite":{}}},"sql":"INSERT INTO Expiring (Id, Happened) VALUES (1, TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 25 HOUR))"}'
api POST "$S/$SESSION:commit" "{\"transactionId\":\"$(jq -r .metadata.transaction.id <<<"$BODY")\"}"
expect_status 200
START=$(jq -r .commitTimestamp <<<"$BODY")
api POST "$CONTROL_URL/emulator/v1/clock:advance" '{"seconds": 61}'
expect_status 200
api POST "$S/$DB/sessions" '{}'
SESSION=$(jq -r .name <<<"$BODY")
expired() {
    api POST "$S/$SESSION:executeSql" '{"sql":"SELECT COUNT(*) FROM Expiring"}'
    [[ "$(jq -c .rows <<<"$BODY")" == '[["0"]]' ]]
}
wait_for 10 "the row deletion policy to delete the row" expired
END=$(curl -s "$CONTROL_URL/emulator/v1/clock" | jq -r .now)
api POST "$S/$SESSION:executeStreamingSql" "$(change_query Everything "$START" "$END" "$TOKEN" 1000)"
expect_eq '["DELETE true","INSERT false"]' \
    "$(jq -c '[.[].values[]?[0][0][] | "\(.[7]) \(.[12])"] | sort' <<<"$BODY")" \
    "the policy's delete is a system transaction (is_system_transaction)"
expect_eq '["INSERT Expiring"]' "$(records NoTtl | jq -c 'map(split(" ")[0:2] | join(" "))')" \
    "exclude_ttl_deletes: NoTtl has the insert only"

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
api POST "$S/$DB/sessions" '{}'
SESSION=$(jq -r .name <<<"$BODY")
expect_eq '["INSERT Expiring"]' "$(records NoTtl | jq -c 'map(split(" ")[0:2] | join(" "))')" \
    "the records survived the restart"

section "a change stream dropped and made again starts afresh"
api PATCH "$S/$DB/ddl" '{"statements":["DROP CHANGE STREAM NoTtl","CREATE CHANGE STREAM NoTtl FOR Expiring"]}'
expect_status 200
expect_eq '[]' "$(records NoTtl)" "the old stream's records went with it"

section "no plaintext on disk"
found=$(grep -rl --binary-files=text -e "green tea" -e "second!" "$DATA/spanner" 2>/dev/null | head -3)
expect_eq "" "$found" "no row data or change record in plaintext under $DATA/spanner"

finish
