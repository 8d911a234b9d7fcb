/*
 * unit_kms: an in-process KMS for the unit tests of what calls KMS (the CMEK engine, the
 * KMS client, data stores): a test configuration in a fresh data directory, KMS opened
 * and listening on a free loopback port, REST calls dispatched to it in process as the
 * projects' owner, and a key ring with one key.
 *
 *   struct em_config cfg; char dir[PATH_MAX]; struct em_service *kms;
 *   unit_config_init(&cfg, dir, sizeof(dir));
 *   unit_kms_start(&cfg, 12240, &kms);           port bases from 12240 up
 *   unit_kms_create_key(kms, RING, "key");        RING: projects/p/locations/l/keyRings/r
 *   unit_kms_call(kms, "PATCH", path, "updateMask", "state", "{\"state\":\"DISABLED\"}");
 *
 * Each test file passes its own first port base, so unit tests that run at the same time
 * rarely try the same ports.
 */
#ifndef UNIT_KMS_H
#define UNIT_KMS_H

#include "em_call.h"
#include "em_config.h"
#include "em_http.h"
#include "em_kms_client.h"
#include "em_service.h"
#include "kms/kms_service.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Default options (as a process with no arguments) and a fresh temporary data directory. */
static inline int unit_config_init(struct em_config *cfg, char *dir, size_t dir_len)
{
    struct em_status st = {0};
    bool help;
    char *args[] = {"test", NULL};
    if (em_config_load(cfg, 1, args, &help, &st) || em_make_temp_dir(dir, dir_len, &st))
        return -1;
    snprintf(cfg->data_dir, sizeof(cfg->data_dir), "%s", dir);
    return 0;
}

/* KMS opened in process (no port) on cfg's data directory: for calls through unit_kms_call
 * or em_dispatch. */
static inline int unit_kms_open(const struct em_config *cfg, struct em_service **kms)
{
    struct em_status st = {0};
    return em_service_open(&kms_service, cfg, kms, &st) == EM_OK ? 0 : -1;
}

/* A KMS REST call as the owner of every project, dispatched in process; the HTTP status,
 * and the reply's JSON into *reply (when reply is not NULL; the caller's to delete). */
static inline int unit_kms_call_json(struct em_service *kms, const char *method, const char *path,
                                     const char *query_key, const char *query_value,
                                     const char *body, cJSON **reply)
{
    struct em_call call = {0};
    call.method = method;
    call.path = path;
    call.body_text = body;
    call.body_len = body ? strlen(body) : 0;
    call.svc = kms;
    call.authorization = "Bearer user:developer@example.com";
    if (query_key) {
        call.query[0] = (struct em_query_arg){query_key, query_value};
        call.query_count = 1;
    }
    em_dispatch(kms->router, &call);
    int status = call.http_status;
    if (reply)
        *reply = cJSON_ParseWithLength(call.response, call.response_len);
    em_call_reset(&call);
    return status;
}

/* The same without the reply. */
static inline int unit_kms_call(struct em_service *kms, const char *method, const char *path,
                                const char *query_key, const char *query_value, const char *body)
{
    return unit_kms_call_json(kms, method, path, query_key, query_value, body, NULL);
}

/* Starts serving an opened KMS on cfg's port base; 0 on success. */
static inline int unit_kms_listen(const struct em_config *cfg, struct em_service *kms)
{
    struct em_status st = {0};
    struct em_http_options opt = {"127.0.0.1", cfg->port_base + EM_PORT_KMS, 2, 1 << 20};
    return em_http_start(&opt, kms->router, kms, &kms->http, &st) == EM_OK ? 0 : -1;
}

static inline void unit_kms_stop_listening(struct em_service *kms)
{
    em_http_stop(kms->http);
    kms->http = NULL;
}

/* Opens KMS in cfg's data directory and serves it on a free port base at or above
 * first_port_base (below the ephemeral range); sets cfg->port_base and points the KMS
 * client at it. */
static inline int unit_kms_start(struct em_config *cfg, int first_port_base,
                                 struct em_service **kms)
{
    struct em_status st = {0};
    if (em_service_open(&kms_service, cfg, kms, &st)) {
        fprintf(stderr, "kms: %s\n", st.message);
        return -1;
    }
    for (int attempt = 0; attempt < 20; attempt++) {
        cfg->port_base = first_port_base + (int)((getpid() + attempt * 7919) % 1500) * 10;
        if (unit_kms_listen(cfg, *kms) == 0) {
            em_kms_client_init(cfg);
            return 0;
        }
    }
    fprintf(stderr, "kms: no free port\n");
    return -1;
}

/* Creates key ring `ring` (its full name) and an ENCRYPT_DECRYPT key `key` in it. */
static inline int unit_kms_create_key(struct em_service *kms, const char *ring, const char *key)
{
    const char *id = strrchr(ring, '/');
    char parent[512], keys[512];
    if (!id || (size_t)(id - ring) >= sizeof(parent) - 4)
        return -1;
    snprintf(parent, sizeof(parent), "/v1/%.*s", (int)(id - ring), ring);
    snprintf(keys, sizeof(keys), "/v1/%s/cryptoKeys", ring);
    if (unit_kms_call(kms, "POST", parent, "keyRingId", id + 1, "{}") != 200 ||
        unit_kms_call(kms, "POST", keys, "cryptoKeyId", key, "{\"purpose\":\"ENCRYPT_DECRYPT\"}") !=
            200)
        return -1;
    return 0;
}

#endif
