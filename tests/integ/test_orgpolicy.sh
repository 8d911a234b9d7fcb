#!/usr/bin/env bash
# test_orgpolicy: the Organization Policy API v2 for the CMEK constraints, through curl
# and the real gcloud (`gcloud org-policies`), under --iam enforce: policies on projects
# (by ID or number), folders and organizations, created, read, listed, updated with
# etags and an update mask, deleted; the effective policy up the hierarchy (a project
# moved into a folder inherits its policy); constraints listed; bad specs refused with
# Google's 400 naming the problem; only a caller with orgpolicy.policy.set may write.
# Enforcement: Pub/Sub refuses a topic without a key once restrictNonCmekServices denies
# pubsub.googleapis.com (through gcloud too), and a key from a project
# restrictCmekCryptoKeyProjects does not allow; existing topics are untouched; a reset
# forgets every policy.
# full-run-only: a gcloud walkthrough; `FAST=1 tests/integ/run-all` (scripts/test-all --fast) skips it
# shellcheck source=tests/integ/lib.sh
source "$(dirname "$0")/lib.sh"

PROJECT=my-project
OWNER=user:developer@example.com # the default principal owns every project
start_stack --iam enforce
API_PRINCIPAL=$OWNER
setup_gcloud "$PROJECT" "$OWNER"
OP="$CONTROL_URL/v2/projects/$PROJECT/policies"
NON_CMEK=gcp.restrictNonCmekServices
KEYS=gcp.restrictCmekCryptoKeyProjects
KEY_NAME="projects/$PROJECT/locations/global/keyRings/r/cryptoKeys/k"
NUMBER=$(api GET "$CONTROL_URL/v1/projects/$PROJECT" >/dev/null; jq -r .projectNumber <<<"$BODY")

# policy CONSTRAINT RULES_JSON [EXTRA_SPEC_MEMBERS]: a Policy body on $PROJECT.
policy() {
    printf '{"name":"projects/%s/policies/%s","spec":{"rules":%s%s}}' "$PROJECT" "$1" "$2" "${3:-}"
}

# expect_invalid TEXT: the last call was Google's 400 INVALID_ARGUMENT saying TEXT.
expect_invalid() {
    expect_error_json 400 INVALID_ARGUMENT
    expect_contains "$(jq -r .error.message <<<"$BODY")" "$1" "the error says: $1"
}

# topic ID [KEY]: CreateTopic on $PROJECT (with kmsKeyName KEY).
topic() {
    api PUT "$PUBSUB_URL/v1/projects/$PROJECT/topics/$1" "${2:+{\"kmsKeyName\":\"$2\"\}}"
}

section "a key to use"
api POST "$KMS_URL/v1/projects/$PROJECT/locations/global/keyRings?keyRingId=r" '{}'
expect_status 200
api POST "$KMS_URL/v1/projects/$PROJECT/locations/global/keyRings/r/cryptoKeys?cryptoKeyId=k" \
    '{"purpose":"ENCRYPT_DECRYPT"}'
expect_status 200
api POST "$KMS_URL/v1/$KEY_NAME:setIamPolicy" \
    "{\"policy\":{\"bindings\":[{\"role\":\"roles/cloudkms.cryptoKeyEncrypterDecrypter\",\"members\":[\"serviceAccount:service-$NUMBER@gcp-sa-pubsub.iam.gserviceaccount.com\"]}]}}"
expect_status 200

section "the constraints, and no policy yet"
api GET "$CONTROL_URL/v2/projects/$PROJECT/constraints"
expect_status 200
expect_json '[.constraints[].name | sub(".*/"; "")] | sort | join(",")' \
    "cloudkms.allowedProtectionLevels,cloudkms.disableBeforeDestroy,cloudkms.minimumDestroyScheduledDuration,gcp.resourceLocations,$KEYS,$NON_CMEK"
expect_json "[.constraints[].name | startswith(\"projects/$NUMBER/constraints/\")] | all" true
expect_json '.constraints[] | select(.name | endswith("disableBeforeDestroy")) | .booleanConstraint' '{}'
expect_json ".constraints[] | select(.name | endswith(\"$KEYS\")) | .listConstraint.supportsUnder" true
expect_json '.constraints[0].constraintDefault' ALLOW
api GET "$OP"
expect_status 200
expect_eq '{}' "$(jq -c . <<<"$BODY")" "no policy: an empty list"
api GET "$OP/$NON_CMEK"
expect_error_json 404 NOT_FOUND
topic before-policy
expect_status 200

section "CreatePolicy: restrictNonCmekServices denies Pub/Sub"
api POST "$OP" "$(policy $NON_CMEK '[{"values":{"deniedValues":["pubsub.googleapis.com"]}}]')"
expect_status 200
expect_json .name "projects/$NUMBER/policies/$NON_CMEK"
expect_json '.spec.rules[0].values.deniedValues[0]' pubsub.googleapis.com
ETAG=$(jq -r .etag <<<"$BODY")
expect_eq true "$([[ -n $ETAG && $ETAG == $(jq -r .spec.etag <<<"$BODY") ]] && echo true)" \
    "the policy and its spec carry the etag"
api POST "$OP" "$(policy $NON_CMEK '[{"denyAll":true}]')"
expect_error_json 409 ALREADY_EXISTS
api GET "$CONTROL_URL/v2/projects/$NUMBER/policies/$NON_CMEK"
expect_status 200
expect_json .etag "$ETAG"

section "Pub/Sub now needs a key"
topic no-key
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$(jq -r .error.message <<<"$BODY")" \
    "Constraint constraints/$NON_CMEK violated for projects/$PROJECT attempting to create a topic without a CMEK key" \
    "Google's words, naming the constraint"
topic with-key "$KEY_NAME"
expect_status 200
api GET "$PUBSUB_URL/v1/projects/$PROJECT/topics/before-policy"
expect_status 200
api POST "$PUBSUB_URL/v1/projects/$PROJECT/topics/before-policy:publish" \
    '{"messages":[{"data":"aGk="}]}'
expect_status 200
if (( HAVE_GCLOUD )); then
    out=$(gcloud pubsub topics create gcloud-no-key 2>&1)
    expect_contains "$out" "constraints/$NON_CMEK" "gcloud pubsub topics create shows the violation"
    gcloud pubsub topics create gcloud-with-key --topic-encryption-key="$KEY_NAME" >/dev/null 2>&1
    expect_eq 0 $? "gcloud creates a topic with a key"
fi

section "restrictCmekCryptoKeyProjects: keys only from an allowed project"
api POST "$OP" "$(policy $KEYS '[{"values":{"allowedValues":["under:projects/key-project"]}}]')"
expect_status 200
topic other-key "$KEY_NAME"
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$(jq -r .error.message <<<"$BODY")" "constraints/$KEYS" "the key project constraint"
expect_contains "$(jq -r .error.message <<<"$BODY")" "$KEY_NAME" "the message names the key"
api PATCH "$PUBSUB_URL/v1/projects/$PROJECT/topics/before-policy" \
    "{\"topic\":{\"kmsKeyName\":\"$KEY_NAME\"},\"updateMask\":\"kmsKeyName\"}"
expect_error_json 400 FAILED_PRECONDITION
api GET "$OP"
expect_json '.policies | length' 2
page=$(curl -s "$CONTROL_URL/")
expect_contains "$page" "<h2>Organization policies</h2>" "the status page lists the policies"
expect_contains "$page" "<td>projects/$PROJECT</td><td>constraints/$NON_CMEK</td>" "with where and what"
expect_contains "$page" "&quot;deniedValues&quot;:[&quot;pubsub.googleapis.com&quot;]" \
    "and the rules, HTML-escaped"

section "UpdatePolicy: etags and the update mask"
api GET "$OP/$KEYS"
KEYS_ETAG=$(jq -r .etag <<<"$BODY")
api PATCH "$OP/$KEYS" \
    "$(policy $KEYS "[{\"values\":{\"allowedValues\":[\"under:projects/$PROJECT\"]}}]" |
        jq -c ".etag = \"$KEYS_ETAG\"")"
expect_status 200
expect_json '.spec.rules[0].values.allowedValues[0]' "under:projects/$PROJECT"
api PATCH "$OP/$KEYS" "$(policy $KEYS '[{"denyAll":true}]' | jq -c ".etag = \"$KEYS_ETAG\"")"
expect_error_json 409 ABORTED
topic other-key "$KEY_NAME"
expect_status 200
api PATCH "$OP/$KEYS?updateMask=dryRunSpec" \
    "$(policy $KEYS '[{"denyAll":true}]' | jq -c '.dryRunSpec = .spec')"
expect_status 200
expect_json '.dryRunSpec.rules[0].denyAll' true
expect_json '.spec.rules[0].values.allowedValues[0]' "under:projects/$PROJECT"
api PATCH "$OP/$KEYS?updateMask=labels" "$(policy $KEYS '[{"denyAll":true}]')"
expect_invalid "update_mask"
api PATCH "$OP/$NON_CMEK" "$(policy $KEYS '[{"denyAll":true}]')"
expect_invalid "does not name a policy"
api PATCH "$CONTROL_URL/v2/folders/5/policies/$NON_CMEK" \
    '{"name":"folders/5/policies/gcp.restrictNonCmekServices","spec":{}}'
expect_error_json 404 NOT_FOUND

section "bad specs: Google's 400 naming the problem"
api POST "$OP" "$(policy compute.vmExternalIpAccess '[{"denyAll":true}]')"
expect_invalid "not one the emulator enforces"
api POST "$CONTROL_URL/v2/folders/5/policies" \
    '{"name":"folders/5/policies/gcp.restrictNonCmekServices","spec":{"rules":[{"enforce":true}]}}'
expect_invalid "boolean constraints"
api POST "$CONTROL_URL/v2/folders/5/policies" \
    '{"name":"folders/5/policies/gcp.restrictNonCmekServices","spec":{"rules":[{"denyAll":true,"condition":{"expression":"resource.matchTag(\"1/env\", \"prod\")"}}]}}'
expect_invalid "tags"
api POST "$CONTROL_URL/v2/folders/5/policies" \
    '{"name":"folders/5/policies/gcp.restrictCmekCryptoKeyProjects","spec":{"rules":[{"values":{"allowedValues":["under:buckets/x"]}}]}}'
expect_invalid "under:projects/PROJECT_ID"
api POST "$CONTROL_URL/v2/folders/5/policies" \
    '{"name":"folders/5/policies/gcp.restrictNonCmekServices","spec":{"rules":[{"values":{"deniedValues":7}}]}}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$CONTROL_URL/v2/folders/5/policies" '{"name":"folders/6/policies/gcp.restrictNonCmekServices"}'
expect_invalid "does not name a policy"
api POST "$CONTROL_URL/v2/folders/x5/policies" '{}'
expect_invalid "1 to 20 digits"
api GET "$CONTROL_URL/v2/projects/99999999/policies"
expect_error_json 404 NOT_FOUND

section "folders: a project moved into one inherits its policy"
api POST "$CONTROL_URL/v2/folders/77/policies" \
    '{"name":"folders/77/policies/gcp.restrictNonCmekServices","spec":{"rules":[{"values":{"deniedValues":["spanner.googleapis.com"]}}]}}'
expect_status 200
api PUT "$CONTROL_URL/v1/projects/$PROJECT" '{"parent":{"type":"folder","id":"77"}}'
expect_status 200
api GET "$OP/$NON_CMEK:getEffectivePolicy"
expect_status 200
expect_json '.spec.rules[0].values.deniedValues | join(",")' pubsub.googleapis.com
api PATCH "$OP/$NON_CMEK" \
    "$(policy $NON_CMEK '[{"values":{"deniedValues":["pubsub.googleapis.com"]}}]' ',"inheritFromParent":true')"
expect_status 200
api GET "$OP/$NON_CMEK:getEffectivePolicy"
expect_json '.spec.rules[0].values.deniedValues | sort | join(",")' \
    pubsub.googleapis.com,spanner.googleapis.com
expect_json '.spec.etag' null

section "gcloud org-policies"
if (( HAVE_GCLOUD )); then
    cat >"$TEST_TMP/policy.yaml" <<EOF
name: projects/$PROJECT/policies/$NON_CMEK
spec:
  rules:
  - values:
      deniedValues:
      - pubsub.googleapis.com
      - dataflow.googleapis.com
EOF
    gcloud org-policies set-policy "$TEST_TMP/policy.yaml" >/dev/null 2>&1
    expect_eq 0 $? "gcloud org-policies set-policy updates the policy"
    out=$(gcloud org-policies describe $NON_CMEK --project "$PROJECT" --format=json 2>&1)
    expect_eq "pubsub.googleapis.com,dataflow.googleapis.com" \
        "$(jq -r '.spec.rules[0].values.deniedValues | join(",")' <<<"$out")" "describe shows it"
    out=$(gcloud org-policies describe $NON_CMEK --project "$PROJECT" --effective --format=json 2>&1)
    expect_eq "dataflow.googleapis.com,pubsub.googleapis.com" \
        "$(jq -r '.spec.rules[0].values.deniedValues | sort | join(",")' <<<"$out")" \
        "describe --effective: the project's own rules (it no longer inherits)"
    out=$(gcloud org-policies list --project "$PROJECT" --format='value(constraint)' 2>&1)
    expect_contains "$out" "$KEYS" "gcloud org-policies list"
    gcloud org-policies delete $KEYS --project "$PROJECT" >/dev/null 2>&1
    expect_eq 0 $? "gcloud org-policies delete"
    api GET "$OP/$KEYS"
    expect_error_json 404 NOT_FOUND

    # gcp.resourceLocations: bare names completed into value groups; gcloud kms refused
    cat >"$TEST_TMP/locations.yaml" <<EOF
name: projects/$PROJECT/policies/gcp.resourceLocations
spec:
  rules:
  - values:
      allowedValues:
      - eu-locations
      - us-east4
EOF
    gcloud org-policies set-policy "$TEST_TMP/locations.yaml" >/dev/null 2>&1
    expect_eq 0 $? "gcloud org-policies set-policy gcp.resourceLocations"
    out=$(gcloud org-policies describe gcp.resourceLocations --project "$PROJECT" --effective \
        --format=json 2>&1)
    expect_eq "in:eu-locations,in:us-east4-locations" \
        "$(jq -r '.spec.rules[0].values.allowedValues | join(",")' <<<"$out")" \
        "describe --effective: the values as Google completes them"
    out=$(gcloud kms keyrings create far --location us-central1 --project "$PROJECT" 2>&1)
    expect_contains "$out" "FAILED_PRECONDITION: Constraint constraints/gcp.resourceLocations violated for [orgpolicy:projects/$NUMBER] attempting to create a key ring in [us-central1]" \
        "gcloud kms keyrings create in a location not allowed: Google's error"
    gcloud kms keyrings create near --location us-east4 --project "$PROJECT" >/dev/null 2>&1
    expect_eq 0 $? "gcloud kms keyrings create in an allowed region"
    gcloud org-policies delete gcp.resourceLocations --project "$PROJECT" >/dev/null 2>&1
    expect_eq 0 $? "gcloud org-policies delete gcp.resourceLocations"
fi

section "only a caller with orgpolicy.policy.set may write"
API_PRINCIPAL=user:viewer@example.com
api GET "$OP"
expect_error_json 403 PERMISSION_DENIED
API_PRINCIPAL=$OWNER
api POST "$CONTROL_URL/v1/projects/$PROJECT:setIamPolicy" \
    '{"policy":{"bindings":[{"role":"roles/orgpolicy.policyViewer","members":["user:viewer@example.com"]},{"role":"roles/owner","members":["user:developer@example.com"]}]}}'
expect_status 200
API_PRINCIPAL=user:viewer@example.com
api GET "$OP"
expect_status 200
api DELETE "$OP/$NON_CMEK"
expect_error_json 403 PERMISSION_DENIED
expect_contains "$(jq -r .error.message <<<"$BODY")" orgpolicy.policy.set "the missing permission"
API_PRINCIPAL=$OWNER

section "policy changes are in the audit log (admin activity)"
api POST "$CONTROL_URL/v2/entries:list" \
    "{\"resourceNames\": [\"projects/$PROJECT\"], \"filter\": \"protoPayload.methodName=CreatePolicy\"}"
expect_status 200
expect_json '[.entries[] | select(.protoPayload.authenticationInfo.principalEmail == "developer@example.com")] | length >= 2' true
expect_json '.entries[0].logName' "projects/$PROJECT/logs/cloudaudit.googleapis.com%2Factivity"
expect_json '.entries[0].protoPayload.serviceName' orgpolicy.googleapis.com

section "DeletePolicy with a stale etag, then for real"
api DELETE "$OP/$NON_CMEK?etag=stale"
expect_error_json 409 ABORTED
api DELETE "$OP/$NON_CMEK"
expect_status 200
topic after-delete
expect_status 200 # the folder's policy, still inherited, denies only Spanner
api GET "$OP/$NON_CMEK:getEffectivePolicy"
expect_json '.spec.rules[0].values.deniedValues | join(",")' spanner.googleapis.com

section "Cloud KMS: cloudkms.allowedProtectionLevels"
KR="$KMS_URL/v1/projects/$PROJECT/locations/global/keyRings/r"
NEXT_ROTATION=$(date -u -d '+2 days' +%Y-%m-%dT%H:%M:%SZ) # the emulator clock is real time here
api POST "$KR/cryptoKeys?cryptoKeyId=rotating" \
    "{\"purpose\":\"ENCRYPT_DECRYPT\",\"rotationPeriod\":\"86400s\",\"nextRotationTime\":\"$NEXT_ROTATION\"}"
expect_status 200
api POST "$OP" "$(policy cloudkms.allowedProtectionLevels '[{"values":{"allowedValues":["HSM"]}}]')"
expect_status 200
api POST "$KR/cryptoKeys?cryptoKeyId=soft" '{"purpose":"ENCRYPT_DECRYPT"}'
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$(jq -r .error.message <<<"$BODY")" \
    "Constraint constraints/cloudkms.allowedProtectionLevels violated for projects/$PROJECT attempting to create a key with protection level SOFTWARE" \
    "a SOFTWARE key is refused, naming the constraint"
api POST "$KR/cryptoKeys?cryptoKeyId=hard" \
    '{"purpose":"ENCRYPT_DECRYPT","versionTemplate":{"protectionLevel":"HSM","algorithm":"GOOGLE_SYMMETRIC_ENCRYPTION"}}'
expect_status 200
api POST "$KR/cryptoKeys/k/cryptoKeyVersions" '{}'
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$(jq -r .error.message <<<"$BODY")" "a key version with protection level SOFTWARE" \
    "a new version of an older SOFTWARE key is refused"
api POST "$KR/importJobs?importJobId=soft-job" \
    '{"importMethod":"RSA_OAEP_3072_SHA256","protectionLevel":"SOFTWARE"}'
expect_error_json 400 FAILED_PRECONDITION
api POST "$KR/cryptoKeys/k:encrypt" '{"plaintext":"aGk="}'
expect_status 200 # keys made before the policy stay usable
if (( HAVE_GCLOUD )); then
    out=$(gcloud kms keys create soft2 --keyring r --location global --purpose encryption 2>&1)
    expect_contains "$out" "cloudkms.allowedProtectionLevels" "gcloud kms keys create shows the violation"
fi
api POST "$OP" "$(policy cloudkms.allowedProtectionLevels '[{"values":{"allowedValues":["SOFTWARE"]}}]')"
expect_error_json 409 ALREADY_EXISTS
api POST "$OP" "$(policy cloudkms.disableBeforeDestroy '[{"values":{"allowedValues":["HSM"]}}]')"
expect_invalid "boolean constraint"
api POST "$CONTROL_URL/v2/folders/5/policies" \
    '{"name":"folders/5/policies/cloudkms.allowedProtectionLevels","spec":{"rules":[{"values":{"allowedValues":["TPM"]}}]}}'
expect_invalid "SOFTWARE, HSM, EXTERNAL, EXTERNAL_VPC"

section "Cloud KMS: a rotation the policy refuses makes no version"
api POST "$CONTROL_URL/emulator/v1/clock:advance" '{"seconds": 259200}' # 3 days: past the rotation
expect_status 200
api GET "$KR/cryptoKeys/rotating/cryptoKeyVersions"
expect_json '.cryptoKeyVersions | length' 1
api GET "$KR/cryptoKeys/rotating"
expect_json '.primary.name | endswith("/cryptoKeyVersions/1")' true
expect_json "(.nextRotationTime > \"$NEXT_ROTATION\")" true
KMS_LOG=$(curl -s "$CONTROL_URL/emulator/v1/status" | jq -r '.services[] | select(.name == "kms") | .log')
expect_contains "$(cat "$KMS_LOG")" "rotation of projects/$PROJECT/locations/global/keyRings/r/cryptoKeys/rotating fails" \
    "the refused rotation is logged in the KMS log"
api DELETE "$OP/cloudkms.allowedProtectionLevels"
expect_status 200
api POST "$KR/cryptoKeys/k/cryptoKeyVersions" '{}'
expect_status 200

section "Cloud KMS: cloudkms.disableBeforeDestroy"
api POST "$OP" "$(policy cloudkms.disableBeforeDestroy '[{"enforce":true}]')"
expect_status 200
api GET "$OP/cloudkms.disableBeforeDestroy:getEffectivePolicy"
expect_json '.spec.rules[0].enforce' true
api POST "$KR/cryptoKeys/k/cryptoKeyVersions/2:destroy" '{}'
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$(jq -r .error.message <<<"$BODY")" "disable the key version before destroying it" \
    "an ENABLED version cannot be destroyed"
api PATCH "$KR/cryptoKeys/k/cryptoKeyVersions/2?updateMask=state" '{"state":"DISABLED"}'
expect_status 200
api POST "$KR/cryptoKeys/k/cryptoKeyVersions/2:destroy" '{}'
expect_status 200
expect_json .state DESTROY_SCHEDULED
api PATCH "$OP/cloudkms.disableBeforeDestroy" "$(policy cloudkms.disableBeforeDestroy '[{"enforce":false}]')"
expect_status 200
api POST "$KR/cryptoKeys/hard/cryptoKeyVersions/1:destroy" '{}'
expect_status 200 # not enforced any more

section "Cloud KMS: cloudkms.minimumDestroyScheduledDuration"
MIN=cloudkms.minimumDestroyScheduledDuration
api POST "$OP" "$(policy $MIN '[{"values":{"allowedValues":["in:0d"]}}]')"
expect_invalid "takes a duration in days"
api POST "$OP" "$(policy $MIN '[{"values":{"allowedValues":["in:60d"]}}]')"
expect_status 200
api POST "$KR/cryptoKeys?cryptoKeyId=brief" '{"purpose":"ENCRYPT_DECRYPT","destroyScheduledDuration":"86400s"}'
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$(jq -r .error.message <<<"$BODY")" \
    "Constraint constraints/$MIN violated for projects/$PROJECT attempting to create projects/$PROJECT/locations/global/keyRings/r/cryptoKeys/brief with destroy_scheduled_duration 86400s, shorter than the minimum of 60 days" \
    "a key scheduled to be destroyed sooner than the minimum is refused"
api POST "$KR/cryptoKeys?cryptoKeyId=defaulted" '{"purpose":"ENCRYPT_DECRYPT"}'
expect_status 200
expect_json .destroyScheduledDuration 5184000s # the minimum, above the 30-day default
api POST "$KR/cryptoKeys?cryptoKeyId=patient" '{"purpose":"ENCRYPT_DECRYPT","destroyScheduledDuration":"8640000s"}'
expect_status 200
expect_json .destroyScheduledDuration 8640000s
api DELETE "$OP/$MIN"
expect_status 200

section "a reset forgets every policy"
api POST "$CONTROL_URL/emulator/v1/reset" '{}'
expect_status 200
api GET "$CONTROL_URL/v2/folders/77/policies"
expect_eq '{}' "$(jq -c . <<<"$BODY")" "no policy left"
expect_contains "$(curl -s "$CONTROL_URL/")" "None: nothing is restricted." "the status page says so"

finish
