#!/usr/bin/env bash
# test_resource_locations: the resource locations constraint (gcp.resourceLocations),
# through curl on every service. A policy on an organization reaches its project through
# a folder; values are stored as Google completes them (a region becomes its value
# group); unknown groups are refused. Then each service creates only in allowed
# locations, with Google's FAILED_PRECONDITION naming the location: KMS key rings
# (Autokey's too), Pub/Sub topics' message storage regions (create and update), Spanner
# instances (every replica region of a multi-region config), Bigtable clusters (their
# zone) and Dataflow jobs (the region, and a worker zone). What existed before the
# policy is untouched; a denied group wins over an allowed one; reset lifts it all.
# shellcheck source=tests/integ/lib.sh
source "$(dirname "$0")/lib.sh"

PROJECT=loc-project
start_stack
OP="$CONTROL_URL/v2/organizations/4242/policies"
LOCATIONS=gcp.resourceLocations
NUMBER=$(api GET "$CONTROL_URL/v1/projects/$PROJECT" >/dev/null; jq -r .projectNumber <<<"$BODY")
KMS="$KMS_URL/v1/projects/$PROJECT/locations"
PS="$PUBSUB_URL/v1/projects/$PROJECT"
SP="$SPANNER_URL/v1/projects/$PROJECT"
BT="$BIGTABLE_URL/v2/projects/$PROJECT"
DF="$RUNNER_URL/v1b3/projects/$PROJECT/locations"

# expect_refused LOCATION WHAT: the last call was Google's violation for LOCATION.
expect_refused() {
    expect_error_json 400 FAILED_PRECONDITION
    expect_eq "Constraint constraints/$LOCATIONS violated for [orgpolicy:projects/$NUMBER] attempting to create $2 in [$1]. For more information, see https://cloud.google.com/resource-manager/docs/organization-policy/defining-locations." \
        "$(jq -r .error.message <<<"$BODY")" "$2 in $1 is refused, Google's message"
}

section "before any policy: a key ring anywhere, a topic storing in Asia"
api POST "$KMS/asia-east1/keyRings?keyRingId=before" '{}'
expect_status 200
api PUT "$PS/topics/asia-before" '{"messageStoragePolicy":{"allowedPersistenceRegions":["asia-east1"]}}'
expect_status 200

section "the constraint is listed; a policy on the organization, values completed"
api GET "$CONTROL_URL/v2/projects/$PROJECT/constraints"
expect_json ".constraints[] | select(.name | endswith(\"/$LOCATIONS\")) | .listConstraint.supportsIn" true
api POST "$OP" "{\"name\":\"organizations/4242/policies/$LOCATIONS\",\"spec\":{\"rules\":[{\"values\":{\"allowedValues\":[\"in:mars-locations\"]}}]}}"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$(jq -r .error.message <<<"$BODY")" 'Invalid value "in:mars-locations"' \
    "an unknown value group is refused, named"
api POST "$OP" "{\"name\":\"organizations/4242/policies/$LOCATIONS\",\"spec\":{\"rules\":[{\"values\":{\"allowedValues\":[\"eu-locations\",\"us-east1\",\"us-west1-b\"],\"deniedValues\":[\"in:europe-west1-locations\"]}}]}}"
expect_status 200
expect_json '.spec.rules[0].values.allowedValues | join(",")' \
    "in:eu-locations,in:us-east1-locations,us-west1-b"
expect_json '.spec.rules[0].values.deniedValues | join(",")' "in:europe-west1-locations"
api POST "$CONTROL_URL/v2/folders?parent=organizations/4242" '{"displayName":"Residency"}'
expect_status 200
FOLDER=$(jq -r '.response.name' <<<"$BODY")
api PUT "$CONTROL_URL/v1/projects/$PROJECT" "{\"parent\":{\"type\":\"folder\",\"id\":\"${FOLDER#folders/}\"}}"
expect_status 200
api GET "$CONTROL_URL/v2/projects/$PROJECT/policies/$LOCATIONS:getEffectivePolicy"
expect_status 200
expect_json '.spec.rules[0].values.allowedValues | sort | join(",")' \
    "in:eu-locations,in:us-east1-locations,us-west1-b"

section "KMS: key rings only in allowed locations"
for l in europe-west4 us-east1; do
    api POST "$KMS/$l/keyRings?keyRingId=ring" '{}'
    expect_status 200
done
for l in europe-west1 europe-west2 europe us-central1 global; do
    api POST "$KMS/$l/keyRings?keyRingId=ring" '{}'
    expect_refused "$l" "a key ring"
done
api GET "$KMS/asia-east1/keyRings/before"
expect_status 200 # what existed stays
api POST "$KMS/asia-east1/keyRings/before/cryptoKeys?cryptoKeyId=k" '{"purpose":"ENCRYPT_DECRYPT"}'
expect_refused asia-east1 "a key" # but nothing new is created in it
api POST "$KMS/asia-east1/keyRings/before/importJobs?importJobId=j" \
    '{"importMethod":"RSA_OAEP_3072_SHA1_AES_256","protectionLevel":"SOFTWARE"}'
expect_refused asia-east1 "an import job"
api POST "$KMS/global/keyRings/before/cryptoKeys?cryptoKeyId=k" '{"purpose":"ENCRYPT_DECRYPT"}'
expect_error_json 404 NOT_FOUND # (no such ring: nothing was created in global)

section "KMS Autokey: the key ring it would create is refused too"
api PATCH "$KMS_URL/v1/${FOLDER}/autokeyConfig?updateMask=keyProject" \
    "{\"keyProject\":\"projects/$PROJECT\"}"
expect_status 200
# key_handle LOCATION ID: creates a key handle and waits for its operation (BODY).
key_handle() {
    local _
    api POST "$KMS/$1/keyHandles?keyHandleId=$2" '{"resourceTypeSelector":"pubsub.googleapis.com/Topic"}'
    expect_status 200
    local op
    op=$(jq -r .name <<<"$BODY")
    for _ in $(seq 1 100); do
        api GET "$KMS_URL/v1/$op"
        [[ "$(jq -r '.done // false' <<<"$BODY")" == true ]] && return 0
        sleep 0.05
    done
}
key_handle us-central1 h1
expect_json .error.code 9
expect_contains "$(jq -r .error.message <<<"$BODY")" \
    "constraints/$LOCATIONS violated for [orgpolicy:projects/$NUMBER] attempting to create a key ring in [us-central1]" \
    "a key handle in us-central1 fails: its key ring would be there"
key_handle europe-west4 h2
expect_json .error null
expect_json '.response.kmsKey | test("/locations/europe-west4/keyRings/autokey/")' true

section "Pub/Sub: message storage regions"
api PUT "$PS/topics/eu-topic" '{"messageStoragePolicy":{"allowedPersistenceRegions":["europe-west4","europe-north1"]}}'
expect_status 200
api PUT "$PS/topics/mixed-topic" '{"messageStoragePolicy":{"allowedPersistenceRegions":["europe-west4","us-west1"]}}'
expect_refused us-west1 "a topic storing messages"
api PATCH "$PS/topics/eu-topic" '{"topic":{"messageStoragePolicy":{"allowedPersistenceRegions":["asia-east1"]}},"updateMask":"messageStoragePolicy"}'
expect_refused asia-east1 "a topic storing messages"
api GET "$PS/topics/eu-topic"
expect_json '.messageStoragePolicy.allowedPersistenceRegions | join(",")' "europe-west4,europe-north1"
api PUT "$PS/topics/mars-topic" '{"messageStoragePolicy":{"allowedPersistenceRegions":["mars-north1"]}}'
expect_error_json 400 INVALID_ARGUMENT # not a region at all: the topic's own validation says so
api PUT "$PS/topics/no-policy-topic" '{}'
expect_status 200
api POST "$PS/topics/asia-before:publish" '{"messages":[{"data":"aGk="}]}'
expect_status 200 # an existing topic keeps working

section "Spanner: instances, every replica region"
api POST "$SP/instances" "{\"instanceId\":\"eu-inst\",\"instance\":{\"config\":\"projects/$PROJECT/instanceConfigs/regional-europe-west4\",\"displayName\":\"eu instance\",\"nodeCount\":1}}"
expect_status 200
api POST "$SP/instances" "{\"instanceId\":\"us-inst\",\"instance\":{\"config\":\"projects/$PROJECT/instanceConfigs/regional-us-central1\",\"displayName\":\"us instance\",\"nodeCount\":1}}"
expect_refused us-central1 "an instance"
api POST "$SP/instances" "{\"instanceId\":\"eur3-inst\",\"instance\":{\"config\":\"projects/$PROJECT/instanceConfigs/eur3\",\"displayName\":\"eur3 instance\",\"nodeCount\":1}}"
expect_refused europe-west1 "an instance" # eur3 replicates into europe-west1, denied
api GET "$SP/instances/us-inst"
expect_error_json 404 NOT_FOUND

section "Bigtable: clusters by zone"
api POST "$BT/instances" "{\"instanceId\":\"bt-east\",\"instance\":{\"displayName\":\"bt east\"},\"clusters\":{\"east-c1\":{\"location\":\"projects/$PROJECT/locations/us-east1-c\",\"serveNodes\":1}}}"
expect_status 200
api POST "$BT/instances/bt-east/clusters?clusterId=west-c2" "{\"location\":\"projects/$PROJECT/locations/us-west1-b\",\"serveNodes\":1}"
expect_status 200
api POST "$BT/instances/bt-east/clusters?clusterId=west-c3" "{\"location\":\"projects/$PROJECT/locations/us-west1-a\",\"serveNodes\":1}"
expect_refused us-west1-a "a cluster" # only the zone us-west1-b is allowed
api POST "$BT/instances" "{\"instanceId\":\"bt-central\",\"instance\":{\"displayName\":\"bt central\"},\"clusters\":{\"c1-central\":{\"location\":\"projects/$PROJECT/locations/us-central1-b\",\"serveNodes\":1}}}"
expect_refused us-central1-b "an instance"

section "Dataflow: the job's region and its workers' zone"
WC="gcsPath=gs://dataflow-templates/latest/Word_Count&validateOnly=True"
WC_BODY='"parameters":{"inputFile":"gs://loc-bkt/in.txt","output":"gs://loc-bkt/out"}'
api POST "$DF/us-central1/templates:launch?$WC" "{\"jobName\":\"central\",$WC_BODY}"
expect_refused us-central1 "a job"
api POST "$DF/europe-west4/templates:launch?$WC" "{\"jobName\":\"eu-job\",$WC_BODY,\"environment\":{\"workerZone\":\"asia-east1-a\"}}"
expect_refused asia-east1-a "a job"
api POST "$DF/europe-west4/templates:launch?$WC" "{\"jobName\":\"eu-job\",$WC_BODY,\"environment\":{\"workerZone\":\"europe-west4-b\"}}"
expect_status 200
for zone in ASIA-EAST1-A asia-east1-zz "asia-east1-a "; do
    api POST "$DF/europe-west4/templates:launch?$WC" "{\"jobName\":\"eu-job\",$WC_BODY,\"environment\":{\"workerZone\":\"$zone\"}}"
    expect_error_json 400 INVALID_ARGUMENT # not a zone: no spelling slips past the policy
done
api POST "$DF/europe-west4/templates:launch?$WC" "{\"jobName\":\"eu-job\",$WC_BODY,\"environment\":{\"workerRegion\":\"us-west1\"}}"
expect_refused us-west1 "a job"

section "a project's own rule on top: global allowed, a denied group wins"
api POST "$CONTROL_URL/v2/projects/$PROJECT/policies" "{\"name\":\"projects/$PROJECT/policies/$LOCATIONS\",\"spec\":{\"inheritFromParent\":true,\"rules\":[{\"values\":{\"allowedValues\":[\"global\"],\"deniedValues\":[\"in:us-locations\"]}}]}}"
expect_status 200
api POST "$KMS/global/keyRings?keyRingId=ring" '{}'
expect_status 200
api POST "$KMS/us-east1/keyRings?keyRingId=ring2" '{}'
expect_refused us-east1 "a key ring"

section "a reset lifts every policy"
api POST "$CONTROL_URL/emulator/v1/reset" '{}'
expect_status 200
api POST "$KMS_URL/v1/projects/$PROJECT/locations/us-central1/keyRings?keyRingId=after" '{}'
expect_status 200

for url in "$KMS_URL" "$PUBSUB_URL" "$SPANNER_URL" "$BIGTABLE_URL" "$RUNNER_URL"; do expect_healthy "$url"; done
finish
