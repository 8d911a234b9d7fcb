/*
 * test_rest: em_rest, the client of calls between the emulator's processes, against a
 * real server: a small libmicrohttpd responder on 127.0.0.1 (a port the kernel picks)
 * that records what it received (raw path, query, headers, body) and counts the
 * connections it accepted.
 *
 *   replies          2xx JSON; Google's JSON error -> its code and message; an error
 *                    without Google's JSON -> the code of its HTTP status; a service's own
 *                    503 is EM_REST_ERROR, not UNREACHABLE; a 2xx that is not JSON
 *   no answer        a refused connection and a timeout are UNREACHABLE / UNAVAILABLE;
 *                    a refused connection is retried within connect_retry_ms
 *   what is sent     segments percent-encoded ('/', '.', '..', '%', spaces, CR/LF), the
 *                    internal credential, principal and caller headers; a header value
 *                    with CR/LF is never sent
 *   reuse            N sequential calls, and two batches, open one connection per slot;
 *                    threads calling at once each keep their own
 *   batch            replies matched to their requests, requests really in parallel
 *
 * Every wait is bounded: client timeouts are short and the slow route sleeps 1.5 s.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "em_log.h"
#include "em_rest.h"
#include "em_service.h"
#include "em_trust.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLOW_MS     1500 /* the /slow route's pause */
#define WORK_MS     100  /* the /work route's pause */
#define BATCH_JOBS  16
#define BATCH_SLOTS 8

/* ---------------------------------------------------------------- the responder */

struct seen {
    char method[16], path[1024], query[256], body[1024];
    char auth[512], caller[512], internal[200], content_type[100];
};

struct server {
    struct MHD_Daemon *daemon;
    int port;
    atomic_int connections, requests, in_flight, max_in_flight;
    pthread_mutex_t lock;
    struct seen last;
};

struct upload {
    char data[1024];
    size_t len;
};

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void copy_header(struct MHD_Connection *c, enum MHD_ValueKind kind, const char *name,
                        char *out, size_t len)
{
    const char *value = MHD_lookup_connection_value(c, kind, name);
    snprintf(out, len, "%s", value ? value : "");
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static void record(struct server *s, struct MHD_Connection *c, const char *method, const char *url,
                   const struct upload *up)
{
    pthread_mutex_lock(&s->lock);
    struct seen *seen = &s->last;
    snprintf(seen->method, sizeof(seen->method), "%s", method);
    snprintf(seen->path, sizeof(seen->path), "%s", url);
    snprintf(seen->body, sizeof(seen->body), "%.*s", (int)up->len, up->data);
    copy_header(c, MHD_GET_ARGUMENT_KIND, "pageToken", seen->query, sizeof(seen->query));
    copy_header(c, MHD_HEADER_KIND, "Authorization", seen->auth, sizeof(seen->auth));
    copy_header(c, MHD_HEADER_KIND, "X-Emulator-Caller", seen->caller, sizeof(seen->caller));
    copy_header(c, MHD_HEADER_KIND, EM_TRUST_HEADER, seen->internal, sizeof(seen->internal));
    copy_header(c, MHD_HEADER_KIND, "Content-Type", seen->content_type, sizeof(seen->content_type));
    pthread_mutex_unlock(&s->lock);
    s->requests++;
}

/* /work/<n>: 100 ms of "work", counting how many run at once; answers {"n":"<n>"}. */
static enum MHD_Result work(struct server *s, struct MHD_Connection *c, const char *url)
{
    int now = ++s->in_flight;
    int max = s->max_in_flight;
    while (now > max && !atomic_compare_exchange_weak(&s->max_in_flight, &max, now))
        ;
    sleep_ms(WORK_MS);
    s->in_flight--;
    char body[128];
    snprintf(body, sizeof(body), "{\"n\":\"%s\"}", url + strlen("/work/"));
    return reply(c, 200, body);
}

static enum MHD_Result route(struct server *s, struct MHD_Connection *c, const char *url)
{
    if (strncmp(url, "/work/", 6) == 0)
        return work(s, c, url);
    if (strcmp(url, "/google-error") == 0)
        return reply(c, 404,
                     "{\"error\":{\"code\":404,\"message\":\"Resource not found (resource=t).\","
                     "\"status\":\"NOT_FOUND\"}}");
    if (strcmp(url, "/unavailable") == 0)
        return reply(c, 503,
                     "{\"error\":{\"code\":503,\"message\":\"The service is stopping.\","
                     "\"status\":\"UNAVAILABLE\"}}");
    if (strcmp(url, "/plain-error") == 0)
        return reply(c, 403, "forbidden");
    if (strcmp(url, "/not-json") == 0)
        return reply(c, 200, "hello");
    if (strcmp(url, "/slow") == 0)
        sleep_ms(SLOW_MS);
    return reply(c, 200, "{\"ok\":true}");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *data_len, void **con_cls)
{
    (void)version;
    struct server *s = cls;
    struct upload *up = *con_cls;
    if (!up) {
        *con_cls = calloc(1, sizeof(*up));
        return *con_cls ? MHD_YES : MHD_NO;
    }
    if (*data_len) {
        size_t n = *data_len < sizeof(up->data) - up->len ? *data_len : sizeof(up->data) - up->len;
        memcpy(up->data + up->len, data, n);
        up->len += n;
        *data_len = 0;
        return MHD_YES;
    }
    record(s, c, method, url, up);
    return route(s, c, url);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    free(*con_cls);
    *con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    (void)c, (void)socket_context;
    struct server *s = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED)
        s->connections++;
}

/* Leaves the path as it came on the wire, so the test sees the client's encoding. */
static size_t keep_escaped(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls, (void)c;
    return strlen(s);
}

/* Starts the responder on port (0: one the kernel picks). */
static int server_start(struct server *s, int port)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->daemon =
        MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL,
                         NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                         MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_NOTIFY_CONNECTION,
                         on_connection, s, MHD_OPTION_UNESCAPE_CALLBACK, keep_escaped, s,
                         MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (!s->daemon)
        return -1;
    s->port = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT)->port;
    return 0;
}

static void server_stop(struct server *s)
{
    if (s->daemon)
        MHD_stop_daemon(s->daemon);
    s->daemon = NULL;
}

/* ---------------------------------------------------------------- fixture */

struct fixture {
    char dir[PATH_MAX];
    struct server server;
    char base[64];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct em_status st = {0};
    if (!f || em_make_temp_dir(f->dir, sizeof(f->dir), &st) || em_trust_open(f->dir, &st) ||
        em_rest_init(&st))
        return -1;
    pthread_mutex_init(&f->server.lock, NULL);
    if (server_start(&f->server, 0))
        return -1;
    snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%d", f->server.port);
    em_rest_thread_release(); /* no connection kept from an earlier test's server */
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    em_rest_thread_release();
    server_stop(&f->server);
    pthread_mutex_destroy(&f->server.lock);
    em_remove_tree(f->dir);
    free(f);
    return 0;
}

static const char *url_of(struct fixture *f, const char *path, char *out, size_t len)
{
    snprintf(out, len, "%s%s", f->base, path);
    return out;
}

/* GET base+path with a 2 s timeout. */
static enum em_rest_result get(struct fixture *f, const char *path, struct em_rest_reply *reply)
{
    char url[256];
    struct em_rest_request req = {
        .method = "GET", .url = url_of(f, path, url, sizeof(url)), .timeout_ms = 2000};
    return em_rest_call(&req, reply);
}

/* A port nothing listens on: the responder's, after it stopped. */
static int closed_port(struct fixture *f)
{
    server_stop(&f->server);
    return f->server.port;
}

/* ---------------------------------------------------------------- replies */

static void test_success_sends_json_and_every_header(void **state)
{
    struct fixture *f = *state;
    char url[256];
    cJSON *body = cJSON_CreateObject();
    cJSON_AddNumberToObject(body, "a", 1);
    struct em_rest_request req = {.method = "POST",
                                  .url = url_of(f, "/echo", url, sizeof(url)),
                                  .json = body,
                                  .principal = "user:alice@example.com",
                                  .caller = "projects/p/topics/t"};
    struct em_rest_reply reply;
    assert_int_equal(em_rest_call(&req, &reply), EM_REST_OK);
    assert_int_equal(reply.http_status, 200);
    assert_int_equal(reply.status.code, EM_OK);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(reply.json, "ok")));
    struct seen *seen = &f->server.last;
    assert_string_equal(seen->method, "POST");
    assert_string_equal(seen->body, "{\"a\":1}");
    assert_string_equal(seen->content_type, "application/json");
    assert_string_equal(seen->auth, "Bearer user:alice@example.com");
    assert_string_equal(seen->caller, "projects/p/topics/t");
    assert_true(em_trust_verify(seen->internal));
    em_rest_reply_clear(&reply);
    cJSON_Delete(body);

    /* raw bytes, another method, no principal nor caller: those headers are absent */
    req =
        (struct em_rest_request){.method = "PATCH", .url = url, .body = "{\"b\":2}", .body_len = 7};
    assert_int_equal(em_rest_call(&req, &reply), EM_REST_OK);
    assert_string_equal(seen->method, "PATCH");
    assert_string_equal(seen->body, "{\"b\":2}");
    assert_string_equal(seen->auth, "");
    assert_string_equal(seen->caller, "");
    assert_true(em_trust_verify(seen->internal));
    em_rest_reply_clear(&reply);

    assert_int_equal(get(f, "/echo", &reply), EM_REST_OK);
    assert_string_equal(seen->method, "GET");
    assert_string_equal(seen->body, "");
    assert_string_equal(seen->content_type, "");
    em_rest_reply_clear(&reply);
}

static void test_google_error_becomes_its_status(void **state)
{
    struct fixture *f = *state;
    struct em_rest_reply reply;
    assert_int_equal(get(f, "/google-error", &reply), EM_REST_ERROR);
    assert_int_equal(reply.http_status, 404);
    assert_true(reply.google_error);
    assert_int_equal(reply.status.code, EM_NOT_FOUND);
    assert_string_equal(reply.status.message, "Resource not found (resource=t).");
    em_rest_reply_clear(&reply);

    /* the service's own UNAVAILABLE is an answer, not an unreachable service */
    assert_int_equal(get(f, "/unavailable", &reply), EM_REST_ERROR);
    assert_int_equal(reply.status.code, EM_UNAVAILABLE);
    assert_string_equal(reply.status.message, "The service is stopping.");
    assert_string_equal(reply.cause, "");
    em_rest_reply_clear(&reply);
}

static void test_error_without_google_json_takes_the_http_code(void **state)
{
    struct fixture *f = *state;
    struct em_rest_reply reply;
    assert_int_equal(get(f, "/plain-error", &reply), EM_REST_ERROR);
    assert_false(reply.google_error);
    assert_int_equal(reply.status.code, EM_PERMISSION_DENIED);
    assert_string_equal(reply.body, "forbidden");
    em_rest_reply_clear(&reply);

    assert_int_equal(get(f, "/not-json", &reply), EM_REST_ERROR);
    assert_int_equal(reply.http_status, 200);
    assert_int_equal(reply.status.code, EM_INTERNAL);
    assert_null(reply.json);
    em_rest_reply_clear(&reply);
}

/* ---------------------------------------------------------------- no answer */

static void test_refused_connection_is_unavailable(void **state)
{
    struct fixture *f = *state;
    int port = closed_port(f);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/echo", port);
    struct em_rest_request req = {.method = "GET", .url = url, .timeout_ms = 2000};
    struct em_rest_reply reply;
    assert_int_equal(em_rest_call(&req, &reply), EM_REST_UNREACHABLE);
    assert_int_equal(reply.http_status, 0);
    assert_int_equal(reply.status.code, EM_UNAVAILABLE);
    assert_string_equal(reply.cause, "Couldn't connect to server");
    assert_non_null(strstr(reply.status.message, "onnect"));
    em_rest_reply_clear(&reply);
}

static void test_timeout_is_unavailable(void **state)
{
    struct fixture *f = *state;
    char url[256];
    struct em_rest_request req = {
        .method = "GET", .url = url_of(f, "/slow", url, sizeof(url)), .timeout_ms = 300};
    struct em_rest_reply reply;
    long start = now_ms();
    assert_int_equal(em_rest_call(&req, &reply), EM_REST_UNREACHABLE);
    assert_true(now_ms() - start < SLOW_MS - 300);
    assert_int_equal(reply.status.code, EM_UNAVAILABLE);
    assert_string_equal(reply.cause, "Timeout was reached");
    em_rest_reply_clear(&reply);
}

struct late_start {
    struct server *server;
    int port;
};

static void *start_late(void *arg)
{
    struct late_start *late = arg;
    sleep_ms(400);
    server_start(late->server, late->port);
    return NULL;
}

static void test_refused_connection_is_retried_within_budget(void **state)
{
    struct fixture *f = *state;
    struct late_start late = {&f->server, closed_port(f)};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, start_late, &late), 0);
    struct em_rest_job jobs[2] = {0};
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/echo", late.port);
    jobs[0].req = (struct em_rest_request){
        .method = "GET", .url = url, .timeout_ms = 2000, .connect_retry_ms = 5000};
    jobs[1].req = (struct em_rest_request){.method = "GET", .url = url, .timeout_ms = 2000};
    em_rest_call_many(jobs, 2, 2);
    pthread_join(thread, NULL);
    assert_non_null(f->server.daemon);
    assert_int_equal(jobs[0].reply.result, EM_REST_OK);          /* waited for the late server */
    assert_int_equal(jobs[1].reply.result, EM_REST_UNREACHABLE); /* no budget: at once */
    em_rest_reply_clear(&jobs[0].reply);
    em_rest_reply_clear(&jobs[1].reply);
}

/* ---------------------------------------------------------------- what is sent */

static void test_segments_are_percent_encoded(void **state)
{
    struct fixture *f = *state;
    struct em_rest_url url;
    em_rest_url_init(&url, f->base);
    em_rest_url_segment(&url, "v1");
    em_rest_url_segment(&url, "a/b");
    em_rest_url_segment(&url, ".");
    em_rest_url_segment(&url, "..");
    em_rest_url_segment(&url, "100%");
    em_rest_url_segment(&url, "two words");
    em_rest_url_segment(&url, "cr\r\nX-Evil: 1");
    em_rest_url_name(&url, "projects/p/topics/t.x~y_z-0");
    em_rest_url_verb(&url, "publish");
    em_rest_url_query(&url, "pageToken", "a b&c=d?");
    struct em_rest_request req = {.method = "GET", .url = em_rest_url_text(&url)};
    struct em_rest_reply reply;
    assert_int_equal(em_rest_call(&req, &reply), EM_REST_OK);
    assert_string_equal(f->server.last.path,
                        "/v1/a%2Fb/%2E/%2E%2E/100%25/two%20words/cr%0D%0AX-Evil%3A%201"
                        "/projects/p/topics/t%2Ex~y_z-0:publish");
    assert_string_equal(f->server.last.query, "a%20b%26c%3Dd%3F");
    em_rest_reply_clear(&reply);

    /* a URL that does not fit is not truncated: it is not sent at all */
    char long_segment[EM_REST_URL_MAX];
    memset(long_segment, 'a', sizeof(long_segment) - 1);
    long_segment[sizeof(long_segment) - 1] = '\0';
    em_rest_url_init(&url, f->base);
    em_rest_url_segment(&url, long_segment);
    assert_string_equal(em_rest_url_text(&url), "");
    int before = f->server.requests;
    req.url = em_rest_url_text(&url);
    assert_int_equal(em_rest_call(&req, &reply), EM_REST_NOT_SENT);
    assert_int_equal(f->server.requests, before);
    em_rest_reply_clear(&reply);
}

static void test_header_value_with_newline_is_not_sent(void **state)
{
    struct fixture *f = *state;
    char url[256];
    struct em_rest_request req = {.method = "GET",
                                  .url = url_of(f, "/echo", url, sizeof(url)),
                                  .principal = "user:a@example.com\r\nX-Emulator-Caller: x"};
    struct em_rest_reply reply;
    assert_int_equal(em_rest_call(&req, &reply), EM_REST_NOT_SENT);
    assert_int_equal(reply.status.code, EM_INVALID_ARGUMENT);
    em_rest_reply_clear(&reply);
    req.principal = NULL;
    req.caller = "projects/p\ntopics/t";
    assert_int_equal(em_rest_call(&req, &reply), EM_REST_NOT_SENT);
    em_rest_reply_clear(&reply);
    assert_int_equal(f->server.requests, 0);
}

/* ---------------------------------------------------------------- reuse and batches */

static void test_sequential_calls_reuse_one_connection(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 20; i++) {
        struct em_rest_reply reply;
        assert_int_equal(get(f, "/echo", &reply), EM_REST_OK);
        em_rest_reply_clear(&reply);
    }
    assert_int_equal(f->server.requests, 20);
    assert_int_equal(f->server.connections, 1);
}

#define THREADS          4
#define CALLS_PER_THREAD 25

struct caller_thread {
    struct fixture *f;
    int ok;
};

static void *call_repeatedly(void *arg)
{
    struct caller_thread *c = arg;
    for (int i = 0; i < CALLS_PER_THREAD; i++) {
        struct em_rest_reply reply;
        c->ok += get(c->f, "/echo", &reply) == EM_REST_OK;
        em_rest_reply_clear(&reply);
    }
    em_rest_thread_release();
    return NULL;
}

static void test_threads_call_at_once_each_on_its_connection(void **state)
{
    struct fixture *f = *state;
    pthread_t threads[THREADS];
    struct caller_thread callers[THREADS];
    for (int i = 0; i < THREADS; i++) {
        callers[i] = (struct caller_thread){f, 0};
        assert_int_equal(pthread_create(&threads[i], NULL, call_repeatedly, &callers[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(callers[i].ok, CALLS_PER_THREAD);
    }
    assert_int_equal(f->server.requests, THREADS * CALLS_PER_THREAD);
    assert_int_equal(f->server.connections, THREADS);
}

struct batch_check {
    struct fixture *f;
    char urls[BATCH_JOBS][128];
    int done[BATCH_JOBS];
    bool matched[BATCH_JOBS];
};

static bool batch_prepare(size_t i, struct em_rest_request *req, void *arg)
{
    struct batch_check *b = arg;
    snprintf(b->urls[i], sizeof(b->urls[i]), "%s/work/%zu", b->f->base, i);
    *req = (struct em_rest_request){.method = "POST", .url = b->urls[i], .body = "{}"};
    return i != 3; /* request 3 cannot be made: it must still be done, NOT_SENT */
}

static void batch_done(size_t i, const struct em_rest_request *req, struct em_rest_reply *reply,
                       void *arg)
{
    struct batch_check *b = arg;
    char expected[16];
    snprintf(expected, sizeof(expected), "%zu", i);
    const cJSON *n = cJSON_GetObjectItem(reply->json, "n");
    b->done[i]++;
    b->matched[i] = i == 3 ? reply->result == EM_REST_NOT_SENT
                           : reply->result == EM_REST_OK && req->url == b->urls[i] &&
                                 cJSON_IsString(n) && strcmp(n->valuestring, expected) == 0;
}

static void test_batch_runs_in_parallel_and_matches_replies(void **state)
{
    struct fixture *f = *state;
    struct batch_check b = {.f = f};
    struct em_rest_batch batch = {batch_prepare, batch_done, &b};
    long start = now_ms();
    em_rest_call_batch(BATCH_JOBS, BATCH_SLOTS, &batch);
    long took = now_ms() - start;
    for (size_t i = 0; i < BATCH_JOBS; i++) {
        assert_int_equal(b.done[i], 1);
        assert_true(b.matched[i]);
    }
    assert_true(f->server.max_in_flight >= 2);
    assert_true(f->server.max_in_flight <= BATCH_SLOTS);
    assert_true(took < (BATCH_JOBS - 1) * WORK_MS / 2); /* sequential would take 1.5 s */

    /* a second batch reuses the first one's connections */
    int connections = f->server.connections;
    assert_true(connections <= BATCH_SLOTS);
    memset(b.done, 0, sizeof(b.done));
    em_rest_call_batch(BATCH_JOBS, BATCH_SLOTS, &batch);
    assert_int_equal(f->server.connections, connections);
}

static void test_many_mixes_answers_and_failures(void **state)
{
    struct fixture *f = *state;
    char ok[256], missing[256];
    struct em_rest_job jobs[3] = {0};
    jobs[0].req = (struct em_rest_request){
        .method = "GET", .url = url_of(f, "/echo", ok, sizeof(ok)), .timeout_ms = 2000};
    jobs[1].req = (struct em_rest_request){
        .method = "GET", .url = url_of(f, "/google-error", missing, sizeof(missing))};
    jobs[2].req = (struct em_rest_request){.method = "GET", .url = ""};
    em_rest_call_many(jobs, 3, 4);
    assert_int_equal(jobs[0].reply.result, EM_REST_OK);
    assert_int_equal(jobs[1].reply.result, EM_REST_ERROR);
    assert_int_equal(jobs[1].reply.status.code, EM_NOT_FOUND);
    assert_int_equal(jobs[2].reply.result, EM_REST_NOT_SENT);
    for (int i = 0; i < 3; i++)
        em_rest_reply_clear(&jobs[i].reply);
}

int main(void)
{
    em_log_init("test", EM_LOG_ERROR);
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_success_sends_json_and_every_header),
        T(test_google_error_becomes_its_status),
        T(test_error_without_google_json_takes_the_http_code),
        T(test_refused_connection_is_unavailable),
        T(test_timeout_is_unavailable),
        T(test_refused_connection_is_retried_within_budget),
        T(test_segments_are_percent_encoded),
        T(test_header_value_with_newline_is_not_sent),
        T(test_sequential_calls_reuse_one_connection),
        T(test_threads_call_at_once_each_on_its_connection),
        T(test_batch_runs_in_parallel_and_matches_replies),
        T(test_many_mixes_answers_and_failures),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
