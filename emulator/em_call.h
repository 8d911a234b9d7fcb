/*
 * em_call: one REST call as every handler sees it: the matched route, captured path
 * variables, query arguments, the schema-checked JSON body and the caller, plus the reply
 * the handler fills. The HTTP layer (em_http) builds calls from libmicrohttpd; tests and
 * fuzz targets build them directly and run em_dispatch() with no sockets involved.
 *
 * A call's memory is owned by the call: em_call_reset() frees the body, the reply and the
 * rendered response.
 */
#ifndef EM_CALL_H
#define EM_CALL_H

#include "em_router.h"
#include "em_status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#define EM_MAX_QUERY     32
#define EM_PRINCIPAL_MAX 256
#define EM_RESOURCE_MAX  512

struct em_service;

struct em_query_arg {
    const char *key;
    const char *value;
};

struct em_call {
    /* request: set by whoever builds the call */
    const char *method;
    const char *path;
    const char *body_text;
    size_t body_len;
    const char *authorization;   /* Authorization header, or NULL */
    const char *caller_resource; /* X-Emulator-Caller header: resource a service acts for */
    struct em_query_arg query[EM_MAX_QUERY];
    int query_count;
    struct em_service *svc;

    /* filled by em_dispatch before the handler runs */
    struct em_match match;
    cJSON *body; /* NULL when the route has no body */
    char principal[EM_PRINCIPAL_MAX];

    /* filled by the handler */
    cJSON *reply;    /* JSON object sent with 200 */
    char *reply_raw; /* or a raw body (malloc'd) ... */
    size_t reply_raw_len;
    const char *reply_content_type; /* ... with this type */
    struct em_status status;
    char audit_key_version[EM_RESOURCE_MAX]; /* key version a crypto call used */
    char audit_resource[EM_RESOURCE_MAX];    /* set by create handlers: the new resource */

    /* the rendered response, filled by em_dispatch */
    int http_status;
    char *response;
    size_t response_len;
    const char *content_type;
};

/* Routes the call, checks its body and IAM permission, runs the handler, records the
 * audit entry and renders the response (call->http_status, call->response). */
void em_dispatch(const struct em_router *router, struct em_call *call);

/* Frees what dispatch and the handler allocated; the request fields are untouched. */
void em_call_reset(struct em_call *call);

/* The captured path variable, or NULL. */
const char *em_call_var(const struct em_call *call, const char *name);

/* The first captured variable: the resource the route acts on. */
const char *em_call_resource(const struct em_call *call);

/* A query argument, or NULL. */
const char *em_call_query(const struct em_call *call, const char *key);

/* Query arguments with Google's errors for bad values. */
enum em_code em_call_query_int(struct em_call *call, const char *key, int64_t fallback, int64_t min,
                               int64_t max, int64_t *out);
enum em_code em_call_query_bool(struct em_call *call, const char *key, bool *out);

/* Sets the reply object (taking ownership) and returns EM_OK. */
enum em_code em_call_reply(struct em_call *call, cJSON *reply);

/* Fails the call (shorthand for EM_FAIL on call->status). */
#define EM_CALL_FAIL(call, code, ...) EM_FAIL(&(call)->status, (code), __VA_ARGS__)

#endif
