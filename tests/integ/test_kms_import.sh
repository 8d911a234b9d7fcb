#!/usr/bin/env bash
# test_kms_import: bringing your own key material, through the real gcloud (which wraps it
# with the import job's public key itself) and curl (material wrapped by openssl), and raw
# encryption with it, whose AES-CBC, AES-CTR and AES-GCM ciphertexts openssl and
# pyca/cryptography decrypt with the same key:
# import jobs (create, describe, list, IAM, expiry after 3 days of emulator time), a
# symmetric key imported into an import-only key and used to encrypt, an EC private key
# whose signatures verify with the public key kept outside, the refusals, and the drill
# regulated teams run: destroy an imported version, see data become unreadable, reimport
# the same material into the same version and read the data again; with
# --kms-generation-delay, imports pass through PENDING_IMPORT on the emulator clock.
source "$(dirname "$0")/lib.sh"

start_stack
setup_gcloud my-project
cd "$TEST_TMP"
P=projects/my-project/locations/us-central1
RING=$P/keyRings/ring
K="$KMS_URL/v1"
# oaep_wrap PUBLIC_PEM IN OUT: IN wrapped for an RSA_OAEP_*_SHA256 import job, by openssl
oaep_wrap() {
    openssl pkeyutl -encrypt -pubin -inkey "$1" -pkeyopt rsa_padding_mode:oaep \
        -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 -in "$2" -out "$3"
}

section "import jobs"
api POST "$K/$P/keyRings?keyRingId=ring" '{}'
expect_status 200
api POST "$K/$RING/importJobs?importJobId=job" '{"importMethod":"RSA_OAEP_3072_SHA1_AES_256","protectionLevel":"SOFTWARE"}'
expect_status 200
expect_json '.state' ACTIVE
expect_json '.importMethod' RSA_OAEP_3072_SHA1_AES_256
expect_contains "$(jq -r .publicKey.pem <<<"$BODY")" "BEGIN PUBLIC KEY" "the wrapping key's public half"
api POST "$K/$RING/importJobs?importJobId=direct" '{"importMethod":"RSA_OAEP_3072_SHA256","protectionLevel":"SOFTWARE"}'
expect_status 200
jq -r .publicKey.pem <<<"$BODY" >direct.pem
api POST "$K/$RING/importJobs?importJobId=job" '{"importMethod":"RSA_OAEP_3072_SHA256","protectionLevel":"SOFTWARE"}'
expect_error_json 409 ALREADY_EXISTS
api POST "$K/$RING/importJobs?importJobId=bad" '{"importMethod":"RSA_OAEP_2048_SHA256","protectionLevel":"SOFTWARE"}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$K/$RING/importJobs?importJobId=bad" '{"importMethod":"RSA_OAEP_3072_SHA256","protectionLevel":"EXTERNAL"}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$K/$RING/importJobs?importJobId=bad" '{"importMethod":"RSA_OAEP_3072_SHA256"}'
expect_error_json 400 INVALID_ARGUMENT
api GET "$K/$RING/importJobs"
expect_status 200
expect_json '[.importJobs[].name | split("/") | last] | join(",")' "direct,job"
api GET "$K/$RING/importJobs/nope"
expect_error_json 404 NOT_FOUND

section "a symmetric key imported with gcloud, then used"
head -c 32 /dev/urandom >aes.key
api POST "$K/$RING/cryptoKeys?cryptoKeyId=byok&skipInitialVersionCreation=true" '{"purpose":"ENCRYPT_DECRYPT","importOnly":true}'
expect_status 200
LOC=(--location us-central1 --keyring ring)
if (( HAVE_GCLOUD )); then
    state=$(gcloud kms import-jobs describe job "${LOC[@]}" --format='value(state)' 2>&1)
    expect_eq ACTIVE "$state" "gcloud kms import-jobs describe"
    out=$(gcloud kms keys versions import --import-job job "${LOC[@]}" --key byok \
        --algorithm google-symmetric-encryption --target-key-file aes.key --format=json 2>&1)
    expect_eq ENABLED "$(jq -r .state <<<"$out" 2>&1)" "gcloud kms keys versions import: $out"
    expect_eq "$RING/importJobs/job" "$(jq -r .importJob <<<"$out" 2>&1)" "the version names its import job"
    expect_eq true "$(jq -r .reimportEligible <<<"$out" 2>&1)" "an imported version can be reimported"
else
    # without gcloud: the same wrapping by hand (RSA-OAEP alone, the "direct" job)
    oaep_wrap direct.pem aes.key aes.wrapped
    api POST "$K/$RING/cryptoKeys/byok/cryptoKeyVersions:import" "{\"algorithm\":\"GOOGLE_SYMMETRIC_ENCRYPTION\",\"importJob\":\"$RING/importJobs/direct\",\"wrappedKey\":\"$(base64 -w0 aes.wrapped)\"}"
    expect_status 200
fi
api POST "$K/$RING/cryptoKeys/byok/cryptoKeyVersions" '{}'
expect_error_json 400 FAILED_PRECONDITION
api POST "$K/$RING/cryptoKeys/byok:encrypt" "{\"plaintext\":\"$(printf 'regulated data' | base64 -w0)\"}"
expect_status 200
CIPHERTEXT=$(jq -r .ciphertext <<<"$BODY")
expect_json '.name | endswith("/cryptoKeyVersions/1")' true
api POST "$K/$RING/cryptoKeys/byok:decrypt" "{\"ciphertext\":\"$CIPHERTEXT\"}"
expect_json '.plaintext | @base64d' "regulated data"

section "an EC private key imported with curl: signatures verify with the public key kept here"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in ec.pem -outform DER -out ec.der
openssl pkey -in ec.pem -pubout -out ec.pub
# CKM_RSA_AES_KEY_WRAP by hand needs AES-KWP, which the openssl command line lacks: this key
# goes through the "direct" job (RSA-OAEP-3072-SHA256 wraps up to 318 bytes; a P-256
# PKCS#8 key is 138)
oaep_wrap direct.pem ec.der ec.wrapped
api POST "$K/$RING/cryptoKeys?cryptoKeyId=signer&skipInitialVersionCreation=true" '{"purpose":"ASYMMETRIC_SIGN","versionTemplate":{"algorithm":"EC_SIGN_P256_SHA256"}}'
expect_status 200
# material Google refuses while importing leaves the version IMPORT_FAILED with the reason
api POST "$K/$RING/cryptoKeys/signer/cryptoKeyVersions:import" "{\"algorithm\":\"EC_SIGN_P384_SHA384\",\"importJob\":\"$RING/importJobs/direct\",\"wrappedKey\":\"$(base64 -w0 ec.wrapped)\"}"
expect_status 200
expect_json '.state' IMPORT_FAILED
expect_contains "$(jq -r .importFailureReason <<<"$BODY")" "does not match algorithm EC_SIGN_P384_SHA384" \
    "a P-256 key is not a P-384 one"
api POST "$K/$RING/cryptoKeys/signer/cryptoKeyVersions:import" "{\"algorithm\":\"EC_SIGN_P256_SHA256\",\"importJob\":\"$RING/importJobs/job\",\"wrappedKey\":\"$(base64 -w0 ec.wrapped)\"}"
expect_json '.state' IMPORT_FAILED
expect_contains "$(jq -r .importFailureReason <<<"$BODY")" "does not unwrap with ImportJob" \
    "material wrapped for another job"
api POST "$K/$RING/cryptoKeys/signer/cryptoKeyVersions/2:asymmetricSign" '{"digest":{"sha256":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}}'
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "current state is: IMPORT_FAILED" "a failed import cannot be used"
api POST "$K/$RING/cryptoKeys/signer/cryptoKeyVersions:import" "{\"algorithm\":\"EC_SIGN_P256_SHA256\",\"importJob\":\"$RING/importJobs/direct\",\"wrappedKey\":\"$(base64 -w0 ec.wrapped)\"}"
expect_status 200
expect_json '.state' ENABLED
expect_json '.name | endswith("/cryptoKeyVersions/3")' true
printf 'signed by my own key' >msg.txt
digest=$(openssl dgst -sha256 -binary msg.txt | base64 -w0)
api POST "$K/$RING/cryptoKeys/signer/cryptoKeyVersions/3:asymmetricSign" "{\"digest\":{\"sha256\":\"$digest\"}}"
expect_status 200
jq -r .signature <<<"$BODY" | base64 -d >msg.sig
openssl dgst -sha256 -verify ec.pub -signature msg.sig msg.txt >/dev/null 2>&1
expect_eq 0 $? "the signature verifies with the public key of the imported private key"
api POST "$K/$RING/cryptoKeys/byok/cryptoKeyVersions:import" "{\"algorithm\":\"EC_SIGN_P256_SHA256\",\"importJob\":\"$RING/importJobs/direct\",\"wrappedKey\":\"$(base64 -w0 ec.wrapped)\"}"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "has purpose ENCRYPT_DECRYPT" "a signing algorithm for an encryption key"

section "the drill: destroy, data unreadable, reimport the same material, data back"
api POST "$K/$RING/cryptoKeys/byok/cryptoKeyVersions/1:destroy" '{}'
expect_json '.state' DESTROY_SCHEDULED
api POST "$CONTROL_URL/emulator/v1/clock:advance" '{"seconds": 2592000}'
expect_status 200
api GET "$K/$RING/cryptoKeys/byok/cryptoKeyVersions/1"
expect_json '.state' DESTROYED
api POST "$K/$RING/cryptoKeys/byok:decrypt" "{\"ciphertext\":\"$CIPHERTEXT\"}"
expect_error_json 400 FAILED_PRECONDITION
api GET "$K/$RING/importJobs/job"
expect_json '.state' EXPIRED
expect_json '.expireEventTime == .expireTime' true
api POST "$K/$RING/importJobs?importJobId=job2" '{"importMethod":"RSA_OAEP_4096_SHA256_AES_256","protectionLevel":"SOFTWARE"}'
expect_status 200
jq -r .publicKey.pem <<<"$BODY" >job2.pem
oaep_wrap direct.pem aes.key aes.wrapped
api POST "$K/$RING/cryptoKeys/byok/cryptoKeyVersions:import" "{\"algorithm\":\"GOOGLE_SYMMETRIC_ENCRYPTION\",\"importJob\":\"$RING/importJobs/direct\",\"wrappedKey\":\"$(base64 -w0 aes.wrapped)\",\"cryptoKeyVersion\":\"$RING/cryptoKeys/byok/cryptoKeyVersions/1\"}"
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "is EXPIRED" "an import job lasts 3 days"
head -c 32 /dev/urandom >other.key
if (( HAVE_GCLOUD )); then
    out=$(gcloud kms keys versions import --import-job job2 "${LOC[@]}" --key byok --version 1 \
        --algorithm google-symmetric-encryption --target-key-file other.key --format=json 2>&1)
    expect_eq IMPORT_FAILED "$(jq -r .state <<<"$out" 2>&1)" "other material is not reimported: $out"
    out=$(gcloud kms keys versions import --import-job job2 "${LOC[@]}" --key byok --version 1 \
        --algorithm google-symmetric-encryption --target-key-file aes.key --format=json 2>&1)
    expect_eq ENABLED "$(jq -r .state <<<"$out" 2>&1)" "the same material reimported: $out"
    out=$(gcloud kms import-jobs get-iam-policy job2 "${LOC[@]}" --format=json 2>&1)
    expect_contains "$out" "etag" "import job IAM: $out"
else
    api POST "$K/$RING/importJobs?importJobId=direct2" '{"importMethod":"RSA_OAEP_3072_SHA256","protectionLevel":"SOFTWARE"}'
    jq -r .publicKey.pem <<<"$BODY" >direct2.pem
    oaep_wrap direct2.pem aes.key aes.wrapped
    api POST "$K/$RING/cryptoKeys/byok/cryptoKeyVersions:import" "{\"algorithm\":\"GOOGLE_SYMMETRIC_ENCRYPTION\",\"importJob\":\"$RING/importJobs/direct2\",\"wrappedKey\":\"$(base64 -w0 aes.wrapped)\",\"cryptoKeyVersion\":\"$RING/cryptoKeys/byok/cryptoKeyVersions/1\"}"
    expect_status 200
fi
api POST "$K/$RING/cryptoKeys/byok:decrypt" "{\"ciphertext\":\"$CIPHERTEXT\"}"
expect_status 200
expect_json '.plaintext | @base64d' "regulated data"

section "raw encryption with imported AES keys: ciphertexts other AES implementations read"
xxd_hex() { od -An -tx1 -v "$1" | tr -d ' \n'; }
api POST "$K/$RING/importJobs?importJobId=raw" '{"importMethod":"RSA_OAEP_3072_SHA256","protectionLevel":"SOFTWARE"}'
jq -r .publicKey.pem <<<"$BODY" >raw.pem
oaep_wrap raw.pem aes.key aes.wrapped
for mode in CBC CTR GCM; do
    api POST "$K/$RING/cryptoKeys?cryptoKeyId=raw-${mode,,}&skipInitialVersionCreation=true" "{\"purpose\":\"RAW_ENCRYPT_DECRYPT\",\"importOnly\":true,\"versionTemplate\":{\"algorithm\":\"AES_256_$mode\"}}"
    expect_status 200
    api POST "$K/$RING/cryptoKeys/raw-${mode,,}/cryptoKeyVersions:import" "{\"algorithm\":\"AES_256_$mode\",\"importJob\":\"$RING/importJobs/raw\",\"wrappedKey\":\"$(base64 -w0 aes.wrapped)\"}"
    expect_status 200
done
head -c 48 /dev/urandom >blocks.bin
head -c 16 /dev/urandom >iv.bin
api POST "$K/$RING/cryptoKeys/raw-cbc/cryptoKeyVersions/1:rawEncrypt" "{\"plaintext\":\"$(base64 -w0 blocks.bin)\",\"initializationVector\":\"$(base64 -w0 iv.bin)\"}"
expect_status 200
jq -r .ciphertext <<<"$BODY" | base64 -d >cbc.bin
openssl enc -d -aes-256-cbc -nopad -K "$(xxd_hex aes.key)" -iv "$(xxd_hex iv.bin)" -in cbc.bin -out cbc.out
expect_eq "$(xxd_hex blocks.bin)" "$(xxd_hex cbc.out)" "openssl decrypts the AES-256-CBC ciphertext with the imported key"
api POST "$K/$RING/cryptoKeys/raw-ctr/cryptoKeyVersions/1:rawEncrypt" "{\"plaintext\":\"$(printf 'any length' | base64 -w0)\"}"
expect_status 200
jq -r .ciphertext <<<"$BODY" | base64 -d >ctr.bin
jq -r .initializationVector <<<"$BODY" | base64 -d >ctr.iv
openssl enc -d -aes-256-ctr -K "$(xxd_hex aes.key)" -iv "$(xxd_hex ctr.iv)" -in ctr.bin -out ctr.out
expect_eq "any length" "$(cat ctr.out)" "openssl decrypts the AES-256-CTR ciphertext, the IV the service drew"
api POST "$K/$RING/cryptoKeys/raw-cbc/cryptoKeyVersions/1:rawEncrypt" "{\"plaintext\":\"$(printf 'odd' | base64 -w0)\"}"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "multiple of the block size" "CBC is not padded"
api POST "$K/$RING/cryptoKeys/raw-cbc:encrypt" "{\"plaintext\":\"$(printf 'x' | base64 -w0)\"}"
expect_error_json 400 FAILED_PRECONDITION
api POST "$K/$RING/cryptoKeys/raw-gcm/cryptoKeyVersions/1:rawEncrypt" "{\"plaintext\":\"$(printf 'tagged' | base64 -w0)\",\"additionalAuthenticatedData\":\"$(printf 'ctx' | base64 -w0)\"}"
expect_status 200
expect_json '.tagLength' 16
GCM_CT=$(jq -r .ciphertext <<<"$BODY")
GCM_IV=$(jq -r .initializationVector <<<"$BODY")
api POST "$K/$RING/cryptoKeys/raw-gcm/cryptoKeyVersions/1:rawDecrypt" "{\"ciphertext\":\"$GCM_CT\",\"initializationVector\":\"$GCM_IV\",\"additionalAuthenticatedData\":\"$(printf 'ctx' | base64 -w0)\"}"
expect_json '.plaintext | @base64d' tagged
api POST "$K/$RING/cryptoKeys/raw-gcm/cryptoKeyVersions/1:rawDecrypt" "{\"ciphertext\":\"$GCM_CT\",\"initializationVector\":\"$GCM_IV\",\"additionalAuthenticatedData\":\"$(printf 'other' | base64 -w0)\"}"
expect_error_json 400 INVALID_ARGUMENT
if (( HAVE_GCLOUD )); then
    # gcloud raw-encrypt / raw-decrypt, and the GCM ciphertext read by pyca/cryptography
    # (gcloud's own Python has it) with the imported key
    printf 'portable secret' >pt.txt
    printf 'context' >aad.txt
    gcloud kms raw-encrypt "${LOC[@]}" --key raw-gcm --version 1 --plaintext-file pt.txt \
        --ciphertext-file gcm.bin --additional-authenticated-data-file aad.txt >/dev/null 2>gcm.err
    expect_eq 0 $? "gcloud kms raw-encrypt $(cat gcm.err)"
    iv_file=$(ls inialization_vector_* 2>/dev/null | head -1) # gcloud's own spelling
    out=$(gcloud kms raw-decrypt "${LOC[@]}" --key raw-gcm --version 1 --ciphertext-file gcm.bin \
        --initialization-vector-file "$iv_file" --additional-authenticated-data-file aad.txt \
        --plaintext-file - 2>&1)
    expect_eq "portable secret" "$out" "gcloud kms raw-decrypt"
    python=$(gcloud info --format='value(basic.python_location)')
    out=$("$python" -c 'import sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
key, iv, ct = (open(f, "rb").read() for f in sys.argv[1:4])
print(AESGCM(key).decrypt(iv, ct, b"context").decode())' aes.key "$iv_file" gcm.bin 2>&1)
    expect_eq "portable secret" "$out" "pyca/cryptography decrypts the AES-256-GCM ciphertext"
fi

section "--kms-generation-delay: an import is PENDING_IMPORT first, then settles on the clock"
stop_stack
start_stack --kms-generation-delay 60
K="$KMS_URL/v1"
api POST "$K/$P/keyRings?keyRingId=ring" '{}'
api POST "$K/$RING/importJobs?importJobId=direct" '{"importMethod":"RSA_OAEP_3072_SHA256","protectionLevel":"SOFTWARE"}'
jq -r .publicKey.pem <<<"$BODY" >pending.pem
oaep_wrap pending.pem ec.der pending.wrapped
api POST "$K/$RING/cryptoKeys?cryptoKeyId=signer&skipInitialVersionCreation=true" '{"purpose":"ASYMMETRIC_SIGN","versionTemplate":{"algorithm":"EC_SIGN_P256_SHA256"}}'
for alg in EC_SIGN_P256_SHA256 EC_SIGN_P384_SHA384; do
    api POST "$K/$RING/cryptoKeys/signer/cryptoKeyVersions:import" "{\"algorithm\":\"$alg\",\"importJob\":\"$RING/importJobs/direct\",\"wrappedKey\":\"$(base64 -w0 pending.wrapped)\"}"
    expect_json '.state' PENDING_IMPORT
    expect_json '[has("importTime"), has("importFailureReason")] | any' false
done
api POST "$K/$RING/cryptoKeys/signer/cryptoKeyVersions/1:asymmetricSign" "{\"digest\":{\"sha256\":\"$digest\"}}"
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "current state is: PENDING_IMPORT" "not usable while pending"
api POST "$CONTROL_URL/emulator/v1/clock:advance" '{"seconds": 61}'
wait_for 10 "the imports to settle" bash -c \
    "curl -s '$K/$RING/cryptoKeys/signer/cryptoKeyVersions/2' | grep -q IMPORT_FAILED"
api GET "$K/$RING/cryptoKeys/signer/cryptoKeyVersions/1"
expect_json '.state' ENABLED
expect_json 'has("importTime")' true
api GET "$K/$RING/cryptoKeys/signer/cryptoKeyVersions/2"
expect_json '.importFailureReason | contains("does not match algorithm EC_SIGN_P384_SHA384")' true
api POST "$K/$RING/cryptoKeys/signer/cryptoKeyVersions/1:asymmetricSign" "{\"digest\":{\"sha256\":\"$digest\"}}"
expect_status 200
jq -r .signature <<<"$BODY" | base64 -d >pending.sig
openssl dgst -sha256 -verify ec.pub -signature pending.sig msg.txt >/dev/null 2>&1
expect_eq 0 $? "once ENABLED it signs with the imported key"

finish
