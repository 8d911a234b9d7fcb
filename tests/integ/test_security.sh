#!/usr/bin/env bash
# test_security: who may ask what, on a stack with IAM enforced.
#
#   - the internal routes (internal:tick, :reset, :flush, :keyChecks, :faults) of every
#     port refuse callers without the stack's internal credential, while the control
#     plane's own calls (clock:advance, reset) still reach every service; the credential
#     file is mode 600 and appears in no log;
#   - a token that names no principal is 401 UNAUTHENTICATED, even where allUsers may act;
#     no token at all is anonymous (only what allUsers has);
#   - nobody can act as a Google-managed service agent (with a token, or as the worker
#     service account of a Dataflow job, whose calls carry the credential) or claim
#     X-Emulator-Caller;
#   - a push subscription aimed at the emulator's own setIamPolicy gains nothing, with or
#     without an OIDC token; push requests carry the OIDC token and never the credential;
#   - message attributes written as push headers never inject headers;
#   - a Spanner databaseReader begins read-only transactions only, inline ones included
#     (no Partitioned DML through executeSql);
#   - restoring or copying another project's Bigtable backup needs a permission on it;
#   - dead-lettering needs the Pub/Sub service agent's roles (publisher on the dead-letter
#     topic, subscriber on the subscription), also into another project: without them
#     messages keep being redelivered and the audit log says why;
#   - a Dataflow job's paths stay in their buckets (no "\.\." or ".*" segment that glob(3)
#     turns into "..", no output suffix with a '/'), sliding windows are bounded, and a key
#     that is not a string is refused rather than ignored.
source "$(dirname "$0")/lib.sh"

start_stack --iam enforce
OWNER=user:developer@example.com # the default principal owns every project under enforce
P=projects/security-project
RING=$P/locations/global/keyRings/ring
KEY=$RING/cryptoKeys/key
HELLO=$(printf hello | base64)
export API_PRINCIPAL=$OWNER
api GET "$CONTROL_URL/emulator/v1/status"
DATA_DIR=$(jq -r .dataDir <<<"$BODY")
api GET "$CONTROL_URL/v1/$P"
NUMBER=$(jq -r .projectNumber <<<"$BODY")
AGENT="serviceAccount:service-$NUMBER@gcp-sa-pubsub.iam.gserviceaccount.com"
# add_binding URL ROLE MEMBER: one more binding in the policy at URL (as the owner)
add_binding() {
    local url=$1 role=$2 member=$3 policy
    if [[ $url == "$CONTROL_URL"/* ]]; then
        API_PRINCIPAL=$OWNER api POST "$url:getIamPolicy" '{}' # Resource Manager's is a POST
    else
        API_PRINCIPAL=$OWNER api GET "$url:getIamPolicy"
    fi
    policy=$(jq -c --arg r "$role" --arg m "$member" '.bindings += [{role: $r, members: [$m]}]' <<<"$BODY")
    API_PRINCIPAL=$OWNER api POST "$url:setIamPolicy" "{\"policy\":$policy}"
    expect_status 200
}
# audit_entries FILTER [PROJECT]: the audit log entries of the project ($P by default)
# matching FILTER (in BODY)
audit_entries() {
    API_PRINCIPAL=$OWNER api POST "$CONTROL_URL/v2/entries:list" \
        "$(jq -cn --arg p "${2:-$P}" --arg f "$1" '{resourceNames: [$p], filter: $f, pageSize: 1000}')"
}

section "fixtures: a key ring and a key (as the owner)"
api POST "$KMS_URL/v1/$P/locations/global/keyRings?keyRingId=ring" '{}'
expect_status 200
api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=key" '{"purpose":"ENCRYPT_DECRYPT"}'
expect_status 200

section "internal routes: refused without the stack's credential, on every port"
for url in "$CONTROL_URL" "$KMS_URL" "$PUBSUB_URL"; do
    for route in tick reset flush keyChecks faults; do
        api POST "$url/emulator/v1/internal:$route" '{}'
        expect_error_json 403 PERMISSION_DENIED
        API_HEADER="X-Emulator-Internal: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
            api POST "$url/emulator/v1/internal:$route" '{}'
        expect_error_json 403 PERMISSION_DENIED
    done
done
api GET "$KMS_URL/v1/$RING"
expect_status 200 # the refused resets dropped nothing
section "the control plane's own calls carry the credential"
api GET "$CONTROL_URL/emulator/v1/status"
RUNNING=$(jq -r '[.services[].name] | join(",")' <<<"$BODY") # the built services
api POST "$CONTROL_URL/emulator/v1/clock:advance" '{"seconds": 1}'
expect_status 200
expect_json '.services | join(",")' "$RUNNING"
expect_contains "$RUNNING" "kms,pubsub" "the services reached include KMS and Pub/Sub"
api POST "$CONTROL_URL/emulator/v1/keyChecks:run" '{}'
expect_status 200
TOKEN_FILE="$DATA_DIR/internal.token"
expect_eq 600 "$(stat -c %a "$TOKEN_FILE" 2>&1)" "the credential file's mode"
CREDENTIAL=$(od -An -tx1 -v "$TOKEN_FILE" | tr -d ' \n')
expect_eq 64 "${#CREDENTIAL}" "a 32-byte credential"
API_HEADER="X-Emulator-Internal: $CREDENTIAL" api POST "$KMS_URL/emulator/v1/internal:flush" '{}'
expect_status 200 # what the control plane sends
if grep -rqs "$CREDENTIAL" "$DATA_DIR/logs" "$TEST_TMP/stack.log"; then
    _fail "the internal credential appears in a log"
else
    _pass "the internal credential appears in no log"
fi

section "tokens that name no principal: 401, even where allUsers may encrypt"
add_binding "$KMS_URL/v1/$KEY" roles/cloudkms.cryptoKeyEncrypter allUsers
for auth in "Bearer garbage" "Bearer user:alice" "Bearer " "Basic dXNlcjpwYXNzd29yZA==" \
    "Bearer allUsers" "Bearer domain:example.com" "Bearer eyJhbGciOiJub25lIn0.e30."; do
    API_AUTHORIZATION=$auth api POST "$KMS_URL/v1/$KEY:encrypt" "{\"plaintext\":\"$HELLO\"}"
    expect_error_json 401 UNAUTHENTICATED
    expect_contains "$BODY" "Request had invalid authentication credentials" "Google's words for '$auth'"
done
section "no token: anonymous, with only what allUsers has"
API_PRINCIPAL="" api POST "$KMS_URL/v1/$KEY:encrypt" "{\"plaintext\":\"$HELLO\"}"
expect_status 200
API_PRINCIPAL="" api POST "$KMS_URL/v1/$KEY:decrypt" '{"ciphertext":"AAAA"}'
expect_error_json 403 PERMISSION_DENIED
API_PRINCIPAL="" api POST "$KMS_URL/v1/$P/locations/global/keyRings?keyRingId=anon" '{}'
expect_error_json 403 PERMISSION_DENIED
API_PRINCIPAL=user:alice@example.com api POST "$KMS_URL/v1/$KEY:encrypt" "{\"plaintext\":\"$HELLO\"}"
expect_status 200 # allUsers covers authenticated principals too

section "nobody acts as a service agent or claims to call for a resource"
add_binding "$KMS_URL/v1/$KEY" roles/cloudkms.cryptoKeyEncrypterDecrypter "$AGENT"
API_PRINCIPAL=$AGENT api POST "$KMS_URL/v1/$KEY:encrypt" "{\"plaintext\":\"$HELLO\"}"
expect_error_json 401 UNAUTHENTICATED
API_PRINCIPAL=$AGENT API_HEADER="X-Emulator-Caller: $P/topics/spoofed" \
    api POST "$KMS_URL/v1/$KEY:encrypt" "{\"plaintext\":\"$HELLO\"}"
expect_error_json 401 UNAUTHENTICATED
API_PRINCIPAL="service-$NUMBER@gcp-sa-pubsub.iam.gserviceaccount.com" \
    api POST "$KMS_URL/v1/$KEY:encrypt" "{\"plaintext\":\"$HELLO\"}"
expect_error_json 401 UNAUTHENTICATED
API_HEADER="X-Emulator-Caller: $P/topics/spoofed" \
    api POST "$KMS_URL/v1/$KEY:encrypt" "{\"plaintext\":\"$HELLO\"}"
expect_error_json 403 PERMISSION_DENIED
section "nor through a Dataflow job whose worker service account is the agent"
MALLORY_PROJECT=projects/mallory-project
add_binding "$CONTROL_URL/v1/$MALLORY_PROJECT" roles/owner user:mallory@example.com
launch_as() { # SERVICE_ACCOUNT_EMAIL: mallory launches a job running as it
    API_PRINCIPAL=user:mallory@example.com api POST "$RUNNER_URL/v1b3/$MALLORY_PROJECT/locations/us-central1/jobs" \
        "$(jq -cn --arg sa "$1" '{name: "steal", environment: {serviceAccountEmail: $sa,
            sdkPipelineOptions: {pipeline: {steps: [
              {name: "read", transform: "ReadText", path: "gs://mallory-bkt/in.txt"},
              {name: "write", transform: "WriteText", input: "read", path: "gs://mallory-bkt/out"}]}}}}')"
}
launch_as "${AGENT#serviceAccount:}" # the agent holds the key: the job's KMS calls would too
expect_error_json 403 PERMISSION_DENIED
expect_contains "$BODY" "cannot act as service account" "the refusal says why"
launch_as $'x@example.com\r\nX-Emulator-Caller: spoofed'
expect_error_json 400 INVALID_ARGUMENT
launch_as worker@mallory-project.iam.gserviceaccount.com
expect_status 200 # an account of her own is hers to use

section "the CMEK engine still reaches KMS as the agent, with the credential"
api PUT "$PUBSUB_URL/v1/$P/topics/secure" "{\"kmsKeyName\":\"$KEY\"}"
expect_status 200
audit_entries 'protoPayload.methodName=Encrypt'
expect_eq "$P/topics/secure" \
    "$(jq -r '[.entries[] | select(.protoPayload.status.code == null) | .protoPayload.metadata.callerResource // empty] | join(",")' <<<"$BODY")" \
    "only the engine's Encrypt names a caller"
expect_eq "service-$NUMBER@gcp-sa-pubsub.iam.gserviceaccount.com" \
    "$(jq -r '[.entries[] | select(.protoPayload.metadata.callerResource != null) | .protoPayload.authenticationInfo.principalEmail] | unique | join(",")' <<<"$BODY")" \
    "as the service agent"
expect_eq "" "$(jq -r '[.entries[] | .protoPayload.metadata.callerResource // empty | select(endswith("spoofed"))] | join(",")' <<<"$BODY")" \
    "no spoofed caller in the audit log"

section "a receiver for push requests (records bodies and headers)"
cd "$TEST_TMP"
cc -O1 -o receiver "$INTEG_DIR/pubsub_push_receiver.c"
expect_eq 0 $? "the receiver builds"
./receiver receiver.port pushed.txt 0 headers.txt &
RECEIVER_PID=$!
on_exit "kill $RECEIVER_PID 2>/dev/null; wait $RECEIVER_PID 2>/dev/null"
wait_for 5 "the receiver's port" test -s receiver.port
RECEIVER="http://127.0.0.1:$(cat receiver.port)/push"

section "push to the emulator's own setIamPolicy gains nothing"
MALLORY=user:mallory@example.com
M=projects/mallory-project
DEPLOYER=serviceAccount:deployer@security-project.iam.gserviceaccount.com
add_binding "$CONTROL_URL/v1/$M" roles/owner "$MALLORY"
add_binding "$CONTROL_URL/v1/$P" roles/owner "$DEPLOYER" # an identity mallory may name
export API_PRINCIPAL=$MALLORY
api POST "$CONTROL_URL/v1/$P:getIamPolicy" '{}'
expect_error_json 403 PERMISSION_DENIED # mallory has no role on the project
api PUT "$PUBSUB_URL/v1/$M/topics/escalate" '{}'
expect_status 200
api PUT "$PUBSUB_URL/v1/$M/subscriptions/no-token" "$(jq -cn --arg e "$CONTROL_URL/v1/$P:setIamPolicy" \
    '{topic: "projects/mallory-project/topics/escalate", pushConfig: {pushEndpoint: $e, noWrapper: {}}}')"
expect_status 200
api PUT "$PUBSUB_URL/v1/$M/subscriptions/oidc-token" "$(jq -cn --arg e "$CONTROL_URL/v1/$P:setIamPolicy" \
    --arg sa "${DEPLOYER#serviceAccount:}" \
    '{topic: "projects/mallory-project/topics/escalate",
      pushConfig: {pushEndpoint: $e, noWrapper: {}, oidcToken: {serviceAccountEmail: $sa}}}')"
expect_status 200
api PUT "$PUBSUB_URL/v1/$M/subscriptions/to-receiver" "$(jq -cn --arg e "$RECEIVER" \
    --arg sa "${DEPLOYER#serviceAccount:}" \
    '{topic: "projects/mallory-project/topics/escalate",
      pushConfig: {pushEndpoint: $e, oidcToken: {serviceAccountEmail: $sa, audience: "https://example.com/push"}}}')"
expect_status 200
POLICY=$(jq -cn --arg m "$MALLORY" '{policy: {bindings: [{role: "roles/owner", members: [$m]}]}}')
api POST "$PUBSUB_URL/v1/$M/topics/escalate:publish" \
    "$(jq -cn --arg d "$(printf %s "$POLICY" | base64 -w0)" '{messages: [{data: $d}]}')"
expect_status 200
# both push subscriptions have called setIamPolicy (and been refused) once it shows
refused_twice() {
    audit_entries 'protoPayload.methodName=SetIamPolicy'
    jq -e '[.entries[] | select(.protoPayload.status.code == 7 or .protoPayload.status.code == 16)
            | .protoPayload.status.code] | (index(7) != null and index(16) != null)' <<<"$BODY"
}
wait_for 20 "the pushes to setIamPolicy to be refused" refused_twice
expect_eq true "$(jq -r '[.entries[] | select(.protoPayload.status.code == 7) | .protoPayload.authenticationInfo.principalEmail] | all(. == "anonymous")' <<<"$BODY")" \
    "without a token the push is anonymous"
expect_eq 0 "$(jq '[.entries[] | select(.protoPayload.status.code == null and
        .protoPayload.authenticationInfo.principalEmail != "developer@example.com")] | length' <<<"$BODY")" \
    "no push changed the project's policy"
API_PRINCIPAL=$OWNER api POST "$CONTROL_URL/v1/$P:getIamPolicy" '{}'
expect_eq "" "$(jq -r --arg m "$MALLORY" '[.bindings[] | select(.members | index($m))] | map(.role) | join(",")' <<<"$BODY")" \
    "mallory has no role on the project"
api POST "$CONTROL_URL/v1/$P:getIamPolicy" '{}'
expect_error_json 403 PERMISSION_DENIED
wait_for 10 "the push to the receiver" test -s headers.txt
AUTH=$(grep -i '^Authorization: Bearer ' headers.txt | head -n 1 | cut -d' ' -f3 | tr -d '\r')
PAYLOAD=$(cut -d. -f2 <<<"$AUTH" | tr '_-' '/+')
while (( ${#PAYLOAD} % 4 )); do PAYLOAD+="="; done
CLAIMS=$(base64 -d <<<"$PAYLOAD" 2>/dev/null)
expect_eq "${DEPLOYER#serviceAccount:}|https://example.com/push|https://accounts.google.com" \
    "$(jq -r '[.email, .aud, .iss] | join("|")' <<<"$CLAIMS" 2>/dev/null)" "the push carries the subscription's OIDC token"
if grep -qi '^X-Emulator' headers.txt; then
    _fail "a push request carries an X-Emulator header"
else
    _pass "push requests carry no internal header"
fi
api DELETE "$PUBSUB_URL/v1/$M/subscriptions/no-token"
api DELETE "$PUBSUB_URL/v1/$M/subscriptions/oidc-token"
api DELETE "$PUBSUB_URL/v1/$M/subscriptions/to-receiver"

section "attributes written as push headers never inject headers"
api PUT "$PUBSUB_URL/v1/$M/subscriptions/metadata" "$(jq -cn --arg e "$RECEIVER" \
    '{topic: "projects/mallory-project/topics/escalate", pushConfig: {pushEndpoint: $e, noWrapper: {writeMetadata: true}}}')"
expect_status 200
: >headers.txt
api POST "$PUBSUB_URL/v1/$M/topics/escalate:publish" "$(jq -cn '{messages: [{data: "aW5qZWN0",
    attributes: {"plain": "fine", "evil": "x\r\nX-Injected: 1", "lf": "y\nX-Injected-Lf: 1",
                 "Authorization": "Bearer user:developer@example.com", "bad key": "v",
                 "x-goog-pubsub-message-id": "forged", "Content-Length": "0"}}]}')"
expect_status 200
wait_for 10 "the push with metadata" grep -q '^--$' headers.txt
HEADERS=$(cat headers.txt)
expect_contains "$HEADERS" "plain: fine" "a plain attribute is a header"
for bad in "X-Injected" "X-Injected-Lf" "Authorization" "bad key" "evil" "lf"; do
    if grep -qi "^$bad:" headers.txt; then
        _fail "a push header '$bad' came from an attribute: $(grep -i "^$bad:" headers.txt)"
    else
        _pass "no '$bad' header"
    fi
done
expect_eq 1 "$(grep -ci '^x-goog-pubsub-message-id:' headers.txt)" "one message-id header"
if grep -qi '^x-goog-pubsub-message-id: forged' headers.txt; then
    _fail "an attribute forged x-goog-pubsub-message-id"
else
    _pass "the message id is the emulator's"
fi
expect_eq 1 "$(grep -ci '^Content-Length:' headers.txt)" "one Content-Length"
expect_eq "inject" "$(tail -n 1 pushed.txt)" "the body is the message data"
api DELETE "$PUBSUB_URL/v1/$M/subscriptions/metadata"

section "dead-lettering into another project needs the Pub/Sub service agent's roles"
export API_PRINCIPAL=$OWNER
O=projects/other-project
api PUT "$PUBSUB_URL/v1/$O/topics/dead" '{}'
api PUT "$PUBSUB_URL/v1/$O/subscriptions/dead-sub" '{"topic":"projects/other-project/topics/dead"}'
api PUT "$PUBSUB_URL/v1/$P/topics/events" '{}'
api PUT "$PUBSUB_URL/v1/$P/subscriptions/events-sub" \
    '{"topic":"projects/security-project/topics/events","deadLetterPolicy":{"deadLetterTopic":"projects/other-project/topics/dead","maxDeliveryAttempts":5}}'
expect_status 200
api POST "$PUBSUB_URL/v1/$P/topics/events:publish" '{"messages":[{"data":"cG9pc29u"}]}'
expect_status 200
# nack_rounds N: pulls and nacks N times; sets DELIVERED to how many pulls got the message
nack_rounds() {
    local i ack
    DELIVERED=0
    for ((i = 0; i < $1; i++)); do
        api POST "$PUBSUB_URL/v1/$P/subscriptions/events-sub:pull" '{"maxMessages":1,"returnImmediately":true}'
        ack=$(jq -r '.receivedMessages[0].ackId // empty' <<<"$BODY")
        [[ -n "$ack" ]] || continue
        DELIVERED=$((DELIVERED + 1))
        api POST "$PUBSUB_URL/v1/$P/subscriptions/events-sub:modifyAckDeadline" \
            "{\"ackIds\":[\"$ack\"],\"ackDeadlineSeconds\":0}"
    done
}
nack_rounds 8
expect_eq 8 "$DELIVERED" "without the agent's roles the message keeps being redelivered"
api POST "$PUBSUB_URL/v1/$O/subscriptions/dead-sub:pull" '{"maxMessages":1,"returnImmediately":true}'
expect_json '.receivedMessages // [] | length' 0
audit_entries 'protoPayload.methodName=Publish' "$O" # logged where the topic is
REFUSED=$(jq -c '[.entries[] | select(.protoPayload.status.code == 7)
    | [.protoPayload.authenticationInfo.principalEmail, .protoPayload.resourceName,
       .protoPayload.metadata.callerResource]] | first' <<<"$BODY")
expect_eq "[\"${AGENT#serviceAccount:}\",\"$O/topics/dead\",\"$P/subscriptions/events-sub\"]" "$REFUSED" \
    "the audit log shows the agent's refused Publish for the subscription"
expect_contains "$BODY" "roles/pubsub.publisher" "and says what to grant"

add_binding "$PUBSUB_URL/v1/$P/subscriptions/events-sub" roles/pubsub.subscriber "$AGENT"
api POST "$CONTROL_URL/emulator/v1/clock:advance" '{"seconds": 1}' # a tick looks again
nack_rounds 2
expect_eq 2 "$DELIVERED" "subscriber on the subscription alone is not enough"
add_binding "$PUBSUB_URL/v1/$O/topics/dead" roles/pubsub.publisher "$AGENT"
api POST "$CONTROL_URL/emulator/v1/clock:advance" '{"seconds": 1}'
nack_rounds 1
expect_eq 0 "$DELIVERED" "with both roles the message is dead-lettered"
api POST "$PUBSUB_URL/v1/$O/subscriptions/dead-sub:pull" '{"maxMessages":1,"returnImmediately":true}'
expect_json '.receivedMessages[0].message.data' cG9pc29u
expect_json '.receivedMessages[0].message.attributes.CloudPubSubDeadLetterSourceSubscription' events-sub

section "a Spanner databaseReader begins read-only transactions only, inline ones included"
SPI="$P/instances/sec-inst"
SPDB="$SPI/databases/ledger"
api POST "$SPANNER_URL/v1/$P/instances" \
    '{"instanceId":"sec-inst","instance":{"config":"'"$P"'/instanceConfigs/regional-us-central1","displayName":"Security","nodeCount":1}}'
expect_status 200
wait_for 30 "the instance" bash -c '[[ $(curl -s -H "Authorization: Bearer $2" "$1" | jq -r .state) == READY ]]' _ "$SPANNER_URL/v1/$SPI" "$OWNER"
api POST "$SPANNER_URL/v1/$SPI/databases" \
    '{"createStatement":"CREATE DATABASE ledger","extraStatements":["CREATE TABLE T (K INT64 NOT NULL) PRIMARY KEY (K)"]}'
expect_status 200
wait_for 30 "the database" bash -c '[[ $(curl -s -H "Authorization: Bearer $2" "$1" | jq -r .state) == READY ]]' _ "$SPANNER_URL/v1/$SPDB" "$OWNER"
api POST "$SPANNER_URL/v1/$SPDB/sessions" '{}'
api POST "$SPANNER_URL/v1/$(jq -r .name <<<"$BODY"):commit" \
    '{"singleUseTransaction":{"readWrite":{}},"mutations":[{"insert":{"table":"T","columns":["K"],"values":[["1"],["2"]]}}]}'
expect_status 200
api POST "$SPANNER_URL/v1/$SPDB:setIamPolicy" \
    '{"policy":{"bindings":[{"role":"roles/spanner.databaseReader","members":["user:reader@example.com"]}]}}'
expect_status 200
export API_PRINCIPAL=user:reader@example.com
api POST "$SPANNER_URL/v1/$SPDB/sessions" '{}'
expect_status 200
READER_SESSION=$(jq -r .name <<<"$BODY")
api POST "$SPANNER_URL/v1/$READER_SESSION:executeSql" \
    '{"sql":"DELETE FROM T WHERE TRUE","transaction":{"begin":{"partitionedDml":{}}}}'
expect_error_json 403 PERMISSION_DENIED
expect_contains "$BODY" "beginPartitionedDmlTransaction" "the refusal names the permission"
api POST "$SPANNER_URL/v1/$READER_SESSION:executeSql" \
    '{"sql":"DELETE FROM T WHERE TRUE","transaction":{"begin":{"readWrite":{}}}}'
expect_error_json 403 PERMISSION_DENIED
api POST "$SPANNER_URL/v1/$READER_SESSION:beginTransaction" '{"options":{"partitionedDml":{}}}'
expect_error_json 403 PERMISSION_DENIED
api POST "$SPANNER_URL/v1/$READER_SESSION:beginTransaction" '{"options":{"readOnly":{}}}'
expect_status 200 # what a reader may begin
api POST "$SPANNER_URL/v1/$READER_SESSION:executeSql" \
    '{"sql":"SELECT COUNT(*) FROM T","transaction":{"begin":{"readOnly":{}}}}'
expect_json '.rows[0][0]' 2 # every row still there
export API_PRINCIPAL=$OWNER

section "restoring or copying another project's Bigtable backup needs a permission on it"
bt_instance() { # PROJECT ID CLUSTER: an instance with one cluster, ready
    api POST "$BIGTABLE_URL/v2/$1/instances" \
        "{\"instanceId\":\"$2\",\"instance\":{\"displayName\":\"$2\"},\"clusters\":{\"$3\":{\"location\":\"$1/locations/us-east1-b\",\"serveNodes\":1}}}"
    expect_status 200
    wait_for 30 "instance $2" bash -c '[[ $(curl -s -H "Authorization: Bearer $2" "$1" | jq -r .state) == READY ]]' \
        _ "$BIGTABLE_URL/v2/$1/instances/$2" "$API_PRINCIPAL"
}
bt_instance "$P" bt-victim victim-c1
api POST "$BIGTABLE_URL/v2/$P/instances/bt-victim/tables" '{"tableId":"secrets","table":{"columnFamilies":{"cf":{}}}}'
expect_status 200
VICTIM_BACKUP="$P/instances/bt-victim/clusters/victim-c1/backups/daily"
api POST "$BIGTABLE_URL/v2/$P/instances/bt-victim/clusters/victim-c1/backups?backupId=daily" \
    "{\"sourceTable\":\"$P/instances/bt-victim/tables/secrets\",\"expireTime\":\"$(date -u -d '+3 days' +%Y-%m-%dT%H:%M:%SZ)\"}"
expect_status 200
wait_for 30 "the backup" bash -c '[[ $(curl -s -H "Authorization: Bearer $2" "$1" | jq -r .state) == READY ]]' \
    _ "$BIGTABLE_URL/v2/$VICTIM_BACKUP" "$OWNER"
export API_PRINCIPAL=user:mallory@example.com # owner of her own project only
bt_instance "$MALLORY_PROJECT" bt-mallory mallory-c1
api POST "$BIGTABLE_URL/v2/$MALLORY_PROJECT/instances/bt-mallory/tables:restore" \
    "{\"tableId\":\"stolen\",\"backup\":\"$VICTIM_BACKUP\"}"
expect_error_json 403 PERMISSION_DENIED
expect_contains "$BODY" "bigtable.backups.restore" "restoring needs backups.restore on the backup"
api POST "$BIGTABLE_URL/v2/$MALLORY_PROJECT/instances/bt-mallory/clusters/mallory-c1/backups:copy" \
    "{\"backupId\":\"copied\",\"sourceBackup\":\"$VICTIM_BACKUP\",\"expireTime\":\"$(date -u -d '+3 days' +%Y-%m-%dT%H:%M:%SZ)\"}"
expect_error_json 403 PERMISSION_DENIED
expect_contains "$BODY" "bigtable.backups.read" "copying needs backups.read on the backup"
export API_PRINCIPAL=$OWNER
api POST "$BIGTABLE_URL/v2/$VICTIM_BACKUP:setIamPolicy" \
    '{"policy":{"bindings":[{"role":"roles/bigtable.admin","members":["user:mallory@example.com"]}]}}'
expect_status 200
API_PRINCIPAL=user:mallory@example.com api POST "$BIGTABLE_URL/v2/$MALLORY_PROJECT/instances/bt-mallory/tables:restore" \
    "{\"tableId\":\"granted\",\"backup\":\"$VICTIM_BACKUP\"}"
expect_status 200 # granted on the backup: restored into her instance

section "a Dataflow job reads and writes only inside its buckets, and its key is a string"
export API_PRINCIPAL=user:mallory@example.com
JOBS="$RUNNER_URL/v1b3/$MALLORY_PROJECT/locations/us-central1"
launch_template() { # PARAMETERS_JSON [ENVIRONMENT_JSON]
    api POST "$JOBS/templates" "$(jq -cn --argjson p "$1" --argjson e "${2:-{\}}" '{jobName: "leak",
        gcsPath: "gs://dataflow-templates/latest/GCS_Text_to_Cloud_PubSub", parameters: $p, environment: $e}')"
}
for pattern in 'gs://mallory-bkt/\.\./\.\./*.t*' 'gs://mallory-bkt/\.*/\.*/kms-root.key' \
    'gs://mallory-bkt/..*/internal.token'; do
    launch_template "$(jq -cn --arg in "$pattern" '{inputFilePattern: $in, outputTopic: "projects/mallory-project/topics/leak"}')"
    expect_error_json 400 INVALID_ARGUMENT
done
create_job() { # STEPS_JSON
    api POST "$JOBS/jobs" "$(jq -cn --argjson steps "$1" '{name: "escape", environment: {sdkPipelineOptions: {pipeline: {steps: $steps}}}}')"
}
create_job '[{"name":"r","transform":"ReadText","path":"gs://mallory-bkt/in.txt"},
  {"name":"w","transform":"WriteText","input":"r","path":"gs://mallory-bkt/d","suffix":"/../../../../../../tmp/pwned.txt"}]'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "suffix" "the refusal names the suffix"
create_job '[{"name":"r","transform":"ReadText","path":"gs://mallory-bkt/in.txt"},
  {"name":"s","transform":"Window","input":"r","type":"sliding","size":"7d","period":"1s"}]'
expect_error_json 400 INVALID_ARGUMENT
launch_template '{"inputFilePattern":"gs://mallory-bkt/in.txt","outputTopic":"projects/mallory-project/topics/t"}' \
    '{"kmsKeyName":5}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "environment.kms_key_name" "a key that is not a string is refused, not ignored"
api GET "$JOBS/jobs?pageToken=zzz"
expect_error_json 400 INVALID_ARGUMENT
export API_PRINCIPAL=$OWNER

finish
