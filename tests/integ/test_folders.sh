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
# that away. A reset forgets the folders.
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

section "a reset forgets the folders"
api POST "$CONTROL_URL/emulator/v1/reset" '{}'
expect_status 200
api GET "$V2/$PROD"
expect_error_json 404 NOT_FOUND

finish
