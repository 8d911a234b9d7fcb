#!/usr/bin/env bash
# test_api_sweep: hostile requests to every method of every REST API gcloud's generated
# clients know (KMS, Pub/Sub, Bigtable admin, Spanner, Dataflow, and the control plane's
# Resource Manager, Service Usage, Organization Policy and Logging's entries) and of
# Bigtable's data API (bigtable_data_methods.json: gcloud has no client of it), on paths
# naming resources that exist (tests/integ/api_sweep.py: a plausible body, then each field
# replaced by each hostile value in it and alone, hostile bodies and query parameters;
# about 213,000 requests). Each must be answered
# below 500 with Google's error JSON, no service may restart (a crash), and a project the
# sweep never names keeps its data.
# With an ASan build (`make asan`) every tenth request only (SWEEP_STRIDE=N sets the stride).
# SWEEP_OUT=DIR keeps each API's report (a line per method) in DIR.
# full-run-only: about 213,000 requests (35 s); `FAST=1 tests/integ/run-all` skips it
source "$(dirname "$0")/lib.sh"

require_gcloud_clients
start_stack

P=projects/sweep-project
KEEP=projects/keep-project
KEY="$P/locations/us-central1/keyRings/kr/cryptoKeys/k"
made() { expect_status 200; }

section "resources for the sweep to name (project sweep-project)"
api POST "$KMS_URL/v1/$P/locations/us-central1/keyRings?keyRingId=kr" '{}'; made
api POST "$KMS_URL/v1/$P/locations/us-central1/keyRings/kr/cryptoKeys?cryptoKeyId=k" '{"purpose":"ENCRYPT_DECRYPT"}'; made
api POST "$KMS_URL/v1/$P/locations/us-central1/keyRings/kr/importJobs?importJobId=ij" \
    '{"importMethod":"RSA_OAEP_3072_SHA1_AES_256","protectionLevel":"HSM"}'; made
api PUT "$PUBSUB_URL/v1/$P/topics/sweep-topic" "{\"kmsKeyName\":\"$KEY\",\"messageStoragePolicy\":{\"allowedPersistenceRegions\":[\"us-central1\"]}}"; made
api PUT "$PUBSUB_URL/v1/$P/subscriptions/sweep-sub" "{\"topic\":\"$P/topics/sweep-topic\"}"; made
api POST "$PUBSUB_URL/v1/$P/schemas?schemaId=sweep-schema" '{"type":"AVRO","definition":"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"string\"}]}"}'; made
api PUT "$PUBSUB_URL/v1/$P/snapshots/sweep-snap" "{\"subscription\":\"$P/subscriptions/sweep-sub\"}"; made
api POST "$BIGTABLE_URL/v2/$P/instances" '{"instanceId":"sweep-inst","instance":{"displayName":"Sweep"},"clusters":{"sweep-c1":{"location":"projects/sweep-project/locations/us-central1-b","serveNodes":1}}}'; made
api POST "$BIGTABLE_URL/v2/$P/instances/sweep-inst/tables" '{"tableId":"bt","table":{"columnFamilies":{"cf":{}}}}'; made
api POST "$BIGTABLE_URL/v2/$P/instances/sweep-inst/appProfiles?appProfileId=ap" '{"singleClusterRouting":{"clusterId":"sweep-c1"}}'; made
api POST "$BIGTABLE_URL/v2/$P/instances/sweep-inst/tables/bt/authorizedViews?authorizedViewId=av" \
    '{"subsetView":{"rowPrefixes":["YQ=="]}}'; made
api POST "$SPANNER_URL/v1/$P/instances" "{\"instanceId\":\"si\",\"instance\":{\"config\":\"$P/instanceConfigs/regional-us-central1\",\"displayName\":\"Sweep\",\"nodeCount\":1}}"; made
wait_for 30 "instance si READY" bash -c "[[ \$(curl -s '$SPANNER_URL/v1/$P/instances/si' | jq -r .state) == READY ]]"
api POST "$SPANNER_URL/v1/$P/instances/si/databases" "{\"createStatement\":\"CREATE DATABASE sd\",\"extraStatements\":[\"CREATE TABLE T (K INT64, V STRING(MAX)) PRIMARY KEY (K)\"],\"encryptionConfig\":{\"kmsKeyName\":\"$KEY\"}}"; made
wait_for 30 "database sd READY" bash -c "[[ \$(curl -s '$SPANNER_URL/v1/$P/instances/si/databases/sd' | jq -r .state) == READY ]]"
api POST "$SPANNER_URL/v1/$P/instances/si/databases/sd/sessions" '{}'; made
SESSION=$(jq -r .name <<<"$BODY")
api POST "$RUNNER_URL/v1b3/$P/locations/us-central1/templates" \
    '{"jobName":"wc","gcsPath":"gs://dataflow-templates/latest/Word_Count","parameters":{"inputFile":"gs://sweep-bkt/in.txt","output":"gs://sweep-bkt/out/wc"}}'; made
JOB=$(jq -r .id <<<"$BODY")

section "data in a project the sweep never names"
api PUT "$PUBSUB_URL/v1/$KEEP/topics/keep-topic" '{}'; made
api PUT "$PUBSUB_URL/v1/$KEEP/subscriptions/keep-sub" "{\"topic\":\"$KEEP/topics/keep-topic\"}"; made
api POST "$PUBSUB_URL/v1/$KEEP/topics/keep-topic:publish" '{"messages":[{"data":"a2VwdA=="}]}'; made
api POST "$SPANNER_URL/v1/$KEEP/instances" "{\"instanceId\":\"ki\",\"instance\":{\"config\":\"$KEEP/instanceConfigs/regional-us-central1\",\"displayName\":\"Keep\",\"nodeCount\":1}}"; made
wait_for 30 "instance ki READY" bash -c "[[ \$(curl -s '$SPANNER_URL/v1/$KEEP/instances/ki' | jq -r .state) == READY ]]"
api POST "$SPANNER_URL/v1/$KEEP/instances/ki/databases" '{"createStatement":"CREATE DATABASE kd","extraStatements":["CREATE TABLE T (K INT64, V STRING(MAX)) PRIMARY KEY (K)"]}'; made
wait_for 30 "database kd READY" bash -c "[[ \$(curl -s '$SPANNER_URL/v1/$KEEP/instances/ki/databases/kd' | jq -r .state) == READY ]]"
api POST "$SPANNER_URL/v1/$KEEP/instances/ki/databases/kd/sessions" '{}'; made
KEEP_SESSION=$(jq -r .name <<<"$BODY")
api POST "$SPANNER_URL/v1/$KEEP_SESSION:commit" '{"singleUseTransaction":{"readWrite":{}},"mutations":[{"insert":{"table":"T","columns":["K","V"],"values":[["1","kept"]]}}]}'; made

declare -A PIDS
for service in kms pubsub bigtable spanner runner; do PIDS[$service]=$(service_pid_of $service); done

section "the sweep"
STRIDE=${SWEEP_STRIDE:-1}
[[ -z ${SWEEP_STRIDE:-} ]] && grep -q __asan_init "$BIN_DIR/pubsub" && STRIDE=10
ids='"projectsId":"sweep-project","locationsId":"us-central1"'
# seeds API FILE IDS FIELDS: the placeholder IDs and known field values of one API
seeds() { printf '{"ids":{%s,%s},"fields":{%s}}' "$ids" "$2" "$3" >"$TEST_TMP/$1.json"; }
seeds cloudkms '"keyRingsId":"kr","cryptoKeysId":"k","cryptoKeyVersionsId":"1","importJobsId":"ij"' ''
seeds pubsub '"topicsId":"sweep-topic","subscriptionsId":"sweep-sub","schemasId":"sweep-schema","snapshotsId":"sweep-snap"' \
    "\"topic\":\"$P/topics/sweep-topic\",\"subscription\":\"$P/subscriptions/sweep-sub\",\"kmsKeyName\":\"$KEY\",\"pushEndpoint\":\"http://127.0.0.1:1/push\",\"deadLetterTopic\":\"$P/topics/sweep-topic\",\"schema\":\"$P/schemas/sweep-schema\""
seeds bigtableadmin '"instancesId":"sweep-inst","clustersId":"sweep-c1","tablesId":"bt","appProfilesId":"ap","authorizedViewsId":"av"' \
    "\"kmsKeyName\":\"$KEY\",\"location\":\"$P/locations/us-central1-b\""
jq -s '.[0] + {methods: .[1].methods}' "$TEST_TMP/bigtableadmin.json" \
    "$INTEG_DIR/bigtable_data_methods.json" >"$TEST_TMP/bigtable.json" # the data API: no gcloud client
seeds spanner "\"instancesId\":\"si\",\"databasesId\":\"sd\",\"sessionsId\":\"${SESSION##*/}\",\"instanceConfigsId\":\"regional-us-central1\"" \
    "\"kmsKeyName\":\"$KEY\",\"config\":\"$P/instanceConfigs/regional-us-central1\",\"sql\":\"SELECT K, V FROM T\",\"table\":\"T\""
seeds dataflow "\"jobsId\":\"$JOB\"" "\"gcsPath\":\"gs://dataflow-templates/latest/Word_Count\""
seeds crm '"foldersId":"123","organizationsId":"456","servicesId":"pubsub.googleapis.com","policiesId":"gcp.resourceLocations","v1Id":"projects","v1Id1":"sweep-project"' \
    '"parent":"projects/sweep-project","resourceNames":"projects/sweep-project"'
sweep() { # API VERSION URL SEEDS [METHOD_REGEX]
    timeout 900 python3 "$INTEG_DIR/api_sweep.py" "$SDK_ROOT" "$TEST_TMP/$4.json" "$1" "$2" "$3" ${5:+"$5"} \
        >"$TEST_TMP/sweep.$1.$2.out" 2>&1
    echo "$?" >"$TEST_TMP/sweep.$1.$2.rc"
}
export SWEEP_STRIDE=$STRIDE
# two at a time (two cores): one lane for the big APIs, one for the rest
{ sweep spanner v1 "$SPANNER_URL" spanner; sweep bigtable v2 "$BIGTABLE_URL" bigtable
  sweep bigtableadmin v2 "$BIGTABLE_URL" bigtableadmin
  sweep cloudresourcemanager v3 "$CONTROL_URL" crm; } &
lane=$!
sweep cloudkms v1 "$KMS_URL" cloudkms
sweep pubsub v1 "$PUBSUB_URL" pubsub
sweep dataflow v1b3 "$RUNNER_URL" dataflow
for version in v1 v2; do sweep cloudresourcemanager $version "$CONTROL_URL" crm; done
sweep serviceusage v1 "$CONTROL_URL" crm
sweep orgpolicy v2 "$CONTROL_URL" crm
sweep logging v2 "$CONTROL_URL" crm '^logging\.entries\.' # of Logging, only entries are served
wait "$lane" # not a bare wait: the stack is a child of this shell too
for out in "$TEST_TMP"/sweep.*.out; do
    name=${out#"$TEST_TMP/sweep."}; name=${name%.out}
    expect_eq 0 "$(cat "$TEST_TMP/sweep.$name.rc")" "api_sweep.py ran to its end on $name"
    while IFS= read -r line; do
        case "$line" in
            "ok "*) _pass "${line#ok }" ;;
            "FAIL "*) _fail "${line#FAIL }" ;;
        esac
    done <"$out"
    tail -n 1 "$out"
    [[ -n ${SWEEP_OUT:-} ]] && cp "$out" "$SWEEP_OUT/" # each method's line, for a reader
done

section "after the sweep"
for service in kms pubsub bigtable spanner runner; do
    expect_eq "${PIDS[$service]}" "$(service_pid_of $service)" "the $service process was never restarted (no crash)"
done
api POST "$PUBSUB_URL/v1/$KEEP/subscriptions/keep-sub:pull" '{"maxMessages":10}'
expect_json '.receivedMessages[0].message.data' a2VwdA==
api POST "$SPANNER_URL/v1/$KEEP_SESSION:executeSql" '{"sql":"SELECT V FROM T WHERE K = 1"}'
expect_json '.rows[0][0]' kept
finish
