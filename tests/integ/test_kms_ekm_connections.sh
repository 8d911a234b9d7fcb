#!/usr/bin/env bash
# test_kms_ekm_connections: Cloud EKM over VPC's connections and configuration end to end,
# as an administrator sets them up, through REST and the real gcloud CLI.
#
# The EKM's server certificates are made here with `openssl req -x509`. An EkmConnection
# is created (one service resolver: a Service Directory service, a hostname, the
# certificates, which the server parses), read, listed, updated (hostname, certificates,
# key management mode, etag), verified (VerifyConnectivity: fine, then FAILED_PRECONDITION
# while the EKM is unreachable and once its certificate has expired), and made the
# location's default in its EkmConfig. Refusals name the field and the rule; everything
# is kept across a restart; under --iam enforce a grant on the project reaches both; the
# gcp.resourceLocations organization policy applies to new connections.
# gcloud has no verify-connectivity command (SDK 528): that one is curl only.
source "$(dirname "$0")/lib.sh"

DATA="$TEST_TMP/data"
mkdir -p "$DATA"
start_persistent
setup_gcloud ekm-project
cd "$TEST_TMP" || exit 1
LOC=projects/ekm-project/locations/us-central1
CONNS="$KMS_URL/v1/$LOC/ekmConnections"
SDS=projects/vpc-project/locations/us-central1/namespaces/ekm/services/replica

advance() { api POST "$CONTROL_URL/emulator/v1/clock:advance" "{\"seconds\": $1}"; expect_status 200; }
faults() { api POST "$CONTROL_URL/emulator/v1/faults" "{\"ekmUnreachable\": $1}"; expect_status 200; }

# cert NAME HOST DAYS: NAME.pem (and NAME.der), a self-signed certificate for HOST.
cert() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
        -out "$1.pem" -days "$3" -subj "/CN=$2/O=Example EKM" -addext "subjectAltName=DNS:$2" \
        >/dev/null 2>&1
    openssl x509 -in "$1.pem" -outform DER -out "$1.der"
}
cert ekm1 ekm.example.com 365
cert ekm2 ekm2.example.com 365
cert brief ekm.example.com 1
DER1=$(base64 -w0 ekm1.der)
DER2=$(base64 -w0 ekm2.der)
FINGERPRINT1=$(openssl x509 -in ekm1.pem -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : |
    tr 'A-F' 'a-f')
SERIAL1=$(openssl x509 -in ekm1.pem -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')

# first: the resource of a gcloud JSON output (create answers a list of one).
first() { jq -c 'if type == "array" then .[0] else . end' 2>/dev/null; }

# connection_body HOST CERTS_JSON [EXTRA]: an EkmConnection with one service resolver.
connection_body() {
    printf '{"serviceResolvers":[{"serviceDirectoryService":"%s","hostname":"%s","serverCertificates":[%s]}]%s}' \
        "$SDS" "$1" "$2" "${3:-}"
}

section "create an EkmConnection: the server parses its certificates"
api POST "$CONNS?ekmConnectionId=vpc-ekm" "$(connection_body ekm.example.com "{\"rawDer\":\"$DER1\"}")"
expect_status 200
expect_json .name "$LOC/ekmConnections/vpc-ekm"
expect_json .keyManagementMode MANUAL
expect_json '.serviceResolvers[0].hostname' ekm.example.com
expect_json '.serviceResolvers[0].serverCertificates[0].parsed' true
expect_json '.serviceResolvers[0].serverCertificates[0].subject' "O=Example EKM,CN=ekm.example.com"
expect_json '.serviceResolvers[0].serverCertificates[0].subjectAlternativeDnsNames[0]' ekm.example.com
expect_json '.serviceResolvers[0].serverCertificates[0].sha256Fingerprint' "$FINGERPRINT1"
expect_json '.serviceResolvers[0].serverCertificates[0].serialNumber' "$SERIAL1"
expect_json '.serviceResolvers[0].serverCertificates[0].notAfterTime | test("Z$")' true
ETAG=$(jq -r .etag <<<"$BODY")
api GET "$CONNS/vpc-ekm"
expect_json .etag "$ETAG"
expect_json '.serviceResolvers[0].serverCertificates[0].rawDer' "$DER1"
api GET "$CONNS"
expect_json '.ekmConnections | length' 1
expect_json .totalSize 1

section "refusals name the field and the rule"
api POST "$CONNS?ekmConnectionId=vpc-ekm" "$(connection_body ekm.example.com "{\"rawDer\":\"$DER1\"}")"
expect_error_json 409 ALREADY_EXISTS
api POST "$CONNS?ekmConnectionId=bad.id" "$(connection_body ekm.example.com "{\"rawDer\":\"$DER1\"}")"
expect_error_json 400 INVALID_ARGUMENT
api POST "$CONNS?ekmConnectionId=x" "$(connection_body ekm.example.com '{"rawDer":"aGVsbG8="}')"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "raw_der is not an X.509 certificate" "a DER that does not parse"
api POST "$CONNS?ekmConnectionId=x" "$(connection_body 'not a host' "{\"rawDer\":\"$DER1\"}")"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "hostname" "a hostname that is not a DNS name"
api POST "$CONNS?ekmConnectionId=x" "$(connection_body ekm.example.com "{\"rawDer\":\"$DER1\"}" \
    ',"keyManagementMode":"CLOUD_KMS"')"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "crypto_space_path is required" "CLOUD_KMS needs a crypto space path"
api POST "$CONNS?ekmConnectionId=x" '{"serviceResolvers":[{"serviceDirectoryService":"projects/vpc-project/locations/us-east1/namespaces/ekm/services/replica","hostname":"ekm.example.com","serverCertificates":[{"rawDer":"'"$DER1"'"}]}]}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "location of the EkmConnection" "the Service Directory service's location"
api POST "$KMS_URL/v1/projects/ekm-project/locations/global/ekmConnections?ekmConnectionId=x" \
    "$(connection_body ekm.example.com "{\"rawDer\":\"$DER1\"}")"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "regional locations only" "no EKM over VPC in global"
api POST "$CONNS?ekmConnectionId=x" '{"serviceResolvers":"many"}'
expect_error_json 400 INVALID_ARGUMENT
api GET "$CONNS/missing"
expect_error_json 404 NOT_FOUND
expect_contains "$BODY" "EkmConnection $LOC/ekmConnections/missing not found." "NOT_FOUND in Google's words"

section "update: a new hostname and certificates, the etag"
api PATCH "$CONNS/vpc-ekm" '{}'
expect_error_json 400 INVALID_ARGUMENT
api PATCH "$CONNS/vpc-ekm?updateMask=serviceResolvers" \
    "$(connection_body ekm2.example.com "{\"rawDer\":\"$DER1\"},{\"rawDer\":\"$DER2\"}" ",\"etag\":\"$ETAG\"")"
expect_status 200
expect_json '.serviceResolvers[0].hostname' ekm2.example.com
expect_json '.serviceResolvers[0].serverCertificates | length' 2
expect_json '.etag != "'"$ETAG"'"' true
api PATCH "$CONNS/vpc-ekm?updateMask=serviceResolvers" \
    "$(connection_body ekm.example.com "{\"rawDer\":\"$DER1\"}" ",\"etag\":\"$ETAG\"")"
expect_error_json 409 ABORTED
expect_contains "$BODY" "etag" "a stale etag"

section "verifyConnectivity: the EKM reachable, then not"
api GET "$CONNS/vpc-ekm:verifyConnectivity"
expect_status 200
expect_eq "{}" "$(jq -c . <<<"$BODY")" "an empty VerifyConnectivityResponse"
faults true
api GET "$CONNS/vpc-ekm:verifyConnectivity"
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "Could not reach the EKM host due to an external networking error" \
    "Cloud EKM's words for an unreachable EKM"
expect_json '.error.details[0].violations[1].type' UNREACHABLE_NETWORK
faults false
api GET "$CONNS/vpc-ekm:verifyConnectivity"
expect_status 200
api GET "$CONNS/missing:verifyConnectivity"
expect_error_json 404 NOT_FOUND

section "verifyConnectivity: a certificate that expires"
api POST "$CONNS?ekmConnectionId=brief" \
    "$(connection_body ekm.example.com "{\"rawDer\":\"$(base64 -w0 brief.der)\"}")"
expect_status 200
api GET "$CONNS/brief:verifyConnectivity"
expect_status 200
advance 172800 # two days: the one-day certificate has expired
api GET "$CONNS/brief:verifyConnectivity"
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "Could not validate the TLS server certificate" "an expired certificate"
expect_json '.error.details[0].violations[1].type' TLS_CERT

section "the EkmConfig of the location: its default connection"
api GET "$KMS_URL/v1/$LOC/ekmConfig"
expect_status 200
expect_eq "{\"name\":\"$LOC/ekmConfig\"}" "$(jq -c . <<<"$BODY")" "no default connection yet"
api PATCH "$KMS_URL/v1/$LOC/ekmConfig?updateMask=defaultEkmConnection" \
    "{\"defaultEkmConnection\":\"$LOC/ekmConnections/missing\"}"
expect_error_json 404 NOT_FOUND
api PATCH "$KMS_URL/v1/$LOC/ekmConfig?updateMask=defaultEkmConnection" \
    '{"defaultEkmConnection":"projects/ekm-project/locations/us-east1/ekmConnections/vpc-ekm"}'
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "same project and location" "a connection of another location"
api PATCH "$KMS_URL/v1/$LOC/ekmConfig?updateMask=defaultEkmConnection" \
    "{\"defaultEkmConnection\":\"$LOC/ekmConnections/vpc-ekm\"}"
expect_status 200
expect_json .defaultEkmConnection "$LOC/ekmConnections/vpc-ekm"

section "IAM on connections and configurations"
api POST "$CONNS/vpc-ekm:setIamPolicy" \
    '{"policy":{"bindings":[{"role":"roles/cloudkms.viewer","members":["user:ana@example.com"]}]}}'
expect_status 200
api GET "$CONNS/vpc-ekm:getIamPolicy"
expect_json '.bindings[0].members[0]' user:ana@example.com
api GET "$CONNS/missing:getIamPolicy"
expect_error_json 404 NOT_FOUND
api GET "$KMS_URL/v1/$LOC/ekmConfig:getIamPolicy"
expect_status 200

if [[ $HAVE_GCLOUD == 1 ]]; then
    section "gcloud: ekm-connections create, describe, list, update"
    out=$(gcloud kms ekm-connections create laplace --location=us-central1 \
        --service-directory-service="$SDS" --hostname=ekm.example.com \
        --endpoint-filter='metadata.zone=a' --server-certificates-files=ekm1.pem --format=json \
        2>gcloud.err | first)
    expect_eq "$LOC/ekmConnections/laplace true MANUAL" \
        "$(jq -r '"\(.name) \(.serviceResolvers[0].serverCertificates[0].parsed) \(.keyManagementMode)"' <<<"$out")" \
        "ekm-connections create (PEM read by gcloud, parsed by the server): $(cat gcloud.err)"
    expect_eq "ekm.example.com metadata.zone=a" \
        "$(gcloud kms ekm-connections describe laplace --location=us-central1 \
            --format='value(serviceResolvers[0].hostname,serviceResolvers[0].endpointFilter)' | tr '\t' ' ')" \
        "ekm-connections describe"
    expect_eq "brief laplace vpc-ekm" \
        "$(gcloud kms ekm-connections list --location=us-central1 --format='value(name.basename())' | sort | tr '\n' ' ' | sed 's/ $//')" \
        "ekm-connections list"
    out=$(gcloud kms ekm-connections update laplace --location=us-central1 \
        --hostname=ekm2.example.com --server-certificates-files=ekm1.pem,ekm2.der --format=json \
        2>gcloud.err | first)
    expect_eq "ekm2.example.com 2" \
        "$(jq -r '"\(.serviceResolvers[0].hostname) \(.serviceResolvers[0].serverCertificates | length)"' <<<"$out")" \
        "ekm-connections update --hostname --server-certificates-files (PEM and DER): $(cat gcloud.err)"
    out=$(gcloud kms ekm-connections update laplace --location=us-central1 \
        --key-management-mode=cloud-kms --crypto-space-path=v0/cryptospaces/laplace --format=json \
        2>gcloud.err | first)
    expect_eq "CLOUD_KMS v0/cryptospaces/laplace" \
        "$(jq -r '"\(.keyManagementMode) \(.cryptoSpacePath)"' <<<"$out")" \
        "ekm-connections update --key-management-mode=cloud-kms: $(cat gcloud.err)"
    printf 'not a certificate' >garbage.der
    out=$(gcloud kms ekm-connections create bad --location=us-central1 \
        --service-directory-service="$SDS" --hostname=ekm.example.com \
        --server-certificates-files=garbage.der 2>&1)
    expect_contains "$out" "raw_der is not an X.509 certificate" "gcloud shows the server's refusal"
    out=$(gcloud kms ekm-connections create bad --location=us-central1 \
        --service-directory-service=foo --hostname=ekm.example.com \
        --server-certificates-files=ekm1.pem 2>&1)
    expect_contains "$out" "INVALID_ARGUMENT" "a Service Directory service that is not a name"
    out=$(gcloud kms ekm-connections create laplace --location=us-central1 \
        --service-directory-service="$SDS" --hostname=ekm.example.com \
        --server-certificates-files=ekm1.pem 2>&1)
    expect_contains "$out" "ALREADY_EXISTS" "a connection ID is used once"

    section "gcloud: ekm-config describe, update"
    expect_eq "$LOC/ekmConnections/vpc-ekm" \
        "$(gcloud kms ekm-config describe --location=us-central1 --format='value(defaultEkmConnection)')" \
        "ekm-config describe"
    out=$(gcloud kms ekm-config update --location=us-central1 \
        --default-ekm-connection="$LOC/ekmConnections/laplace" --format=json 2>gcloud.err | first)
    expect_eq "$LOC/ekmConnections/laplace" "$(jq -r .defaultEkmConnection <<<"$out")" \
        "ekm-config update --default-ekm-connection: $(cat gcloud.err)"
    out=$(gcloud kms ekm-config update --location=us-central1 --default-ekm-connection=laplace 2>&1)
    expect_contains "$out" "Invalid ekm_config.default_ekm_connection" "a bare connection ID is no name"
    gcloud kms ekm-config update --location=us-central1 --default-ekm-connection="" >/dev/null 2>&1
    expect_eq 0 $? "ekm-config update --default-ekm-connection='' removes the default"
    expect_eq "" "$(gcloud kms ekm-config describe --location=us-central1 --format='value(defaultEkmConnection)')" \
        "no default any more"
    gcloud kms ekm-config update --location=us-central1 \
        --default-ekm-connection="$LOC/ekmConnections/vpc-ekm" >/dev/null 2>&1

    section "gcloud: IAM bindings on a connection and a configuration"
    out=$(gcloud kms ekm-connections add-iam-policy-binding laplace --location=us-central1 \
        --member=user:bea@example.com --role=roles/cloudkms.viewer 2>&1)
    expect_eq 0 $? "ekm-connections add-iam-policy-binding: $out"
    expect_contains "$(gcloud kms ekm-connections get-iam-policy laplace --location=us-central1 --format=json)" \
        "user:bea@example.com" "ekm-connections get-iam-policy"
    out=$(gcloud kms ekm-config add-iam-policy-binding --location=us-central1 \
        --member=user:bea@example.com --role=roles/cloudkms.ekmConnectionsAdmin 2>&1)
    expect_eq 0 $? "ekm-config add-iam-policy-binding: $out"
    expect_contains "$(gcloud kms ekm-config get-iam-policy --location=us-central1 --format=json)" \
        "roles/cloudkms.ekmConnectionsAdmin" "ekm-config get-iam-policy"
fi

section "kept across a restart"
stop_stack
start_persistent
api GET "$CONNS/vpc-ekm"
expect_status 200
expect_json '.serviceResolvers[0].hostname' ekm2.example.com
expect_json '.serviceResolvers[0].serverCertificates[1].parsed' true
api GET "$KMS_URL/v1/$LOC/ekmConfig"
expect_json .defaultEkmConnection "$LOC/ekmConnections/vpc-ekm"

section "--iam enforce: a grant on the project reaches connections and the configuration"
stop_stack
start_stack --iam enforce
CONNS="$KMS_URL/v1/$LOC/ekmConnections"
OWNER=user:developer@example.com
API_PRINCIPAL=$OWNER api POST "$CONNS?ekmConnectionId=guarded" \
    "$(connection_body ekm.example.com "{\"rawDer\":\"$DER1\"}")"
expect_status 200
API_PRINCIPAL=user:carl@example.com api GET "$KMS_URL/v1/$LOC/ekmConfig"
expect_error_json 403 PERMISSION_DENIED
expect_contains "$BODY" "cloudkms.ekmConfigs.get" "the refusal names the permission"
API_PRINCIPAL=user:carl@example.com api GET "$CONNS/guarded:verifyConnectivity"
expect_error_json 403 PERMISSION_DENIED
expect_contains "$BODY" "cloudkms.ekmConnections.verifyConnectivity" "the refusal names the permission"
API_PRINCIPAL=$OWNER api POST "$CONTROL_URL/v1/projects/ekm-project:setIamPolicy" \
    '{"policy":{"bindings":[{"role":"roles/cloudkms.ekmConnectionsAdmin","members":["user:carl@example.com"]}]}}'
expect_status 200
API_PRINCIPAL=user:carl@example.com api GET "$KMS_URL/v1/$LOC/ekmConfig"
expect_status 200
API_PRINCIPAL=user:carl@example.com api PATCH "$KMS_URL/v1/$LOC/ekmConfig?updateMask=defaultEkmConnection" \
    "{\"defaultEkmConnection\":\"$LOC/ekmConnections/guarded\"}"
expect_status 200
API_PRINCIPAL=user:carl@example.com api GET "$CONNS/guarded:verifyConnectivity"
expect_status 200
API_PRINCIPAL=user:carl@example.com api POST "$CONNS/guarded:setIamPolicy" '{"policy":{}}'
expect_error_json 403 PERMISSION_DENIED # the role manages connections, not their policies
API_PRINCIPAL=user:carl@example.com api POST "$KMS_URL/v1/$LOC/ekmConfig:testIamPermissions" \
    '{"permissions":["cloudkms.ekmConfigs.get","cloudkms.ekmConfigs.setIamPolicy"]}'
expect_json '.permissions | join(",")' cloudkms.ekmConfigs.get
# a key made with a connection uses it: cloudkms.ekmConnections.use on the connection
API_PRINCIPAL=$OWNER api POST "$KMS_URL/v1/$LOC/keyRings?keyRingId=vpc" '{}'
expect_status 200
API_PRINCIPAL=$OWNER api POST "$KMS_URL/v1/$LOC/keyRings/vpc:setIamPolicy" \
    '{"policy":{"bindings":[{"role":"roles/cloudkms.admin","members":["user:dana@example.com"]}]}}'
expect_status 200
VPC_KEY='{"purpose":"ENCRYPT_DECRYPT","cryptoKeyBackend":"'$LOC'/ekmConnections/guarded","versionTemplate":{"algorithm":"EXTERNAL_SYMMETRIC_ENCRYPTION","protectionLevel":"EXTERNAL_VPC"}}'
API_PRINCIPAL=user:dana@example.com api POST \
    "$KMS_URL/v1/$LOC/keyRings/vpc/cryptoKeys?cryptoKeyId=k&skipInitialVersionCreation=true" "$VPC_KEY"
expect_error_json 403 PERMISSION_DENIED
expect_contains "$BODY" "cloudkms.ekmConnections.use" "the refusal names the permission"
# another project's connection is refused before it is looked up: nothing tells whether
# it exists
for other in secret missing; do
    API_PRINCIPAL=user:dana@example.com api POST \
        "$KMS_URL/v1/$LOC/keyRings/vpc/cryptoKeys?cryptoKeyId=k&skipInitialVersionCreation=true" \
        "${VPC_KEY/ekm-project\/locations\/us-central1\/ekmConnections\/guarded/victim-project/locations/us-central1/ekmConnections/$other}"
    expect_error_json 400 INVALID_ARGUMENT
done
API_PRINCIPAL=$OWNER api POST "$CONNS/guarded:setIamPolicy" \
    '{"policy":{"bindings":[{"role":"roles/cloudkms.admin","members":["user:dana@example.com"]}]}}'
expect_status 200
API_PRINCIPAL=user:dana@example.com api POST \
    "$KMS_URL/v1/$LOC/keyRings/vpc/cryptoKeys?cryptoKeyId=k&skipInitialVersionCreation=true" "$VPC_KEY"
expect_status 200

section "gcp.resourceLocations: no new connection where the organization policy forbids it"
API_PRINCIPAL=$OWNER api POST "$CONTROL_URL/v2/projects/ekm-project/policies" \
    '{"name":"projects/ekm-project/policies/gcp.resourceLocations","spec":{"rules":[{"values":{"allowedValues":["us-east1"]}}]}}'
expect_status 200
API_PRINCIPAL=$OWNER api POST "$CONNS?ekmConnectionId=forbidden" \
    "$(connection_body ekm.example.com "{\"rawDer\":\"$DER1\"}")"
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "attempting to create an EKM connection in [us-central1]" \
    "Google's violation message"

finish
