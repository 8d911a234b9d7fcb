#!/usr/bin/env bash
# test_spanner_sql_sweep: every function of the SQL translator's table and every operator,
# cast and clause shape over values of every type (tests/spanner/sql_sweep.js, about
# 93,000 statements), sent to our Spanner: each must be answered, none INTERNAL, and the
# spanner process must not have been restarted (a crash). One check per function or shape.
# With an ASan build of the spanner service (`make asan`) every fifth statement only
# (SWEEP_STRIDE=N sets the stride).
# full-run-only: 93,000 statements (about 30 s); `FAST=1 tests/integ/run-all` (scripts/test-all --fast) skips it
source "$(dirname "$0")/lib.sh"

command -v node >/dev/null || { echo "SKIPPING $TEST_NAME: node is not installed"; exit 0; }
start_stack
P=projects/sweep-project
S="$SPANNER_URL/v1"
DB="$P/instances/sweep/databases/sweep"

section "a table with a column of every type, and rows"
api POST "$S/$P/instances" "{\"instanceId\":\"sweep\",\"instance\":{\"config\":\"$P/instanceConfigs/regional-us-central1\",\"displayName\":\"Sweep\",\"nodeCount\":1}}"
expect_status 200
TABLE="CREATE TABLE T (K INT64, I INT64, F FLOAT64, F32 FLOAT32, S STRING(MAX), B BYTES(MAX), D DATE, TS TIMESTAMP, N NUMERIC, BO BOOL, J JSON, AI ARRAY<INT64>, ASx ARRAY<STRING(MAX)>, AF ARRAY<FLOAT64>) PRIMARY KEY (K)"
api POST "$S/$P/instances/sweep/databases" "{\"createStatement\":\"CREATE DATABASE sweep\",\"extraStatements\":[\"$TABLE\"]}"
expect_status 200
api POST "$S/$DB/sessions" '{}'
expect_status 200
SESSION=$(jq -r .name <<<"$BODY")
api POST "$S/$SESSION:commit" '{"singleUseTransaction":{"readWrite":{}},"mutations":[{"insert":{"table":"T",
  "columns":["K","I","F","F32","S","B","D","TS","N","BO","J","AI","ASx","AF"],"values":[
  ["1","5",1.5,2.5,"abc","eHk=","2024-03-01","2024-03-01T10:00:00Z","12.5",true,"{\"a\":[1,2]}",["1","2",null],["a","b"],[1.0,"NaN"]],
  ["2","-3",-0.5,0,"","","1970-01-01","1970-01-01T00:00:00Z","-1",false,"null",[],[],[]],
  ["3",null,null,null,null,null,null,null,null,null,null,null,null,null]]}}]}'
expect_status 200
PID_BEFORE=$(service_pid_of spanner)

section "the sweep"
STRIDE=${SWEEP_STRIDE:-1}
[[ -z ${SWEEP_STRIDE:-} ]] && grep -q __asan_init "$BIN_DIR/spanner" && STRIDE=5
OUT="$TEST_TMP/sweep.out"
SWEEP_STRIDE=$STRIDE timeout 900 node "$REPO_DIR/tests/spanner/sql_sweep.js" "$S/$SESSION" \
    "$REPO_DIR/spanner/spanner_sql_translate.c" >"$OUT" 2>&1
expect_eq 0 $? "sql_sweep.js ran to its end"
while IFS= read -r line; do
    case "$line" in
        "ok "*) _pass "${line#ok }" ;;
        "FAIL "*) _fail "${line#FAIL }" ;;
    esac
done <"$OUT"
tail -n 1 "$OUT"
expect_eq 1 "$(( $(grep -c '^ok \|^FAIL ' "$OUT") > 200 ))" "the sweep covered every function and shape ($(grep -c '^ok \|^FAIL ' "$OUT") families)"
expect_eq "$PID_BEFORE" "$(service_pid_of spanner)" "the spanner process was never restarted (no crash)"
finish
