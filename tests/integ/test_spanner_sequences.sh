#!/usr/bin/env bash
# test_spanner_sequences: sequences (CREATE SEQUENCE, bit_reversed_positive) in a CMEK
# database, through gcloud and REST: DDL in both forms (gcloud ddl update, ddl describe),
# a key column whose DEFAULT draws from a sequence, filled by gcloud execute-sql DML, by
# DML in a read-write transaction (THEN RETURN gives what the commit writes) and by insert
# mutations; GET_NEXT_SEQUENCE_VALUE and GET_INTERNAL_SEQUENCE_STATE with Google's values,
# refused in a read-only transaction; INFORMATION_SCHEMA.SEQUENCES and SEQUENCE_OPTIONS;
# ALTER SEQUENCE restarting a counter; DROP refused while a column uses it; counters that
# survive kill -9 and a restart (no value drawn twice), and none in plaintext on disk.
source "$(dirname "$0")/lib.sh"

P=projects/sequence-project
DATA="$TEST_TMP/data"
mkdir -p "$DATA"
start_persistent
setup_gcloud sequence-project
INST="$P/instances/seq-inst"
DB="$INST/databases/orders"
KEY="$P/locations/us-central1/keyRings/r/cryptoKeys/k"
S="$SPANNER_URL/v1"

section "a CMEK database with a sequence and a table keyed by it"
regional_keys "$P" us-central1
api POST "$S/$P/instances" "{\"instanceId\":\"seq-inst\",\"instance\":{\"config\":\"$P/instanceConfigs/regional-us-central1\",\"displayName\":\"Sequences\",\"nodeCount\":1}}"
expect_status 200
DDL='["CREATE SEQUENCE OrderIds OPTIONS (sequence_kind = \"bit_reversed_positive\")",
      "CREATE TABLE Orders (Id INT64 NOT NULL DEFAULT (GET_NEXT_SEQUENCE_VALUE(SEQUENCE OrderIds)), Item STRING(MAX)) PRIMARY KEY (Id)"]'
api POST "$S/$INST/databases" "{\"createStatement\":\"CREATE DATABASE orders\",\"extraStatements\":$DDL,\"encryptionConfig\":{\"kmsKeyName\":\"$KEY\"}}"
expect_status 200
api POST "$S/$DB/sessions" '{}'
expect_status 200
SESSION=$(jq -r .name <<<"$BODY")
sql() { api POST "$S/$SESSION:executeSql" "$1"; }
rows() { jq -c '[.rows[]? | map(tostring) | join(":")]' <<<"$BODY"; }

section "DML in a read-write transaction: THEN RETURN gives the ids the commit writes"
api POST "$S/$SESSION:beginTransaction" '{"options":{"readWrite":{}}}'
expect_status 200
TXN=$(jq -r .id <<<"$BODY")
sql "{\"transaction\":{\"id\":\"$TXN\"},\"seqno\":1,\"sql\":\"INSERT INTO Orders (Item) VALUES ('tea'), ('jam') THEN RETURN Id\"}"
expect_status 200
RETURNED=$(jq -c '[.rows[][0]]' <<<"$BODY")
expect_eq '["4611686018427387904","2305843009213693952"]' "$RETURNED" \
    "counters 1 and 2, bit-reversed, as Google's emulator draws them"
sql "{\"transaction\":{\"id\":\"$TXN\"},\"seqno\":2,\"sql\":\"UPDATE Orders SET Item = CONCAT(Item, '!') WHERE Id = 4611686018427387904 THEN RETURN Id\"}"
expect_eq '["4611686018427387904"]' "$(jq -c '[.rows[][0]]' <<<"$BODY")" \
    "the transaction's next statement sees the first run's ids"
api POST "$S/$SESSION:commit" "{\"transactionId\":\"$TXN\"}"
expect_status 200
sql '{"sql":"SELECT Id, Item FROM Orders ORDER BY Item"}'
expect_eq '["2305843009213693952:jam","4611686018427387904:tea!"]' "$(rows)" "the commit wrote those ids"

section "insert mutations without the key, and the functions"
api POST "$S/$SESSION:commit" '{"singleUseTransaction":{"readWrite":{}},"mutations":[{"insert":{"table":"Orders","columns":["Item"],"values":[["pen"]]}}]}'
expect_status 200
sql '{"sql":"SELECT Id FROM Orders WHERE Item = '"'pen'"'"}'
expect_eq '["6917529027641081856"]' "$(rows)" "a mutation's row gets counter 3's value"
sql '{"sql":"SELECT GET_INTERNAL_SEQUENCE_STATE(SEQUENCE OrderIds)"}'
expect_eq '["4"]' "$(rows)" "the state is the next counter"
sql '{"sql":"SELECT GET_NEXT_SEQUENCE_VALUE(SEQUENCE OrderIds)"}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "read-write or partitioned-dml transaction" "a read-only draw is refused"
sql '{"transaction":{"begin":{"readWrite":{}}},"sql":"SELECT GET_NEXT_SEQUENCE_VALUE(SEQUENCE Nope)"}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "Sequence not found: Nope" "an unknown sequence is named"

section "gcloud: ddl update (the clause form), execute-sql DML, ddl describe, INFORMATION_SCHEMA"
if (( HAVE_GCLOUD )); then
    G=(--instance=seq-inst)
    gcloud spanner databases ddl update orders "${G[@]}" \
        --ddl="CREATE SEQUENCE TicketIds BIT_REVERSED_POSITIVE SKIP RANGE 1, 1000 START COUNTER WITH 5" \
        >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "ddl update CREATE SEQUENCE $(cat "$TEST_TMP/err")"
    OUT=$(gcloud spanner databases ddl describe orders "${G[@]}" 2>&1)
    expect_contains "$OUT" "CREATE SEQUENCE OrderIds OPTIONS (" "ddl describe lists the first sequence"
    expect_contains "$OUT" "CREATE SEQUENCE TicketIds BIT_REVERSED_POSITIVE SKIP RANGE 1, 1000 START COUNTER WITH 5" \
        "ddl describe lists the second in its own form"
    gcloud spanner databases execute-sql orders "${G[@]}" --sql="INSERT INTO Orders (Item) VALUES ('ink')" \
        >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "execute-sql INSERT with the DEFAULT $(cat "$TEST_TMP/err")"
    OUT=$(gcloud spanner databases execute-sql orders "${G[@]}" --format=json \
        --sql="SELECT Id FROM Orders WHERE Item = 'ink'" 2>&1)
    expect_eq 1152921504606846976 "$(jq -r '.rows[0][0]' <<<"$OUT")" "gcloud's row got counter 4's value"
    OUT=$(gcloud spanner databases execute-sql orders "${G[@]}" --format=json \
        --sql="SELECT NAME, OPTION_NAME, OPTION_VALUE FROM INFORMATION_SCHEMA.SEQUENCE_OPTIONS ORDER BY NAME, OPTION_NAME" 2>&1)
    expect_eq '["OrderIds:sequence_kind:bit_reversed_positive","TicketIds:sequence_kind:bit_reversed_positive","TicketIds:skip_range_max:1000","TicketIds:skip_range_min:1","TicketIds:start_with_counter:5"]' \
        "$(jq -c '[.rows[] | join(":")]' <<<"$OUT")" "INFORMATION_SCHEMA.SEQUENCE_OPTIONS"
    OUT=$(gcloud spanner databases ddl update orders "${G[@]}" --ddl="DROP SEQUENCE OrderIds" 2>&1)
    expect_contains "$OUT" "Cannot drop SEQUENCE \`OrderIds\` on which there is a dependent column: Orders.Id." \
        "gcloud shows why the sequence cannot be dropped"
else
    api PATCH "$S/$DB/ddl" '{"statements":["CREATE SEQUENCE TicketIds BIT_REVERSED_POSITIVE SKIP RANGE 1, 1000 START COUNTER WITH 5"]}'
    expect_status 200
    sql "{\"transaction\":{\"begin\":{\"readWrite\":{}}},\"sql\":\"INSERT INTO Orders (Item) VALUES ('ink')\"}"
    api POST "$S/$SESSION:commit" "{\"transactionId\":\"$(jq -r .metadata.transaction.id <<<"$BODY")\"}"
    expect_status 200
fi
sql '{"sql":"SELECT NAME, DATA_TYPE FROM INFORMATION_SCHEMA.SEQUENCES ORDER BY NAME"}'
expect_eq '["OrderIds:INT64","TicketIds:INT64"]' "$(rows)" "INFORMATION_SCHEMA.SEQUENCES"
sql '{"transaction":{"begin":{"readWrite":{}}},"sql":"SELECT GET_NEXT_SEQUENCE_VALUE(SEQUENCE TicketIds), GET_INTERNAL_SEQUENCE_STATE(SEQUENCE TicketIds)"}'
expect_eq '["5764607523034234880:6"]' "$(rows)" "START COUNTER WITH 5: counter 5 first"

section "ALTER SEQUENCE restarts a counter; DROP SEQUENCE"
api PATCH "$S/$DB/ddl" '{"statements":["ALTER SEQUENCE TicketIds SET OPTIONS (start_with_counter = 1)"]}'
expect_status 200
sql '{"sql":"SELECT GET_INTERNAL_SEQUENCE_STATE(SEQUENCE TicketIds)"}'
expect_eq '[""]' "$(jq -c '[.rows[][0] // ""]' <<<"$BODY")" "a restarted counter has no state until drawn"
api PATCH "$S/$DB/ddl" '{"statements":["DROP SEQUENCE TicketIds"]}'
expect_status 200
sql '{"sql":"SELECT COUNT(*) FROM INFORMATION_SCHEMA.SEQUENCES"}'
expect_eq '["1"]' "$(rows)" "the dropped sequence is gone"

section "counters survive kill -9 of the spanner process: no value is drawn twice"
spanner_pid() { curl -s "$CONTROL_URL/emulator/v1/status" | jq -r '.services[] | select(.name=="spanner") | .pid'; }
spanner_back() {
    curl -s "$CONTROL_URL/emulator/v1/status" |
        jq -e --arg old "$1" '.services[] | select(.name=="spanner") |
            .healthy and .state == "RUNNING" and (.pid | tostring) != $old' >/dev/null
}
for i in $(seq 1 10); do
    api POST "$S/$SESSION:commit" "{\"singleUseTransaction\":{\"readWrite\":{}},\"mutations\":[{\"insert\":{\"table\":\"Orders\",\"columns\":[\"Item\"],\"values\":[[\"before-$i\"]]}}]}"
    [[ "$HTTP_STATUS" == 200 ]] || _fail "commit $i: $BODY"
done
OLD_PID=$(spanner_pid)
kill -9 "$OLD_PID"
expect_eq 0 $? "killed spanner (pid $OLD_PID)"
wait_for 60 "the control plane to restart spanner" spanner_back "$OLD_PID"
for i in $(seq 1 10); do
    api POST "$S/$SESSION:commit" "{\"singleUseTransaction\":{\"readWrite\":{}},\"mutations\":[{\"insert\":{\"table\":\"Orders\",\"columns\":[\"Item\"],\"values\":[[\"after-$i\"]]}}]}"
    [[ "$HTTP_STATUS" == 200 ]] || _fail "commit after the kill $i: $BODY"
done
sql '{"sql":"SELECT COUNT(*), COUNT(DISTINCT Id) FROM Orders"}'
expect_eq '["24:24"]' "$(rows)" "24 rows, 24 distinct ids (none drawn twice after the kill)"
sql '{"sql":"SELECT GET_INTERNAL_SEQUENCE_STATE(SEQUENCE OrderIds)"}'
expect_eq '["25"]' "$(rows)" "the counter went on from where it was"

section "and a restart of the whole stack"
stop_stack
start_persistent
api POST "$S/$DB/sessions" '{}'
expect_status 200
SESSION=$(jq -r .name <<<"$BODY")
sql '{"transaction":{"begin":{"readWrite":{}}},"sql":"INSERT INTO Orders (Item) VALUES ('"'late'"') THEN RETURN Id"}'
expect_status 200
LATE=$(jq -r '.rows[0][0]' <<<"$BODY")
api POST "$S/$SESSION:commit" "{\"transactionId\":\"$(jq -r .metadata.transaction.id <<<"$BODY")\"}"
expect_status 200
python3 - "$LATE" <<'PY'
import sys
value = int(sys.argv[1])
counter = int(format(value, "063b")[::-1], 2)
sys.exit(0 if counter == 25 else 1)
PY
expect_eq 0 $? "the first id after the restart is counter 25's ($LATE)"

section "no plaintext on disk"
found=$(grep -rl --binary-files=text -e "before-1" -e "OrderIds" "$DATA/spanner" 2>/dev/null | head -3)
expect_eq "" "$found" "no row data or sequence name in plaintext under $DATA/spanner"

finish
