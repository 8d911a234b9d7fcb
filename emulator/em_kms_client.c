/*
 * em_kms_client: services calling Cloud KMS over REST with libcurl (see em_kms_client.h).
 *
 * One curl handle per thread keeps its connection to KMS alive between calls. Requests
 * carry every CRC32C field and replies are checked against theirs, as Google's
 * integrity guidelines ask of KMS clients; a reply that fails its checksum is treated
 * as unreachable (corrupted on the way), never as data.
 */
#include "em_kms_client.h"

#include "em_config.h"
#include "em_crypto.h"
#include "em_faults.h"
#include "em_json.h"
#include "em_log.h"
#include "em_trust.h"

#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONNECT_TIMEOUT_MS 2000
#define CALL_TIMEOUT_MS    10000
#define MAX_REPLY_BYTES    (1 << 20)

static char kms_url[128] = "http://127.0.0.1:8791";
static pthread_key_t handle_key;
static pthread_once_t handle_once = PTHREAD_ONCE_INIT;

static void handle_free(void *handle)
{
    curl_easy_cleanup(handle);
}

static void handle_key_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_key_create(&handle_key, handle_free);
}

void em_kms_client_init(const struct em_config *cfg)
{
    pthread_once(&handle_once, handle_key_init);
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

/* --- one HTTP exchange --- */

struct exchange {
    CURL *handle;
    struct curl_slist *headers;
    char *body;
    char *reply;
    size_t reply_len;
    bool too_long;
};

static size_t collect(char *data, size_t size, size_t count, void *arg)
{
    struct exchange *ex = arg;
    size_t n = size * count;
    if (ex->reply_len + n > MAX_REPLY_BYTES) {
        ex->too_long = true;
        return 0;
    }
    char *grown = realloc(ex->reply, ex->reply_len + n + 1);
    if (!grown)
        return 0;
    memcpy(grown + ex->reply_len, data, n);
    ex->reply = grown;
    ex->reply_len += n;
    ex->reply[ex->reply_len] = '\0';
    return n;
}

static void exchange_release(struct exchange *ex)
{
    curl_slist_free_all(ex->headers);
    if (ex->body) {
        em_wipe(ex->body, strlen(ex->body));
        free(ex->body);
    }
    if (ex->reply) {
        em_wipe(ex->reply, ex->reply_len);
        free(ex->reply);
    }
    memset(ex, 0, sizeof(*ex));
}

/* "<kms>/v1/<key name>:<verb>" with every path segment of the key name percent-encoded
 * (all but letters, digits, '-', '_' and '~'; '.' too, so no dot segment is resolved), so
 * no name can add a path, a query, a verb or a header to the request; callers validate
 * key names first (em_crypto_key_name_parse), this is the second line. */
static void key_url(char *url, size_t len, const char *key_name, const char *verb)
{
    static const char unreserved[] = "-_~";
    size_t n = (size_t)snprintf(url, len, "%s/v1/", kms_url);
    const unsigned char *p = (const unsigned char *)key_name;
    for (; *p && n + 4 < len; p++) {
        if (*p == '/' || (*p < 0x80 && isalnum(*p)) || strchr(unreserved, *p))
            url[n++] = (char)*p;
        else
            n += (size_t)snprintf(url + n, len - n, "%%%02X", *p);
    }
    int tail = snprintf(url + n, len - n, ":%s", verb);
    if (*p || tail < 0 || (size_t)tail >= len - n)
        url[0] = '\0'; /* never a truncated name: curl refuses an empty URL (unreachable) */
}

static bool exchange_prepare(struct exchange *ex, CURL *handle, const char *key_name,
                             const char *verb, const char *principal, const char *caller,
                             char *body)
{
    char url[1024], auth[512], from[600];
    key_url(url, sizeof(url), key_name, verb);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", principal);
    snprintf(from, sizeof(from), "X-Emulator-Caller: %s", caller ? caller : "");
    ex->handle = handle;
    ex->body = body;
    ex->headers = curl_slist_append(NULL, "Content-Type: application/json");
    ex->headers = curl_slist_append(ex->headers, auth);
    /* a service agent's token and the caller are honoured only with the credential */
    const char *credential = em_trust_header_line();
    if (credential)
        ex->headers = curl_slist_append(ex->headers, credential);
    if (caller)
        ex->headers = curl_slist_append(ex->headers, from);
    curl_easy_reset(handle);
    curl_easy_setopt(handle, CURLOPT_URL, url);
    curl_easy_setopt(handle, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, ex->headers);
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, ex);
    curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
    curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, (long)CALL_TIMEOUT_MS);
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    return ex->headers != NULL && body != NULL;
}

/* --- request bodies and replies --- */

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

/* "<what>: <detail>" as an unreachable reply. */
static enum em_kms_result unreachable(struct em_kms_reply *reply, const char *what,
                                      const char *detail)
{
    reply->result = EM_KMS_UNREACHABLE;
    reply->code = EM_UNAVAILABLE;
    snprintf(reply->message, sizeof(reply->message), "%s: %s", what, detail);
    return reply->result;
}

static enum em_kms_result denied(struct em_kms_reply *reply, const cJSON *json, long http)
{
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(json, "error");
    const char *status = em_json_string(error, "status");
    const char *message = em_json_string(error, "message");
    int code = status ? em_code_from_name(status) : -1;
    reply->result = EM_KMS_DENIED;
    reply->code = code > 0 ? (enum em_code)code : EM_FAILED_PRECONDITION;
    snprintf(reply->message, sizeof(reply->message), "%s",
             message ? message : "Cloud KMS refused the request");
    if (!message)
        em_warn("kms client: HTTP %ld without Google's error JSON", http);
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

/* Turns a finished exchange into the reply. */
static enum em_kms_result classify(struct exchange *ex, CURLcode rc, const char *field,
                                   struct em_kms_reply *reply)
{
    long http = 0;
    curl_easy_getinfo(ex->handle, CURLINFO_RESPONSE_CODE, &http);
    if (rc != CURLE_OK)
        return unreachable(reply, "Cloud KMS is unreachable", curl_easy_strerror(rc));
    if (http >= 500 || http == 0)
        return unreachable(reply, "Cloud KMS is unavailable", "server error");
    cJSON *json = cJSON_ParseWithLength(ex->reply ? ex->reply : "", ex->reply_len);
    enum em_kms_result result =
        http >= 400 ? denied(reply, json, http)
        : json      ? parse_ok(json, field, reply)
                    : unreachable(reply, "Cloud KMS is unavailable", "its reply is not JSON");
    cJSON_Delete(json);
    return result;
}

/* --- calls --- */

static CURL *thread_handle(void)
{
    pthread_once(&handle_once, handle_key_init);
    CURL *handle = pthread_getspecific(handle_key);
    if (!handle) {
        handle = curl_easy_init();
        pthread_setspecific(handle_key, handle);
    }
    return handle;
}

static enum em_kms_result call(const char *key_name, const char *verb, const char *principal,
                               const char *caller, char *body, const char *reply_field,
                               struct em_kms_reply *reply)
{
    memset(reply, 0, sizeof(*reply));
    if (em_faults_kms_unreachable()) {
        free(body);
        return unreachable(reply, "Cloud KMS is unreachable",
                           "kmsUnreachable fault injected by the control plane");
    }
    struct exchange ex = {0};
    CURL *handle = thread_handle();
    if (!handle || !exchange_prepare(&ex, handle, key_name, verb, principal, caller, body)) {
        exchange_release(&ex);
        return unreachable(reply, "Cloud KMS client", "out of memory");
    }
    enum em_kms_result result = classify(&ex, curl_easy_perform(handle), reply_field, reply);
    exchange_release(&ex);
    return result;
}

enum em_kms_result em_kms_encrypt(const char *key_name, const char *principal, const char *caller,
                                  const void *plaintext, size_t len, const void *aad,
                                  size_t aad_len, struct em_kms_reply *reply)
{
    char *body = request_body("plaintext", plaintext, len, aad, aad_len);
    return call(key_name, "encrypt", principal, caller, body, "ciphertext", reply);
}

/* --- many decrypts at once --- */

struct slot {
    struct exchange ex;
    struct em_kms_decrypt_job *job;
};

static void start_job(CURLM *multi, struct slot *slot, struct em_kms_decrypt_job *job)
{
    memset(&job->reply, 0, sizeof(job->reply));
    slot->job = job;
    char *body = request_body("ciphertext", job->ciphertext, job->len, job->aad, job->aad_len);
    if (!exchange_prepare(&slot->ex, slot->ex.handle, job->key_name, "decrypt", job->principal,
                          job->caller, body)) {
        unreachable(&job->reply, "Cloud KMS client", "out of memory");
        exchange_release(&slot->ex);
        slot->job = NULL;
        return;
    }
    curl_easy_setopt(slot->ex.handle, CURLOPT_PRIVATE, slot);
    curl_multi_add_handle(multi, slot->ex.handle);
}

/* Starts the next jobs on slot until one is in flight or none is left; returns whether
 * the slot is busy. */
static bool fill_slot(CURLM *multi, struct slot *slot, struct em_kms_decrypt_job *jobs,
                      size_t *next, size_t count)
{
    while (!slot->job && *next < count)
        start_job(multi, slot, &jobs[(*next)++]);
    return slot->job != NULL;
}

static void finish_job(CURLM *multi, struct slot *slot, CURLcode rc)
{
    curl_multi_remove_handle(multi, slot->ex.handle);
    classify(&slot->ex, rc, "plaintext", &slot->job->reply);
    CURL *handle = slot->ex.handle;
    exchange_release(&slot->ex);
    slot->ex.handle = handle;
    slot->job = NULL;
}

void em_kms_decrypt_many(struct em_kms_decrypt_job *jobs, size_t count, int parallel)
{
    if (em_faults_kms_unreachable()) {
        for (size_t i = 0; i < count; i++) {
            memset(&jobs[i].reply, 0, sizeof(jobs[i].reply));
            unreachable(&jobs[i].reply, "Cloud KMS is unreachable",
                        "kmsUnreachable fault injected by the control plane");
        }
        return;
    }
    pthread_once(&handle_once, handle_key_init);
    size_t slots_n = count < (size_t)parallel ? count : (size_t)parallel;
    struct slot *slots = calloc(slots_n ? slots_n : 1, sizeof(*slots));
    CURLM *multi = curl_multi_init();
    size_t next = 0, running = 0;
    for (size_t i = 0; i < slots_n; i++) {
        slots[i].ex.handle = curl_easy_init();
        running += fill_slot(multi, &slots[i], jobs, &next, count);
    }
    while (running > 0) {
        int still;
        curl_multi_perform(multi, &still);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct slot *slot;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&slot);
            finish_job(multi, slot, msg->data.result);
            running--;
            running += fill_slot(multi, slot, jobs, &next, count);
        }
        if (running > 0)
            curl_multi_poll(multi, NULL, 0, 100, NULL);
    }
    for (size_t i = 0; i < slots_n; i++)
        curl_easy_cleanup(slots[i].ex.handle);
    curl_multi_cleanup(multi);
    free(slots);
}
