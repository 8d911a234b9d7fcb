/*
 * fuzz_kms_request: libFuzzer target for the KMS request path: routing, query and body
 * parsing, schema checks, handlers and error rendering, through em_dispatch() with a real
 * KMS service on a temporary data directory (no sockets).
 *
 * Input: "METHOD PATH[?QUERY]\n" followed by the body. A key ring and keys of each purpose
 * exist so that inputs reach the cryptographic handlers. State is reset every 500 inputs
 * so memory stays bounded.
 */
#include "em_call.h"
#include "em_log.h"
#include "em_service.h"
#include "kms/kms_service.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct em_service *svc;
static unsigned runs;
static char data_dir[PATH_MAX];

static void cleanup(void)
{
    em_service_close(svc);
    em_remove_tree(data_dir);
}

#define RING "/v1/projects/fuzz-project/locations/global/keyRings/ring"

/* POSTs body to path with one query argument. */
static void post(const char *path, const char *key, const char *value, const char *body)
{
    struct em_call c = {0};
    c.method = "POST";
    c.path = path;
    c.query[0].key = key;
    c.query[0].value = value;
    c.query_count = 1;
    c.body_text = body;
    c.body_len = strlen(body);
    c.svc = svc;
    em_dispatch(svc->router, &c);
    em_call_reset(&c);
}

static void create_fixtures(void)
{
    post("/v1/projects/fuzz-project/locations/global/keyRings", "keyRingId", "ring", "{}");
    static const char *const keys[][2] = {
        {"sym", "{\"purpose\":\"ENCRYPT_DECRYPT\"}"},
        {"sig", "{\"purpose\":\"ASYMMETRIC_SIGN\",\"versionTemplate\":{\"algorithm\":"
                "\"EC_SIGN_P256_SHA256\"}}"},
        {"mac", "{\"purpose\":\"MAC\",\"versionTemplate\":{\"algorithm\":\"HMAC_SHA256\"}}"},
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        post(RING "/cryptoKeys", "cryptoKeyId", keys[i][0], keys[i][1]);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    struct em_config cfg;
    struct em_status st = {0};
    bool help;
    char *args[] = {"fuzz", NULL};
    em_log_init("fuzz", EM_LOG_ERROR);
    if (em_config_load(&cfg, 1, args, &help, &st) ||
        em_make_temp_dir(cfg.data_dir, sizeof(cfg.data_dir), &st) ||
        em_service_open(&kms_service, &cfg, &svc, &st))
        abort();
    snprintf(data_dir, sizeof(data_dir), "%s", cfg.data_dir);
    atexit(cleanup);
    create_fixtures();
    return 0;
}

/* Splits "a=b&c=d" in place into the call's query arguments. */
static void split_query(char *query, struct em_call *call)
{
    for (char *save = NULL, *pair = strtok_r(query, "&", &save);
         pair && call->query_count < EM_MAX_QUERY; pair = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(pair, '=');
        if (eq)
            *eq++ = '\0';
        call->query[call->query_count].key = pair;
        call->query[call->query_count].value = eq ? eq : "";
        call->query_count++;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *newline = strchr(text, '\n');
    char *body = newline ? newline + 1 : NULL;
    if (newline)
        *newline = '\0';
    char *space = strchr(text, ' ');
    if (space) {
        *space = '\0';
        struct em_call call = {0};
        call.method = text;
        call.path = space + 1;
        char *question = strchr(space + 1, '?');
        if (question) {
            *question = '\0';
            split_query(question + 1, &call);
        }
        call.body_text = body;
        call.body_len = body ? size - (size_t)(body - text) : 0;
        call.svc = svc;
        em_dispatch(svc->router, &call);
        em_call_reset(&call);
    }
    free(text);
    if (++runs % 500 == 0) {
        struct em_status st = {0};
        svc->def->reset(svc, &st);
        create_fixtures();
    }
    return 0;
}
