/*
 * test_http: em_http's asynchronous request path, on a real server (127.0.0.1, a free port
 * below 32768) driven by libcurl. The server runs in pool mode with ONE epoll thread, so a
 * call that occupied it would visibly stop every other connection; its service declares
 * blocking handlers, so routes run on em_workers unless marked never_blocks.
 *
 *   blocking call     parked while a worker runs it; the HTTP thread answers others meanwhile
 *   deferred call     (em_call_defer on the HTTP thread) parked until em_call_ready; finish
 *                     runs on the HTTP thread and its reply or Google error is sent
 *   em_http_stop      refuses new calls with 503 UNAVAILABLE, waits for the calls in flight
 *                     (their clients get full replies), then returns
 *   keep-alive        parked calls do not break the connection for the next request
 *   edge requests     too many query parameters, a long URL, large headers, an oversized
 *                     body (declared or chunked) get Google's JSON error at once; HEAD is
 *                     GET without a body
 *   first request     what libmicrohttpd would answer with its HTML page (bad version,
 *                     request line, header line, no Host, bad Content-Length, 70 KB heads)
 *                     gets Google's JSON and a closed connection, in both server modes; a
 *                     head in pieces is served whole
 *   slow clients      1,100 connections that never finish their request leave the server
 *                     answering; a request that does not arrive within its deadline (1 s
 *                     here, counted from the head's first byte even when the acceptor held
 *                     the head) has its connection closed, an idle keep-alive connection not
 *
 * Every wait is bounded: handlers that wait for another request give up after WAIT_MS and
 * say so in their reply, clients time out, so a broken transport fails instead of hanging.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "em_call.h"
#include "em_http.h"
#include "em_json.h"
#include "em_log.h"
#include "em_router.h"
#include "em_schema.h"
#include "em_service.h"
#include "unit_net.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WAIT_MS        4000  /* a handler waiting for another request gives up after this */
#define QUICK_MS       2000  /* client timeout of a request that must be answered meanwhile */
#define CLIENT_MS      10000 /* client timeout of every other request */
#define BIG_REPLY      (1 << 20)
#define MAX_READIERS   16
#define MAX_ASYNC      16
#define GATHER_CALLS   12
#define STOP_JOIN_SECS 10
#define MAX_BODY       (1 << 20)
#define DEADLINE_MS    1000 /* request deadline of the setup_short_deadline server */
#define SLOW_CLIENTS   1100 /* more than MHD's default connection limit, FD_SETSIZE - 4 */
/* for the server to take SLOW_CLIENTS connections in: well before their deadline closes them */
#define SETTLE_MS (EM_HTTP_REQUEST_TIMEOUT_MS - 3000)

/* ---------------------------------------------------------------- small helpers */

static bool wait_count(atomic_int *count, int target, int ms)
{
    int64_t until = unit_now_ms() + ms;
    while (atomic_load(count) < target) {
        if (unit_now_ms() >= until)
            return false;
        unit_sleep_ms(1);
    }
    return true;
}

/* ---------------------------------------------------------------- what the handlers saw */

struct seen {
    atomic_bool wait_started, released;
    atomic_bool defer_started, pinged;
    atomic_bool answered; /* set by a test once its client has the reply it waited for */
    atomic_bool slow_started, slow_finished, refused;
    atomic_bool client_gone_seen;
    atomic_int gathered;
    atomic_int finishes;
    pthread_t http_thread, worker_thread, defer_thread, finish_thread, readier_thread;
    atomic_bool have_http_thread, have_worker_thread;
    /* threads started by deferring handlers, joined by the tests' teardown */
    pthread_mutex_t lock;
    pthread_t readiers[MAX_READIERS];
    int readier_count;
    atomic_bool readier_saw_ping;
};

static struct seen seen;

static void seen_reset(void)
{
    memset(&seen, 0, sizeof(seen));
    pthread_mutex_init(&seen.lock, NULL);
}

static void note_http_thread(void)
{
    seen.http_thread = pthread_self();
    atomic_store(&seen.have_http_thread, true);
}

static void note_worker_thread(void)
{
    seen.worker_thread = pthread_self();
    atomic_store(&seen.have_worker_thread, true);
}

/* ---------------------------------------------------------------- handlers */

/* never_blocks */
static enum em_code handle_ping(struct em_call *call)
{
    note_http_thread();
    atomic_store(&seen.pinged, true);
    cJSON *reply = cJSON_CreateObject();
    cJSON_AddBoolToObject(reply, "pong", true);
    return em_call_reply(call, reply);
}

/* never_blocks: lets a parked :wait call go on */
static enum em_code handle_release(struct em_call *call)
{
    note_http_thread();
    atomic_store(&seen.released, true);
    return em_call_reply(call, cJSON_CreateObject());
}

/* blocking: waits until the client of :release has its reply (runs on a worker, or the
 * HTTP thread would be stuck and :release never answered) */
static enum em_code handle_wait(struct em_call *call)
{
    note_worker_thread();
    atomic_store(&seen.wait_started, true);
    bool released = unit_wait_flag(&seen.answered, WAIT_MS) && atomic_load(&seen.released);
    cJSON *reply = cJSON_CreateObject();
    cJSON_AddStringToObject(reply, "name", em_call_var(call, "name"));
    cJSON_AddBoolToObject(reply, "released", released);
    return em_call_reply(call, reply);
}

/* blocking: waits until GATHER_CALLS calls are in this handler at once */
static enum em_code handle_gather(struct em_call *call)
{
    atomic_fetch_add(&seen.gathered, 1);
    bool all = wait_count(&seen.gathered, GATHER_CALLS, WAIT_MS);
    cJSON *reply = cJSON_CreateObject();
    cJSON_AddStringToObject(reply, "name", em_call_var(call, "name"));
    cJSON_AddBoolToObject(reply, "all", all);
    return em_call_reply(call, reply);
}

/* blocking: echoes the body it was given, to show the request survives parking */
static enum em_code handle_echo(struct em_call *call)
{
    note_worker_thread();
    return em_call_reply(call, cJSON_Duplicate(call->body, true));
}

/* blocking: waits for the test to see new calls refused, then sends a big reply */
static enum em_code handle_slow(struct em_call *call)
{
    atomic_store(&seen.slow_started, true);
    bool refused = unit_wait_flag(&seen.refused, WAIT_MS);
    unit_sleep_ms(100);
    char *text = malloc(BIG_REPLY + 1);
    if (!text)
        return EM_FAIL_OOM(&call->status);
    for (size_t i = 0; i < BIG_REPLY; i++)
        text[i] = (char)('a' + i % 26);
    text[BIG_REPLY] = '\0';
    call->reply_raw = text;
    call->reply_raw_len = BIG_REPLY;
    call->reply_content_type = refused ? "text/x-refused-seen" : "text/x-refused-not-seen";
    atomic_store(&seen.slow_finished, true);
    return EM_OK;
}

/* blocking: takes ?ms= milliseconds */
static enum em_code handle_sleep(struct em_call *call)
{
    int64_t ms = 0;
    if (em_call_query_int(call, "ms", 0, 0, 5000, &ms))
        return call->status.code;
    atomic_store(&seen.slow_started, true);
    unit_sleep_ms((int)ms);
    atomic_store(&seen.slow_finished, true);
    return em_call_reply(call, cJSON_CreateObject());
}

/* blocking: runs until its client has gone (em_call.client_gone), at most WAIT_MS */
static enum em_code handle_until_gone(struct em_call *call)
{
    atomic_store(&seen.slow_started, true);
    bool gone = false;
    for (int64_t until = unit_now_ms() + WAIT_MS; !gone && unit_now_ms() < until;) {
        gone = atomic_load(&call->client_gone);
        if (!gone)
            unit_sleep_ms(10);
    }
    atomic_store(&seen.client_gone_seen, gone);
    atomic_store(&seen.slow_finished, true);
    return em_call_reply(call, cJSON_CreateObject());
}

/* The deferred work: another thread calls em_call_ready after ~100 ms (and, with ?ping,
 * once a ping was handled and its client has the reply). */
struct deferred {
    struct em_call *call;
    char name[64];
    char fail_code[32]; /* finish fails with this code; "" succeeds */
    bool wait_for_ping;
};

static void *readier(void *arg)
{
    struct deferred *d = arg;
    struct em_call *call = d->call;
    bool wait_for_ping = d->wait_for_ping;
    seen.readier_thread = pthread_self();
    unit_sleep_ms(100);
    if (wait_for_ping)
        atomic_store(&seen.readier_saw_ping,
                     unit_wait_flag(&seen.answered, WAIT_MS) && atomic_load(&seen.pinged));
    em_call_ready(call); /* d and call belong to the call's thread from here on */
    return NULL;
}

static void finish_deferred(struct em_call *call)
{
    struct deferred *d = em_call_deferred_arg(call);
    seen.finish_thread = pthread_self();
    atomic_fetch_add(&seen.finishes, 1);
    if (d->fail_code[0]) {
        EM_CALL_FAIL(call, (enum em_code)em_code_from_name(d->fail_code),
                     "Widget %s vanished (%s).", d->name, d->fail_code);
    } else {
        cJSON *reply = cJSON_CreateObject();
        cJSON_AddStringToObject(reply, "name", d->name);
        cJSON_AddBoolToObject(reply, "finished", true);
        em_call_reply(call, reply);
    }
    free(d);
}

static enum em_code defer_call(struct em_call *call)
{
    struct deferred *d = calloc(1, sizeof(*d));
    if (!d)
        return EM_FAIL_OOM(&call->status);
    d->call = call;
    snprintf(d->name, sizeof(d->name), "%s", em_call_var(call, "name"));
    const char *code = em_call_query(call, "code");
    snprintf(d->fail_code, sizeof(d->fail_code), "%s", code ? code : "");
    d->wait_for_ping = em_call_query(call, "ping") != NULL;
    em_call_defer(call, finish_deferred, d);
    if (em_call_query(call, "now")) { /* ready before the handler even returns */
        em_call_ready(call);
        return EM_ABORTED;
    }
    pthread_mutex_lock(&seen.lock);
    bool started = seen.readier_count < MAX_READIERS &&
                   pthread_create(&seen.readiers[seen.readier_count], NULL, readier, d) == 0;
    if (started)
        seen.readier_count++;
    pthread_mutex_unlock(&seen.lock);
    if (!started) {
        /* nothing else will: complete the call now, as a failure */
        snprintf(d->fail_code, sizeof(d->fail_code), "INTERNAL");
        em_call_ready(call);
    }
    /* the return value of a deferred handler is ignored: this must not reach the client */
    return EM_ABORTED;
}

/* never_blocks: defers the call */
static enum em_code handle_defer(struct em_call *call)
{
    seen.defer_thread = pthread_self();
    atomic_store(&seen.defer_started, true);
    return defer_call(call);
}

/* blocking: defers the call from a worker thread */
static enum em_code handle_defer_on_worker(struct em_call *call)
{
    note_worker_thread();
    seen.defer_thread = pthread_self();
    atomic_store(&seen.defer_started, true);
    return defer_call(call);
}

static const struct em_field note_fields[] = {{"text", EM_F_STRING}, {NULL}};
static const struct em_message note_msg = {"test.v1.Note", note_fields};

static const struct em_route routes[] = {
    {"GET", "v1/ping", handle_ping, "Ping", .never_blocks = true},
    {"POST", "v1/{name=tests/*}:release", handle_release, "Release", .never_blocks = true},
    {"POST", "v1/{name=tests/*}:wait", handle_wait, "Wait"},
    {"POST", "v1/{name=tests/*}:gather", handle_gather, "Gather"},
    {"POST", "v1/{name=tests/*}:echo", handle_echo, "Echo", &note_msg},
    {"POST", "v1/{name=tests/*}:slow", handle_slow, "Slow"},
    {"POST", "v1/{name=tests/*}:sleep", handle_sleep, "Sleep", .query = "ms"},
    {"POST", "v1/{name=tests/*}:untilGone", handle_until_gone, "UntilGone"},
    {"POST", "v1/{name=tests/*}:defer", handle_defer, "Defer", .never_blocks = true,
     .query = "code ping now"},
    {"POST", "v1/{name=tests/*}:deferOnWorker", handle_defer_on_worker, "DeferOnWorker",
     .query = "code ping now"},
};

static const struct em_service_desc blocking_desc = {.name = "httptest"};
static const struct em_service_def blocking_def = {.desc = &blocking_desc,
                                                   .blocking_handlers = true};

/* ---------------------------------------------------------------- the server */

static atomic_int replies_done; /* order in which replies arrived */

struct reply {
    CURLcode rc;
    long status;
    char *body;
    size_t len;
    char content_type[128];
    long connects;           /* new connections this request opened */
    curl_off_t declared_len; /* Content-Length of the reply, -1 without one */
    int order;               /* replies_done when it arrived */
    cJSON *json;
};

/* A request on a thread of its own. */
struct async {
    struct fixture *f;
    pthread_t thread;
    bool joined;
    const char *method, *path, *body;
    long timeout_ms;
    struct reply r;
};

/* Stops the server on a thread of its own; the server is the stopper's from then on. */
struct stopper {
    struct em_http *http;
    pthread_t thread;
    bool started, joined;
    atomic_bool returned;
    bool slow_finished_before; /* the handler in flight had finished when stop returned */
};

/* Threads a test starts live here, not on its stack: when an assertion fails, teardown
 * still joins them (each is bounded) before anything they use is freed. */
struct fixture {
    struct em_service svc; /* what em_dispatch reads of a service: def and config */
    struct em_router *router;
    struct em_http *http;
    int port;
    struct async calls[MAX_ASYNC];
    int call_count;
    struct stopper stopper;
};

static int start_server(void **state, int threads, int request_timeout_ms)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    seen_reset();
    f->svc.def = &blocking_def;
    snprintf(f->svc.config.default_principal, sizeof(f->svc.config.default_principal),
             "user:test@example.com");
    struct em_http_options opt = {"127.0.0.1", 0, threads, MAX_BODY, request_timeout_ms};
    f->port = unit_http_serve(&f->svc, routes, sizeof(routes) / sizeof(routes[0]), &opt, 31,
                              &f->router, &f->http);
    if (f->port < 0) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int setup_pool(void **state)
{
    return start_server(state, 1, 0);
}

static int setup_thread_per_connection(void **state)
{
    return start_server(state, 0, 0);
}

static int setup_short_deadline(void **state)
{
    return start_server(state, 1, DEADLINE_MS);
}

static int setup_short_deadline_thread_per_connection(void **state)
{
    return start_server(state, 0, DEADLINE_MS);
}

static bool join_stopper(struct stopper *s);
static void async_join(struct async *a);
static void reply_free(struct reply *r);

static int teardown(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < f->call_count; i++) {
        async_join(&f->calls[i]);
        reply_free(&f->calls[i].r);
    }
    if (f->stopper.started && !join_stopper(&f->stopper))
        return -1; /* em_http_stop still runs: leave what it uses alone */
    em_http_stop(f->http);
    for (int i = 0; i < seen.readier_count; i++)
        pthread_join(seen.readiers[i], NULL);
    em_router_free(f->router);
    free(f);
    pthread_mutex_destroy(&seen.lock);
    return 0;
}

/* ---------------------------------------------------------------- the client */

static size_t collect(char *data, size_t size, size_t n, void *arg)
{
    struct reply *r = arg;
    size_t bytes = size * n;
    char *body = realloc(r->body, r->len + bytes + 1);
    if (!body)
        return 0;
    memcpy(body + r->len, data, bytes);
    r->body = body;
    r->len += bytes;
    r->body[r->len] = '\0';
    return bytes;
}

static void reply_free(struct reply *r)
{
    free(r->body);
    cJSON_Delete(r->json);
    memset(r, 0, sizeof(*r));
}

/* One request; with handle == NULL on a connection of its own. */
static void http_call(struct fixture *f, CURL *handle, const char *method, const char *path,
                      const char *body, long timeout_ms, struct reply *r)
{
    memset(r, 0, sizeof(*r));
    CURL *h = handle ? handle : curl_easy_init();
    if (!h) {
        r->rc = CURLE_FAILED_INIT;
        return;
    }
    size_t url_len = strlen(path) + 64;
    char *url = malloc(url_len);
    if (!url) {
        r->rc = CURLE_OUT_OF_MEMORY;
        return;
    }
    snprintf(url, url_len, "http://127.0.0.1:%d%s", f->port, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_NOBODY, 0L);
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
    } else {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)(body ? strlen(body) : 0));
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
    r->rc = curl_easy_perform(h);
    free(url);
    r->order = atomic_fetch_add(&replies_done, 1) + 1;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &r->connects);
    curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &r->declared_len);
    char *type = NULL;
    if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK && type)
        snprintf(r->content_type, sizeof(r->content_type), "%s", type);
    if (r->body)
        r->json = cJSON_ParseWithLength(r->body, r->len);
    if (!handle)
        curl_easy_cleanup(h);
}

static void *async_run(void *arg)
{
    struct async *a = arg;
    http_call(a->f, NULL, a->method, a->path, a->body, a->timeout_ms, &a->r);
    return NULL;
}

static struct async *async_start(struct fixture *f, const char *method, const char *path,
                                 const char *body)
{
    assert_true(f->call_count < MAX_ASYNC);
    struct async *a = &f->calls[f->call_count];
    *a = (struct async){.f = f, .method = method, .path = path, .body = body};
    a->timeout_ms = CLIENT_MS;
    assert_int_equal(pthread_create(&a->thread, NULL, async_run, a), 0);
    f->call_count++;
    return a;
}

/* Bounded: the client times out after CLIENT_MS. */
static void async_join(struct async *a)
{
    if (!a->joined)
        pthread_join(a->thread, NULL);
    a->joined = true;
}

/* Asserts a 200 JSON reply equal to json. */
static void ok_is(const struct reply *r, const char *json)
{
    if (r->rc != CURLE_OK)
        fail_msg("request failed: %s", curl_easy_strerror(r->rc));
    if (r->status != 200)
        fail_msg("HTTP %ld: %s", r->status, r->body ? r->body : "");
    assert_string_equal(r->content_type, "application/json; charset=UTF-8");
    assert_non_null(r->body);
    assert_string_equal(r->body, json);
}

/* Asserts Google's JSON error. */
static void error_is(const struct reply *r, long http, const char *status, const char *message)
{
    if (r->rc != CURLE_OK)
        fail_msg("request failed: %s", curl_easy_strerror(r->rc));
    assert_int_equal(r->status, http);
    assert_string_equal(r->content_type, "application/json; charset=UTF-8");
    assert_non_null(r->json);
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(r->json, "error");
    assert_non_null(error);
    int64_t code = 0;
    assert_true(em_json_int64(error, "code", &code));
    assert_int_equal(code, http);
    assert_string_equal(em_json_string(error, "status"), status);
    if (message)
        assert_string_equal(em_json_string(error, "message"), message);
}

static bool same_thread(pthread_t a, pthread_t b)
{
    return pthread_equal(a, b) != 0;
}

/* ---------------------------------------------------------------- blocking calls */

static void test_a_blocking_call_is_parked_while_others_are_answered(void **state)
{
    struct fixture *f = *state;
    struct async *waiting = async_start(f, "POST", "/v1/tests/a:wait", NULL);
    assert_true(unit_wait_flag(&seen.wait_started, WAIT_MS));

    /* the one HTTP thread is free: this is answered while :wait is still in its handler */
    struct reply release;
    http_call(f, NULL, "POST", "/v1/tests/a:release", NULL, QUICK_MS, &release);
    atomic_store(&seen.answered, true); /* only now may :wait reply */
    ok_is(&release, "{}");

    async_join(waiting);
    ok_is(&waiting->r, "{\"name\":\"tests/a\",\"released\":true}");
    assert_true(release.order < waiting->r.order);
    assert_true(atomic_load(&seen.have_http_thread) && atomic_load(&seen.have_worker_thread));
    assert_false(same_thread(seen.http_thread, seen.worker_thread));
    reply_free(&release);
    reply_free(&waiting->r);
}

static void test_many_blocking_calls_wait_at_once(void **state)
{
    /* GATHER_CALLS calls that each wait for all the others: one worker each */
    struct fixture *f = *state;
    struct async *calls[GATHER_CALLS];
    static char paths[GATHER_CALLS][64];
    for (int i = 0; i < GATHER_CALLS; i++) {
        snprintf(paths[i], sizeof(paths[i]), "/v1/tests/g%d:gather", i);
        calls[i] = async_start(f, "POST", paths[i], NULL);
    }
    for (int i = 0; i < GATHER_CALLS; i++)
        async_join(calls[i]);
    for (int i = 0; i < GATHER_CALLS; i++) {
        char json[100];
        snprintf(json, sizeof(json), "{\"name\":\"tests/g%d\",\"all\":true}", i);
        ok_is(&calls[i]->r, json);
        reply_free(&calls[i]->r);
    }
}

static void test_a_blocking_call_gets_its_body_and_errors(void **state)
{
    struct fixture *f = *state;
    struct reply r;
    http_call(f, NULL, "POST", "/v1/tests/e:echo", "{\"text\": \"parked\"}", CLIENT_MS, &r);
    ok_is(&r, "{\"text\":\"parked\"}");
    assert_false(same_thread(seen.worker_thread, pthread_self()));
    reply_free(&r);
    /* checked before parking: the schema error comes back as usual */
    http_call(f, NULL, "POST", "/v1/tests/e:echo", "{\"colour\": \"red\"}", CLIENT_MS, &r);
    error_is(&r, 400, "INVALID_ARGUMENT", NULL);
    reply_free(&r);
    /* a failure of the handler itself, on the worker */
    http_call(f, NULL, "POST", "/v1/tests/e:sleep?ms=oops", NULL, CLIENT_MS, &r);
    error_is(&r, 400, "INVALID_ARGUMENT", "Invalid value at 'ms' (TYPE_INT32), \"oops\"");
    reply_free(&r);
}

/* ---------------------------------------------------------------- deferred calls */

static void test_a_deferred_call_frees_the_http_thread(void **state)
{
    struct fixture *f = *state;
    struct async *deferred = async_start(f, "POST", "/v1/tests/d:defer?ping", NULL);
    assert_true(unit_wait_flag(&seen.defer_started, WAIT_MS));

    struct reply ping;
    http_call(f, NULL, "GET", "/v1/ping", NULL, QUICK_MS, &ping);
    atomic_store(&seen.answered, true); /* only now is the deferred call readied */
    ok_is(&ping, "{\"pong\":true}");

    async_join(deferred);
    ok_is(&deferred->r, "{\"name\":\"tests/d\",\"finished\":true}");
    assert_true(ping.order < deferred->r.order);
    assert_true(atomic_load(&seen.readier_saw_ping));
    assert_int_equal(atomic_load(&seen.finishes), 1);
    /* finish ran on the call's own thread (the HTTP thread), not the one that readied it */
    assert_true(same_thread(seen.finish_thread, seen.defer_thread));
    assert_true(same_thread(seen.finish_thread, seen.http_thread));
    assert_false(same_thread(seen.finish_thread, seen.readier_thread));
    reply_free(&ping);
    reply_free(&deferred->r);
}

static void test_a_deferred_failure_is_a_google_error(void **state)
{
    struct fixture *f = *state;
    struct reply r;
    http_call(f, NULL, "POST", "/v1/tests/c:defer?code=NOT_FOUND", NULL, CLIENT_MS, &r);
    error_is(&r, 404, "NOT_FOUND", "Widget tests/c vanished (NOT_FOUND).");
    reply_free(&r);
    http_call(f, NULL, "POST", "/v1/tests/c:defer?code=RESOURCE_EXHAUSTED", NULL, CLIENT_MS, &r);
    error_is(&r, 429, "RESOURCE_EXHAUSTED", "Widget tests/c vanished (RESOURCE_EXHAUSTED).");
    reply_free(&r);
    http_call(f, NULL, "POST", "/v1/tests/c:defer?code=UNAVAILABLE", NULL, CLIENT_MS, &r);
    error_is(&r, 503, "UNAVAILABLE", "Widget tests/c vanished (UNAVAILABLE).");
    reply_free(&r);
    assert_int_equal(atomic_load(&seen.finishes), 3);
}

static void test_a_call_ready_before_its_handler_returns(void **state)
{
    /* the transport is woken while the HTTP thread is still in the handler that parked */
    struct fixture *f = *state;
    CURL *h = curl_easy_init();
    assert_non_null(h);
    struct reply r;
    long connects = 0;
    for (int i = 0; i < 3; i++) {
        http_call(f, h, "POST", "/v1/tests/n:defer?now", NULL, CLIENT_MS, &r);
        ok_is(&r, "{\"name\":\"tests/n\",\"finished\":true}");
        connects += r.connects;
        reply_free(&r);
        http_call(f, h, "POST", "/v1/tests/n:deferOnWorker?now&code=OUT_OF_RANGE", NULL, CLIENT_MS,
                  &r);
        error_is(&r, 400, "OUT_OF_RANGE", "Widget tests/n vanished (OUT_OF_RANGE).");
        connects += r.connects;
        reply_free(&r);
    }
    curl_easy_cleanup(h);
    assert_int_equal(connects, 1);
    assert_int_equal(atomic_load(&seen.finishes), 6);
}

static void test_a_blocking_handler_may_defer(void **state)
{
    /* on a worker the call has no transport: the worker waits for em_call_ready */
    struct fixture *f = *state;
    struct reply r;
    http_call(f, NULL, "POST", "/v1/tests/w:deferOnWorker", NULL, CLIENT_MS, &r);
    ok_is(&r, "{\"name\":\"tests/w\",\"finished\":true}");
    assert_true(same_thread(seen.finish_thread, seen.worker_thread));
    assert_false(same_thread(seen.finish_thread, seen.readier_thread));
    reply_free(&r);
    http_call(f, NULL, "POST", "/v1/tests/w:deferOnWorker?code=FAILED_PRECONDITION", NULL,
              CLIENT_MS, &r);
    error_is(&r, 400, "FAILED_PRECONDITION", "Widget tests/w vanished (FAILED_PRECONDITION).");
    reply_free(&r);
}

static void test_deferred_calls_without_a_pool(void **state)
{
    /* thread per connection: no transport, em_dispatch waits on the connection's thread */
    struct fixture *f = *state;
    struct reply r;
    http_call(f, NULL, "POST", "/v1/tests/t:defer", NULL, CLIENT_MS, &r);
    ok_is(&r, "{\"name\":\"tests/t\",\"finished\":true}");
    assert_true(same_thread(seen.finish_thread, seen.defer_thread));
    reply_free(&r);
    http_call(f, NULL, "POST", "/v1/tests/t:defer?code=NOT_FOUND", NULL, CLIENT_MS, &r);
    error_is(&r, 404, "NOT_FOUND", "Widget tests/t vanished (NOT_FOUND).");
    reply_free(&r);
    http_call(f, NULL, "POST", "/v1/tests/t:echo", "{\"text\": \"x\"}", CLIENT_MS, &r);
    ok_is(&r, "{\"text\":\"x\"}");
    reply_free(&r);
}

/* ---------------------------------------------------------------- stopping */

static void *stop_server(void *arg)
{
    struct stopper *s = arg;
    em_http_stop(s->http);
    s->slow_finished_before = atomic_load(&seen.slow_finished);
    atomic_store(&s->returned, true);
    return NULL;
}

static struct stopper *start_stopper(struct fixture *f)
{
    struct stopper *s = &f->stopper;
    s->http = f->http;
    f->http = NULL;
    assert_int_equal(pthread_create(&s->thread, NULL, stop_server, s), 0);
    s->started = true;
    return s;
}

/* Joins the stopping thread within STOP_JOIN_SECS; false if it still runs. */
static bool join_stopper(struct stopper *s)
{
    if (s->joined)
        return true;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += STOP_JOIN_SECS;
    s->joined = pthread_timedjoin_np(s->thread, NULL, &until) == 0;
    return s->joined;
}

static void test_stop_refuses_new_calls_and_waits_for_those_in_flight(void **state)
{
    struct fixture *f = *state;
    /* calls already answered do not count as in flight */
    struct reply done;
    http_call(f, NULL, "POST", "/v1/tests/s:sleep?ms=1", NULL, CLIENT_MS, &done);
    ok_is(&done, "{}");
    reply_free(&done);
    http_call(f, NULL, "POST", "/v1/tests/s:defer", NULL, CLIENT_MS, &done);
    ok_is(&done, "{\"name\":\"tests/s\",\"finished\":true}");
    reply_free(&done);
    atomic_store(&seen.slow_started, false);
    atomic_store(&seen.slow_finished, false);

    struct async *slow = async_start(f, "POST", "/v1/tests/s:slow", NULL);
    assert_true(unit_wait_flag(&seen.slow_started, WAIT_MS));

    struct stopper *stopper = start_stopper(f);

    /* new calls are refused while :slow is still running */
    struct reply probe = {0};
    bool refused = false;
    for (int64_t until = unit_now_ms() + WAIT_MS; !refused && unit_now_ms() < until;) {
        reply_free(&probe);
        http_call(f, NULL, "GET", "/v1/ping", NULL, QUICK_MS, &probe);
        refused = probe.rc == CURLE_OK && probe.status == 503;
        if (!refused)
            unit_sleep_ms(5);
    }
    assert_true(refused);
    error_is(&probe, 503, "UNAVAILABLE", "The service is shutting down; retry.");
    assert_false(atomic_load(&stopper->returned));
    reply_free(&probe);
    atomic_store(&seen.refused, true);

    /* the call in flight gets its whole reply, and only then stop returns */
    async_join(slow);
    if (slow->r.rc != CURLE_OK)
        fail_msg("the call in flight failed: %s", curl_easy_strerror(slow->r.rc));
    assert_int_equal(slow->r.status, 200);
    assert_string_equal(slow->r.content_type, "text/x-refused-seen");
    assert_int_equal(slow->r.len, BIG_REPLY);
    for (size_t i = 0; i < BIG_REPLY; i++)
        if (slow->r.body[i] != (char)('a' + i % 26))
            fail_msg("byte %zu of the reply is wrong", i);
    reply_free(&slow->r);
    if (!join_stopper(stopper))
        fail_msg("em_http_stop did not return within %d s", STOP_JOIN_SECS);
    assert_true(stopper->slow_finished_before);
}

static void test_stop_with_nothing_in_flight_is_quick(void **state)
{
    struct fixture *f = *state;
    struct reply r;
    http_call(f, NULL, "POST", "/v1/tests/q:sleep?ms=10", NULL, CLIENT_MS, &r);
    ok_is(&r, "{}");
    reply_free(&r);
    int64_t start = unit_now_ms();
    em_http_stop(f->http);
    f->http = NULL;
    assert_true(unit_now_ms() - start < 1000);
}

/* After clients left their calls: the server still answers, and stops at once (it does
 * not wait for calls it believes in flight). */
static void answers_then_stops_at_once(struct fixture *f)
{
    struct reply r;
    http_call(f, NULL, "GET", "/v1/ping", NULL, QUICK_MS, &r);
    ok_is(&r, "{\"pong\":true}");
    reply_free(&r);
    int64_t start = unit_now_ms();
    struct stopper *stopper = start_stopper(f);
    if (!join_stopper(stopper))
        fail_msg("em_http_stop still waits after %d s for calls whose clients left",
                 STOP_JOIN_SECS);
    assert_true(unit_now_ms() - start < 2000);
}

static void test_stop_after_a_client_gave_up_on_a_parked_call(void **state)
{
    /* the client hangs up while its call is parked on a worker; once the call is done,
     * nothing is in flight any more and stop must not wait for it */
    struct fixture *f = *state;
    struct reply r;
    http_call(f, NULL, "POST", "/v1/tests/g:sleep?ms=400", NULL, 100, &r);
    assert_int_equal(r.rc, CURLE_OPERATION_TIMEDOUT);
    reply_free(&r);
    assert_true(unit_wait_flag(&seen.slow_finished, WAIT_MS));
    unit_sleep_ms(200);
    answers_then_stops_at_once(f);
}

static void test_a_long_call_learns_that_its_client_has_gone(void **state)
{
    /* the client gives up on a parked call after 300 ms; a call that has run for a second
     * is looked at, and learns it (em_call.client_gone) within a sweep or two */
    struct fixture *f = *state;
    struct reply r;
    http_call(f, NULL, "POST", "/v1/tests/g:untilGone", NULL, 300, &r);
    assert_int_equal(r.rc, CURLE_OPERATION_TIMEDOUT);
    reply_free(&r);
    assert_true(unit_wait_flag(&seen.slow_finished, WAIT_MS + 1000));
    assert_true(atomic_load(&seen.client_gone_seen));
    /* a call whose client waits is not told so */
    atomic_store(&seen.slow_finished, false);
    atomic_store(&seen.client_gone_seen, false);
    struct async *waiting = async_start(f, "POST", "/v1/tests/w:untilGone", NULL);
    assert_true(unit_wait_flag(&seen.slow_finished, WAIT_MS + 2000));
    async_join(waiting);
    ok_is(&waiting->r, "{}");
    assert_false(atomic_load(&seen.client_gone_seen));
}

/* ---------------------------------------------------------------- keep-alive */

static void test_keep_alive_across_parked_calls(void **state)
{
    struct fixture *f = *state;
    CURL *h = curl_easy_init();
    assert_non_null(h);
    struct reply r;
    long connects = 0;

    http_call(f, h, "GET", "/v1/ping", NULL, CLIENT_MS, &r);
    ok_is(&r, "{\"pong\":true}");
    connects += r.connects;
    reply_free(&r);

    http_call(f, h, "POST", "/v1/tests/k:echo", "{\"text\": \"one\"}", CLIENT_MS, &r);
    ok_is(&r, "{\"text\":\"one\"}");
    connects += r.connects;
    reply_free(&r);

    http_call(f, h, "POST", "/v1/tests/k:defer", NULL, CLIENT_MS, &r);
    ok_is(&r, "{\"name\":\"tests/k\",\"finished\":true}");
    connects += r.connects;
    reply_free(&r);

    http_call(f, h, "POST", "/v1/tests/k:defer?code=NOT_FOUND", NULL, CLIENT_MS, &r);
    error_is(&r, 404, "NOT_FOUND", "Widget tests/k vanished (NOT_FOUND).");
    connects += r.connects;
    reply_free(&r);

    http_call(f, h, "POST", "/v1/tests/k:deferOnWorker", NULL, CLIENT_MS, &r);
    ok_is(&r, "{\"name\":\"tests/k\",\"finished\":true}");
    connects += r.connects;
    reply_free(&r);

    http_call(f, h, "POST", "/v1/tests/k:echo", "{\"text\": \"two\"}", CLIENT_MS, &r);
    ok_is(&r, "{\"text\":\"two\"}");
    connects += r.connects;
    reply_free(&r);

    http_call(f, h, "GET", "/v1/ping", NULL, CLIENT_MS, &r);
    ok_is(&r, "{\"pong\":true}");
    connects += r.connects;
    reply_free(&r);

    assert_int_equal(connects, 1);
    curl_easy_cleanup(h);
}

/* ---------------------------------------------------------------- raw sockets */

/* What a raw client got: the status line's code, Content-Type, body, and whether the
 * server closed the connection. */
struct raw_answer {
    int status;
    char content_type[128];
    char *body;
    bool closed;
    cJSON *json;
};

static void raw_answer_free(struct raw_answer *a)
{
    free(a->body);
    cJSON_Delete(a->json);
    memset(a, 0, sizeof(*a));
}

static bool raw_send(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n <= 0)
            return false;
        data += n;
        len -= (size_t)n;
    }
    return true;
}

/* Whether fd has something to read (or was closed) within ms. */
static bool raw_readable(int fd, int ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    return poll(&pfd, 1, ms) > 0;
}

/* Reads one answer: until its Content-Length is in, the server closes, or ms pass. */
static void raw_read(int fd, int ms, struct raw_answer *a)
{
    memset(a, 0, sizeof(*a));
    char *data = NULL;
    size_t len = 0;
    int64_t until = unit_now_ms() + ms;
    for (;;) {
        int64_t left = until - unit_now_ms();
        if (left <= 0 || !raw_readable(fd, (int)left))
            break;
        char chunk[4096];
        ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
        if (n <= 0) {
            a->closed = true;
            break;
        }
        char *grown = realloc(data, len + (size_t)n + 1);
        assert_non_null(grown);
        data = grown;
        memcpy(data + len, chunk, (size_t)n);
        len += (size_t)n;
        data[len] = '\0';
        const char *end = strstr(data, "\r\n\r\n");
        const char *length = strcasestr(data, "\r\nContent-Length:");
        if (end && length && length < end &&
            len - (size_t)(end + 4 - data) >= strtoul(length + 17, NULL, 10))
            break;
    }
    if (!data)
        return;
    sscanf(data, "HTTP/1.%*d %d", &a->status);
    const char *type = strcasestr(data, "\r\nContent-Type:");
    const char *end = strstr(data, "\r\n\r\n");
    if (type && end && type < end)
        sscanf(type + 15, " %127[^\r\n]", a->content_type);
    if (end) {
        a->body = strdup(end + 4);
        a->json = cJSON_Parse(a->body);
    }
    free(data);
}

/* Asserts Google's JSON error in a raw answer. */
static void raw_error_is(const struct raw_answer *a, int http, const char *status)
{
    if (a->status != http)
        fail_msg("expected HTTP %d, got %d: %s", http, a->status, a->body ? a->body : "");
    assert_string_equal(a->content_type, "application/json; charset=UTF-8");
    assert_non_null(a->json);
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(a->json, "error");
    int64_t code = 0;
    assert_true(em_json_int64(error, "code", &code));
    assert_int_equal(code, http);
    assert_string_equal(em_json_string(error, "status"), status);
}

/* Waits up to ms for the server to close fd; returns when it did (ms since start), or -1.
 * Whatever the server sent before closing is skipped. */
static int64_t raw_wait_closed(int fd, int64_t start, int ms)
{
    int64_t until = start + ms;
    for (;;) {
        int64_t left = until - unit_now_ms();
        if (left <= 0 || !raw_readable(fd, (int)left))
            return -1;
        char chunk[512];
        ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
        if (n <= 0)
            return unit_now_ms() - start;
    }
}

/* An abortive close (RST): the server's next read on the connection fails. */
static void reset_connection(int fd)
{
    struct linger at_once = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &at_once, sizeof(at_once));
    close(fd);
}

#define RESET_CALLS 12

static void test_stop_after_clients_reset_their_parked_calls(void **state)
{
    /* the clients reset their connections while their calls are parked, on a worker or
     * deferred: once a call is woken, libmicrohttpd's read fails and it ends the connection
     * without asking for the answer. Each call still completes (a deferred call's finish
     * runs), the server answers others, and stop does not wait for the calls */
    struct fixture *f = *state;
    const char *paths[] = {"/v1/tests/r:sleep?ms=300", "/v1/tests/d:defer"};
    int fds[RESET_CALLS];
    for (int i = 0; i < RESET_CALLS; i++) {
        fds[i] = unit_connect(f->port);
        assert_true(fds[i] >= 0);
        char request[256];
        snprintf(request, sizeof(request),
                 "POST %s HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n", paths[i % 2]);
        assert_true(raw_send(fds[i], request, strlen(request)));
    }
    assert_true(unit_wait_flag(&seen.slow_started, WAIT_MS));
    unit_sleep_ms(50); /* the deferred calls' readiers wait 100 ms */
    for (int i = 0; i < RESET_CALLS; i++)
        reset_connection(fds[i]);
    if (!wait_count(&seen.finishes, RESET_CALLS / 2, WAIT_MS))
        fail_msg("%d of %d deferred calls finished after their clients reset",
                 atomic_load(&seen.finishes), RESET_CALLS / 2);
    assert_true(unit_wait_flag(&seen.slow_finished, WAIT_MS));
    unit_sleep_ms(400); /* every sleep is over */
    answers_then_stops_at_once(f);
}

/* ---------------------------------------------------------------- edge requests */

/* "/v1/ping?p0=1&p1=1..." with count parameters (malloc'd) */
static char *path_with_params(int count)
{
    char *path = malloc((size_t)count * 16 + 16);
    assert_non_null(path);
    int n = sprintf(path, "/v1/ping?");
    for (int i = 0; i < count; i++) /* a system parameter: any method accepts it */
        n += sprintf(path + n, "%skey=%d", i ? "&" : "", i);
    return path;
}

static void test_too_many_query_parameters_are_refused_at_once(void **state)
{
    struct fixture *f = *state;
    struct reply r;
    char *path = path_with_params(EM_MAX_QUERY);
    http_call(f, NULL, "GET", path, NULL, QUICK_MS, &r);
    ok_is(&r, "{\"pong\":true}");
    reply_free(&r);
    free(path);

    /* one more: refused, not silently cut to EM_MAX_QUERY */
    path = path_with_params(EM_MAX_QUERY + 1);
    http_call(f, NULL, "GET", path, NULL, QUICK_MS, &r);
    error_is(&r, 400, "INVALID_ARGUMENT",
             "Too many query parameters: 33, at most 32 are accepted.");
    reply_free(&r);
    free(path);

    /* 463 used to exhaust MHD's memory pool and hang the connection for its timeout */
    int64_t start = unit_now_ms();
    path = path_with_params(463);
    http_call(f, NULL, "GET", path, NULL, QUICK_MS, &r);
    error_is(&r, 400, "INVALID_ARGUMENT",
             "Too many query parameters: 463, at most 32 are accepted.");
    reply_free(&r);
    free(path);
    path = path_with_params(1500); /* 15 KB: more records than MHD's pool could hold */
    http_call(f, NULL, "GET", path, NULL, QUICK_MS, &r);
    error_is(&r, 400, "INVALID_ARGUMENT", NULL);
    reply_free(&r);
    free(path);
    assert_true(unit_now_ms() - start < QUICK_MS);

    /* the server is fine afterwards */
    http_call(f, NULL, "GET", "/v1/ping?key=1&fields&alt=", NULL, QUICK_MS, &r);
    ok_is(&r, "{\"pong\":true}");
    reply_free(&r);
}

static void test_a_long_url_is_refused_with_json(void **state)
{
    struct fixture *f = *state;
    struct reply r;
    size_t len = EM_HTTP_MAX_URL + 100;
    char *path = malloc(len + 1);
    assert_non_null(path);
    memset(path, 'a', len);
    memcpy(path, "/v1/tests/", 10);
    path[len] = '\0';
    http_call(f, NULL, "GET", path, NULL, QUICK_MS, &r);
    error_is(&r, 414, "INVALID_ARGUMENT", NULL);
    reply_free(&r);
    /* with a query: refused as too long, whatever the parameters */
    memcpy(path, "/v1/ping?x=", 11);
    http_call(f, NULL, "GET", path, NULL, QUICK_MS, &r);
    error_is(&r, 414, "INVALID_ARGUMENT", NULL);
    reply_free(&r);
    free(path);
}

static void test_large_headers_are_refused_with_json(void **state)
{
    struct fixture *f = *state;
    size_t value_len = EM_HTTP_MAX_HEADER + 1000;
    size_t cap = value_len + 200;
    char *request = malloc(cap);
    assert_non_null(request);
    int n = snprintf(request, cap, "GET /v1/ping HTTP/1.1\r\nHost: test\r\nX-Big: ");
    memset(request + n, 'x', value_len);
    snprintf(request + n + value_len, cap - (size_t)n - value_len, "\r\n\r\n");
    int fd = unit_connect(f->port);
    assert_true(fd >= 0);
    assert_true(raw_send(fd, request, strlen(request)));
    struct raw_answer a;
    raw_read(fd, QUICK_MS, &a);
    raw_error_is(&a, 431, "INVALID_ARGUMENT");
    raw_answer_free(&a);
    close(fd);
    free(request);
}

static void test_head_is_get_without_a_body(void **state)
{
    struct fixture *f = *state;
    struct reply r;
    http_call(f, NULL, "HEAD", "/v1/ping", NULL, QUICK_MS, &r);
    if (r.rc != CURLE_OK)
        fail_msg("HEAD failed: %s", curl_easy_strerror(r.rc));
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "application/json; charset=UTF-8");
    assert_int_equal(r.len, 0);
    assert_int_equal(r.declared_len, strlen("{\"pong\":true}"));
    reply_free(&r);
    /* no GET route: the GET's error, without its body */
    http_call(f, NULL, "HEAD", "/v1/nothing", NULL, QUICK_MS, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 404);
    assert_int_equal(r.len, 0);
    reply_free(&r);
    /* a raw HEAD gets no body bytes: the next answer on the connection starts clean */
    int fd = unit_connect(f->port);
    assert_true(fd >= 0);
    const char *two = "HEAD /v1/ping HTTP/1.1\r\nHost: t\r\n\r\n"
                      "GET /v1/ping HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    assert_true(raw_send(fd, two, strlen(two)));
    struct raw_answer a;
    raw_read(fd, QUICK_MS, &a);
    assert_int_equal(a.status, 200);
    assert_non_null(a.body);
    assert_non_null(strstr(a.body, "HTTP/1.1 200 OK\r\n")); /* the GET's answer follows */
    assert_non_null(strstr(a.body, "{\"pong\":true}"));
    assert_int_equal(strncmp(a.body, "HTTP/1.1 200", 12), 0); /* nothing before it */
    raw_answer_free(&a);
    close(fd);
}

/* Sends up to `chunks` chunks of MAX_BODY / 4 bytes, stopping when an answer comes
 * (looked for wait_ms before each chunk), then the terminator if all went out and `end`;
 * returns the chunks sent. */
static int send_chunks(int fd, int chunks, int wait_ms, bool end)
{
    size_t chunk_len = MAX_BODY / 4;
    char *chunk = malloc(chunk_len + 32);
    assert_non_null(chunk);
    int n = sprintf(chunk, "%zx\r\n", chunk_len);
    memset(chunk + n, ' ', chunk_len);
    memcpy(chunk + n + chunk_len, "\r\n", 2);
    int sent = 0;
    while (sent < chunks && !raw_readable(fd, wait_ms) &&
           raw_send(fd, chunk, (size_t)n + chunk_len + 2))
        sent++;
    if (sent == chunks && end)
        raw_send(fd, "0\r\n\r\n", 5);
    free(chunk);
    return sent;
}

static int connect_and_send_head(struct fixture *f, const char *extra_headers)
{
    int fd = unit_connect(f->port);
    assert_true(fd >= 0);
    char head[512];
    snprintf(head, sizeof(head),
             "POST /v1/tests/b:echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
             "%s\r\n",
             extra_headers);
    assert_true(raw_send(fd, head, strlen(head)));
    return fd;
}

static void expect_413_and_close(int fd)
{
    struct raw_answer a;
    raw_read(fd, CLIENT_MS, &a);
    raw_error_is(&a, 413, "INVALID_ARGUMENT");
    raw_answer_free(&a);
    close(fd);
}

static void test_an_oversized_body_gets_its_413(void **state)
{
    struct fixture *f = *state;
    char headers[128];
    /* announced far over the limit: answered from the headers, the body never sent */
    snprintf(headers, sizeof(headers), "Content-Length: %d\r\n", MAX_BODY + EM_HTTP_DRAIN_MAX + 1);
    expect_413_and_close(connect_and_send_head(f, headers));
    /* announced over it with Expect: 100-continue: answered at once, no 100 Continue */
    snprintf(headers, sizeof(headers), "Content-Length: %d\r\nExpect: 100-continue\r\n",
             MAX_BODY + 1);
    int fd = connect_and_send_head(f, headers);
    struct raw_answer a;
    raw_read(fd, CLIENT_MS, &a);
    raw_error_is(&a, 413, "INVALID_ARGUMENT");
    assert_null(strstr(a.body ? a.body : "", "100 Continue"));
    raw_answer_free(&a);
    close(fd);

    /* announced a little over it, and sent whole, as most clients do: the body is read
     * and dropped, and the answer, not a reset, reaches the client after it */
    size_t len = MAX_BODY + MAX_BODY / 2;
    snprintf(headers, sizeof(headers), "Content-Length: %zu\r\n", len);
    fd = connect_and_send_head(f, headers);
    char *body = malloc(len);
    assert_non_null(body);
    memset(body, ' ', len);
    assert_true(raw_send(fd, body, len));
    free(body);
    expect_413_and_close(fd);

    /* chunked, a little over: the same, answered after the terminator */
    fd = connect_and_send_head(f, "Transfer-Encoding: chunked\r\n");
    assert_int_equal(send_chunks(fd, 6, 0, true), 6);
    expect_413_and_close(fd);
    /* chunked, on and on: answered once the limit and the drain are passed (4 chunks fill
     * the limit, 4 more the drain, the 9th passes it) */
    fd = connect_and_send_head(f, "Transfer-Encoding: chunked\r\n");
    int sent = send_chunks(fd, 16, 50, false);
    expect_413_and_close(fd);
    assert_true(sent >= 9 && sent <= 10);

    /* under the limit, chunked still works */
    struct reply r;
    http_call(f, NULL, "POST", "/v1/tests/b:echo", "{\"text\": \"small\"}", CLIENT_MS, &r);
    ok_is(&r, "{\"text\":\"small\"}");
    reply_free(&r);
}

/* ---------------------------------------------------------------- the first request's head */

/* text, whose length is len, followed by count copies of fill and then tail (malloc'd). */
static char *request_with(const char *text, char fill, size_t count, const char *tail)
{
    size_t len = strlen(text);
    char *request = malloc(len + count + strlen(tail) + 1);
    assert_non_null(request);
    memcpy(request, text, len);
    memset(request + len, fill, count);
    strcpy(request + len + count, tail);
    return request;
}

/* Sends request on a new connection; asserts Google's JSON error with http and status, a
 * message containing words, and that the server then closes the connection. */
static void refused_at_once(struct fixture *f, const char *request, int http, const char *status,
                            const char *words)
{
    int fd = unit_connect(f->port);
    assert_true(fd >= 0);
    int64_t start = unit_now_ms();
    assert_true(raw_send(fd, request, strlen(request)));
    struct raw_answer a;
    raw_read(fd, QUICK_MS, &a);
    raw_error_is(&a, http, status);
    const char *message =
        em_json_string(cJSON_GetObjectItemCaseSensitive(a.json, "error"), "message");
    if (!message || !strstr(message, words))
        fail_msg("the message \"%s\" does not say \"%s\"", message ? message : "", words);
    if (raw_wait_closed(fd, start, QUICK_MS) < 0)
        fail_msg("the connection stayed open after the answer to \"%.40s\"", request);
    raw_answer_free(&a);
    close(fd);
}

/* What libmicrohttpd 0.9.75 answers with its own HTML page (or not at all) before any of
 * em_http's code runs, answered in Google's JSON on a connection's first request. */
static void test_a_malformed_first_request_gets_json(void **state)
{
    struct fixture *f = *state;
    refused_at_once(f, "GET /v1/ping HTTP/3.0\r\nHost: t\r\n\r\n", 505, "UNIMPLEMENTED",
                    "HTTP version HTTP/3.0 is not supported");
    refused_at_once(f, "GET /v1/ping HTTP/2.0\r\nHost: t\r\n\r\n", 505, "UNIMPLEMENTED",
                    "HTTP/2.0");
    refused_at_once(f, "GET /v1/ping\r\nHost: t\r\n\r\n", 400, "INVALID_ARGUMENT",
                    "no HTTP version");
    refused_at_once(f, "\x16\x03\x01 {garbage} ??\r\n\r\n", 400, "INVALID_ARGUMENT",
                    "Malformed request line");
    refused_at_once(f, "GARBAGE\r\n\r\n", 400, "INVALID_ARGUMENT", "no spaces");
    refused_at_once(f, "GET /v1/ping HTTP/1.1\r\nHost: t\r\nNo colon here\r\n\r\n", 400,
                    "INVALID_ARGUMENT", "\"No colon here\": no colon");
    refused_at_once(f, "GET /v1/ping HTTP/1.1\r\nX-A: 1\r\n\r\n", 400, "INVALID_ARGUMENT",
                    "must have a Host header");
    refused_at_once(f, "POST /v1/tests/h:echo HTTP/1.1\r\nHost: t\r\nContent-Length: 12abc\r\n\r\n",
                    400, "INVALID_ARGUMENT", "Content-Length header \"12abc\" is not a number");
    refused_at_once(f,
                    "POST /v1/tests/h:echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n"
                    "Content-Length: 12\r\n\r\n{}",
                    400, "INVALID_ARGUMENT", "different values (2 and 12)");

    /* over libmicrohttpd's memory for a connection (64 KB): its 431 and 414 pages */
    char *request =
        request_with("GET /v1/ping HTTP/1.1\r\nHost: t\r\nX-Big: ", 'x', 70 * 1024, "\r\n\r\n");
    refused_at_once(f, request, 431, "INVALID_ARGUMENT", "headers are too large");
    free(request);
    request = request_with("GET /v1/tests/", 'a', 70 * 1024, " HTTP/1.1\r\nHost: t\r\n\r\n");
    refused_at_once(f, request, 414, "INVALID_ARGUMENT", "URL is too long");
    free(request);

    /* the server is fine afterwards, and still serves what libmicrohttpd tolerates */
    struct reply r;
    http_call(f, NULL, "GET", "/v1/ping", NULL, QUICK_MS, &r);
    ok_is(&r, "{\"pong\":true}");
    reply_free(&r);
    int fd = unit_connect(f->port);
    assert_true(fd >= 0);
    const char *bare_lf = "\r\nGET /v1/ping HTTP/1.1\nHost: t\nConnection: close\n\n";
    assert_true(raw_send(fd, bare_lf, strlen(bare_lf)));
    struct raw_answer a;
    raw_read(fd, QUICK_MS, &a);
    assert_int_equal(a.status, 200);
    raw_answer_free(&a);
    close(fd);
}

/* The head of a first request may come in pieces, or after a while: it is served whole. */
static void test_a_first_request_in_pieces_is_served(void **state)
{
    struct fixture *f = *state;
    const char *pieces[] = {"PO", "ST /v1/tests/p:echo HTTP/1.1\r\nHo",
                            "st: t\r\nContent-Length: 1", "8\r\n\r", "\n{\"text\": \"pieces\"}"};
    int fd = unit_connect(f->port);
    assert_true(fd >= 0);
    unit_sleep_ms(300); /* connected, silent */
    for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
        assert_true(raw_send(fd, pieces[i], strlen(pieces[i])));
        unit_sleep_ms(50);
    }
    struct raw_answer a;
    raw_read(fd, CLIENT_MS, &a);
    assert_int_equal(a.status, 200);
    assert_non_null(a.body);
    assert_string_equal(a.body, "{\"text\":\"pieces\"}");
    assert_false(a.closed);
    raw_answer_free(&a);
    /* the connection goes on with libmicrohttpd */
    const char *second = "GET /v1/ping HTTP/1.1\r\nHost: t\r\n\r\n";
    assert_true(raw_send(fd, second, strlen(second)));
    raw_read(fd, QUICK_MS, &a);
    assert_int_equal(a.status, 200);
    raw_answer_free(&a);
    close(fd);
}

/* ---------------------------------------------------------------- slow clients */

static void test_slow_clients_leave_the_server_answering(void **state)
{
    struct fixture *f = *state;
    static int fds[SLOW_CLIENTS];
    int opened = 0;
    const char *start = "POST /v1/tests/s:echo HTTP/1.1\r\nHost: t\r\nX-Slow: 1\r\n";
    for (; opened < SLOW_CLIENTS; opened++) {
        fds[opened] = unit_connect(f->port);
        if (fds[opened] < 0 || !raw_send(fds[opened], start, strlen(start)))
            break;
    }
    if (opened < SLOW_CLIENTS)
        fail_msg("only %d slow connections could be opened", opened);
    /* the server accepts them all (a thread per connection takes a while to start that
     * many threads, longer under ASan), then answers beside them at once */
    struct reply r = {0};
    int64_t begin = unit_now_ms();
    do {
        reply_free(&r);
        http_call(f, NULL, "GET", "/v1/ping", NULL, QUICK_MS, &r);
    } while (r.rc != CURLE_OK && unit_now_ms() - begin < SETTLE_MS);
    int64_t settle_ms = unit_now_ms() - begin;
    ok_is(&r, "{\"pong\":true}");
    reply_free(&r);
    begin = unit_now_ms();
    http_call(f, NULL, "GET", "/v1/ping", NULL, QUICK_MS, &r);
    int64_t ping_ms = unit_now_ms() - begin;
    ok_is(&r, "{\"pong\":true}");
    reply_free(&r);
    http_call(f, NULL, "POST", "/v1/tests/s:echo", "{\"text\": \"meanwhile\"}", QUICK_MS, &r);
    ok_is(&r, "{\"text\":\"meanwhile\"}");
    reply_free(&r);
    print_message("/v1/ping answered in %lld ms beside %d slow connections (first after %lld ms)\n",
                  (long long)ping_ms, opened, (long long)settle_ms);
    for (int i = 0; i < opened; i++)
        close(fds[i]);
}

/* Sends text a byte at a time, every gap_ms, until the server closes the connection or
 * ms pass; returns when it closed (ms since the first byte), or -1. */
static int64_t dribble(int fd, const char *text, int gap_ms, int ms)
{
    int64_t start = unit_now_ms();
    for (size_t i = 0; unit_now_ms() - start < ms; i = (i + 1) % strlen(text)) {
        if (!raw_send(fd, text + i, 1))
            return unit_now_ms() - start;
        if (raw_readable(fd, gap_ms))
            return raw_wait_closed(fd, start, ms);
    }
    return -1;
}

static void test_a_request_must_arrive_within_its_deadline(void **state)
{
    struct fixture *f = *state;
    int limit = DEADLINE_MS + 1200; /* the deadline, a sweep, and a loaded machine */

    /* header lines, one every 200 ms */
    int fd = unit_connect(f->port);
    assert_true(fd >= 0);
    assert_true(raw_send(fd, "GET /v1/ping HTTP/1.1\r\nHost: t\r\n", 32));
    int64_t start = unit_now_ms();
    int64_t closed = -1;
    for (int i = 0; closed < 0 && unit_now_ms() - start < limit + 500; i++) {
        char line[32];
        int n = snprintf(line, sizeof(line), "X-Slow-%d: 1\r\n", i);
        if (!raw_send(fd, line, (size_t)n) || raw_readable(fd, 200))
            closed = raw_wait_closed(fd, start, limit + 500);
    }
    close(fd);
    if (closed < DEADLINE_MS || closed > limit)
        fail_msg("slow headers: closed after %lld ms, expected %d to %d", (long long)closed,
                 DEADLINE_MS, limit);

    /* the request line itself, a byte at a time: the deadline runs from its first byte,
     * which the server notices within a second */
    fd = unit_connect(f->port);
    assert_true(fd >= 0);
    closed = dribble(fd, "GET /v1/ping?aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 100,
                     limit + 1500);
    close(fd);
    if (closed < DEADLINE_MS || closed > limit + 1000)
        fail_msg("slow request line: closed after %lld ms, expected %d to %d", (long long)closed,
                 DEADLINE_MS, limit + 1000);

    /* the same on a connection that has served a request already */
    fd = unit_connect(f->port);
    assert_true(fd >= 0);
    const char *first = "GET /v1/ping HTTP/1.1\r\nHost: t\r\n\r\n";
    assert_true(raw_send(fd, first, strlen(first)));
    struct raw_answer a;
    raw_read(fd, QUICK_MS, &a);
    assert_int_equal(a.status, 200);
    assert_false(a.closed);
    raw_answer_free(&a);
    unit_sleep_ms(300); /* idle a little: the sweeper reads the count it became idle with */
    closed = dribble(fd, "GET /v1/ping?bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", 100,
                     limit + 2500);
    close(fd);
    if (closed < DEADLINE_MS || closed > limit + 2000)
        fail_msg("slow second request: closed after %lld ms, expected %d to %d", (long long)closed,
                 DEADLINE_MS, limit + 2000);

    /* a body, a byte every 100 ms */
    fd = unit_connect(f->port);
    assert_true(fd >= 0);
    const char *head = "POST /v1/tests/d:echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n";
    assert_true(raw_send(fd, head, strlen(head)));
    closed = dribble(fd, "{\"text\": \"", 100, limit + 500);
    close(fd);
    if (closed < 0 || closed > limit)
        fail_msg("slow body: closed after %lld ms, expected at most %d", (long long)closed, limit);
}

/* The deadline runs from the first byte of the head, not from where the server takes the
 * connection over from the acceptor: a head that took most of it leaves the body the rest. */
static void test_the_deadline_counts_the_time_the_head_took(void **state)
{
    struct fixture *f = *state;
    int fd = unit_connect(f->port);
    assert_true(fd >= 0);
    const char *start = "POST /v1/tests/d:echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n";
    assert_true(raw_send(fd, start, strlen(start)));
    int64_t first_byte = unit_now_ms();
    for (int i = 0; i < 8; i++) { /* 800 ms of header lines */
        char line[32];
        int n = snprintf(line, sizeof(line), "X-Slow-%d: 1\r\n", i);
        assert_true(raw_send(fd, line, (size_t)n));
        unit_sleep_ms(100);
    }
    assert_true(raw_send(fd, "\r\n", 2));
    int64_t body_start = unit_now_ms();
    int64_t closed = dribble(fd, "{\"text\": \"", 100, DEADLINE_MS * 3);
    close(fd);
    if (closed < 0)
        fail_msg("the slow body was never cut");
    closed += body_start - first_byte; /* dribble counts from the body's first byte */
    if (closed < DEADLINE_MS || closed > DEADLINE_MS + 600)
        fail_msg("closed %lld ms after the first byte, expected %d to %d", (long long)closed,
                 DEADLINE_MS, DEADLINE_MS + 600);
}

static void test_an_idle_connection_outlives_the_request_deadline(void **state)
{
    struct fixture *f = *state;
    CURL *h = curl_easy_init();
    assert_non_null(h);
    struct reply r;
    http_call(f, h, "GET", "/v1/ping", NULL, QUICK_MS, &r);
    ok_is(&r, "{\"pong\":true}");
    long connects = r.connects;
    reply_free(&r);
    unit_sleep_ms(DEADLINE_MS * 2);
    http_call(f, h, "GET", "/v1/ping", NULL, QUICK_MS, &r);
    ok_is(&r, "{\"pong\":true}");
    connects += r.connects;
    reply_free(&r);
    assert_int_equal(connects, 1); /* the same connection */

    /* a call that takes longer than the deadline is not cut: it has arrived */
    http_call(f, h, "POST", "/v1/tests/i:sleep?ms=1500", NULL, CLIENT_MS, &r);
    ok_is(&r, "{}");
    reply_free(&r);
    curl_easy_cleanup(h);
}

int main(void)
{
    em_log_init("test", EM_LOG_ERROR);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
#define T(name)  cmocka_unit_test_setup_teardown(name, setup_pool, teardown)
#define TC(name) cmocka_unit_test_setup_teardown(name, setup_thread_per_connection, teardown)
#define TD(name) cmocka_unit_test_setup_teardown(name, setup_short_deadline, teardown)
#define TDC(name)                                                                                  \
    cmocka_unit_test_setup_teardown(name, setup_short_deadline_thread_per_connection, teardown)
    const struct CMUnitTest tests[] = {
        T(test_a_blocking_call_is_parked_while_others_are_answered),
        T(test_many_blocking_calls_wait_at_once),
        T(test_a_blocking_call_gets_its_body_and_errors),
        T(test_a_deferred_call_frees_the_http_thread),
        T(test_a_deferred_failure_is_a_google_error),
        T(test_a_call_ready_before_its_handler_returns),
        T(test_a_blocking_handler_may_defer),
        TC(test_deferred_calls_without_a_pool),
        T(test_stop_refuses_new_calls_and_waits_for_those_in_flight),
        T(test_stop_with_nothing_in_flight_is_quick),
        T(test_stop_after_a_client_gave_up_on_a_parked_call),
        T(test_stop_after_clients_reset_their_parked_calls),
        T(test_a_long_call_learns_that_its_client_has_gone),
        TC(test_a_long_call_learns_that_its_client_has_gone),
        T(test_keep_alive_across_parked_calls),
        T(test_too_many_query_parameters_are_refused_at_once),
        T(test_a_long_url_is_refused_with_json),
        T(test_large_headers_are_refused_with_json),
        T(test_head_is_get_without_a_body),
        T(test_an_oversized_body_gets_its_413),
        T(test_a_malformed_first_request_gets_json),
        TC(test_a_malformed_first_request_gets_json),
        T(test_a_first_request_in_pieces_is_served),
        TC(test_a_first_request_in_pieces_is_served),
        T(test_slow_clients_leave_the_server_answering),
        TC(test_slow_clients_leave_the_server_answering),
        TD(test_a_request_must_arrive_within_its_deadline),
        TDC(test_a_request_must_arrive_within_its_deadline),
        TD(test_the_deadline_counts_the_time_the_head_took),
        TDC(test_the_deadline_counts_the_time_the_head_took),
        TD(test_an_idle_connection_outlives_the_request_deadline),
    };
#undef T
#undef TC
#undef TD
#undef TDC
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
