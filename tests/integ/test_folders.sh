#!/usr/bin/env bash
# test_folders: Resource Manager v2 folders as resources, through the real gcloud
# (`gcloud resource-manager folders create | list | describe | update | move | delete |
# undelete`) and curl, under --iam enforce: folders under an organization and under
# folders, the done Operation gcloud polls (GET v1/operations/{id}), Google's constraints
# (display names, distinct siblings, no move below itself, only empty folders deleted)
# as FAILED_PRECONDITION or INVALID_ARGUMENT; and the hierarchy they make, felt
# everywhere: a project moved into a nested folder has the whole chain as ancestors, an
# organization's IAM binding and organization policy reach it, Cloud KMS Autokey finds
# the configuration of a folder two levels up; moving the folder elsewhere takes all of
# that away. Then the same folders through Resource Manager v3 (the API of Google's
# Node.js FoldersClient) by curl: create, get, list (by parent, in display-name order,
# paged, showDeleted), update, move, delete and undelete as done Operations that GET
# v3/operations/{id} answers again, SearchFolders' queries (displayName, state, parent;
# = and :, NOT, AND, OR, a suffix *; only what the caller may get), Google's errors naming
# the field, v2's permissions and one IAM policy for v2 and v3; and `gcloud alpha
# resource-manager folders search --query=...`. A reset forgets the folders.
# full-run-only: a gcloud walkthrough; `FAST=1 tests/integ/run-all` (scripts/test-all --fast) skips it
# shellcheck source=tests/integ/lib.sh
source "$(dirname "$0")/lib.sh"

PROJECT=my-project
OWNER=user:developer@example.com # the default principal owns every project
ORG=organizations/123
start_stack --iam enforce
API_PRINCIPAL=$OWNER
setup_gcloud "$PROJECT" "$OWNER"
V2="$CONTROL_URL/v2"

# create PARENT NAME: CreateFolder via curl; FOLDER gets the new folder's name.
create() {
    api POST "$V2/folders?parent=$1" "{\"displayName\":\"$2\"}"
    FOLDER=$(jq -r '.response.name // empty' <<<"$BODY")
}

# expect_refused CODE STATUS TEXT: Google's error, saying TEXT.
expect_refused() {
    expect_error_json "$1" "$2"
    expect_contains "$(jq -r .error.message <<<"$BODY")" "$3" "the error says: $3"
}

section "CreateFolder: a done Operation with the Folder"
create "$ORG" prod
expect_status 200
expect_json .done true
expect_json .metadata.operationType CREATE
expect_json .metadata.destinationParent "$ORG"
expect_json .response.displayName prod
expect_json .response.lifecycleState ACTIVE
PROD=$FOLDER
expect_eq true "$([[ $PROD =~ ^folders/[0-9]{12}$ ]] && echo true)" "a 12-digit folder ID"
OP=$(jq -r .name <<<"$BODY")
api GET "$CONTROL_URL/v1/$OP"
expect_status 200
expect_json .response.name "$PROD"
api GET "$CONTROL_URL/v1/operations/fc.none"
expect_error_json 404 NOT_FOUND

section "gcloud resource-manager folders"
if (( HAVE_GCLOUD )); then
    gcloud resource-manager folders create --display-name=payments --folder="${PROD#folders/}" \
        >/dev/null 2>&1
    expect_eq 0 $? "gcloud creates a folder in a folder (and polls its operation)"
    PAYMENTS=folders/$(gcloud resource-manager folders list --folder="${PROD#folders/}" \
        --format='value(name.segment())' 2>/dev/null)
    out=$(gcloud resource-manager folders describe "${PAYMENTS#folders/}" --format=json 2>&1)
    expect_eq "payments $PROD ACTIVE" "$(jq -r '"\(.displayName) \(.parent) \(.lifecycleState)"' <<<"$out")" \
        "gcloud describes it"
    gcloud resource-manager folders update "${PAYMENTS#folders/}" --display-name=payments-eu \
        >/dev/null 2>&1
    expect_eq 0 $? "gcloud renames it"
    out=$(gcloud resource-manager folders list --organization=123 --format='value(displayName)' 2>&1)
    expect_eq prod "$out" "gcloud lists the organization's folders"
else
    create "$PROD" payments-eu
    PAYMENTS=$FOLDER
fi
api GET "$V2/$PAYMENTS"
expect_json .displayName payments-eu

section "Google's constraints"
create "$ORG" prod
expect_refused 400 FAILED_PRECONDITION "already exists"
create "$ORG" " bad name"
expect_refused 400 INVALID_ARGUMENT "display name"
create "projects/$PROJECT" x
expect_refused 400 INVALID_ARGUMENT "organizations/{id} or folders/{id}"
create folders/42 x
expect_error_json 404 NOT_FOUND
api POST "$V2/$PROD:move" "{\"destinationParent\":\"$PAYMENTS\"}"
expect_refused 400 FAILED_PRECONDITION "into itself or into a folder below it"
api PATCH "$V2/$PAYMENTS?updateMask=parent" '{"parent":"organizations/9"}'
expect_refused 400 INVALID_ARGUMENT "display_name"
api GET "$V2/folders"
expect_refused 400 INVALID_ARGUMENT "parent is required"
api POST "$V2/folders:search" '{}'
expect_error_json 400 UNIMPLEMENTED # 400: the emulator's convention (README, Coverage)

section "a project in the nested folder: ancestry, IAM and organization policies follow"
api PUT "$CONTROL_URL/v1/projects/$PROJECT" "{\"parent\":{\"type\":\"folder\",\"id\":\"${PAYMENTS#folders/}\"}}"
expect_status 200
api POST "$CONTROL_URL/v1/projects/$PROJECT:getAncestry" '{}'
expect_json '[.ancestor[].resourceId | "\(.type)/\(.id)"] | join(",")' \
    "project/$PROJECT,folder/${PAYMENTS#folders/},folder/${PROD#folders/},organization/123"
if (( HAVE_GCLOUD )); then
    out=$(gcloud projects get-ancestors "$PROJECT" --format='value(id)' 2>&1 | tr '\n' ' ')
    expect_eq "$PROJECT ${PAYMENTS#folders/} ${PROD#folders/} 123 " "$out" "gcloud projects get-ancestors"
fi
# an organization-level viewer sees the project's topics
API_PRINCIPAL=user:auditor@example.com
api GET "$PUBSUB_URL/v1/projects/$PROJECT/topics"
expect_error_json 403 PERMISSION_DENIED
API_PRINCIPAL=$OWNER
api POST "$CONTROL_URL/v1/$ORG:setIamPolicy" \
    '{"policy":{"bindings":[{"role":"roles/viewer","members":["user:auditor@example.com"]}]}}'
expect_status 200
API_PRINCIPAL=user:auditor@example.com
api GET "$PUBSUB_URL/v1/projects/$PROJECT/topics"
expect_status 200
API_PRINCIPAL=$OWNER
# an organization's policy reaches it
api POST "$V2/$ORG/policies" \
    "{\"name\":\"$ORG/policies/gcp.restrictNonCmekServices\",\"spec\":{\"rules\":[{\"values\":{\"deniedValues\":[\"pubsub.googleapis.com\"]}}]}}"
expect_status 200
api PUT "$PUBSUB_URL/v1/projects/$PROJECT/topics/plain" '{}'
expect_refused 400 FAILED_PRECONDITION "constraints/gcp.restrictNonCmekServices"
# Cloud KMS Autokey finds the configuration two folders up
api PATCH "$KMS_URL/v1/$PROD/autokeyConfig?updateMask=keyProject" \
    "{\"name\":\"$PROD/autokeyConfig\",\"keyProject\":\"projects/$PROJECT\"}"
expect_status 200
api GET "$KMS_URL/v1/projects/$PROJECT:showEffectiveAutokeyConfig"
expect_status 200
expect_json .keyProject "projects/$PROJECT"

section "deleting: only an empty folder; undelete"
api DELETE "$V2/$PAYMENTS"
expect_refused 400 FAILED_PRECONDITION "not empty"
api DELETE "$V2/$PROD"
expect_refused 400 FAILED_PRECONDITION "not empty"

section "MoveFolder: the hierarchy follows the folder"
if (( HAVE_GCLOUD )); then
    gcloud resource-manager folders move "${PAYMENTS#folders/}" --organization=456 >/dev/null 2>&1
    expect_eq 0 $? "gcloud moves the folder to another organization (and polls the operation)"
else
    api POST "$V2/$PAYMENTS:move" '{"destinationParent":"organizations/456"}'
    expect_status 200
fi
api GET "$V2/$PAYMENTS"
expect_json .parent organizations/456
api PUT "$PUBSUB_URL/v1/projects/$PROJECT/topics/plain" '{}'
expect_status 200 # organizations/123's policy no longer applies
API_PRINCIPAL=user:auditor@example.com
api GET "$PUBSUB_URL/v1/projects/$PROJECT/topics"
expect_error_json 403 PERMISSION_DENIED
API_PRINCIPAL=$OWNER
api GET "$KMS_URL/v1/projects/$PROJECT:showEffectiveAutokeyConfig"
expect_json '.keyProject // ""' ""
api DELETE "$V2/$PROD"
expect_status 200
expect_json .lifecycleState DELETE_REQUESTED
api GET "$V2/folders?parent=$ORG"
expect_json '.folders // [] | length' 0
api GET "$V2/folders?parent=$ORG&showDeleted=true"
expect_json '.folders | length' 1
create "$PROD" inside
expect_refused 400 FAILED_PRECONDITION "DELETE_REQUESTED"
if (( HAVE_GCLOUD )); then
    gcloud resource-manager folders undelete "${PROD#folders/}" >/dev/null 2>&1
    expect_eq 0 $? "gcloud undeletes it"
else
    api POST "$V2/$PROD:undelete" '{}'
fi
api GET "$V2/$PROD"
expect_json .lifecycleState ACTIVE

section "permissions: resourcemanager.folders.create on the parent"
API_PRINCIPAL=user:mallory@example.com
create organizations/789 sneaky
expect_refused 403 PERMISSION_DENIED "resourcemanager.folders.create"
api DELETE "$V2/$PROD"
expect_error_json 403 PERMISSION_DENIED
API_PRINCIPAL=$OWNER

# --- Resource Manager v3: the same folders, as Google's FoldersClient and gcloud alpha see them ---
V3="$CONTROL_URL/v3"
V3_ORG=organizations/321

# create3 PARENT NAME: v3 CreateFolder; FOLDER gets the new folder's name, OP the operation's.
create3() {
    api POST "$V3/folders" "{\"parent\":\"$1\",\"displayName\":\"$2\"}"
    FOLDER=$(jq -r '.response.name // empty' <<<"$BODY")
    OP=$(jq -r '.name // empty' <<<"$BODY")
}

# search QUERY: v3 SearchFolders; FOUND gets the display names found, sorted, comma-separated.
search() {
    api GET "$V3/folders:search?query=$(jq -rn --arg q "$1" '$q | @uri')"
    FOUND=$(jq -r '[.folders // [] | .[].displayName] | sort | join(",")' <<<"$BODY" 2>/dev/null)
}

section "v3 CreateFolder: a done Operation (CreateFolderMetadata, the Folder), answered again"
create3 "$V3_ORG" Finance
expect_status 200
expect_json .done true
expect_json '.metadata["@type"]' type.googleapis.com/google.cloud.resourcemanager.v3.CreateFolderMetadata
expect_json '"\(.metadata.displayName) \(.metadata.parent)"' "Finance $V3_ORG"
expect_json '.response["@type"]' type.googleapis.com/google.cloud.resourcemanager.v3.Folder
expect_json '"\(.response.displayName) \(.response.parent) \(.response.state)"' "Finance $V3_ORG ACTIVE"
FINANCE=$FOLDER
expect_eq true "$([[ $FINANCE =~ ^folders/[0-9]{12}$ ]] && echo true)" "a 12-digit folder ID"
api GET "$V3/$OP"
expect_status 200
expect_json '"\(.done) \(.response.name)"' "true $FINANCE"
create3 "$FINANCE" "Team A"
TEAM_A=$FOLDER
create3 "$FINANCE" "Team B"
TEAM_B=$FOLDER
create3 "$V3_ORG" Engineering
ENG=$FOLDER

section "v3 GetFolder: state, times and etag; v2 and v3 show one folder"
api GET "$V3/$TEAM_A"
expect_status 200
expect_json '"\(.name) \(.displayName) \(.parent) \(.state)"' "$TEAM_A Team A $FINANCE ACTIVE"
expect_json '[.createTime, .updateTime, .etag] | map(length > 0) | all' true
expect_json '.deleteTime // "none"' none
ETAG=$(jq -r .etag <<<"$BODY")
api GET "$V2/$TEAM_A"
expect_json '"\(.displayName) \(.lifecycleState)"' "Team A ACTIVE"
api GET "$V3/$PROD" # created through v2
expect_json '"\(.displayName) \(.parent)"' "prod $ORG"

section "v3 ListFolders: a parent's folders by display name, pages, showDeleted"
api GET "$V3/folders?parent=$V3_ORG"
expect_status 200
expect_json '[.folders[].displayName] | join(",")' "Engineering,Finance"
api GET "$V3/folders?parent=$FINANCE&pageSize=1"
expect_json '[.folders[].displayName] | join(",")' "Team A"
TOKEN=$(jq -r .nextPageToken <<<"$BODY")
api GET "$V3/folders?parent=$FINANCE&pageSize=1&pageToken=$TOKEN"
expect_json '[.folders[].displayName] | join(",")' "Team B"
expect_json '.nextPageToken // "none"' none
api GET "$V3/folders?parent=$V3_ORG&pageSize=1&pageToken=$TOKEN"
expect_refused 400 INVALID_ARGUMENT "page token" # made for another parent

section "v3 UpdateFolder: the display name, under Google's rules"
api PATCH "$V3/$TEAM_B?updateMask=displayName" '{"displayName":"Team-B2"}'
expect_status 200
expect_json '.metadata["@type"]' type.googleapis.com/google.cloud.resourcemanager.v3.UpdateFolderMetadata
expect_json '"\(.done) \(.response.displayName)"' "true Team-B2"
api GET "$V3/$(jq -r .name <<<"$BODY")"
expect_json .response.displayName Team-B2
api PATCH "$V3/$TEAM_B?updateMask=display_name" '{"displayName":"Team A"}'
expect_refused 400 FAILED_PRECONDITION "already exists"
api PATCH "$V3/$TEAM_B?updateMask=displayName" '{"displayName":"-bad"}'
expect_refused 400 INVALID_ARGUMENT "folder.display_name"
api PATCH "$V3/$TEAM_B" '{"displayName":"x"}'
expect_refused 400 INVALID_ARGUMENT "update_mask"
api PATCH "$V3/$TEAM_B?updateMask=parent" '{"parent":"organizations/9"}'
expect_refused 400 INVALID_ARGUMENT "update_mask"
api GET "$V3/$TEAM_A"
expect_json .etag "$ETAG" # unchanged folder, unchanged etag

section "v3 MoveFolder: MoveFolderMetadata names both parents"
api POST "$V3/$TEAM_B:move" "{\"destinationParent\":\"$ENG\"}"
expect_status 200
expect_json '.metadata["@type"]' type.googleapis.com/google.cloud.resourcemanager.v3.MoveFolderMetadata
expect_json '"\(.metadata.displayName) \(.metadata.sourceParent) \(.metadata.destinationParent)"' \
    "Team-B2 $FINANCE $ENG"
expect_json .response.parent "$ENG"
MOVE_OP=$(jq -r .name <<<"$BODY")
api GET "$V3/$MOVE_OP"
expect_json .metadata.destinationParent "$ENG"
api POST "$V3/$FINANCE:move" "{\"destinationParent\":\"$TEAM_A\"}"
expect_refused 400 FAILED_PRECONDITION "into itself or into a folder below it"
api POST "$V3/$FINANCE:move" '{}'
expect_refused 400 INVALID_ARGUMENT "destination_parent"
api POST "$V3/$FINANCE:move" '{"destinationParent":"projects/p"}'
expect_refused 400 INVALID_ARGUMENT "destination_parent"

section "v3 DeleteFolder and UndeleteFolder: done Operations; a second call changes nothing"
api DELETE "$V3/$FINANCE"
expect_refused 400 FAILED_PRECONDITION "not empty"
api DELETE "$V3/$TEAM_A"
expect_status 200
expect_json '.metadata["@type"]' type.googleapis.com/google.cloud.resourcemanager.v3.DeleteFolderMetadata
expect_json .response.state DELETE_REQUESTED
DELETE_OP=$(jq -r .name <<<"$BODY")
DELETED_AT=$(jq -r .response.deleteTime <<<"$BODY")
expect_eq true "$([[ $DELETED_AT == 20* ]] && echo true)" "a deleteTime"
api DELETE "$V3/$TEAM_A" # Google: "a no-op success"
expect_status 200
expect_json '"\(.response.state) \(.response.deleteTime)"' "DELETE_REQUESTED $DELETED_AT"
api GET "$V3/$DELETE_OP"
expect_json .response.state DELETE_REQUESTED
api GET "$V3/folders?parent=$FINANCE"
expect_json '.folders // [] | length' 0
api GET "$V3/folders?parent=$FINANCE&showDeleted=true"
expect_json '[.folders[] | "\(.displayName) \(.state)"] | join(",")' "Team A DELETE_REQUESTED"
api POST "$V3/$TEAM_A:undelete" '{}'
expect_status 200
expect_json '.metadata["@type"]' type.googleapis.com/google.cloud.resourcemanager.v3.UndeleteFolderMetadata
expect_json '"\(.response.state) \(.response.deleteTime // "none")"' "ACTIVE none"
api POST "$V3/$TEAM_A:undelete" '{}'
expect_json .response.state ACTIVE
api DELETE "$V3/$TEAM_B" # stays deleted, for the searches below
expect_json .response.state DELETE_REQUESTED

section "v3 SearchFolders: displayName, state, parent; = and :, NOT, AND, OR, a suffix *"
search ""
expect_status 200
expect_contains "$FOUND" "Engineering,Finance,Team A,Team-B2" "every folder without a query"
search "displayName=Team*"
expect_eq "Team A,Team-B2" "$FOUND" "displayName=Team*: a prefix"
search "displayname:team*"
expect_eq "Team A,Team-B2" "$FOUND" "names and values in any case, ':' as '='"
search "displayName:Team"
expect_eq "" "$FOUND" "':' is equality, not 'contains'"
search 'displayName="Team A"'
expect_eq "Team A" "$FOUND" "a quoted value with a space"
search "parent=$FINANCE"
expect_eq "Team A" "$FOUND" "parent="
search "parent:$V3_ORG AND NOT displayName:Fin*"
expect_eq "Engineering" "$FOUND" "AND NOT"
search "displayName=Engineering OR displayName=Team-B2"
expect_eq "Engineering,Team-B2" "$FOUND" "OR"
search "state:DELETE_REQUESTED"
expect_eq "Team-B2" "$FOUND" "deleted folders are found by state"
search "lifecycleState=ACTIVE AND parent=$ENG"
expect_eq "" "$FOUND" "v2's lifecycleState too"
search "labels.env:prod"
expect_refused 400 INVALID_ARGUMENT "labels.env"
search "displayName<B"
expect_refused 400 INVALID_ARGUMENT "\"<\""
search "displayName=(Team"
expect_refused 400 INVALID_ARGUMENT "Invalid filter"
api GET "$V3/folders:search?query=$(jq -rn '"displayName=Team*" | @uri')&pageSize=1"
expect_json '.folders | length' 1
TOKEN=$(jq -r .nextPageToken <<<"$BODY")
api GET "$V3/folders:search?query=$(jq -rn '"displayName=Team*" | @uri')&pageSize=1&pageToken=$TOKEN"
expect_json '.folders | length' 1
api GET "$V3/folders:search?query=state:ACTIVE&pageSize=1&pageToken=$TOKEN"
expect_refused 400 INVALID_ARGUMENT "page token" # made for another query
if (( HAVE_GCLOUD )); then
    out=$(gcloud alpha resource-manager folders search --query='displayName:Team*' \
        --format='value(displayName)' 2>&1 | sort | tr '\n' ,)
    expect_eq "Team A,Team-B2," "$out" "gcloud alpha resource-manager folders search --query=displayName:Team*"
    out=$(gcloud alpha resource-manager folders search --query="state:DELETE_REQUESTED OR parent=$FINANCE" \
        --format='value(displayName,state)' 2>&1 | sort | tr '\t\n' ' ,')
    expect_eq "Team A ACTIVE,Team-B2 DELETE_REQUESTED," "$out" "gcloud searches with OR"
    out=$(gcloud alpha resource-manager folders search --query='name:x' 2>&1)
    expect_contains "$out" "INVALID_ARGUMENT" "gcloud shows a refused query"
fi

section "v3 errors: Google's JSON naming the field"
api POST "$V3/folders" '{"displayName":"x"}'
expect_refused 400 INVALID_ARGUMENT "folder.parent"
create3 "projects/$PROJECT" x
expect_refused 400 INVALID_ARGUMENT "folder.parent"
create3 "$V3_ORG" " bad name"
expect_refused 400 INVALID_ARGUMENT "folder.display_name"
create3 "$V3_ORG" Finance
expect_refused 400 FAILED_PRECONDITION "already exists"
create3 folders/42 x
expect_error_json 404 NOT_FOUND
api POST "$V3/folders" '{"parent":"organizations/321","displayName":"x","color":"red"}'
expect_refused 400 INVALID_ARGUMENT "color"
api POST "$V3/folders" '{"parent":"organizations/321","displayName":"x","state":"GONE"}'
expect_refused 400 INVALID_ARGUMENT "GONE"
api GET "$V3/folders"
expect_refused 400 INVALID_ARGUMENT "'parent'"
api GET "$V3/folders?parent=projects/p"
expect_refused 400 INVALID_ARGUMENT "'parent'"
api GET "$V3/folders?parent=$V3_ORG&showDeleted=maybe"
expect_error_json 400 INVALID_ARGUMENT
api GET "$V3/folders/42"
expect_error_json 404 NOT_FOUND
api GET "$V3/operations/fc.42"
expect_error_json 404 NOT_FOUND

section "v3 permissions and IAM: v2's permissions, the folders' one policy"
API_PRINCIPAL=user:mallory@example.com
api GET "$V3/folders/42"
expect_error_json 403 PERMISSION_DENIED # as v2: no oracle for folders one may not see
api GET "$V3/$TEAM_A"
expect_refused 403 PERMISSION_DENIED "resourcemanager.folders.get"
create3 "$V3_ORG" sneaky
expect_refused 403 PERMISSION_DENIED "resourcemanager.folders.create"
api GET "$V3/folders?parent=$FINANCE"
expect_refused 403 PERMISSION_DENIED "resourcemanager.folders.list"
search ""
expect_eq "" "$FOUND" "a search shows nothing the caller may not get"
API_PRINCIPAL=$OWNER
api POST "$V3/$TEAM_A:setIamPolicy" \
    '{"policy":{"bindings":[{"role":"roles/resourcemanager.folderViewer","members":["user:mallory@example.com"]}]}}'
expect_status 200
api POST "$V2/$TEAM_A:getIamPolicy" '{}'
expect_json '.bindings[0].members[0]' user:mallory@example.com # one policy for v2 and v3
api POST "$V3/$TEAM_A:getIamPolicy" '{}'
expect_json '.bindings[0].role' roles/resourcemanager.folderViewer
API_PRINCIPAL=user:mallory@example.com
api POST "$V3/$TEAM_A:testIamPermissions" \
    '{"permissions":["resourcemanager.folders.get","resourcemanager.folders.delete"]}'
expect_json '.permissions | join(",")' resourcemanager.folders.get
api GET "$V3/$TEAM_A"
expect_status 200
search ""
expect_eq "Team A" "$FOUND" "a search shows the folder the caller may get"
api DELETE "$V3/$TEAM_A"
expect_refused 403 PERMISSION_DENIED "resourcemanager.folders.delete"
api POST "$V3/$TEAM_A:getIamPolicy" '{}'
expect_refused 403 PERMISSION_DENIED "resourcemanager.folders.getIamPolicy"
API_PRINCIPAL=$OWNER

section "a reset forgets the folders"
api POST "$CONTROL_URL/emulator/v1/reset" '{}'
expect_status 200
api GET "$V2/$PROD"
expect_error_json 404 NOT_FOUND
api GET "$V3/$FINANCE"
expect_error_json 404 NOT_FOUND

finish
