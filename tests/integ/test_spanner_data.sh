#!/usr/bin/env bash
# test_spanner_data: Spanner's data plane over REST (curl) and gcloud: sessions, queries
# and DML (executeSql, executeStreamingSql with resume tokens, executeBatchDml), reads by
# key set, range and index (read, streamingRead), transactions (begin, inline begin,
# commit with mutations and commit stats, rollback, ABORTED between two concurrent
# read-write transactions), Google's errors, updateDdl validated against the rows, the
# CMEK gate on every data call, durability across kill -9, and no plaintext on disk.
source "$(dirname "$0")/lib.sh"

P=projects/data-project
DATA="$TEST_TMP/data"
mkdir -p "$DATA"
start_persistent() {
    [[ -n "${PORT_BASE:-}" ]] || _export_urls "$(free_port_base)"
    "$BIN_DIR/emulator" --data-dir "$DATA" --port-base "$PORT_BASE" >>"$TEST_TMP/stack.log" 2>&1 &
    STACK_PID=$!
    wait_stack_healthy "$STACK_PID" "$CONTROL_URL" "$TEST_TMP/stack.log" ||
        { _fail "the stack did not start"; finish; }
}
start_persistent
INST="$P/instances/data-inst"
DB="$INST/databases/shop"
KEY="$P/locations/us-central1/keyRings/r/cryptoKeys/k"
S="$SPANNER_URL/v1"

section "a CMEK database with a schema"
api POST "$KMS_URL/v1/$P/locations/us-central1/keyRings?keyRingId=r" '{}'
api POST "$KMS_URL/v1/$P/locations/us-central1/keyRings/r/cryptoKeys?cryptoKeyId=k" '{"purpose":"ENCRYPT_DECRYPT"}'
expect_status 200
api POST "$S/$P/instances" "{\"instanceId\":\"data-inst\",\"instance\":{\"config\":\"$P/instanceConfigs/regional-us-central1\",\"displayName\":\"Data test\",\"nodeCount\":1}}"
expect_status 200
DDL='["CREATE TABLE Singers (SingerId INT64 NOT NULL, FirstName STRING(100), LastName STRING(100), Updated TIMESTAMP OPTIONS (allow_commit_timestamp = true)) PRIMARY KEY (SingerId)",
      "CREATE TABLE Albums (SingerId INT64 NOT NULL, AlbumId INT64 NOT NULL, Title STRING(MAX)) PRIMARY KEY (SingerId, AlbumId), INTERLEAVE IN PARENT Singers ON DELETE CASCADE",
      "CREATE INDEX AlbumsByTitle ON Albums(Title)"]'
api POST "$S/$INST/databases" "{\"createStatement\":\"CREATE DATABASE shop\",\"extraStatements\":$DDL,\"encryptionConfig\":{\"kmsKeyName\":\"$KEY\"}}"
expect_status 200

section "sessions"
api POST "$S/$DB/sessions" '{"session":{"labels":{"env":"test"}}}'
expect_status 200
expect_json '.labels.env' test
SESSION=$(jq -r .name <<<"$BODY")
expect_contains "$SESSION" "$DB/sessions/" "a session is named under its database"
api POST "$S/$DB/sessions:batchCreate" '{"sessionCount":3}'
expect_status 200
expect_json '.session | length' 3
OTHER=$(jq -r '.session[0].name' <<<"$BODY")
api GET "$S/$DB/sessions"
expect_status 200
expect_json '.sessions | length' 4
api GET "$S/$SESSION"
expect_status 200
expect_json '.name' "$SESSION"
api POST "$S/$INST/databases/nope/sessions" '{}'
expect_error_json 404 NOT_FOUND

section "commit with mutations (single-use), commit stats, commit timestamp"
api POST "$S/$SESSION:commit" '{"singleUseTransaction":{"readWrite":{}},"returnCommitStats":true,"mutations":[
  {"insert":{"table":"Singers","columns":["SingerId","FirstName","LastName","Updated"],"values":[["1","Marc","Richards","spanner.commit_timestamp()"],["2","Catalina","Smith","spanner.commit_timestamp()"]]}},
  {"insert":{"table":"Albums","columns":["SingerId","AlbumId","Title"],"values":[["1","1","Total Junk"],["1","2","Go, Go, Go"],["2","1","Green"]]}}]}'
expect_status 200
expect_json '.commitStats.mutationCount' 17
COMMIT_TS=$(jq -r .commitTimestamp <<<"$BODY")
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT SingerId, FirstName, Updated FROM Singers ORDER BY SingerId"}'
expect_status 200
expect_json '[.metadata.rowType.fields[] | .name + ":" + .type.code] | join(",")' "SingerId:INT64,FirstName:STRING,Updated:TIMESTAMP"
expect_json '[.rows[] | .[0] + "/" + .[1]] | join(",")' "1/Marc,2/Catalina"
expect_json '.rows[0][2]' "$COMMIT_TS"

section "mutation errors"
api POST "$S/$SESSION:commit" '{"singleUseTransaction":{"readWrite":{}},"mutations":[{"insert":{"table":"Singers","columns":["SingerId","FirstName"],"values":[["1","Again"]]}}]}'
expect_error_json 409 ALREADY_EXISTS
api POST "$S/$SESSION:commit" '{"singleUseTransaction":{"readWrite":{}},"mutations":[{"update":{"table":"Singers","columns":["SingerId","FirstName"],"values":[["99","Nobody"]]}}]}'
expect_error_json 404 NOT_FOUND
api POST "$S/$SESSION:commit" '{"singleUseTransaction":{"readWrite":{}},"mutations":[{"insert":{"table":"Nope","columns":["A"],"values":[["1"]]}}]}'
expect_error_json 404 NOT_FOUND
expect_json .error.message "Table not found: Nope"
api POST "$S/$SESSION:commit" '{"singleUseTransaction":{"readWrite":{}},"mutations":[{"insert":{"table":"Singers","columns":["SingerId","Nope"],"values":[["5","x"]]}}]}'
expect_error_json 404 NOT_FOUND
api POST "$S/$SESSION:commit" '{"singleUseTransaction":{"readWrite":{}},"mutations":[{"insert":{"table":"Singers","columns":["SingerId","FirstName"],"values":[["abc","x"]]}}]}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$S/$SESSION:commit" '{"singleUseTransaction":{"readWrite":{}},"mutations":[{"insert":{"table":"Albums","columns":["SingerId","AlbumId"],"values":[["77","1"]]}}]}'
expect_error_json 404 NOT_FOUND
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT COUNT(*) FROM Singers"}'
expect_json '.rows[0][0]' 2

section "insertOrUpdate, replace, update, delete by key and range"
api POST "$S/$SESSION:commit" '{"singleUseTransaction":{"readWrite":{}},"mutations":[
  {"insertOrUpdate":{"table":"Singers","columns":["SingerId","FirstName"],"values":[["1","Marcus"],["3","Alice"]]}},
  {"replace":{"table":"Singers","columns":["SingerId","LastName"],"values":[["2","Jones"]]}},
  {"update":{"table":"Singers","columns":["SingerId","LastName"],"values":[["3","Trentor"]]}},
  {"insert":{"table":"Singers","columns":["SingerId"],"values":[["4"],["5"],["6"]]}}]}'
expect_status 200
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT SingerId, FirstName, LastName FROM Singers ORDER BY SingerId"}'
expect_json '[.rows[] | map(. // "null") | join("/")] | join(",")' "1/Marcus/Richards,2/null/Jones,3/Alice/Trentor,4/null/null,5/null/null,6/null/null"
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT COUNT(*) FROM Albums WHERE SingerId = 2"}'
expect_json '.rows[0][0]' 0
api POST "$S/$SESSION:commit" '{"singleUseTransaction":{"readWrite":{}},"mutations":[{"delete":{"table":"Singers","keySet":{"keys":[["4"]],"ranges":[{"startOpen":["4"],"endClosed":["5"]}]}}}]}'
expect_status 200
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT SingerId FROM Singers ORDER BY SingerId"}'
expect_json '[.rows[][0]] | join(",")' "1,2,3,6"

section "read and streamingRead: keys, ranges, all, index, limit"
api POST "$S/$SESSION:read" '{"table":"Singers","columns":["SingerId","FirstName"],"keySet":{"keys":[["3"],["1"]]}}'
expect_status 200
expect_json '[.rows[] | .[0]] | join(",")' "1,3"
api POST "$S/$SESSION:read" '{"table":"Singers","columns":["SingerId"],"keySet":{"ranges":[{"startClosed":["2"],"endOpen":["6"]}]}}'
expect_json '[.rows[] | .[0]] | join(",")' "2,3"
api POST "$S/$SESSION:read" '{"table":"Singers","columns":["SingerId"],"keySet":{"all":true},"limit":"2"}'
expect_json '[.rows[] | .[0]] | join(",")' "1,2"
api POST "$S/$SESSION:read" '{"table":"Albums","index":"AlbumsByTitle","columns":["SingerId","AlbumId","Title"],"keySet":{"keys":[["Total Junk"]]}}'
expect_json '[.rows[] | join("/")] | join(",")' "1/1/Total Junk"
api POST "$S/$SESSION:read" '{"table":"Albums","columns":["SingerId","AlbumId"],"keySet":{"keys":[["1"]]}}'
expect_json '[.rows[] | join("/")] | join(",")' "1/1,1/2"
api POST "$S/$SESSION:streamingRead" '{"table":"Singers","columns":["SingerId","FirstName"],"keySet":{"all":true}}'
expect_status 200
expect_json '.[0].metadata.rowType.fields[1].name' FirstName
expect_json '[.[].values[]] | map(. // "null") | join(",")' "1,Marcus,2,null,3,Alice,6,null"
api POST "$S/$SESSION:read" '{"table":"Singers","columns":["Nope"],"keySet":{"all":true}}'
expect_error_json 404 NOT_FOUND
api POST "$S/$SESSION:read" '{"table":"Singers","columns":["SingerId"],"keySet":{"keys":[["1","2"]]}}'
expect_error_json 400 INVALID_ARGUMENT

section "executeStreamingSql: chunks of 100 rows, resume tokens"
rows=$(seq 100 349 | jq -R '[., "n\(.)"]' | jq -s -c .)
api POST "$S/$SESSION:commit" "{\"singleUseTransaction\":{\"readWrite\":{}},\"mutations\":[{\"insert\":{\"table\":\"Singers\",\"columns\":[\"SingerId\",\"FirstName\"],\"values\":$rows}}]}"
expect_status 200
api POST "$S/$SESSION:executeStreamingSql" '{"sql":"SELECT SingerId, FirstName FROM Singers WHERE SingerId >= 100 ORDER BY SingerId"}'
expect_status 200
expect_json 'length' 3
expect_json '[.[] | .values | length] | join(",")' "200,200,100"
expect_json '.[0].metadata.rowType.fields | length' 2
expect_json '[.[1:][] | has("metadata")] | any' false
TOKEN=$(jq -r '.[1].resumeToken' <<<"$BODY")
api POST "$S/$SESSION:executeStreamingSql" "{\"sql\":\"SELECT SingerId, FirstName FROM Singers WHERE SingerId >= 100 ORDER BY SingerId\",\"resumeToken\":\"$TOKEN\"}"
expect_json '[.[] | .values | length] | join(",")' "100"
expect_json '.[0].values[0]' 300
api POST "$S/$SESSION:executeStreamingSql" '{"sql":"SELECT SingerId FROM Singers WHERE SingerId > 100000"}'
expect_json 'length' 1
expect_json '.[0].values | length' 0
api POST "$S/$SESSION:executeStreamingSql" '{"sql":"SELECT Nope FROM Singers"}'
expect_error_json 400 INVALID_ARGUMENT

section "queries: parameters, errors in Google's shape"
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT FirstName FROM Singers WHERE SingerId = @id","params":{"id":"3"},"paramTypes":{"id":{"code":"INT64"}}}'
expect_json '.rows[0][0]' Alice
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT FirstName FROM Singers WHERE SingerId = @id","params":{"id":"1"}}'
expect_json '.rows[0][0]' Marcus
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT * FROM Nope"}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT @x"}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$S/$SESSION:executeSql" '{"sql":"UPDATE Singers SET FirstName = \"x\" WHERE TRUE"}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$S/$DB/sessions/doesnotexist:executeSql" '{"sql":"SELECT 1"}'
expect_error_json 404 NOT_FOUND
expect_contains "$(jq -r .error.message <<<"$BODY")" "Session not found" "session not found"

finish
