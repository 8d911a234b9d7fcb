/*
 * em_call: one REST call as every handler sees it: the matched route, captured path
 * variables, query arguments, the schema-checked JSON body and the caller, plus the reply
 * the handler fills. The HTTP layer (em_http) builds calls from libmicrohttpd; tests and
 * fuzz targets build them directly and run em_dispatch() with no sockets involved.
 *
 * A call's memory is owned by the call: em_call_reset() frees the body, the reply and the
 * rendered response.
 *
 * Calls that wait. Over HTTP, handlers of a service whose handlers may block
 * (em_service_def.blocking_handlers) run on worker threads, unless their route says
 * never_blocks: the transport parks the connection while a worker runs the call, and its
 * own threads serve other connections meanwhile (see em_dispatch). A never_blocks handler
 * that hands its work to another thread (a store's writer thread, say) defers the call
 * instead of waiting for it:
 *
 *   handler:      em_call_defer(call, finish, arg); start the work; return EM_OK
 *   other thread: ... work done ... em_call_ready(call)
 *   finish(call): runs on the call's own thread: fills the reply or the status
 *
 * Over HTTP the connection is parked meanwhile; without a transport em_dispatch() waits.
 *
 * Streaming replies. Google's server-streaming methods (Spanner executeStreamingSql and
 * streamingRead, Bigtable readRows, mutateRows and sampleRowKeys) answer over REST with one
 * JSON array whose elements are written as they are produced. A route marked `streaming`
 * has a handler that produces the elements one at a time and returns when the stream
 * ends:
 *
 *   handler:  for each element: if (em_call_stream_element(call, element))
 *                                   return call->status.code;   (client gone, or no memory)
 *             return EM_OK, or fail the call (EM_CALL_FAIL) to end the stream with an error
 *
 *   what the client reads                                      HTTP status
 *   no element, success           []                           200
 *   no element, failure           Google's error JSON          the error's
 *   elements, success             [e1,e2,...]                  200
 *   elements, then failure        [e1,e2,...,{"error":{...}}]  200 (sent with e1)
 *
 * A failure after elements were sent is the array's last element, as Google's front end
 * writes it (its clients, google-gax's parseHttpError for one, look for the element that
 * has "error"). Authentication, the schema, IAM and the audit entry are as for any call:
 * the entry is written once, when the handler returns, with its final code.
 *
 * Over HTTP (em_http) a streaming handler runs on a worker thread, and each element goes
 * out as it comes (chunked transfer encoding). The transport buffers a bounded amount:
 * em_call_stream_element waits while the client reads slower than the handler produces,
 * and returns CANCELLED once the client has gone, so the handler stops. Without a
 * transport (tests, fuzz targets) the elements are collected and em_dispatch() renders
 * the whole array into call->response, with the same bytes and status. A streaming
 * handler must not set a reply (em_call_reply).
 *
 * Small streams on the HTTP thread. A streaming route marked never_blocks starts on the
 * HTTP thread, where a stream costs no thread hand-off: its elements are collected and
 * sent as one response, as without a transport. Such a handler either answers there
 * (deferring its work to a store's writer thread if it likes: finish then produces the
 * elements), or, when the answer may be large or the work may block, moves the call to a
 * worker and is run again there, streaming as above:
 *
 *   handler:  if (!em_call_may_block(call) && big(call->body))
 *                 return em_call_to_worker(call);
 *             ... produce the elements, or defer ...
 *
 * em_call_to_worker works for any never_blocks route: the handler runs again on a worker
 * thread, where em_call_may_block() is true. A handler that defers where it may block
 * (a worker, or no transport) is waited for there: the same handler code serves both.
 */
#ifndef EM_CALL_H
#define EM_CALL_H

#include "em_router.h"
#include "em_status.h"

#include <cjson/cJSON.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define EM_MAX_QUERY     32
#define EM_PRINCIPAL_MAX 256
#define EM_RESOURCE_MAX  512

struct em_service;

struct em_call;

typedef void (*em_call_fn)(struct em_call *call);

/* How a transport (em_http) parks calls. NULL in a call: nothing is parked, em_dispatch
 * runs every handler on its caller's thread and waits for deferred calls. */
struct em_call_transport {
    /* stops serving the call's connection until wake */
    void (*park)(struct em_call *call);
    /* the parked call is ready: the transport calls em_dispatch_resume() on its thread */
    void (*wake)(struct em_call *call);
    /* parks the call, runs fn(call) on a thread that may block, then wakes it */
    void (*run_blocking)(struct em_call *call, em_call_fn fn);
    /* streaming routes: sends len bytes of the array (run_blocking's thread; may wait for
     * the client to read). Once this has been called, the wake at the end of run_blocking
     * sends call->response as the array's end. Returns EM_CANCELLED once the client has
     * gone, EM_INTERNAL when memory ran out. */
    enum em_code (*stream_write)(struct em_call *call, const char *text, size_t len);
};

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
    const char *authorization;       /* Authorization header, or NULL */
    const char *caller_resource;     /* X-Emulator-Caller header: resource a service acts for */
    const char *internal_credential; /* X-Emulator-Internal header (em_trust.h), or NULL */
    /* X-Emulator-Access-Reason header: why a service uses a Cloud KMS key, a Key Access
     * Justifications reason (em_kms_client.h); NULL: the caller's own access */
    const char *access_reason;
    struct em_query_arg query[EM_MAX_QUERY];
    int query_count;
    struct em_service *svc;
    const struct em_call_transport *transport; /* NULL: see struct em_call_transport */
    void *transport_ctx;
    /* set by the transport once the client has gone (closed or reset its connection) while
     * the call runs: a long handler may stop, with CANCELLED (Spanner's statements do) */
    atomic_bool client_gone;

    /* filled by em_dispatch before the handler runs */
    struct em_match match;
    cJSON *body; /* NULL when the route has no body */
    char principal[EM_PRINCIPAL_MAX];
    bool internal; /* the call came from one of the emulator's own processes */

    /* filled by the handler */
    cJSON *reply;    /* JSON object sent with 200 */
    char *reply_raw; /* or a raw body (malloc'd) ... */
    size_t reply_raw_len;
    const char *reply_content_type; /* ... with this type */
    struct em_status status;
    cJSON *error_metadata;                   /* see em_call_set_error_metadata */
    char audit_key_version[EM_RESOURCE_MAX]; /* key version a crypto call used */
    char audit_resource[EM_RESOURCE_MAX];    /* set by create handlers: the new resource */
    const char *audit_justification;         /* a crypto call: its access reason (static text) */
    bool audit_justification_enforced;       /* ... checked against the key's policy */

    /* a deferred call (em_call_defer), private to em_dispatch.c */
    em_call_fn finish;
    void *deferred_arg;
    bool deferred, waiting_here, rendered;
    sem_t ready;

    /* where the handler runs (em_call_may_block), private to em_dispatch.c */
    bool on_worker, to_worker;

    /* a streaming reply (em_call_stream_element), private to em_dispatch.c: elements sent,
     * and when they are collected (not streamed through the transport) the array's text
     * so far */
    size_t stream_elements;
    char *stream_text;
    size_t stream_len, stream_cap;

    /* the `fields` selection (em_fields.h) parsed once before the handler, private to
     * em_dispatch.c; NULL: the reply is whole */
    struct em_fields *fields;

    /* the rendered response, filled by em_dispatch */
    int http_status;
    char *response;
    size_t response_len;
    const char *content_type;
};

/* Routes the call, checks its body and IAM permission, runs the handler, records the
 * audit entry and renders the response (call->http_status, call->response). Returns
 * false when the call was parked (only with a transport): once woken, the transport
 * calls em_dispatch_resume(), which renders the response if it is not yet. */
bool em_dispatch(const struct em_router *router, struct em_call *call);
void em_dispatch_resume(struct em_call *call);

/* Defers the call (see the top of this file). From here on the handler's return value is
 * ignored and it must not touch the call's status or reply: finish(call) decides them.
 * em_call_ready() must be called exactly once, even when the work could not start (the
 * call stays parked until then, and the service cannot stop). The call and arg stay
 * valid until finish returns. */
void em_call_defer(struct em_call *call, em_call_fn finish, void *arg);

/* The deferred work is done (any thread). */
void em_call_ready(struct em_call *call);

/* The arg given to em_call_defer. */
void *em_call_deferred_arg(const struct em_call *call);

/* True when the handler may wait here: on a worker thread, or with no transport. */
bool em_call_may_block(const struct em_call *call);

/* From a never_blocks handler on the HTTP thread that has not deferred: the call moves to
 * a worker thread, where the handler runs again (see the top of this file). Returns
 * EM_OK; INTERNAL when the handler may already block here. */
enum em_code em_call_to_worker(struct em_call *call);

/* Frees what dispatch and the handler allocated; the request fields are untouched. */
void em_call_reset(struct em_call *call);

/* The captured path variable, or NULL. */
const char *em_call_var(const struct em_call *call, const char *name);

/* The first captured variable: the resource the route acts on. */
const char *em_call_resource(const struct em_call *call);

/* A query argument, or NULL. key is the field's JSON name ("pageSize"); the query may
 * also name it as the proto field ("page_size"), which Google accepts too. */
const char *em_call_query(const struct em_call *call, const char *key);

/* Query arguments with Google's errors for bad values. */
enum em_code em_call_query_int(struct em_call *call, const char *key, int64_t fallback, int64_t min,
                               int64_t max, int64_t *out);
enum em_code em_call_query_bool(struct em_call *call, const char *key, bool *out);
/* A google.protobuf.Timestamp argument (RFC 3339) as emulator nanoseconds; absent or empty:
 * fallback; unparsable: INVALID_ARGUMENT naming the field as Google's binding does. */
enum em_code em_call_query_time(struct em_call *call, const char *key, int64_t fallback,
                                int64_t *out);

/* Sets the reply object (taking ownership) and returns EM_OK. */
enum em_code em_call_reply(struct em_call *call, cJSON *reply);

/* A handler's last step after a domain call: rc when it failed (the domain set the
 * call's status), else resource (taken) as the reply. */
enum em_code em_call_reply_result(struct em_call *call, enum em_code rc, cJSON *resource);

/* Sends one element of a streaming route's reply (see the top of this file), taking
 * ownership of element. Returns EM_OK, or fails the call: CANCELLED when the client has
 * gone (the handler should return at once), INTERNAL when memory ran out or the route is
 * not a streaming one. */
enum em_code em_call_stream_element(struct em_call *call, cJSON *element);

/* The metadata (taken) of the ErrorInfo a failed call carries (its status set with
 * em_status_set_info), when it may be too large for an em_status: Pub/Sub's exactly-once
 * acknowledgements name every ack ID they refuse. */
void em_call_set_error_metadata(struct em_call *call, cJSON *metadata);

/* Fails the call as Google refuses any call on a deleted project: 403 "Permission denied
 * on resource project <project>." with ErrorInfo CONSUMER_INVALID naming google_service. */
enum em_code em_call_refuse_deleted_project(struct em_call *call, const char *project,
                                            const char *google_service);

/* Fails the call (shorthand for EM_FAIL on call->status). */
#define EM_CALL_FAIL(call, code, ...) EM_FAIL(&(call)->status, (code), __VA_ARGS__)

#endif
