#!/usr/bin/env bash
# test_iam_conditions: conditional IAM bindings under --iam enforce, set with gcloud's
# --condition and checked through KMS encrypt calls as another principal: a grant bound to
# one key by resource.name, one by resource.type, a time-bound grant that ends when the
# emulator clock passes its time, resource.name.extract() and a time zone's hours, an
# expression outside the emulator's CEL subset (which grants nothing), and the bindings
# returned as written.
# full-run-only: a gcloud walkthrough; `FAST=1 tests/integ/run-all` (scripts/test-all --fast)
# skips it (tests/unit/test_iam.c and test_cel.c cover the conditions themselves)
source "$(dirname "$0")/lib.sh"

start_stack --iam enforce
PROJECT=cond-project
setup_gcloud "$PROJECT" user:developer@example.com
if [[ $HAVE_GCLOUD != 1 ]]; then finish; fi
cd "$TEST_TMP"
LOC=(--location global --keyring ring)
KEYS="projects/$PROJECT/locations/global/keyRings/ring/cryptoKeys"
ALICE=user:alice@example.com

encrypt_as() { # encrypt_as PRINCIPAL KEY: the HTTP status of an encrypt call
    API_PRINCIPAL=$1 api POST "$KMS_URL/v1/$KEYS/$2:encrypt" '{"plaintext":"aGVsbG8="}'
    echo "$HTTP_STATUS"
}

section "setup: a key ring with four keys"
gcloud kms keyrings create ring --location global >/dev/null
expect_eq 0 $? "keyrings create"
for k in k1 k2 k3 k4; do
    gcloud kms keys create "$k" "${LOC[@]}" --purpose encryption >/dev/null
    expect_eq 0 $? "keys create $k"
done
expect_eq 403 "$(encrypt_as "$ALICE" k1)" "alice has no grant yet"

section "a binding on the key ring that holds for one key (resource.name)"
out=$(gcloud kms keyrings add-iam-policy-binding ring --location global --member "$ALICE" \
    --role roles/cloudkms.cryptoKeyEncrypterDecrypter \
    --condition="expression=resource.name.endsWith('/cryptoKeys/k1'),title=only-k1" \
    --format=json 2>&1)
expect_contains "$out" "only-k1" "add-iam-policy-binding --condition returns the condition"
expect_eq 200 "$(encrypt_as "$ALICE" k1)" "the condition holds for k1"
expect_eq 403 "$(encrypt_as "$ALICE" k2)" "and not for k2"
expect_eq 403 "$(encrypt_as user:bob@example.com k1)" "bob is not a member"

section "a time-bound grant on k2 ends when the emulator clock passes it"
until=$(date -u -d '+2 days' +%Y-%m-%dT%H:%M:%SZ)
gcloud kms keys add-iam-policy-binding k2 "${LOC[@]}" --member "$ALICE" \
    --role roles/cloudkms.cryptoKeyEncrypterDecrypter \
    --condition="expression=request.time < timestamp('$until') && resource.type == 'cloudkms.googleapis.com/CryptoKey',title=two-days" \
    >/dev/null 2>&1
expect_eq 0 $? "add-iam-policy-binding with a time-bound condition"
expect_eq 200 "$(encrypt_as "$ALICE" k2)" "granted before the time"
api POST "$CONTROL_URL/emulator/v1/clock:advance" '{"seconds": 259200}'
expect_status 200
expect_eq 403 "$(encrypt_as "$ALICE" k2)" "denied once the emulator clock is three days on"
expect_eq 200 "$(encrypt_as "$ALICE" k1)" "the untimed condition on k1 still holds"

section "extract() and a time zone's hours"
gcloud kms keys add-iam-policy-binding k3 "${LOC[@]}" --member "$ALICE" \
    --role roles/cloudkms.cryptoKeyEncrypterDecrypter \
    --condition="expression=resource.name.extract('/cryptoKeys/{key}') == 'k3' && request.time.getDayOfWeek('Asia/Tokyo') >= 0,title=extract" \
    >/dev/null 2>&1
expect_eq 0 $? "the binding is accepted"
expect_eq 200 "$(encrypt_as "$ALICE" k3)" "extract() names k3: granted"
out=$(gcloud kms keys get-iam-policy k3 "${LOC[@]}" --format=json 2>&1)
expect_contains "$out" "resource.name.extract" "get-iam-policy returns the expression as written"
expect_contains "$out" '"version": 3' "a policy with a condition is version 3"

section "an expression outside the subset grants nothing"
gcloud kms keys add-iam-policy-binding k4 "${LOC[@]}" --member "$ALICE" \
    --role roles/cloudkms.cryptoKeyEncrypterDecrypter \
    --condition="expression=request.time.getHours('Mars/Olympus_Mons') >= 0,title=mars" \
    >/dev/null 2>&1
expect_eq 0 $? "the binding is accepted"
expect_eq 403 "$(encrypt_as "$ALICE" k4)" "but an unknown time zone grants nothing"

section "gcloud as alice: encrypt under the conditional grant"
printf 'secret' >plain.txt
gcloud_as "$ALICE" kms encrypt --key k1 "${LOC[@]}" --plaintext-file plain.txt \
    --ciphertext-file k1.enc >/dev/null 2>&1
expect_eq 0 $? "gcloud kms encrypt as alice with k1"
out=$(gcloud_as "$ALICE" kms encrypt --key k4 "${LOC[@]}" --plaintext-file plain.txt \
    --ciphertext-file k4.enc 2>&1)
expect_contains "$out" "PERMISSION_DENIED" "gcloud kms encrypt as alice with k4 is denied"

finish
