#!/usr/bin/env bash
# test_kms_api: the KMS REST surface through curl: integrity fields, bad input answered
# with Google's error JSON (and the service healthy afterwards), list paging and
# filters, IAM enforcement, the propagation delay, restart durability and secrecy of
# key material and plaintext at rest; and the wire details of Google's client libraries
# (enums by proto number, enum-encoding=int replies, bodies of "") and hostile text
# (null list items, invalid UTF-8, NUL in bodies, paths and queries); GetPublicKey's
# formats (PEM, DER) and the version views of the list methods.
source "$(dirname "$0")/lib.sh"

start_stack --kms-propagation-delay 120
P=projects/kms-project/locations/global
RING=$P/keyRings/ring
KEY=$RING/cryptoKeys/key

section "fixtures"
api POST "$KMS_URL/v1/$P/keyRings?keyRingId=ring" '{}'
expect_status 200
api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=key" '{"purpose":"ENCRYPT_DECRYPT"}'
expect_status 200
api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=signer" \
    '{"purpose":"ASYMMETRIC_SIGN","versionTemplate":{"algorithm":"EC_SIGN_P384_SHA384"}}'
expect_status 200

section "integrity fields (CRC32C of \"hello\" is 2591144780)"
HELLO=$(printf hello | base64)
api POST "$KMS_URL/v1/$KEY:encrypt" "{\"plaintext\":\"$HELLO\",\"plaintextCrc32c\":\"2591144780\"}"
expect_status 200
expect_json .verifiedPlaintextCrc32c true
expect_json .verifiedAdditionalAuthenticatedDataCrc32c false
expect_json .name "$KEY/cryptoKeyVersions/1"
CIPHERTEXT=$(jq -r .ciphertext <<<"$BODY")
printf %s "$CIPHERTEXT" | base64 -d >"$TEST_TMP/ct.bin"
CRC_TOOL=/usr/lib/google-cloud-sdk/bin/gcloud-crc32c
if [[ -x $CRC_TOOL ]]; then
    expect_json .ciphertextCrc32c "$("$CRC_TOOL" "$TEST_TMP/ct.bin")"
else
    echo "  (no gcloud-crc32c: the ciphertext checksum is checked by the gcloud test instead)"
fi
api POST "$KMS_URL/v1/$KEY:encrypt" "{\"plaintext\":\"$HELLO\",\"plaintextCrc32c\":\"1\"}"
expect_status 400
expect_error_json 400 INVALID_ARGUMENT
expect_json .error.message "The checksum in field plaintext_crc32c did not match the data in field plaintext."
api POST "$KMS_URL/v1/$KEY:decrypt" "{\"ciphertext\":\"$CIPHERTEXT\",\"ciphertextCrc32c\":7}"
expect_error_json 400 INVALID_ARGUMENT
api POST "$KMS_URL/v1/$KEY:decrypt" "{\"ciphertext\":\"$CIPHERTEXT\"}"
expect_status 200
expect_json .plaintext "$HELLO"
expect_json .plaintextCrc32c 2591144780
expect_json .usedPrimary true

section "bad input gets Google's error JSON"
api POST "$KMS_URL/v1/$P/keyRings?keyRingId=bad%20id!" '{}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "bad id!" "the message names the ID"
api POST "$KMS_URL/v1/$P/keyRings?keyRingId=$(printf 'x%.0s' {1..64})" '{}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$KMS_URL/v1/$P/keyRings" '{}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "key_ring_id" "missing ID named"
api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=k2" '{"purpose":"ENCRYPT_DECRYPT"'
expect_error_json 400 INVALID_ARGUMENT
api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=k2" '{"purpose": ENCRYPT_DECRYPT}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=k2" '{"purpose":"ENCRYPT_DECRYPT"} trailing'
expect_error_json 400 INVALID_ARGUMENT
api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=k2" '["not","an","object"]'
expect_error_json 400 INVALID_ARGUMENT
api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=k2" '{"purpose":"ENCRYPT_DECRYPT","labels":"x"}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "crypto_key.labels" "wrong type names the field"
api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=k2" '{"purpose":"ENCRYPT_DECRYPT","colour":"red"}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" 'Unknown name \"colour\"' "unknown field named"
api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=k2" '{"purpose":"SOMETHING"}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=k2" '{"purpose":"ENCRYPT_DECRYPT","rotationPeriod":"1s"}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "rotation_period" "bad rotation period named"
api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=k2" '{"purpose":"ENCRYPT_DECRYPT","labels":{"Bad Key":"v"}}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$KMS_URL/v1/$KEY:encrypt" '{"plaintext":"***not base64***"}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$KMS_URL/v1/$KEY:encrypt" "{\"plaintext\":\"$(head -c 70000 /dev/zero | base64 -w0)\"}"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "65536" "plaintext limit named"
api POST "$KMS_URL/v1/$KEY:decrypt" '{"ciphertext":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}'
expect_error_json 400 INVALID_ARGUMENT
head -c 12000000 /dev/zero | tr '\0' 'a' >"$TEST_TMP/huge.json"
api POST "$KMS_URL/v1/$KEY:encrypt" "@$TEST_TMP/huge.json"
expect_error_json 413 INVALID_ARGUMENT
api GET "$KMS_URL/v1/nothing/here"
expect_error_json 404 NOT_FOUND
api POST "$KMS_URL/v1/$KEY:frobnicate" '{}'
expect_error_json 404 NOT_FOUND
api DELETE "$KMS_URL/v1/$KEY"
expect_error_json 404 NOT_FOUND
api GET "$KMS_URL/v1/projects/kms-project/locations/moon/keyRings"
expect_error_json 404 NOT_FOUND
api GET "$KMS_URL/v1/projects/Bad_Project/locations/global/keyRings"
expect_error_json 400 INVALID_ARGUMENT
api GET "$KMS_URL/v1/$RING/cryptoKeys/missing"
expect_error_json 404 NOT_FOUND
api GET "$KMS_URL/v1/projects/kms-project/kajPolicyConfig"
expect_status 200
expect_json .name projects/kms-project/kajPolicyConfig
api GET "$KMS_URL/v1/$KEY/cryptoKeyVersions/1/publicKey"
expect_error_json 400 FAILED_PRECONDITION
api POST "$KMS_URL/v1/$RING/cryptoKeys/signer:encrypt" "{\"plaintext\":\"$HELLO\"}"
expect_error_json 400 FAILED_PRECONDITION
api POST "$KMS_URL/v1/$RING/cryptoKeys/signer/cryptoKeyVersions/1:asymmetricSign" \
    '{"digest":{"sha256":"AAAA"}}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "sha384" "the expected digest is named"
api PATCH "$KMS_URL/v1/$KEY/cryptoKeyVersions/1" '{"state":"DISABLED"}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "update_mask" "missing update mask named"
api POST "$KMS_URL/v1/$P:generateRandomBytes" '{"lengthBytes":4096,"protectionLevel":"HSM"}'
expect_error_json 400 INVALID_ARGUMENT
expect_healthy "$KMS_URL"

section "random bytes and locations"
api POST "$KMS_URL/v1/$P:generateRandomBytes" '{"lengthBytes":32,"protectionLevel":"HSM"}'
expect_status 200
expect_eq 32 "$(jq -r .data <<<"$BODY" | base64 -d | wc -c)" "32 random bytes"
api GET "$KMS_URL/v1/projects/kms-project/locations/europe-west1"
expect_json .displayName Belgium

section "list paging, filters and ordering"
for id in alpha beta gamma; do
    api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=$id" \
        "{\"purpose\":\"MAC\",\"versionTemplate\":{\"algorithm\":\"HMAC_SHA256\"},\"labels\":{\"tier\":\"$id\"}}"
done
api GET "$KMS_URL/v1/$RING/cryptoKeys?pageSize=2"
expect_json '.cryptoKeys | length' 2
expect_json .totalSize 5
TOKEN=$(jq -r .nextPageToken <<<"$BODY")
api GET "$KMS_URL/v1/$RING/cryptoKeys?pageSize=2&pageToken=$TOKEN"
expect_json '.cryptoKeys[0].name' "$RING/cryptoKeys/gamma"
api GET "$KMS_URL/v1/$RING/cryptoKeys?filter=purpose%3DMAC%20AND%20labels.tier%3Dbeta"
expect_json '[.cryptoKeys[].name] | join(",")' "$RING/cryptoKeys/beta"
api GET "$KMS_URL/v1/$RING/cryptoKeys?orderBy=name%20desc&pageSize=1"
expect_json '.cryptoKeys[0].name' "$RING/cryptoKeys/signer"
api GET "$KMS_URL/v1/$RING/cryptoKeys?pageToken=garbage"
expect_error_json 400 INVALID_ARGUMENT
api GET "$KMS_URL/v1/$RING/cryptoKeys?filter=purpose%3D"
expect_error_json 400 INVALID_ARGUMENT

section "partial responses: the fields system parameter"
api GET "$KMS_URL/v1/$RING/cryptoKeys?pageSize=2&fields=cryptoKeys/name,nextPageToken"
expect_json 'keys | join(",")' "cryptoKeys,nextPageToken"
expect_json '[.cryptoKeys[] | keys | join(",")] | join(" ")' "name name"
api GET "$KMS_URL/v1/$RING/cryptoKeys?pageSize=1&fields=cryptoKeys(name,labels/tier,version_template.algorithm)"
expect_json '.cryptoKeys[0] | [(keys | join(",")), .versionTemplate.algorithm, (.versionTemplate | keys | join(","))] | join(" ")' \
    "labels,name,versionTemplate HMAC_SHA256 algorithm"
api GET "$KMS_URL/v1/$RING/cryptoKeys/alpha?%24fields=purpose"
expect_json 'tojson' '{"purpose":"MAC"}'
api GET "$KMS_URL/v1/$RING/cryptoKeys/alpha?fields=*"
expect_json '.name' "$RING/cryptoKeys/alpha"
api GET "$KMS_URL/v1/$RING/cryptoKeys/alpha?fields=name,(purpose"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "a field name is expected at character 6" "the selection's fault is placed"
api GET "$KMS_URL/v1/$RING/cryptoKeys/no-such-key?fields=name"
expect_error_json 404 NOT_FOUND # errors are never pruned

section "propagation delay: a disabled version keeps working for 120 s of emulator time"
api PATCH "$KMS_URL/v1/$KEY/cryptoKeyVersions/1?updateMask=state" '{"state":"DISABLED"}'
expect_json .state DISABLED
api POST "$KMS_URL/v1/$KEY:decrypt" "{\"ciphertext\":\"$CIPHERTEXT\"}"
expect_status 200
api POST "$CONTROL_URL/emulator/v1/clock:advance" '{"seconds": 121}'
api POST "$KMS_URL/v1/$KEY:decrypt" "{\"ciphertext\":\"$CIPHERTEXT\"}"
expect_error_json 400 FAILED_PRECONDITION
api PATCH "$KMS_URL/v1/$KEY/cryptoKeyVersions/1?updateMask=state" '{"state":"ENABLED"}'
api POST "$CONTROL_URL/emulator/v1/clock:advance" '{"seconds": 121}'

section "restart: kill -9 of kms loses nothing acknowledged"
MARKER="kms-secret-marker-$RANDOM$RANDOM"
api POST "$KMS_URL/v1/$KEY:encrypt" "{\"plaintext\":\"$(printf %s "$MARKER" | base64 -w0)\"}"
MARKED=$(jq -r .ciphertext <<<"$BODY")
api GET "$CONTROL_URL/emulator/v1/status"
DATA_DIR=$(jq -r .dataDir <<<"$BODY")
KMS_PID=$(jq -r '.services[] | select(.name=="kms") | .pid' <<<"$BODY")
kill -9 "$KMS_PID"
wait_for 15 "kms restarted" curl -sf "$KMS_URL/health"
api POST "$KMS_URL/v1/$KEY:decrypt" "{\"ciphertext\":\"$MARKED\"}"
expect_status 200
expect_eq "$MARKER" "$(jq -r .plaintext <<<"$BODY" | base64 -d)" "decrypts after the restart"
if grep -rqa "$MARKER" "$DATA_DIR"; then
    _fail "the plaintext marker appears under the data directory"
else
    _pass "no plaintext under the data directory"
fi
expect_eq 600 "$(stat -c %a "$DATA_DIR/kms-root.key")" "root key file mode"

section "Google's client libraries: enums by proto number, enum-encoding=int, bodies of \"\""
# The Node.js libraries send enums as proto numbers, ask for numbers back with
# $alt=json;enum-encoding=int, and send "" for an empty message.
WIRE=$P/keyRings/wire
INT='%24alt=json%3Benum-encoding%3Dint'
api POST "$KMS_URL/v1/$P/keyRings?keyRingId=wire" '""'
expect_status 200
expect_json .name "$WIRE"
# purpose 5 is ASYMMETRIC_SIGN and algorithm 12 EC_SIGN_P256_SHA256 (list positions 2 and 26)
api POST "$KMS_URL/v1/$WIRE/cryptoKeys?cryptoKeyId=signer" '{"purpose":5,"versionTemplate":{"algorithm":12}}'
expect_status 200
expect_json .purpose ASYMMETRIC_SIGN
expect_json .versionTemplate.algorithm EC_SIGN_P256_SHA256
api POST "$KMS_URL/v1/$WIRE/cryptoKeys?cryptoKeyId=decrypter" \
    '{"purpose":6,"versionTemplate":{"algorithm":8}}'
expect_json '.purpose + " " + .versionTemplate.algorithm' "ASYMMETRIC_DECRYPT RSA_DECRYPT_OAEP_2048_SHA256"
api POST "$KMS_URL/v1/$WIRE/cryptoKeys?cryptoKeyId=mac" '{"purpose":9,"versionTemplate":{"algorithm":32}}'
expect_json '.purpose + " " + .versionTemplate.algorithm' "MAC HMAC_SHA256"
api POST "$KMS_URL/v1/$WIRE/cryptoKeys?cryptoKeyId=sym" '{"purpose":1,"versionTemplate":{"algorithm":1}}'
expect_json '.purpose + " " + .primary.state' "ENCRYPT_DECRYPT ENABLED"
# 4 is a list position, not a CryptoKeyPurpose number
api POST "$KMS_URL/v1/$WIRE/cryptoKeys?cryptoKeyId=nope" '{"purpose":4}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "CryptoKeyPurpose" "the enum type is named"
api POST "$KMS_URL/v1/$WIRE/cryptoKeys?cryptoKeyId=nope" '{"purpose":1,"versionTemplate":{"algorithm":11}}'
expect_error_json 400 INVALID_ARGUMENT
# {"state":2} is DISABLED: the version really is disabled, and {"state":1} enables it
api PATCH "$KMS_URL/v1/$WIRE/cryptoKeys/sym/cryptoKeyVersions/1?updateMask=state" '{"state":2}'
expect_json .state DISABLED
api GET "$KMS_URL/v1/$WIRE/cryptoKeys/sym/cryptoKeyVersions/1"
expect_json .state DISABLED
api PATCH "$KMS_URL/v1/$WIRE/cryptoKeys/sym/cryptoKeyVersions/1?updateMask=state" '{"state":1}'
expect_json .state ENABLED
api PATCH "$KMS_URL/v1/$WIRE/cryptoKeys/sym/cryptoKeyVersions/1?updateMask=state" '{"state":6}'
expect_error_json 400 INVALID_ARGUMENT
# "" for createCryptoKeyVersion, destroy and restore
api POST "$KMS_URL/v1/$WIRE/cryptoKeys/sym/cryptoKeyVersions" '""'
expect_json .name "$WIRE/cryptoKeys/sym/cryptoKeyVersions/2"
api POST "$KMS_URL/v1/$WIRE/cryptoKeys/sym/cryptoKeyVersions/2:destroy" '""'
expect_json .state DESTROY_SCHEDULED
api POST "$KMS_URL/v1/$WIRE/cryptoKeys/sym/cryptoKeyVersions/2:restore?$INT" '""'
expect_json .state 2
# enum-encoding=int: every enum of the reply is a number, nested and in lists too
api GET "$KMS_URL/v1/$WIRE/cryptoKeys/signer?$INT"
expect_json '[.purpose, .versionTemplate.algorithm, .versionTemplate.protectionLevel] | join(",")' "5,12,1"
api GET "$KMS_URL/v1/$WIRE/cryptoKeys?\$alt=json;enum-encoding=int"
expect_json '[.cryptoKeys[] | .purpose] | sort | join(",")' "1,5,6,9"
expect_json '.cryptoKeys[] | select(.name | endswith("/sym")) | [.primary.state, .primary.algorithm] | join(",")' "1,1"
api GET "$KMS_URL/v1/$WIRE/cryptoKeys/sym/cryptoKeyVersions?$INT"
expect_json '[.cryptoKeyVersions[] | .state] | join(",")' "1,2"
api GET "$KMS_URL/v1/$WIRE/cryptoKeys/signer/cryptoKeyVersions/1/publicKey?$INT"
expect_json '[.algorithm, .protectionLevel] | join(",")' "12,1"
api POST "$KMS_URL/v1/$WIRE/cryptoKeys/sym:encrypt?$INT" "{\"plaintext\":\"$HELLO\"}"
expect_json .protectionLevel 1
api POST "$KMS_URL/v1/$WIRE/cryptoKeys/sym:encrypt?%24alt=json" "{\"plaintext\":\"$HELLO\"}"
expect_json .protectionLevel SOFTWARE
api POST "$KMS_URL/v1/$WIRE/cryptoKeys/mac/cryptoKeyVersions/1:macSign?$INT" "{\"data\":\"$HELLO\"}"
expect_json .protectionLevel 1
api POST "$KMS_URL/v1/$WIRE/cryptoKeys?cryptoKeyId=nope&$INT" '{"purpose":"NOPE"}'
expect_error_json 400 INVALID_ARGUMENT
# IAM policies keep their audit configs when the update mask names them (the default mask
# is "bindings, etag", as Google reads it); log types are enums too
AUDIT='"auditConfigs":[{"service":"allServices","auditLogConfigs":[{"logType":3}]}]'
api POST "$KMS_URL/v1/$WIRE:setIamPolicy" "{\"policy\":{$AUDIT}}"
expect_json '.auditConfigs' null
api POST "$KMS_URL/v1/$WIRE:setIamPolicy?$INT" "{\"policy\":{$AUDIT},\"updateMask\":\"auditConfigs\"}"
expect_json '.auditConfigs[0].auditLogConfigs[0].logType' 3
api POST "$KMS_URL/v1/$WIRE:setIamPolicy" '{"policy":{"bindings":[{"role":"roles/viewer","members":["user:a@example.com"]}]}}'
expect_json '.bindings[0].role + " " + .auditConfigs[0].service' "roles/viewer allServices"
api GET "$KMS_URL/v1/$WIRE:getIamPolicy"
expect_json '.auditConfigs[0].auditLogConfigs[0].logType' DATA_READ
api POST "$KMS_URL/v1/$WIRE:setIamPolicy" '{"policy":{},"updateMask":"bindings,members"}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$KMS_URL/v1/$WIRE:setIamPolicy" '{"policy":{"etag":"AAAAAAAAAAA="},"updateMask":"auditConfigs"}'
expect_json '.bindings[0].role' roles/viewer # an etag outside the mask is not checked

section "IAM policy versions: GetPolicyOptions.requestedPolicyVersion"
COND='{"role":"roles/cloudkms.viewer","members":["user:c@example.com"],"condition":{"title":"until-2030","expression":"request.time < timestamp(\"2030-01-01T00:00:00Z\")"}}'
api POST "$KMS_URL/v1/$WIRE:setIamPolicy" \
    "{\"policy\":{\"version\":3,\"bindings\":[{\"role\":\"roles/viewer\",\"members\":[\"user:a@example.com\"]},$COND]}}"
expect_status 200
api GET "$KMS_URL/v1/$WIRE:getIamPolicy?options.requestedPolicyVersion=3"
expect_json '[.version, .bindings[1].role, .bindings[1].condition.title] | join(" ")' \
    "3 roles/cloudkms.viewer until-2030"
api GET "$KMS_URL/v1/$WIRE:getIamPolicy"
expect_json '[.version, (.bindings[1].role | test("^roles/cloudkms.viewer_withcond_[0-9a-f]{20}$")), .bindings[1].condition, .bindings[0].role] | join(" ")' \
    "1 true  roles/viewer"
withcond=$(jq -r '.bindings[1].role' <<<"$BODY")
api GET "$KMS_URL/v1/$WIRE:getIamPolicy?options.requested_policy_version=1"
expect_json '[.version, .bindings[1].role] | join(" ")' "1 $withcond"
api GET "$KMS_URL/v1/$WIRE:getIamPolicy?options.requestedPolicyVersion=2"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "requested_policy_version 2" "an invalid version is named"
api GET "$KMS_URL/v1/$WIRE:getIamPolicy?options.requestedPolicyVersion=three"
expect_error_json 400 INVALID_ARGUMENT
api POST "$CONTROL_URL/v1/projects/kms-project:getIamPolicy" '{"options":{"requestedPolicyVersion":2}}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$CONTROL_URL/v1/projects/kms-project:getIamPolicy" '{"options":{"requestedPolicyVersion":3}}'
expect_json .version 1 # no conditional binding: version 1, whatever was asked
api POST "$KMS_URL/v1/$WIRE:setIamPolicy" '{"policy":{"version":3,"bindings":[{"role":"roles/viewer","members":["user:a@example.com"]}]}}'
expect_status 200
api GET "$KMS_URL/v1/$WIRE:getIamPolicy?options.requestedPolicyVersion=3"
expect_json '[.version, (.bindings | length)] | join(" ")' "1 1"

section "GetPublicKey's publicKeyFormat: PEM and DER in publicKey.data, the key of the pem field"
# Without a format the reply has pem and pemCrc32c; with PEM or DER the key comes in
# publicKey.data (base64) with its crc32cChecksum, and publicKeyFormat says which.
FMT=$P/keyRings/formats
api POST "$KMS_URL/v1/$P/keyRings?keyRingId=formats" '{}'
expect_status 200
for spec in rsa:RSA_SIGN_PKCS1_2048_SHA256 ec:EC_SIGN_P256_SHA256; do
    id=${spec%%:*} alg=${spec#*:}
    VERSION=$FMT/cryptoKeys/$id/cryptoKeyVersions/1
    api POST "$KMS_URL/v1/$FMT/cryptoKeys?cryptoKeyId=$id" \
        "{\"purpose\":\"ASYMMETRIC_SIGN\",\"versionTemplate\":{\"algorithm\":\"$alg\"}}"
    expect_status 200
    api GET "$KMS_URL/v1/$VERSION/publicKey"
    expect_json '[has("pem"), has("pemCrc32c"), has("publicKey"), has("publicKeyFormat")] | join(",")' \
        "true,true,false,false"
    jq -r .pem <<<"$BODY" >"$TEST_TMP/$id.pem"
    pem_crc=$(jq -r .pemCrc32c <<<"$BODY")
    api GET "$KMS_URL/v1/$VERSION/publicKey?publicKeyFormat=PEM"
    expect_status 200
    expect_json '[.publicKeyFormat, .name, .algorithm, .protectionLevel, has("pem"), has("pemCrc32c")] | join(",")' \
        "PEM,$VERSION,$alg,SOFTWARE,false,false"
    expect_eq "$(cat "$TEST_TMP/$id.pem")" "$(jq -r .publicKey.data <<<"$BODY" | base64 -d)" \
        "$id: PEM's publicKey.data is the text of the pem field"
    expect_json .publicKey.crc32cChecksum "$pem_crc"
    api GET "$KMS_URL/v1/$VERSION/publicKey?publicKeyFormat=DER"
    expect_status 200
    expect_json '[.publicKeyFormat, .name, .algorithm, .protectionLevel, has("pem")] | join(",")' \
        "DER,$VERSION,$alg,SOFTWARE,false"
    jq -r .publicKey.data <<<"$BODY" | base64 -d >"$TEST_TMP/$id.der"
    expect_eq "$(cat "$TEST_TMP/$id.pem")" \
        "$(openssl pkey -pubin -inform DER -in "$TEST_TMP/$id.der" -outform PEM 2>&1)" \
        "$id: DER's publicKey.data is the key of the pem field"
    if [[ -x $CRC_TOOL ]]; then
        expect_json .publicKey.crc32cChecksum "$("$CRC_TOOL" "$TEST_TMP/$id.der")"
    fi
done
EC_VERSION=$FMT/cryptoKeys/ec/cryptoKeyVersions/1
# the format by proto number (DER is 2) and by the field's proto name; answered as a number
api GET "$KMS_URL/v1/$EC_VERSION/publicKey?public_key_format=2&$INT"
expect_json '[.publicKeyFormat, .algorithm, (.publicKey.data | length > 0)] | map(tostring) | join(",")' \
    "2,12,true"
api GET "$KMS_URL/v1/$EC_VERSION/publicKey?publicKeyFormat=PUBLIC_KEY_FORMAT_UNSPECIFIED"
expect_json '[has("pem"), has("publicKey")] | join(",")' "true,false"
# NIST_PQC and XWING_RAW_BYTES are the formats of post-quantum keys (none here)
api GET "$KMS_URL/v1/$FMT/cryptoKeys/rsa/cryptoKeyVersions/1/publicKey?publicKeyFormat=NIST_PQC"
expect_error_json 400 INVALID_ARGUMENT
expect_json .error.message "Public key format NIST_PQC is not supported for algorithm RSA_SIGN_PKCS1_2048_SHA256: it is the format of ML-KEM, ML-DSA and SLH-DSA keys."
api GET "$KMS_URL/v1/$EC_VERSION/publicKey?publicKeyFormat=4"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "format XWING_RAW_BYTES is not supported for algorithm EC_SIGN_P256_SHA256" \
    "XWING_RAW_BYTES (4) on an EC key is refused"
# a value the enum lacks, refused as Google refuses an enum in a query, before any lookup
api GET "$KMS_URL/v1/$FMT/cryptoKeys/missing/cryptoKeyVersions/1/publicKey?publicKeyFormat=X"
expect_error_json 400 INVALID_ARGUMENT
expect_json .error.message "Invalid value at 'public_key_format' (type.googleapis.com/google.cloud.kms.v1.PublicKey.PublicKeyFormat), \"X\""
api GET "$KMS_URL/v1/$EC_VERSION/publicKey?publicKeyFormat=9"
expect_error_json 400 INVALID_ARGUMENT

section "versionView (ListCryptoKeys) and view (ListCryptoKeyVersions): unspecified or FULL"
# FULL adds a version's attestation, which software versions do not have: both views
# answer the same; any other value is refused.
api GET "$KMS_URL/v1/$FMT/cryptoKeys?versionView=FULL"
expect_status 200
expect_json '[.cryptoKeys[].name | split("/") | last] | join(",")' "ec,rsa"
api GET "$KMS_URL/v1/$FMT/cryptoKeys?version_view=1"
expect_status 200
api GET "$KMS_URL/v1/$FMT/cryptoKeys?versionView=BASIC"
expect_error_json 400 INVALID_ARGUMENT
expect_json .error.message "Invalid value at 'version_view' (type.googleapis.com/google.cloud.kms.v1.CryptoKeyVersion.CryptoKeyVersionView), \"BASIC\""
api GET "$KMS_URL/v1/$FMT/cryptoKeys/rsa/cryptoKeyVersions?view=FULL"
expect_status 200
expect_json '.cryptoKeyVersions[0].name' "$FMT/cryptoKeys/rsa/cryptoKeyVersions/1"
api GET "$KMS_URL/v1/$FMT/cryptoKeys/rsa/cryptoKeyVersions?view=2"
expect_error_json 400 INVALID_ARGUMENT
expect_json .error.message "Invalid value at 'view' (type.googleapis.com/google.cloud.kms.v1.CryptoKeyVersion.CryptoKeyVersionView), 2"

section "null, invalid UTF-8 and NUL are refused, and KMS keeps answering"
api POST "$KMS_URL/v1/$WIRE:testIamPermissions" '{"permissions":[null]}'
expect_error_json 400 INVALID_ARGUMENT
expect_json .error.message "Invalid value at 'permissions[0]' (TYPE_STRING), null"
api POST "$KMS_URL/v1/$WIRE/cryptoKeys?cryptoKeyId=labelled" '{"purpose":1,"labels":{"k":null}}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$KMS_URL/v1/$P/keyRings?keyRingId=ab%00cd" '{}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "key_ring_id" "the parameter is named"
api GET "$KMS_URL/v1/$P/keyRings/ab"
expect_error_json 404 NOT_FOUND
api POST "$KMS_URL/v1/$P/keyRings?keyRingId=ab%FFcd" '{}'
expect_error_json 400 INVALID_ARGUMENT
api GET "$KMS_URL/v1/$WIRE/cryptoKeys/sym%00x"
expect_error_json 400 INVALID_ARGUMENT
api POST "$KMS_URL/v1/$WIRE/cryptoKeys?cryptoKeyId=labelled" $'{"purpose":1,"labels":{"k":"\xc3"}}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "Invalid UTF-8" "the reason is given"
api POST "$KMS_URL/v1/$WIRE/cryptoKeys?cryptoKeyId=labelled" '{"purpose":1,"labels":{"k":"a\u0000b"}}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "NUL" "the reason is given"
api GET "$KMS_URL/v1/$WIRE/cryptoKeys/labelled"
expect_error_json 404 NOT_FOUND
expect_healthy "$KMS_URL"

section "IAM enforcement"
stop_stack
start_stack --iam enforce
export API_PRINCIPAL=user:developer@example.com # the default principal owns every project
api POST "$KMS_URL/v1/$P/keyRings?keyRingId=ring" '{}'
api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=key" '{"purpose":"ENCRYPT_DECRYPT"}'
API_PRINCIPAL=user:bob@example.com api POST "$KMS_URL/v1/$KEY:encrypt" "{\"plaintext\":\"$HELLO\"}"
expect_error_json 403 PERMISSION_DENIED
expect_contains "$BODY" "cloudkms.cryptoKeyVersions.useToEncrypt" "the permission is named"
api POST "$KMS_URL/v1/$KEY:setIamPolicy" \
    '{"policy":{"bindings":[{"role":"roles/cloudkms.cryptoKeyEncrypter","members":["user:bob@example.com"]}]}}'
expect_status 200
API_PRINCIPAL=user:bob@example.com api POST "$KMS_URL/v1/$KEY:encrypt" "{\"plaintext\":\"$HELLO\"}"
expect_status 200
ENC=$(jq -r .ciphertext <<<"$BODY")
API_PRINCIPAL=user:bob@example.com api POST "$KMS_URL/v1/$KEY:decrypt" "{\"ciphertext\":\"$ENC\"}"
expect_error_json 403 PERMISSION_DENIED
API_PRINCIPAL=user:bob@example.com api POST "$KMS_URL/v1/$KEY:testIamPermissions" \
    '{"permissions":["cloudkms.cryptoKeyVersions.useToEncrypt","cloudkms.cryptoKeyVersions.useToDecrypt"]}'
expect_json '.permissions | join(",")' cloudkms.cryptoKeyVersions.useToEncrypt
api POST "$CONTROL_URL/v1/projects/kms-project:setIamPolicy" \
    '{"policy":{"bindings":[{"role":"roles/cloudkms.cryptoKeyDecrypter","members":["user:bob@example.com"]}]}}'
API_PRINCIPAL=user:bob@example.com api POST "$KMS_URL/v1/$KEY:decrypt" "{\"ciphertext\":\"$ENC\"}"
expect_status 200
# raw AES-CBC keys need an expert's permission beyond the KMS admin's, as in Google
api POST "$KMS_URL/v1/$RING:setIamPolicy" \
    '{"policy":{"bindings":[{"role":"roles/cloudkms.admin","members":["user:carol@example.com"]}]}}'
CBC_KEY='{"purpose":"RAW_ENCRYPT_DECRYPT","versionTemplate":{"algorithm":"AES_256_CBC"}}'
API_PRINCIPAL=user:carol@example.com api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=cbc" "$CBC_KEY"
expect_error_json 403 PERMISSION_DENIED
expect_contains "$BODY" "cloudkms.cryptoKeyVersions.manageRawAesCbcKeys" "the expert permission is named"
API_PRINCIPAL=user:carol@example.com api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=gcm" \
    '{"purpose":"RAW_ENCRYPT_DECRYPT","versionTemplate":{"algorithm":"AES_256_GCM"}}'
expect_status 200
api POST "$KMS_URL/v1/$RING:setIamPolicy" \
    '{"policy":{"bindings":[{"role":"roles/cloudkms.admin","members":["user:carol@example.com"]},{"role":"roles/cloudkms.expertRawAesCbc","members":["user:carol@example.com"]}]}}'
API_PRINCIPAL=user:carol@example.com api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=cbc" "$CBC_KEY"
expect_status 200
expect_healthy "$KMS_URL"

section "--kms-generation-delay: asymmetric versions are PENDING_GENERATION for a while, as in Google"
stop_stack
unset API_PRINCIPAL
start_stack --kms-generation-delay 60
api POST "$KMS_URL/v1/$P/keyRings?keyRingId=ring" '{}'
api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=signer" '{"purpose":"ASYMMETRIC_SIGN","versionTemplate":{"algorithm":"EC_SIGN_P256_SHA256"}}'
expect_status 200
api GET "$KMS_URL/v1/$RING/cryptoKeys/signer/cryptoKeyVersions/1"
expect_json '.state' PENDING_GENERATION
expect_json 'has("generateTime")' false
api GET "$KMS_URL/v1/$RING/cryptoKeys/signer/cryptoKeyVersions/1/publicKey"
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "current state is: PENDING_GENERATION" "the key is not ready yet"
api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=sym" '{"purpose":"ENCRYPT_DECRYPT"}'
expect_json '.primary.state' ENABLED
api POST "$CONTROL_URL/emulator/v1/clock:advance" '{"seconds": 60}'
generated() {
    curl -s "$KMS_URL/v1/$RING/cryptoKeys/signer/cryptoKeyVersions/1" | jq -e '.state == "ENABLED"'
}
wait_for 10 "version 1 to be ENABLED" generated
expect_eq 0 $? "ENABLED at the next tick after the delay"
api GET "$KMS_URL/v1/$RING/cryptoKeys/signer/cryptoKeyVersions/1/publicKey"
expect_status 200
expect_healthy "$KMS_URL"

finish
