/*
 * test_dispatch: em_dispatch, the one path every REST call takes, driven through a small
 * route table of its own (no sockets): routing failures, body parsing and schema errors,
 * unimplemented methods, replies (JSON and raw), handler failures rendered as Google's
 * error JSON with the HTTP status of their code, IAM enforcement on a route's permission,
 * authentication (401 for tokens naming no principal; internal routes, service agents and
 * X-Emulator-Caller only with the internal credential), the principal and the audit entry
 * of each call, the query argument helpers, the wire details of Google's client libraries
 * (a body of "", replies with enum numbers on `$alt=json;enum-encoding=int`), text that is
 * not UTF-8 or holds NUL refused, and
 * deferred calls without a transport (em_dispatch waits for em_call_ready from another
 * thread, then finish completes the call on the dispatching thread).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "em_api_state.h"
#include "em_audit.h"
#include "em_call.h"
#include "em_iam.h"
#include "em_json.h"
#include "em_names.h"
#include "em_log.h"
#include "em_schema.h"
#include "em_trust.h"
#include "unit_util.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#define DEFAULT "user:developer@example.com"
#define WIDGET  "projects/p/widgets/w"
#define ENCRYPT "cloudkms.cryptoKeyVersions.useToEncrypt"

static int handler_runs;

static enum em_code handle_get(struct em_call *call)
{
    handler_runs++;
    cJSON *reply = cJSON_CreateObject();
    cJSON_AddStringToObject(reply, "name", em_call_var(call, "name"));
    cJSON_AddStringToObject(reply, "principal", call->principal);
    return em_call_reply(call, reply);
}

static enum em_code handle_echo(struct em_call *call)
{
    handler_runs++;
    return em_call_reply(call, cJSON_Duplicate(call->body, true));
}

/* Fails with the code named by ?code=, after starting a reply that must not be sent. */
static enum em_code handle_fail(struct em_call *call)
{
    handler_runs++;
    em_call_reply(call, cJSON_CreateString("half-built reply"));
    const char *name = em_call_query(call, "code");
    return EM_CALL_FAIL(call, (enum em_code)em_code_from_name(name), "The widget says no (%s).",
                        name);
}

/* Returns a failure without wording it. */
static enum em_code handle_silent(struct em_call *call)
{
    (void)call;
    handler_runs++;
    return EM_FAILED_PRECONDITION;
}

static enum em_code handle_raw(struct em_call *call)
{
    handler_runs++;
    call->reply_raw = malloc(5);
    memcpy(call->reply_raw, "a\0b\0c", 5);
    call->reply_raw_len = 5;
    call->reply_content_type = "application/octet-stream";
    return EM_OK;
}

static enum em_code handle_too_large(struct em_call *call)
{
    handler_runs++;
    EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "Request payload size exceeds the limit.");
    call->status.http_override = 413;
    return call->status.code;
}

static enum em_code handle_empty(struct em_call *call)
{
    (void)call;
    handler_runs++;
    return EM_OK;
}

/* Deferred calls: the handler defers, a readier thread calls em_call_ready after ~100 ms
 * (or the handler does before returning, with ?now), finish completes the call. */
struct deferred {
    struct em_call *call;
    char fail_code[32]; /* finish fails with this code; "" replies */
};

static struct {
    pthread_t readier, dispatcher, finisher;
    bool readier_started;
    atomic_bool ready_called;
    bool ready_called_before_finish;
    void *arg_given, *arg_seen; /* to em_call_defer, and em_call_deferred_arg in finish */
    int finishes;
} deferral;

static void sleep_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
}

static void *ready_later(void *arg)
{
    struct em_call *call = arg;
    sleep_ms(100);
    atomic_store(&deferral.ready_called, true);
    em_call_ready(call);
    return NULL;
}

static void join_readier(void)
{
    if (deferral.readier_started)
        pthread_join(deferral.readier, NULL);
    deferral.readier_started = false;
}

static void finish_deferred(struct em_call *call)
{
    struct deferred *d = em_call_deferred_arg(call);
    deferral.finisher = pthread_self();
    deferral.arg_seen = d;
    deferral.finishes++;
    deferral.ready_called_before_finish = atomic_load(&deferral.ready_called);
    if (d->fail_code[0]) {
        EM_CALL_FAIL(call, (enum em_code)em_code_from_name(d->fail_code),
                     "The widget went away (%s).", d->fail_code);
    } else {
        cJSON *reply = cJSON_CreateObject();
        cJSON_AddStringToObject(reply, "name", em_call_var(call, "name"));
        cJSON_AddBoolToObject(reply, "deferred", true);
        em_call_reply(call, reply);
    }
    free(d);
}

/* Defers; its own return value (a failure) must be ignored. */
static enum em_code handle_defer(struct em_call *call)
{
    handler_runs++;
    struct deferred *d = calloc(1, sizeof(*d));
    if (!d)
        return EM_FAIL_OOM(&call->status);
    d->call = call;
    const char *code = em_call_query(call, "code");
    snprintf(d->fail_code, sizeof(d->fail_code), "%s", code ? code : "");
    deferral.dispatcher = pthread_self();
    deferral.arg_given = d;
    em_call_defer(call, finish_deferred, d);
    if (em_call_query(call, "now")) {
        atomic_store(&deferral.ready_called, true);
        em_call_ready(call);
    } else if (pthread_create(&deferral.readier, NULL, ready_later, call) == 0) {
        deferral.readier_started = true;
    } else {
        atomic_store(&deferral.ready_called, true);
        em_call_ready(call);
    }
    return EM_INTERNAL;
}

static const struct em_enum_value state_values[] = {
    {"STATE_UNSPECIFIED", 0}, {"ON", 1}, {"OFF", 7}, {NULL}};
static const struct em_enum state_enum = {"test.v1.Widget.State", state_values};

static const struct em_field part_fields[] = {{"state", EM_F_ENUM, false, NULL, &state_enum},
                                              {"states", EM_F_ENUM, true, NULL, &state_enum},
                                              {NULL}};
static const struct em_message part_msg = {"test.v1.Part", part_fields};

static const struct em_field widget_fields[] = {{"name", EM_F_STRING},
                                                {"size", EM_F_INT32},
                                                {"labels", EM_F_MAP},
                                                {"state", EM_F_ENUM, false, NULL, &state_enum},
                                                {"parts", EM_F_MESSAGE, true, &part_msg},
                                                {"tags", EM_F_STRING, true},
                                                {NULL}};
static const struct em_message widget_msg = {"test.v1.Widget", widget_fields};

static const struct em_route routes[] = {
    {"GET", "v1/{name=projects/*/widgets/*}", handle_get, "GetWidget", NULL, NULL, NULL,
     EM_AUDIT_DATA_ACCESS, .query = "filter allowMissing keyRingId options.requestedPolicyVersion"},
    {"POST", "v1/{parent=projects/*}/widgets", handle_echo, "CreateWidget", &widget_msg, "widget",
     NULL, EM_AUDIT_ADMIN, .reply = &widget_msg},
    {"PATCH", "v1/{name=projects/*/widgets/*}", handle_echo, "UpdateWidget", &widget_msg, NULL,
     NULL, EM_AUDIT_ADMIN},
    {"POST", "v1/{name=projects/*/widgets/*}:fail", handle_fail, "FailWidget", NULL, NULL, NULL,
     EM_AUDIT_ADMIN, .query = "code"},
    {"POST", "v1/{name=projects/*/widgets/*}:silent", handle_silent, "SilentWidget"},
    {"POST", "v1/{name=projects/*/widgets/*}:frobnicate", NULL, "FrobnicateWidget", &widget_msg},
    {"GET", "v1/{name=projects/*/widgets/*}:raw", handle_raw, "RawWidget"},
    {"POST", "v1/{name=projects/*/widgets/*}:use", handle_get, "UseWidget", NULL, NULL, ENCRYPT,
     EM_AUDIT_DATA_ACCESS},
    {"POST", "v1/{name=projects/*/widgets/*}:upload", handle_too_large, "UploadWidget"},
    {"GET", "v1/widgets:empty", handle_empty, "Empty"},
    {"POST", "v1/{name=projects/*/widgets/*}:defer", handle_defer, "DeferWidget", NULL, NULL, NULL,
     EM_AUDIT_ADMIN, .query = "code now"},
    {"POST", "emulator/v1/internal:widgets", handle_empty, "InternalWidgets", .internal = true},
};

static const struct em_service_desc desc = {
    .name = "test", .google_service = "widgets.googleapis.com", .api_title = "Widgets API"};
static const struct em_service_def def = {.desc = &desc};

struct fixture {
    struct unit_dir dir;
    struct em_service svc;
    struct em_router *router;
    struct em_call call;
    cJSON *json; /* the parsed response */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct em_status st = {0};
    if (!f || unit_dir_open(&f->dir) || em_iam_open(f->dir.store, &st))
        return -1;
    f->svc.def = &def;
    f->svc.store = f->dir.store;
    snprintf(f->svc.config.default_principal, sizeof(f->svc.config.default_principal), DEFAULT);
    f->router = em_router_new();
    if (!f->router || em_router_add(f->router, routes, sizeof(routes) / sizeof(routes[0]), &st))
        return -1;
    handler_runs = 0;
    memset(&deferral, 0, sizeof(deferral));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    join_readier();
    em_call_reset(&f->call);
    cJSON_Delete(f->json);
    em_audit_close(f->svc.audit);
    em_router_free(f->router);
    unit_dir_close(&f->dir);
    free(f);
    return 0;
}

/* Runs one call; the response is left in f->call and, parsed, in f->json. */
static void request(struct fixture *f, const char *method, const char *path, const char *body,
                    const char *authorization)
{
    em_call_reset(&f->call);
    cJSON_Delete(f->json);
    memset(&f->call, 0, sizeof(f->call));
    f->call.method = method;
    f->call.path = path;
    f->call.body_text = body;
    f->call.body_len = body ? strlen(body) : 0;
    f->call.authorization = authorization;
    f->call.svc = &f->svc;
    em_dispatch(f->router, &f->call);
    assert_non_null(f->call.response);
    f->json = cJSON_ParseWithLength(f->call.response, f->call.response_len);
}

/* The same with an X-Emulator-Internal header (the Authorization header is authorization). */
static void request_internal(struct fixture *f, const char *method, const char *path,
                             const char *authorization, const char *internal)
{
    em_call_reset(&f->call);
    cJSON_Delete(f->json);
    memset(&f->call, 0, sizeof(f->call));
    f->call.method = method;
    f->call.path = path;
    f->call.authorization = authorization;
    f->call.internal_credential = internal;
    f->call.svc = &f->svc;
    em_dispatch(f->router, &f->call);
    assert_non_null(f->call.response);
    f->json = cJSON_ParseWithLength(f->call.response, f->call.response_len);
}

/* A create call with the X-Emulator-Caller and X-Emulator-Access-Reason headers given
 * (NULL: absent), and the credential, when given. */
static void request_with_headers(struct fixture *f, const char *caller, const char *reason,
                                 const char *internal)
{
    em_call_reset(&f->call);
    cJSON_Delete(f->json);
    memset(&f->call, 0, sizeof(f->call));
    f->call.method = "POST";
    f->call.path = "/v1/projects/p/widgets";
    f->call.caller_resource = caller;
    f->call.access_reason = reason;
    f->call.internal_credential = internal;
    f->call.svc = &f->svc;
    em_dispatch(f->router, &f->call);
    assert_non_null(f->call.response);
    f->json = cJSON_ParseWithLength(f->call.response, f->call.response_len);
}

static void with_query(struct fixture *f, const char *key, const char *value)
{
    f->call.query[f->call.query_count].key = key;
    f->call.query[f->call.query_count].value = value;
    f->call.query_count++;
}

/* request() with one query argument and a body of body_len bytes. */
static void request_with(struct fixture *f, const char *method, const char *path, const char *body,
                         size_t body_len, const char *key, const char *value)
{
    em_call_reset(&f->call);
    cJSON_Delete(f->json);
    memset(&f->call, 0, sizeof(f->call));
    f->call.method = method;
    f->call.path = path;
    f->call.body_text = body;
    f->call.body_len = body_len;
    f->call.svc = &f->svc;
    if (key)
        with_query(f, key, value);
    em_dispatch(f->router, &f->call);
    assert_non_null(f->call.response);
    f->json = cJSON_ParseWithLength(f->call.response, f->call.response_len);
}

/* Asserts a Google error reply: HTTP status, status name and message. */
static void error_is(struct fixture *f, int http, const char *status, const char *message)
{
    assert_int_equal(f->call.http_status, http);
    assert_string_equal(f->call.content_type, "application/json; charset=UTF-8");
    assert_non_null(f->json);
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(f->json, "error");
    assert_non_null(error);
    int64_t code = 0;
    assert_true(em_json_int64(error, "code", &code) && code == http);
    assert_string_equal(em_json_string(error, "status"), status);
    if (message)
        assert_string_equal(em_json_string(error, "message"), message);
    assert_int_equal(cJSON_GetArraySize(f->json), 1);
}

static void ok_is(struct fixture *f, const char *json)
{
    if (f->call.http_status != 200)
        fail_msg("HTTP %d: %s", f->call.http_status, f->call.response);
    assert_string_equal(f->call.content_type, "application/json; charset=UTF-8");
    assert_string_equal(f->call.response, json);
    assert_int_equal(f->call.response_len, strlen(json));
}

/* ---------------------------------------------------------------- routing */

static void test_unknown_path_is_not_found(void **state)
{
    struct fixture *f = *state;
    request(f, "GET", "/v1/projects/p/gadgets/g", NULL, NULL);
    error_is(f, 404, "NOT_FOUND",
             "The requested URL /v1/projects/p/gadgets/g was not found on this server.");
    assert_int_equal(handler_runs, 0);
}

static void test_wrong_method_is_not_found(void **state)
{
    struct fixture *f = *state;
    request(f, "DELETE", "/v1/" WIDGET, NULL, NULL);
    error_is(f, 404, "NOT_FOUND", "Method DELETE is not supported for /v1/" WIDGET ".");
    request(f, "GET", "/v1/" WIDGET ":fail", NULL, NULL);
    error_is(f, 404, "NOT_FOUND", NULL);
    assert_int_equal(handler_runs, 0);
}

static void test_reply_is_rendered_as_json(void **state)
{
    struct fixture *f = *state;
    request(f, "GET", "/v1/" WIDGET, NULL, NULL);
    ok_is(f, "{\"name\":\"" WIDGET "\",\"principal\":\"" DEFAULT "\"}");
    assert_int_equal(handler_runs, 1);
    /* a handler that sets no reply answers {} */
    request(f, "GET", "/v1/widgets:empty", NULL, NULL);
    ok_is(f, "{}");
}

static void test_raw_replies_keep_their_bytes_and_type(void **state)
{
    struct fixture *f = *state;
    request(f, "GET", "/v1/" WIDGET ":raw", NULL, NULL);
    assert_int_equal(f->call.http_status, 200);
    assert_string_equal(f->call.content_type, "application/octet-stream");
    assert_int_equal(f->call.response_len, 5);
    assert_memory_equal(f->call.response, "a\0b\0c", 5);
}

/* ---------------------------------------------------------------- bodies */

static void test_body_reaches_the_handler(void **state)
{
    struct fixture *f = *state;
    request(f, "POST", "/v1/projects/p/widgets", "{\"name\": \"w\", \"size\": \"3\"}", NULL);
    ok_is(f, "{\"name\":\"w\",\"size\":\"3\"}");
    request(f, "POST", "/v1/projects/p/widgets", "{\"name\": \"w\"}\n  \r\n\t", NULL);
    ok_is(f, "{\"name\":\"w\"}");
}

static void test_empty_body_is_an_empty_object(void **state)
{
    struct fixture *f = *state;
    request(f, "POST", "/v1/projects/p/widgets", NULL, NULL);
    ok_is(f, "{}");
    request(f, "POST", "/v1/projects/p/widgets", "", NULL);
    ok_is(f, "{}");
    request(f, "POST", "/v1/projects/p/widgets", " \r\n\t ", NULL);
    ok_is(f, "{}");
    assert_int_equal(handler_runs, 3);
}

static void test_malformed_json_is_invalid_argument(void **state)
{
    struct fixture *f = *state;
    request(f, "POST", "/v1/projects/p/widgets", "{\"name\": ", NULL);
    error_is(f, 400, "INVALID_ARGUMENT", NULL);
    const char *message = em_json_string(cJSON_GetObjectItem(f->json, "error"), "message");
    assert_int_equal(
        strncmp(message, "Invalid JSON payload received. Unexpected token at line 1", 57), 0);
    request(f, "POST", "/v1/projects/p/widgets", "{\n  \"name\": w\n}", NULL);
    error_is(f, 400, "INVALID_ARGUMENT", NULL);
    message = em_json_string(cJSON_GetObjectItem(f->json, "error"), "message");
    assert_non_null(strstr(message, "line 2"));
    request(f, "POST", "/v1/projects/p/widgets", "{'name': 'w'}", NULL);
    error_is(f, 400, "INVALID_ARGUMENT", NULL);
    request(f, "POST", "/v1/projects/p/widgets", "not json", NULL);
    error_is(f, 400, "INVALID_ARGUMENT", NULL);
    assert_int_equal(handler_runs, 0);
}

static void test_truncated_body_length_is_respected(void **state)
{
    struct fixture *f = *state;
    /* the buffer holds more than the declared length: only body_len bytes count */
    em_call_reset(&f->call);
    memset(&f->call, 0, sizeof(f->call));
    f->call.method = "POST";
    f->call.path = "/v1/projects/p/widgets";
    f->call.body_text = "{\"name\": \"w\"}";
    f->call.body_len = 8;
    f->call.svc = &f->svc;
    em_dispatch(f->router, &f->call);
    f->json = cJSON_Parse(f->call.response);
    error_is(f, 400, "INVALID_ARGUMENT", NULL);
    assert_int_equal(handler_runs, 0);
}

static void test_trailing_garbage_is_refused(void **state)
{
    struct fixture *f = *state;
    request(f, "POST", "/v1/projects/p/widgets", "{} x", NULL);
    error_is(f, 400, "INVALID_ARGUMENT",
             "Invalid JSON payload received. Unexpected data after the JSON value at byte 3.");
    request(f, "POST", "/v1/projects/p/widgets", "{}{}", NULL);
    error_is(f, 400, "INVALID_ARGUMENT", NULL);
    request(f, "POST", "/v1/projects/p/widgets", "{\"name\": \"w\"},", NULL);
    error_is(f, 400, "INVALID_ARGUMENT", NULL);
    assert_int_equal(handler_runs, 0);
}

static void test_schema_errors_are_passed_on(void **state)
{
    struct fixture *f = *state;
    request(f, "POST", "/v1/projects/p/widgets", "{\"colour\": \"red\"}", NULL);
    error_is(f, 400, "INVALID_ARGUMENT",
             "Invalid JSON payload received. Unknown name \"colour\" at 'widget': Cannot find "
             "field.");
    request(f, "PATCH", "/v1/" WIDGET, "{\"colour\": \"red\"}", NULL);
    error_is(f, 400, "INVALID_ARGUMENT",
             "Invalid JSON payload received. Unknown name \"colour\": Cannot find field.");
    request(f, "POST", "/v1/projects/p/widgets", "{\"size\": \"big\"}", NULL);
    error_is(f, 400, "INVALID_ARGUMENT", "Invalid value at 'widget.size' (TYPE_INT32), \"big\"");
    request(f, "POST", "/v1/projects/p/widgets", "[{\"name\": \"w\"}]", NULL);
    error_is(f, 400, "INVALID_ARGUMENT",
             "Invalid JSON payload received. Root element must be a message.");
    assert_int_equal(handler_runs, 0);
}

static void test_a_route_without_body_ignores_it(void **state)
{
    struct fixture *f = *state;
    request(f, "GET", "/v1/" WIDGET, "this is not JSON", NULL);
    assert_int_equal(f->call.http_status, 200);
    assert_null(f->call.body);
}

/* ---------------------------------------------------------------- failures */

static void test_unimplemented_methods_are_named(void **state)
{
    struct fixture *f = *state;
    request(f, "POST", "/v1/" WIDGET ":frobnicate", "{}", NULL);
    error_is(f, 400, "UNIMPLEMENTED",
             "Method FrobnicateWidget is not implemented by this emulator.");
    /* the body is still checked first */
    request(f, "POST", "/v1/" WIDGET ":frobnicate", "{\"x\": 1}", NULL);
    error_is(f, 400, "INVALID_ARGUMENT", NULL);
}

static void fails_with(struct fixture *f, const char *code, int http)
{
    em_call_reset(&f->call);
    cJSON_Delete(f->json);
    memset(&f->call, 0, sizeof(f->call));
    f->call.method = "POST";
    f->call.path = "/v1/" WIDGET ":fail";
    f->call.svc = &f->svc;
    with_query(f, "code", code);
    em_dispatch(f->router, &f->call);
    f->json = cJSON_Parse(f->call.response);
    char message[100];
    snprintf(message, sizeof(message), "The widget says no (%s).", code);
    error_is(f, http, code, message);
}

static void test_handler_failures_get_their_http_status(void **state)
{
    struct fixture *f = *state;
    fails_with(f, "INVALID_ARGUMENT", 400);
    fails_with(f, "FAILED_PRECONDITION", 400);
    fails_with(f, "OUT_OF_RANGE", 400);
    fails_with(f, "UNAUTHENTICATED", 401);
    fails_with(f, "PERMISSION_DENIED", 403);
    fails_with(f, "NOT_FOUND", 404);
    fails_with(f, "ALREADY_EXISTS", 409);
    fails_with(f, "ABORTED", 409);
    fails_with(f, "RESOURCE_EXHAUSTED", 429);
    fails_with(f, "CANCELLED", 499);
    fails_with(f, "INTERNAL", 500);
    fails_with(f, "UNKNOWN", 500);
    fails_with(f, "DATA_LOSS", 500);
    fails_with(f, "UNIMPLEMENTED", 400);
    fails_with(f, "UNAVAILABLE", 503);
    fails_with(f, "DEADLINE_EXCEEDED", 504);
    assert_int_equal(handler_runs, 16);
}

/* An allocation failure is the emulator's own fault: 500 INTERNAL, logged with the place it
 * happened, never the 429 that tells client libraries to back off and retry. */
static void test_out_of_memory_is_internal(void **state)
{
    (void)state;
    struct em_status st = {0};
    int line = __LINE__ + 1;
    assert_int_equal(EM_FAIL_OOM(&st), EM_INTERNAL);
    assert_int_equal(em_code_http(st.code), 500);
    assert_string_equal(st.file, __FILE__);
    assert_int_equal(st.line, line);
}

static void test_unworded_failures_name_the_method(void **state)
{
    struct fixture *f = *state;
    request(f, "POST", "/v1/" WIDGET ":silent", NULL, NULL);
    error_is(f, 400, "FAILED_PRECONDITION", "SilentWidget failed.");
}

static void test_http_override(void **state)
{
    struct fixture *f = *state;
    request(f, "POST", "/v1/" WIDGET ":upload", NULL, NULL);
    error_is(f, 413, "INVALID_ARGUMENT", "Request payload size exceeds the limit.");
}

/* ---------------------------------------------------------------- principal, IAM, audit */

#define UNAUTHENTICATED_MESSAGE                                                                    \
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login "        \
    "cookie or other valid authentication credential. See "                                        \
    "https://developers.google.com/identity/sign-in/web/devconsole-project."

static void test_the_principal_comes_from_the_authorization_header(void **state)
{
    struct fixture *f = *state;
    request(f, "GET", "/v1/" WIDGET, NULL, "Bearer alice@example.com");
    ok_is(f, "{\"name\":\"" WIDGET "\",\"principal\":\"user:alice@example.com\"}");
    request(f, "GET", "/v1/" WIDGET, NULL, NULL);
    ok_is(f, "{\"name\":\"" WIDGET "\",\"principal\":\"" DEFAULT "\"}");
}

static void test_tokens_naming_no_principal_are_refused_before_the_handler(void **state)
{
    struct fixture *f = *state;
    static const char *const bad[] = {
        "Bearer ya29.opaque-token", "Bearer user:alice", "Bearer ",
        "Basic dXNlcjpwYXNz",       "Bearer allUsers",   "Bearer domain:example.com"};
    for (int enforce = 0; enforce < 2; enforce++) {
        f->svc.config.iam_enforce = enforce;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            request(f, "POST", "/v1/" WIDGET ":use", NULL, bad[i]);
            error_is(f, 401, "UNAUTHENTICATED", UNAUTHENTICATED_MESSAGE);
        }
    }
    assert_int_equal(handler_runs, 0);
}

/* The value of the X-Emulator-Internal header the processes of this stack send. */
static const char *credential(struct fixture *f)
{
    struct em_status st = {0};
    assert_int_equal(em_trust_open(f->dir.path, &st), EM_OK);
    const char *line = em_trust_header_line();
    assert_non_null(line);
    return strchr(line, ' ') + 1;
}

static void test_internal_routes_need_the_internal_credential(void **state)
{
    struct fixture *f = *state;
    const char *good = credential(f);
    static const char *const wrong[] = {NULL, "", "0000", "not-the-credential"};
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        request_internal(f, "POST", "/emulator/v1/internal:widgets", NULL, wrong[i]);
        error_is(f, 403, "PERMISSION_DENIED", "The caller does not have permission");
    }
    /* one character off */
    char off[128];
    snprintf(off, sizeof(off), "%s", good);
    off[0] = off[0] == '0' ? '1' : '0';
    request_internal(f, "POST", "/emulator/v1/internal:widgets", NULL, off);
    error_is(f, 403, "PERMISSION_DENIED", NULL);
    request_internal(f, "POST", "/emulator/v1/internal:widgets", NULL, good);
    assert_int_equal(f->call.http_status, 200);
    /* other routes do not need it */
    request_internal(f, "GET", "/v1/" WIDGET, NULL, NULL);
    assert_int_equal(f->call.http_status, 200);
}

static void test_service_agents_and_callers_need_the_internal_credential(void **state)
{
    struct fixture *f = *state;
    const char *good = credential(f);
    const char *agent = "Bearer serviceAccount:service-1@gcp-sa-pubsub.iam.gserviceaccount.com";
    request(f, "GET", "/v1/" WIDGET, NULL, agent);
    error_is(f, 401, "UNAUTHENTICATED", UNAUTHENTICATED_MESSAGE);
    request_internal(f, "GET", "/v1/" WIDGET, agent, good);
    ok_is(f,
          "{\"name\":\"" WIDGET
          "\",\"principal\":\"serviceAccount:service-1@gcp-sa-pubsub.iam.gserviceaccount.com\"}");
    request_with_headers(f, "projects/p/topics/t", NULL, NULL);
    error_is(f, 403, "PERMISSION_DENIED", "The caller does not have permission");
    assert_int_equal(handler_runs, 1);
    request_with_headers(f, "projects/p/topics/t", NULL, good);
    assert_int_equal(f->call.http_status, 200);
    /* an access reason (Key Access Justifications) is the emulator's own to give too */
    request_with_headers(f, NULL, "GOOGLE_INITIATED_SYSTEM_OPERATION", NULL);
    error_is(f, 403, "PERMISSION_DENIED", "The caller does not have permission");
    assert_int_equal(handler_runs, 2);
    request_with_headers(f, NULL, "GOOGLE_INITIATED_SYSTEM_OPERATION", good);
    assert_int_equal(f->call.http_status, 200);
}

/* A project that disabled the service's API (Service Usage): Google's SERVICE_DISABLED,
 * before the handler or any permission; other projects and internal routes go on. */
static void test_a_disabled_api_refuses_the_project(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    assert_int_equal(em_api_state_open(f->dir.store, &st), EM_OK);
    assert_int_equal(em_api_state_set(f->dir.store, "p", "widgets.googleapis.com", false, &st),
                     EM_OK);
    assert_int_equal(em_api_state_load(f->dir.store, &st), EM_OK);
    request(f, "GET", "/v1/" WIDGET, NULL, NULL);
    char message[512];
    long long number = (long long)em_project_number("p");
    snprintf(message, sizeof(message),
             "Widgets API has not been used in project %lld before or it is disabled. Enable it "
             "by visiting https://console.developers.google.com/apis/api/widgets.googleapis.com/"
             "overview?project=%lld then retry. If you enabled this API recently, wait a few "
             "minutes for the action to propagate to our systems and retry.",
             number, number);
    assert_int_equal(f->call.http_status, 403);
    const cJSON *error = cJSON_GetObjectItem(f->json, "error");
    assert_string_equal(em_json_string(error, "status"), "PERMISSION_DENIED");
    assert_string_equal(em_json_string(error, "message"), message);
    const cJSON *info = cJSON_GetArrayItem(cJSON_GetObjectItem(error, "details"), 0);
    assert_string_equal(em_json_string(info, "reason"), "SERVICE_DISABLED");
    assert_string_equal(em_json_string(cJSON_GetObjectItem(info, "metadata"), "service"),
                        "widgets.googleapis.com");
    assert_int_equal(handler_runs, 0);
    request(f, "GET", "/v1/projects/other/widgets/w", NULL, NULL);
    assert_int_equal(f->call.http_status, 200);
    request_internal(f, "POST", "/emulator/v1/internal:widgets", NULL, credential(f));
    assert_int_equal(f->call.http_status, 200);
    /* enabled again: the set reloaded, the project's calls go through */
    assert_int_equal(em_api_state_set(f->dir.store, "p", "widgets.googleapis.com", true, &st),
                     EM_OK);
    assert_int_equal(em_api_state_load(f->dir.store, &st), EM_OK);
    assert_false(em_api_state_any());
    request(f, "GET", "/v1/" WIDGET, NULL, NULL);
    assert_int_equal(f->call.http_status, 200);
}

/* A deleted project (Resource Manager's DeleteProject): Google's CONSUMER_INVALID before the
 * handler; undeleted, its calls go through again. */
static void test_a_deleted_project_is_refused(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    assert_int_equal(em_api_state_open(f->dir.store, &st), EM_OK);
    assert_int_equal(em_project_set_deleted(f->dir.store, "p", 1000, &st), EM_OK);
    assert_int_equal(em_api_state_load(f->dir.store, &st), EM_OK);
    request(f, "GET", "/v1/" WIDGET, NULL, NULL);
    assert_int_equal(f->call.http_status, 403);
    const cJSON *error = cJSON_GetObjectItem(f->json, "error");
    assert_string_equal(em_json_string(error, "status"), "PERMISSION_DENIED");
    assert_string_equal(em_json_string(error, "message"),
                        "Permission denied on resource project p.");
    const cJSON *info = cJSON_GetArrayItem(cJSON_GetObjectItem(error, "details"), 0);
    assert_string_equal(em_json_string(info, "reason"), "CONSUMER_INVALID");
    const cJSON *metadata = cJSON_GetObjectItem(info, "metadata");
    assert_string_equal(em_json_string(metadata, "consumer"), "projects/p");
    assert_string_equal(em_json_string(metadata, "service"), "widgets.googleapis.com");
    assert_int_equal(handler_runs, 0);
    request(f, "GET", "/v1/projects/other/widgets/w", NULL, NULL);
    assert_int_equal(f->call.http_status, 200);
    assert_int_equal(em_project_set_deleted(f->dir.store, "p", 0, &st), EM_OK);
    assert_int_equal(em_api_state_load(f->dir.store, &st), EM_OK);
    request(f, "GET", "/v1/" WIDGET, NULL, NULL);
    assert_int_equal(f->call.http_status, 200);
}

static void test_iam_enforce_denies_until_granted(void **state)
{
    struct fixture *f = *state;
    f->svc.config.iam_enforce = true;
    request(f, "POST", "/v1/" WIDGET ":use", NULL, "Bearer user:alice@example.com");
    error_is(f, 403, "PERMISSION_DENIED",
             "Permission '" ENCRYPT "' denied on resource '" WIDGET "' (or it may not exist).");
    assert_int_equal(handler_runs, 0);
    /* routes without a permission stay open */
    request(f, "GET", "/v1/" WIDGET, NULL, "Bearer user:alice@example.com");
    assert_int_equal(f->call.http_status, 200);
    /* without a token a call is anonymous under enforce ... */
    request(f, "POST", "/v1/" WIDGET ":use", NULL, NULL);
    error_is(f, 403, "PERMISSION_DENIED", NULL);
    /* ... and the default principal, named in a token, owns every project */
    request(f, "POST", "/v1/" WIDGET ":use", NULL, "Bearer " DEFAULT);
    assert_int_equal(f->call.http_status, 200);

    cJSON *policy = cJSON_Parse("{\"bindings\": [{\"role\": "
                                "\"roles/cloudkms.cryptoKeyEncrypterDecrypter\", "
                                "\"members\": [\"user:alice@example.com\"]}]}");
    cJSON *stored = NULL;
    struct em_status st = {0};
    assert_int_equal(em_iam_set_policy(f->dir.store, "projects/p", policy, &stored, &st), EM_OK);
    cJSON_Delete(policy);
    cJSON_Delete(stored);
    request(f, "POST", "/v1/" WIDGET ":use", NULL, "Bearer user:alice@example.com");
    ok_is(f, "{\"name\":\"" WIDGET "\",\"principal\":\"user:alice@example.com\"}");
    request(f, "POST", "/v1/" WIDGET ":use", NULL, "Bearer user:bob@example.com");
    error_is(f, 403, "PERMISSION_DENIED", NULL);
}

static void test_iam_off_allows_everyone(void **state)
{
    struct fixture *f = *state;
    request(f, "POST", "/v1/" WIDGET ":use", NULL, "Bearer user:mallory@example.com");
    assert_int_equal(f->call.http_status, 200);
}

struct audit_rows {
    int count;
    char text[8][300];
};

static bool audit_row(const struct em_audit_row *row, void *arg)
{
    struct audit_rows *r = arg;
    const struct em_audit_entry *e = &row->entry;
    if (r->count < 8)
        snprintf(r->text[r->count], sizeof(r->text[0]), "%s|%d|%s|%s|%s|%d|%s|%s", e->service,
                 (int)e->kind, e->principal, e->method, e->resource, e->code,
                 e->message ? e->message : "-", e->caller ? e->caller : "-");
    r->count++;
    return true;
}

static void test_calls_are_audited(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    assert_int_equal(em_audit_open(f->dir.store, 1000, &f->svc.audit, &st), EM_OK);
    request(f, "GET", "/v1/" WIDGET, NULL, "Bearer user:alice@example.com");
    fails_with(f, "NOT_FOUND", 404);
    request(f, "POST", "/v1/" WIDGET ":silent", NULL, NULL); /* EM_AUDIT_NONE */
    request(f, "GET", "/v1/nowhere", NULL, NULL);            /* no route */
    /* a caller is recorded only from the emulator's own processes */
    request_with_headers(f, "projects/p/topics/spoofed", NULL, NULL);
    request_with_headers(f, "projects/p/topics/t", NULL, credential(f));
    assert_int_equal(em_audit_flush(f->svc.audit, &st), EM_OK);
    struct audit_rows rows = {0};
    assert_int_equal(em_audit_scan(f->dir.store, false, 0, audit_row, &rows, &st), EM_OK);
    assert_int_equal(rows.count, 4);
    assert_string_equal(rows.text[0], "test|1|user:alice@example.com|GetWidget|" WIDGET "|0|-|-");
    assert_string_equal(rows.text[1], "test|2|" DEFAULT "|FailWidget|" WIDGET
                                      "|5|The widget says no (NOT_FOUND).|-");
    assert_string_equal(rows.text[2], "test|2|" DEFAULT "|CreateWidget|projects/p|7|The caller "
                                      "does not have permission|-");
    assert_string_equal(rows.text[3],
                        "test|2|" DEFAULT "|CreateWidget|projects/p|0|-|projects/p/topics/t");
}

/* ---------------------------------------------------------------- call helpers */

static void test_query_int(void **state)
{
    struct fixture *f = *state;
    struct em_call *call = &f->call;
    int64_t v = -1;
    assert_int_equal(em_call_query_int(call, "pageSize", 50, 0, 1000, &v), EM_OK);
    assert_true(v == 50);
    with_query(f, "pageSize", "25");
    assert_int_equal(em_call_query_int(call, "pageSize", 50, 0, 1000, &v), EM_OK);
    assert_true(v == 25);
    call->query[0].value = "";
    assert_int_equal(em_call_query_int(call, "pageSize", 50, 0, 1000, &v), EM_OK);
    assert_true(v == 50);
    call->query[0].value = "ten";
    assert_int_equal(em_call_query_int(call, "pageSize", 50, 0, 1000, &v), EM_INVALID_ARGUMENT);
    assert_string_equal(call->status.message, "Invalid value at 'page_size' (TYPE_INT32), \"ten\"");
    call->query[0].value = "12abc";
    assert_int_equal(em_call_query_int(call, "pageSize", 50, 0, 1000, &v), EM_INVALID_ARGUMENT);
    call->query[0].value = "99999999999999999999";
    assert_int_equal(em_call_query_int(call, "pageSize", 50, 0, 1000, &v), EM_INVALID_ARGUMENT);
    call->query[0].value = "-1";
    assert_int_equal(em_call_query_int(call, "pageSize", 50, 0, 1000, &v), EM_INVALID_ARGUMENT);
    assert_string_equal(call->status.message, "pageSize must be between 0 and 1000, got -1.");
    call->query[0].value = "1001";
    assert_int_equal(em_call_query_int(call, "pageSize", 50, 0, 1000, &v), EM_INVALID_ARGUMENT);
    call->query[0].value = "1000";
    assert_int_equal(em_call_query_int(call, "pageSize", 50, 0, 1000, &v), EM_OK);
    assert_true(v == 1000);
}

static void test_query_names_may_be_proto_field_names(void **state)
{
    /* Google binds a query parameter by its JSON name or its proto field name */
    struct fixture *f = *state;
    struct em_call *call = &f->call;
    with_query(f, "page_size", "7");
    with_query(f, "update_mask", "labels,ackDeadlineSeconds");
    with_query(f, "showdeleted", "true"); /* neither: another name */
    int64_t v = -1;
    assert_int_equal(em_call_query_int(call, "pageSize", 50, 0, 1000, &v), EM_OK);
    assert_true(v == 7);
    assert_string_equal(em_call_query(call, "updateMask"), "labels,ackDeadlineSeconds");
    assert_null(em_call_query(call, "showDeleted"));
    assert_null(em_call_query(call, "page"));
}

static void test_query_bool(void **state)
{
    struct fixture *f = *state;
    struct em_call *call = &f->call;
    bool b = true;
    assert_int_equal(em_call_query_bool(call, "allowMissing", &b), EM_OK);
    assert_false(b);
    with_query(f, "allowMissing", NULL); /* "?allowMissing" alone */
    assert_int_equal(em_call_query_bool(call, "allowMissing", &b), EM_OK);
    assert_true(b);
    /* gcloud writes Python's True and False */
    const char *yes[] = {"", "true", "1", "True", "TRUE"}, *no[] = {"false", "0", "False"};
    for (int i = 0; i < 5; i++) {
        call->query[0].value = yes[i];
        b = false;
        assert_int_equal(em_call_query_bool(call, "allowMissing", &b), EM_OK);
        assert_true(b);
    }
    for (int i = 0; i < 3; i++) {
        call->query[0].value = no[i];
        b = true;
        assert_int_equal(em_call_query_bool(call, "allowMissing", &b), EM_OK);
        assert_false(b);
    }
    call->query[0].value = "yes";
    assert_int_equal(em_call_query_bool(call, "allowMissing", &b), EM_INVALID_ARGUMENT);
    assert_string_equal(call->status.message,
                        "Invalid value at 'allow_missing' (TYPE_BOOL), \"yes\"");
    call->query[0].value = "truex";
    assert_int_equal(em_call_query_bool(call, "allowMissing", &b), EM_INVALID_ARGUMENT);
}

static void test_vars_and_resource(void **state)
{
    struct fixture *f = *state;
    request(f, "POST", "/v1/projects/p/widgets", NULL, NULL);
    assert_string_equal(em_call_resource(&f->call), "projects/p");
    assert_string_equal(em_call_var(&f->call, "parent"), "projects/p");
    assert_null(em_call_var(&f->call, "name"));
    request(f, "GET", "/v1/widgets:empty", NULL, NULL);
    assert_string_equal(em_call_resource(&f->call), "");
    with_query(f, "filter", "state = ENABLED");
    assert_string_equal(em_call_query(&f->call, "filter"), "state = ENABLED");
    assert_null(em_call_query(&f->call, "Filter"));
}

static void test_reset_frees_and_clears(void **state)
{
    struct fixture *f = *state;
    request(f, "POST", "/v1/projects/p/widgets", "{\"name\": \"w\"}", NULL);
    assert_non_null(f->call.body);
    assert_non_null(f->call.reply);
    em_call_reset(&f->call);
    request(f, "POST", "/v1/" WIDGET ":silent", NULL, NULL);
    assert_int_not_equal(f->call.status.code, EM_OK);
    em_call_reset(&f->call);
    assert_null(f->call.response);
    assert_null(f->call.reply);
    assert_null(f->call.body);
    assert_int_equal(f->call.status.code, EM_OK);
    assert_int_equal(f->call.response_len, 0);
    /* the same call dispatches again */
    em_dispatch(f->router, &f->call);
    assert_non_null(f->call.response);
}

/* ---------------------------------------------------------------- deferred calls */

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Dispatches a :defer call with no transport; returns em_dispatch's result. */
static bool dispatch_deferred(struct fixture *f, const char *code, bool now, int64_t *elapsed_ms)
{
    em_call_reset(&f->call);
    cJSON_Delete(f->json);
    memset(&f->call, 0, sizeof(f->call));
    f->call.method = "POST";
    f->call.path = "/v1/" WIDGET ":defer";
    f->call.svc = &f->svc;
    if (code)
        with_query(f, "code", code);
    if (now)
        with_query(f, "now", "");
    atomic_store(&deferral.ready_called, false);
    int64_t start = now_ms();
    bool done = em_dispatch(f->router, &f->call);
    *elapsed_ms = now_ms() - start;
    bool ready_called = atomic_load(&deferral.ready_called);
    join_readier();
    assert_null(f->call.transport);
    assert_true(ready_called);
    assert_non_null(f->call.response);
    f->json = cJSON_ParseWithLength(f->call.response, f->call.response_len);
    return done;
}

static void test_a_deferred_call_waits_for_ready(void **state)
{
    struct fixture *f = *state;
    int64_t elapsed = 0;
    /* em_dispatch returns, done, only once the readier thread called em_call_ready */
    assert_true(dispatch_deferred(f, NULL, false, &elapsed));
    assert_true(elapsed >= 90);
    assert_true(deferral.ready_called_before_finish);
    assert_int_equal(deferral.finishes, 1);
    assert_int_equal(handler_runs, 1);
    /* finish ran on the dispatching thread, and its reply was rendered */
    assert_true(pthread_equal(deferral.finisher, pthread_self()));
    assert_true(pthread_equal(deferral.dispatcher, pthread_self()));
    ok_is(f, "{\"name\":\"" WIDGET "\",\"deferred\":true}");
}

static void test_the_deferred_arg_reaches_finish(void **state)
{
    struct fixture *f = *state;
    int64_t elapsed = 0;
    assert_true(dispatch_deferred(f, NULL, false, &elapsed));
    assert_non_null(deferral.arg_given);
    assert_ptr_equal(deferral.arg_seen, deferral.arg_given);
}

static void test_a_call_ready_before_its_handler_returns(void **state)
{
    struct fixture *f = *state;
    int64_t elapsed = 0;
    assert_true(dispatch_deferred(f, NULL, true, &elapsed));
    assert_int_equal(deferral.finishes, 1);
    ok_is(f, "{\"name\":\"" WIDGET "\",\"deferred\":true}");
}

static void test_finish_decides_the_status_of_a_deferred_call(void **state)
{
    struct fixture *f = *state;
    int64_t elapsed = 0;
    /* the handler returned INTERNAL after deferring: ignored, finish's reply is sent (above);
     * a failure set by finish is rendered as Google's error */
    assert_true(dispatch_deferred(f, "NOT_FOUND", false, &elapsed));
    error_is(f, 404, "NOT_FOUND", "The widget went away (NOT_FOUND).");
    assert_true(dispatch_deferred(f, "UNAVAILABLE", true, &elapsed));
    error_is(f, 503, "UNAVAILABLE", "The widget went away (UNAVAILABLE).");
    assert_int_equal(deferral.finishes, 2);
}

static void test_a_deferred_call_is_audited_with_finishs_status(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    assert_int_equal(em_audit_open(f->dir.store, 1000, &f->svc.audit, &st), EM_OK);
    int64_t elapsed = 0;
    assert_true(dispatch_deferred(f, NULL, false, &elapsed));
    assert_true(dispatch_deferred(f, "NOT_FOUND", false, &elapsed));
    assert_int_equal(em_audit_flush(f->svc.audit, &st), EM_OK);
    struct audit_rows rows = {0};
    assert_int_equal(em_audit_scan(f->dir.store, false, 0, audit_row, &rows, &st), EM_OK);
    assert_int_equal(rows.count, 2);
    assert_string_equal(rows.text[0], "test|2|" DEFAULT "|DeferWidget|" WIDGET "|0|-|-");
    assert_string_equal(rows.text[1], "test|2|" DEFAULT "|DeferWidget|" WIDGET
                                      "|5|The widget went away (NOT_FOUND).|-");
}

static void test_a_call_dispatches_again_after_being_deferred(void **state)
{
    struct fixture *f = *state;
    int64_t elapsed = 0;
    assert_true(dispatch_deferred(f, "NOT_FOUND", true, &elapsed));
    /* the same call struct, reset, is an ordinary call again */
    em_call_reset(&f->call);
    f->call.path = "/v1/" WIDGET;
    f->call.method = "GET";
    f->call.query_count = 0;
    assert_true(em_dispatch(f->router, &f->call));
    cJSON_Delete(f->json);
    f->json = cJSON_ParseWithLength(f->call.response, f->call.response_len);
    ok_is(f, "{\"name\":\"" WIDGET "\",\"principal\":\"" DEFAULT "\"}");
    assert_int_equal(deferral.finishes, 1);
}

/* ---------------------------------------------------------------- wire details */

static void test_a_body_of_empty_string_is_an_empty_message(void **state)
{
    struct fixture *f = *state;
    request(f, "POST", "/v1/projects/p/widgets", "\"\"", NULL);
    ok_is(f, "{}");
    request(f, "PATCH", "/v1/" WIDGET, " \"\" ", NULL);
    ok_is(f, "{}");
    request(f, "POST", "/v1/projects/p/widgets", "\"w\"", NULL);
    error_is(f, 400, "INVALID_ARGUMENT",
             "Invalid JSON payload received. Root element must be a message.");
    assert_int_equal(handler_runs, 2);
}

#define WIDGET_BODY                                                                                \
    "{\"name\": \"w\", \"state\": 7, \"parts\": [{\"state\": \"ON\", \"states\": [7, \"ON\"]}, "   \
    "{}]}"

static void test_enums_are_answered_as_numbers_when_asked(void **state)
{
    struct fixture *f = *state;
    const char *body = WIDGET_BODY;
    /* names by default, whatever the request used */
    request(f, "POST", "/v1/projects/p/widgets", body, NULL);
    ok_is(f, "{\"name\":\"w\",\"state\":\"OFF\",\"parts\":[{\"state\":\"ON\",\"states\":[\"OFF\","
             "\"ON\"]},{}]}");
    request_with(f, "POST", "/v1/projects/p/widgets", body, strlen(body), "$alt", "json");
    ok_is(f, "{\"name\":\"w\",\"state\":\"OFF\",\"parts\":[{\"state\":\"ON\",\"states\":[\"OFF\","
             "\"ON\"]},{}]}");
    /* what Google's Node.js libraries send: numbers, nested and in lists too */
    request_with(f, "POST", "/v1/projects/p/widgets", body, strlen(body), "$alt",
                 "json;enum-encoding=int");
    ok_is(f, "{\"name\":\"w\",\"state\":7,\"parts\":[{\"state\":1,\"states\":[7,1]},{}]}");
    request_with(f, "POST", "/v1/projects/p/widgets", body, strlen(body), "alt",
                 "enum-encoding=int;json");
    ok_is(f, "{\"name\":\"w\",\"state\":7,\"parts\":[{\"state\":1,\"states\":[7,1]},{}]}");
    request_with(f, "POST", "/v1/projects/p/widgets", body, strlen(body), "$alt",
                 "json;enum-encoding=intx");
    ok_is(f, "{\"name\":\"w\",\"state\":\"OFF\",\"parts\":[{\"state\":\"ON\",\"states\":[\"OFF\","
             "\"ON\"]},{}]}");
    /* a route without a reply schema is answered as the handler built it */
    request_with(f, "PATCH", "/v1/" WIDGET, body, strlen(body), "$alt", "json;enum-encoding=int");
    ok_is(f, "{\"name\":\"w\",\"state\":\"OFF\",\"parts\":[{\"state\":\"ON\",\"states\":[\"OFF\","
             "\"ON\"]},{}]}");
    /* errors keep their shape */
    request_with(f, "POST", "/v1/projects/p/widgets", "{\"state\": 2}", 13, "$alt",
                 "json;enum-encoding=int");
    error_is(f, 400, "INVALID_ARGUMENT",
             "Invalid value at 'widget.state' (type.googleapis.com/test.v1.Widget.State), 2");
}

static void test_null_list_items_never_reach_a_handler(void **state)
{
    struct fixture *f = *state;
    request(f, "POST", "/v1/projects/p/widgets", "{\"tags\": [\"a\", null]}", NULL);
    error_is(f, 400, "INVALID_ARGUMENT", "Invalid value at 'widget.tags[1]' (TYPE_STRING), null");
    request(f, "POST", "/v1/projects/p/widgets", "{\"parts\": [null]}", NULL);
    error_is(f, 400, "INVALID_ARGUMENT", NULL);
    request(f, "POST", "/v1/projects/p/widgets", "{\"labels\": {\"a\": null}}", NULL);
    error_is(f, 400, "INVALID_ARGUMENT", "Invalid value at 'widget.labels[a]' (TYPE_STRING), null");
    assert_int_equal(handler_runs, 0);
    /* null as a field's value is its default: absent */
    request(f, "POST", "/v1/projects/p/widgets", "{\"name\": null, \"tags\": null}", NULL);
    ok_is(f, "{}");
}

static const char *error_message(struct fixture *f)
{
    return em_json_string(cJSON_GetObjectItem(f->json, "error"), "message");
}

static void refused_body(struct fixture *f, const char *body, size_t len, const char *prefix)
{
    request_with(f, "POST", "/v1/projects/p/widgets", body, len, NULL, NULL);
    error_is(f, 400, "INVALID_ARGUMENT", NULL);
    if (strncmp(error_message(f), prefix, strlen(prefix)) != 0)
        fail_msg("message \"%s\" does not start with \"%s\"", error_message(f), prefix);
}

/* A body given as a string literal, NUL bytes included. */
#define REFUSED_BODY(f, literal, prefix) refused_body(f, literal, sizeof(literal) - 1, prefix)

static void test_bodies_must_be_utf8_without_nul(void **state)
{
    struct fixture *f = *state;
    const char *bad_utf8 = "Invalid JSON payload received. Invalid UTF-8 or a NUL byte at line 1";
    REFUSED_BODY(f, "{\"name\": \"\xff\"}", bad_utf8);
    REFUSED_BODY(f, "{\"name\": \"caf\xc3\"}", bad_utf8);          /* truncated */
    REFUSED_BODY(f, "{\"name\": \"\xc0\xaf\"}", bad_utf8);         /* overlong '/' */
    REFUSED_BODY(f, "{\"name\": \"\xed\xa0\x80\"}", bad_utf8);     /* a surrogate */
    REFUSED_BODY(f, "{\"name\": \"\xf4\x90\x80\x80\"}", bad_utf8); /* past U+10FFFF */
    REFUSED_BODY(f, "{\"name\": \"a\0b\"}", bad_utf8);             /* a raw NUL */
    REFUSED_BODY(f, "{\"na\xffme\": \"w\"}", bad_utf8);            /* in a name */
    REFUSED_BODY(f, "{\"name\": \"a\\u0000b\"}",
                 "Invalid JSON payload received. A string holds the NUL character (\\u0000) at "
                 "line 1, column 12 (byte 11).");
    REFUSED_BODY(f, "{\"labels\": {\"k\\u0000\": \"v\"}}",
                 "Invalid JSON payload received. A string holds the NUL character");
    assert_int_equal(handler_runs, 0);
    /* well-formed text of every length, and escapes that are not NUL, pass */
    const char *good =
        "{\"name\": \"\\\\u0000 caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \\u0001\"}";
    request(f, "POST", "/v1/projects/p/widgets", good, NULL);
    ok_is(f, "{\"name\":\"\\\\u0000 caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \\u0001\"}");
}

static void test_paths_and_queries_must_be_utf8_without_nul(void **state)
{
    struct fixture *f = *state;
    request(f, "GET", "/v1/projects/p/widgets/w\xff", NULL, NULL);
    error_is(f, 400, "INVALID_ARGUMENT",
             "Invalid request path: it must be UTF-8 without NUL characters.");
    /* em_url_unescape turns %00 into 0xFF so that a NUL cannot cut a value short */
    request_with(f, "GET", "/v1/" WIDGET, NULL, 0, "keyRingId",
                 "ab\xff"
                 "cd");
    error_is(f, 400, "INVALID_ARGUMENT",
             "Invalid value at 'key_ring_id' (TYPE_STRING): it must be UTF-8 without NUL "
             "characters.");
    request_with(f, "GET", "/v1/" WIDGET, NULL, 0, "k\xe9y", "v");
    error_is(f, 400, "INVALID_ARGUMENT", NULL);
    assert_int_equal(handler_runs, 0);
    request_with(f, "GET", "/v1/" WIDGET, NULL, 0, "filter", "name = \"caf\xc3\xa9\"");
    assert_int_equal(f->call.http_status, 200);
    request_with(f, "GET", "/v1/" WIDGET, NULL, 0, "allowMissing", NULL);
    assert_int_equal(f->call.http_status, 200);
}

/* A query parameter binds a field the route declares (em_route.query), by its JSON or its
 * proto name, or is one of Google's system parameters; any other is refused, as Google
 * refuses it, before the handler runs. */
static void test_query_parameters_bind_declared_fields(void **state)
{
    struct fixture *f = *state;
    static const char *const accepted[][2] = {
        {"filter", "x"},
        {"key_ring_id", "r"},
        {"options.requestedPolicyVersion", "3"},
        {"options.requested_policy_version", "3"},
        {"$alt", "json;enum-encoding=int"},
        {"alt", "json"},
        {"$.xgafv", "2"},
        {"prettyPrint", "false"},
        {"$prettyPrint", "false"},
        {"fields", "name"},
        {"quotaUser", "q"},
    };
    for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
        request_with(f, "GET", "/v1/" WIDGET, NULL, 0, accepted[i][0], accepted[i][1]);
        if (f->call.http_status != 200)
            fail_msg("?%s=: %s", accepted[i][0], f->call.response);
    }
    static const char *const refused[] = {"pagesize", "Filter", "options", "requestedPolicyVersion",
                                          "$filter",  "$",      "name",    "code",
                                          ".xgafv"};
    handler_runs = 0;
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        request_with(f, "GET", "/v1/" WIDGET, NULL, 0, refused[i], "1");
        char message[256];
        snprintf(message, sizeof(message),
                 "Invalid JSON payload received. Unknown name \"%s\": Cannot bind query parameter. "
                 "Field '%s' could not be found in request message.",
                 refused[i], refused[i]);
        error_is(f, 400, "INVALID_ARGUMENT", message);
    }
    assert_int_equal(handler_runs, 0);
    /* an empty pair ("?&filter=x") names nothing */
    request_with(f, "GET", "/v1/" WIDGET, NULL, 0, "", NULL);
    assert_int_equal(f->call.http_status, 200);
    handler_runs = 0;
    /* another route's parameter is not this one's */
    request_with(f, "POST", "/v1/" WIDGET ":fail", NULL, 0, "filter", "x");
    error_is(f, 400, "INVALID_ARGUMENT", NULL);
    assert_int_equal(handler_runs, 0);
    /* a method the emulator does not build says so, whatever its parameters */
    request_with(f, "POST", "/v1/" WIDGET ":frobnicate", NULL, 0, "anything", "1");
    error_is(f, 400, "UNIMPLEMENTED",
             "Method FrobnicateWidget is not implemented by this emulator.");
}

int main(void)
{
    em_log_init("test", EM_LOG_ERROR);

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_out_of_memory_is_internal),
        T(test_unknown_path_is_not_found),
        T(test_query_parameters_bind_declared_fields),
        T(test_wrong_method_is_not_found),
        T(test_reply_is_rendered_as_json),
        T(test_raw_replies_keep_their_bytes_and_type),
        T(test_body_reaches_the_handler),
        T(test_empty_body_is_an_empty_object),
        T(test_malformed_json_is_invalid_argument),
        T(test_truncated_body_length_is_respected),
        T(test_trailing_garbage_is_refused),
        T(test_schema_errors_are_passed_on),
        T(test_a_body_of_empty_string_is_an_empty_message),
        T(test_enums_are_answered_as_numbers_when_asked),
        T(test_null_list_items_never_reach_a_handler),
        T(test_bodies_must_be_utf8_without_nul),
        T(test_paths_and_queries_must_be_utf8_without_nul),
        T(test_a_route_without_body_ignores_it),
        T(test_unimplemented_methods_are_named),
        T(test_handler_failures_get_their_http_status),
        T(test_unworded_failures_name_the_method),
        T(test_http_override),
        T(test_the_principal_comes_from_the_authorization_header),
        T(test_tokens_naming_no_principal_are_refused_before_the_handler),
        T(test_internal_routes_need_the_internal_credential),
        T(test_service_agents_and_callers_need_the_internal_credential),
        T(test_a_disabled_api_refuses_the_project),
        T(test_a_deleted_project_is_refused),
        T(test_iam_enforce_denies_until_granted),
        T(test_iam_off_allows_everyone),
        T(test_calls_are_audited),
        T(test_query_int),
        T(test_query_names_may_be_proto_field_names),
        T(test_query_bool),
        T(test_vars_and_resource),
        T(test_reset_frees_and_clears),
        T(test_a_deferred_call_waits_for_ready),
        T(test_the_deferred_arg_reaches_finish),
        T(test_a_call_ready_before_its_handler_returns),
        T(test_finish_decides_the_status_of_a_deferred_call),
        T(test_a_deferred_call_is_audited_with_finishs_status),
        T(test_a_call_dispatches_again_after_being_deferred),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
