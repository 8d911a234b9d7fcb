#!/usr/bin/env bash
# test_runner_seed001: seed 001 end to end (README "Seed 001").
#
# A CMEK Pub/Sub topic pinned to us-central1 (messageStoragePolicy) -> a custom JSON
# pipeline in gs:// launched by `gcloud dataflow flex-template run` with a global
# --dataflow-kms-key -> a CMEK Bigtable table (WriteBigtable) and, in a second job, a CMEK
# Spanner table (WriteSpanner). Published messages become rows (read back with readRows and
# execute-sql); a message that does not fit (no id, an amount that is not a number) goes
# to the dead-letter topic with a reason naming the step; a redelivered message rewrites
# the same row. Revoking the Spanner database's key fails its job with a
# JOB_MESSAGE_ERROR naming the step, the database and FAILED_PRECONDITION; revoking the
# job's, the topic's and the table's keys fails the Bigtable job (JOB_STATE_FAILED, a
# message naming a key) and the sink reads fail with FAILED_PRECONDITION.
source "$(dirname "$0")/lib.sh"

PROJECT=seed1-project
P=projects/$PROJECT
R=us-central1
DATA="$TEST_TMP/data"
mkdir -p "$DATA/gcs/seed1-bkt/pipelines"
[[ -n "${PORT_BASE:-}" ]] || _export_urls "$(free_port_base)"
"$BIN_DIR/emulator" --data-dir "$DATA" --port-base "$PORT_BASE" >>"$TEST_TMP/stack.log" 2>&1 &
STACK_PID=$!
wait_stack_healthy "$STACK_PID" "$CONTROL_URL" "$TEST_TMP/stack.log" ||
    { _fail "the stack did not start"; finish; }
setup_gcloud "$PROJECT"
LOC="$RUNNER_URL/v1b3/$P/locations/$R"
JOB_KEY="$P/locations/global/keyRings/seed1/cryptoKeys/dataflow"
TOPIC_KEY="$P/locations/$R/keyRings/seed1/cryptoKeys/topic"
BT_KEY="$P/locations/$R/keyRings/seed1/cryptoKeys/bigtable"
SP_KEY="$P/locations/$R/keyRings/seed1/cryptoKeys/spanner"
INST="$P/instances/events-inst"
TABLE="$INST/tables/events"
DB="$P/instances/events-sp/databases/events"

job_state() { api GET "$LOC/jobs/$1"; jq -r .currentState <<<"$BODY"; }
wait_state() {
    local job=$1 want=$2 seconds=${3:-60}
    wait_for "$seconds" "job $job in $want" bash -c "[[ \$(curl -s '$LOC/jobs/$job' | jq -r .currentState) == '$want' ]]"
}
b64() { printf %s "$1" | base64 -w0; }
publish() { # publish TOPIC JSON...
    local topic=$1 msgs="" m
    shift
    for m in "$@"; do msgs="$msgs${msgs:+,}{\"data\":\"$(b64 "$m")\"}"; done
    api POST "$PUBSUB_URL/v1/$P/topics/$topic:publish" "{\"messages\":[$msgs]}"
}
# The rows of the Bigtable table as "key:qualifier=value;..." sorted.
bt_rows() {
    api POST "$BIGTABLE_URL/v2/$TABLE:readRows" '{}'
    jq -r '[.[] | .chunks[]?] | reduce .[] as $c ({k: "", q: "", out: []};
        (if $c.rowKey then .k = ($c.rowKey | @base64d) else . end) |
        (if $c.qualifier then .q = ($c.qualifier | if type == "object" then .value else . end | @base64d) else . end) |
        .out += ["\(.k):\(.q)=\($c.value | @base64d)"]) | .out | sort | join(";")' <<<"$BODY"
}
sp_query() { # the reply (or the error) of a query on a new session
    api POST "$SPANNER_URL/v1/$DB/sessions" '{}'
    local session
    session=$(jq -r '.name // empty' <<<"$BODY")
    [[ -n "$session" ]] || return 0
    api POST "$SPANNER_URL/v1/$session:executeSql" "{\"sql\":\"$1\"}"
}
launch() { # launch NAME PIPELINE-OBJECT PARAMS -> JOB_ID
    if (( HAVE_GCLOUD )); then
        JOB_ID=$(gcloud dataflow flex-template run "$1" --template-file-gcs-location "gs://seed1-bkt/pipelines/$2" \
            --region $R --dataflow-kms-key "$JOB_KEY" --parameters "$3" --format='value(job.id)' 2>"$TEST_TMP/err")
        expect_eq 0 $? "flex-template run $1 $(cat "$TEST_TMP/err")"
    else
        local params
        params=$(jq -Rc 'split(",") | map(split("=") | {(.[0]): (.[1:] | join("="))}) | add' <<<"$3")
        api POST "$LOC/flexTemplates:launch" "{\"launchParameter\":{\"jobName\":\"$1\",\"containerSpecGcsPath\":\"gs://seed1-bkt/pipelines/$2\",\"environment\":{\"kmsKeyName\":\"$JOB_KEY\"},\"parameters\":$params}}"
        JOB_ID=$(jq -r .job.id <<<"$BODY")
    fi
}
pull_dead() {
    api POST "$PUBSUB_URL/v1/$P/subscriptions/$1:pull" '{"maxMessages": 100, "returnImmediately": true}'
    jq -r '[.receivedMessages[]?.message | "\(.data | @base64d) <\(.attributes.error)>"] | sort | join(";")' <<<"$BODY"
    api POST "$PUBSUB_URL/v1/$P/subscriptions/$1:acknowledge" "$(jq -c '{ackIds: [.receivedMessages[]?.ackId]}' <<<"$BODY")"
}

section "keys: the job's in global, the topic's and the sinks' in $R"
for loc in global $R; do api POST "$KMS_URL/v1/$P/locations/$loc/keyRings?keyRingId=seed1" '{}'; done
for key in "$JOB_KEY" "$TOPIC_KEY" "$BT_KEY" "$SP_KEY"; do
    api POST "$KMS_URL/v1/${key%/cryptoKeys/*}/cryptoKeys?cryptoKeyId=${key##*/}" '{"purpose":"ENCRYPT_DECRYPT"}'
    expect_status 200
done

section "a CMEK topic pinned to $R, a CMEK Bigtable table, a CMEK Spanner table"
api PUT "$PUBSUB_URL/v1/$P/topics/events" \
    "{\"kmsKeyName\":\"$TOPIC_KEY\",\"messageStoragePolicy\":{\"allowedPersistenceRegions\":[\"$R\"]}}"
expect_status 200
expect_json '.messageStoragePolicy.allowedPersistenceRegions[0]' $R
for t in events-sp dead; do api PUT "$PUBSUB_URL/v1/$P/topics/$t" '{}'; done
for s in events:events-bt events-sp:events-sp-sub dead:dead-sub; do
    api PUT "$PUBSUB_URL/v1/$P/subscriptions/${s#*:}" "{\"topic\":\"$P/topics/${s%%:*}\"}"
    expect_status 200
done
api POST "$BIGTABLE_URL/v2/$P/instances" "{\"instanceId\":\"events-inst\",\"instance\":{\"displayName\":\"Events\"},\"clusters\":{\"events-c1\":{\"location\":\"$P/locations/$R-b\",\"serveNodes\":1,\"encryptionConfig\":{\"kmsKeyName\":\"$BT_KEY\"}}}}"
expect_status 200
wait_for 20 "the Bigtable instance" bash -c "curl -s '$BIGTABLE_URL/v2/$INST' | jq -e '.state == \"READY\"' >/dev/null"
api POST "$BIGTABLE_URL/v2/$INST/tables" '{"tableId":"events","table":{"columnFamilies":{"ev":{}}}}'
expect_status 200
api POST "$SPANNER_URL/v1/$P/instances" "{\"instanceId\":\"events-sp\",\"instance\":{\"config\":\"$P/instanceConfigs/regional-$R\",\"displayName\":\"Events\",\"nodeCount\":1}}"
expect_status 200
api POST "$SPANNER_URL/v1/$P/instances/events-sp/databases" "{\"createStatement\":\"CREATE DATABASE events\",\"extraStatements\":[\"CREATE TABLE Events (Id INT64 NOT NULL, UserName STRING(64), Amount FLOAT64, Note STRING(MAX)) PRIMARY KEY (Id)\"],\"encryptionConfig\":{\"kmsKeyName\":\"$SP_KEY\"}}"
expect_status 200
wait_for 20 "the Spanner database" bash -c "curl -s '$SPANNER_URL/v1/$DB' | jq -e '.state == \"READY\"' >/dev/null"

section "pipelines in gs://"
cat >"$DATA/gcs/seed1-bkt/pipelines/to-bigtable.json" <<'EOF'
{
  "parameters": {"input": {"required": true}, "table": {"required": true}, "dead": {"required": true}},
  "steps": [
    {"name": "read", "transform": "ReadPubSub", "subscription": "${input}"},
    {"name": "parse", "transform": "ParseJson", "input": "read"},
    {"name": "rows", "transform": "WriteBigtable", "input": "parse", "table": "${table}",
     "rowKey": "{user}#{id}", "columnFamily": "ev", "columns": {"amount": "amount", "note": "note"},
     "timestampField": "ts"},
    {"name": "dead-letter", "transform": "WritePubSub", "input": "rows.failed", "topic": "${dead}"}
  ]
}
EOF
cat >"$DATA/gcs/seed1-bkt/pipelines/to-spanner.json" <<'EOF'
{
  "parameters": {"input": {"required": true}, "database": {"required": true}, "dead": {"required": true}},
  "steps": [
    {"name": "read", "transform": "ReadPubSub", "subscription": "${input}"},
    {"name": "parse", "transform": "ParseJson", "input": "read"},
    {"name": "store", "transform": "WriteSpanner", "input": "parse", "database": "${database}",
     "table": "Events", "columns": {"Id": "id", "UserName": "user", "Amount": "amount", "Note": "note"}},
    {"name": "dead-letter", "transform": "WritePubSub", "input": "store.failed", "topic": "${dead}"}
  ]
}
EOF
cat >"$DATA/gcs/seed1-bkt/pipelines/bad.json" <<'EOF'
{"steps": [{"name": "read", "transform": "ReadPubSub", "topic": "projects/p/topics/t"},
           {"name": "rows", "transform": "WriteBigtable", "input": "read", "table": "not-a-table",
            "rowKey": "{id}", "columnFamily": "ev"}]}
EOF
api POST "$LOC/flexTemplates:launch" "{\"launchParameter\":{\"jobName\":\"bad\",\"containerSpecGcsPath\":\"gs://seed1-bkt/pipelines/bad.json\"}}"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "step 'rows': field 'table' must be projects/" "a bad sink is refused at launch, naming the step"

section "seed 001: Pub/Sub -> pipeline (global key) -> CMEK Bigtable"
launch to-bigtable to-bigtable.json "input=$P/subscriptions/events-bt,table=$TABLE,dead=$P/topics/dead"
BT_ID=$JOB_ID
wait_state "$BT_ID" JOB_STATE_RUNNING 30
api GET "$LOC/jobs/$BT_ID"
expect_json .environment.serviceKmsKeyName "$JOB_KEY"
publish events '{"user":"ann","id":1,"amount":3,"note":"first","ts":1700000000123456}' '{"user":"bob","id":2,"amount":4.5}' \
    '{"user":"ann","id":3,"amount":"7","note":null}' '{"user":"carl","amount":1}' 'not json'
expect_status 200
wait_for 30 "rows in Bigtable" bash -c "[[ \$(curl -s -X POST '$BIGTABLE_URL/v2/$TABLE:readRows' -d '{}' | jq '[.[] | .chunks[]? | select(.commitRow)] | length') == 3 ]]"
expect_eq "ann#1:amount=3;ann#1:note=first;ann#3:amount=7;bob#2:amount=4.5" "$(bt_rows)" \
    "each message is a row keyed {user}#{id}, fields as cells (a missing or null field writes none)"
got=""
for _ in $(seq 1 50); do got="$got$(pull_dead dead-sub)"; [[ -n "$got" ]] && break; sleep 0.2; done
expect_eq "{\"user\":\"carl\",\"amount\":1} <Step 'rows': the row key needs {id}, which the element does not have.>" \
    "$got" "a message without the key's field goes to the dead letter, the reason naming the step"
api POST "$BIGTABLE_URL/v2/$TABLE:readRows" '{}'
expect_eq "1700000000123000" "$(jq -r '[.[] | .chunks[]? | select(.rowKey == "'"$(b64 'ann#1')"'") | .timestampMicros] | unique | join(",")' <<<"$BODY")" \
    "the cells of a message with a timestampField carry it, rounded to the millisecond"
TS2=$(jq -r '[.[] | .chunks[]? | select(.rowKey == "'"$(b64 'bob#2')"'") | .timestampMicros][0] // "1"' <<<"$BODY")
expect_eq 0 $(( TS2 % 1000 )) "the others carry the message's publish time, in milliseconds"
publish events '{"user":"ann","id":1,"amount":3,"note":"first","ts":1700000000123456}'
wait_for 30 "the repeated message consumed" bash -c "[[ \$(curl -s '$LOC/jobs/$BT_ID/metrics' | jq '.metrics[] | select(.name.context.output_user_name == \"read.out0\") | .scalar') == 6 ]]"
expect_eq "ann#1:amount=3;ann#1:note=first;ann#3:amount=7;bob#2:amount=4.5" "$(bt_rows)" \
    "the same message again rewrites the same cells (idempotent by row key and timestamp)"
api POST "$CONTROL_URL/emulator/v1/internal:flush" '{}'
api POST "$CONTROL_URL/v2/entries:list" "{\"resourceNames\":[\"$P\"],\"pageSize\":1000}"
expect_contains "$(jq -r '[.entries[].protoPayload | select(.methodName | test("MutateRows")) | .metadata.callerResource] | join(" ")' <<<"$BODY")" \
    "jobs/$BT_ID" "Bigtable's audit entries of the writes carry the job id"

section "the Spanner variant: rows typed as the table's columns"
launch to-spanner to-spanner.json "input=$P/subscriptions/events-sp-sub,database=$DB,dead=$P/topics/dead"
SP_ID=$JOB_ID
wait_state "$SP_ID" JOB_STATE_RUNNING 30
publish events-sp '{"user":"ann","id":1,"amount":3,"note":"first"}' '{"user":"bob","id":"2","amount":"4.5"}' \
    '{"user":"dan","id":4,"amount":"lots"}' '{"user":"fay","amount":2}'
expect_status 200
wait_for 30 "rows in Spanner" bash -c "[[ \$(curl -s '$LOC/jobs/$SP_ID/metrics' | jq '.metrics[] | select(.name.context.output_user_name == \"store.out0\") | .scalar') == 2 ]]"
if (( HAVE_GCLOUD )); then
    out=$(gcloud spanner databases execute-sql events --instance=events-sp \
        --sql="SELECT Id, UserName, Amount FROM Events ORDER BY Id" --format=json 2>"$TEST_TMP/err")
    expect_eq 0 $? "execute-sql $(cat "$TEST_TMP/err")"
    BODY=$out
else
    sp_query "SELECT Id, UserName, Amount FROM Events ORDER BY Id"
fi
expect_eq "1/ann/3;2/bob/4.5" "$(jq -r '[.rows[] | join("/")] | join(";")' <<<"$BODY")" \
    "numbers and numeric strings are converted to INT64 and FLOAT64"
got=""
for _ in $(seq 1 50); do got="$got$(pull_dead dead-sub)"; [[ -n "$got" ]] && break; sleep 0.2; done
expect_contains "$got" "Step 'store': field 'amount' (column Events.Amount): \"lots\" is not a valid FLOAT64." \
    "a value of the wrong type goes to the dead letter, naming the step, field and column"
expect_contains "$got" "Step 'store': field 'id' (key column Events.Id) is missing." \
    "so does a message without the key column's field"

section "revoking the Spanner database's key fails its job"
api PATCH "$KMS_URL/v1/$SP_KEY/cryptoKeyVersions/1?updateMask=state" '{"state":"DISABLED"}'
expect_status 200
api POST "$CONTROL_URL/emulator/v1/keyChecks:run" '{}'
expect_status 200
publish events-sp '{"user":"eve","id":5,"amount":1}'
wait_state "$SP_ID" JOB_STATE_FAILED 30
expect_eq JOB_STATE_FAILED "$(job_state "$SP_ID")" "the job writing to the revoked database is FAILED"
api GET "$LOC/jobs/$SP_ID/messages?minimumImportance=JOB_MESSAGE_ERROR"
expect_contains "$BODY" "Step 'store': writing to $DB failed: FAILED_PRECONDITION" \
    "its JOB_MESSAGE_ERROR names the step, the database and the reason"
sp_query "SELECT COUNT(*) FROM Events"
expect_error_json 400 FAILED_PRECONDITION
expect_eq JOB_STATE_RUNNING "$(job_state "$BT_ID")" "the Bigtable job runs on"

section "revoking the job's, the topic's and the table's keys fails the Bigtable job"
for key in "$JOB_KEY" "$TOPIC_KEY" "$BT_KEY"; do
    api PATCH "$KMS_URL/v1/$key/cryptoKeyVersions/1?updateMask=state" '{"state":"DISABLED"}'
    expect_status 200
done
api POST "$CONTROL_URL/emulator/v1/clock:advance" '{"seconds": 301}'
api POST "$CONTROL_URL/emulator/v1/keyChecks:run" '{}'
wait_state "$BT_ID" JOB_STATE_FAILED 30
expect_eq JOB_STATE_FAILED "$(job_state "$BT_ID")" "the pipeline is FAILED"
if (( HAVE_GCLOUD )); then
    BODY=$(gcloud beta dataflow logs list "$BT_ID" --region $R --importance=error 2>&1)
else
    api GET "$LOC/jobs/$BT_ID/messages?minimumImportance=JOB_MESSAGE_ERROR"
fi
expect_contains "$BODY" "Cloud KMS key" "the error names a key"
grep -qE "(dataflow|topic|bigtable) is not accessible|cryptoKeys/(dataflow|topic|bigtable) protecting" <<<"$BODY"
expect_eq 0 $? "the key named is one of those revoked: $(_short "$BODY")"
api POST "$BIGTABLE_URL/v2/$TABLE:readRows" '{}'
expect_error_json 400 FAILED_PRECONDITION
api POST "$PUBSUB_URL/v1/$P/topics/events:publish" "{\"messages\":[{\"data\":\"$(b64 late)\"}]}"
expect_error_json 400 FAILED_PRECONDITION

stop_stack
finish
