/*
 * em_kms_client: services calling Cloud KMS over REST (see em_kms_client.h), through
 * em_rest, which keeps each thread's connections to KMS alive between calls and runs the
 * batched decrypts in parallel.
 *
 * Requests carry every CRC32C field and replies are checked against theirs, as Google's
 * integrity guidelines ask of KMS clients; a reply that fails its checksum is treated
 * as unreachable (corrupted on the way), never as data. em_rest's three outcomes become
 * this client's: no answer or a 5xx is UNREACHABLE, a 4xx is DENIED with KMS's code.
 */
#include "em_kms_client.h"

#include "em_config.h"
#include "em_crypto.h"
#include "em_faults.h"
#include "em_json.h"
#include "em_log.h"
#include "em_rest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONNECT_TIMEOUT_MS 2000
#define CALL_TIMEOUT_MS    10000
#define MAX_REPLY_BYTES    (1 << 20)

static char kms_url[128] = "http://127.0.0.1:8791";

void em_kms_client_init(const struct em_config *cfg)
{
    em_rest_init(NULL);
    const char *host = strcmp(cfg->host, "0.0.0.0") == 0 ? "127.0.0.1" : cfg->host;
    snprintf(kms_url, sizeof(kms_url), "http://%s:%d", host, cfg->port_base + EM_PORT_KMS);
}

void em_kms_reply_clear(struct em_kms_reply *reply)
{
    if (reply->data) {
        em_wipe(reply->data, reply->data_len);
        free(reply->data);
    }
    memset(reply, 0, sizeof(*reply));
}

/* --- requests --- */

/* "<kms>/v1/<key name>:<verb>", every segment of the key name percent-encoded (em_rest),
 * so no name can add a path, a query, a verb or a header to the request; callers validate
 * key names first (em_crypto_key_name_parse), this is the second line. A malloc'd string,
 * or NULL when out of memory. */
static char *key_url(const char *key_name, const char *verb)
{
    struct em_rest_url url;
    em_rest_url_init(&url, kms_url);
    em_rest_url_segment(&url, "v1");
    em_rest_url_name(&url, key_name);
    em_rest_url_verb(&url, verb);
    return strdup(em_rest_url_text(&url)); /* "" for a name too long: never sent */
}

static void add_bytes_with_crc(cJSON *obj, const char *field, const void *data, size_t len)
{
    char crc_field[64];
    snprintf(crc_field, sizeof(crc_field), "%sCrc32c", field);
    em_json_add_bytes(obj, field, data, len);
    em_json_add_int64(obj, crc_field, em_crc32c(data, len));
}

static char *request_body(const char *field, const void *data, size_t len, const void *aad,
                          size_t aad_len)
{
    cJSON *body = cJSON_CreateObject();
    add_bytes_with_crc(body, field, data, len);
    if (aad)
        add_bytes_with_crc(body, "additionalAuthenticatedData", aad, aad_len);
    return em_json_print_free(body);
}

/* The request for a call to KMS; false when out of memory (nothing left to free). */
static bool request_new(struct em_rest_request *req, const char *key_name, const char *verb,
                        const char *principal, const char *caller, const char *reason, char *body)
{
    *req = (struct em_rest_request){.method = "POST",
                                    .url = key_url(key_name, verb),
                                    .body = body,
                                    .principal = principal,
                                    .caller = caller,
                                    .access_reason = reason,
                                    .timeout_ms = CALL_TIMEOUT_MS,
                                    .connect_timeout_ms = CONNECT_TIMEOUT_MS,
                                    .max_reply = MAX_REPLY_BYTES};
    if (req->url && body)
        return true;
    free((char *)req->url);
    free(body);
    req->url = req->body = NULL;
    return false;
}

/* Frees what request_new made; the body carries key material and is wiped. */
static void request_free(const struct em_rest_request *req)
{
    char *body = (char *)req->body;
    if (body) {
        em_wipe(body, strlen(body));
        free(body);
    }
    free((char *)req->url);
}

/* --- replies --- */

/* "<what>: <detail>" as an unreachable reply. */
static enum em_kms_result unreachable(struct em_kms_reply *reply, const char *what,
                                      const char *detail)
{
    reply->result = EM_KMS_UNREACHABLE;
    reply->code = EM_UNAVAILABLE;
    /* a reason for logs and errors: the start of a long detail is enough */
    snprintf(reply->message, sizeof(reply->message), "%s: %.*s", what, 400, detail);
    return reply->result;
}

static enum em_kms_result denied(struct em_kms_reply *reply, const struct em_rest_reply *rest)
{
    reply->result = EM_KMS_DENIED;
    reply->code = rest->google_error ? rest->status.code : EM_FAILED_PRECONDITION;
    snprintf(reply->message, sizeof(reply->message), "%s",
             rest->google_error ? rest->status.message : "Cloud KMS refused the request");
    if (!rest->google_error)
        em_warn("kms client: HTTP %ld without Google's error JSON", rest->http_status);
    return reply->result;
}

/* Decodes reply field `field` and checks it against `<field>Crc32c`. */
static bool take_checked_bytes(const cJSON *json, const char *field, struct em_kms_reply *reply)
{
    char crc_field[64];
    snprintf(crc_field, sizeof(crc_field), "%sCrc32c", field);
    const char *text = em_json_string(json, field);
    int64_t crc;
    if (!text || !em_json_int64(json, crc_field, &crc) ||
        !em_b64_decode(text, strlen(text), &reply->data, &reply->data_len))
        return false;
    if ((uint32_t)crc != em_crc32c(reply->data, reply->data_len)) {
        em_wipe(reply->data, reply->data_len);
        free(reply->data);
        reply->data = NULL;
        return false;
    }
    return true;
}

static enum em_kms_result parse_ok(const cJSON *json, const char *field, struct em_kms_reply *reply)
{
    if (!take_checked_bytes(json, field, reply))
        return unreachable(reply, "Cloud KMS reply failed its integrity check", field);
    const char *name = em_json_string(json, "name");
    snprintf(reply->key_version, sizeof(reply->key_version), "%s", name ? name : "");
    bool used_primary = false;
    em_json_bool(json, "usedPrimary", &used_primary);
    reply->used_primary = used_primary;
    reply->result = EM_KMS_OK;
    reply->code = EM_OK;
    return reply->result;
}

/* Turns em_rest's reply into this client's. */
static enum em_kms_result classify(const struct em_rest_reply *rest, const char *field,
                                   struct em_kms_reply *reply)
{
    if (rest->result == EM_REST_NOT_SENT)
        return unreachable(reply, "Cloud KMS client", rest->status.message);
    if (rest->result == EM_REST_UNREACHABLE)
        return unreachable(reply, "Cloud KMS is unreachable", rest->cause);
    long http = rest->http_status;
    if (http >= 500 || http == 0)
        return unreachable(reply, "Cloud KMS is unavailable", "server error");
    if (http >= 400)
        return denied(reply, rest);
    if (!rest->json)
        return unreachable(reply, "Cloud KMS is unavailable", "its reply is not JSON");
    return parse_ok(rest->json, field, reply);
}

static enum em_kms_result injected_outage(struct em_kms_reply *reply)
{
    return unreachable(reply, "Cloud KMS is unreachable",
                       "kmsUnreachable fault injected by the control plane");
}

/* --- calls --- */

enum em_kms_result em_kms_encrypt(const char *key_name, const char *principal, const char *caller,
                                  const char *reason, const void *plaintext, size_t len,
                                  const void *aad, size_t aad_len, struct em_kms_reply *reply)
{
    memset(reply, 0, sizeof(*reply));
    if (em_faults_kms_unreachable())
        return injected_outage(reply);
    struct em_rest_request req;
    char *body = request_body("plaintext", plaintext, len, aad, aad_len);
    if (!request_new(&req, key_name, "encrypt", principal, caller, reason, body))
        return unreachable(reply, "Cloud KMS client", "out of memory");
    struct em_rest_reply rest;
    em_rest_call(&req, &rest);
    enum em_kms_result result = classify(&rest, "ciphertext", reply);
    em_rest_reply_clear(&rest);
    request_free(&req);
    return result;
}

/* --- many decrypts at once --- */

static bool decrypt_prepare(size_t i, struct em_rest_request *req, void *arg)
{
    struct em_kms_decrypt_job *job = &((struct em_kms_decrypt_job *)arg)[i];
    memset(&job->reply, 0, sizeof(job->reply));
    char *body = request_body("ciphertext", job->ciphertext, job->len, job->aad, job->aad_len);
    return request_new(req, job->key_name, "decrypt", job->principal, job->caller, job->reason,
                       body);
}

static void decrypt_done(size_t i, const struct em_rest_request *req, struct em_rest_reply *rest,
                         void *arg)
{
    struct em_kms_decrypt_job *job = &((struct em_kms_decrypt_job *)arg)[i];
    if (rest->result == EM_REST_NOT_SENT && !req->url)
        unreachable(&job->reply, "Cloud KMS client", "out of memory"); /* prepare failed */
    else
        classify(rest, "plaintext", &job->reply);
    request_free(req);
}

void em_kms_decrypt_many(struct em_kms_decrypt_job *jobs, size_t count, int parallel)
{
    if (em_faults_kms_unreachable()) {
        for (size_t i = 0; i < count; i++) {
            memset(&jobs[i].reply, 0, sizeof(jobs[i].reply));
            injected_outage(&jobs[i].reply);
        }
        return;
    }
    struct em_rest_batch batch = {decrypt_prepare, decrypt_done, jobs};
    em_rest_call_batch(count, parallel, &batch);
}
