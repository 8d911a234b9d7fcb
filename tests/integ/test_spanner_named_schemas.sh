#!/usr/bin/env bash
# test_spanner_named_schemas: named schemas in a CMEK database, through REST and gcloud:
# CREATE SCHEMA, a table, an index and an interleaved child named sch.x beside a table of
# the same name in the default schema; mutations, reads by key and by index, queries and
# DML by the qualified names; getDdl prints CREATE SCHEMA first; INFORMATION_SCHEMA shows
# the schema apart from the name; DROP SCHEMA refuses a schema that holds objects and
# drops an empty one; everything survives a restart of the stack; nothing in clear on disk.
source "$(dirname "$0")/lib.sh"

P=projects/schemas-project
DATA="$TEST_TMP/data"
mkdir -p "$DATA"
start_persistent
setup_gcloud schemas-project
INST="$P/instances/sc-inst"
DB="$INST/databases/shop"
KEY="$P/locations/us-central1/keyRings/r/cryptoKeys/k"
S="$SPANNER_URL/v1"

section "a CMEK database with a named schema"
regional_keys "$P" us-central1
api POST "$S/$P/instances" "{\"instanceId\":\"sc-inst\",\"instance\":{\"config\":\"$P/instanceConfigs/regional-us-central1\",\"displayName\":\"Schemas\",\"nodeCount\":1}}"
expect_status 200
DDL='["CREATE SCHEMA sales",
      "CREATE TABLE Orders (Id INT64 NOT NULL, Note STRING(MAX)) PRIMARY KEY (Id)",
      "CREATE TABLE sales.Orders (Id INT64 NOT NULL, Customer STRING(MAX)) PRIMARY KEY (Id)",
      "CREATE INDEX sales.OrdersByCustomer ON sales.Orders(Customer)",
      "CREATE TABLE sales.Lines (Id INT64 NOT NULL, N INT64 NOT NULL, Item STRING(MAX)) PRIMARY KEY (Id, N), INTERLEAVE IN PARENT sales.Orders ON DELETE CASCADE"]'
api POST "$S/$INST/databases" "{\"createStatement\":\"CREATE DATABASE shop\",\"extraStatements\":$DDL,\"encryptionConfig\":{\"kmsKeyName\":\"$KEY\"}}"
expect_status 200
api PATCH "$S/$DB/ddl" '{"statements":["CREATE TABLE nope.T (Id INT64) PRIMARY KEY (Id)"]}'
expect_error_json 404 NOT_FOUND
expect_contains "$BODY" "Schema not found: nope" "an unknown schema is named"
api POST "$S/$DB/sessions" '{}'
expect_status 200
SESSION=$(jq -r .name <<<"$BODY")
sql() { api POST "$S/$SESSION:executeSql" "$1"; }
rows() { jq -c '[.rows[]? | map(tostring) | join(":")]' <<<"$BODY"; }

section "mutations, reads and queries by the qualified names"
api POST "$S/$SESSION:commit" '{"singleUseTransaction":{"readWrite":{}},"mutations":[
  {"insert":{"table":"Orders","columns":["Id","Note"],"values":[["1","default schema"]]}},
  {"insert":{"table":"sales.Orders","columns":["Id","Customer"],"values":[["1","SECRET-SCHEMA-ROW"],["2","bo"]]}},
  {"insert":{"table":"sales.Lines","columns":["Id","N","Item"],"values":[["1","1","bolt"],["2","1","nut"]]}}]}'
expect_status 200
api POST "$S/$SESSION:read" '{"table":"sales.Orders","columns":["Id","Customer"],"keySet":{"keys":[["2"]]}}'
expect_status 200
expect_eq '["2:bo"]' "$(rows)" "read by key of sales.Orders"
api POST "$S/$SESSION:read" '{"table":"sales.Orders","index":"sales.OrdersByCustomer","columns":["Customer"],"keySet":{"all":true}}'
expect_status 200
expect_eq '["SECRET-SCHEMA-ROW","bo"]' "$(rows)" "read through the schema's index, in its order"
sql '{"sql":"SELECT o.Id, o.Customer, l.Item FROM sales.Orders AS o JOIN sales.Lines AS l ON l.Id = o.Id ORDER BY o.Id"}'
expect_eq '["1:SECRET-SCHEMA-ROW:bolt","2:bo:nut"]' "$(rows)" "a join of two tables of the schema"
sql '{"sql":"SELECT Note FROM Orders"}'
expect_eq '["default schema"]' "$(rows)" "the default schema's Orders is another table"
sql '{"transaction":{"begin":{"readWrite":{}}},"sql":"DELETE FROM sales.Orders WHERE Id = 2"}'
expect_status 200
api POST "$S/$SESSION:commit" "{\"transactionId\":\"$(jq -r .metadata.transaction.id <<<"$BODY")\"}"
expect_status 200
sql '{"sql":"SELECT COUNT(*) FROM sales.Lines"}'
expect_eq '["1"]' "$(rows)" "DML by the qualified name; the interleaved child cascaded"
sql '{"sql":"SELECT TABLE_SCHEMA, TABLE_NAME, PARENT_TABLE_NAME FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = '"'sales'"' ORDER BY TABLE_NAME"}'
expect_eq '["sales:Lines:Orders","sales:Orders:null"]' "$(rows)" "INFORMATION_SCHEMA.TABLES: schema and name apart"

section "DROP SCHEMA: refused while it holds objects, an empty one goes"
api PATCH "$S/$DB/ddl" '{"statements":["DROP SCHEMA sales"]}'
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "Cannot drop schema sales while it has dependencies" "Spanner's message"
if (( HAVE_GCLOUD )); then
    G=(--instance=sc-inst)
    gcloud spanner databases ddl update shop "${G[@]}" --ddl="CREATE SCHEMA archive" >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "gcloud ddl update CREATE SCHEMA $(cat "$TEST_TMP/err")"
    out=$(gcloud spanner databases execute-sql shop "${G[@]}" --sql="SELECT Customer FROM sales.Orders" --format=json 2>"$TEST_TMP/err")
    expect_eq 0 $? "gcloud execute-sql on sales.Orders $(cat "$TEST_TMP/err")"
    expect_eq "SECRET-SCHEMA-ROW" "$(jq -r '.rows[0][0]' <<<"$out")" "gcloud reads the schema's table"
    out=$(gcloud spanner databases ddl describe shop "${G[@]}" 2>"$TEST_TMP/err")
    expect_contains "$out" "CREATE SCHEMA archive" "gcloud ddl describe shows the new schema"
else
    api PATCH "$S/$DB/ddl" '{"statements":["CREATE SCHEMA archive"]}'
    expect_status 200
fi
api PATCH "$S/$DB/ddl" '{"statements":["DROP SCHEMA archive"]}'
expect_status 200
api GET "$S/$DB/ddl"
expect_eq "CREATE SCHEMA sales" "$(jq -r '.statements[0]' <<<"$BODY")" "getDdl prints the schema first"
expect_eq 0 "$(jq '[.statements[] | select(contains("archive"))] | length' <<<"$BODY")" "the dropped schema is gone"

section "after a restart of the stack"
BEFORE=$(jq -c .statements <<<"$BODY")
stop_stack
start_persistent
api GET "$S/$DB/ddl"
expect_eq "$BEFORE" "$(jq -c .statements <<<"$BODY")" "getDdl is the same"
api POST "$S/$DB/sessions" '{}'
SESSION=$(jq -r .name <<<"$BODY")
sql '{"sql":"SELECT Customer FROM sales.Orders@{FORCE_INDEX=OrdersByCustomer}"}'
expect_eq '["SECRET-SCHEMA-ROW"]' "$(rows)" "the schema's rows and index are still there"

section "no plaintext on disk"
found=$(grep -rl --binary-files=text -e "SECRET-SCHEMA-ROW" "$DATA/spanner" 2>/dev/null | head -3)
expect_eq "" "$found" "no row data in plaintext under $DATA/spanner"

finish
