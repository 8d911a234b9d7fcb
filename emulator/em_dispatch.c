/*
 * em_dispatch: the one path every REST call takes (see em_call.h):
 *
 *   match route -> authenticate (internal credential, principal) -> parse + schema-check
 *     body -> IAM check -> handler -> audit entry -> render reply or Google JSON error
 *
 * Authentication is decided here once for every service: the internal credential
 * (em_trust.h) makes a call internal; internal routes and the X-Emulator-Caller and
 * X-Emulator-Access-Reason headers need it (PERMISSION_DENIED, "The caller does not have
 * permission", otherwise); the principal comes from em_iam_authenticate (UNAUTHENTICATED for a
 * token that names no principal, or a service agent's without the credential).
 *
 * Failures anywhere become Google's error JSON here and nowhere else.
 *
 * Text reaches handlers only as well-formed UTF-8 without NUL: the path, every query
 * argument (em_url_unescape turns a %00 into a byte that fails this check) and the JSON
 * body, raw bytes and \u0000 escapes alike, are checked here. A reply's enums are names,
 * or numbers when the request says `$alt=json;enum-encoding=int` as Google's client
 * libraries do (read from the route's reply schema). A `fields` selection (em_fields.h)
 * is checked before authentication and prunes the reply, or each streamed element.
 *
 * Where the handler runs, and when the call completes:
 *
 *   no transport (tests, the control plane)   here; a deferred call is waited for here
 *   blocking route of a blocking service      transport->run_blocking: a worker runs the
 *                                             handler and completes the call, as above
 *   any other route                           here; a deferred call is parked and the
 *                                             transport calls em_dispatch_resume later
 *   streaming route (em_call.h) over HTTP      transport->run_blocking, whatever the service;
 *                                             elements go out through transport->stream_write
 *   never_blocks streaming route over HTTP     here, elements collected into one response;
 *                                             or on a worker, streamed, once the handler
 *                                             asks for one (em_call_to_worker)
 *
 * A streaming reply's text is built here, whoever carries it: "[" before the first element,
 * "," before the others, and at the end "]" or ",{"error":...}]" (render_stream_end).
 */
#include "em_api_state.h"
#include "em_audit.h"
#include "em_call.h"
#include "em_clock.h"
#include "em_fields.h"
#include "em_iam.h"
#include "em_json.h"
#include "em_log.h"
#include "em_mask.h"
#include "em_names.h"
#include "em_schema.h"
#include "em_service.h"
#include "em_trust.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *em_call_var(const struct em_call *call, const char *name)
{
    for (int i = 0; i < call->match.var_count; i++)
        if (strcmp(call->match.vars[i].name, name) == 0)
            return call->match.vars[i].value;
    return NULL;
}

const char *em_call_resource(const struct em_call *call)
{
    return call->match.var_count > 0 ? call->match.vars[0].value : "";
}

const char *em_call_query(const struct em_call *call, const char *key)
{
    for (int i = 0; i < call->query_count; i++)
        if (em_mask_path_is(call->query[i].key, key))
            return call->query[i].value ? call->query[i].value : "";
    return NULL;
}

static void query_field_name(const char *key, char *out, size_t len)
{
    em_snake_case(key, out, len);
}

enum em_code em_call_query_int(struct em_call *call, const char *key, int64_t fallback, int64_t min,
                               int64_t max, int64_t *out)
{
    const char *text = em_call_query(call, key);
    *out = fallback;
    if (!text || !*text)
        return EM_OK;
    errno = 0;
    char *end;
    long long v = strtoll(text, &end, 10);
    char field[64];
    query_field_name(key, field, sizeof(field));
    if (errno || *end)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "Invalid value at '%s' (TYPE_INT32), \"%.60s\"", field, text);
    if (v < min || v > max)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "%s must be between %lld and %lld, got %lld.", key, (long long)min,
                            (long long)max, v);
    *out = v;
    return EM_OK;
}

enum em_code em_call_query_time(struct em_call *call, const char *key, int64_t fallback,
                                int64_t *out)
{
    const char *text = em_call_query(call, key);
    *out = fallback;
    if (!text || !*text || em_time_parse(text, out))
        return EM_OK;
    char field[64];
    query_field_name(key, field, sizeof(field));
    return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                        "Invalid value at '%s' (type.googleapis.com/google.protobuf.Timestamp), "
                        "\"%.100s\"",
                        field, text);
}

enum em_code em_call_query_bool(struct em_call *call, const char *key, bool *out)
{
    const char *text = em_call_query(call, key);
    *out = false;
    if (!text)
        return EM_OK;
    /* any case: gcloud writes Python's True and False (ignoreWarnings=False) */
    if (!*text || !strcasecmp(text, "true") || !strcmp(text, "1")) {
        *out = true;
        return EM_OK;
    }
    if (!strcasecmp(text, "false") || !strcmp(text, "0"))
        return EM_OK;
    char field[64];
    query_field_name(key, field, sizeof(field));
    return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "Invalid value at '%s' (TYPE_BOOL), \"%.60s\"",
                        field, text);
}

enum em_code em_call_reply(struct em_call *call, cJSON *reply)
{
    cJSON_Delete(call->reply);
    call->reply = reply;
    return EM_OK;
}

enum em_code em_call_reply_result(struct em_call *call, enum em_code rc, cJSON *resource)
{
    if (rc) {
        cJSON_Delete(resource); /* a domain call that failed should have left it NULL */
        return rc;
    }
    return em_call_reply(call, resource);
}

void em_call_set_error_metadata(struct em_call *call, cJSON *metadata)
{
    cJSON_Delete(call->error_metadata);
    call->error_metadata = metadata;
}

void em_call_reset(struct em_call *call)
{
    cJSON_Delete(call->body);
    cJSON_Delete(call->reply);
    free(call->reply_raw);
    free(call->response);
    free(call->stream_text);
    call->stream_text = NULL;
    cJSON_Delete(call->error_metadata);
    call->error_metadata = NULL;
    em_fields_free(call->fields);
    call->fields = NULL;
    call->stream_elements = call->stream_len = call->stream_cap = 0;
    call->body = call->reply = NULL;
    call->reply_raw = call->response = NULL;
    call->reply_raw_len = call->response_len = 0;
    call->audit_key_version[0] = '\0';
    call->audit_resource[0] = '\0';
    call->deferred = call->rendered = false;
    call->finish = NULL;
    call->deferred_arg = NULL;
    em_status_clear(&call->status);
}

static enum em_code route_call(const struct em_router *router, struct em_call *call)
{
    switch (em_router_match(router, call->method, call->path, &call->match)) {
    case EM_MATCHED:
        return EM_OK;
    case EM_WRONG_METHOD:
        return EM_CALL_FAIL(call, EM_NOT_FOUND, "Method %.10s is not supported for %.200s.",
                            call->method, call->path);
    default:
        return EM_CALL_FAIL(call, EM_NOT_FOUND,
                            "The requested URL %.300s was not found on this server.", call->path);
    }
}

/* Line and column of a byte offset, for Google-like parse errors. */
static void locate(const char *text, size_t offset, int *line, int *column)
{
    *line = 1;
    *column = 1;
    for (size_t i = 0; i < offset; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *column = 1;
        } else {
            (*column)++;
        }
    }
}

static bool body_is_blank(const struct em_call *call)
{
    for (size_t i = 0; i < call->body_len; i++)
        if (call->body_text[i] != ' ' && call->body_text[i] != '\n' && call->body_text[i] != '\r' &&
            call->body_text[i] != '\t')
            return false;
    return true;
}

/* The body text [0, len): UTF-8 without NUL, raw or escaped. */
static enum em_code check_body_text(struct em_call *call, size_t len)
{
    size_t at;
    int line, column;
    if (!em_utf8_valid(call->body_text, len, &at)) {
        locate(call->body_text, at, &line, &column);
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "Invalid JSON payload received. Invalid UTF-8 or a NUL byte at line "
                            "%d, column %d (byte %zu).",
                            line, column, at);
    }
    if (em_json_has_nul_escape(call->body_text, len, &at)) {
        locate(call->body_text, at, &line, &column);
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "Invalid JSON payload received. A string holds the NUL character "
                            "(\\u0000) at line %d, column %d (byte %zu).",
                            line, column, at);
    }
    return EM_OK;
}

static enum em_code parse_body(struct em_call *call)
{
    const struct em_route *route = call->match.route;
    if (!route->body)
        return EM_OK;
    if (!call->body_text || body_is_blank(call)) {
        call->body = cJSON_CreateObject();
        return EM_OK;
    }
    size_t text_len = call->body_len; /* trailing NULs are tolerated, as after the value */
    while (text_len > 0 && call->body_text[text_len - 1] == '\0')
        text_len--;
    if (check_body_text(call, text_len))
        return call->status.code;
    const char *end = NULL;
    call->body = cJSON_ParseWithLengthOpts(call->body_text, call->body_len, &end, false);
    if (!call->body) {
        size_t offset = end ? (size_t)(end - call->body_text) : 0;
        if (offset > call->body_len)
            offset = call->body_len;
        int line, column;
        locate(call->body_text, offset, &line, &column);
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "Invalid JSON payload received. Unexpected token at line %d, column "
                            "%d (byte %zu).",
                            line, column, offset);
    }
    /* anything after the value other than white space is an error */
    for (const char *p = end; p && p < call->body_text + call->body_len; p++)
        if (*p != ' ' && *p != '\n' && *p != '\r' && *p != '\t' && *p != '\0')
            return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                                "Invalid JSON payload received. Unexpected data after the JSON "
                                "value at byte %zu.",
                                (size_t)(p - call->body_text));
    /* a body of "" is an empty message: em_schema_check reads it so */
    return em_schema_check(route->body, call->body, route->body_field, &call->status);
}

static enum em_code authenticate(struct em_call *call)
{
    call->internal = em_trust_verify(call->internal_credential);
    if (em_iam_authenticate(call->authorization, call->internal,
                            call->svc ? &call->svc->config : NULL, call->principal,
                            sizeof(call->principal), &call->status))
        return call->status.code;
    /* what only the emulator's own processes may ask for, refused as Google refuses a
     * caller it does not know (the same answer whatever was presented) */
    if (!call->internal &&
        (call->match.route->internal || call->caller_resource || call->access_reason))
        return EM_CALL_FAIL(call, EM_PERMISSION_DENIED, "The caller does not have permission");
    return EM_OK;
}

static bool utf8_string(const char *s)
{
    return !s || em_utf8_valid(s, strlen(s), NULL);
}

/* The decoded path and query: UTF-8 without NUL (see em_url_unescape). */
static enum em_code check_url(struct em_call *call)
{
    if (!utf8_string(call->path))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "Invalid request path: it must be UTF-8 without NUL characters.");
    for (int i = 0; i < call->query_count; i++) {
        const struct em_query_arg *q = &call->query[i];
        if (!utf8_string(q->key))
            return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                                "Invalid query parameter name: it must be UTF-8 without NUL "
                                "characters.");
        if (!utf8_string(q->value)) {
            char field[64];
            query_field_name(q->key, field, sizeof(field));
            return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                                "Invalid value at '%s' (TYPE_STRING): it must be UTF-8 without NUL "
                                "characters.",
                                field);
        }
    }
    return EM_OK;
}

/* Google's system parameters, which every method accepts (also with a leading '$';
 * $.xgafv only with it). */
static bool is_system_parameter(const char *key)
{
    static const char *const names[] = {
        "access_token", "alt",       "callback", "fields",          "key",        "oauth_token",
        "prettyPrint",  "quotaUser", "trace",    "upload_protocol", "uploadType", "userIp",
    };
    if (strcmp(key, "$.xgafv") == 0)
        return true;
    if (key[0] == '$')
        key++;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(key, names[i]) == 0)
            return true;
    return false;
}

/* Whether key is one of the route's query parameters (em_route.query). */
static bool route_binds(const struct em_route *route, const char *key)
{
    char name[EM_MASK_PATH_MAX];
    for (const char *p = route->query; p && *p;) {
        size_t n = strcspn(p, " ");
        if (n > 0 && n < sizeof(name)) {
            memcpy(name, p, n);
            name[n] = '\0';
            if (em_mask_path_is(key, name))
                return true;
        }
        p += n + strspn(p + n, " ");
    }
    return false;
}

/* Every query parameter binds a field of the method's request, or is a system parameter
 * (an unbuilt method answers UNIMPLEMENTED instead). A parameter without a name, the
 * empty pair of "?&a=1" or "?a=1&&b=2", names nothing and is passed over, as URL parsers
 * do. */
static enum em_code check_query_names(struct em_call *call)
{
    const struct em_route *route = call->match.route;
    if (!route->handler)
        return EM_OK;
    for (int i = 0; i < call->query_count; i++) {
        const char *key = call->query[i].key;
        if (key[0] && !is_system_parameter(key) && !route_binds(route, key))
            return EM_CALL_FAIL(
                call, EM_INVALID_ARGUMENT,
                "Invalid JSON payload received. Unknown name \"%.100s\": Cannot bind "
                "query parameter. Field '%.100s' could not be found in request "
                "message.",
                key, key);
    }
    return EM_OK;
}

/* The `fields` system parameter (or `$fields`): a partial response's selection, or NULL. */
static const char *fields_selection(const struct em_call *call)
{
    for (int i = 0; i < call->query_count; i++) {
        const char *key = call->query[i].key;
        if (strcmp(key, "fields") == 0 || strcmp(key, "$fields") == 0)
            return call->query[i].value ? call->query[i].value : "";
    }
    return NULL;
}

/* The `fields` selection, parsed before the method runs (one that does not parse is
 * refused then); render prunes the reply, or each streamed element, with it. */
static enum em_code parse_fields(struct em_call *call)
{
    return em_fields_parse(fields_selection(call), &call->fields, &call->status);
}

static enum em_code authorize(struct em_call *call)
{
    const struct em_route *route = call->match.route;
    if (!route->permission || !call->svc)
        return EM_OK;
    const char *permission = route->permission;
    if (call->svc->config.iam_enforce && call->svc->def->permission_for) {
        const char *instead = call->svc->def->permission_for(call, permission);
        permission = instead ? instead : permission;
    }
    return em_iam_check(call->svc->store, &call->svc->config, call->principal,
                        em_call_resource(call), permission, &call->status);
}

/* A call on a deleted project: 403 CONSUMER_INVALID, as Google answers for a project that
 * is gone or being deleted. */
enum em_code em_call_refuse_deleted_project(struct em_call *call, const char *project,
                                            const char *google_service)
{
    char consumer[80];
    snprintf(consumer, sizeof(consumer), "projects/%s", project);
    EM_CALL_FAIL(call, EM_PERMISSION_DENIED, "Permission denied on resource project %s.", project);
    const char *const pairs[] = {"consumer",     consumer, "containerInfo", project, "service",
                                 google_service, NULL};
    em_status_set_info(&call->status, "CONSUMER_INVALID", "googleapis.com", pairs);
    return call->status.code;
}

/* Google refuses a call on a project that disabled the service's API (Service Usage,
 * em_api_state.h): 403 SERVICE_DISABLED, before any permission is checked; and any call
 * on a deleted project but Resource Manager's. */
static enum em_code check_api_enabled(struct em_call *call)
{
    if (!em_api_state_any() || !call->svc || call->match.route->internal)
        return EM_OK;
    const struct em_service_desc *desc = call->svc->def->desc;
    const char *resource = em_call_resource(call);
    char project[64];
    if (!desc->google_service || !resource || strncmp(resource, "projects/", 9) != 0 ||
        !em_name_id(resource, "projects", project, sizeof(project)))
        return EM_OK;
    enum em_api_use use = em_api_use(project, desc->google_service);
    if (use == EM_API_PROJECT_DELETED && !desc->serves_deleted_projects)
        return em_call_refuse_deleted_project(call, project, desc->google_service);
    if (use != EM_API_DISABLED)
        return EM_OK;
    long long number = (long long)em_project_number(project);
    char consumer[48], number_text[24], url[256];
    snprintf(consumer, sizeof(consumer), "projects/%lld", number);
    snprintf(number_text, sizeof(number_text), "%lld", number);
    snprintf(url, sizeof(url),
             "https://console.developers.google.com/apis/api/%s/overview?project=%lld",
             desc->google_service, number);
    const char *title = desc->api_title ? desc->api_title : desc->google_service;
    EM_CALL_FAIL(call, EM_PERMISSION_DENIED,
                 "%s has not been used in project %lld before or it is disabled. Enable it by "
                 "visiting %s then retry. If you enabled this API recently, wait a few minutes "
                 "for the action to propagate to our systems and retry.",
                 title, number, url);
    const char *const pairs[] = {"activationUrl", url,         "consumer", consumer,
                                 "containerInfo", number_text, "service",  desc->google_service,
                                 "serviceTitle",  title,       NULL};
    em_status_set_info(&call->status, "SERVICE_DISABLED", "googleapis.com", pairs);
    return call->status.code;
}

static enum em_code prepare(const struct em_router *router, struct em_call *call)
{
    if (check_url(call) || route_call(router, call) || check_query_names(call) ||
        parse_fields(call) || authenticate(call) || check_api_enabled(call) || parse_body(call) ||
        authorize(call))
        return call->status.code;
    const struct em_route *route = call->match.route;
    if (!route->handler)
        return EM_CALL_FAIL(call, EM_UNIMPLEMENTED,
                            "Method %s is not implemented by this emulator.", route->method_name);
    return EM_OK;
}

static void run_handler(struct em_call *call)
{
    const struct em_route *route = call->match.route;
    enum em_code code = route->handler(call);
    if (!call->deferred && code != EM_OK && call->status.code == EM_OK)
        EM_CALL_FAIL(call, code, "%s failed.", route->method_name);
}

static bool runs_on_worker(const struct em_call *call)
{
    const struct em_route *route = call->match.route;
    if (!call->transport || route->never_blocks)
        return false;
    return route->streaming || (call->svc && call->svc->def->blocking_handlers);
}

bool em_call_may_block(const struct em_call *call)
{
    return !call->transport || call->on_worker;
}

enum em_code em_call_to_worker(struct em_call *call)
{
    if (em_call_may_block(call) || call->deferred)
        return EM_CALL_FAIL(call, EM_INTERNAL, "%s cannot move to a worker thread.",
                            call->match.route ? call->match.route->method_name : call->path);
    call->to_worker = true;
    return EM_OK;
}

/* Elements go out through the transport as they come (a streaming call on a worker),
 * rather than being collected into one response. */
static bool streams_through_transport(const struct em_call *call)
{
    return call->transport && call->on_worker;
}

/* --- streaming replies --- */

/* `$alt=json;enum-encoding=int` (system parameter; `alt` is accepted too). */
static bool wants_int_enums(const struct em_call *call)
{
    const char *alt = em_call_query(call, "$alt");
    if (!alt)
        alt = em_call_query(call, "alt");
    for (const char *p = alt; p && *p;) {
        size_t n = strcspn(p, ";");
        if (n == strlen("enum-encoding=int") && strncmp(p, "enum-encoding=int", n) == 0)
            return true;
        p += n;
        if (*p == ';')
            p++;
    }
    return false;
}

/* Appends len bytes to the array's text kept in the call (no transport). */
static bool stream_text_append(struct em_call *call, const char *text, size_t len)
{
    if (call->stream_len + len + 1 > call->stream_cap) {
        size_t cap = call->stream_cap ? call->stream_cap : 1024;
        while (cap < call->stream_len + len + 1)
            cap *= 2;
        char *grown = realloc(call->stream_text, cap);
        if (!grown)
            return false;
        call->stream_text = grown;
        call->stream_cap = cap;
    }
    memcpy(call->stream_text + call->stream_len, text, len);
    call->stream_len += len;
    call->stream_text[call->stream_len] = '\0';
    return true;
}

/* The element as the array carries it: "[" or "," then its JSON. */
static char *render_element(struct em_call *call, cJSON *element, size_t *len)
{
    const struct em_route *route = call->match.route;
    em_fields_apply(call->fields, element);
    if (route->reply && wants_int_enums(call))
        em_schema_enums_to_numbers(route->reply, element);
    char *json = cJSON_PrintUnformatted(element);
    if (!json)
        return NULL;
    size_t json_len = strlen(json);
    char *text = malloc(json_len + 2);
    if (text) {
        text[0] = call->stream_elements == 0 ? '[' : ',';
        memcpy(text + 1, json, json_len + 1);
        *len = json_len + 1;
    }
    cJSON_free(json);
    return text;
}

enum em_code em_call_stream_element(struct em_call *call, cJSON *element)
{
    if (call->status.code != EM_OK) { /* the stream already ended: the client went away */
        cJSON_Delete(element);
        return call->status.code;
    }
    if (!call->match.route || !call->match.route->streaming) {
        cJSON_Delete(element);
        return EM_CALL_FAIL(call, EM_INTERNAL, "%s is not a streaming method.",
                            call->match.route ? call->match.route->method_name : call->path);
    }
    size_t len = 0;
    char *text = element ? render_element(call, element, &len) : NULL;
    cJSON_Delete(element);
    if (!text)
        return EM_FAIL_OOM(&call->status);
    enum em_code code = EM_OK;
    if (streams_through_transport(call))
        code = call->transport->stream_write(call, text, len);
    else if (!stream_text_append(call, text, len))
        code = EM_INTERNAL;
    free(text);
    if (code == EM_CANCELLED)
        return EM_CALL_FAIL(call, EM_CANCELLED, "The client closed the connection.");
    if (code != EM_OK)
        return EM_FAIL_OOM(&call->status);
    call->stream_elements++;
    return EM_OK;
}

/* The end of a streaming reply that sent elements: "]", or the error as the last element.
 * When the elements were collected, the whole array. The status stays 200: it went out
 * with the first element. */
static void render_stream_end(struct em_call *call)
{
    char *error =
        call->status.code ? em_status_to_json_with(&call->status, call->error_metadata) : NULL;
    const char *tail_error = error ? error : "";
    size_t tail_len = strlen(tail_error) + 2;
    size_t head_len = streams_through_transport(call) ? 0 : call->stream_len;
    call->http_status = 200;
    call->content_type = "application/json; charset=UTF-8";
    call->response = malloc(head_len + tail_len + 1);
    if (call->response) {
        if (head_len)
            memcpy(call->response, call->stream_text, head_len);
        snprintf(call->response + head_len, tail_len + 1, "%s%s]", error ? "," : "", tail_error);
        call->response_len = strlen(call->response);
    } else {
        call->response_len = 0;
    }
    free(error);
}

/* --- deferred calls --- */

void em_call_defer(struct em_call *call, em_call_fn finish, void *arg)
{
    call->deferred = true;
    call->finish = finish;
    call->deferred_arg = arg;
    call->waiting_here = em_call_may_block(call); /* a worker, or no transport: wait here */
    if (call->waiting_here)
        sem_init(&call->ready, 0, 0);
    else
        call->transport->park(call);
}

void em_call_ready(struct em_call *call)
{
    if (call->waiting_here)
        sem_post(&call->ready);
    else
        call->transport->wake(call);
}

void *em_call_deferred_arg(const struct em_call *call)
{
    return call->deferred_arg;
}

static void wait_ready(struct em_call *call)
{
    while (sem_wait(&call->ready) != 0)
        ; /* EINTR */
    sem_destroy(&call->ready);
    call->waiting_here = false;
}

static void record_audit(struct em_call *call)
{
    const struct em_route *route = call->match.route;
    if (!route || route->audit == EM_AUDIT_NONE || !call->svc || !call->svc->audit)
        return;
    struct em_audit_entry e = {
        .time_ns = em_clock_now(),
        .service = call->svc->def->desc->name,
        .kind = route->audit,
        .principal = call->principal,
        .method = route->method_name,
        .resource = call->audit_resource[0] ? call->audit_resource : em_call_resource(call),
        .key_version = call->audit_key_version[0] ? call->audit_key_version : NULL,
        .caller = call->internal ? call->caller_resource : NULL,
        .justification = call->audit_justification,
        .justification_enforced = call->audit_justification_enforced,
        .code = call->status.code,
        .message = call->status.code ? call->status.message : NULL,
    };
    em_audit_record(call->svc->audit, &e);
}

static void render(struct em_call *call)
{
    if (call->stream_elements > 0) {
        render_stream_end(call);
        return;
    }
    if (call->status.code != EM_OK) {
        call->http_status = call->status.http_override ? call->status.http_override
                                                       : em_code_http(call->status.code);
        call->response = em_status_to_json_with(&call->status, call->error_metadata);
        call->content_type = "application/json; charset=UTF-8";
        if (call->status.code == EM_INTERNAL || call->status.code == EM_UNKNOWN)
            em_error("%s %s: %s (%s:%d)", call->method, call->path, call->status.message,
                     call->status.file ? call->status.file : "?", call->status.line);
    } else if (call->reply_raw) {
        call->http_status = 200;
        call->response = call->reply_raw;
        call->reply_raw = NULL;
        call->response_len = call->reply_raw_len;
        call->content_type = call->reply_content_type ? call->reply_content_type : "text/plain";
        return;
    } else if (call->match.route && call->match.route->streaming) {
        call->http_status = 200; /* a stream without elements */
        call->response = strdup("[]");
        call->content_type = "application/json; charset=UTF-8";
    } else {
        call->http_status = 200;
        em_fields_apply(call->fields, call->reply);
        if (call->reply && call->match.route && call->match.route->reply && wants_int_enums(call))
            em_schema_enums_to_numbers(call->match.route->reply, call->reply);
        call->response = call->reply ? cJSON_PrintUnformatted(call->reply) : strdup("{}");
        call->content_type = "application/json; charset=UTF-8";
    }
    call->response_len = call->response ? strlen(call->response) : 0;
}

/* After the handler and its deferred work: finish, audit entry, response. */
static void complete(struct em_call *call)
{
    if (call->deferred && call->finish)
        call->finish(call);
    record_audit(call);
    render(call);
    call->rendered = true;
}

/* On a worker thread: the call runs as without a transport, then completes. */
static void run_blocking_call(struct em_call *call)
{
    const struct em_call_transport *transport = call->transport;
    call->transport = NULL; /* em_call_may_block: true */
    run_handler(call);
    if (call->deferred)
        wait_ready(call);
    complete(call);
    call->transport = transport;
}

/* On a worker thread: a streaming handler, whose elements go out through the transport;
 * once it returns, call->response is the array's end (or the whole error, when no element
 * went out). */
static void run_streaming_call(struct em_call *call)
{
    call->on_worker = true;
    run_handler(call);
    if (call->deferred)
        wait_ready(call);
    complete(call);
}

static void run_on_worker(struct em_call *call)
{
    call->to_worker = false;
    call->transport->run_blocking(call, call->match.route->streaming ? run_streaming_call
                                                                     : run_blocking_call);
}

bool em_dispatch(const struct em_router *router, struct em_call *call)
{
    snprintf(call->principal, sizeof(call->principal), "%s", EM_IAM_ANONYMOUS);
    call->internal = false;
    call->match.route = NULL;
    call->match.var_count = 0;
    call->deferred = call->rendered = false;
    call->on_worker = call->to_worker = false;
    if (prepare(router, call) == EM_OK) {
        if (runs_on_worker(call)) {
            run_on_worker(call);
            return false;
        }
        run_handler(call);
        if (call->to_worker) {
            run_on_worker(call);
            return false;
        }
        if (call->deferred && !call->waiting_here)
            return false; /* parked: em_dispatch_resume completes it */
        if (call->deferred)
            wait_ready(call);
    }
    complete(call);
    return true;
}

void em_dispatch_resume(struct em_call *call)
{
    if (!call->rendered)
        complete(call);
}
