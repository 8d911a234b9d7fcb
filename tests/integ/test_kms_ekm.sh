#!/usr/bin/env bash
# test_kms_ekm: Cloud EKM end to end, as a team that keeps its keys outside Google uses
# it, through REST and the real gcloud CLI.
#
# A key of protection level EXTERNAL has versions that each name a key in the external
# key manager (the emulator's simulated EKM); KMS reaches the EKM on every call. The team
# then plays the EKM's side through the control plane (disable, enable, destroy a key;
# the ekmUnreachable fault) and sees Cloud EKM's errors (FAILED_PRECONDITION with a
# PreconditionFailure naming the error domain), a version disabled by KMS when the EKM
# denies it, and a Pub/Sub topic protected by the external key go INACCESSIBLE and come
# back. An EXTERNAL_VPC key reaches the EKM through an EKM connection's hostname, or the
# location's default connection. Everything survives a restart; destroyed is for good.
source "$(dirname "$0")/lib.sh"

DATA="$TEST_TMP/data"
mkdir -p "$DATA"
start_persistent
setup_gcloud ekm-project
cd "$TEST_TMP"
LOC=projects/ekm-project/locations/us-east1
RING=$LOC/keyRings/ekm
KEY=$RING/cryptoKeys/external
URI=https://ekm.example.com/v0/keys/orders
EKM="$CONTROL_URL/emulator/v1/ekm/keys"
HELLO=$(printf 'hello, ekm' | base64)

encrypt() { api POST "$KMS_URL/v1/$1:encrypt" "{\"plaintext\":\"$HELLO\"}"; }
decrypt() { api POST "$KMS_URL/v1/$1:decrypt" "{\"ciphertext\":\"$2\"}"; }
ekm() { api POST "$EKM:$1" "{\"uri\":\"$2\"}"; expect_status 200; }
fault() { api POST "$CONTROL_URL/emulator/v1/faults" "{\"ekmUnreachable\": $1}"; expect_status 200; }
# expect_ekm_error DOMAIN: the last answer is Cloud EKM's FAILED_PRECONDITION for DOMAIN.
expect_ekm_error() {
    expect_error_json 400 FAILED_PRECONDITION
    expect_json '.error.details[0]["@type"]' type.googleapis.com/google.rpc.PreconditionFailure
    expect_json '.error.details[0].violations[1].type' "$1"
}
version_state() { api GET "$KMS_URL/v1/$1"; jq -r .state <<<"$BODY"; }

section "Cloud EKM's rules for a new key"
api POST "$KMS_URL/v1/$LOC/keyRings?keyRingId=ekm" '{}'
expect_status 200
EXT='"versionTemplate":{"algorithm":"EXTERNAL_SYMMETRIC_ENCRYPTION","protectionLevel":"EXTERNAL"}'
api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=external" "{\"purpose\":\"ENCRYPT_DECRYPT\",$EXT}"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "skipInitialVersionCreation" "an external key has no initial version"
api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=external&skipInitialVersionCreation=true" \
    '{"purpose":"ENCRYPT_DECRYPT","versionTemplate":{"protectionLevel":"EXTERNAL"}}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "EXTERNAL_SYMMETRIC_ENCRYPTION" "its algorithm is EXTERNAL_SYMMETRIC_ENCRYPTION"
api POST "$KMS_URL/v1/projects/ekm-project/locations/global/keyRings?keyRingId=g" '{}'
api POST "$KMS_URL/v1/projects/ekm-project/locations/global/keyRings/g/cryptoKeys?cryptoKeyId=x&skipInitialVersionCreation=true" \
    "{\"purpose\":\"ENCRYPT_DECRYPT\",$EXT}"
expect_error_json 400 INVALID_ARGUMENT
api GET "$KMS_URL/v1/projects/ekm-project/locations/global"
expect_json .metadata.ekmAvailable false
api GET "$KMS_URL/v1/$LOC"
expect_json .metadata.ekmAvailable true
api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=external&skipInitialVersionCreation=true" \
    "{\"purpose\":\"ENCRYPT_DECRYPT\",\"rotationPeriod\":\"86400s\",$EXT}"
expect_error_json 400 INVALID_ARGUMENT
api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=external&skipInitialVersionCreation=true" \
    "{\"purpose\":\"ENCRYPT_DECRYPT\",$EXT}"
expect_status 200
expect_json .versionTemplate.protectionLevel EXTERNAL

section "a version names its key in the EKM"
api POST "$KMS_URL/v1/$KEY/cryptoKeyVersions" '{}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "external_key_uri" "the URI is required"
api POST "$KMS_URL/v1/$KEY/cryptoKeyVersions" \
    '{"externalProtectionLevelOptions":{"ekmConnectionKeyPath":"v0/keys/a"}}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$KMS_URL/v1/$KEY/cryptoKeyVersions" \
    '{"externalProtectionLevelOptions":{"externalKeyUri":"http://ekm.example.com/k"}}'
expect_ekm_error EXTERNAL_KEY_URI_INVALID
expect_json .error.message "Key URI has invalid format. External key: http://ekm.example.com/k."
api POST "$KMS_URL/v1/$KEY/cryptoKeyVersions" \
    "{\"externalProtectionLevelOptions\":{\"externalKeyUri\":\"$URI\"}}"
expect_status 200
expect_json .state ENABLED
expect_json .protectionLevel EXTERNAL
expect_json .algorithm EXTERNAL_SYMMETRIC_ENCRYPTION
expect_json .externalProtectionLevelOptions.externalKeyUri "$URI"
api GET "$KMS_URL/v1/$KEY"
expect_json .primary.name "$KEY/cryptoKeyVersions/1"
api GET "$EKM"
expect_json '.keys[0].uri' "$URI"
expect_json '.keys[0].state' ENABLED
api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=soft" '{"purpose":"ENCRYPT_DECRYPT"}'
api POST "$KMS_URL/v1/$RING/cryptoKeys/soft/cryptoKeyVersions" \
    "{\"externalProtectionLevelOptions\":{\"externalKeyUri\":\"$URI\"}}"
expect_error_json 400 INVALID_ARGUMENT

section "encrypt and decrypt reach the EKM"
encrypt "$KEY"
expect_status 200
expect_json .protectionLevel EXTERNAL
CT=$(jq -r .ciphertext <<<"$BODY")
decrypt "$KEY" "$CT"
expect_status 200
expect_json .plaintext "$HELLO"
api POST "$KMS_URL/v1/$KEY:decrypt" "{\"ciphertext\":\"$CT\",\"additionalAuthenticatedData\":\"eA==\"}"
expect_error_json 400 INVALID_ARGUMENT

section "the EKM cannot be reached"
fault true
api GET "$CONTROL_URL/emulator/v1/faults"
expect_json .ekmUnreachable true
decrypt "$KEY" "$CT"
expect_ekm_error UNREACHABLE_NETWORK
expect_contains "$(jq -r .error.message <<<"$BODY")" "Could not reach the EKM host" "Google's words"
api POST "$KMS_URL/v1/$KEY/cryptoKeyVersions" \
    '{"externalProtectionLevelOptions":{"externalKeyUri":"https://ekm.example.com/v0/keys/b"}}'
expect_ekm_error UNREACHABLE_NETWORK
api GET "$KMS_URL/v1/$KEY/cryptoKeyVersions"
expect_json '.cryptoKeyVersions | length' 1
fault false
decrypt "$KEY" "$CT"
expect_status 200

section "the EKM denies the key: Cloud EKM disables the version"
ekm disable "$URI"
expect_json .state DISABLED
decrypt "$KEY" "$CT"
expect_ekm_error EXTERNAL_PERMISSION_DENIED
expect_eq DISABLED "$(version_state "$KEY/cryptoKeyVersions/1")" "the version is disabled"
ekm enable "$URI"
decrypt "$KEY" "$CT"
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "is not enabled" "it stays disabled until enabled again"
api PATCH "$KMS_URL/v1/$KEY/cryptoKeyVersions/1?updateMask=state" '{"state":"ENABLED"}'
expect_status 200
decrypt "$KEY" "$CT"
expect_status 200

section "a Pub/Sub topic protected by the external key"
P="$PUBSUB_URL/v1/projects/ekm-project"
api PUT "$P/topics/orders" \
    "{\"kmsKeyName\":\"$KEY\",\"messageStoragePolicy\":{\"allowedPersistenceRegions\":[\"us-east1\"]}}"
expect_status 200
api PUT "$P/subscriptions/orders-sub" '{"topic":"projects/ekm-project/topics/orders"}'
expect_status 200
api POST "$P/topics/orders:publish" '{"messages":[{"data":"b25l"}]}'
expect_status 200
ekm disable "$URI"
api POST "$CONTROL_URL/emulator/v1/keyChecks:run" '{}'
api GET "$CONTROL_URL/emulator/v1/protectedResources?service=pubsub"
expect_json '.protectedResources[] | select(.name == "projects/ekm-project/topics/orders") | .state' INACCESSIBLE
api POST "$P/topics/orders:publish" '{"messages":[{"data":"dHdv"}]}'
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "Permission was denied" "the EKM's answer reaches the publisher"
ekm enable "$URI"
api PATCH "$KMS_URL/v1/$KEY/cryptoKeyVersions/1?updateMask=state" '{"state":"ENABLED"}'
fault true
api POST "$CONTROL_URL/emulator/v1/keyChecks:run" '{}'
api GET "$CONTROL_URL/emulator/v1/protectedResources?service=pubsub"
expect_json '.protectedResources[] | select(.name == "projects/ekm-project/topics/orders") | .reason | contains("Could not reach the EKM host")' true
fault false
api POST "$CONTROL_URL/emulator/v1/keyChecks:run" '{}'
api GET "$CONTROL_URL/emulator/v1/protectedResources?service=pubsub"
expect_json '.protectedResources[] | select(.name == "projects/ekm-project/topics/orders") | .state' ACCESSIBLE
api POST "$P/topics/orders:publish" '{"messages":[{"data":"dGhyZWU="}]}'
expect_status 200
api POST "$P/subscriptions/orders-sub:pull" '{"maxMessages":10}'
expect_json '[.receivedMessages[].message.data] | sort | join(",")' 'b25l,dGhyZWU='

section "EXTERNAL_VPC: through an EKM connection"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ekm.key -out ekm.pem -days 30 \
    -subj "/CN=ekm.internal.example" >/dev/null 2>&1
DER=$(openssl x509 -in ekm.pem -outform DER | base64 -w0)
SD=projects/ekm-project/locations/us-east1/namespaces/ns/services/ekm
api POST "$KMS_URL/v1/$LOC/ekmConnections?ekmConnectionId=vpc" \
    "{\"serviceResolvers\":[{\"serviceDirectoryService\":\"$SD\",\"hostname\":\"ekm.internal.example\",\"serverCertificates\":[{\"rawDer\":\"$DER\"}]}]}"
expect_status 200
CONN=$LOC/ekmConnections/vpc
VPC='"versionTemplate":{"algorithm":"EXTERNAL_SYMMETRIC_ENCRYPTION","protectionLevel":"EXTERNAL_VPC"}'
api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=vpc&skipInitialVersionCreation=true" \
    "{\"purpose\":\"ENCRYPT_DECRYPT\",$VPC}"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "crypto_key_backend" "EXTERNAL_VPC needs an EKM connection"
api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=vpc&skipInitialVersionCreation=true" \
    "{\"purpose\":\"ENCRYPT_DECRYPT\",\"cryptoKeyBackend\":\"$LOC/ekmConnections/missing\",$VPC}"
expect_error_json 404 NOT_FOUND
api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=vpc&skipInitialVersionCreation=true" \
    "{\"purpose\":\"ENCRYPT_DECRYPT\",\"cryptoKeyBackend\":\"$CONN\",$VPC}"
expect_status 200
expect_json .cryptoKeyBackend "$CONN"
api POST "$KMS_URL/v1/$RING/cryptoKeys/vpc/cryptoKeyVersions" \
    "{\"externalProtectionLevelOptions\":{\"externalKeyUri\":\"$URI\"}}"
expect_error_json 400 INVALID_ARGUMENT
api POST "$KMS_URL/v1/$RING/cryptoKeys/vpc/cryptoKeyVersions" \
    '{"externalProtectionLevelOptions":{"ekmConnectionKeyPath":"v0/keys/vpc-1"}}'
expect_status 200
expect_json .externalProtectionLevelOptions.ekmConnectionKeyPath v0/keys/vpc-1
expect_json .protectionLevel EXTERNAL_VPC
api GET "$EKM"
expect_json '[.keys[].uri] | index("https://ekm.internal.example/v0/keys/vpc-1") != null' true
encrypt "$RING/cryptoKeys/vpc"
expect_status 200
VCT=$(jq -r .ciphertext <<<"$BODY")
ekm disable https://ekm.internal.example/v0/keys/vpc-1
decrypt "$RING/cryptoKeys/vpc" "$VCT"
expect_ekm_error EXTERNAL_PERMISSION_DENIED
ekm enable https://ekm.internal.example/v0/keys/vpc-1
api PATCH "$KMS_URL/v1/$RING/cryptoKeys/vpc/cryptoKeyVersions/1?updateMask=state" '{"state":"ENABLED"}'
decrypt "$RING/cryptoKeys/vpc" "$VCT"
expect_status 200
expect_json .plaintext "$HELLO"

# a new hostname is another EKM: it holds no key at that path (nothing is made there)
RESOLVER="{\"serviceDirectoryService\":\"$SD\",\"hostname\":\"ekm2.internal.example\",\"serverCertificates\":[{\"rawDer\":\"$DER\"}]}"
api PATCH "$KMS_URL/v1/$CONN?updateMask=serviceResolvers" "{\"serviceResolvers\":[$RESOLVER]}"
expect_status 200
decrypt "$RING/cryptoKeys/vpc" "$VCT"
expect_ekm_error EXTERNAL_NOT_FOUND
expect_contains "$BODY" "https://ekm2.internal.example/v0/keys/vpc-1" "the address names the new host"
encrypt "$RING/cryptoKeys/vpc"
expect_ekm_error EXTERNAL_NOT_FOUND
api GET "$EKM"
expect_json '[.keys[].uri] | index("https://ekm2.internal.example/v0/keys/vpc-1")' null
api PATCH "$KMS_URL/v1/$CONN?updateMask=serviceResolvers" \
    "{\"serviceResolvers\":[${RESOLVER/ekm2.internal.example/ekm.internal.example}]}"
expect_status 200
decrypt "$RING/cryptoKeys/vpc" "$VCT"
expect_status 200

section "EXTERNAL_VPC: the location's default EKM connection"
api PATCH "$KMS_URL/v1/$LOC/ekmConfig?updateMask=defaultEkmConnection" \
    "{\"defaultEkmConnection\":\"$CONN\"}"
expect_status 200
api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=vpc-default&skipInitialVersionCreation=true" \
    "{\"purpose\":\"ENCRYPT_DECRYPT\",$VPC}"
expect_status 200
expect_json .cryptoKeyBackend "$CONN"

section "coordinated external keys: Cloud KMS manages the keys in the EKM"
api POST "$KMS_URL/v1/$LOC/ekmConnections?ekmConnectionId=coordinated" \
    "{\"keyManagementMode\":\"CLOUD_KMS\",\"cryptoSpacePath\":\"v0/cryptospaces/team\",\"serviceResolvers\":[{\"serviceDirectoryService\":\"$SD\",\"hostname\":\"ekm.internal.example\",\"serverCertificates\":[{\"rawDer\":\"$DER\"}]}]}"
expect_status 200
COORD=$LOC/ekmConnections/coordinated
api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=coordinated" \
    "{\"purpose\":\"ENCRYPT_DECRYPT\",\"cryptoKeyBackend\":\"$COORD\",\"rotationPeriod\":\"2592000s\",$VPC}"
expect_status 200
expect_json '.primary.state' ENABLED
expect_json '.primary.externalProtectionLevelOptions.ekmConnectionKeyPath | startswith("v0/cryptospaces/team/keys/")' true
CPATH=$(jq -r .primary.externalProtectionLevelOptions.ekmConnectionKeyPath <<<"$BODY")
api GET "$EKM"
expect_json ".keys[] | select(.uri == \"https://ekm.internal.example/$CPATH\") | .state" ENABLED
api POST "$KMS_URL/v1/$RING/cryptoKeys/coordinated/cryptoKeyVersions" \
    '{"externalProtectionLevelOptions":{"ekmConnectionKeyPath":"v0/keys/mine"}}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "coordinated" "a coordinated key's versions name no key"
encrypt "$RING/cryptoKeys/coordinated"
expect_status 200
api POST "$KMS_URL/v1/$RING/cryptoKeys/coordinated/cryptoKeyVersions" '{}'
expect_status 200
expect_json '.externalProtectionLevelOptions.ekmConnectionKeyPath | startswith("v0/cryptospaces/team/keys/")' true
CPATH2=$(jq -r .externalProtectionLevelOptions.ekmConnectionKeyPath <<<"$BODY")
api POST "$KMS_URL/v1/$RING/cryptoKeys/coordinated/cryptoKeyVersions/1:destroy" '{}'
expect_json .state DESTROY_SCHEDULED
api POST "$CONTROL_URL/emulator/v1/clock:advance" '{"seconds": 2592001}'
expect_eq DESTROYED "$(version_state "$RING/cryptoKeys/coordinated/cryptoKeyVersions/1")" \
    "destroyed in KMS when its time comes"
api GET "$EKM"
expect_json ".keys[] | select(.uri == \"https://ekm.internal.example/$CPATH\") | .state" DESTROYED
api POST "$KMS_URL/v1/$RING/cryptoKeys/coordinated/cryptoKeyVersions/2:destroy" '{}'
fault true
api POST "$CONTROL_URL/emulator/v1/clock:advance" '{"seconds": 2592001}'
api GET "$KMS_URL/v1/$RING/cryptoKeys/coordinated/cryptoKeyVersions/2"
expect_json .state EXTERNAL_DESTRUCTION_FAILED
expect_json '.externalDestructionFailureReason | contains("Could not reach the EKM host")' true
api GET "$EKM"
expect_json ".keys[] | select(.uri == \"https://ekm.internal.example/$CPATH2\") | .state" ENABLED
fault false

section "a long external key URI keeps Cloud EKM's error domain"
LONG="https://ekm.example.com/v0/keys/$(printf 'a%.0s' $(seq 700))"
api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=long&skipInitialVersionCreation=true" \
    "{\"purpose\":\"ENCRYPT_DECRYPT\",$EXT}"
api POST "$KMS_URL/v1/$RING/cryptoKeys/long/cryptoKeyVersions" \
    "{\"externalProtectionLevelOptions\":{\"externalKeyUri\":\"$LONG\"}}"
expect_status 200
ekm disable "$LONG"
encrypt "$RING/cryptoKeys/long"
expect_ekm_error EXTERNAL_PERMISSION_DENIED

section "destroyed is for good"
api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=shred&skipInitialVersionCreation=true" \
    "{\"purpose\":\"ENCRYPT_DECRYPT\",$EXT}"
api POST "$KMS_URL/v1/$RING/cryptoKeys/shred/cryptoKeyVersions" \
    '{"externalProtectionLevelOptions":{"externalKeyUri":"https://ekm.example.com/v0/keys/shred"}}'
expect_status 200
encrypt "$RING/cryptoKeys/shred"
SCT=$(jq -r .ciphertext <<<"$BODY")
ekm destroy https://ekm.example.com/v0/keys/shred
expect_json .state DESTROYED
decrypt "$RING/cryptoKeys/shred" "$SCT"
expect_ekm_error EXTERNAL_NOT_FOUND
# a new version cannot name it again, nor a key the EKM refuses
api POST "$KMS_URL/v1/$RING/cryptoKeys/shred/cryptoKeyVersions" \
    '{"externalProtectionLevelOptions":{"externalKeyUri":"https://ekm.example.com/v0/keys/shred"}}'
expect_ekm_error EXTERNAL_NOT_FOUND
api POST "$EKM" '{"uri":"https://ekm.example.com/v0/keys/refused"}'
expect_json .state ENABLED
ekm disable https://ekm.example.com/v0/keys/refused
api POST "$KMS_URL/v1/$RING/cryptoKeys/shred/cryptoKeyVersions" \
    '{"externalProtectionLevelOptions":{"externalKeyUri":"https://ekm.example.com/v0/keys/refused"}}'
expect_ekm_error EXTERNAL_PERMISSION_DENIED
api GET "$KMS_URL/v1/$RING/cryptoKeys/shred/cryptoKeyVersions"
expect_json '.cryptoKeyVersions | length' 1
api POST "$EKM:enable" '{"uri":"https://ekm.example.com/v0/keys/shred"}'
expect_error_json 400 FAILED_PRECONDITION
api POST "$EKM:disable" '{"uri":"https://ekm.example.com/v0/keys/unknown"}'
expect_error_json 404 NOT_FOUND
api POST "$EKM:disable" '{}'
expect_error_json 400 INVALID_ARGUMENT

section "the EKM moves a key: the version's key reference follows"
MOVED_FROM=https://ekm.example.com/v0/keys/before-move
MOVED_TO=https://ekm-new.example.com/v0/keys/after-move
api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=moving&skipInitialVersionCreation=true" \
    "{\"purpose\":\"ENCRYPT_DECRYPT\",$EXT}"
api POST "$KMS_URL/v1/$RING/cryptoKeys/moving/cryptoKeyVersions" \
    "{\"externalProtectionLevelOptions\":{\"externalKeyUri\":\"$MOVED_FROM\"}}"
expect_status 200
encrypt "$RING/cryptoKeys/moving"
MCT=$(jq -r .ciphertext <<<"$BODY")
api POST "$EKM:move" "{\"uri\":\"$MOVED_FROM\",\"newUri\":\"$MOVED_TO\"}"
expect_status 200
expect_json .uri "$MOVED_TO"
decrypt "$RING/cryptoKeys/moving" "$MCT"
expect_ekm_error EXTERNAL_NOT_FOUND
api PATCH "$KMS_URL/v1/$RING/cryptoKeys/moving/cryptoKeyVersions/1?updateMask=externalProtectionLevelOptions.externalKeyUri" \
    "{\"externalProtectionLevelOptions\":{\"externalKeyUri\":\"$MOVED_TO\"}}"
expect_status 200
expect_json .externalProtectionLevelOptions.externalKeyUri "$MOVED_TO"
decrypt "$RING/cryptoKeys/moving" "$MCT"
expect_status 200
expect_json .plaintext "$HELLO"
api PATCH "$KMS_URL/v1/$RING/cryptoKeys/moving/cryptoKeyVersions/1?updateMask=externalProtectionLevelOptions.ekmConnectionKeyPath" \
    '{"externalProtectionLevelOptions":{"ekmConnectionKeyPath":"v0/keys/x"}}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$EKM:move" "{\"uri\":\"$MOVED_TO\",\"newUri\":\"$URI\"}"
expect_error_json 409 ALREADY_EXISTS
# a reference to a key that is not the same one: the EKM's seal does not open
api PATCH "$KMS_URL/v1/$RING/cryptoKeys/moving/cryptoKeyVersions/1?updateMask=externalProtectionLevelOptions" \
    "{\"externalProtectionLevelOptions\":{\"externalKeyUri\":\"$URI\"}}"
expect_status 200
decrypt "$RING/cryptoKeys/moving" "$MCT"
expect_error_json 400 INVALID_ARGUMENT
expect_json '.error.details[0].violations[1].type' DECRYPTION_FAILED
api PATCH "$KMS_URL/v1/$RING/cryptoKeys/moving/cryptoKeyVersions/1?updateMask=externalProtectionLevelOptions.externalKeyUri" \
    "{\"externalProtectionLevelOptions\":{\"externalKeyUri\":\"$MOVED_TO\"}}"
expect_status 200
# the reference and the state in one call: both change, or neither
api PATCH "$KMS_URL/v1/$RING/cryptoKeys/moving/cryptoKeyVersions/1?updateMask=externalProtectionLevelOptions.externalKeyUri,state" \
    '{"state":"DISABLED","externalProtectionLevelOptions":{"externalKeyUri":"ftp://ekm.example.com/k"}}'
expect_error_json 400 FAILED_PRECONDITION
api GET "$KMS_URL/v1/$RING/cryptoKeys/moving/cryptoKeyVersions/1"
expect_json '[.state, .externalProtectionLevelOptions.externalKeyUri] | join(" ")' "ENABLED $MOVED_TO"
api PATCH "$KMS_URL/v1/$RING/cryptoKeys/moving/cryptoKeyVersions/1?updateMask=externalProtectionLevelOptions.externalKeyUri,state" \
    "{\"state\":\"DISABLED\",\"externalProtectionLevelOptions\":{\"externalKeyUri\":\"$URI\"}}"
expect_status 200
expect_json '[.state, .externalProtectionLevelOptions.externalKeyUri] | join(" ")' "DISABLED $URI"
api PATCH "$KMS_URL/v1/$RING/cryptoKeys/moving/cryptoKeyVersions/1?updateMask=externalProtectionLevelOptions.externalKeyUri,state" \
    "{\"state\":\"ENABLED\",\"externalProtectionLevelOptions\":{\"externalKeyUri\":\"$MOVED_TO\"}}"
expect_json '[.state, .externalProtectionLevelOptions.externalKeyUri] | join(" ")' "ENABLED $MOVED_TO"

section "a restart keeps the keys and the EKM's states"
stop_stack
start_persistent
decrypt "$KEY" "$CT"
expect_status 200
expect_json .plaintext "$HELLO"
decrypt "$RING/cryptoKeys/moving" "$MCT"
expect_status 200 # the moved key and the updated reference
decrypt "$RING/cryptoKeys/shred" "$SCT"
expect_ekm_error EXTERNAL_NOT_FOUND
api GET "$EKM"
expect_json '.keys[] | select(.uri == "https://ekm.example.com/v0/keys/shred") | .state' DESTROYED
if grep -rqa "hello, ekm" "$DATA" 2>/dev/null; then
    _fail "a plaintext is in the data directory"
else
    _pass "no plaintext in the data directory"
fi

if [[ $HAVE_GCLOUD == 1 ]]; then
    section "gcloud: an external key, its version and its use"
    out=$(gcloud kms keys create gcloud-ext --keyring=ekm --location=us-east1 --purpose=encryption \
        --protection-level=external --default-algorithm=external-symmetric-encryption \
        --skip-initial-version-creation --format=json 2>&1)
    expect_eq "EXTERNAL EXTERNAL_SYMMETRIC_ENCRYPTION" \
        "$(jq -r '.[0] | "\(.versionTemplate.protectionLevel) \(.versionTemplate.algorithm)"' <<<"$out")" \
        "keys create --protection-level=external"
    out=$(gcloud kms keys versions create --key=gcloud-ext --keyring=ekm --location=us-east1 \
        --external-key-uri=https://ekm.example.com/v0/keys/gcloud --primary --format=json 2>&1)
    expect_eq "https://ekm.example.com/v0/keys/gcloud" \
        "$(jq -r .externalProtectionLevelOptions.externalKeyUri <<<"$out" 2>/dev/null)" \
        "keys versions create --external-key-uri: $out"
    printf 'secret' >plain.txt
    gcloud kms encrypt --key=gcloud-ext --keyring=ekm --location=us-east1 \
        --plaintext-file=plain.txt --ciphertext-file=ct.bin 2>/dev/null
    gcloud kms decrypt --key=gcloud-ext --keyring=ekm --location=us-east1 \
        --ciphertext-file=ct.bin --plaintext-file=out.txt 2>/dev/null
    expect_eq secret "$(cat out.txt 2>/dev/null)" "gcloud kms encrypt and decrypt"
    ekm disable https://ekm.example.com/v0/keys/gcloud
    out=$(gcloud kms decrypt --key=gcloud-ext --keyring=ekm --location=us-east1 \
        --ciphertext-file=ct.bin --plaintext-file=out2.txt 2>&1)
    expect_contains "$out" "Permission was denied when accessing the key" "gcloud shows Cloud EKM's error"
    expect_eq DISABLED "$(gcloud kms keys versions describe 1 --key=gcloud-ext --keyring=ekm \
        --location=us-east1 --format='value(state)')" "gcloud sees the version disabled"
    out=$(gcloud kms keys versions create --key=gcloud-ext --keyring=ekm --location=us-east1 \
        --external-key-uri=not-a-uri 2>&1)
    expect_contains "$out" "Key URI has invalid format" "gcloud: a bad URI"
    # the team moves the key in its EKM and points the version at it, enabling it again
    ekm enable https://ekm.example.com/v0/keys/gcloud
    api POST "$EKM:move" \
        '{"uri":"https://ekm.example.com/v0/keys/gcloud","newUri":"https://ekm.example.com/v1/keys/gcloud"}'
    expect_status 200
    out=$(gcloud kms keys versions update 1 --key=gcloud-ext --keyring=ekm --location=us-east1 \
        --external-key-uri=https://ekm.example.com/v1/keys/gcloud --state=enabled \
        --format='value(state,externalProtectionLevelOptions.externalKeyUri)' 2>&1)
    expect_eq "ENABLED	https://ekm.example.com/v1/keys/gcloud" "$out" \
        "keys versions update --external-key-uri --state=enabled"
    gcloud kms decrypt --key=gcloud-ext --keyring=ekm --location=us-east1 \
        --ciphertext-file=ct.bin --plaintext-file=out3.txt 2>/dev/null
    expect_eq secret "$(cat out3.txt 2>/dev/null)" "gcloud decrypts through the moved key"
    out=$(gcloud kms keys versions update 1 --key=gcloud-ext --keyring=ekm --location=us-east1 \
        --ekm-connection-key-path=v0/x 2>&1)
    expect_contains "$out" "only available for key versions with EXTERNAL_VPC protection level" \
        "gcloud refuses a key path for an EXTERNAL version"

    section "gcloud: an EXTERNAL_VPC key through the connection"
    out=$(gcloud kms keys create gcloud-vpc --keyring=ekm --location=us-east1 --purpose=encryption \
        --protection-level=external-vpc --default-algorithm=external-symmetric-encryption \
        --crypto-key-backend="$CONN" --skip-initial-version-creation --format=json 2>&1)
    expect_eq "$CONN" "$(jq -r '.[0].cryptoKeyBackend' <<<"$out" 2>/dev/null)" "keys create --crypto-key-backend"
    out=$(gcloud kms keys versions create --key=gcloud-vpc --keyring=ekm --location=us-east1 \
        --ekm-connection-key-path=v0/keys/gcloud-vpc --primary --format=json 2>&1)
    expect_eq "v0/keys/gcloud-vpc" \
        "$(jq -r .externalProtectionLevelOptions.ekmConnectionKeyPath <<<"$out" 2>/dev/null)" \
        "keys versions create --ekm-connection-key-path: $out"
    gcloud kms encrypt --key=gcloud-vpc --keyring=ekm --location=us-east1 \
        --plaintext-file=plain.txt --ciphertext-file=vct.bin 2>/dev/null
    gcloud kms decrypt --key=gcloud-vpc --keyring=ekm --location=us-east1 \
        --ciphertext-file=vct.bin --plaintext-file=vout.txt 2>/dev/null
    expect_eq secret "$(cat vout.txt 2>/dev/null)" "gcloud encrypt and decrypt over the connection"

    section "gcloud: a coordinated external key"
    gcloud kms ekm-connections create gcloud-coordinated --location=us-east1 \
        --hostname=ekm.internal.example --server-certificates-files=ekm.pem \
        --service-directory-service="$SD" --key-management-mode=cloud-kms \
        --crypto-space-path=v0/cryptospaces/gcloud >/dev/null 2>&1
    expect_eq CLOUD_KMS "$(gcloud kms ekm-connections describe gcloud-coordinated \
        --location=us-east1 --format='value(keyManagementMode)')" "ekm-connections create --key-management-mode"
    out=$(gcloud kms keys create gcloud-coordinated --keyring=ekm --location=us-east1 \
        --purpose=encryption --protection-level=external-vpc \
        --default-algorithm=external-symmetric-encryption \
        --crypto-key-backend="$LOC/ekmConnections/gcloud-coordinated" --format=json 2>&1)
    expect_contains "$(jq -r '.[0].primary.externalProtectionLevelOptions.ekmConnectionKeyPath' <<<"$out" 2>/dev/null)" \
        "v0/cryptospaces/gcloud/keys/" "keys create without --skip-initial-version-creation: $out"
    out=$(gcloud kms keys versions create --key=gcloud-coordinated --keyring=ekm \
        --location=us-east1 --format='value(state)' 2>&1)
    expect_eq ENABLED "$out" "keys versions create (Cloud KMS makes the EKM key)"
fi

stop_stack
finish
