#!/usr/bin/env bash
# test_projects_create: CreateProject (POST v1/projects, what `gcloud projects create`
# sends) and Service Usage v1 (`gcloud services enable | disable | list`), through curl
# under --iam enforce. A new project gets its name, labels and parent, answers a done
# Operation that GET v1/operations/{id} answers again, and is then a project like any
# other (get, ancestry, IAM from its folder); an ID already in use is 409 ALREADY_EXISTS;
# bad input is 400 naming the field; creating under a folder needs
# resourcemanager.projects.create there (and so does moving a project: an editor cannot
# take it out of its folder, nor write its organization policies). Services: the APIs the emulator serves are
# always ENABLED and cannot be disabled (FAILED_PRECONDITION); others are recorded as
# enabled or disabled per project, listed with a filter, and forgotten by a reset.
# shellcheck source=tests/integ/lib.sh
source "$(dirname "$0")/lib.sh"

OWNER=user:developer@example.com # the default principal owns every project
start_stack --iam enforce
API_PRINCIPAL=$OWNER
RM="$CONTROL_URL/v1"

section "CreateProject: a done Operation, then the project"
api POST "$CONTROL_URL/v2/folders/777:setIamPolicy" \
    "{\"policy\":{\"bindings\":[{\"role\":\"roles/resourcemanager.projectCreator\",\"members\":[\"user:creator@example.com\"]},{\"role\":\"roles/viewer\",\"members\":[\"user:auditor@example.com\"]}]}}"
expect_status 200
API_PRINCIPAL=user:creator@example.com api POST "$RM/projects" \
    '{"projectId":"created-one","name":"Created One","parent":{"type":"folder","id":"777"},"labels":{"team":"data"}}'
expect_status 200 # roles/resourcemanager.projectCreator on the folder
expect_json .done true
expect_json '.name | test("^operations/cp\\.[0-9]+$")' true
expect_json .metadata.ready true
expect_json '.response["@type"]' type.googleapis.com/google.cloudresourcemanager.v1.Project
expect_json '.response | [.projectId, .name, .lifecycleState, .labels.team, .parent.type, .parent.id] | join(",")' \
    "created-one,Created One,ACTIVE,data,folder,777"
OP=$(jq -r .name <<<"$BODY")
api GET "$RM/$OP"
expect_status 200
expect_json .response.projectId created-one
api GET "$RM/projects/created-one"
expect_json '[.name, .parent.id] | join(",")' "Created One,777"
api POST "$RM/projects/created-one:getAncestry" '{}'
expect_json '[.ancestor[].resourceId.type] | join(",")' project,folder
# the folder's bindings reach the new project: a viewer there can read it
API_PRINCIPAL=user:auditor@example.com api GET "$RM/projects/created-one"
expect_status 200

section "an ID already in use, bad input"
api POST "$RM/projects" '{"projectId":"created-one"}'
expect_error_json 409 ALREADY_EXISTS
api GET "$RM/projects/seen-before" >/dev/null # a project the control plane has seen
api POST "$RM/projects" '{"projectId":"seen-before"}'
expect_error_json 409 ALREADY_EXISTS
api POST "$RM/projects" '{"name":"No ID"}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" project_id "the error names project_id"
api POST "$RM/projects" '{"projectId":"Bad_Id"}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$RM/projects" '{"projectId":"good-id-two","name":"x"}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "'name'" "the error names the field"
api POST "$RM/projects" '{"projectId":"good-id-two","parent":{"type":"planet","id":"3"}}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$RM/projects" '{"projectId":"good-id-two","tags":{"a":"b"}}'
expect_error_json 400 INVALID_ARGUMENT
api GET "$RM/projects/good-id-two"
expect_json .parent null # nothing was created by the refusals

section "IAM: resourcemanager.projects.create on the parent"
API_PRINCIPAL=user:auditor@example.com api POST "$RM/projects" \
    '{"projectId":"not-allowed","parent":{"type":"planet","id":"777"}}'
expect_error_json 400 INVALID_ARGUMENT # a malformed parent is named before any permission
API_PRINCIPAL=user:auditor@example.com api POST "$RM/projects" \
    '{"projectId":"not-allowed","parent":{"type":"folder","id":"777"}}'
expect_error_json 403 PERMISSION_DENIED
expect_contains "$BODY" resourcemanager.projects.create "the error names the permission"

section "a project's editor cannot take it out of its folder, nor lift its org policies"
api POST "$RM/projects/created-one:setIamPolicy" \
    '{"policy":{"bindings":[{"role":"roles/editor","members":["user:editor@example.com"]}]}}'
expect_status 200
API_PRINCIPAL=user:editor@example.com api PUT "$RM/projects/created-one" \
    '{"name":"Renamed","parent":{"type":"folder","id":"777"}}'
expect_status 200 # an update that does not move the project
API_PRINCIPAL=user:editor@example.com api PUT "$RM/projects/created-one" \
    '{"name":"Renamed","parent":{"type":"organization","id":"999"}}'
expect_error_json 403 PERMISSION_DENIED
expect_contains "$BODY" "resourcemanager.projects.create" "a move needs create on the destination"
api GET "$RM/projects/created-one"
expect_json .parent.id 777
API_PRINCIPAL=user:editor@example.com api POST "$CONTROL_URL/v2/projects/created-one/policies" \
    '{"name":"projects/created-one/policies/gcp.restrictNonCmekServices","spec":{"reset":true}}'
expect_error_json 403 PERMISSION_DENIED
expect_contains "$BODY" "orgpolicy.policy.set" "basic roles do not write organization policies"

section "Service Usage: served APIs always enabled, others recorded"
SU="$RM/projects/created-one/services"
api GET "$SU/pubsub.googleapis.com"
expect_status 200
expect_json .state ENABLED
NUMBER=$(jq -r '.parent | sub("projects/"; "")' <<<"$BODY")
expect_json .name "projects/$NUMBER/services/pubsub.googleapis.com"
api GET "$SU/compute.googleapis.com"
expect_json .state DISABLED
api POST "$SU/compute.googleapis.com:enable" '{}'
expect_status 200
expect_json .done true
expect_json '.response.service.state' ENABLED
OP=$(jq -r .name <<<"$BODY")
api GET "$RM/$OP"
expect_json '.response["@type"]' type.googleapis.com/google.api.serviceusage.v1.EnableServiceResponse
api POST "$RM/projects/created-one/services:batchEnable" '{"serviceIds":["storage.googleapis.com","cloudkms.googleapis.com"]}'
expect_status 200
expect_json '[.response.services[].state] | join(",")' ENABLED,ENABLED
api GET "$SU?filter=state:ENABLED&pageSize=200"
expect_json '[.services[].config.name] | map(select(. == "compute.googleapis.com" or . == "storage.googleapis.com" or . == "spanner.googleapis.com")) | length' 3
api POST "$SU/compute.googleapis.com:disable" '{"disableDependentServices":false}'
expect_status 200
expect_json .response.service.state DISABLED
api GET "$SU?filter=state:ENABLED&pageSize=200"
expect_json '[.services[].config.name] | index("compute.googleapis.com")' null
api POST "$SU/serviceusage.googleapis.com:disable" '{}'
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "stays enabled" "the control plane's APIs cannot be disabled"
api POST "$SU/not..valid:enable" '{}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$RM/projects/created-one/services:batchEnable" '{"serviceIds":[]}'
expect_error_json 400 INVALID_ARGUMENT
API_PRINCIPAL=user:auditor@example.com api POST "$SU/storage.googleapis.com:disable" '{}'
expect_error_json 403 PERMISSION_DENIED
expect_contains "$BODY" serviceusage.services.disable "the error names the permission"

section "the audit log names each API"
api POST "$CONTROL_URL/v2/entries:list" \
    '{"resourceNames": ["projects/created-one"], "filter": "protoPayload.methodName=EnableService"}'
expect_status 200
expect_json '.entries[0].protoPayload.serviceName' serviceusage.googleapis.com
api POST "$CONTROL_URL/v2/entries:list" \
    '{"resourceNames": ["projects/created-one"], "filter": "protoPayload.methodName=UpdateProject"}'
expect_json '.entries[0].protoPayload.serviceName' cloudresourcemanager.googleapis.com
api POST "$CONTROL_URL/v2/entries:list" \
    '{"resourceNames": ["projects/created-one"], "filter": "protoPayload.methodName=CreateProject"}'
expect_json '.entries[0].protoPayload.resourceName' projects/created-one # the new project's entry

section "reset forgets created projects and recorded services"
api POST "$CONTROL_URL/emulator/v1/reset" '{}'
expect_status 200
api GET "$SU/storage.googleapis.com"
expect_json .state DISABLED
api POST "$RM/projects" '{"projectId":"created-one"}'
expect_status 200

expect_healthy "$CONTROL_URL"
finish
