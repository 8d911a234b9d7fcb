#!/usr/bin/env bash
# test_project_delete: deleting a project (Resource Manager's DeleteProject and
# UndeleteProject), through REST and gcloud.
#
# A deleted project is DELETE_REQUESTED (get shows it, list leaves it out unless the filter
# asks for it, update is refused) and every service refuses its calls with Google's 403
# CONSUMER_INVALID (Service Usage and Organization Policy too); its push subscriptions
# stop delivering and its running Dataflow jobs wait (neither pulling nor failing) until
# it is undeleted. The CMEK drill: the key project
# is deleted, the next key check makes the topic of another project INACCESSIBLE, undelete
# brings it back. After 30 days of emulator time the project is gone: 403, not listed, not
# undeletable, its ID taken. Permissions: an editor may not delete; the project deleter
# role may. The deletion survives a restart. Liens (v1 and v3, gcloud alpha
# resource-manager liens): a lien restricting resourcemanager.projects.delete blocks the
# deletion (FAILED_PRECONDITION, a LIEN violation) until it is deleted; their rules and
# permissions (updateLiens to create and delete, get to read). Resource Manager v3
# projects (the API of Google's Node.js ProjectsClient and gcloud alpha projects list
# --folder): get by number or ID, list by parent, search, create, update, move, delete and
# undelete as done operations.
source "$(dirname "$0")/lib.sh"

DATA="$TEST_TMP/data"
mkdir -p "$DATA"
start_persistent
setup_gcloud app-project
CRM="$CONTROL_URL/v1/projects"
TOPICS="$PUBSUB_URL/v1/projects/app-project/topics"
KEY=projects/key-project/locations/global/keyRings/ring/cryptoKeys/topics
topic_state() { protected_state pubsub projects/app-project/topics/orders; }

section "a deleted project: DELETE_REQUESTED, and its calls refused"
api PUT "$PUBSUB_URL/v1/projects/gone-project/topics/first" '{}'
expect_status 200
api DELETE "$CRM/gone-project"
expect_status 200
expect_eq '{}' "$(jq -c . <<<"$BODY")" "DeleteProject answers Empty"
api GET "$CRM/gone-project"
expect_json .lifecycleState DELETE_REQUESTED
api GET "$PUBSUB_URL/v1/projects/gone-project/topics"
expect_error_json 403 PERMISSION_DENIED
expect_json .error.message "Permission denied on resource project gone-project."
expect_json '.error.details[0].reason' CONSUMER_INVALID
expect_json '.error.details[0].metadata.consumer' projects/gone-project
expect_json '.error.details[0].metadata.service' pubsub.googleapis.com
api POST "$KMS_URL/v1/projects/gone-project/locations/global/keyRings?keyRingId=r" '{}'
expect_error_json 403 PERMISSION_DENIED
api GET "$SPANNER_URL/v1/projects/gone-project/instances"
expect_error_json 403 PERMISSION_DENIED
api POST "$CONTROL_URL/v1/projects/gone-project/services/pubsub.googleapis.com:disable" '{}'
expect_error_json 403 PERMISSION_DENIED # Service Usage too
expect_json '[.error.details[0].reason, .error.details[0].metadata.service] | join(" ")' \
    "CONSUMER_INVALID serviceusage.googleapis.com"
api GET "$CONTROL_URL/v1/projects/gone-project/services?filter=state:ENABLED"
expect_error_json 403 PERMISSION_DENIED
api GET "$CONTROL_URL/v2/projects/gone-project/policies"
expect_error_json 403 PERMISSION_DENIED # Organization Policy too, by ID or number
expect_json '[.error.details[0].reason, .error.details[0].metadata.service] | join(" ")' \
    "CONSUMER_INVALID orgpolicy.googleapis.com"
GONE_NUMBER=$(curl -s "$CRM/gone-project" | jq -r .projectNumber)
api POST "$CONTROL_URL/v2/projects/$GONE_NUMBER/policies" \
    "{\"name\":\"projects/$GONE_NUMBER/policies/gcp.restrictNonCmekServices\",\"spec\":{\"rules\":[{\"values\":{\"deniedValues\":[\"pubsub.googleapis.com\"]}}]}}"
expect_error_json 403 PERMISSION_DENIED
if (( HAVE_GCLOUD )); then
    out=$(gcloud org-policies list --project gone-project 2>&1)
    expect_eq 1 $? "gcloud org-policies list on a deleted project fails"
    expect_contains "$out" "CONSUMER_INVALID" "gcloud shows the reason"
fi
api GET "$PUBSUB_URL/v1/projects/other-project/topics"
expect_status 200 # other projects are untouched
api PUT "$PUBSUB_URL/v1/projects/other-project/subscriptions/on-gone" \
    '{"topic":"projects/gone-project/topics/first"}'
expect_error_json 404 NOT_FOUND # a deleted project's topic, from another project
api GET "$CRM?filter=lifecycleState:ACTIVE"
expect_eq "" "$(jq -r '.projects[]? | select(.projectId == "gone-project") | .projectId' <<<"$BODY")" \
    "an ACTIVE filter leaves it out"
api GET "$CRM?filter=lifecycleState:DELETE_REQUESTED"
expect_eq gone-project "$(jq -r '[.projects[].projectId] | join(",")' <<<"$BODY")" \
    "a DELETE_REQUESTED filter finds it"
api PUT "$CRM/gone-project" '{"name":"New name"}'
expect_error_json 400 FAILED_PRECONDITION
api DELETE "$CRM/gone-project"
expect_status 200 # deleting again changes nothing
api POST "$CRM/other-project:undelete" '{}'
expect_error_json 400 FAILED_PRECONDITION
api POST "$CRM/gone-project:undelete" '{}'
expect_status 200
api GET "$CRM/gone-project"
expect_json .lifecycleState ACTIVE
api GET "$PUBSUB_URL/v1/projects/gone-project/topics"
expect_status 200
expect_json '.topics[0].name' projects/gone-project/topics/first
api GET "$CONTROL_URL/v1/projects/gone-project/services/pubsub.googleapis.com"
expect_json .state ENABLED
api GET "$CONTROL_URL/v2/projects/gone-project/policies"
expect_status 200 # its organization policies answer again

section "liens: a lien on a project blocks its deletion"
LIEN_BODY='{"parent":"projects/lien-project","restrictions":["resourcemanager.projects.delete"],"reason":"Holds the CMEK keys","origin":"security-team"}'
api POST "$CONTROL_URL/v1/liens" "$LIEN_BODY"
expect_status 200
LIEN=$(jq -r .name <<<"$BODY")
expect_contains "$LIEN" "liens/p" "Google's lien name"
expect_json .parent projects/lien-project
expect_json '.restrictions | join(",")' resourcemanager.projects.delete
expect_json .origin security-team
api DELETE "$CRM/lien-project"
expect_error_json 400 FAILED_PRECONDITION
expect_json .error.message "A lien to prevent deletion was placed on the project by [security-team]. Remove the lien to allow deletion."
expect_json '.error.details[0].violations[0] | [.type, .subject, .description] | join("|")' \
    "LIEN|$LIEN|Holds the CMEK keys"
api GET "$CRM/lien-project"
expect_json .lifecycleState ACTIVE
NUMBER=$(jq -r .projectNumber <<<"$BODY")
api GET "$CONTROL_URL/v3/liens?parent=projects/$NUMBER"
expect_json '[.liens[].name] | join(",")' "$LIEN" # v3, and the project by its number
api GET "$CONTROL_URL/v3/$LIEN"
expect_json .reason "Holds the CMEK keys"
api POST "$CONTROL_URL/v1/liens" '{"parent":"projects/lien-project","restrictions":["resourcemanager.projects.move"],"reason":"r","origin":"o"}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$(jq -r .error.message <<<"$BODY")" resourcemanager.projects.move "the unsupported restriction is named"
api POST "$CONTROL_URL/v1/liens" '{"parent":"projects/lien-project","restrictions":[],"reason":"r","origin":"o"}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$CONTROL_URL/v1/liens" '{"parent":"projects/lien-project","restrictions":["resourcemanager.projects.delete"],"origin":"o"}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$(jq -r .error.message <<<"$BODY")" reason "the missing reason is named"
api POST "$CONTROL_URL/v1/liens" "{\"parent\":\"projects/lien-project\",\"restrictions\":[\"resourcemanager.projects.delete\"],\"reason\":\"$(printf 'x%.0s' {1..201})\",\"origin\":\"o\"}"
expect_error_json 400 INVALID_ARGUMENT
api POST "$CONTROL_URL/v1/liens" '{"parent":"folders/123","restrictions":["resourcemanager.projects.delete"],"reason":"r","origin":"o"}'
expect_error_json 400 INVALID_ARGUMENT
api GET "$CONTROL_URL/v1/liens"
expect_error_json 400 INVALID_ARGUMENT # the parent is required
api GET "$CONTROL_URL/v1/liens/p1-nothing-here"
expect_error_json 404 NOT_FOUND
api DELETE "$CONTROL_URL/v1/$LIEN"
expect_status 200
api GET "$CONTROL_URL/v1/liens?parent=projects/lien-project"
expect_eq 0 "$(jq '.liens // [] | length' <<<"$BODY")" "no lien left"
api DELETE "$CRM/lien-project"
expect_status 200
api POST "$CONTROL_URL/v1/liens" "$LIEN_BODY"
expect_error_json 400 FAILED_PRECONDITION # no lien on a project whose deletion was requested

section "Resource Manager v3 projects"
V3="$CONTROL_URL/v3/projects"
api POST "$V3" '{"projectId":"v3-project","displayName":"Ledger","parent":"folders/777","labels":{"env":"dev"}}'
expect_status 200
expect_json '[.done, .metadata["@type"], .response.projectId, .response.state] | join(" ")' \
    "true type.googleapis.com/google.cloud.resourcemanager.v3.CreateProjectMetadata v3-project ACTIVE"
V3_NAME=$(jq -r .response.name <<<"$BODY")
expect_contains "$V3_NAME" "projects/" "answered by number"
api GET "$CONTROL_URL/v3/$(jq -r .name <<<"$BODY")"
expect_json .response.name "$V3_NAME" # the operation, again
api GET "$V3/v3-project"
expect_json '[.name, .parent, .displayName, .labels.env] | join(" ")' "$V3_NAME folders/777 Ledger dev"
api GET "$CONTROL_URL/v3/$V3_NAME"
expect_json .projectId v3-project
api GET "$V3/999999999999"
expect_error_json 404 NOT_FOUND
api GET "$V3?parent=folders/777"
expect_json '[.projects[].projectId] | join(",")' v3-project
api GET "$V3"
expect_error_json 400 INVALID_ARGUMENT # list needs a parent
api GET "$V3:search?query=id:v3-project%20AND%20labels.env:dev"
expect_json '[.projects[].projectId] | join(",")' v3-project
api GET "$V3:search?query=displayName:Nothing"
expect_eq 0 "$(jq '.projects // [] | length' <<<"$BODY")" "a search that matches nothing"
# Google's query rules: names and values in any case, ':' is equality, 'how*' a prefix
api GET "$V3:search?query=NAME:ledger%20AND%20labels.ENV:DEV"
expect_json '[.projects[].projectId] | join(",")' v3-project
api GET "$V3:search?query=name:Led"
expect_eq 0 "$(jq '.projects // [] | length' <<<"$BODY")" "':' is not 'contains'"
api GET "$V3:search?query=name:led*%20parent:FOLDERS/777"
expect_json '[.projects[].projectId] | join(",")' v3-project
# v1 ListProjects takes the same filter (gcloud sends its own as "lifecycleState:ACTIVE AND (...)")
api GET "$CONTROL_URL/v1/projects?filter=lifecycleState:ACTIVE%20AND%20(id:V3-PROJECT)"
expect_json '[.projects[].projectId] | join(",")' v3-project
api GET "$CONTROL_URL/v1/projects?filter=labels.env:dev%20parent.type:folder%20parent.id:777"
expect_json '[.projects[].projectId] | join(",")' v3-project
api GET "$CONTROL_URL/v1/projects?filter=name:ledger%20AND%20NOT%20labels.env:dev"
expect_eq 0 "$(jq '.projects // [] | length' <<<"$BODY")" "a v1 filter that matches nothing"
api GET "$CONTROL_URL/v1/projects?filter=name:(x"
expect_error_json 400 INVALID_ARGUMENT
api PATCH "$V3/v3-project?updateMask=displayName" '{"displayName":"Ledger EU","labels":{"env":"prod"}}'
expect_json '[.metadata["@type"], .response.displayName, .response.labels.env] | join(" ")' \
    "type.googleapis.com/google.cloud.resourcemanager.v3.UpdateProjectMetadata Ledger EU dev"
api PATCH "$V3/v3-project?updateMask=parent" '{"parent":"folders/1"}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$V3/v3-project:move" '{"destinationParent":"folders/778"}'
expect_json .response.parent folders/778
api POST "$V3/v3-project:move" '{"destinationParent":"projects/x"}'
expect_error_json 400 INVALID_ARGUMENT
api DELETE "$V3/v3-project"
expect_json '[.metadata["@type"], .response.state] | join(" ")' \
    "type.googleapis.com/google.cloud.resourcemanager.v3.DeleteProjectMetadata DELETE_REQUESTED"
expect_contains "$(jq -r .response.deleteTime <<<"$BODY")" "Z" "a deleteTime"
api GET "$V3?parent=folders/778"
expect_eq 0 "$(jq '.projects // [] | length' <<<"$BODY")" "a deleted project is not listed"
api GET "$V3?parent=folders/778&showDeleted=true"
expect_json '[.projects[].state] | join(",")' DELETE_REQUESTED
api PATCH "$V3/v3-project?updateMask=displayName" '{"displayName":"Again"}'
expect_error_json 400 FAILED_PRECONDITION
api POST "$V3/v3-project:undelete" '{}'
expect_json .response.state ACTIVE
api GET "$CONTROL_URL/v1/projects/v3-project"
expect_json '[.lifecycleState, .name, .parent.id] | join(" ")' "ACTIVE Ledger EU 778" # one project, two APIs

section "CMEK: the key project is deleted; the topic follows at its next key check"
api POST "$KMS_URL/v1/projects/key-project/locations/global/keyRings?keyRingId=ring" '{}'
api POST "$KMS_URL/v1/projects/key-project/locations/global/keyRings/ring/cryptoKeys?cryptoKeyId=topics" \
    '{"purpose":"ENCRYPT_DECRYPT"}'
expect_status 200
api PUT "$TOPICS/orders" "{\"kmsKeyName\":\"$KEY\"}"
expect_status 200
api DELETE "$CRM/key-project"
expect_status 200
api POST "$KMS_URL/v1/$KEY:encrypt" '{"plaintext":"aGk="}'
expect_error_json 403 PERMISSION_DENIED
api POST "$CONTROL_URL/emulator/v1/keyChecks:run" '{}'
expect_eq INACCESSIBLE "$(topic_state)" "the topic is INACCESSIBLE"
api POST "$TOPICS/orders:publish" '{"messages":[{"data":"aGk="}]}'
expect_error_json 400 FAILED_PRECONDITION

section "a restart keeps the deletion; undelete brings the topic back"
stop_stack
start_persistent
api POST "$KMS_URL/v1/$KEY:encrypt" '{"plaintext":"aGk="}'
expect_error_json 403 PERMISSION_DENIED
api GET "$CRM/key-project"
expect_json .lifecycleState DELETE_REQUESTED
api POST "$CRM/key-project:undelete" '{}'
expect_status 200
api POST "$KMS_URL/v1/$KEY:encrypt" '{"plaintext":"aGk="}'
expect_status 200
api POST "$CONTROL_URL/emulator/v1/keyChecks:run" '{}'
expect_eq ACCESSIBLE "$(topic_state)" "undeleted: the next check restores the topic"
api POST "$TOPICS/orders:publish" '{"messages":[{"data":"aGk="}]}'
expect_status 200

section "a deleted project's keys do not rotate"
ROT="$KMS_URL/v1/projects/rot-project/locations/global/keyRings"
NEXT_ROTATION=$(date -u -d '+2 days' +%Y-%m-%dT%H:%M:%SZ) # the emulator clock is real time here
api POST "$ROT?keyRingId=r" '{}'
api POST "$ROT/r/cryptoKeys?cryptoKeyId=rotating" \
    "{\"purpose\":\"ENCRYPT_DECRYPT\",\"rotationPeriod\":\"86400s\",\"nextRotationTime\":\"$NEXT_ROTATION\"}"
expect_status 200
api DELETE "$CRM/rot-project"
expect_status 200
api POST "$CONTROL_URL/emulator/v1/clock:advance" '{"seconds": 259200}' # 3 days: past the rotation
expect_status 200
api POST "$CRM/rot-project:undelete" '{}'
expect_status 200
api GET "$ROT/r/cryptoKeys/rotating/cryptoKeyVersions"
expect_json '.cryptoKeyVersions | length' 1 # the period passed without a version
api GET "$ROT/r/cryptoKeys/rotating"
expect_json "(.nextRotationTime > \"$NEXT_ROTATION\")" true
api POST "$CONTROL_URL/emulator/v1/clock:advance" '{"seconds": 86400}'
api GET "$ROT/r/cryptoKeys/rotating/cryptoKeyVersions"
expect_json '.cryptoKeyVersions | length' 2 # undeleted: the next period rotates

section "push subscriptions of a deleted project deliver nothing until it is back"
cd "$TEST_TMP"
cc -O1 -o receiver "$INTEG_DIR/pubsub_push_receiver.c"
expect_eq 0 $? "the receiver builds"
# the receiver refuses the first push: with a retry policy of 600 s of emulator time the
# message then waits, nothing in flight, while the project is deleted and the clock passes
./receiver receiver.port pushed.txt 1 &
RECEIVER_PID=$!
on_exit "kill $RECEIVER_PID 2>/dev/null; wait $RECEIVER_PID 2>/dev/null"
wait_for 5 "the receiver's port" test -s receiver.port
PUSH_V1="$PUBSUB_URL/v1/projects/push-project"
api PUT "$PUSH_V1/topics/events" '{}'
api PUT "$PUSH_V1/subscriptions/to-receiver" \
    "{\"topic\":\"projects/push-project/topics/events\",\"retryPolicy\":{\"minimumBackoff\":\"600s\",\"maximumBackoff\":\"600s\"},\"pushConfig\":{\"pushEndpoint\":\"http://127.0.0.1:$(cat receiver.port)/push\"}}"
expect_status 200
api POST "$PUSH_V1/topics/events:publish" '{"messages":[{"data":"Zmlyc3Q="}]}'
wait_for 10 "the first (refused) push" grep -q Zmlyc3Q= pushed.txt
expect_eq 0 $? "an active project's subscription pushes"
sleep 1 # the refusal recorded: the message waits out its backoff
api DELETE "$CRM/push-project"
expect_status 200
api POST "$CONTROL_URL/emulator/v1/clock:advance" '{"seconds": 601}'
sleep 3 # push runs at least once a second
expect_eq 1 "$(grep -c Zmlyc3Q= pushed.txt)" "a deleted project's subscription delivers nothing, its message due"
api POST "$CRM/push-project:undelete" '{}'
expect_status 200
wait_for 10 "the push after undelete" bash -c '(( $(grep -c Zmlyc3Q= pushed.txt) >= 2 ))'
expect_eq 0 $? "undeleted: the message is delivered"

section "a running Dataflow job of a deleted project waits until it is back"
# two relays in job-project: one reads another project's subscription (its pause is
# observable there), one its own project's (refused while deleted: it must not fail)
JOB_LOC="$RUNNER_URL/v1b3/projects/job-project/locations/us-central1"
for p in src-project job-project; do
    api PUT "$PUBSUB_URL/v1/projects/$p/topics/input" '{}'
    api PUT "$PUBSUB_URL/v1/projects/$p/topics/output" '{}'
    api PUT "$PUBSUB_URL/v1/projects/$p/subscriptions/input-sub" "{\"topic\":\"projects/$p/topics/input\"}"
    api PUT "$PUBSUB_URL/v1/projects/$p/subscriptions/output-sub" "{\"topic\":\"projects/$p/topics/output\"}"
    expect_status 200
done
launch_relay() { # name, project of its topics
    api POST "$JOB_LOC/templates" "{\"jobName\":\"$1\",\"gcsPath\":\"gs://dataflow-templates/latest/Cloud_PubSub_to_Cloud_PubSub\",\"parameters\":{\"inputSubscription\":\"projects/$2/subscriptions/input-sub\",\"outputTopic\":\"projects/$2/topics/output\"}}"
    expect_status 200
    jq -r .id <<<"$BODY"
}
relayed() { # project, text expected on its out-sub within 20 s
    local got="" ids
    for _ in $(seq 1 100); do
        api POST "$PUBSUB_URL/v1/projects/$1/subscriptions/output-sub:pull" '{"maxMessages": 10, "returnImmediately": true}'
        got="$got,$(jq -r '[.receivedMessages[]?.message.data | @base64d] | join(",")' <<<"$BODY")"
        ids=$(jq -c '{ackIds: [.receivedMessages[]?.ackId]}' <<<"$BODY")
        [[ "$ids" != '{"ackIds":[]}' ]] && api POST "$PUBSUB_URL/v1/projects/$1/subscriptions/output-sub:acknowledge" "$ids"
        [[ "$got" == *"$2"* ]] && break
        sleep 0.2
    done
    echo "$got"
}
CROSS_JOB=$(launch_relay cross src-project)
OWN_JOB=$(launch_relay own job-project)
publish_in() { api POST "$PUBSUB_URL/v1/projects/$1/topics/input:publish" "{\"messages\":[{\"data\":\"$(printf %s "$2" | base64 -w0)\"}]}"; expect_status 200; }
publish_in src-project before
publish_in job-project own-before
expect_contains "$(relayed src-project before)" before "the job relays while its project is active"
expect_contains "$(relayed job-project own-before)" own-before "and the job reading its own project's subscription"
api DELETE "$CRM/job-project"
expect_status 200
sleep 1 # the runner hears of the deletion
publish_in src-project while-deleted
sleep 3 # the job pulls every 100 ms when it runs
api POST "$PUBSUB_URL/v1/projects/src-project/subscriptions/output-sub:pull" '{"maxMessages": 10, "returnImmediately": true}'
expect_eq 0 "$(jq '.receivedMessages | length' <<<"$BODY")" "a deleted project's job relays nothing"
api GET "$JOB_LOC/jobs/$CROSS_JOB"
expect_error_json 403 PERMISSION_DENIED # its job, like its other resources, is refused
api POST "$CRM/job-project:undelete" '{}'
expect_status 200
expect_contains "$(relayed src-project while-deleted)" while-deleted "undeleted: the job relays what waited"
publish_in job-project own-after
expect_contains "$(relayed job-project own-after)" own-after "the job on its own project's subscription did not fail"
for job in "$CROSS_JOB" "$OWN_JOB"; do
    api GET "$JOB_LOC/jobs/$job"
    expect_json .currentState JOB_STATE_RUNNING
done
api GET "$JOB_LOC/jobs/$CROSS_JOB/messages?minimumImportance=JOB_MESSAGE_BASIC"
expect_contains "$(jq -r '[.jobMessages[]?.messageText] | join("|")' <<<"$BODY")" \
    "The job's project was deleted; processing waits until it is restored." "the job's log says why it waited"
for job in "$CROSS_JOB" "$OWN_JOB"; do
    api PUT "$JOB_LOC/jobs/$job" '{"requestedState":"JOB_STATE_CANCELLED"}'
    expect_status 200
done

section "30 days later the project is gone"
api DELETE "$CRM/old-project"
expect_status 200
api POST "$CONTROL_URL/emulator/v1/clock:advance" '{"seconds": 2592000}'
expect_status 200
api GET "$CRM/old-project"
expect_error_json 403 PERMISSION_DENIED
api POST "$CRM/old-project:undelete" '{}'
expect_error_json 403 PERMISSION_DENIED
api GET "$CRM?filter=lifecycleState:DELETE_REQUESTED"
expect_eq "" "$(jq -r '.projects[]?.projectId' <<<"$BODY")" "not listed"
api POST "$CRM" '{"projectId":"old-project"}'
expect_error_json 409 ALREADY_EXISTS
api GET "$PUBSUB_URL/v1/projects/old-project/topics"
expect_error_json 403 PERMISSION_DENIED

section "permissions under --iam enforce"
stop_stack
start_stack --iam enforce
CRM="$CONTROL_URL/v1/projects"
OWNER=user:developer@example.com # under enforce, the default principal owns every project
api_as() { API_PRINCIPAL=$1 api "${@:2}"; }
grant "$CRM/perm-project" user:ed@example.com roles/editor
api_as user:ed@example.com DELETE "$CRM/perm-project"
expect_error_json 403 PERMISSION_DENIED
grant "$CRM/perm-project" user:del@example.com roles/resourcemanager.projectDeleter
api_as user:del@example.com DELETE "$CRM/perm-project"
expect_status 200
api_as user:del@example.com POST "$CRM/perm-project:undelete" '{}'
expect_error_json 403 PERMISSION_DENIED # undelete is the owner's
API_PRINCIPAL=$OWNER api POST "$CRM/perm-project:undelete" '{}'
expect_status 200
PERM_LIEN='{"parent":"projects/perm-project","restrictions":["resourcemanager.projects.delete"],"reason":"r","origin":"o"}'
api_as user:del@example.com POST "$CONTROL_URL/v1/liens" "$PERM_LIEN"
expect_error_json 403 PERMISSION_DENIED
grant "$CRM/perm-project" user:lien@example.com roles/resourcemanager.lienModifier
api_as user:lien@example.com POST "$CONTROL_URL/v1/liens" "$PERM_LIEN"
expect_status 200
PERM_LIEN_NAME=$(jq -r .name <<<"$BODY")
api_as user:mallory@example.com GET "$CONTROL_URL/v1/$PERM_LIEN_NAME"
expect_error_json 403 PERMISSION_DENIED
api_as user:mallory@example.com DELETE "$CONTROL_URL/v1/$PERM_LIEN_NAME"
expect_error_json 403 PERMISSION_DENIED
api_as user:lien@example.com DELETE "$CONTROL_URL/v1/$PERM_LIEN_NAME"
expect_status 200
api_as user:mallory@example.com GET "$CONTROL_URL/v3/projects/perm-project"
expect_error_json 403 PERMISSION_DENIED
api_as user:mallory@example.com GET "$CONTROL_URL/v3/projects:search"
expect_eq 0 "$(jq '.projects // [] | length' <<<"$BODY")" "search shows only the projects the caller may get"
api_as user:mallory@example.com GET "$CRM"
expect_eq 0 "$(jq '.projects // [] | length' <<<"$BODY")" "so does v1 ListProjects"
api_as user:lien@example.com GET "$CRM"
expect_json '[.projects[].projectId] | join(",")' perm-project
api_as user:lien@example.com GET "$CONTROL_URL/v3/projects:search?query=id:perm-project"
expect_json '[.projects[].projectId] | join(",")' perm-project # the lien modifier may get it
api_as user:lien@example.com DELETE "$CONTROL_URL/v3/projects/perm-project"
expect_error_json 403 PERMISSION_DENIED # but not delete it
# a project named by its number: permissions on the project, refusals naming the number
PERM_NUMBER=$(API_PRINCIPAL=$OWNER api GET "$CRM/perm-project" && jq -r .projectNumber <<<"$BODY")
api_as user:mallory@example.com GET "$CONTROL_URL/v3/projects/$PERM_NUMBER"
expect_error_json 403 PERMISSION_DENIED
expect_contains "$(jq -r .error.message <<<"$BODY")" "projects/$PERM_NUMBER'" "the refusal names the number, not the ID"
api_as user:mallory@example.com GET "$CONTROL_URL/v3/projects/123456789012"
expect_error_json 403 PERMISSION_DENIED # a number no project has: the same answer
grant "$CRM/perm-project" user:del@example.com roles/resourcemanager.projectDeleter
api_as user:del@example.com DELETE "$CRM/$PERM_NUMBER"
expect_status 200 # v1, by number, as the project's deleter
API_PRINCIPAL=$OWNER api POST "$CONTROL_URL/v3/projects/$PERM_NUMBER:undelete" '{}'
expect_json .response.state ACTIVE
API_PRINCIPAL=$OWNER api POST "$CONTROL_URL/v3/projects/$PERM_NUMBER:getIamPolicy" '{}'
expect_json '[.bindings[].role] | join(",")' roles/resourcemanager.projectDeleter # the project's own policy
# a refused caller leaves no trace: the project ID stays free for its creator
api_as user:mallory@example.com GET "$CONTROL_URL/v3/projects/squatted-project"
expect_error_json 403 PERMISSION_DENIED
api_as user:mallory@example.com POST "$CONTROL_URL/v1/liens" \
    '{"parent":"projects/squatted-project","restrictions":["resourcemanager.projects.delete"],"reason":"r","origin":"o"}'
expect_error_json 403 PERMISSION_DENIED
API_PRINCIPAL=$OWNER api POST "$CRM" '{"projectId":"squatted-project"}'
expect_status 200

if [[ $HAVE_GCLOUD == 1 ]]; then
    section "gcloud projects delete / undelete"
    stop_stack
    start_stack
    setup_gcloud app-project
    gcloud pubsub topics create first --project gcloud-project >/dev/null 2>&1
    out=$(gcloud projects delete gcloud-project --quiet 2>&1)
    expect_eq 0 $? "gcloud projects delete: $out"
    expect_eq DELETE_REQUESTED "$(gcloud projects describe gcloud-project --format='value(lifecycleState)' 2>&1)" \
        "gcloud projects describe"
    gcloud projects create listed-project >/dev/null 2>&1
    expect_eq listed-project "$(gcloud projects list --format='value(projectId)' 2>&1 | paste -sd,)" \
        "gcloud projects list leaves it out"
    expect_eq gcloud-project \
        "$(gcloud projects list --filter='lifecycleState:DELETE_REQUESTED' --format='value(projectId)' 2>&1)" \
        "gcloud projects list --filter=lifecycleState:DELETE_REQUESTED"
    out=$(gcloud pubsub topics list --project gcloud-project 2>&1)
    expect_contains "$out" "Permission denied on resource project gcloud-project" "gcloud shows Google's message"
    out=$(gcloud projects undelete gcloud-project 2>&1)
    expect_eq 0 $? "gcloud projects undelete: $out"
    gcloud beta projects move gcloud-project --folder=4242 --quiet >/dev/null 2>&1
    expect_eq gcloud-project "$(gcloud alpha projects list --folder=4242 --format='value(projectId)' 2>&1)" \
        "gcloud alpha projects list --folder (Resource Manager v3)"
    expect_eq projects/gcloud-project/topics/first \
        "$(gcloud pubsub topics list --project gcloud-project --format='value(name)' 2>&1)" "its topic is back"

    section "gcloud alpha resource-manager liens create / list / delete"
    out=$(gcloud alpha resource-manager liens create --project gcloud-project \
        --restrictions=resourcemanager.projects.delete --reason="Holds the CMEK keys" --origin=security-team 2>&1)
    expect_eq 0 $? "liens create: $out"
    LIEN_ID=$(gcloud alpha resource-manager liens list --project gcloud-project --format='value(name)' 2>&1)
    expect_contains "$LIEN_ID" "p" "liens list shows it"
    out=$(gcloud projects delete gcloud-project --quiet 2>&1)
    expect_contains "$out" "A lien to prevent deletion was placed on the project by [security-team]" \
        "gcloud projects delete is refused, naming the lien's origin"
    out=$(gcloud alpha resource-manager liens delete "$LIEN_ID" 2>&1)
    expect_eq 0 $? "liens delete: $out"
    out=$(gcloud projects delete gcloud-project --quiet 2>&1)
    expect_eq 0 $? "gcloud projects delete once the lien is gone: $out"
fi
stop_stack
finish
