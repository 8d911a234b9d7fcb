/*
 * fuzz_kms_request: libFuzzer target for the KMS request path: routing, query and body
 * parsing, schema checks, handlers and error rendering, through em_dispatch() with a real
 * KMS service on a temporary data directory (no sockets; see fuzz_service.h).
 *
 * A key ring, keys of each purpose and an import job exist so that inputs reach the
 * cryptographic handlers and the unwrapping of imported material; folder 42, above every
 * project (a stand-in for Resource Manager: the target makes no network call), has an
 * Autokey configuration, so key handles provision keys.
 */
#include "fuzz_service.h"
#include "kms/kms_handlers.h"
#include "kms/kms_service.h"

#define RING "/v1/projects/fuzz-project/locations/global/keyRings/ring"

static enum em_code fuzz_ancestry(const char *project, cJSON **ancestry, struct em_status *st)
{
    (void)project;
    (void)st;
    *ancestry =
        cJSON_Parse("{\"ancestor\": [{\"resourceId\": {\"type\": \"folder\", \"id\": \"42\"}}]}");
    return EM_OK;
}

static void configure(struct em_service *svc)
{
    (void)svc;
    kms_ancestry_hook = fuzz_ancestry;
}

static void create_fixtures(void)
{
    static const char *const keys[][2] = {
        {"sym", "{\"purpose\":\"ENCRYPT_DECRYPT\"}"},
        {"sig", "{\"purpose\":\"ASYMMETRIC_SIGN\",\"versionTemplate\":{\"algorithm\":"
                "\"EC_SIGN_P256_SHA256\"}}"},
        {"mac", "{\"purpose\":\"MAC\",\"versionTemplate\":{\"algorithm\":\"HMAC_SHA256\"}}"},
        {"rawgcm", "{\"purpose\":\"RAW_ENCRYPT_DECRYPT\",\"versionTemplate\":{\"algorithm\":"
                   "\"AES_256_GCM\"}}"},
        {"rawcbc", "{\"purpose\":\"RAW_ENCRYPT_DECRYPT\",\"versionTemplate\":{\"algorithm\":"
                   "\"AES_128_CBC\"}}"},
    };
    fuzz_service_call("POST", "/v1/projects/fuzz-project/locations/global/keyRings", "keyRingId",
                      "ring", "{}");
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        fuzz_service_call("POST", RING "/cryptoKeys", "cryptoKeyId", keys[i][0], keys[i][1]);
    fuzz_service_call("PATCH", "/v1/folders/42/autokeyConfig", "updateMask", "keyProject",
                      "{\"keyProject\":\"projects/fuzz-keys\"}");
    fuzz_service_call(
        "POST", RING "/importJobs", "importJobId", "job",
        "{\"importMethod\":\"RSA_OAEP_3072_SHA256\",\"protectionLevel\":\"SOFTWARE\"}");
}

FUZZ_SERVICE_TARGET(kms_service, configure, create_fixtures)
