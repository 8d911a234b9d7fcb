/*
 * test_stream: streaming replies (em_call.h, "Streaming replies"), the way Google's REST
 * streaming methods answer: one JSON array whose elements go out as they are produced.
 *
 * Through em_dispatch, with no transport (as tests and fuzz targets call it): the whole
 * array comes back in call->response; [] for no element; an error before the first
 * element is Google's error JSON with its HTTP status, after elements the array's last
 * element with 200; IAM is checked before the handler and the audit entry carries the
 * final code; enums follow `$alt=json;enum-encoding=int` in every element; a handler
 * streaming on a route that is not a streaming one fails INTERNAL.
 *
 * Over a real server (127.0.0.1, a free port below 32768, ONE epoll thread, a service
 * WITHOUT blocking handlers: streaming routes still run on a worker), driven by libcurl
 * and raw sockets: many elements, large elements, a slow producer whose first element
 * arrives long before its last while the HTTP thread answers others, a client that does
 * not read holding the producer back (bounded buffering), a client that goes away
 * mid-stream (the producer is told, CANCELLED, whether it was waiting for room or
 * producing slowly; the server stops cleanly after), errors before and after the first
 * element, and a keep-alive connection reused after a stream.
 *
 * Every wait is bounded: clients time out, and handlers stop after their count.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "em_audit.h"
#include "em_call.h"
#include "em_http.h"
#include "em_iam.h"
#include "em_json.h"
#include "em_schema.h"
#include "unit_net.h"
#include "unit_util.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT   "user:developer@example.com"
#define TABLE     "projects/p/tables/t"
#define READ_ROWS "cloudkms.cryptoKeyVersions.useToEncrypt" /* any permission a role grants */
#define CLIENT_MS 20000                                     /* client timeout */
#define WAIT_MS   5000 /* how long a test waits for the handler to notice something */
#define ENDLESS   1000000000

/* ---------------------------------------------------------------- small helpers */

/* Waits until *count stops growing for quiet_ms (at most ms); returns its value. */
static int wait_settled(atomic_int *count, int quiet_ms, int ms)
{
    int64_t until = unit_now_ms() + ms;
    int last = atomic_load(count);
    int64_t since = unit_now_ms();
    while (unit_now_ms() < until && unit_now_ms() - since < quiet_ms) {
        unit_sleep_ms(10);
        int now = atomic_load(count);
        if (now != last) {
            last = now;
            since = unit_now_ms();
        }
    }
    return last;
}

/* ---------------------------------------------------------------- the streaming handler */

/* What the handler did, for the tests to look at. */
static struct {
    atomic_int runs, produced;
    atomic_bool cancelled, returned;
    enum em_code last_code;
} rows;

static int body_int(const struct em_call *call, const char *name, int fallback)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(call->body, name);
    return cJSON_IsNumber(v) ? v->valueint : fallback;
}

static cJSON *row_new(int index, int size)
{
    cJSON *row = cJSON_CreateObject();
    cJSON_AddNumberToObject(row, "index", index);
    cJSON_AddStringToObject(row, "state", index % 2 ? "OFF" : "ON");
    if (size > 0) {
        char *data = malloc((size_t)size + 1);
        assert_non_null(data);
        memset(data, 'a' + index % 26, (size_t)size);
        data[size] = '\0';
        cJSON_AddStringToObject(row, "data", data);
        free(data);
    }
    return row;
}

/* Body: count elements of size bytes each, delay ms before each; fail: fails (with
 * FAILED_PRECONDITION) once that many were sent. */
static enum em_code handle_rows(struct em_call *call)
{
    atomic_fetch_add(&rows.runs, 1);
    int count = body_int(call, "count", 0), size = body_int(call, "size", 0);
    int fail = body_int(call, "fail", -1), delay = body_int(call, "delay", 0);
    enum em_code code = EM_OK;
    for (int i = 0; code == EM_OK; i++) {
        if (i == fail) {
            code = EM_CALL_FAIL(call, EM_FAILED_PRECONDITION, "Row %d is unreadable.", i);
            break;
        }
        if (i == count)
            break;
        if (delay > 0)
            unit_sleep_ms(delay);
        code = em_call_stream_element(call, row_new(i, size));
        if (code == EM_OK)
            atomic_fetch_add(&rows.produced, 1);
    }
    rows.last_code = code;
    atomic_store(&rows.cancelled, code == EM_CANCELLED);
    atomic_store(&rows.returned, true);
    return code;
}

/* Streams on a route that is not a streaming one. */
static enum em_code handle_misused(struct em_call *call)
{
    return em_call_stream_element(call, row_new(0, 0));
}

/* --- a never_blocks streaming route: small answers from the HTTP thread --- */

#define SMALL_ROWS 10 /* quickRows moves a call of more rows to a worker */

static atomic_int quick_inline, quick_on_worker;

/* The deferred part of quickRows: the rows, produced by finish once a thread of ours
 * said the work was done ("delay" ms later). */
static void quick_finish(struct em_call *call)
{
    int count = body_int(call, "count", 0), fail = body_int(call, "fail", -1);
    for (int i = 0; i < count && i != fail; i++)
        if (em_call_stream_element(call, row_new(i, 0)))
            return;
    if (fail >= 0)
        EM_CALL_FAIL(call, EM_FAILED_PRECONDITION, "Row %d is unreadable.", fail);
}

static void *quick_work(void *call)
{
    unit_sleep_ms(body_int(call, "delay", 0));
    em_call_ready(call);
    return NULL;
}

/* Body as for readRows; more than SMALL_ROWS rows go to a worker and are streamed by
 * handle_rows. */
static enum em_code handle_quick_rows(struct em_call *call)
{
    if (em_call_may_block(call)) {
        atomic_fetch_add(&quick_on_worker, 1);
        return handle_rows(call);
    }
    if (body_int(call, "count", 0) > SMALL_ROWS)
        return em_call_to_worker(call);
    atomic_fetch_add(&quick_inline, 1);
    em_call_defer(call, quick_finish, NULL);
    pthread_t worker;
    if (pthread_create(&worker, NULL, quick_work, call) != 0) {
        em_call_ready(call);
        return EM_OK;
    }
    pthread_detach(worker);
    return EM_OK;
}

static enum em_code handle_ping(struct em_call *call)
{
    cJSON *reply = cJSON_CreateObject();
    cJSON_AddBoolToObject(reply, "pong", true);
    return em_call_reply(call, reply);
}

static const struct em_field request_fields[] = {{"count", EM_F_INT32},
                                                 {"size", EM_F_INT32},
                                                 {"fail", EM_F_INT32},
                                                 {"delay", EM_F_INT32},
                                                 {NULL}};
static const struct em_message request_msg = {"test.v1.ReadRowsRequest", request_fields};

static const struct em_enum_value state_values[] = {
    {"STATE_UNSPECIFIED", 0}, {"ON", 1}, {"OFF", 2}, {NULL}};
static const struct em_enum state_enum = {"test.v1.Row.State", state_values};
static const struct em_field row_fields[] = {{"index", EM_F_INT32},
                                             {"state", EM_F_ENUM, false, NULL, &state_enum},
                                             {"data", EM_F_STRING},
                                             {NULL}};
static const struct em_message row_msg = {"test.v1.Row", row_fields};

static const struct em_route routes[] = {
    {"POST", "v1/{name=projects/*/tables/*}:readRows", handle_rows, "ReadRows", &request_msg, NULL,
     READ_ROWS, EM_AUDIT_DATA_ACCESS, .streaming = true, .reply = &row_msg},
    {"POST", "v1/{name=projects/*/tables/*}:streamRows", handle_rows, "StreamRows", &request_msg,
     .streaming = true},
    {"POST", "v1/{name=projects/*/tables/*}:misused", handle_misused, "Misused"},
    {"GET", "v1/ping", handle_ping, "Ping"},
    {"POST", "v1/{name=projects/*/tables/*}:quickRows", handle_quick_rows, "QuickRows",
     &request_msg, .streaming = true, .never_blocks = true},
};

static const struct em_service_desc desc = {.name = "streamtest"};
static const struct em_service_def def = {.desc = &desc};

static void rows_reset(void)
{
    atomic_store(&rows.runs, 0);
    atomic_store(&rows.produced, 0);
    atomic_store(&rows.cancelled, false);
    atomic_store(&rows.returned, false);
    rows.last_code = EM_OK;
    atomic_store(&quick_inline, 0);
    atomic_store(&quick_on_worker, 0);
}

/* Asserts that text is a JSON array of `count` rows 0.. in order, plus, when error_status
 * is given, Google's error as its last element; returns the parsed array. */
static cJSON *array_is(const char *text, size_t len, int count, const char *error_status)
{
    cJSON *array = cJSON_ParseWithLength(text, len);
    if (!cJSON_IsArray(array))
        fail_msg("not a JSON array: %.200s", text);
    int elements = cJSON_GetArraySize(array);
    assert_int_equal(elements, count + (error_status ? 1 : 0));
    int i = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, array)
    {
        if (i == count)
            break;
        int64_t index = -1;
        assert_true(em_json_int64(row, "index", &index));
        assert_int_equal(index, i);
        i++;
    }
    if (error_status) {
        const cJSON *error = cJSON_GetObjectItemCaseSensitive(row, "error");
        assert_non_null(error);
        assert_string_equal(em_json_string(error, "status"), error_status);
        int64_t code = 0;
        assert_true(em_json_int64(error, "code", &code));
        assert_int_equal(code, em_code_http((enum em_code)em_code_from_name(error_status)));
        assert_non_null(em_json_string(error, "message"));
    }
    return array;
}

/* ================================================================ through em_dispatch */

struct dispatch_fixture {
    struct unit_dir dir;
    struct em_service svc;
    struct em_router *router;
    struct em_call call;
};

static int dispatch_setup(void **state)
{
    struct dispatch_fixture *f = calloc(1, sizeof(*f));
    struct em_status st = {0};
    if (!f || unit_dir_open(&f->dir) || em_iam_open(f->dir.store, &st))
        return -1;
    f->svc.def = &def;
    f->svc.store = f->dir.store;
    snprintf(f->svc.config.default_principal, sizeof(f->svc.config.default_principal), DEFAULT);
    f->router = em_router_new();
    if (!f->router || em_router_add(f->router, routes, sizeof(routes) / sizeof(routes[0]), &st) ||
        em_audit_open(f->dir.store, 1000, &f->svc.audit, &st))
        return -1;
    rows_reset();
    *state = f;
    return 0;
}

static int dispatch_teardown(void **state)
{
    struct dispatch_fixture *f = *state;
    em_call_reset(&f->call);
    em_audit_close(f->svc.audit);
    em_router_free(f->router);
    unit_dir_close(&f->dir);
    free(f);
    return 0;
}

static void dispatch(struct dispatch_fixture *f, const char *path, const char *body,
                     const char *authorization)
{
    em_call_reset(&f->call);
    memset(&f->call, 0, sizeof(f->call));
    f->call.method = "POST";
    f->call.path = path;
    f->call.body_text = body;
    f->call.body_len = strlen(body);
    f->call.authorization = authorization;
    f->call.svc = &f->svc;
    assert_true(em_dispatch(f->router, &f->call));
    assert_non_null(f->call.response);
    assert_string_equal(f->call.content_type, "application/json; charset=UTF-8");
}

static void test_dispatch_returns_the_whole_array(void **state)
{
    struct dispatch_fixture *f = *state;
    dispatch(f, "/v1/" TABLE ":readRows", "{\"count\": 1000}", NULL);
    assert_int_equal(f->call.http_status, 200);
    cJSON_Delete(array_is(f->call.response, f->call.response_len, 1000, NULL));
    assert_int_equal(atomic_load(&rows.produced), 1000);
}

static void test_no_element_is_an_empty_array(void **state)
{
    struct dispatch_fixture *f = *state;
    dispatch(f, "/v1/" TABLE ":readRows", "{}", NULL);
    assert_int_equal(f->call.http_status, 200);
    assert_string_equal(f->call.response, "[]");
}

static void test_an_error_before_the_first_element_is_googles_error(void **state)
{
    struct dispatch_fixture *f = *state;
    dispatch(f, "/v1/" TABLE ":readRows", "{\"count\": 5, \"fail\": 0}", NULL);
    assert_int_equal(f->call.http_status, 400);
    assert_string_equal(f->call.response, "{\"error\":{\"code\":400,\"message\":\"Row 0 is "
                                          "unreadable.\",\"status\":\"FAILED_PRECONDITION\"}}");
}

static void test_an_error_after_elements_is_the_last_element(void **state)
{
    struct dispatch_fixture *f = *state;
    dispatch(f, "/v1/" TABLE ":readRows", "{\"count\": 5, \"fail\": 3}", NULL);
    assert_int_equal(f->call.http_status, 200);
    cJSON *array = array_is(f->call.response, f->call.response_len, 3, "FAILED_PRECONDITION");
    cJSON_Delete(array);
    assert_non_null(strstr(f->call.response,
                           ",{\"error\":{\"code\":400,\"message\":\"Row 3 is "
                           "unreadable.\",\"status\":\"FAILED_PRECONDITION\"}}]"));
}

static void test_a_bad_request_is_refused_before_the_handler(void **state)
{
    struct dispatch_fixture *f = *state;
    dispatch(f, "/v1/" TABLE ":readRows", "{\"count\": \"many\"}", NULL);
    assert_int_equal(f->call.http_status, 400);
    assert_non_null(strstr(f->call.response, "INVALID_ARGUMENT"));
    assert_int_equal(atomic_load(&rows.runs), 0);
}

static void test_iam_is_checked_before_the_stream(void **state)
{
    struct dispatch_fixture *f = *state;
    f->svc.config.iam_enforce = true;
    dispatch(f, "/v1/" TABLE ":readRows", "{\"count\": 2}", "Bearer user:mallory@example.com");
    assert_int_equal(f->call.http_status, 403);
    assert_string_equal(f->call.response,
                        "{\"error\":{\"code\":403,\"message\":\"Permission '" READ_ROWS
                        "' denied on resource '" TABLE "' (or it may not exist).\",\"status\":"
                        "\"PERMISSION_DENIED\"}}");
    assert_int_equal(atomic_load(&rows.runs), 0);
    dispatch(f, "/v1/" TABLE ":readRows", "{\"count\": 2}", "Bearer " DEFAULT);
    assert_int_equal(f->call.http_status, 200);
    cJSON_Delete(array_is(f->call.response, f->call.response_len, 2, NULL));
}

struct audit_rows {
    int count;
    char text[4][300];
};

static bool audit_row(const struct em_audit_row *row, void *arg)
{
    struct audit_rows *r = arg;
    const struct em_audit_entry *e = &row->entry;
    if (r->count < 4)
        snprintf(r->text[r->count], sizeof(r->text[0]), "%s|%d|%s|%s|%s|%d|%s", e->service,
                 (int)e->kind, e->principal, e->method, e->resource, e->code,
                 e->message ? e->message : "-");
    r->count++;
    return true;
}

static void test_a_stream_is_audited_once_with_its_final_code(void **state)
{
    struct dispatch_fixture *f = *state;
    dispatch(f, "/v1/" TABLE ":readRows", "{\"count\": 4}", NULL);
    dispatch(f, "/v1/" TABLE ":readRows", "{\"count\": 4, \"fail\": 2}", NULL);
    struct em_status st = {0};
    assert_int_equal(em_audit_flush(f->svc.audit, &st), EM_OK);
    struct audit_rows seen = {0};
    assert_int_equal(em_audit_scan(f->dir.store, false, 0, audit_row, &seen, &st), EM_OK);
    assert_int_equal(seen.count, 2);
    assert_string_equal(seen.text[0], "streamtest|1|" DEFAULT "|ReadRows|" TABLE "|0|-");
    assert_string_equal(seen.text[1],
                        "streamtest|1|" DEFAULT "|ReadRows|" TABLE "|9|Row 2 is unreadable.");
}

static void test_every_element_follows_the_enum_encoding(void **state)
{
    struct dispatch_fixture *f = *state;
    dispatch(f, "/v1/" TABLE ":readRows", "{\"count\": 2}", NULL);
    assert_string_equal(f->call.response,
                        "[{\"index\":0,\"state\":\"ON\"},{\"index\":1,\"state\":\"OFF\"}]");
    em_call_reset(&f->call);
    memset(&f->call, 0, sizeof(f->call));
    f->call.method = "POST";
    f->call.path = "/v1/" TABLE ":readRows";
    f->call.body_text = "{\"count\": 2}";
    f->call.body_len = strlen(f->call.body_text);
    f->call.query[0] = (struct em_query_arg){"$alt", "json;enum-encoding=int"};
    f->call.query_count = 1;
    f->call.svc = &f->svc;
    em_dispatch(f->router, &f->call);
    assert_string_equal(f->call.response, "[{\"index\":0,\"state\":1},{\"index\":1,\"state\":2}]");
}

static void test_streaming_on_a_plain_route_is_an_internal_error(void **state)
{
    struct dispatch_fixture *f = *state;
    dispatch(f, "/v1/" TABLE ":misused", "", NULL);
    assert_int_equal(f->call.http_status, 500);
    assert_non_null(strstr(f->call.response, "Misused is not a streaming method."));
}

/* ================================================================ over HTTP */

struct reply {
    CURLcode rc;
    long status, connects;
    curl_off_t declared_len;
    char *body;
    size_t len, cap;
    int64_t started_ms, first_byte_ms, done_ms;
    int stall_ms; /* the client reads nothing for this long after the first bytes */
    bool stalled;
};

/* A request on a thread of its own; the fixture owns it, so that teardown joins it (each
 * is bounded by its client timeout) even when an assertion failed. */
struct async_post {
    struct http_fixture *f;
    const char *path, *body;
    struct reply r;
    pthread_t thread;
    bool started;
};

#define MAX_ASYNC 2

static void async_post_join(struct async_post *a);

struct http_fixture {
    struct async_post calls[MAX_ASYNC];
    int call_count;
    struct em_service svc;
    struct em_router *router;
    struct em_http *http;
    int port;
};

static int http_setup(void **state)
{
    struct http_fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    rows_reset();
    f->svc.def = &def; /* no blocking handlers: streaming routes run on a worker all the same */
    snprintf(f->svc.config.default_principal, sizeof(f->svc.config.default_principal), DEFAULT);
    struct em_http_options opt = {"127.0.0.1", 0, 1, 1 << 20, 0};
    /* the IAM route is left out: this service has no store */
    f->port = unit_http_serve(&f->svc, routes + 1, 4, &opt, 37, &f->router, &f->http);
    if (f->port < 0) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int http_teardown(void **state)
{
    struct http_fixture *f = *state;
    for (int i = 0; i < f->call_count; i++) {
        async_post_join(&f->calls[i]);
        free(f->calls[i].r.body);
    }
    em_http_stop(f->http); /* waits for every stream: a leaked one would hang here */
    em_router_free(f->router);
    free(f);
    return 0;
}

static size_t collect(char *data, size_t size, size_t n, void *arg)
{
    struct reply *r = arg;
    size_t bytes = size * n;
    if (!r->first_byte_ms)
        r->first_byte_ms = unit_now_ms();
    if (r->len + bytes + 1 > r->cap) { /* doubling: the bodies here are tens of MB */
        size_t cap = r->cap ? r->cap : 65536;
        while (cap < r->len + bytes + 1)
            cap *= 2;
        char *body = realloc(r->body, cap);
        if (!body)
            return 0;
        r->body = body;
        r->cap = cap;
    }
    memcpy(r->body + r->len, data, bytes);
    r->len += bytes;
    r->body[r->len] = '\0';
    if (r->stall_ms && !r->stalled) {
        r->stalled = true;
        unit_sleep_ms(r->stall_ms);
    }
    return bytes;
}

/* A small receive buffer: the kernel holds little for a client that does not read. */
static int small_receive_buffer(void *arg, curl_socket_t fd, curlsocktype purpose)
{
    (void)arg;
    (void)purpose;
    int size = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    return CURL_SOCKOPT_OK;
}

static void http_post(struct http_fixture *f, CURL *handle, const char *path, const char *body,
                      struct reply *r)
{
    CURL *h = handle ? handle : curl_easy_init();
    assert_non_null(h);
    char url[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", f->port, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)CLIENT_MS);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    if (r->stall_ms) {
        curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 4096L);
        curl_easy_setopt(h, CURLOPT_SOCKOPTFUNCTION, small_receive_buffer);
    }
    r->started_ms = unit_now_ms();
    r->rc = curl_easy_perform(h);
    r->done_ms = unit_now_ms();
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &r->connects);
    curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &r->declared_len);
    if (!handle)
        curl_easy_cleanup(h);
}

static void reply_free(struct reply *r)
{
    free(r->body);
    memset(r, 0, sizeof(*r));
}

static void streamed_ok(const struct reply *r, int count)
{
    if (r->rc != CURLE_OK)
        fail_msg("request failed: %s", curl_easy_strerror(r->rc));
    assert_int_equal(r->status, 200);
    assert_true(r->declared_len == -1); /* chunked: no Content-Length */
    cJSON_Delete(array_is(r->body, r->len, count, NULL));
}

static void test_many_elements_arrive_in_order(void **state)
{
    struct http_fixture *f = *state;
    struct reply r = {0};
    http_post(f, NULL, "/v1/" TABLE ":streamRows", "{\"count\": 20000}", &r);
    streamed_ok(&r, 20000);
    reply_free(&r);
}

static void test_large_elements_arrive_whole(void **state)
{
    struct http_fixture *f = *state;
    struct reply r = {0};
    http_post(f, NULL, "/v1/" TABLE ":streamRows", "{\"count\": 4, \"size\": 3000000}", &r);
    streamed_ok(&r, 4);
    cJSON *array = cJSON_ParseWithLength(r.body, r.len);
    const char *data = em_json_string(cJSON_GetArrayItem(array, 3), "data");
    assert_non_null(data);
    assert_int_equal(strlen(data), 3000000);
    assert_true(data[0] == 'd' && data[2999999] == 'd');
    cJSON_Delete(array);
    reply_free(&r);
}

static void *async_post_run(void *arg)
{
    struct async_post *a = arg;
    http_post(a->f, NULL, a->path, a->body, &a->r);
    return NULL;
}

static struct async_post *async_post_start(struct http_fixture *f, const char *path,
                                           const char *body, int stall_ms)
{
    assert_true(f->call_count < MAX_ASYNC);
    struct async_post *a = &f->calls[f->call_count++];
    *a = (struct async_post){.f = f, .path = path, .body = body};
    a->r.stall_ms = stall_ms;
    assert_int_equal(pthread_create(&a->thread, NULL, async_post_run, a), 0);
    a->started = true;
    return a;
}

static void async_post_join(struct async_post *a)
{
    if (a->started)
        pthread_join(a->thread, NULL);
    a->started = false;
}

static void test_a_slow_producer_streams_while_others_are_answered(void **state)
{
    struct http_fixture *f = *state;
    struct async_post *slow =
        async_post_start(f, "/v1/" TABLE ":streamRows", "{\"count\": 6, \"delay\": 200}", 0);
    unit_sleep_ms(300);
    struct reply ping = {0}; /* the one HTTP thread is free meanwhile */
    http_post(f, NULL, "/v1/ping", NULL, &ping);
    assert_int_equal(ping.status, 200);
    assert_false(atomic_load(&rows.returned));
    reply_free(&ping);
    async_post_join(slow);
    streamed_ok(&slow->r, 6);
    /* the first element came ~200 ms in, the last ~1200 ms in */
    assert_true(slow->r.first_byte_ms - slow->r.started_ms < 900);
    assert_true(slow->r.done_ms - slow->r.first_byte_ms >= 700);
}

static void test_a_client_that_does_not_read_holds_the_producer_back(void **state)
{
    struct http_fixture *f = *state;
    enum { COUNT = 2000 }; /* 2000 x 16 KiB: 32 MiB if nothing held the producer back */
    struct async_post *reader =
        async_post_start(f, "/v1/" TABLE ":streamRows", "{\"count\": 2000, \"size\": 16384}", 3000);
    /* while the client sleeps, the producer fills what the buffers hold, then waits */
    int produced = wait_settled(&rows.produced, 500, 2500);
    assert_true(produced > 0);
    assert_true(produced < COUNT / 2);
    assert_false(atomic_load(&rows.returned));
    async_post_join(reader);
    streamed_ok(&reader->r, COUNT);
}

/* A raw connection that sends a streaming request and reads `bytes` of the answer. */
static int start_raw_stream(struct http_fixture *f, const char *body, size_t bytes)
{
    int fd = unit_connect(f->port);
    assert_true(fd >= 0);
    char request[512];
    int n = snprintf(request, sizeof(request),
                     "POST /v1/" TABLE ":streamRows HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     strlen(body), body);
    assert_int_equal(send(fd, request, (size_t)n, MSG_NOSIGNAL), n);
    char buf[4096];
    size_t got = 0;
    int64_t until = unit_now_ms() + WAIT_MS;
    while (got < bytes && unit_now_ms() < until) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        ssize_t r = recv(fd, buf, sizeof(buf), 0);
        assert_true(r > 0);
        got += (size_t)r;
    }
    assert_true(got >= bytes);
    return fd;
}

static void test_a_client_gone_while_the_producer_waits_stops_it(void **state)
{
    struct http_fixture *f = *state;
    int fd = start_raw_stream(f, "{\"count\": 1000000000, \"size\": 4096}", 100000);
    wait_settled(&rows.produced, 300, 2000); /* waiting for room */
    assert_false(atomic_load(&rows.returned));
    close(fd);
    assert_true(unit_wait_flag(&rows.returned, WAIT_MS));
    assert_true(atomic_load(&rows.cancelled));
    assert_int_equal(rows.last_code, EM_CANCELLED);
    struct reply ping = {0};
    http_post(f, NULL, "/v1/ping", NULL, &ping);
    assert_int_equal(ping.status, 200);
    reply_free(&ping);
}

static void test_a_client_gone_while_the_producer_is_slow_stops_it(void **state)
{
    struct http_fixture *f = *state;
    int fd = start_raw_stream(f, "{\"count\": 1000000000, \"delay\": 50}", 150);
    close(fd); /* the connection is suspended, waiting for the next element */
    assert_true(unit_wait_flag(&rows.returned, WAIT_MS));
    assert_true(atomic_load(&rows.cancelled));
}

static void *stop_http(void *arg)
{
    em_http_stop(arg);
    return NULL;
}

static void test_stop_ends_a_stream_whose_client_does_not_read(void **state)
{
    /* the client reads the start of an endless stream, then nothing: the stop cuts its
     * connection after its grace (4 s) instead of waiting for the idle timeout (600 s) */
    struct http_fixture *f = *state;
    int fd = start_raw_stream(f, "{\"count\": 1000000000, \"size\": 4096}", 100000);
    wait_settled(&rows.produced, 300, 2000); /* waiting for room */
    assert_false(atomic_load(&rows.returned));
    pthread_t stopper;
    int64_t start = unit_now_ms();
    assert_int_equal(pthread_create(&stopper, NULL, stop_http, f->http), 0);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    bool stopped = pthread_timedjoin_np(stopper, NULL, &until) == 0;
    int64_t took = unit_now_ms() - start;
    close(fd); /* lets a stop that still waits return */
    if (!stopped)
        pthread_join(stopper, NULL);
    f->http = NULL; /* stopped: teardown has nothing to stop */
    if (!stopped)
        fail_msg("em_http_stop still waited after 10 s for a client that does not read");
    assert_true(took < 7000);
    assert_true(atomic_load(&rows.returned));
    assert_true(atomic_load(&rows.cancelled));
}

static void test_errors_before_and_after_the_first_element(void **state)
{
    struct http_fixture *f = *state;
    struct reply r = {0};
    http_post(f, NULL, "/v1/" TABLE ":streamRows", "{\"count\": 3, \"fail\": 0}", &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.body, "{\"error\":{\"code\":400,\"message\":\"Row 0 is unreadable.\","
                                "\"status\":\"FAILED_PRECONDITION\"}}");
    reply_free(&r);
    http_post(f, NULL, "/v1/" TABLE ":streamRows", "{\"count\": 3000, \"fail\": 2500}", &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    cJSON_Delete(array_is(r.body, r.len, 2500, "FAILED_PRECONDITION"));
    reply_free(&r);
    http_post(f, NULL, "/v1/" TABLE ":streamRows", "{}", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "[]");
    reply_free(&r);
}

static void test_keep_alive_after_a_stream(void **state)
{
    struct http_fixture *f = *state;
    CURL *h = curl_easy_init();
    assert_non_null(h);
    struct reply r = {0};
    http_post(f, h, "/v1/" TABLE ":streamRows", "{\"count\": 500, \"size\": 100}", &r);
    streamed_ok(&r, 500);
    assert_int_equal(r.connects, 1);
    reply_free(&r);
    http_post(f, h, "/v1/ping", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.connects, 0); /* the same connection */
    reply_free(&r);
    http_post(f, h, "/v1/" TABLE ":streamRows", "{\"count\": 3, \"delay\": 20}", &r);
    streamed_ok(&r, 3);
    assert_int_equal(r.connects, 0);
    reply_free(&r);
    curl_easy_cleanup(h);
}

/* A small answer of a never_blocks streaming route: one response with its length, made
 * on the HTTP thread, which answers others while the work is deferred. */
static void test_a_small_stream_is_one_response_from_the_http_thread(void **state)
{
    struct http_fixture *f = *state;
    struct async_post *quick =
        async_post_start(f, "/v1/" TABLE ":quickRows", "{\"count\": 3, \"delay\": 600}", 0);
    unit_sleep_ms(200);
    struct reply ping = {0}; /* the one HTTP thread is free while the call is deferred */
    http_post(f, NULL, "/v1/ping", NULL, &ping);
    assert_int_equal(ping.status, 200);
    reply_free(&ping);
    async_post_join(quick);
    assert_int_equal(quick->r.status, 200);
    assert_true(quick->r.declared_len == (curl_off_t)quick->r.len); /* not chunked */
    cJSON_Delete(array_is(quick->r.body, quick->r.len, 3, NULL));
    assert_int_equal(atomic_load(&quick_inline), 1);
    assert_int_equal(atomic_load(&quick_on_worker), 0);

    struct reply r = {0};
    http_post(f, NULL, "/v1/" TABLE ":quickRows", "{}", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "[]");
    reply_free(&r);
}

static void test_a_small_stream_fails_as_a_streamed_one_does(void **state)
{
    struct http_fixture *f = *state;
    struct reply r = {0};
    http_post(f, NULL, "/v1/" TABLE ":quickRows", "{\"count\": 3, \"fail\": 0}", &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.body, "{\"error\":{\"code\":400,\"message\":\"Row 0 is unreadable.\","
                                "\"status\":\"FAILED_PRECONDITION\"}}");
    reply_free(&r);
    http_post(f, NULL, "/v1/" TABLE ":quickRows", "{\"count\": 3, \"fail\": 2}", &r);
    assert_int_equal(r.status, 200);
    cJSON_Delete(array_is(r.body, r.len, 2, "FAILED_PRECONDITION"));
    reply_free(&r);
}

/* A large answer moves to a worker (em_call_to_worker) and is streamed from there. */
static void test_a_large_stream_moves_to_a_worker(void **state)
{
    struct http_fixture *f = *state;
    struct reply r = {0};
    http_post(f, NULL, "/v1/" TABLE ":quickRows", "{\"count\": 5000, \"size\": 100}", &r);
    streamed_ok(&r, 5000);
    assert_int_equal(atomic_load(&quick_inline), 0);
    assert_int_equal(atomic_load(&quick_on_worker), 1);
    reply_free(&r);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
#define D(t) cmocka_unit_test_setup_teardown(t, dispatch_setup, dispatch_teardown)
#define H(t) cmocka_unit_test_setup_teardown(t, http_setup, http_teardown)
    const struct CMUnitTest tests[] = {
        D(test_dispatch_returns_the_whole_array),
        D(test_no_element_is_an_empty_array),
        D(test_an_error_before_the_first_element_is_googles_error),
        D(test_an_error_after_elements_is_the_last_element),
        D(test_a_bad_request_is_refused_before_the_handler),
        D(test_iam_is_checked_before_the_stream),
        D(test_a_stream_is_audited_once_with_its_final_code),
        D(test_every_element_follows_the_enum_encoding),
        D(test_streaming_on_a_plain_route_is_an_internal_error),
        H(test_many_elements_arrive_in_order),
        H(test_large_elements_arrive_whole),
        H(test_a_slow_producer_streams_while_others_are_answered),
        H(test_a_client_that_does_not_read_holds_the_producer_back),
        H(test_a_client_gone_while_the_producer_waits_stops_it),
        H(test_a_client_gone_while_the_producer_is_slow_stops_it),
        H(test_stop_ends_a_stream_whose_client_does_not_read),
        H(test_errors_before_and_after_the_first_element),
        H(test_keep_alive_after_a_stream),
        H(test_a_small_stream_is_one_response_from_the_http_thread),
        H(test_a_small_stream_fails_as_a_streamed_one_does),
        H(test_a_large_stream_moves_to_a_worker),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
