#!/usr/bin/env bash
# test_spanner_nan: FLOAT64 NaN through Spanner's data plane over REST: mutations writing
# NaN to a FLOAT64 key, column and array, reads by key and range in key order (NaN first,
# below -Infinity), executeSql with a "NaN" parameter, NaN comparisons and ORDER BY, and a
# second NaN key refused as a duplicate.
source "$(dirname "$0")/lib.sh"

P=projects/nan-project
start_stack
INST="$P/instances/nan-inst"
DB="$INST/databases/measures"
S="$SPANNER_URL/v1"

section "a database with a FLOAT64 key"
api POST "$S/$P/instances" "{\"instanceId\":\"nan-inst\",\"instance\":{\"config\":\"$P/instanceConfigs/emulator-config\",\"displayName\":\"NaN tests\",\"nodeCount\":1}}"
expect_status 200
DDL='["CREATE TABLE Measures (K FLOAT64 NOT NULL, V FLOAT64, A ARRAY<FLOAT64>) PRIMARY KEY (K)"]'
api POST "$S/$INST/databases" "{\"createStatement\":\"CREATE DATABASE measures\",\"extraStatements\":$DDL}"
expect_status 200
wait_for 20 "the database to be READY" bash -c "curl -s '$S/$DB' | grep -q READY"
api POST "$S/$DB/sessions" '{}'
expect_status 200
SESSION=$(jq -r .name <<<"$BODY")

section "mutations store NaN in a key, a column and an array"
api POST "$S/$SESSION:commit" '{"singleUseTransaction":{"readWrite":{}},"mutations":[
  {"insert":{"table":"Measures","columns":["K","V","A"],"values":[
    ["NaN","NaN",["NaN",1.5,null]],["-Infinity",-1,[]],[0,"Infinity",null],[2.5,"NaN",["-Infinity"]]]}}]}'
expect_status 200
api POST "$S/$SESSION:commit" '{"singleUseTransaction":{"readWrite":{}},"mutations":[
  {"insert":{"table":"Measures","columns":["K"],"values":[["NaN"]]}}]}'
expect_error_json 409 ALREADY_EXISTS

section "reads in key order: NaN first"
api POST "$S/$SESSION:read" '{"table":"Measures","columns":["K","V","A"],"keySet":{"all":true}}'
expect_status 200
expect_json '[.rows[][0]] | tojson' '["NaN","-Infinity",0,2.5]'
expect_json '.rows[0] | tojson' '["NaN","NaN",["NaN",1.5,null]]'
api POST "$S/$SESSION:read" '{"table":"Measures","columns":["K"],"keySet":{"keys":[["NaN"]]}}'
expect_json '.rows | tojson' '[["NaN"]]'
api POST "$S/$SESSION:read" '{"table":"Measures","columns":["K"],"keySet":{"ranges":[{"startClosed":["NaN"],"endOpen":[0]}]}}'
expect_json '[.rows[][0]] | tojson' '["NaN","-Infinity"]'
api POST "$S/$SESSION:read" '{"table":"Measures","columns":["K"],"keySet":{"ranges":[{"startOpen":["NaN"],"endClosed":["Infinity"]}]}}'
expect_json '[.rows[][0]] | tojson' '["-Infinity",0,2.5]'

section "executeSql: a NaN parameter, comparisons, ORDER BY, GROUP BY"
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT K FROM Measures WHERE V = @v OR IS_NAN(V) AND K > @k ORDER BY K","params":{"v":"NaN","k":0},"paramTypes":{"v":{"code":"FLOAT64"},"k":{"code":"FLOAT64"}}}'
expect_status 200
expect_json '.rows | tojson' '[[2.5]]'
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT V, COUNT(*) FROM Measures GROUP BY V ORDER BY V DESC"}'
expect_json '.rows | tojson' '[["Infinity","1"],[-1,"1"],["NaN","2"]]'
api POST "$S/$SESSION:executeSql" '{"sql":"SELECT MIN(V), MAX(K), SUM(K) FROM Measures"}'
expect_json '.rows | tojson' '[["NaN","NaN","NaN"]]'

stop_stack
finish
