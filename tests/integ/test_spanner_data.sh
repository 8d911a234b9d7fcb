#!/usr/bin/env bash
# test_spanner_data: Spanner's data plane over REST (curl) and gcloud: sessions, queries
# and DML (executeSql, executeStreamingSql with resume tokens, executeBatchDml), reads by
# key set, range and index (read, streamingRead), transactions (begin, inline begin,
# commit with mutations and commit stats, rollback, ABORTED between two concurrent
# read-write transactions that read and wrote one row, two on different rows of a table
# both committing (by read, and by executeSql DML pinned by key), an idle one aborted after 10 s of emulator time, 16 concurrent
# single-use commits), PENDING_COMMIT_TIMESTAMP() and
# Partitioned DML (curl and gcloud), batchWrite, queryMode PLAN/PROFILE, Google's errors, updateDdl validated against the rows, the
# CMEK gate on every data call, durability across kill -9, a runaway query ended by a stop of
# the service or by its client giving up, and no plaintext on disk.
source "$(dirname "$0")/lib.sh"

P=projects/data-project
DATA="$TEST_TMP/data"
mkdir -p "$DATA"
start_persistent
setup_gcloud data-project
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

section "GetInstance's field mask returns the fields it names"
api GET "$S/$INST?fieldMask=nodeCount,display_name"
expect_json 'keys | join(" ")' "displayName nodeCount"
expect_json '"\(.displayName) \(.nodeCount)"' "Data test 1"
api GET "$S/$INST?fieldMask=processing_units,config"
expect_json 'keys | join(" ")' "config processingUnits"
api GET "$S/$INST?fieldMask=nodes"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" 'Instance has no field \"nodes\"' "the unknown field is named"
api GET "$S/$INST?fieldMask="
expect_json '.name' "$INST"
api GET "$S/$P/instances?instanceDeadline=2030-01-01T00:00:00Z"
expect_json '[.instances[].name] | index("'"$INST"'") != null' true # what gcloud's list sends
api GET "$S/$P/instances?instance_deadline=soon"
expect_error_json 400 INVALID_ARGUMENT
expect_json .error.message "Invalid value at 'instance_deadline' (type.googleapis.com/google.protobuf.Timestamp), \"soon\""

section "getIamPolicy reads its body (GetPolicyOptions); an operation's cancel takes none"
api POST "$S/$INST:getIamPolicy" '{"options":{"requestedPolicyVersion":3}}'
expect_json .version 1
api POST "$S/$INST:getIamPolicy" '{"options":{"requestedPolicyVersion":2}}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$S/$INST:getIamPolicy" '{"bogus":1}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$S/$INST/operations/no-such-op:cancel" '{"bogus":1}'
expect_error_json 400 INVALID_ARGUMENT

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
api POST "$S/$SESSION:commit" '{"singleUseTransaction":{"readWrite":{}},"maxCommitDelay":"0.1s","mutations":[]}'
expect_status 200
api POST "$S/$SESSION:commit" '{"singleUseTransaction":{"readWrite":{}},"maxCommitDelay":"0.6s","mutations":[]}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "between 0 and 500 milliseconds" "a commit delay over 500 ms is refused"
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT SingerId, FirstName, Updated FROM Singers ORDER BY SingerId"}'
expect_status 200
expect_json '[.metadata.rowType.fields[] | .name + ":" + .type.code] | join(",")' "SingerId:INT64,FirstName:STRING,Updated:TIMESTAMP"
expect_json '[.rows[] | .[0] + "/" + .[1]] | join(",")' "1/Marc,2/Catalina"
# the same instant: commitTimestamp is a protobuf Timestamp (3, 6 or 9 fraction digits), a
# TIMESTAMP value drops the fraction's trailing zeros (...20.636970Z against ...20.63697Z)
trim_fraction() { sed -E 's/(\.[0-9]*[1-9])0+Z$/\1Z/; s/\.0+Z$/Z/'; }
expect_eq "$(trim_fraction <<<"$COMMIT_TS")" "$(jq -r '.rows[0][2]' <<<"$BODY" | trim_fraction)" \
    "the rows hold the commit timestamp"

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
expect_error_json 400 FAILED_PRECONDITION
expect_json '.error.message' "Invalid value for column SingerId in table Singers: Expected INT64."
# INT64 is a string in Spanner's JSON encoding, a number is refused; a TIMESTAMP ends in Z
api POST "$S/$SESSION:commit" '{"singleUseTransaction":{"readWrite":{}},"mutations":[{"insert":{"table":"Singers","columns":["SingerId","FirstName"],"values":[[77,"x"]]}}]}'
expect_error_json 400 FAILED_PRECONDITION
api POST "$S/$SESSION:commit" '{"singleUseTransaction":{"readWrite":{}},"mutations":[{"insert":{"table":"Singers","columns":["SingerId","Updated"],"values":[["77","2024-01-01T00:00:00+01:00"]]}}]}'
expect_error_json 400 FAILED_PRECONDITION
expect_json '.error.message' "Invalid value for column Updated in table Singers: Expected TIMESTAMP."
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT @n","params":{"n":5},"paramTypes":{"n":{"code":"INT64"}}}'
expect_error_json 400 INVALID_ARGUMENT
expect_json '.error.message' "Invalid value for bind parameter n: Expected INT64."
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
api POST "$S/$SESSION:read" '{"table":"Albums","columns":["SingerId","AlbumId"],"keySet":{"ranges":[{"startClosed":["1"],"endClosed":["1"]}]}}'
expect_json '[.rows[] | join("/")] | join(",")' "1/1,1/2"
# KeySet.keys are whole keys: a prefix goes in a range
api POST "$S/$SESSION:read" '{"table":"Albums","columns":["SingerId","AlbumId"],"keySet":{"keys":[["1"]]}}'
expect_error_json 400 FAILED_PRECONDITION
api POST "$S/$SESSION:read" '{"table":"Albums","index":"AlbumsByTitle","columns":["Title","SingerId","AlbumId"],"keySet":{"all":true}}'
expect_status 200
api POST "$S/$SESSION:streamingRead" '{"table":"Singers","columns":["SingerId","FirstName"],"keySet":{"all":true}}'
expect_status 200
expect_json '.[0].metadata.rowType.fields[1].name' FirstName
expect_json '[.[].values[]] | map(. // "null") | join(",")' "1,Marcus,2,null,3,Alice,6,null"
api POST "$S/$SESSION:read" '{"table":"Singers","columns":["Nope"],"keySet":{"all":true}}'
expect_error_json 404 NOT_FOUND
api POST "$S/$SESSION:read" '{"table":"Singers","columns":["SingerId"],"keySet":{"keys":[["1","2"]]}}'
expect_error_json 400 FAILED_PRECONDITION

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
api POST "$S/$SESSION:executeStreamingSql?fields=values" '{"sql":"SELECT SingerId, FirstName FROM Singers WHERE SingerId >= 100 ORDER BY SingerId"}'
expect_json '[.[] | keys | join(",")] | join(" ")' "values values values" # fields prunes each element
expect_json '[.[] | .values | length] | join(",")' "200,200,100"
api POST "$S/$SESSION:executeStreamingSql" "{\"sql\":\"SELECT SingerId, FirstName FROM Singers WHERE SingerId >= 100 ORDER BY SingerId\",\"resumeToken\":\"$TOKEN\"}"
expect_json '[.[] | .values | length] | join(",")' "100"
expect_json '.[0].values[0]' 300
api POST "$S/$SESSION:executeStreamingSql" '{"sql":"SELECT SingerId FROM Singers WHERE SingerId > 100000"}'
expect_json 'length' 1
expect_json '.[0].values | length' 0
# rows go out as the query produces them: a query that fails at its 950th row has sent
# its first 900 (9 parts) before the error ends the stream
api POST "$S/$SESSION:executeStreamingSql" '{"sql":"SELECT x, DIV(10, x - 950) FROM UNNEST(GENERATE_ARRAY(1, 1000)) AS x"}'
expect_status 200
expect_json '[.[] | select(has("values")) | .values | length] | join(",")' "200,200,200,200,200,200,200,200,200"
expect_json '.[-1].error.status' OUT_OF_RANGE
expect_json '.[0].metadata.rowType.fields | length' 2
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT x, DIV(10, x - 950) FROM UNNEST(GENERATE_ARRAY(1, 1000)) AS x"}'
expect_error_json 400 OUT_OF_RANGE
# PROFILE: the statistics come in a last part of their own
api POST "$S/$SESSION:executeStreamingSql" '{"sql":"SELECT x FROM UNNEST(GENERATE_ARRAY(1, 250)) AS x","queryMode":"PROFILE"}'
expect_json '[.[] | .values | length] | join(",")' "100,100,50,0"
expect_json '.[-1].stats.queryStats.rows_returned' 250
api POST "$S/$SESSION:executeStreamingSql" '{"sql":"SELECT Nope FROM Singers"}'
expect_error_json 400 INVALID_ARGUMENT

section "STRUCT: parameters (one, and an array for UNNEST), ARRAY<STRUCT> results"
STRUCT_T='{"code":"STRUCT","structType":{"fields":[{"name":"id","type":{"code":"INT64"}},{"name":"name","type":{"code":"STRING"}}]}}'
api POST "$S/$SESSION:executeSql" "{\"sql\":\"SELECT FirstName, @p.name FROM Singers WHERE SingerId = @p.id\",\"params\":{\"p\":[\"3\",\"x\"]},\"paramTypes\":{\"p\":$STRUCT_T}}"
expect_status 200
expect_json '[.metadata.rowType.fields[] | .name + ":" + .type.code] | join(",")' "FirstName:STRING,name:STRING"
expect_json '.rows[0] | join("/")' "Alice/x"
api POST "$S/$SESSION:executeSql" "{\"sql\":\"SELECT s.id, FirstName FROM UNNEST(@arr) AS s JOIN Singers ON SingerId = s.id ORDER BY s.id\",\"params\":{\"arr\":[[\"3\",\"c\"],[\"1\",null],null]},\"paramTypes\":{\"arr\":{\"code\":\"ARRAY\",\"arrayElementType\":$STRUCT_T}}}"
expect_status 200
expect_json '[.rows[] | join("/")] | join(",")' "1/Marcus,3/Alice"
api POST "$S/$SESSION:executeSql" "{\"sql\":\"SELECT FirstName FROM Singers WHERE (SingerId, FirstName) IN UNNEST(@arr)\",\"params\":{\"arr\":[[\"3\",\"Alice\"],[\"1\",\"Nope\"]]},\"paramTypes\":{\"arr\":{\"code\":\"ARRAY\",\"arrayElementType\":$STRUCT_T}}}"
expect_json '[.rows[][0]] | join(",")' "Alice"
# REGEXP_* run RE2: its syntax errors, UTF-8 characters for STRING, linear time where a
# backtracking matcher is exponential (a 30,000-character text)
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT REGEXP_EXTRACT(@t, r\"^h.\"), REGEXP_CONTAINS(CONCAT(REPEAT(\"ab\", 15000), \"!\"), r\"^(ab|a|b)*$\"), REGEXP_REPLACE(CONCAT(REPEAT(\"a\", 30000), \"!\"), r\"(a+)+!\", \"x\")","params":{"t":"héllo"},"paramTypes":{"t":{"code":"STRING"}}}'
expect_status 200
expect_json '.rows[0] | map(tostring) | join(",")' "hé,false,x"
# TABLESAMPLE: a reservoir of 2 rows with their weight (rows/2), a percentage from a
# parameter, and the parameter checked as the scan starts
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT COUNT(*), COUNT(DISTINCT SingerId), MIN(w) = MAX(w), MIN(w) * 2 = (SELECT COUNT(*) FROM Singers) FROM Singers TABLESAMPLE RESERVOIR (2 ROWS) WITH WEIGHT AS w"}'
expect_status 200
expect_json '.rows[0] | map(tostring) | join(",")' "2,2,true,true"
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT COUNT(*) = (SELECT COUNT(*) FROM Singers), ANY_VALUE(weight) FROM Singers TABLESAMPLE BERNOULLI (@p PERCENT) WITH WEIGHT","params":{"p":"100"}}'
expect_status 200
expect_json '.metadata.undeclaredParameters.fields[0].type.code' INT64
expect_json '.rows[0] | map(tostring) | join(",")' "true,1"
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT COUNT(*) FROM Singers TABLESAMPLE BERNOULLI (@p PERCENT)","params":{"p":150},"paramTypes":{"p":{"code":"FLOAT64"}}}'
expect_error_json 400 OUT_OF_RANGE
expect_contains "$BODY" "PERCENT value must be in the range [0, 100]" "a percentage over 100 is refused"
# Unicode's full case mapping and normalization forms
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT UPPER(@w), NORMALIZE_AND_CASEFOLD(@w, NFKC) = NORMALIZE_AND_CASEFOLD(\"STRASSE\", NFKC)","params":{"w":"Straße"},"paramTypes":{"w":{"code":"STRING"}}}'
expect_status 200
expect_json '.rows[0] | map(tostring) | join(",")' "STRASSE,true"
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT REGEXP_CONTAINS(FirstName, r\"(?<=a)b\") FROM Singers"}'
expect_error_json 400 OUT_OF_RANGE
expect_contains "$BODY" "Cannot parse regular expression: invalid perl operator: (?<" "RE2's reason"
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT ARRAY(SELECT AS STRUCT SingerId AS id, FirstName FROM Singers WHERE SingerId IN (1, 3) ORDER BY SingerId) AS singers"}'
expect_status 200
expect_json '.metadata.rowType.fields[0].type | tojson' '{"code":"ARRAY","arrayElementType":{"code":"STRUCT","structType":{"fields":[{"name":"id","type":{"code":"INT64"}},{"name":"FirstName","type":{"code":"STRING"}}]}}}'
expect_json '.rows[0][0] | tojson' '[["1","Marcus"],["3","Alice"]]'
api POST "$S/$SESSION:executeStreamingSql" '{"sql":"SELECT ARRAY(SELECT STRUCT(SingerId, [FirstName] AS names) FROM Singers WHERE SingerId = 1)"}'
expect_status 200
expect_json '.[0].metadata.rowType.fields[0].type.arrayElementType.structType.fields[1].type.code' ARRAY
expect_json '.[0].values[0] | tojson' '[["1",["Marcus"]]]'
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT STRUCT(1 AS a)"}'
expect_error_json 400 UNIMPLEMENTED
expect_contains "$(jq -r .error.message <<<"$BODY")" "A struct value cannot be returned as a column value" "a top-level STRUCT column is refused as Spanner refuses it"
api POST "$S/$SESSION:executeSql" "{\"sql\":\"SELECT @p.id\",\"params\":{\"p\":{\"id\":\"3\"}},\"paramTypes\":{\"p\":$STRUCT_T}}"
expect_error_json 400 INVALID_ARGUMENT
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT @p.a","params":{"p":["1"]},"paramTypes":{"p":{"code":"STRUCT","structType":{"fields":[{"name":"a","type":{"code":"ARRAY","arrayElementType":{"code":"ARRAY"}}}]}}}}'
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
LONG_SUM="SELECT 1$(printf ' + 1%.0s' $(seq 300))" # one flat chain for SQLite, however long
api POST "$S/$SESSION:executeSql" "{\"sql\":\"$LONG_SUM\"}"
expect_json '.rows[0][0]' 301
LONG_OR="SELECT COUNT(*) FROM Singers WHERE SingerId = -1$(printf ' OR SingerId = %d' $(seq 300))"
api POST "$S/$SESSION:executeSql" "{\"sql\":\"$LONG_OR\"}"
expect_status 200
LONG_SUM="SELECT 1$(printf ' + 1%.0s' $(seq 25000))" # and never a crash
api POST "$S/$SESSION:executeSql" "{\"sql\":\"$LONG_SUM\"}"
expect_error_json 400 INVALID_ARGUMENT
api POST "$S/$DB/sessions/doesnotexist:executeSql" '{"sql":"SELECT 1"}'
expect_error_json 404 NOT_FOUND
expect_contains "$(jq -r .error.message <<<"$BODY")" "Session not found" "session not found"

section "read-write transactions: inline begin, DML sees its own writes, commit, rollback"
api POST "$S/$SESSION:executeSql" '{"transaction":{"begin":{"readWrite":{}}},"sql":"INSERT INTO Singers (SingerId, FirstName) VALUES (10, \"Ten\")","seqno":"1"}'
expect_status 200
expect_json '.stats.rowCountExact' 1
TX=$(jq -r '.metadata.transaction.id' <<<"$BODY")
expect_eq 1 "$([[ -n "$TX" && "$TX" != null ]] && echo 1)" "inline begin returns the transaction id in the metadata"
api POST "$S/$SESSION:executeSql" "{\"transaction\":{\"id\":\"$TX\"},\"sql\":\"UPDATE Singers SET LastName = 'Tenner' WHERE SingerId = 10\",\"seqno\":\"2\"}"
expect_json '.stats.rowCountExact' 1
api POST "$S/$SESSION:executeSql" "{\"transaction\":{\"id\":\"$TX\"},\"sql\":\"SELECT FirstName, LastName FROM Singers WHERE SingerId = 10\"}"
expect_json '.rows[0] | join(" ")' "Ten Tenner"
api POST "$S/$OTHER:executeSql" '{"sql":"SELECT COUNT(*) FROM Singers WHERE SingerId = 10"}'
expect_json '.rows[0][0]' 0
api POST "$S/$SESSION:commit" "{\"transactionId\":\"$TX\",\"mutations\":[{\"insert\":{\"table\":\"Singers\",\"columns\":[\"SingerId\"],\"values\":[[\"11\"]]}}]}"
expect_status 200
COMMITTED=$(jq -r .commitTimestamp <<<"$BODY")
api POST "$S/$OTHER:executeSql" '{"sql":"SELECT SingerId, LastName FROM Singers WHERE SingerId IN (10, 11) ORDER BY SingerId"}'
expect_json '[.rows[] | map(. // "null") | join("/")] | join(",")' "10/Tenner,11/null"
# a commit again (a client's retry) answers the same commit; the transaction is over
api POST "$S/$SESSION:commit" "{\"transactionId\":\"$TX\"}"
expect_status 200
expect_json .commitTimestamp "$COMMITTED"
api POST "$S/$SESSION:executeSql" "{\"transaction\":{\"id\":\"$TX\"},\"sql\":\"SELECT 1\"}"
expect_error_json 400 FAILED_PRECONDITION
api POST "$S/$SESSION:rollback" "{\"transactionId\":\"$TX\"}"
expect_error_json 400 FAILED_PRECONDITION
expect_json .error.message "Cannot rollback a transaction after it has been committed."
# INSERT OR UPDATE may not write one key twice in a statement, as Spanner
api POST "$S/$SESSION:executeSql" '{"transaction":{"begin":{"readWrite":{}}},"sql":"INSERT OR UPDATE INTO Singers (SingerId, FirstName) VALUES (12, \"a\"), (12, \"b\")","seqno":"1"}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "Cannot affect a row second time for key: {Int64(12)}" "INSERT OR UPDATE of one key twice"
api POST "$S/$SESSION:beginTransaction" '{"options":{"readWrite":{}}}'
expect_status 200
TX=$(jq -r .id <<<"$BODY")
api POST "$S/$SESSION:executeSql" "{\"transaction\":{\"id\":\"$TX\"},\"sql\":\"DELETE FROM Singers WHERE SingerId = 11\"}"
expect_json '.stats.rowCountExact' 1
api POST "$S/$SESSION:rollback" "{\"transactionId\":\"$TX\"}"
expect_status 200
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT COUNT(*) FROM Singers WHERE SingerId = 11"}'
expect_json '.rows[0][0]' 1
api POST "$S/$SESSION:executeSql" "{\"transaction\":{\"id\":\"$TX\"},\"sql\":\"SELECT 1\"}"
expect_error_json 400 FAILED_PRECONDITION
expect_json .error.message "Cannot read or query using a transaction after it has been committed or rolledback."
api POST "$S/$OTHER:rollback" "{\"transactionId\":\"$TX\"}" # another session's
expect_error_json 404 NOT_FOUND
api POST "$S/$OTHER:rollback" '{"transactionId":"AAAAAAAAAAAAAAAAAAAAAA=="}'
expect_error_json 404 NOT_FOUND

section "a write error (a constraint) invalidates the transaction; an error before a write does not"
api POST "$S/$SESSION:beginTransaction" '{"options":{"readWrite":{}}}'
TX=$(jq -r .id <<<"$BODY")
api POST "$S/$SESSION:executeSql" "{\"transaction\":{\"id\":\"$TX\"},\"sql\":\"SELECT 1/0\",\"seqno\":\"1\"}"
expect_error_json 400 OUT_OF_RANGE
api POST "$S/$SESSION:executeSql" "{\"transaction\":{\"id\":\"$TX\"},\"sql\":\"INSERT INTO Singers (SingerId, FirstName) VALUES (13, 'Thirteen')\",\"seqno\":\"2\"}"
expect_json '.stats.rowCountExact' 1
api POST "$S/$SESSION:read" "{\"transaction\":{\"id\":\"$TX\"},\"table\":\"Singers\",\"columns\":[\"FirstName\"],\"keySet\":{\"keys\":[[\"13\"]]}}"
expect_json '.rows[0][0]' Thirteen # a read sees the transaction's DML
api POST "$S/$SESSION:executeSql" "{\"transaction\":{\"id\":\"$TX\"},\"sql\":\"INSERT INTO Singers (SingerId) VALUES (1)\",\"seqno\":\"3\"}"
expect_error_json 409 ALREADY_EXISTS
api POST "$S/$SESSION:executeSql" "{\"transaction\":{\"id\":\"$TX\"},\"sql\":\"SELECT 1\"}"
expect_error_json 409 ALREADY_EXISTS
api POST "$S/$SESSION:commit" "{\"transactionId\":\"$TX\"}"
expect_error_json 409 ALREADY_EXISTS
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT COUNT(*) FROM Singers WHERE SingerId = 13"}'
expect_json '.rows[0][0]' 0
api POST "$S/$SESSION:rollback" "{\"transactionId\":\"$TX\"}"
expect_status 200

section "two concurrent read-write transactions: the second to commit is ABORTED"
api POST "$S/$SESSION:beginTransaction" '{"options":{"readWrite":{}}}'
T1=$(jq -r .id <<<"$BODY")
api POST "$S/$OTHER:beginTransaction" '{"options":{"readWrite":{}}}'
T2=$(jq -r .id <<<"$BODY")
api POST "$S/$SESSION:read" "{\"transaction\":{\"id\":\"$T1\"},\"table\":\"Singers\",\"columns\":[\"FirstName\"],\"keySet\":{\"keys\":[[\"1\"]]}}"
expect_json '.rows[0][0]' Marcus
api POST "$S/$OTHER:executeSql" "{\"transaction\":{\"id\":\"$T2\"},\"sql\":\"SELECT FirstName FROM Singers WHERE SingerId = 1\"}"
expect_json '.rows[0][0]' Marcus
api POST "$S/$SESSION:commit" "{\"transactionId\":\"$T1\",\"mutations\":[{\"update\":{\"table\":\"Singers\",\"columns\":[\"SingerId\",\"FirstName\"],\"values\":[[\"1\",\"T1\"]]}}]}"
expect_status 200
api POST "$S/$OTHER:commit" "{\"transactionId\":\"$T2\",\"mutations\":[{\"update\":{\"table\":\"Singers\",\"columns\":[\"SingerId\",\"FirstName\"],\"values\":[[\"1\",\"T2\"]]}}]}"
expect_error_json 409 ABORTED
expect_json .error.message "Transaction was aborted. It read rows of table Singers that a concurrent transaction changed."
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT FirstName FROM Singers WHERE SingerId = 1"}'
expect_json '.rows[0][0]' T1

section "conflicts are per key: two read-write transactions on different rows of one table both commit"
api POST "$S/$SESSION:beginTransaction" '{"options":{"readWrite":{}}}'
T1=$(jq -r .id <<<"$BODY")
api POST "$S/$OTHER:beginTransaction" '{"options":{"readWrite":{}}}'
T2=$(jq -r .id <<<"$BODY")
api POST "$S/$SESSION:read" "{\"transaction\":{\"id\":\"$T1\"},\"table\":\"Singers\",\"columns\":[\"FirstName\"],\"keySet\":{\"keys\":[[\"6\"]]}}"
expect_status 200
api POST "$S/$OTHER:read" "{\"transaction\":{\"id\":\"$T2\"},\"table\":\"Singers\",\"columns\":[\"FirstName\"],\"keySet\":{\"keys\":[[\"2\"]]}}"
expect_status 200
api POST "$S/$OTHER:commit" "{\"transactionId\":\"$T2\",\"mutations\":[{\"update\":{\"table\":\"Singers\",\"columns\":[\"SingerId\",\"FirstName\"],\"values\":[[\"2\",\"Row2\"]]}}]}"
expect_status 200
api POST "$S/$SESSION:commit" "{\"transactionId\":\"$T1\",\"mutations\":[{\"update\":{\"table\":\"Singers\",\"columns\":[\"SingerId\",\"FirstName\"],\"values\":[[\"6\",\"Row6\"]]}}]}"
expect_status 200
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT FirstName FROM Singers WHERE SingerId IN (2, 6) ORDER BY SingerId"}'
expect_json '[.rows[][0]] | join(",")' "Row2,Row6"

section "SQL pinned by key: two transactions' executeSql DML on different rows both commit, on one row one aborts"
api POST "$S/$SESSION:beginTransaction" '{"options":{"readWrite":{}}}'
T1=$(jq -r .id <<<"$BODY")
api POST "$S/$OTHER:beginTransaction" '{"options":{"readWrite":{}}}'
T2=$(jq -r .id <<<"$BODY")
SET_NAME='UPDATE Singers SET FirstName = @name WHERE SingerId = @id'
ID_TYPE='"paramTypes":{"id":{"code":"INT64"},"name":{"code":"STRING"}}'
api POST "$S/$SESSION:executeSql" "{\"transaction\":{\"id\":\"$T1\"},\"sql\":\"$SET_NAME\",\"params\":{\"id\":\"3\",\"name\":\"Dml3\"},$ID_TYPE,\"seqno\":\"1\"}"
expect_json '.stats.rowCountExact' 1
api POST "$S/$OTHER:executeSql" "{\"transaction\":{\"id\":\"$T2\"},\"sql\":\"$SET_NAME\",\"params\":{\"id\":\"2\",\"name\":\"Dml2\"},$ID_TYPE,\"seqno\":\"1\"}"
expect_json '.stats.rowCountExact' 1
api POST "$S/$OTHER:commit" "{\"transactionId\":\"$T2\"}"
expect_status 200
api POST "$S/$SESSION:commit" "{\"transactionId\":\"$T1\"}"
expect_status 200
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT FirstName FROM Singers WHERE SingerId IN (2, 3) ORDER BY SingerId"}'
expect_json '[.rows[][0]] | join(",")' "Dml2,Dml3"
api POST "$S/$SESSION:beginTransaction" '{"options":{"readWrite":{}}}'
T1=$(jq -r .id <<<"$BODY")
api POST "$S/$OTHER:beginTransaction" '{"options":{"readWrite":{}}}'
T2=$(jq -r .id <<<"$BODY")
api POST "$S/$SESSION:executeSql" "{\"transaction\":{\"id\":\"$T1\"},\"sql\":\"$SET_NAME\",\"params\":{\"id\":\"3\",\"name\":\"First\"},$ID_TYPE,\"seqno\":\"1\"}"
expect_json '.stats.rowCountExact' 1
api POST "$S/$OTHER:executeSql" "{\"transaction\":{\"id\":\"$T2\"},\"sql\":\"$SET_NAME\",\"params\":{\"id\":\"3\",\"name\":\"Second\"},$ID_TYPE,\"seqno\":\"1\"}"
expect_json '.stats.rowCountExact' 1
api POST "$S/$SESSION:commit" "{\"transactionId\":\"$T1\"}"
expect_status 200
api POST "$S/$OTHER:commit" "{\"transactionId\":\"$T2\"}"
expect_error_json 409 ABORTED
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT FirstName FROM Singers WHERE SingerId = 3"}'
expect_json '.rows[0][0]' First

section "a read-write transaction idle for 10 s of emulator time is aborted; a read-only one is not"
api POST "$S/$SESSION:beginTransaction" '{"options":{"readWrite":{}}}'
T1=$(jq -r .id <<<"$BODY")
api POST "$S/$OTHER:beginTransaction" '{"options":{"readOnly":{"strong":true}}}'
RO=$(jq -r .id <<<"$BODY")
api POST "$S/$SESSION:read" "{\"transaction\":{\"id\":\"$T1\"},\"table\":\"Singers\",\"columns\":[\"FirstName\"],\"keySet\":{\"keys\":[[\"6\"]]}}"
expect_status 200
api POST "$CONTROL_URL/emulator/v1/clock:advance" '{"seconds": 11}'
expect_status 200
api POST "$S/$SESSION:commit" "{\"transactionId\":\"$T1\",\"mutations\":[{\"update\":{\"table\":\"Singers\",\"columns\":[\"SingerId\",\"FirstName\"],\"values\":[[\"6\",\"Late\"]]}}]}"
expect_error_json 409 ABORTED
expect_json .error.message "Transaction was aborted. Idle for over 10 seconds."
api POST "$S/$OTHER:read" "{\"transaction\":{\"id\":\"$RO\"},\"table\":\"Singers\",\"columns\":[\"FirstName\"],\"keySet\":{\"keys\":[[\"6\"]]}}"
expect_json '.rows[0][0]' Row6

section "blind writes of concurrent transactions both commit; a read of another table does not conflict"
api POST "$S/$SESSION:beginTransaction" '{"options":{"readWrite":{}}}'
T1=$(jq -r .id <<<"$BODY")
api POST "$S/$OTHER:beginTransaction" '{"options":{"readWrite":{}}}'
T2=$(jq -r .id <<<"$BODY")
api POST "$S/$OTHER:read" "{\"transaction\":{\"id\":\"$T2\"},\"table\":\"Albums\",\"columns\":[\"Title\"],\"keySet\":{\"all\":true}}"
expect_status 200
api POST "$S/$SESSION:commit" "{\"transactionId\":\"$T1\",\"mutations\":[{\"insertOrUpdate\":{\"table\":\"Singers\",\"columns\":[\"SingerId\",\"FirstName\"],\"values\":[[\"20\",\"A\"]]}}]}"
expect_status 200
api POST "$S/$OTHER:commit" "{\"transactionId\":\"$T2\",\"mutations\":[{\"insertOrUpdate\":{\"table\":\"Singers\",\"columns\":[\"SingerId\",\"FirstName\"],\"values\":[[\"21\",\"B\"]]}}]}"
expect_status 200
api POST "$S/$SESSION:beginTransaction" '{"options":{"readOnly":{"strong":true,"returnReadTimestamp":true}}}'
expect_status 200
RO=$(jq -r .id <<<"$BODY")
expect_eq 1 "$(jq -r 'has("readTimestamp")' <<<"$BODY" | grep -c true)" "a read-only transaction has a read timestamp"
api POST "$S/$SESSION:executeSql" "{\"transaction\":{\"id\":\"$RO\"},\"sql\":\"SELECT COUNT(*) FROM Singers WHERE SingerId IN (20, 21)\"}"
expect_json '.rows[0][0]' 2
api POST "$S/$SESSION:executeSql" "{\"transaction\":{\"id\":\"$RO\"},\"sql\":\"DELETE FROM Singers WHERE SingerId = 20\"}"
expect_error_json 400 INVALID_ARGUMENT
api POST "$S/$SESSION:executeSql" '{"transaction":{"singleUse":{"readOnly":{"maxStaleness":"10s"}}},"sql":"SELECT COUNT(*) FROM Singers WHERE SingerId = 20"}'
expect_json '.rows[0][0]' 1
api POST "$S/$SESSION:executeSql" '{"transaction":{"singleUse":{"readOnly":{"exactStaleness":"10s"}}},"sql":"SELECT 1"}'
expect_json '.rows[0][0]' 1 # exact stale reads: test_spanner_versions

section "16 concurrent single-use commits of one row (the benchmark's load) all succeed"
ROW='{"singleUseTransaction":{"readWrite":{}},"mutations":[{"insertOrUpdate":{"table":"Singers","columns":["SingerId","FirstName"],"values":[["60","Hot"]]}}]}'
seq 320 | xargs -P16 -I@@ curl -s -o /dev/null -w '%{http_code}\n' --max-time 60 -X POST \
    -H 'Content-Type: application/json' "$S/$SESSION:commit" -d "$ROW" >"$TEST_TMP/hot.codes"
expect_eq "320 200" "$(sort "$TEST_TMP/hot.codes" | uniq -c | awk '{ printf "%s%s %s", sep, $1, $2; sep = "," }')" \
    "every one of 320 concurrent blind commits answers 200"

section "executeBatchDml"
api POST "$S/$SESSION:executeBatchDml" '{"transaction":{"begin":{"readWrite":{}}},"seqno":"1","statements":[
  {"sql":"INSERT INTO Singers (SingerId, FirstName) VALUES (@id, @name)","params":{"id":"30","name":"Thirty"},"paramTypes":{"id":{"code":"INT64"},"name":{"code":"STRING"}}},
  {"sql":"UPDATE Singers SET LastName = \"B\" WHERE SingerId >= 20 AND SingerId <= 30"},
  {"sql":"INSERT INTO Singers (SingerId) VALUES (30)"},
  {"sql":"DELETE FROM Singers WHERE TRUE"}]}'
expect_status 200
expect_json '[.resultSets[].stats.rowCountExact] | join(",")' "1,3"
expect_json '.status.code' 6
TX=$(jq -r '.resultSets[0].metadata.transaction.id' <<<"$BODY")
# the key that exists is a constraint error: the transaction fails as a whole
api POST "$S/$SESSION:commit" "{\"transactionId\":\"$TX\"}"
expect_error_json 409 ALREADY_EXISTS
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT COUNT(*) FROM Singers WHERE LastName = \"B\""}'
expect_json '.rows[0][0]' 0
api POST "$S/$SESSION:executeBatchDml" '{"transaction":{"begin":{"readWrite":{}}},"seqno":"1","statements":[
  {"sql":"INSERT INTO Singers (SingerId, FirstName) VALUES (30, \"Thirty\")"},
  {"sql":"UPDATE Singers SET LastName = \"B\" WHERE SingerId >= 20 AND SingerId <= 30"},
  {"sql":"UPDATE Singers SET Nope = 1 WHERE TRUE"}]}'
expect_json '[.resultSets[].stats.rowCountExact] | join(",")' "1,3"
expect_json '.status.code' 3
TX=$(jq -r '.resultSets[0].metadata.transaction.id' <<<"$BODY")
api POST "$S/$SESSION:commit" "{\"transactionId\":\"$TX\"}" # a name that does not resolve
expect_status 200
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT COUNT(*) FROM Singers WHERE LastName = \"B\""}'
expect_json '.rows[0][0]' 3
api POST "$S/$SESSION:executeBatchDml" '{"transaction":{"begin":{"readWrite":{}}},"seqno":"1","statements":[{"sql":"UPDATE Nope SET x = 1 WHERE TRUE"}]}'
expect_status 200 # the first statement's failure too is the response's status
expect_json '.status.code' 3
expect_json '.resultSets | length' 0

section "PENDING_COMMIT_TIMESTAMP() in DML: unreadable in its transaction, then the commit's timestamp; Partitioned DML"
api POST "$S/$SESSION:executeSql" '{"transaction":{"begin":{"readWrite":{}}},"sql":"INSERT INTO Singers (SingerId, FirstName, Updated) VALUES (70, \"Pending\", PENDING_COMMIT_TIMESTAMP())"}'
expect_status 200
TX=$(jq -r '.metadata.transaction.id' <<<"$BODY")
api POST "$S/$SESSION:executeSql" "{\"transaction\":{\"id\":\"$TX\"},\"sql\":\"SELECT Updated FROM Singers WHERE SingerId = 70\"}"
expect_error_json 400 INVALID_ARGUMENT
expect_json .error.message "Table Singers cannot be accessed because it, or its associated index, has a pending CommitTimestamp"
api POST "$S/$SESSION:commit" "{\"transactionId\":\"$TX\"}"
expect_status 200
COMMITTED=$(jq -r .commitTimestamp <<<"$BODY")
api POST "$S/$SESSION:executeSql" "{\"sql\":\"SELECT Updated = @t FROM Singers WHERE SingerId = 70\",\"params\":{\"t\":\"$COMMITTED\"},\"paramTypes\":{\"t\":{\"code\":\"TIMESTAMP\"}}}"
expect_json '.rows[0][0]' true
api POST "$S/$SESSION:beginTransaction" '{"options":{"partitionedDml":{}}}'
expect_status 200
PDML=$(jq -r .id <<<"$BODY")
api POST "$S/$SESSION:executeSql" "{\"transaction\":{\"id\":\"$PDML\"},\"sql\":\"UPDATE Singers SET Updated = PENDING_COMMIT_TIMESTAMP() WHERE SingerId = 70\"}"
expect_status 200
expect_json '.stats.rowCountLowerBound' 1
api POST "$S/$SESSION:executeSql" "{\"sql\":\"SELECT Updated > @t FROM Singers WHERE SingerId = 70\",\"params\":{\"t\":\"$COMMITTED\"},\"paramTypes\":{\"t\":{\"code\":\"TIMESTAMP\"}}}"
expect_json '.rows[0][0]' true
api POST "$S/$SESSION:executeSql" "{\"transaction\":{\"id\":\"$PDML\"},\"sql\":\"DELETE FROM Singers WHERE SingerId = 70\"}"
expect_error_json 400 INVALID_ARGUMENT # one statement per partitioned-DML transaction
expect_json .error.message "PartitionedDml transaction may only be used to execute one statement"
api POST "$S/$SESSION:beginTransaction" '{"options":{"partitionedDml":{}}}'
PDML=$(jq -r .id <<<"$BODY")
api POST "$S/$SESSION:executeSql" "{\"transaction\":{\"id\":\"$PDML\"},\"sql\":\"DELETE FROM Singers WHERE SingerId IN (SELECT SingerId FROM Albums)\"}"
expect_error_json 400 INVALID_ARGUMENT
api POST "$S/$SESSION:executeSql" "{\"transaction\":{\"id\":\"$PDML\"},\"sql\":\"DELETE FROM Singers WHERE SingerId = 70\"}"
expect_json '.stats.rowCountLowerBound' 1

section "batchWrite: each mutation group atomic on its own, one streamed answer per group"
api POST "$S/$SESSION:batchWrite" '{"mutationGroups":[
  {"mutations":[{"insert":{"table":"Singers","columns":["SingerId","FirstName"],"values":[["80","Batch"]]}},
                {"insert":{"table":"Albums","columns":["SingerId","AlbumId","Title"],"values":[["80","1","First"]]}}]},
  {"mutations":[{"insert":{"table":"Nope","columns":["K"],"values":[["1"]]}}]},
  {"mutations":[{"insert":{"table":"Singers","columns":["SingerId"],"values":[["81"]]}},
                {"insert":{"table":"Singers","columns":["SingerId"],"values":[["80"]]}}]}]}'
expect_status 200
expect_json '[.[] | "\(.indexes | join(","))=\(.status.code // 0)"] | join(" ")' "0=0 1=5 2=6"
expect_json '.[0].commitTimestamp | test("^[0-9-]+T[0-9:.]+Z$")' true
expect_json '[.[1], .[2]] | map(has("commitTimestamp")) | any' false
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT s.SingerId, a.Title FROM Singers s LEFT JOIN Albums a ON a.SingerId = s.SingerId WHERE s.SingerId >= 80 AND s.SingerId < 90"}'
expect_json '[.rows[] | join("/")] | join(",")' "80/First"
api POST "$S/$SESSION:batchWrite" '{"mutationGroups":[{"mutations":[]}]}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$S/$SESSION:batchWrite" '{}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$S/$SESSION:commit" '{"singleUseTransaction":{"readWrite":{}},"mutations":[{"delete":{"table":"Singers","keySet":{"keys":[["80"]]}}}]}'
expect_status 200

section "queryMode PLAN and PROFILE: the plan's nodes, and the execution's statistics"
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT FirstName FROM Singers WHERE SingerId = 1","queryMode":"PLAN"}'
expect_status 200
expect_json '.rows | length' 0
expect_json '[.stats.queryPlan.planNodes[] | .displayName + ":" + (.metadata.scan_target // "")] | join(",")' "Serialize Result:,Scan:Singers"
api POST "$S/$SESSION:executeStreamingSql" '{"sql":"SELECT SingerId FROM Singers WHERE SingerId <= 2 ORDER BY SingerId","queryMode":"PROFILE"}'
expect_status 200
expect_json '[.[].values[]] | join(",")' "1,2"
expect_json '.[-1].stats.queryStats.rows_returned' 2
expect_json '.[-1].stats.queryPlan.planNodes[0].childLinks[0].childIndex' 1

section "partitionQuery and partitionRead: tokens that executeSql and read accept"
Q='SELECT SingerId FROM Singers WHERE SingerId < 4 ORDER BY SingerId'
api POST "$S/$SESSION:partitionQuery" "{\"transaction\":{\"begin\":{\"readOnly\":{\"strong\":true}}},\"sql\":\"$Q\",\"partitionOptions\":{\"maxPartitions\":\"4\"}}"
expect_status 200
expect_json '.partitions | length' 1
PTOKEN=$(jq -r '.partitions[0].partitionToken' <<<"$BODY")
PTX=$(jq -r '.transaction.id' <<<"$BODY")
api POST "$S/$SESSION:executeStreamingSql" "{\"transaction\":{\"id\":\"$PTX\"},\"sql\":\"$Q\",\"partitionToken\":\"$PTOKEN\"}"
expect_json '[.[].values[]] | join(",")' "1,2,3"
api POST "$S/$SESSION:executeSql" "{\"sql\":\"SELECT 1\",\"partitionToken\":\"$PTOKEN\"}"
expect_error_json 400 INVALID_ARGUMENT
api POST "$S/$SESSION:partitionRead" '{"table":"Singers","columns":["SingerId"],"keySet":{"all":true}}'
expect_status 200
PTOKEN=$(jq -r '.partitions[0].partitionToken' <<<"$BODY")
api POST "$S/$SESSION:read" "{\"table\":\"Singers\",\"columns\":[\"SingerId\"],\"keySet\":{\"keys\":[[\"2\"]]},\"partitionToken\":\"$PTOKEN\"}"
expect_json '[.rows[][0]] | join(",")' "2"
api POST "$S/$SESSION:partitionQuery" '{"transaction":{"begin":{"readWrite":{}}},"sql":"SELECT 1"}'
expect_error_json 400 INVALID_ARGUMENT

section "updateDdl is validated against the rows, all or nothing"
api PATCH "$S/$DB/ddl" '{"statements":["ALTER TABLE Singers ALTER COLUMN FirstName STRING(100) NOT NULL"]}'
expect_error_json 400 FAILED_PRECONDITION
api PATCH "$S/$DB/ddl" '{"statements":["CREATE TABLE Extra (Id INT64 NOT NULL) PRIMARY KEY (Id)","CREATE UNIQUE INDEX SingersByLast ON Singers(LastName)"]}'
expect_error_json 400 FAILED_PRECONDITION
api GET "$S/$DB/ddl"
expect_eq 0 "$(jq '[.statements[] | select(contains("Extra"))] | length' <<<"$BODY")" "a failed updateDdl left no table behind"
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT COUNT(*) FROM Extra"}'
expect_error_json 400 INVALID_ARGUMENT
api PATCH "$S/$DB/ddl" '{"statements":["CREATE TABLE Extra (Id INT64 NOT NULL, Note STRING(MAX)) PRIMARY KEY (Id)"]}'
expect_status 200
DEEP="SELECT $(printf '~%.0s' $(seq 60))1 AS x"
api PATCH "$S/$DB/ddl" "{\"statements\":[\"CREATE VIEW Deep SQL SECURITY INVOKER AS $DEEP\"]}"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$(jq -r .error.message <<<"$BODY")" "View Deep cannot be queried" "a view SQLite cannot nest is refused when created"
api GET "$S/$DB/ddl"
expect_eq 0 "$(jq '[.statements[] | select(contains("Deep"))] | length' <<<"$BODY")" "and not kept"
api POST "$S/$SESSION:commit" '{"singleUseTransaction":{"readWrite":{}},"mutations":[{"insert":{"table":"Extra","columns":["Id","Note"],"values":[["1","SECRET-MARKER-ROW"]]}}]}'
expect_status 200

section "JSON documents keep their exact numbers; a hash-sharded key computes as in Spanner"
api PATCH "$S/$DB/ddl" '{"statements":["CREATE TABLE Docs (Id INT64 NOT NULL, Doc JSON, Shard INT64 AS (MOD(FARM_FINGERPRINT(CAST(Id AS STRING)), 8)) STORED) PRIMARY KEY (Id)"]}'
expect_status 200
DOC='{\"order\": 12345678901234567891, \"total\": 10.50, \"note\": \"SECRET-JSON-MARKER\"}'
api POST "$S/$SESSION:commit" "{\"singleUseTransaction\":{\"readWrite\":{}},\"mutations\":[{\"insert\":{\"table\":\"Docs\",\"columns\":[\"Id\",\"Doc\"],\"values\":[[\"1\",\"$DOC\"],[\"2\",null]]}}]}"
expect_status 200
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT Doc, LAX_STRING(Doc.order), JSON_TYPE(Doc.total), Shard, TO_JSON(STRUCT(Id AS id, Doc.total AS t)) FROM Docs ORDER BY Id"}'
expect_status 200
expect_json '.rows[0][0]' '{"note":"SECRET-JSON-MARKER","order":12345678901234567891,"total":10.5}'
expect_json '.rows[0][1]' 12345678901234567891
expect_json '.rows[0][2]' number
expect_json '.rows[0][3]' -7
expect_json '.rows[1][3]' 7
expect_json '.rows[0][4]' '{"id":1,"t":10.5}'
api POST "$S/$SESSION:commit" '{"singleUseTransaction":{"readWrite":{}},"mutations":[{"insert":{"table":"Docs","columns":["Id","Doc"],"values":[["3","[1e400]"]]}}]}'
expect_error_json 400 FAILED_PRECONDITION
expect_json '.error.message' "Invalid value for column Doc in table Docs: Expected JSON."

section "INSERT OR UPDATE and INSERT OR IGNORE in a read-write transaction"
sql_tx() { # one DML statement in its own transaction (inline begin, then commit)
    api POST "$S/$SESSION:executeSql" "{\"transaction\":{\"begin\":{\"readWrite\":{}}},\"sql\":\"$1\"}"
    local tx
    tx=$(jq -r .metadata.transaction.id <<<"$BODY")
    UPSERT_BODY=$BODY
    api POST "$S/$SESSION:commit" "{\"transactionId\":\"$tx\"}"
}
sql_tx "INSERT OR UPDATE INTO Docs (Id, Doc) VALUES (2, JSON '{\\\"v\\\": 2}'), (7, NULL) THEN RETURN Id, Shard"
expect_status 200
expect_eq 2 "$(jq -r .stats.rowCountExact <<<"$UPSERT_BODY")" "INSERT OR UPDATE counts the updated and the inserted row"
expect_eq 2 "$(jq '.rows | length' <<<"$UPSERT_BODY")" "THEN RETURN gives both"
sql_tx "INSERT OR IGNORE INTO Docs (Id) VALUES (2), (8)"
expect_status 200
expect_eq 1 "$(jq -r .stats.rowCountExact <<<"$UPSERT_BODY")" "INSERT OR IGNORE counts only the new row"
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT Id, TO_JSON_STRING(Doc) FROM Docs WHERE Id IN (2, 7, 8) ORDER BY Id"}'
expect_eq '["2:{\"v\":2}","7:null","8:null"]' "$(jq -c '[.rows[] | map(tostring) | join(":")]' <<<"$BODY")" "the rows as written"

section "no plaintext row data on disk"
found=$(grep -rl -a -e "SECRET-JSON-MARKER" "$DATA" 2>/dev/null)
expect_eq "" "$found" "no file of the data directory holds a JSON document in clear"
found=$(grep -rl -a -e "SECRET-MARKER-ROW" "$DATA" 2>/dev/null)
expect_eq "" "$found" "no file of the data directory holds a row in clear"
found=$(grep -rl -a -e "Catalina" "$DATA" 2>/dev/null)
expect_eq "" "$found" "nor an older one"

section "the CMEK gate: a disabled key refuses every data call, sessions.create included"
api PATCH "$KMS_URL/v1/$KEY/cryptoKeyVersions/1?updateMask=state" '{"state":"DISABLED"}'
expect_status 200
api POST "$CONTROL_URL/emulator/v1/keyChecks:run" '{}'
expect_status 200
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT 1"}'
expect_error_json 400 FAILED_PRECONDITION
expect_json .error.message "KMS key required by the Spanner resource is not accessible."
api POST "$S/$DB/sessions" '{}'
expect_error_json 400 FAILED_PRECONDITION
api POST "$S/$SESSION:commit" '{"singleUseTransaction":{"readWrite":{}},"mutations":[]}'
expect_error_json 400 FAILED_PRECONDITION
api POST "$S/$SESSION:read" '{"table":"Singers","columns":["SingerId"],"keySet":{"all":true}}'
expect_error_json 400 FAILED_PRECONDITION
api GET "$S/$DB"
expect_status 200
api GET "$S/$DB/ddl"
expect_status 200
api PATCH "$KMS_URL/v1/$KEY/cryptoKeyVersions/1?updateMask=state" '{"state":"ENABLED"}'
api POST "$CONTROL_URL/emulator/v1/keyChecks:run" '{}'
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT Note FROM Extra"}'
expect_status 200
expect_json '.rows[0][0]' SECRET-MARKER-ROW

section "single-use commits from many connections at once: each one answered, none lost"
# (they start on the HTTP threads and share the writer thread's group commits)
commit_url="$S/$SESSION:commit"
# (xargs replaces @@ in each request: {} would replace readWrite's {} too)
seq 500 699 | xargs -P 8 -I@@ curl -s -o /dev/null -w '%{http_code}\n' -X POST "$commit_url" \
    -H 'Content-Type: application/json' \
    -d '{"singleUseTransaction":{"readWrite":{}},"mutations":[{"insert":{"table":"Extra","columns":["Id"],"values":[["@@"]]}}]}' \
    >"$TEST_TMP/codes"
expect_eq "200 200" "$(sort "$TEST_TMP/codes" | uniq -c | awk '{print $2, $1}')" "200 commits, every one 200"
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT COUNT(*) FROM Extra WHERE Id BETWEEN 500 AND 699"}'
expect_json '.rows[0][0]' 200
api POST "$S/$DB/sessions/no-such-session:commit" \
    '{"singleUseTransaction":{"readWrite":{}},"mutations":[]}'
expect_error_json 404 NOT_FOUND

section "acknowledged commits and sessions survive kill -9 of the spanner process"
for i in $(seq 1000 1019); do
    api POST "$S/$SESSION:commit" "{\"singleUseTransaction\":{\"readWrite\":{}},\"mutations\":[{\"insert\":{\"table\":\"Extra\",\"columns\":[\"Id\"],\"values\":[[\"$i\"]]}}]}"
    [[ "$HTTP_STATUS" == 200 ]] || _fail "commit $i: $BODY"
done
kill9_service spanner
api GET "$S/$SESSION"
expect_status 200
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT COUNT(*) FROM Extra WHERE Id >= 1000"}'
expect_status 200
expect_json '.rows[0][0]' 20

section "a runaway query ends when spanner stops: UNAVAILABLE at once, not after its 60 s"
# 16000^3 rows: the statement would hold its database until its time limit
RUNAWAY='{"sql":"SELECT COUNT(*) FROM UNNEST(GENERATE_ARRAY(1, 16000)) AS a, UNNEST(GENERATE_ARRAY(1, 16000)) AS b, UNNEST(GENERATE_ARRAY(1, 16000)) AS c"}'
curl -s --max-time 30 -X POST -H 'Content-Type: application/json' "$S/$SESSION:executeSql" \
    -d "$RUNAWAY" >"$TEST_TMP/runaway" &
runaway=$!
sleep 1
stop_service_promptly spanner
wait "$runaway"
expect_eq UNAVAILABLE "$(jq -r .error.status "$TEST_TMP/runaway" 2>/dev/null)" \
    "the query's answer: $(cat "$TEST_TMP/runaway")"
api POST "$CONTROL_URL/emulator/v1/services/spanner:start" '{}'
expect_status 200
wait_for 30 "spanner to be healthy again" _service_back spanner 0

section "a client that gives up on a runaway query cancels it: its database answers at once"
curl -s --max-time 2 -X POST -H 'Content-Type: application/json' "$S/$SESSION:executeSql" \
    -d "$RUNAWAY" >/dev/null
expect_eq 28 $? "the client gave up after 2 s"
started=$(now_ms)
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT 1"}'
expect_status 200
took=$(( $(now_ms) - started ))
if (( took < 5000 )); then _pass "the next query answered in $took ms"
else _fail "the next query waited $took ms behind the abandoned statement"; fi

if (( HAVE_GCLOUD )); then
    section "gcloud: execute-sql (query and DML), rows insert/update/delete, sessions"
    G=(--instance=data-inst)
    out=$(gcloud spanner databases execute-sql shop "${G[@]}" --sql="SELECT Doc.order, FARM_FINGERPRINT('abc') FROM Docs WHERE Id = 1" --format=json 2>"$TEST_TMP/err")
    expect_eq 0 $? "execute-sql of JSON and FARM_FINGERPRINT $(cat "$TEST_TMP/err")"
    expect_eq "12345678901234567891/2640714258260161385" "$(jq -r '.rows[0] | join("/")' <<<"$out")" \
        "gcloud shows a JSON member's exact number and the fingerprint Spanner computes"
    out=$(gcloud spanner databases execute-sql shop "${G[@]}" --sql="SELECT SingerId, FirstName FROM Singers WHERE SingerId = 1" --format=json 2>"$TEST_TMP/err")
    expect_eq 0 $? "execute-sql query $(cat "$TEST_TMP/err")"
    expect_eq "1/T1" "$(jq -r '.rows[0] | join("/")' <<<"$out")" "execute-sql returns the row"
    out=$(gcloud spanner databases execute-sql shop "${G[@]}" --sql="SELECT COUNT(*) FROM Singers TABLESAMPLE RESERVOIR (1 ROWS)" --format=json 2>"$TEST_TMP/err")
    expect_eq 0 $? "execute-sql with TABLESAMPLE $(cat "$TEST_TMP/err")"
    expect_eq 1 "$(jq -r '.rows[0][0]' <<<"$out")" "a reservoir of one row"
    gcloud spanner databases execute-sql shop "${G[@]}" --sql="UPDATE Singers SET FirstName = 'Gcloud' WHERE SingerId = 2" >"$TEST_TMP/out" 2>"$TEST_TMP/err"
    expect_eq 0 $? "execute-sql DML (inline begin, then commit) $(cat "$TEST_TMP/err")"
    gcloud spanner databases execute-sql shop "${G[@]}" --sql="INSERT INTO Singers (SingerId, FirstName, Updated) VALUES (71, 'Stamped', PENDING_COMMIT_TIMESTAMP())" >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "execute-sql INSERT with PENDING_COMMIT_TIMESTAMP() $(cat "$TEST_TMP/err")"
    out=$(gcloud spanner databases execute-sql shop "${G[@]}" --sql="SELECT Updated <= CURRENT_TIMESTAMP() FROM Singers WHERE SingerId = 71" --format=json 2>&1)
    expect_eq true "$(jq -r '.rows[0][0]' <<<"$out")" "the row holds its commit timestamp: $out"
    gcloud spanner databases execute-sql shop "${G[@]}" --enable-partitioned-dml --sql="DELETE FROM Singers WHERE SingerId = 71" >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "execute-sql --enable-partitioned-dml $(cat "$TEST_TMP/err")"
    gcloud spanner databases execute-sql shop "${G[@]}" --query-mode=PROFILE --sql="SELECT FirstName FROM Singers WHERE SingerId = 1" >"$TEST_TMP/out" 2>"$TEST_TMP/err"
    expect_eq 0 $? "execute-sql --query-mode=PROFILE $(cat "$TEST_TMP/err")"
    expect_contains "$(cat "$TEST_TMP/out")" "Scan" "gcloud prints the plan: $(cat "$TEST_TMP/out")"
    gcloud spanner rows insert --database=shop "${G[@]}" --table=Singers --data=SingerId=40,FirstName=Forty >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "rows insert $(cat "$TEST_TMP/err")"
    gcloud spanner rows update --database=shop "${G[@]}" --table=Singers --data=SingerId=40,LastName=Update >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "rows update $(cat "$TEST_TMP/err")"
    out=$(gcloud spanner databases execute-sql shop "${G[@]}" --sql="SELECT SingerId, FirstName, LastName FROM Singers WHERE SingerId IN (2, 40) ORDER BY SingerId" --format=json 2>&1)
    expect_eq "2/Gcloud/Jones,40/Forty/Update" "$(jq -r '[.rows[] | join("/")] | join(",")' <<<"$out")" "DML and rows insert/update are visible"
    gcloud spanner rows insert --database=shop "${G[@]}" --table=Singers --data=SingerId=40,FirstName=Again >/dev/null 2>"$TEST_TMP/err"
    expect_eq 1 $? "rows insert of an existing key fails"
    expect_contains "$(cat "$TEST_TMP/err")" "ALREADY_EXISTS" "gcloud prints Google's error"
    gcloud spanner rows delete --database=shop "${G[@]}" --table=Singers --keys=40 >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "rows delete $(cat "$TEST_TMP/err")"
    out=$(gcloud spanner databases execute-sql shop "${G[@]}" --sql="SELECT COUNT(*) FROM Singers WHERE SingerId = 40" --format=json 2>&1)
    expect_eq 0 "$(jq -r '.rows[0][0]' <<<"$out")" "rows delete removed the row"
    sessions=$(gcloud spanner databases sessions list --database=shop "${G[@]}" --format='value(name)' 2>"$TEST_TMP/err")
    expect_contains "$sessions" "${SESSION##*/}" "sessions list $(cat "$TEST_TMP/err")"
    gcloud spanner databases sessions delete "${OTHER##*/}" --database=shop "${G[@]}" --quiet >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "sessions delete $(cat "$TEST_TMP/err")"
    api GET "$S/$OTHER"
    expect_error_json 404 NOT_FOUND

    section "gcloud: a disabled key gives FAILED_PRECONDITION, re-enabled works again"
    api PATCH "$KMS_URL/v1/$KEY/cryptoKeyVersions/1?updateMask=state" '{"state":"DISABLED"}'
    api POST "$CONTROL_URL/emulator/v1/keyChecks:run" '{}'
    gcloud spanner databases execute-sql shop "${G[@]}" --sql="SELECT 1" >/dev/null 2>"$TEST_TMP/err"
    expect_eq 1 $? "execute-sql fails while the key is disabled"
    expect_contains "$(cat "$TEST_TMP/err")" "KMS key required by the Spanner resource is not accessible." "gcloud prints Spanner's words"
    expect_contains "$(cat "$TEST_TMP/err")" "FAILED_PRECONDITION" "with the status"
    api PATCH "$KMS_URL/v1/$KEY/cryptoKeyVersions/1?updateMask=state" '{"state":"ENABLED"}'
    api POST "$CONTROL_URL/emulator/v1/keyChecks:run" '{}'
    out=$(gcloud spanner databases execute-sql shop "${G[@]}" --sql="SELECT 1" --format=json 2>&1)
    expect_eq 1 "$(jq -r '.rows[0][0]' <<<"$out")" "execute-sql works again once re-enabled"
else
    api DELETE "$S/$OTHER"
fi

section "a multiplexed session outlives an hour unused (30 days from its creation); an ordinary one does not"
api POST "$S/$DB/sessions" '{"session":{"multiplexed":true}}'
expect_json .multiplexed true
MUX=$(jq -r .name <<<"$BODY")
api POST "$S/$DB/sessions" '{}'
PLAIN=$(jq -r .name <<<"$BODY")
api POST "$CONTROL_URL/emulator/v1/clock:advance" '{"seconds": 7200}'
expect_status 200
api POST "$S/$MUX:executeSql" '{"sql":"SELECT 1"}'
expect_status 200
api POST "$S/$PLAIN:executeSql" '{"sql":"SELECT 1"}'
expect_error_json 404 NOT_FOUND
api POST "$CONTROL_URL/emulator/v1/clock:advance" '{"seconds": 2592000}'
api POST "$S/$MUX:executeSql" '{"sql":"SELECT 1"}'
expect_error_json 404 NOT_FOUND

section "sessions: delete; drop database shreds its rows"
api DELETE "$S/$OTHER"
expect_error_json 404 NOT_FOUND
api GET "$S/$OTHER"
expect_error_json 404 NOT_FOUND
api POST "$S/$OTHER:executeSql" '{"sql":"SELECT 1"}'
expect_error_json 404 NOT_FOUND
ls "$DATA"/spanner/*shop* >/dev/null 2>&1
expect_eq 0 $? "the database has a data file"
api DELETE "$S/$DB"
expect_status 200
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT 1"}'
expect_error_json 404 NOT_FOUND
expect_contains "$(jq -r .error.message <<<"$BODY")" "Session not found" "a dropped database's sessions go with it"
wait_for 10 "the data file to be removed" bash -c "! ls '$DATA'/spanner/*shop* >/dev/null 2>&1"

stop_stack
finish
