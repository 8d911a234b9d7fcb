#!/usr/bin/env bash
# test_control.sh: the control plane (bin/emulator, port base + 0) end to end: health
# and status, the emulator clock, reset, stopping and starting one service, the
# supervisor restarting a killed service, Resource Manager and Logging through curl and
# the real gcloud, Google's error JSON for bad input, and two stacks side by side.
# shellcheck source=tests/integ/lib.sh
source "$(dirname "$0")/lib.sh"

PROJECT=control-project
start_stack --max-body-bytes 65536
setup_gcloud "$PROJECT"

# status_of SERVICE FIELD: a field of one service in /emulator/v1/status.
status_of() {
    curl -s --max-time 5 "$CONTROL_URL/emulator/v1/status" |
        jq -r --arg s "$1" --arg f "$2" '.services[] | select(.name == $s) | .[$f]'
}

# epoch SECONDS of an RFC 3339 time with a fraction.
epoch() { jq -rn --arg t "$1" '$t | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601'; }

entries_list() { api POST "$CONTROL_URL/v2/entries:list" "$1"; }

# kms_restarted: kms runs again, healthy, under another pid than $old_pid.
# shellcheck disable=SC2317 # called through wait_for
kms_restarted() {
    [[ "$(status_of kms pid)" != "$old_pid" && "$(status_of kms healthy)" == true ]]
}

# kms_stopped: the supervisor reports kms STOPPED.
# shellcheck disable=SC2317 # called through wait_for
kms_stopped() { [[ "$(status_of kms state)" == STOPPED ]]; }

section "health and status"
expect_healthy "$CONTROL_URL"
expect_healthy "$KMS_URL"
api GET "$CONTROL_URL/emulator/v1/status"
expect_status 200
expect_json '.ephemeral' true
expect_json '.iam' off
expect_json '.clockOffset' 0s
expect_json '.dataDir | startswith("/")' true
expect_json '.services[] | select(.name == "kms") | [.state, .healthy, .url] | @tsv' \
    "RUNNING	true	$KMS_URL"
expect_json '.services | all(.healthy)' true
DATA_DIR=$(jq -r .dataDir <<<"$BODY")
expect_eq yes "$([[ -d "$DATA_DIR" && -s "$DATA_DIR/logs/kms.log" ]] && echo yes)" \
    "the ephemeral data dir holds logs/kms.log"

section "clock: get and advance"
api GET "$CONTROL_URL/emulator/v1/clock"
expect_status 200
expect_json .offset 0s
before=$(epoch "$(jq -r .now <<<"$BODY")")
api POST "$CONTROL_URL/emulator/v1/clock:advance" '{"seconds": 300}'
expect_status 200
expect_json .offset 300s
expect_json '.services | index("kms") != null' true
after=$(epoch "$(jq -r .now <<<"$BODY")")
expect_eq 1 "$(( after - before >= 300 && after - before < 330 ))" "now moved by about 300 s"
api POST "$CONTROL_URL/emulator/v1/clock:advance" '{"seconds": "60"}'
expect_status 200
expect_json .offset 360s
api POST "$CONTROL_URL/emulator/v1/clock:advance" '{"duration": "40s"}'
expect_status 200
expect_json .offset 400s

section "clock: bad advances are refused and change nothing"
api POST "$CONTROL_URL/emulator/v1/clock:advance" '{"seconds": -5}'
expect_status 400
expect_error_json 400 INVALID_ARGUMENT
expect_json .error.message "The emulator clock only moves forward: seconds must be >= 0, got -5."
api POST "$CONTROL_URL/emulator/v1/clock:advance" '{"duration": "-5s"}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$CONTROL_URL/emulator/v1/clock:advance" '{"seconds": "soon"}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "'seconds'" "the error names the field"
api POST "$CONTROL_URL/emulator/v1/clock:advance" '{"seconds": 1.5}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$CONTROL_URL/emulator/v1/clock:advance" '{}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$CONTROL_URL/emulator/v1/clock:advance" '{"seconds": 1, "duration": "1s"}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$CONTROL_URL/emulator/v1/clock:advance" '{"minutes": 5}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$(jq -r .error.message <<<"$BODY")" '"minutes"' "the error names the unknown field"
api GET "$CONTROL_URL/emulator/v1/status"
expect_json .clockOffset 400s

section "Resource Manager projects via curl"
api GET "$CONTROL_URL/v1/projects/$PROJECT"
expect_status 200
expect_json .projectId "$PROJECT"
expect_json .lifecycleState ACTIVE
expect_json '.projectNumber | test("^[0-9]{12}$")' true
NUMBER=$(jq -r .projectNumber <<<"$BODY")
CREATED=$(jq -r .createTime <<<"$BODY")
api GET "$CONTROL_URL/v1/projects/$PROJECT"
expect_json .createTime "$CREATED"
api GET "$CONTROL_URL/v1/projects/Not_A_Project"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "Not_A_Project" "the error names the bad project ID"
api GET "$CONTROL_URL/v1/projects"
expect_status 200
expect_json "[.projects[].projectId] | index(\"$PROJECT\") != null" true
api POST "$CONTROL_URL/v2/folders:search" '{}'
expect_error_json 400 UNIMPLEMENTED
expect_contains "$BODY" SearchFolders "UNIMPLEMENTED names the method"

section "Resource Manager via gcloud"
if (( HAVE_GCLOUD )); then
    out=$(gcloud projects describe "$PROJECT" --format='value(projectNumber)' 2>&1)
    expect_eq "$NUMBER" "$out" "gcloud projects describe shows the project number"
    out=$(gcloud projects add-iam-policy-binding "$PROJECT" --member=user:alice@example.com \
        --role=roles/viewer --format=json 2>&1)
    expect_contains "$out" "user:alice@example.com" "add-iam-policy-binding returns the binding"
    out=$(gcloud projects get-iam-policy "$PROJECT" \
        --format='value(bindings[0].role,bindings[0].members[0])' 2>&1)
    expect_eq $'roles/viewer\tuser:alice@example.com' "$out" "get-iam-policy shows the binding"
    out=$(gcloud projects list --format='value(projectId)' 2>&1)
    expect_contains "$out" "$PROJECT" "gcloud projects list shows the project"
    out=$(gcloud_as user:alice@example.com projects describe "$PROJECT" \
        --format='value(projectId)' 2>&1)
    expect_eq "$PROJECT" "$out" "gcloud as alice describes the project"
fi

section "logging: audit entries via curl"
api POST "$CONTROL_URL/v1/projects/$PROJECT:setIamPolicy" \
    '{"policy": {"etag": "c3RhbGU=", "bindings": []}}'
expect_error_json 409 ABORTED
entries_list "{\"resourceNames\": [\"projects/$PROJECT\"], \"orderBy\": \"timestamp desc\", \"pageSize\": 1}"
expect_status 200
expect_json '.entries | length' 1
expect_json '.entries[0].protoPayload.methodName' SetIamPolicy
expect_json '.entries[0].severity' ERROR
expect_json '.entries[0].protoPayload.status.code' 10
expect_json '.entries[0].logName' "projects/$PROJECT/logs/cloudaudit.googleapis.com%2Factivity"
expect_json '.entries[0].resource.type' audited_resource
expect_json '.entries[0].protoPayload.serviceName' cloudresourcemanager.googleapis.com
FIRST_ID=$(jq -r '.entries[0].insertId' <<<"$BODY")
TOKEN=$(jq -r .nextPageToken <<<"$BODY")
expect_eq yes "$([[ -n "$TOKEN" && "$TOKEN" != null ]] && echo yes)" "a full page has a nextPageToken"
entries_list "{\"resourceNames\": [\"projects/$PROJECT\"], \"orderBy\": \"timestamp desc\", \"pageSize\": 1, \"pageToken\": \"$TOKEN\"}"
expect_status 200
expect_eq 1 "$(jq -r "(.entries[0].insertId | tonumber) < $FIRST_ID" <<<"$BODY" | grep -c true)" \
    "the next page continues with older entries"
entries_list "{\"resourceNames\": [\"projects/$PROJECT\"], \"pageToken\": \"$TOKEN\"}"
expect_error_json 400 INVALID_ARGUMENT
entries_list '{"resourceNames": ["projects/some-other-project"]}'
expect_status 200
expect_json '.entries | length' 0
entries_list "{\"resourceNames\": [\"projects/$PROJECT\"], \"filter\": \"protoPayload.methodName=GetProject severity=INFO\"}"
expect_status 200
expect_json '[.entries[].protoPayload.methodName] | unique | join(",")' GetProject
expect_json '.entries[0].logName | endswith("data_access")' true

section "logging: gcloud logging read"
if (( HAVE_GCLOUD )); then
    out=$(gcloud logging read 'protoPayload.methodName="SetIamPolicy" AND severity=NOTICE' \
        --format='value(protoPayload.authenticationInfo.principalEmail)' 2>&1)
    expect_eq "developer@example.com" "$out" "logging read finds the successful SetIamPolicy"
    out=$(gcloud logging read 'protoPayload.authenticationInfo.principalEmail="alice@example.com"' \
        --limit 1 --format='value(protoPayload.methodName)' 2>&1)
    expect_eq GetProject "$out" "logging read shows alice's call"
    out=$(gcloud logging read 'protoPayload.methodName:"IamPolicy"' --order=asc --limit 2 \
        --freshness=1h --format='value(protoPayload.methodName)' 2>&1)
    expect_eq $'GetIamPolicy\nSetIamPolicy' "$out" "--order=asc --limit 2 gives the oldest two"
fi

section "logging: KMS calls are audited"
api POST "$KMS_URL/v1/projects/$PROJECT/locations/global/keyRings?keyRingId=audit-ring" '{}'
expect_status 200
api GET "$KMS_URL/v1/projects/$PROJECT/locations/global/keyRings/audit-ring"
expect_status 200
entries_list "{\"resourceNames\": [\"projects/$PROJECT\"], \"filter\": \"resource.type=cloudkms_keyring\"}"
expect_json '.entries[0].resource.labels.key_ring_id' audit-ring
expect_json '.entries[0].protoPayload.serviceName' cloudkms.googleapis.com
if (( HAVE_GCLOUD )); then
    out=$(gcloud logging read 'resource.type="cloudkms_keyring" protoPayload.methodName="CreateKeyRing"' \
        --format='value(resource.labels.key_ring_id)' 2>&1)
    expect_eq audit-ring "$out" "gcloud logging read shows the KMS key ring creation"
fi

section "reset"
api POST "$CONTROL_URL/emulator/v1/reset"
expect_status 200
expect_json .offset 0s
expect_json '.services | index("kms") != null' true
api GET "$CONTROL_URL/v1/projects"
expect_json '.projects | length' 0
entries_list "{\"resourceNames\": [\"projects/$PROJECT\"]}"
expect_json '.entries | length' 0
api POST "$CONTROL_URL/v1/projects/$PROJECT:getIamPolicy" '{}'
expect_json '.bindings | length' 0
api GET "$KMS_URL/v1/projects/$PROJECT/locations/global/keyRings/audit-ring"
expect_error_json 404 NOT_FOUND

section "stop and start one service"
api POST "$CONTROL_URL/emulator/v1/services/kms:stop"
expect_status 200
expect_json .state STOPPED
expect_eq STOPPED "$(status_of kms state)" "status shows kms STOPPED"
expect_eq false "$(status_of kms healthy)" "status shows kms unhealthy"
api GET "$KMS_URL/health"
expect_status 000
api POST "$CONTROL_URL/emulator/v1/clock:advance" '{"seconds": 1}'
expect_status 200
expect_json '.services | index("kms")' null
api POST "$CONTROL_URL/emulator/v1/services/kms:start"
expect_status 200
expect_json '[.state, .healthy] | @tsv' $'RUNNING\ttrue'
expect_healthy "$KMS_URL"
api POST "$CONTROL_URL/emulator/v1/services/nope:stop"
expect_error_json 404 NOT_FOUND
api POST "$CONTROL_URL/emulator/v1/services/kms:pause"
expect_error_json 404 NOT_FOUND

section "the supervisor restarts a killed service, not a stopped one"
old_pid=$(status_of kms pid)
kill -9 "$old_pid"
wait_for 10 "kms to be restarted after kill -9" kms_restarted
expect_eq 1 "$(status_of kms restarts)" "restarts counts the crash"
expect_healthy "$KMS_URL"
kill -TERM "$(status_of kms pid)"
wait_for 10 "kms to stop after SIGTERM" kms_stopped
sleep 1 # longer than the first restart backoff (200 ms)
expect_eq STOPPED "$(status_of kms state)" "a clean exit stays stopped"
api POST "$CONTROL_URL/emulator/v1/services/kms:start"
expect_status 200

section "bad input gets Google's error JSON"
api GET "$CONTROL_URL/no/such/path"
expect_error_json 404 NOT_FOUND
api DELETE "$CONTROL_URL/emulator/v1/status"
expect_error_json 404 NOT_FOUND
api POST "$CONTROL_URL/emulator/v1/clock:rewind" '{"seconds": 1}'
expect_error_json 404 NOT_FOUND
api POST "$CONTROL_URL/emulator/v1/clock:advance" '{"seconds":'
expect_error_json 400 INVALID_ARGUMENT
api POST "$CONTROL_URL/emulator/v1/clock:advance" '[1, 2]'
expect_error_json 400 INVALID_ARGUMENT
entries_list '{"resourceNames": "projects/control-project"}'
expect_error_json 400 INVALID_ARGUMENT
entries_list '{"resourceNames": ["projects/control-project"], "pageSize": "many"}'
expect_error_json 400 INVALID_ARGUMENT
entries_list '{"resourceNames": ["folders/123"]}'
expect_error_json 400 INVALID_ARGUMENT
entries_list '{}'
expect_error_json 400 INVALID_ARGUMENT
entries_list '{"resourceNames": ["projects/control-project"], "orderBy": "severity"}'
expect_error_json 400 INVALID_ARGUMENT
entries_list '{"resourceNames": ["projects/control-project"], "filter": "(((("}'
expect_error_json 400 INVALID_ARGUMENT
entries_list '{"resourceNames": ["projects/control-project"], "pageToken": "garbage!"}'
expect_error_json 400 INVALID_ARGUMENT
head -c 100000 /dev/zero | tr '\0' ' ' >"$TEST_TMP/huge.json"
api POST "$CONTROL_URL/emulator/v1/clock:advance" "@$TEST_TMP/huge.json"
expect_error_json 413 INVALID_ARGUMENT
expect_healthy "$CONTROL_URL"

section "two stacks side by side"
second_base=$(free_port_base)
second_url="http://127.0.0.1:$second_base"
"$BIN_DIR/emulator" --ephemeral --port-base "$second_base" >"$TEST_TMP/second.log" 2>&1 &
second_pid=$!
on_exit "stop_pid $second_pid"
if wait_stack_healthy "$second_pid" "$second_url" "$TEST_TMP/second.log"; then
    expect_healthy "$second_url"
    expect_healthy "http://127.0.0.1:$((second_base + 1))"
    expect_healthy "$CONTROL_URL"
    expect_healthy "$KMS_URL"
    api POST "$second_url/emulator/v1/clock:advance" '{"seconds": 100}'
    expect_json .offset 100s
    api GET "$CONTROL_URL/emulator/v1/clock"
    expect_json .offset 1s
    api GET "$second_url/emulator/v1/status"
    second_data=$(jq -r .dataDir <<<"$BODY")
    second_kms=$(jq -r '.services[] | select(.name == "kms") | .pid' <<<"$BODY")
    expect_eq yes "$([[ "$second_data" != "$DATA_DIR" ]] && echo yes)" "each stack has its own data dir"
    # killing a control plane with SIGKILL takes its services with it (PR_SET_PDEATHSIG)
    kill -9 "$second_pid"
    wait "$second_pid" 2>/dev/null
    wait_for 10 "the second stack's kms to exit" bash -c "! kill -0 $second_kms 2>/dev/null"
    expect_eq gone "$(kill -0 "$second_kms" 2>/dev/null || echo gone)" "an orphaned service exits"
    rm -rf "$second_data"
    expect_healthy "$CONTROL_URL"
else
    _fail "the second stack did not start"
fi

section "CMEK controls: faults, key checks, protected resources"
api GET "$CONTROL_URL/emulator/v1/faults"
expect_status 200
expect_json .kmsUnreachable false
api POST "$CONTROL_URL/emulator/v1/faults" '{"kmsUnreachable": true}'
expect_status 200
expect_json .kmsUnreachable true
api GET "$CONTROL_URL/emulator/v1/faults"
expect_json .kmsUnreachable true
api POST "$CONTROL_URL/emulator/v1/faults" '{"kmsUnreachable": "yes"}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$CONTROL_URL/emulator/v1/faults" '{}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$CONTROL_URL/emulator/v1/reset" '{}'
api GET "$CONTROL_URL/emulator/v1/faults"
expect_json .kmsUnreachable false
api POST "$CONTROL_URL/emulator/v1/keyChecks:run" '{}'
expect_status 200
expect_json '.services | index("kms") != null' true
api GET "$CONTROL_URL/emulator/v1/protectedResources"
expect_status 200
expect_json '.protectedResources | type' array

section "stopping the stack stops its services and removes the ephemeral data"
kms_pid=$(status_of kms pid)
stop_stack
expect_eq gone "$(kill -0 "$kms_pid" 2>/dev/null || echo gone)" "kms exited with the stack"
expect_eq gone "$([[ -e "$DATA_DIR" ]] || echo gone)" "the ephemeral data dir is removed"

finish
