#!/usr/bin/env bash
# test_resource_manager: Resource Manager v1 projects get a display name, labels and a
# parent (a folder or an organization), through curl and the real gcloud, under
# --iam enforce: UpdateProject (PUT v1/projects/{id}) replaces them, GET and list show
# them, getAncestry answers the project then its parent (what Cloud KMS Autokey reads),
# and so does the internal route KMS Autokey calls with the stack's credential; bad
# input is Google's 400 INVALID_ARGUMENT naming the field (a project's policy granting
# allUsers or allAuthenticatedUsers too), only a caller with
# resourcemanager.projects.update may change a project, the change is audited, and it
# survives a restart but not a reset; `gcloud projects create` and `gcloud services
# enable | list | disable` (test_projects_create.sh has the curl details).
# full-run-only: a gcloud walkthrough; `FAST=1 tests/integ/run-all` (scripts/test-all --fast) skips it
# shellcheck source=tests/integ/lib.sh
source "$(dirname "$0")/lib.sh"

PROJECT=my-project
OWNER=user:developer@example.com # the default principal owns every project
DATA="$TEST_TMP/data"
start_persistent --iam enforce
API_PRINCIPAL=$OWNER
setup_gcloud "$PROJECT" "$OWNER"
P="$CONTROL_URL/v1/projects/$PROJECT"

# put BODY: UpdateProject of $PROJECT.
put() { api PUT "$P" "$1"; }

# ancestry: getAncestry of $PROJECT, compact.
ancestry() {
    api POST "$P:getAncestry" '{}'
    expect_status 200
    jq -c . <<<"$BODY"
}

# expect_invalid FIELD: the last call was Google's 400 INVALID_ARGUMENT naming FIELD.
expect_invalid() {
    expect_error_json 400 INVALID_ARGUMENT
    expect_contains "$(jq -r .error.message <<<"$BODY")" "$1" "the error names $1"
}

section "a project starts with its ID for a name and no parent"
api GET "$P"
expect_status 200
expect_json .name "$PROJECT"
expect_json '.parent == null and .labels == null' true
CREATED=$(jq -r .createTime <<<"$BODY")
expect_eq '{"ancestor":[{"resourceId":{"type":"project","id":"my-project"}}]}' "$(ancestry)" \
    "the ancestry of a project without parent is the project"

section "UpdateProject via curl: name, labels and parent"
put '{"name": "My Project", "labels": {"env": "dev", "team": ""},
      "parent": {"type": "folder", "id": "123"}}'
expect_status 200
expect_json .projectId "$PROJECT"
expect_json .name "My Project"
expect_json .labels.env dev
expect_json '.parent | [.type, .id] | @tsv' $'folder\t123'
expect_json .createTime "$CREATED"
api GET "$P"
expect_json .name "My Project"
expect_json '.labels | keys | join(",")' env,team
expect_json '.parent | [.type, .id] | @tsv' $'folder\t123'
api GET "$CONTROL_URL/v1/projects"
expect_json ".projects[] | select(.projectId == \"$PROJECT\") | .parent.id" 123
expect_eq '{"ancestor":[{"resourceId":{"type":"project","id":"my-project"}},{"resourceId":{"type":"folder","id":"123"}}]}' \
    "$(ancestry)" "the ancestry is the project, then its folder"

section "what GET returns can be PUT back (gcloud's round trip)"
api GET "$P"
put "$(jq -c '.name = "Round Trip"' <<<"$BODY")"
expect_status 200
expect_json .name "Round Trip"
expect_json .labels.env dev
expect_json .parent.id 123

section "a PUT replaces: what the body leaves out is cleared, the parent moves"
put '{"parent": {"type": "organization", "id": "98765432109876543210"}}'
expect_status 200
expect_json .name "$PROJECT"
expect_json .labels null
expect_json '.parent | [.type, .id] | @tsv' $'organization\t98765432109876543210'
expect_eq '{"ancestor":[{"resourceId":{"type":"project","id":"my-project"}},{"resourceId":{"type":"organization","id":"98765432109876543210"}}]}' \
    "$(ancestry)" "the ancestry ends at the organization"

section "the internal ancestry route (Cloud KMS Autokey's) answers the same, internally only"
api GET "$CONTROL_URL/emulator/v1/internal/projects/$PROJECT:ancestry"
expect_error_json 403 PERMISSION_DENIED
CREDENTIAL=$(od -An -tx1 -v "$DATA/internal.token" | tr -d ' \n')
API_HEADER="X-Emulator-Internal: $CREDENTIAL" api GET \
    "$CONTROL_URL/emulator/v1/internal/projects/$PROJECT:ancestry"
expect_status 200
expect_eq '{"ancestor":[{"resourceId":{"type":"project","id":"my-project"}},{"resourceId":{"type":"organization","id":"98765432109876543210"}}]}' \
    "$(jq -c . <<<"$BODY")" "the internal route answers getAncestry's JSON"

section "bad input: Google's 400 INVALID_ARGUMENT naming the field, and nothing changes"
put '{"parent": {"type": "project", "id": "123"}}'
expect_invalid "'parent.type'"
put '{"parent": {"type": "folder", "id": "abc"}}'
expect_invalid "'parent.id'"
put '{"parent": {"type": "folder", "id": "123456789012345678901"}}'
expect_invalid "'parent.id'"
put '{"parent": {"type": "folder"}}'
expect_invalid "'parent.id'"
put '{"name": "x", "parent": {"type": "folder", "id": "1"}}'
expect_invalid "'name'"
put '{"name": "Foo & Bar", "parent": {"type": "folder", "id": "1"}}'
expect_invalid "'name'"
put '{"projectId": "other-project", "parent": {"type": "folder", "id": "1"}}'
expect_invalid "'project_id'"
put '{"labels": {"Env": "dev"}, "parent": {"type": "folder", "id": "1"}}'
expect_invalid '"Env"'
put '{"name": "No Parent Now"}'
expect_invalid "'parent'"
put '{"parent": "folders/123"}'
expect_invalid "parent"
put '{"parent": {"type": "folder", "id": 123}}'
expect_invalid "parent.id"
put '{"labels": {"env": 5}, "parent": {"type": "folder", "id": "1"}}'
expect_invalid "labels"
put '{"displayName": "My Project"}'
expect_invalid '"displayName"'
api PUT "$CONTROL_URL/v1/projects/Not_A_Project" '{"name": "My Project"}'
expect_invalid "Not_A_Project"
api GET "$P"
expect_json '.parent | [.type, .id] | @tsv' $'organization\t98765432109876543210'
expect_json .name "$PROJECT"

section "IAM: resourcemanager.projects.update"
API_PRINCIPAL=user:mallory@example.com
put '{"parent": {"type": "folder", "id": "666"}}'
expect_error_json 403 PERMISSION_DENIED
expect_contains "$BODY" resourcemanager.projects.update "names the permission"
API_PRINCIPAL=$OWNER
api POST "$P:getIamPolicy" '{}'
policy=$(jq -c '.bindings += [{role: "roles/viewer", members: ["user:viewer@example.com"]}]' <<<"$BODY")
api POST "$P:setIamPolicy" "{\"policy\": $policy}"
expect_status 200
API_PRINCIPAL=user:viewer@example.com
api GET "$P"
expect_status 200
put '{"parent": {"type": "folder", "id": "666"}}'
expect_error_json 403 PERMISSION_DENIED
API_PRINCIPAL=$OWNER
api GET "$P"
expect_json .parent.id 98765432109876543210
for member in allUsers allAuthenticatedUsers; do # a project's policy takes neither
    api POST "$P:getIamPolicy" '{}'
    policy=$(jq -c --arg m "$member" '.bindings += [{role: "roles/viewer", members: [$m]}]' <<<"$BODY")
    api POST "$P:setIamPolicy" "{\"policy\": $policy}"
    expect_invalid "$member"
    api POST "$CONTROL_URL/v3/projects/$PROJECT:setIamPolicy" "{\"policy\": $policy}"
    expect_invalid "$member"
done
api POST "$P:getIamPolicy" '{}'
expect_eq "" "$(jq -r '[.bindings[].members[] | select(startswith("all"))] | join(",")' <<<"$BODY")" \
    "the project's policy grants nothing to allUsers"
if (( HAVE_GCLOUD )); then
    out=$(gcloud projects add-iam-policy-binding "$PROJECT" --member=allUsers --role=roles/viewer 2>&1)
    expect_eq 1 $? "gcloud projects add-iam-policy-binding --member=allUsers fails"
    expect_contains "$out" "INVALID_ARGUMENT" "gcloud shows INVALID_ARGUMENT"
    expect_contains "$out" "cannot grant roles to allUsers" "gcloud shows why"
fi

section "the update is in the audit log"
api POST "$CONTROL_URL/v2/entries:list" \
    "{\"resourceNames\": [\"projects/$PROJECT\"], \"filter\": \"protoPayload.methodName=UpdateProject\", \"orderBy\": \"timestamp desc\"}"
expect_status 200
expect_json '.entries[0].logName' "projects/$PROJECT/logs/cloudaudit.googleapis.com%2Factivity"
expect_json '[.entries[] | .protoPayload.status.code // 0] | index(0) != null' true
expect_json '[.entries[] | .protoPayload.status.code // 0] | index(3) != null' true
expect_json '[.entries[] | .protoPayload.status.code // 0] | index(7) != null' true

section "gcloud: move, update, describe, get-ancestors"
if (( HAVE_GCLOUD )); then
    out=$(gcloud beta projects move "$PROJECT" --folder=123 --quiet --format=json 2>&1)
    expect_eq 0 $? "gcloud beta projects move --folder succeeds: $out"
    out=$(gcloud projects describe "$PROJECT" --format='value(parent.type,parent.id)' 2>&1)
    expect_eq $'folder\t123' "$out" "gcloud projects describe shows the folder"
    out=$(gcloud projects update "$PROJECT" --name="My Project" --format=json 2>&1)
    expect_eq 0 $? "gcloud projects update --name succeeds: $out"
    out=$(gcloud projects describe "$PROJECT" --format='value(name,parent.type,parent.id)' 2>&1)
    expect_eq $'My Project\tfolder\t123' "$out" "the name changed and the parent stayed"
    out=$(gcloud alpha projects update "$PROJECT" --update-labels=env=dev,tier=free 2>&1)
    expect_eq 0 $? "gcloud alpha projects update --update-labels succeeds: $out"
    out=$(gcloud projects describe "$PROJECT" --format='value(labels.env,labels.tier,name)' 2>&1)
    expect_eq $'dev\tfree\tMy Project' "$out" "the labels are set, the name kept"
    out=$(gcloud projects get-ancestors "$PROJECT" --format='value(id,type)' 2>&1)
    expect_eq $'my-project\tproject\n123\tfolder' "$out" "gcloud projects get-ancestors"
    out=$(gcloud beta projects move "$PROJECT" --organization=4242 --quiet 2>&1)
    expect_eq 0 $? "gcloud beta projects move --organization succeeds: $out"
    out=$(gcloud projects get-ancestors "$PROJECT" --format='value(id,type)' 2>&1)
    expect_eq $'my-project\tproject\n4242\torganization' "$out" "moved to the organization"
    out=$(gcloud projects update "$PROJECT" --name="x" 2>&1)
    expect_eq 1 $? "gcloud projects update with a bad name fails"
    expect_contains "$out" "INVALID_ARGUMENT" "gcloud shows INVALID_ARGUMENT"
    expect_contains "$out" "'name'" "gcloud shows the field"
    out=$(gcloud beta projects move "$PROJECT" --folder=not-a-number --quiet 2>&1)
    expect_eq 1 $? "gcloud beta projects move to a non-numeric folder fails"
    expect_contains "$out" "parent.id" "gcloud shows the field"
    out=$(gcloud_as user:viewer@example.com beta projects move "$PROJECT" --folder=1 --quiet 2>&1)
    expect_eq 1 $? "gcloud as a viewer cannot move the project"
    expect_contains "$out" "resourcemanager.projects.update" "gcloud names the permission"
fi

section "gcloud projects create, gcloud services"
if (( HAVE_GCLOUD )); then
    out=$(gcloud projects create gcloud-made-1 --folder=123 --name="Made By Gcloud" \
        --labels=env=test 2>&1)
    expect_eq 0 $? "gcloud projects create --folder succeeds (and enables cloudapis): $out"
    out=$(gcloud projects describe gcloud-made-1 --format='value(name,parent.type,parent.id,labels.env)' 2>&1)
    expect_eq $'Made By Gcloud\tfolder\t123\ttest' "$out" "gcloud projects describe shows it"
    out=$(gcloud projects create gcloud-made-1 2>&1)
    expect_eq 1 $? "gcloud projects create of an ID in use fails"
    expect_contains "$out" "already in use" "gcloud says the ID is in use"
    out=$(gcloud services enable storage.googleapis.com --project gcloud-made-1 2>&1)
    expect_eq 0 $? "gcloud services enable: $out"
    out=$(gcloud services list --project gcloud-made-1 --format='value(config.name)' 2>&1)
    expect_contains "$out" "storage.googleapis.com" "gcloud services list shows the enabled API"
    expect_contains "$out" "cloudapis.googleapis.com" "and the one projects create enabled"
    expect_contains "$out" "cloudkms.googleapis.com" "and the APIs the emulator serves"
    out=$(gcloud services disable cloudresourcemanager.googleapis.com --project gcloud-made-1 2>&1)
    expect_eq 1 $? "gcloud services disable of the control plane's API fails"
    expect_contains "$out" "stays enabled" "gcloud shows why"
fi

section "a restart keeps the parent"
api GET "$P"
before=$(jq -c '{name, labels, parent, createTime}' <<<"$BODY")
stop_stack
start_persistent --iam enforce
api GET "$P"
expect_status 200
expect_eq "$before" "$(jq -c '{name, labels, parent, createTime}' <<<"$BODY")" \
    "name, labels, parent and createTime survive a restart"

section "reset forgets them"
api POST "$CONTROL_URL/emulator/v1/reset" '{}'
expect_status 200
api GET "$P"
expect_json .name "$PROJECT"
expect_json '.parent == null and .labels == null' true
expect_eq '{"ancestor":[{"resourceId":{"type":"project","id":"my-project"}}]}' "$(ancestry)" \
    "after a reset the ancestry is the project alone"

finish
