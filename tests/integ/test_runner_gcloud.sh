#!/usr/bin/env bash
# test_runner_gcloud: the Dataflow runner driven by the real gcloud CLI and curl.
#
# Google's Error JSON for bad launches (region, key location, template, parameters, a
# pipeline naming its bad step); seed 000: `gcloud dataflow jobs run` Word_Count with
# --dataflow-kms-key over a text in gs://, describe showing the key, the `word: count`
# output equal to coreutils' count, messages, metrics and audit entries carrying the job
# id, `metrics list --changed-after` (startTime) showing only what changed; `jobs list`
# filters; Cloud_PubSub_to_Cloud_PubSub moving real messages through the emulator's Pub/Sub
# with an attribute filter (a filtered-out message changes only the counters before the
# filter, as startTime shows), then cancelled; `flex-template run` of a
# custom JSON pipeline (fixed windows on the emulator clock, a combine, a dead-letter
# topic, state values never in plaintext on disk), resumed across a restart of the stack,
# then drained; and a job whose key is disabled failing with a JOB_MESSAGE_ERROR naming
# the key. Fields the runner cannot honour are refused with UNIMPLEMENTED naming them, never
# dropped: a launch's update of a running job (`flex-template run --update`), UpdateJob's
# runtime options (`jobs update-options`), replace_job_id and created_from_snapshot_id;
# additional user labels land on the job; jobs.create with a clientRequestId is idempotent.
# templates:launch's dynamicTemplate is UNIMPLEMENTED, and with gcsPath Google's oneof
# error; ListJobs' name lists the jobs of one name, with filter and across pages, and
# jobs:aggregated refuses it. The enum query parameters (view, filter, minimumImportance)
# take a name or a proto number; any other value is INVALID_ARGUMENT in Google's words.
# full-run-only: a gcloud walkthrough; `FAST=1 tests/integ/run-all` (scripts/test-all --fast) skips it
source "$(dirname "$0")/lib.sh"

PROJECT=runner-project
P=projects/$PROJECT
R=us-central1
DATA="$TEST_TMP/data"
mkdir -p "$DATA/gcs/runner-bkt/pipelines"
start_persistent
setup_gcloud "$PROJECT"
LOC="$RUNNER_URL/v1b3/$P/locations/$R"
GLOBAL_KEY="$P/locations/global/keyRings/r/cryptoKeys/job-key"
FAIL_KEY="$P/locations/global/keyRings/r/cryptoKeys/fail-key"

job_state() { api GET "$LOC/jobs/$1"; jq -r .currentState <<<"$BODY"; }
# list_pages URL FIELD: GET URL&pageSize=1, token after token (at most 50 pages); the ids
# of the FIELD array of every page into LISTED (comma-separated), the pages into PAGES
list_pages() {
    local token=""
    LISTED="" PAGES=0
    while (( PAGES < 50 )); do
        api GET "$1&pageSize=1${token:+&pageToken=$token}"
        LISTED+="${LISTED:+,}$(jq -r "[.$2[].id] | join(\",\")" <<<"$BODY")"
        PAGES=$((PAGES + 1))
        token=$(jq -r '.nextPageToken // empty' <<<"$BODY")
        [[ -n $token ]] || break
    done
}
# wait_state JOB STATE [SECONDS]
wait_state() {
    local job=$1 want=$2 seconds=${3:-60}
    wait_for "$seconds" "job $job in $want" bash -c "[[ \$(curl -s '$LOC/jobs/$job' | jq -r .currentState) == '$want' ]]"
}
advance() { api POST "$CONTROL_URL/emulator/v1/clock:advance" "{\"seconds\": $1}"; expect_status 200; }
pull_texts() {
    api POST "$PUBSUB_URL/v1/$P/subscriptions/$1:pull" '{"maxMessages": 100, "returnImmediately": true}'
    jq -r '[.receivedMessages[]?.message.data | @base64d] | sort | join(",")' <<<"$BODY"
    local ids
    ids=$(jq -c '{ackIds: [.receivedMessages[]?.ackId]}' <<<"$BODY")
    api POST "$PUBSUB_URL/v1/$P/subscriptions/$1:acknowledge" "$ids"
}

section "KMS keys (global key ring r; one in us-east1 for the location rule)"
for loc in global us-east1; do
    api POST "$KMS_URL/v1/$P/locations/$loc/keyRings?keyRingId=r" '{}'
    expect_status 200
done
for key in job-key fail-key; do
    api POST "$KMS_URL/v1/$P/locations/global/keyRings/r/cryptoKeys?cryptoKeyId=$key" '{"purpose":"ENCRYPT_DECRYPT"}'
    expect_status 200
done
api POST "$KMS_URL/v1/$P/locations/us-east1/keyRings/r/cryptoKeys?cryptoKeyId=east" '{"purpose":"ENCRYPT_DECRYPT"}'
expect_status 200

section "launch errors in Google's JSON"
WC='"gcsPath":"gs://dataflow-templates/latest/Word_Count"'
WC_PARAMS='"parameters":{"inputFile":"gs://runner-bkt/in.txt","output":"gs://runner-bkt/out/wc"}'
api POST "$LOC/templates" "{\"jobName\":\"wc\",$WC,$WC_PARAMS,\"environment\":{\"kmsKeyName\":\"$P/locations/us-east1/keyRings/r/cryptoKeys/east\"}}"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "in location 'us-east1'" "the key location error names the key's location"
expect_contains "$BODY" "job's region 'us-central1'" "and the job's region"
api POST "$RUNNER_URL/v1b3/$P/locations/nowhere1/templates" "{\"jobName\":\"wc\",$WC,$WC_PARAMS}"
expect_error_json 400 INVALID_ARGUMENT
api POST "$LOC/templates" "{\"jobName\":\"Bad_Name\",$WC,$WC_PARAMS}"
expect_error_json 400 INVALID_ARGUMENT
api POST "$LOC/templates" '{"jobName":"wc","gcsPath":"gs://dataflow-templates/latest/Word_Count","parameters":{"inputFile":"gs://runner-bkt/in.txt"}}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "needs parameter 'output'" "a missing template parameter is named"
api POST "$LOC/templates" '{"jobName":"wc","gcsPath":"gs://dataflow-templates/latest/Nope","parameters":{}}'
expect_error_json 404 NOT_FOUND
cat >"$DATA/gcs/runner-bkt/pipelines/broken.json" <<'EOF'
{"steps": [{"name": "read", "transform": "ReadText", "path": "gs://runner-bkt/in.txt"},
           {"name": "shout", "transform": "Map", "input": "read", "fn": "yell"}]}
EOF
api POST "$LOC/flexTemplates:launch" '{"launchParameter":{"jobName":"broken","containerSpecGcsPath":"gs://runner-bkt/pipelines/broken.json"}}'
expect_error_json 400 INVALID_ARGUMENT
expect_json .error.message "Invalid pipeline: step 'shout': unknown fn 'yell' for Map."
api POST "$LOC/templates:launch?gcsPath=gs://dataflow-templates/latest/Word_Count&validateOnly=True" "{\"jobName\":\"check\",$WC_PARAMS}"
expect_status 200
expect_json '.job == null' true
api GET "$LOC/jobs/2026-01-01_00_00_00-1234567890123456789"
expect_error_json 404 NOT_FOUND
api POST "$LOC/jobs/x:snapshot" '{}'
expect_error_json 400 UNIMPLEMENTED
api POST "$LOC/templates" "{\"jobName\":\"wc\",$WC,$WC_PARAMS,\"environment\":{\"additionalUserLabels\":{\"Team\":\"x\"}}}"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$(jq -r .error.message <<<"$BODY")" "'environment.additional_user_labels': Invalid label key \"Team\"" \
    "an additional user label breaking Google's label rules is named"

section "a launch updating a running job is refused (UNIMPLEMENTED), not run as a second job"
WC_LAUNCH="$LOC/templates:launch?gcsPath=gs://dataflow-templates/latest/Word_Count"
api POST "$WC_LAUNCH" "{\"jobName\":\"wc\",$WC_PARAMS,\"update\":true}"
expect_error_json 400 UNIMPLEMENTED
expect_json .error.message "Updating a running job (update) is not implemented by this emulator; launch a new job, or cancel or drain the running one."
api POST "$WC_LAUNCH" "{\"jobName\":\"wc\",$WC_PARAMS,\"transformNameMapping\":{\"CountWords\":\"Count\"}}"
expect_error_json 400 UNIMPLEMENTED
expect_contains "$BODY" "(transform_name_mapping) is not implemented by this emulator" "the name mapping is named"
api POST "$WC_LAUNCH&validateOnly=True" "{\"jobName\":\"wc\",$WC_PARAMS,\"update\":false,\"transformNameMapping\":{}}"
expect_status 200 # no update asked for
api POST "$LOC/flexTemplates:launch" '{"launchParameter":{"jobName":"broken","containerSpecGcsPath":"gs://runner-bkt/pipelines/broken.json","transformNameMappings":{"a":"b"}}}'
expect_error_json 400 UNIMPLEMENTED
expect_contains "$BODY" "(launch_parameter.transform_name_mappings) is not implemented" "the flex name mappings are named"
if (( HAVE_GCLOUD )); then
    out=$(gcloud dataflow flex-template run broken --template-file-gcs-location gs://runner-bkt/pipelines/broken.json \
        --region $R --update 2>&1)
    expect_contains "$out" "Updating a running job (launch_parameter.update) is not implemented by this emulator" \
        "flex-template run --update shows the refusal"
else
    api POST "$LOC/flexTemplates:launch" '{"launchParameter":{"jobName":"broken","containerSpecGcsPath":"gs://runner-bkt/pipelines/broken.json","update":true}}'
    expect_error_json 400 UNIMPLEMENTED
    expect_contains "$BODY" "(launch_parameter.update)" "the flex update is named"
fi

section "templates:launch takes gcsPath or dynamicTemplate (a oneof); dynamic templates are UNIMPLEMENTED"
DYN="dynamicTemplate.gcsPath=gs://runner-bkt/dynamic.json&dynamicTemplate.stagingLocation=gs://runner-bkt/staging"
api POST "$LOC/templates:launch?$DYN" "{\"jobName\":\"dynamic\",$WC_PARAMS}"
expect_error_json 400 UNIMPLEMENTED
expect_json .error.message "Launching a dynamic template (dynamic_template) is not implemented by this emulator; launch a classic template with gcsPath instead."
api POST "$RUNNER_URL/v1b3/$P/templates:launch?dynamic_template.staging_location=gs://runner-bkt/staging" "{\"jobName\":\"dynamic\",$WC_PARAMS}"
expect_error_json 400 UNIMPLEMENTED # by its proto name too, on the route without a location
api POST "$WC_LAUNCH&dynamicTemplate.gcsPath=gs://runner-bkt/dynamic.json" "{\"jobName\":\"both\",$WC_PARAMS}"
expect_error_json 400 INVALID_ARGUMENT
expect_json .error.message "Invalid JSON payload received. Oneof field 'template' is already set. Cannot set 'dynamicTemplate'"
api GET "$LOC/jobs"
expect_status 200
expect_json '.jobs | length' 0 # no refused launch made a job

section "seed 000: Word_Count with --dataflow-kms-key, by gcloud"
{
    for i in $(seq 1 200); do echo "The king's daughters, the fool and the king $i"; done
    echo ""
    echo "Blow, winds, and crack your cheeks! rage! blow!"
} >"$DATA/gcs/runner-bkt/in.txt"
if (( HAVE_GCLOUD )); then
    WC_ID=$(gcloud dataflow jobs run wordcount --gcs-location gs://dataflow-templates-us-central1/latest/Word_Count \
        --region $R --staging-location gs://runner-bkt/tmp --dataflow-kms-key "$GLOBAL_KEY" \
        --additional-user-labels=team=data,seed=s000 \
        --parameters inputFile=gs://runner-bkt/in.txt,output=gs://runner-bkt/out/wc --format='value(id)' 2>"$TEST_TMP/err")
    expect_eq 0 $? "jobs run $(cat "$TEST_TMP/err")"
else
    api POST "$LOC/templates" "{\"jobName\":\"wordcount\",$WC,$WC_PARAMS,\"environment\":{\"kmsKeyName\":\"$GLOBAL_KEY\",\"additionalUserLabels\":{\"team\":\"data\",\"seed\":\"s000\"}}}"
    WC_ID=$(jq -r .id <<<"$BODY")
fi
api GET "$LOC/jobs/$WC_ID"
expect_json '.labels | to_entries | map("\(.key)=\(.value)") | sort | join(",")' "seed=s000,team=data"
[[ "$WC_ID" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}_[0-9]{2}_[0-9]{2}_[0-9]{2}-[1-9][0-9]{18}$ ]]
expect_eq 0 $? "the job id '$WC_ID' has Google's shape"
wait_state "$WC_ID" JOB_STATE_DONE 60
expect_eq JOB_STATE_DONE "$(job_state "$WC_ID")" "Word_Count ends DONE"
expected=$(tr -cs "A-Za-z'" '\n' <"$DATA/gcs/runner-bkt/in.txt" | grep -v '^$' | sort | uniq -c | awk '{print $2": "$1}' | sort)
actual=$(cat "$DATA"/gcs/runner-bkt/out/wc-00000-of-00001 2>/dev/null | sort)
expect_eq "$expected" "$actual" "the output is coreutils' word count as 'word: count'"
if (( HAVE_GCLOUD )); then
    expect_eq "$GLOBAL_KEY JOB_STATE_DONE Batch" \
        "$(gcloud dataflow jobs describe "$WC_ID" --region $R --format='value(environment.serviceKmsKeyName,currentState,type.basename())' | tr '\t' ' ' | sed 's/JOB_TYPE_BATCH/Batch/')" \
        "describe shows the key"
    expect_contains "$(gcloud dataflow jobs list --region $R --status=terminated --format='value(id,name,state)')" \
        "$WC_ID" "jobs list --status=terminated shows it"
    expect_eq "" "$(gcloud dataflow jobs list --region $R --status=active --format='value(id)')" "and --status=active does not"
    expect_contains "$(gcloud dataflow jobs list --format='value(id)' 2>/dev/null)" "$WC_ID" "jobs:aggregated (no --region) shows it"
    logs=$(gcloud beta dataflow logs list "$WC_ID" --region $R --importance=detailed 2>&1)
    expect_contains "$logs" "Workers have started successfully." "logs list shows the job's messages"
    metrics=$(gcloud beta dataflow metrics list "$WC_ID" --region $R --source=user --format='value(name.name,scalar)' 2>&1)
    expect_eq "emptyLines	1" "$metrics" "the user counter emptyLines counted the one empty line"
fi
api GET "$LOC/jobs/$WC_ID?view=JOB_VIEW_ALL"
expect_json '[.steps[].properties.user_name] | join(",")' "ReadLines,ExtractWords,CountWords,FormatAsText,WriteCounts"
# view binds google.dataflow.v1beta3.JobView by name or proto number: DESCRIPTION shows
# the steps as ALL does; SUMMARY and UNKNOWN leave them out; any other value is refused
for view in JOB_VIEW_DESCRIPTION 2 3; do
    api GET "$LOC/jobs/$WC_ID?view=$view"
    expect_json '.steps | length' 5
done
for view in JOB_VIEW_SUMMARY 1 JOB_VIEW_UNKNOWN 0; do
    api GET "$LOC/jobs/$WC_ID?view=$view"
    expect_json '[.id, has("steps")] | join(" ")' "$WC_ID false"
done
JOB_VIEW_ERROR="Invalid value at 'view' (type.googleapis.com/google.dataflow.v1beta3.JobView), \"garbage\""
api GET "$LOC/jobs/$WC_ID?view=garbage"
expect_error_json 400 INVALID_ARGUMENT
expect_json .error.message "$JOB_VIEW_ERROR"
api GET "$LOC/jobs/$WC_ID?view=7"
expect_error_json 400 INVALID_ARGUMENT
expect_json .error.message "Invalid value at 'view' (type.googleapis.com/google.dataflow.v1beta3.JobView), 7"
api GET "$RUNNER_URL/v1b3/$P/jobs/$WC_ID?location=$R&view=garbage"
expect_error_json 400 INVALID_ARGUMENT
expect_json .error.message "$JOB_VIEW_ERROR"
api POST "$LOC/jobs?view=garbage" '{"name":"never-created"}'
expect_error_json 400 INVALID_ARGUMENT
expect_json .error.message "$JOB_VIEW_ERROR"
api GET "$LOC/jobs/$WC_ID/metrics"
expect_json '.metrics[] | select(.name.context.output_user_name == "ReadLines.out0") | .scalar' 202
WC_METRICS=$(jq -r '[.metrics[] | [.name.name, .name.context, .scalar, .updateTime]] | tojson' <<<"$BODY")
WC_METRIC_TIME=$(jq -r .metricTime <<<"$BODY")
# startTime: only the metrics changed since then; a finished job's last changed before it ended
api GET "$LOC/jobs/$WC_ID/metrics?startTime=$WC_METRIC_TIME"
expect_json '.metrics | length' 0
api GET "$LOC/jobs/$WC_ID/metrics?startTime=2000-01-01T00:00:00Z"
expect_json '[.metrics[] | [.name.name, .name.context, .scalar, .updateTime]] | tojson' "$WC_METRICS"
api GET "$LOC/jobs/$WC_ID/metrics?start_time=2099-01-01T00:00:00Z"
expect_json '.metrics | length' 0
api GET "$LOC/jobs/$WC_ID/metrics?startTime=yesterday"
expect_error_json 400 INVALID_ARGUMENT
expect_json .error.message "Invalid value at 'start_time' (type.googleapis.com/google.protobuf.Timestamp), \"yesterday\""
if (( HAVE_GCLOUD )); then
    # gcloud's --changed-after sends startTime (and filters on updateTime too); Python reads
    # microseconds at most
    expect_eq "Listed 0 items." "$(gcloud beta dataflow metrics list "$WC_ID" --region $R \
        --changed-after="$(sed -E 's/(\.[0-9]{6})[0-9]*Z$/\1Z/' <<<"$WC_METRIC_TIME")" 2>&1)" \
        "metrics list --changed-after the last call shows nothing for the finished job"
fi
api GET "$LOC/jobs/$WC_ID/messages?minimumImportance=JOB_MESSAGE_ERROR"
expect_json '.jobMessages | length' 0

section "job messages: pages, and the time bounds gcloud's logs list --after/--before send"
api GET "$LOC/jobs/$WC_ID/messages"
ALL_IDS=$(jq -r '[.jobMessages[].id] | join(",")' <<<"$BODY")
FIRST_TIME=$(jq -r '.jobMessages[0].time' <<<"$BODY")
LAST_TIME=$(jq -r '.jobMessages[-1].time' <<<"$BODY")
expect_json '.jobMessages | length > 2' true
expect_json 'has("nextPageToken")' false
# one message a page, following the tokens, gives them all in order
list_pages "$LOC/jobs/$WC_ID/messages?" jobMessages
expect_eq "$ALL_IDS" "$LISTED" "pageSize=1 pages, token after token, list every message in order"
expect_eq "$(tr ',' '\n' <<<"$ALL_IDS" | wc -l)" "$PAGES" "one page per message"
api GET "$LOC/jobs/$WC_ID/messages?startTime=$LAST_TIME"
expect_json '[.jobMessages[].time] | all(. == "'"$LAST_TIME"'")' true
expect_json '.jobMessages | length >= 1' true # start_time is inclusive
api GET "$LOC/jobs/$WC_ID/messages?endTime=$FIRST_TIME"
expect_json '.jobMessages | length' 0 # end_time is exclusive
api GET "$LOC/jobs/$WC_ID/messages?startTime=2000-01-01T00:00:00Z&end_time=2099-01-01T00:00:00%2B01:00"
expect_json '[.jobMessages[].id] | join(",")' "$ALL_IDS"
api GET "$LOC/jobs/$WC_ID/messages?startTime=yesterday"
expect_error_json 400 INVALID_ARGUMENT
expect_json .error.message "Invalid value at 'start_time' (type.googleapis.com/google.protobuf.Timestamp), \"yesterday\""
api GET "$LOC/jobs/$WC_ID/messages?pageToken=bm90LWEtbnVtYmVy"
expect_error_json 400 INVALID_ARGUMENT
# minimumImportance binds google.dataflow.v1beta3.JobMessageImportance by name or proto
# number (BASIC, added last, is 5; WARNING 3): this job's messages are all BASIC
for importance in JOB_MESSAGE_IMPORTANCE_UNKNOWN 0 JOB_MESSAGE_BASIC 5; do
    api GET "$LOC/jobs/$WC_ID/messages?minimumImportance=$importance"
    expect_json '[.jobMessages[].id] | join(",")' "$ALL_IDS"
done
for importance in JOB_MESSAGE_WARNING 3 4; do
    api GET "$LOC/jobs/$WC_ID/messages?minimumImportance=$importance"
    expect_json '.jobMessages | length' 0
done
api GET "$LOC/jobs/$WC_ID/messages?minimumImportance=LOUD"
expect_error_json 400 INVALID_ARGUMENT
expect_json .error.message "Invalid value at 'minimum_importance' (type.googleapis.com/google.dataflow.v1beta3.JobMessageImportance), \"LOUD\""
if (( HAVE_GCLOUD )); then
    expect_eq "Listed 0 items." "$(gcloud beta dataflow logs list "$WC_ID" --region $R --importance=detailed --after=2099-01-01 2>&1)" \
        "logs list --after a future date shows nothing"
    expect_contains "$(gcloud beta dataflow logs list "$WC_ID" --region $R --importance=detailed --after=2000-01-01 --limit=1 2>&1)" \
        "$(jq -r '.jobMessages[0].messageText // empty' <<<"$(curl -s "$LOC/jobs/$WC_ID/messages?minimumImportance=JOB_MESSAGE_DETAILED&pageSize=1")")" \
        "logs list --after a past date --limit=1 shows the first message"
fi

section "UpdateJob changes requested_state only: runtime options are refused (UNIMPLEMENTED)"
if (( HAVE_GCLOUD )); then
    out=$(gcloud dataflow jobs update-options --min-num-workers=1 "$WC_ID" --region $R 2>&1)
    expect_contains "$out" "Updating runtime_updatable_params.min_num_workers (update_mask) is not implemented by this emulator" \
        "jobs update-options shows the refusal naming the field"
fi
api PUT "$LOC/jobs/$WC_ID?updateMask=runtime_updatable_params.max_num_workers" '{"runtimeUpdatableParams":{"maxNumWorkers":3}}'
expect_error_json 400 UNIMPLEMENTED
api PUT "$LOC/jobs/$WC_ID" '{"runtimeUpdatableParams":{"minNumWorkers":1}}'
expect_error_json 400 UNIMPLEMENTED
expect_contains "$BODY" "runtime_updatable_params is not implemented by this emulator" "the body's runtime options are named"
api PUT "$LOC/jobs/$WC_ID?updateMask=labels" '{"labels":{"team":"other"}}'
expect_error_json 400 UNIMPLEMENTED
api PUT "$LOC/jobs/$WC_ID?updateMask=requested_state" '{"requestedState":"JOB_STATE_CANCELLED"}'
expect_error_json 400 FAILED_PRECONDITION # the mask is served: the DONE job cannot be cancelled
api POST "$CONTROL_URL/emulator/v1/internal:flush" '{}'
api POST "$CONTROL_URL/v2/entries:list" "{\"resourceNames\":[\"$P\"],\"filter\":\"protoPayload.methodName=\\\"Encrypt\\\"\",\"pageSize\":100}"
expect_contains "$(jq -r '[.entries[].protoPayload.metadata.callerResource] | join(" ")' <<<"$BODY")" "jobs/$WC_ID" \
    "the KMS audit entry of the job's key carries the job id"

section "Word_Count over seven bundles: run by worker threads, merged exactly"
awk 'function word(n,  s) { s = ""; do { s = s sprintf("%c", 97 + n % 26); n = int(n / 26) } while (n > 0); return s }
    BEGIN { srand(7); for (i = 0; i < 65000; i++) { line = ""
        for (w = 0; w < 6; w++) line = line (w ? " " : "") word(int(3000 ^ rand()))
        print (i % 1000 == 0 ? "" : line) } }' >"$DATA/gcs/runner-bkt/big.txt"
api POST "$LOC/templates" "{\"jobName\":\"wordcount-big\",$WC,\"parameters\":{\"inputFile\":\"gs://runner-bkt/big.txt\",\"output\":\"gs://runner-bkt/out/big\"},\"environment\":{\"kmsKeyName\":\"$GLOBAL_KEY\"}}"
expect_status 200
BIG_ID=$(jq -r .id <<<"$BODY")
wait_state "$BIG_ID" JOB_STATE_DONE 120
expect_eq JOB_STATE_DONE "$(job_state "$BIG_ID")" "the big Word_Count ends DONE"
# the methods without a location in the path take it from ?location= (us-central1 without)
api GET "$RUNNER_URL/v1b3/$P/jobs/$BIG_ID?location=$R"
expect_json .id "$BIG_ID"
api GET "$RUNNER_URL/v1b3/$P/jobs/$BIG_ID?location=us-east1"
expect_error_json 404 NOT_FOUND
api GET "$RUNNER_URL/v1b3/$P/jobs/$BIG_ID?location=us-central1%2Fjobs%2Fx"
expect_error_json 400 INVALID_ARGUMENT
expected=$(tr -cs "A-Za-z'" '\n' <"$DATA/gcs/runner-bkt/big.txt" | grep -v '^$' | sort | uniq -c | awk '{print $2": "$1}' | sort)
actual=$(sort "$DATA"/gcs/runner-bkt/out/big-00000-of-00001 2>/dev/null)
expect_eq "$(wc -l <<<"$expected") $(md5sum <<<"$expected")" "$(wc -l <<<"$actual") $(md5sum <<<"$actual")" \
    "its counts (about 3,000 words) are coreutils'"
api GET "$LOC/jobs/$BIG_ID/metrics"
expect_json '.metrics[] | select(.name.context.output_user_name == "ReadLines.out0") | .scalar' 65000
expect_json '.metrics[] | select(.name.origin == "user" and .name.name == "emptyLines") | .scalar' 65

section "Cloud_PubSub_to_Cloud_PubSub moves real messages, filtered on an attribute"
for t in ps-in ps-out; do api PUT "$PUBSUB_URL/v1/$P/topics/$t" '{}'; expect_status 200; done
api PUT "$PUBSUB_URL/v1/$P/subscriptions/ps-in-sub" "{\"topic\":\"$P/topics/ps-in\"}"
api PUT "$PUBSUB_URL/v1/$P/subscriptions/ps-out-sub" "{\"topic\":\"$P/topics/ps-out\"}"
expect_status 200
if (( HAVE_GCLOUD )); then
    PS_ID=$(gcloud dataflow jobs run relay --gcs-location gs://dataflow-templates/latest/Cloud_PubSub_to_Cloud_PubSub \
        --region $R --parameters "inputSubscription=$P/subscriptions/ps-in-sub,outputTopic=$P/topics/ps-out,filterKey=lang,filterValue=e[ns]" \
        --format='value(id)' 2>"$TEST_TMP/err")
    expect_eq 0 $? "jobs run relay $(cat "$TEST_TMP/err")"
else
    api POST "$LOC/templates" "{\"jobName\":\"relay\",\"gcsPath\":\"gs://dataflow-templates/latest/Cloud_PubSub_to_Cloud_PubSub\",\"parameters\":{\"inputSubscription\":\"$P/subscriptions/ps-in-sub\",\"outputTopic\":\"$P/topics/ps-out\",\"filterKey\":\"lang\",\"filterValue\":\"e[ns]\"}}"
    PS_ID=$(jq -r .id <<<"$BODY")
fi
wait_state "$PS_ID" JOB_STATE_RUNNING 30
api GET "$LOC/jobs/$PS_ID"
expect_json .type JOB_TYPE_STREAMING
api POST "$PUBSUB_URL/v1/$P/topics/ps-in:publish" \
    '{"messages":[{"data":"aGVsbG8=","attributes":{"lang":"en"}},{"data":"aGFsbG8=","attributes":{"lang":"de"}},{"data":"aG9sYQ==","attributes":{"lang":"es"}}]}'
expect_status 200
got=""
for _ in $(seq 1 100); do
    got="$got,$(pull_texts ps-out-sub)"
    [[ "$got" == *hello* && "$got" == *hola* ]] && break
    sleep 0.2
done
# texts: one line each, sorted
texts() { tr ',' '\n' <<<"$1" | grep -v '^$' | sort | paste -sd, -; }
expect_eq "hello,hola" "$(texts "$got")" "the en and es messages reach the output topic, the de one is filtered out"
api GET "$LOC/jobs/$PS_ID/metrics"
expect_json '.metrics[] | select(.name.name == "inbound-messages") | .scalar' 3
expect_json '.metrics[] | select(.name.name == "filtered-outbound-messages") | .scalar' 2
# a running job's metric is dated by the first call that saw its value: since a call, only
# what changed after it is returned
api GET "$LOC/jobs/$PS_ID/metrics"
PS_SINCE=$(jq -r .metricTime <<<"$BODY")
api GET "$LOC/jobs/$PS_ID/metrics?startTime=$PS_SINCE"
expect_json '.metrics | length' 0
api POST "$PUBSUB_URL/v1/$P/topics/ps-in:publish" '{"messages":[{"data":"Z3V0ZW4gVGFn","attributes":{"lang":"de"}}]}'
expect_status 200
wait_for 30 "the de message is read" bash -c "[[ \$(curl -s '$LOC/jobs/$PS_ID/metrics' | jq '.metrics[] | select(.name.name == \"inbound-messages\") | .scalar') == 4 ]]"
api GET "$LOC/jobs/$PS_ID/metrics?startTime=$PS_SINCE"
expect_json '[.metrics[] | "\(.name.context.output_user_name // .name.name)=\(.scalar)"] | sort | join(",")' \
    "ReadPubSubSubscription.out0=4,inbound-messages=4" # the filter's counters did not change
if (( HAVE_GCLOUD )); then
    expect_eq "inbound-messages	4" "$(gcloud beta dataflow metrics list "$PS_ID" --region $R --source=user \
        --changed-after="$(sed -E 's/(\.[0-9]{6})[0-9]*Z$/\1Z/' <<<"$PS_SINCE")" --format='value(name.name,scalar)' 2>&1)" \
        "metrics list --changed-after shows the counter that changed, not the one that did not"
fi
if (( HAVE_GCLOUD )); then
    out=$(gcloud dataflow jobs cancel "$PS_ID" --region $R 2>&1)
    expect_contains "$out" "Cancelled job [$PS_ID]" "jobs cancel"
else
    api PUT "$LOC/jobs/$PS_ID" '{"requestedState":"JOB_STATE_CANCELLED"}'
fi
wait_state "$PS_ID" JOB_STATE_CANCELLED 30
expect_eq JOB_STATE_CANCELLED "$(job_state "$PS_ID")" "the relay ends CANCELLED"
api PUT "$LOC/jobs/$PS_ID" '{"requestedState":"JOB_STATE_CANCELLED"}'
expect_error_json 400 FAILED_PRECONDITION

section "flex-template run: a custom JSON pipeline with fixed windows and a dead letter"
for t in events-in ev-sums ev-dead; do api PUT "$PUBSUB_URL/v1/$P/topics/$t" '{}'; done
api PUT "$PUBSUB_URL/v1/$P/subscriptions/ev-sub" "{\"topic\":\"$P/topics/events-in\"}"
api PUT "$PUBSUB_URL/v1/$P/subscriptions/ev-sums-sub" "{\"topic\":\"$P/topics/ev-sums\"}"
api PUT "$PUBSUB_URL/v1/$P/subscriptions/ev-dead-sub" "{\"topic\":\"$P/topics/ev-dead\"}"
expect_status 200
cat >"$DATA/gcs/runner-bkt/pipelines/events.json" <<'EOF'
{
  "parameters": {"input": {"required": true}, "output": {"required": true}, "dead": {"required": true}},
  "steps": [
    {"name": "read", "transform": "ReadPubSub", "subscription": "${input}"},
    {"name": "parse", "transform": "ParseJson", "input": "read"},
    {"name": "by-user", "transform": "KeyBy", "input": "parse", "field": "user"},
    {"name": "minute", "transform": "Window", "input": "by-user", "type": "fixed", "size": "60s"},
    {"name": "events", "transform": "GroupByKey", "input": "minute"},
    {"name": "amount", "transform": "ExtractField", "input": "minute", "field": "amount"},
    {"name": "total", "transform": "Combine", "input": "amount", "fn": "sum"},
    {"name": "line", "transform": "Map", "input": "total", "fn": "format", "template": "{key}={value}"},
    {"name": "publish", "transform": "WritePubSub", "input": "line", "topic": "${output}"},
    {"name": "dead-letter", "transform": "WritePubSub", "input": "parse.failed", "topic": "${dead}"}
  ]
}
EOF
advance 120 # a fresh minute
if (( HAVE_GCLOUD )); then
    EV_ID=$(gcloud dataflow flex-template run events --template-file-gcs-location gs://runner-bkt/pipelines/events.json \
        --region $R --dataflow-kms-key "$GLOBAL_KEY" --additional-user-labels=flow=events \
        --parameters "input=$P/subscriptions/ev-sub,output=$P/topics/ev-sums,dead=$P/topics/ev-dead" \
        --format='value(job.id)' 2>"$TEST_TMP/err")
    expect_eq 0 $? "flex-template run $(cat "$TEST_TMP/err")"
else
    api POST "$LOC/flexTemplates:launch" "{\"launchParameter\":{\"jobName\":\"events\",\"containerSpecGcsPath\":\"gs://runner-bkt/pipelines/events.json\",\"environment\":{\"kmsKeyName\":\"$GLOBAL_KEY\",\"additionalUserLabels\":{\"flow\":\"events\"}},\"parameters\":{\"input\":\"$P/subscriptions/ev-sub\",\"output\":\"$P/topics/ev-sums\",\"dead\":\"$P/topics/ev-dead\"}}}"
    EV_ID=$(jq -r .job.id <<<"$BODY")
fi
wait_state "$EV_ID" JOB_STATE_RUNNING 30
api GET "$LOC/jobs/$EV_ID"
expect_json .labels.flow events
MARKER="state-marker-$RANDOM$RANDOM"
b64() { printf %s "$1" | base64 -w0; }
api POST "$PUBSUB_URL/v1/$P/topics/events-in:publish" "{\"messages\":[
  {\"data\":\"$(b64 "{\"user\":\"ann\",\"amount\":3,\"note\":\"$MARKER\"}")\"},
  {\"data\":\"$(b64 '{"user":"bob","amount":4}')\"},
  {\"data\":\"$(b64 '{"user":"ann","amount":5}')\"},
  {\"data\":\"$(b64 'not json at all')\"}]}"
expect_status 200
wait_for 30 "the messages are consumed" bash -c "[[ \$(curl -s '$LOC/jobs/$EV_ID/metrics' | jq '.metrics[] | select(.name.context.output_user_name == \"read.out0\") | .scalar') == 4 ]]"
got=""
for _ in $(seq 1 20); do got="$got$(pull_texts ev-dead-sub)"; [[ -n "$got" ]] && break; sleep 0.2; done
expect_eq "not json at all" "$got" "the unparsable message goes to the dead-letter topic"
expect_eq "" "$(pull_texts ev-sums-sub)" "nothing is emitted before the window closes"
found=$(grep -rl "$MARKER" "$DATA" --exclude-dir=gcs 2>/dev/null || true)
expect_eq "" "$found" "the window's state values are not in plaintext in any file of the data directory"
ls "$DATA/runner/$EV_ID.state.db" >/dev/null 2>&1
expect_eq 0 $? "the job's state lives in its own (encrypted) file"

section "the streaming job survives a restart of the stack"
stop_stack
start_persistent
wait_state "$EV_ID" JOB_STATE_RUNNING 30
expect_eq JOB_STATE_RUNNING "$(job_state "$EV_ID")" "the streaming job runs again"
expect_eq JOB_STATE_DONE "$(job_state "$WC_ID")" "the batch job is still DONE"
advance 61
got=""
for _ in $(seq 1 100); do got="$got,$(pull_texts ev-sums-sub)"; [[ "$got" == *bob* ]] && break; sleep 0.2; done
expect_eq "ann=8,bob=4" "$(texts "$got")" "the window closes on the emulator clock with the sums kept across the restart"
api GET "$LOC/jobs/$EV_ID/messages?minimumImportance=JOB_MESSAGE_WARNING"
expect_contains "$BODY" "The runner restarted; the job resumes." "the restart is in the job's log"
if (( HAVE_GCLOUD )); then
    out=$(gcloud dataflow jobs drain "$EV_ID" --region $R 2>&1)
    expect_contains "$out" "Started draining job [$EV_ID]" "jobs drain"
else
    api PUT "$LOC/jobs/$EV_ID" '{"requestedState":"JOB_STATE_DRAINED"}'
fi
wait_state "$EV_ID" JOB_STATE_DRAINED 30
expect_eq JOB_STATE_DRAINED "$(job_state "$EV_ID")" "the drained job ends DRAINED"
api PUT "$LOC/jobs/$WC_ID" '{"requestedState":"JOB_STATE_DRAINED"}'
expect_error_json 400 FAILED_PRECONDITION

section "a disabled key fails the job with a JOB_MESSAGE_ERROR naming the key"
api PUT "$PUBSUB_URL/v1/$P/topics/kf-in" '{}'
api PUT "$PUBSUB_URL/v1/$P/subscriptions/kf-sub" "{\"topic\":\"$P/topics/kf-in\"}"
api POST "$LOC/templates" "{\"jobName\":\"keyfail\",\"gcsPath\":\"gs://dataflow-templates/latest/Cloud_PubSub_to_Cloud_PubSub\",\"parameters\":{\"inputSubscription\":\"$P/subscriptions/kf-sub\",\"outputTopic\":\"$P/topics/ps-out\"},\"environment\":{\"kmsKeyName\":\"$FAIL_KEY\"}}"
expect_status 200
KF_ID=$(jq -r .id <<<"$BODY")
expect_json .environment.serviceKmsKeyName "$FAIL_KEY"
wait_state "$KF_ID" JOB_STATE_RUNNING 30
api PATCH "$KMS_URL/v1/$FAIL_KEY/cryptoKeyVersions/1?updateMask=state" '{"state":"DISABLED"}'
expect_status 200
advance 290
expect_eq JOB_STATE_RUNNING "$(job_state "$KF_ID")" "before the next key check the job runs on"
advance 20
wait_state "$KF_ID" JOB_STATE_FAILED 30
expect_eq JOB_STATE_FAILED "$(job_state "$KF_ID")" "after the key check the job is FAILED"
if (( HAVE_GCLOUD )); then
    logs=$(gcloud beta dataflow logs list "$KF_ID" --region $R --importance=error 2>&1)
    expect_contains "$logs" "Cloud KMS key $FAIL_KEY is not accessible" "the error message names the key"
else
    api GET "$LOC/jobs/$KF_ID/messages?minimumImportance=JOB_MESSAGE_ERROR"
    expect_contains "$BODY" "Cloud KMS key $FAIL_KEY is not accessible" "the error message names the key"
fi
expect_eq JOB_STATE_DRAINED "$(job_state "$EV_ID")" "a job under another key is unaffected"

section "organization policies: CMEK required for Dataflow, then keys only from other-project"
# Set through the control plane's Org Policy API v2; a launch is refused before any job
# exists (validateOnly launches are checked too), with FAILED_PRECONDITION naming the
# constraint.
ORG="$CONTROL_URL/v2/$P/policies"
WC_CHECK="$LOC/templates:launch?gcsPath=gs://dataflow-templates/latest/Word_Count&validateOnly=True"
refused_by() { # refused_by CONSTRAINT: the last call was refused by that constraint
    expect_error_json 400 FAILED_PRECONDITION
    expect_contains "$BODY" "constraints/$1" "the refusal names constraints/$1"
}
api POST "$ORG" "{\"name\":\"$P/policies/gcp.restrictNonCmekServices\",\"spec\":{\"rules\":[{\"values\":{\"deniedValues\":[\"dataflow.googleapis.com\"]}}]}}"
expect_status 200
api POST "$LOC/templates" "{\"jobName\":\"plain\",$WC,$WC_PARAMS}"
refused_by gcp.restrictNonCmekServices
api POST "$WC_CHECK" "{\"jobName\":\"plain\",$WC_PARAMS}"
refused_by gcp.restrictNonCmekServices
api POST "$LOC/flexTemplates:launch" '{"launchParameter":{"jobName":"plain","containerSpecGcsPath":"gs://runner-bkt/pipelines/broken.json"}}'
refused_by gcp.restrictNonCmekServices # before its (broken) pipeline is parsed
api POST "$WC_CHECK" "{\"jobName\":\"keyed\",$WC_PARAMS,\"environment\":{\"kmsKeyName\":\"$GLOBAL_KEY\"}}"
expect_status 200
api POST "$ORG" "{\"name\":\"$P/policies/gcp.restrictCmekCryptoKeyProjects\",\"spec\":{\"rules\":[{\"values\":{\"allowedValues\":[\"under:projects/other-project\"]}}]}}"
expect_status 200
api POST "$LOC/templates" "{\"jobName\":\"keyed\",$WC,$WC_PARAMS,\"environment\":{\"kmsKeyName\":\"$GLOBAL_KEY\"}}"
refused_by gcp.restrictCmekCryptoKeyProjects
for constraint in gcp.restrictNonCmekServices gcp.restrictCmekCryptoKeyProjects; do
    api DELETE "$ORG/$constraint"
    expect_status 200
done
api POST "$WC_CHECK" "{\"jobName\":\"plain\",$WC_PARAMS}"
expect_status 200

section "jobs.create: a clientRequestId makes it idempotent; replacing a job or a snapshot is refused"
RETRY_PIPELINE='{"steps":[{"name":"read","transform":"ReadText","path":"gs://runner-bkt/in.txt"},{"name":"write","transform":"WriteText","input":"read","path":"gs://runner-bkt/out/retry"}]}'
retry_job() { # retry_job NAME CLIENT_REQUEST_ID [MORE_FIELDS]
    api POST "$LOC/jobs" "{\"name\":\"$1\",\"clientRequestId\":\"$2\"${3:+,$3},\"environment\":{\"sdkPipelineOptions\":{\"pipeline\":$RETRY_PIPELINE}}}"
}
retry_job retry attempt-1 '"labels":{"team":"data"}'
expect_status 200
RETRY_ID=$(jq -r .id <<<"$BODY")
expect_json .clientRequestId attempt-1
retry_job retry attempt-1 '"labels":{"team":"data"}'
expect_status 200
expect_json .id "$RETRY_ID" # the retry answers the first job
retry_job retry attempt-2
expect_status 200
expect_eq true "$(jq --arg id "$RETRY_ID" '.id != $id' <<<"$BODY")" "another clientRequestId creates another job"
retry_job other-name attempt-1
expect_eq true "$(jq --arg id "$RETRY_ID" '.id != $id' <<<"$BODY")" "so does another name"
api GET "$LOC/jobs"
expect_json '[.jobs[] | select(.name == "retry")] | length' 2
retry_job replacing attempt-3 "\"replaceJobId\":\"$RETRY_ID\""
expect_error_json 400 UNIMPLEMENTED
expect_contains "$BODY" "(job.replace_job_id) is not implemented by this emulator" "replace_job_id is named"
api POST "$LOC/jobs?replaceJobId=$RETRY_ID" "{\"name\":\"replacing\",\"environment\":{\"sdkPipelineOptions\":{\"pipeline\":$RETRY_PIPELINE}}}"
expect_error_json 400 UNIMPLEMENTED
retry_job restoring attempt-4 '"createdFromSnapshotId":"snap-1"'
expect_error_json 400 UNIMPLEMENTED
expect_contains "$BODY" "(job.created_from_snapshot_id) is not implemented by this emulator" "created_from_snapshot_id is named"
api GET "$LOC/jobs"
expect_json '[.jobs[] | select(.name == "replacing" or .name == "restoring")] | length' 0

section "ListJobs: name lists the jobs of that name, with filter and pages; jobs:aggregated refuses it"
api PUT "$PUBSUB_URL/v1/$P/topics/paged-in" '{}'
api PUT "$PUBSUB_URL/v1/$P/subscriptions/paged-sub" "{\"topic\":\"$P/topics/paged-in\"}"
expect_status 200
PAGED_IDS=()
for i in 1 2 3; do # three batch jobs named paged, then a streaming one
    api POST "$LOC/templates" "{\"jobName\":\"paged\",$WC,\"parameters\":{\"inputFile\":\"gs://runner-bkt/in.txt\",\"output\":\"gs://runner-bkt/out/paged-$i\"}}"
    expect_status 200
    PAGED_IDS+=("$(jq -r .id <<<"$BODY")")
done
api POST "$LOC/templates" "{\"jobName\":\"paged\",\"gcsPath\":\"gs://dataflow-templates/latest/Cloud_PubSub_to_Cloud_PubSub\",\"parameters\":{\"inputSubscription\":\"$P/subscriptions/paged-sub\",\"outputTopic\":\"$P/topics/ps-out\"}}"
expect_status 200
STREAM_ID=$(jq -r .id <<<"$BODY")
for id in "${PAGED_IDS[@]}"; do wait_state "$id" JOB_STATE_DONE 60; done
BATCH_PAGED="${PAGED_IDS[2]},${PAGED_IDS[1]},${PAGED_IDS[0]}" # newest first
ALL_PAGED="$STREAM_ID,$BATCH_PAGED"
api GET "$LOC/jobs?name=paged"
expect_json '[.jobs[].id] | join(",")' "$ALL_PAGED"
api GET "$LOC/jobs?name=wordcount"
expect_json '[.jobs[].id] | join(",")' "$WC_ID" # the whole name: not wordcount-big
api GET "$LOC/jobs?name=no-job-has-this-name"
expect_json '.jobs | length' 0
api GET "$LOC/jobs"
EVERY_JOB=$(jq -r '[.jobs[].id] | join(",")' <<<"$BODY")
api GET "$LOC/jobs?name="
expect_json '[.jobs[].id] | join(",")' "$EVERY_JOB" # an empty name: no name filter
api GET "$RUNNER_URL/v1b3/$P/jobs?location=$R&name=paged"
expect_json '[.jobs[].id] | join(",")' "$ALL_PAGED"
list_pages "$LOC/jobs?name=paged" jobs
expect_eq "$ALL_PAGED 4" "$LISTED $PAGES" "name=paged&pageSize=1: a page per job of that name, each once, newest first"
list_pages "$LOC/jobs?name=paged&filter=TERMINATED" jobs
expect_eq "$BATCH_PAGED 3" "$LISTED $PAGES" "with filter=TERMINATED: the batch jobs of that name"
api GET "$LOC/jobs?filter=ACTIVE&name=paged"
expect_json '[.jobs[].id] | join(",")' "$STREAM_ID"
# filter binds ListJobsRequest.Filter by name or proto number; UNKNOWN lists them all
api GET "$LOC/jobs?filter=3&name=paged"
expect_json '[.jobs[].id] | join(",")' "$STREAM_ID"
api GET "$LOC/jobs?filter=2&name=paged"
expect_json '[.jobs[].id] | join(",")' "$BATCH_PAGED"
for filter in UNKNOWN 0 ALL 1; do
    api GET "$LOC/jobs?filter=$filter&name=paged"
    expect_json '[.jobs[].id] | join(",")' "$ALL_PAGED"
done
api GET "$LOC/jobs?filter=RUNNING"
expect_error_json 400 INVALID_ARGUMENT
expect_json .error.message "Invalid value at 'filter' (type.googleapis.com/google.dataflow.v1beta3.ListJobsRequest.Filter), \"RUNNING\""
# ListJobs answers summaries whatever the view, but checks it
api GET "$LOC/jobs?view=JOB_VIEW_ALL&name=paged"
expect_json '[.jobs[].id] | join(",")' "$ALL_PAGED"
for url in "$LOC/jobs?view=garbage" "$RUNNER_URL/v1b3/$P/jobs?view=garbage" \
    "$RUNNER_URL/v1b3/$P/jobs:aggregated?view=garbage"; do
    api GET "$url"
    expect_error_json 400 INVALID_ARGUMENT
    expect_json .error.message "$JOB_VIEW_ERROR"
done
api GET "$RUNNER_URL/v1b3/$P/jobs:aggregated?name=paged"
expect_error_json 400 INVALID_ARGUMENT
expect_json .error.message "Filtering by name is not supported by projects.jobs.aggregated; use projects.locations.jobs.list."
api GET "$RUNNER_URL/v1b3/$P/jobs:aggregated?name="
expect_status 200
api PUT "$LOC/jobs/$STREAM_ID" '{"requestedState":"JOB_STATE_CANCELLED"}'
expect_status 200
wait_state "$STREAM_ID" JOB_STATE_CANCELLED 30
api GET "$LOC/jobs?filter=ACTIVE&name=paged"
expect_json '.jobs | length' 0

stop_stack
finish
