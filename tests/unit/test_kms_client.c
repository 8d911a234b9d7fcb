/*
 * Tests of the KMS client (em_kms_client), the way services call Cloud KMS, against the
 * real KMS service running in this process behind its HTTP server on a free port (as
 * test_cmek.c does). What a service sees:
 *   success         encrypt, then decrypt (one or many at once), with the version used,
 *                   whether it is the primary, and additional authenticated data
 *   KMS said no     DENIED with KMS's own code: NOT_FOUND (no such key),
 *                   PERMISSION_DENIED (the principal lacks the role, with IAM enforced),
 *                   FAILED_PRECONDITION (a disabled version), INVALID_ARGUMENT (a
 *                   ciphertext that does not decrypt, or the wrong AAD)
 *   KMS is down     UNREACHABLE with UNAVAILABLE: the server stopped, or the
 *                   kmsUnreachable fault; it works again once KMS is back
 *   the credential  every call carries the internal credential, without which KMS accepts
 *                   neither the service agent's token nor the caller header
 *   reuse           sequential calls from one thread use one connection
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "em_call.h"
#include "em_faults.h"
#include "em_http.h"
#include "em_iam.h"
#include "em_json.h"
#include "em_kms_client.h"
#include "em_log.h"
#include "em_rest.h"
#include "em_service.h"
#include "kms/kms_service.h"
#include "unit_kms.h"
#include "unit_util.h"

#include <curl/curl.h>
#include <string.h>
#include <unistd.h>

#define PROJECT "client-project"
#define RING    "projects/" PROJECT "/locations/global/keyRings/ring"
#define KEY     RING "/cryptoKeys/key"
#define AGENT   "serviceAccount:service-1@gcp-sa-test.iam.gserviceaccount.com"
#define CALLER  "projects/" PROJECT "/topics/orders"

struct fixture {
    char dir[PATH_MAX];
    struct em_config cfg;
    struct em_service *kms;
};

static int setup_with_iam(void **state, bool enforce)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f || unit_config_init(&f->cfg, f->dir, sizeof(f->dir)))
        return -1;
    f->cfg.iam_enforce = enforce;
    if (unit_kms_start(&f->cfg, 12240, &f->kms) || unit_kms_create_key(f->kms, RING, "key"))
        return -1;
    em_rest_thread_release(); /* no connection kept from an earlier test's server */
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_with_iam(state, false);
}

static int setup_enforced(void **state)
{
    return setup_with_iam(state, true);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    em_faults_set_kms_unreachable(f->kms->store, false, &st);
    em_service_close(f->kms);
    em_remove_tree(f->dir);
    free(f);
    return 0;
}

static const unsigned char secret[] = "a data encryption key";

/* Encrypts secret with key; the reply is the caller's to clear. */
static enum em_kms_result encrypt(const char *key, const char *aad, struct em_kms_reply *reply)
{
    return em_kms_encrypt(key, AGENT, CALLER, NULL, secret, sizeof(secret), aad,
                          aad ? strlen(aad) : 0, reply);
}

static void decrypt(struct em_kms_decrypt_job *job, const char *key, const void *ciphertext,
                    size_t len, const char *aad)
{
    *job = (struct em_kms_decrypt_job){
        key, AGENT, CALLER, ciphertext, aad, len, aad ? strlen(aad) : 0};
    em_kms_decrypt_many(job, 1, 1);
}

static void expect_denied(const struct em_kms_reply *reply, enum em_code code, const char *message)
{
    assert_int_equal(reply->result, EM_KMS_DENIED);
    assert_int_equal(reply->code, code);
    assert_non_null(strstr(reply->message, message));
    assert_null(reply->data);
}

static void expect_unreachable(const struct em_kms_reply *reply, const char *message)
{
    assert_int_equal(reply->result, EM_KMS_UNREACHABLE);
    assert_int_equal(reply->code, EM_UNAVAILABLE);
    assert_non_null(strstr(reply->message, message));
    assert_null(reply->data);
}

/* --- success --- */

static void test_encrypt_then_decrypt(void **state)
{
    (void)state;
    struct em_kms_reply sealed;
    assert_int_equal(encrypt(KEY, "orders", &sealed), EM_KMS_OK);
    assert_int_equal(sealed.code, EM_OK);
    assert_string_equal(sealed.key_version, KEY "/cryptoKeyVersions/1");
    assert_non_null(sealed.data);
    assert_true(sealed.data_len > sizeof(secret));

    struct em_kms_decrypt_job job;
    decrypt(&job, KEY, sealed.data, sealed.data_len, "orders");
    assert_int_equal(job.reply.result, EM_KMS_OK);
    assert_true(job.reply.used_primary);
    assert_int_equal(job.reply.data_len, sizeof(secret));
    assert_memory_equal(job.reply.data, secret, sizeof(secret));
    em_kms_reply_clear(&job.reply);

    /* the same ciphertext with other additional data does not decrypt */
    decrypt(&job, KEY, sealed.data, sealed.data_len, "invoices");
    expect_denied(&job.reply, EM_INVALID_ARGUMENT, "Decryption failed");
    em_kms_reply_clear(&job.reply);
    em_kms_reply_clear(&sealed);
    assert_null(sealed.data);
}

/* Many decrypts at once: each job gets its own answer, in place. */
static void test_decrypt_many_answers_each_job(void **state)
{
    struct fixture *f = *state;
    struct em_kms_reply v1;
    assert_int_equal(encrypt(KEY, NULL, &v1), EM_KMS_OK);
    assert_int_equal(
        unit_kms_call(f->kms, "POST", "/v1/" KEY "/cryptoKeyVersions", NULL, NULL, "{}"), 200);
    assert_int_equal(unit_kms_call(f->kms, "POST", "/v1/" KEY ":updatePrimaryVersion", NULL, NULL,
                                   "{\"cryptoKeyVersionId\":\"2\"}"),
                     200);
    struct em_kms_reply v2;
    assert_int_equal(encrypt(KEY, NULL, &v2), EM_KMS_OK);
    assert_string_equal(v2.key_version, KEY "/cryptoKeyVersions/2");

    unsigned char garbage[64];
    memset(garbage, 'K', sizeof(garbage));
    struct em_kms_decrypt_job jobs[] = {
        {KEY, AGENT, CALLER, v1.data, NULL, v1.data_len, 0},
        {RING "/cryptoKeys/missing", AGENT, CALLER, v1.data, NULL, v1.data_len, 0},
        {KEY, AGENT, CALLER, garbage, NULL, sizeof(garbage), 0},
        {KEY, AGENT, CALLER, v2.data, NULL, v2.data_len, 0},
    };
    em_kms_decrypt_many(jobs, 4, 3);
    assert_int_equal(jobs[0].reply.result, EM_KMS_OK);
    assert_false(jobs[0].reply.used_primary); /* version 1 is no longer the primary */
    assert_memory_equal(jobs[0].reply.data, secret, sizeof(secret));
    expect_denied(&jobs[1].reply, EM_NOT_FOUND, "CryptoKey " RING "/cryptoKeys/missing not found");
    expect_denied(&jobs[2].reply, EM_INVALID_ARGUMENT, "Decryption failed");
    assert_int_equal(jobs[3].reply.result, EM_KMS_OK);
    assert_true(jobs[3].reply.used_primary);
    for (size_t i = 0; i < 4; i++)
        em_kms_reply_clear(&jobs[i].reply);
    em_kms_reply_clear(&v1);
    em_kms_reply_clear(&v2);
}

/* --- KMS said no --- */

static void test_missing_key_is_not_found(void **state)
{
    (void)state;
    struct em_kms_reply reply;
    assert_int_equal(encrypt(RING "/cryptoKeys/missing", NULL, &reply), EM_KMS_DENIED);
    expect_denied(&reply, EM_NOT_FOUND, "CryptoKey " RING "/cryptoKeys/missing not found.");
    em_kms_reply_clear(&reply);
}

static void test_disabled_version_is_failed_precondition(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(unit_kms_call(f->kms, "PATCH", "/v1/" KEY "/cryptoKeyVersions/1", "updateMask",
                                   "state", "{\"state\":\"DISABLED\"}"),
                     200);
    struct em_kms_reply reply;
    assert_int_equal(encrypt(KEY, NULL, &reply), EM_KMS_DENIED);
    expect_denied(&reply, EM_FAILED_PRECONDITION, "cryptoKeyVersions/1 is not enabled");
    em_kms_reply_clear(&reply);
}

static void grant(struct fixture *f, const char *member)
{
    char text[512];
    snprintf(text, sizeof(text),
             "{\"bindings\":[{\"role\":\"roles/cloudkms.cryptoKeyEncrypterDecrypter\","
             "\"members\":[\"%s\"]}]}",
             member);
    struct em_status st = {0};
    cJSON *policy = cJSON_Parse(text), *stored = NULL;
    assert_int_equal(em_iam_set_policy(f->kms->store, KEY, policy, &stored, &st), EM_OK);
    cJSON_Delete(policy);
    cJSON_Delete(stored);
}

static void test_missing_role_is_permission_denied(void **state)
{
    struct fixture *f = *state;
    struct em_kms_reply reply;
    assert_int_equal(encrypt(KEY, NULL, &reply), EM_KMS_DENIED);
    expect_denied(&reply, EM_PERMISSION_DENIED, "cloudkms.cryptoKeyVersions.useToEncrypt");
    em_kms_reply_clear(&reply);
    grant(f, AGENT);
    assert_int_equal(encrypt(KEY, NULL, &reply), EM_KMS_OK);
    em_kms_reply_clear(&reply);
}

/* --- KMS is down --- */

static void test_stopped_kms_is_unreachable_until_it_is_back(void **state)
{
    struct fixture *f = *state;
    struct em_kms_reply reply;
    assert_int_equal(encrypt(KEY, NULL, &reply), EM_KMS_OK); /* a connection is kept */
    em_kms_reply_clear(&reply);
    unit_kms_stop_listening(f->kms);
    assert_int_equal(encrypt(KEY, NULL, &reply), EM_KMS_UNREACHABLE);
    expect_unreachable(&reply, "Cloud KMS is unreachable");
    em_kms_reply_clear(&reply);
    struct em_kms_decrypt_job job;
    decrypt(&job, KEY, "ciphertext", 10, NULL);
    expect_unreachable(&job.reply, "Cloud KMS is unreachable");
    em_kms_reply_clear(&job.reply);
    assert_int_equal(unit_kms_listen(&f->cfg, f->kms), 0);
    assert_int_equal(encrypt(KEY, NULL, &reply), EM_KMS_OK);
    em_kms_reply_clear(&reply);
}

static void test_unreachable_fault(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    struct em_kms_reply reply;
    assert_int_equal(em_faults_set_kms_unreachable(f->kms->store, true, &st), EM_OK);
    assert_int_equal(encrypt(KEY, NULL, &reply), EM_KMS_UNREACHABLE);
    expect_unreachable(&reply, "kmsUnreachable fault");
    em_kms_reply_clear(&reply);
    struct em_kms_decrypt_job jobs[2] = {{KEY, AGENT, CALLER, "x", NULL, 1, 0},
                                         {KEY, AGENT, CALLER, "y", NULL, 1, 0}};
    em_kms_decrypt_many(jobs, 2, 2);
    expect_unreachable(&jobs[0].reply, "kmsUnreachable fault");
    expect_unreachable(&jobs[1].reply, "kmsUnreachable fault");
    assert_int_equal(em_faults_set_kms_unreachable(f->kms->store, false, &st), EM_OK);
    assert_int_equal(encrypt(KEY, NULL, &reply), EM_KMS_OK);
    em_kms_reply_clear(&reply);
}

/* --- the internal credential --- */

static size_t discard(char *data, size_t size, size_t count, void *arg)
{
    (void)data, (void)arg;
    return size * count;
}

/* An encrypt with the client's headers but no internal credential, sent by libcurl
 * directly: the HTTP status. */
static long encrypt_without_credential(struct fixture *f)
{
    char url[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/" KEY ":encrypt",
             f->cfg.port_base + EM_PORT_KMS);
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = curl_slist_append(NULL, "Authorization: Bearer " AGENT);
    headers = curl_slist_append(headers, "X-Emulator-Caller: " CALLER);
    headers = curl_slist_append(headers, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "{\"plaintext\":\"c2VjcmV0\"}");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    long status = 0;
    if (curl_easy_perform(curl) == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return status;
}

static void test_calls_carry_the_internal_credential(void **state)
{
    struct fixture *f = *state;
    /* a service agent's token is honoured only with the credential: UNAUTHENTICATED */
    assert_int_equal(encrypt_without_credential(f), 401);
    struct em_kms_reply reply;
    assert_int_equal(encrypt(KEY, NULL, &reply), EM_KMS_OK);
    em_kms_reply_clear(&reply);
}

/* --- connection reuse --- */

#define CLIENT_SOCKETS_MAX 4096

/* The client-side sockets of this network namespace connected to port, in any state
 * (from /proc/net/tcp): their local ports into ports[], how many; and how many of them are
 * open (ESTABLISHED). */
static int client_sockets(int port, unsigned ports[CLIENT_SOCKETS_MAX], int *open)
{
    int n = 0;
    *open = 0;
    FILE *tcp = fopen("/proc/net/tcp", "r");
    assert_non_null(tcp);
    char line[512];
    unsigned local_port, remote_port, socket_state;
    while (fgets(line, sizeof(line), tcp))
        if (sscanf(line, " %*d: %*x:%x %*x:%x %x", &local_port, &remote_port, &socket_state) == 3 &&
            (int)remote_port == port && n < CLIENT_SOCKETS_MAX) {
            ports[n++] = local_port;
            *open += socket_state == 0x01;
        }
    fclose(tcp);
    return n;
}

/* Twenty calls open one connection and keep it: exactly one client socket is new, and it
 * is open. (Counting TIME_WAIT sockets instead was flaky: the connections of the tests
 * before this one may still be closing, FIN_WAIT2 turning into TIME_WAIT meanwhile.) */
static void test_sequential_calls_reuse_one_connection(void **state)
{
    struct fixture *f = *state;
    int port = f->cfg.port_base + EM_PORT_KMS, open_before, open_after;
    static unsigned before[CLIENT_SOCKETS_MAX], after[CLIENT_SOCKETS_MAX];
    int n_before = client_sockets(port, before, &open_before);
    assert_int_equal(open_before, 0);
    for (int i = 0; i < 20; i++) {
        struct em_kms_reply reply;
        assert_int_equal(encrypt(KEY, NULL, &reply), EM_KMS_OK);
        em_kms_reply_clear(&reply);
    }
    int n_after = client_sockets(port, after, &open_after);
    int new_sockets = 0;
    for (int i = 0; i < n_after; i++) {
        bool seen = false;
        for (int j = 0; j < n_before && !seen; j++)
            seen = after[i] == before[j];
        new_sockets += !seen;
    }
    assert_int_equal(new_sockets, 1);
    assert_int_equal(open_after, 1);
}

int main(void)
{
    em_log_init("test", EM_LOG_ERROR);
#define T(name)  cmocka_unit_test_setup_teardown(name, setup, teardown)
#define TE(name) cmocka_unit_test_setup_teardown(name, setup_enforced, teardown)
    const struct CMUnitTest tests[] = {
        T(test_encrypt_then_decrypt),
        T(test_decrypt_many_answers_each_job),
        T(test_missing_key_is_not_found),
        T(test_disabled_version_is_failed_precondition),
        TE(test_missing_role_is_permission_denied),
        T(test_stopped_kms_is_unreachable_until_it_is_back),
        T(test_unreachable_fault),
        T(test_calls_carry_the_internal_credential),
        T(test_sequential_calls_reuse_one_connection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
