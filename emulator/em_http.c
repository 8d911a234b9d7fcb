/*
 * em_http: libmicrohttpd glue (see em_http.h). Nothing here knows about services or
 * JSON beyond handing a complete request to em_dispatch() and sending what it rendered.
 *
 * In pool mode a call may be parked (MHD's suspend/resume): em_dispatch() returns false,
 * the connection is suspended, and once the call's transport is woken MHD calls
 * on_request again, where em_dispatch_resume() completes it. Calls of blocking routes are
 * parked while a worker thread (em_workers) runs them; deferred calls while another
 * thread does their work.
 *
 *   on_request: headers -> body chunks -> dispatch --(done)-------------------------> send
 *                                             \--(parked) ... wake -> on_request: resume -/
 */
#include "em_http.h"

#include "em_call.h"
#include "em_log.h"
#include "em_trust.h"
#include "em_workers.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_WORKERS     1024 /* threads running blocking calls at once */
#define STOP_WAIT_SLICE 5    /* ms between checks for calls in flight when stopping */
#define STOP_WARN_EVERY (10 * 1000 / STOP_WAIT_SLICE)

struct em_http {
    struct MHD_Daemon *daemon;
    const struct em_router *router;
    struct em_service *svc;
    int64_t max_body;
    struct em_workers *workers; /* pool mode only */
    atomic_bool stopping;
    atomic_int in_flight; /* calls from dispatch until their response is queued (parked too) */
};

/* Per-request state: the body while it arrives, then the call. */
struct pending {
    struct em_http *http;
    struct MHD_Connection *conn;
    char *body;
    size_t len, cap;
    bool too_large, dispatched;
    em_call_fn blocking_fn;
    struct em_call call;
};

static void pending_free(struct pending *p)
{
    if (!p)
        return;
    em_call_reset(&p->call);
    free(p->body);
    free(p);
}

static bool pending_append(struct pending *p, const char *data, size_t n, int64_t max)
{
    if ((int64_t)(p->len + n) > max)
        return false;
    if (p->len + n + 1 > p->cap) {
        size_t cap = p->cap ? p->cap : 1024;
        while (cap < p->len + n + 1)
            cap *= 2;
        char *body = realloc(p->body, cap);
        if (!body)
            return false;
        p->body = body;
        p->cap = cap;
    }
    memcpy(p->body + p->len, data, n);
    p->len += n;
    p->body[p->len] = '\0';
    return true;
}

static enum MHD_Result send_text(struct MHD_Connection *conn, int status, char *text, size_t len,
                                 const char *content_type)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result send_too_large(struct MHD_Connection *conn, int64_t max)
{
    struct em_status st = {0};
    EM_FAIL(&st, EM_INVALID_ARGUMENT, "Request payload size exceeds the limit: %lld bytes.",
            (long long)max);
    st.http_override = 413;
    char *json = em_status_to_json(&st);
    return send_text(conn, 413, json, strlen(json), "application/json; charset=UTF-8");
}

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    struct em_call *call = cls;
    if (call->query_count < EM_MAX_QUERY && key) {
        call->query[call->query_count].key = key;
        call->query[call->query_count].value = value;
        call->query_count++;
    }
    return MHD_YES;
}

/* --- parking: the calls' transport --- */

static void park(struct em_call *call)
{
    struct pending *p = call->transport_ctx;
    MHD_suspend_connection(p->conn);
}

static void wake(struct em_call *call)
{
    struct pending *p = call->transport_ctx;
    MHD_resume_connection(p->conn); /* p may be gone once this returns */
}

static void run_parked(void *arg)
{
    struct pending *p = arg;
    p->blocking_fn(&p->call);
    wake(&p->call);
}

static void run_blocking(struct em_call *call, em_call_fn fn)
{
    struct pending *p = call->transport_ctx;
    struct em_status st = {0};
    park(call);
    p->blocking_fn = fn;
    if (em_workers_submit(p->http->workers, run_parked, p, &st))
        run_parked(p); /* out of memory: block this thread rather than fail the call */
}

static const struct em_call_transport mhd_transport = {park, wake, run_blocking};

/* --- requests --- */

static enum MHD_Result send_call(struct pending *p)
{
    struct em_call *call = &p->call;
    enum MHD_Result ret = send_text(p->conn, call->http_status, call->response, call->response_len,
                                    call->content_type);
    call->response = NULL; /* owned by the MHD response now */
    em_call_reset(call);
    atomic_fetch_sub(&p->http->in_flight, 1); /* no longer parked: MHD may stop */
    return ret;
}

static void build_call(struct em_http *http, struct pending *p, const char *url, const char *method)
{
    struct em_call *call = &p->call;
    call->method = method;
    call->path = url;
    call->body_text = p->body;
    call->body_len = p->len;
    call->svc = http->svc;
    call->transport = http->workers ? &mhd_transport : NULL;
    call->transport_ctx = p;
    call->authorization =
        MHD_lookup_connection_value(p->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    call->caller_resource =
        MHD_lookup_connection_value(p->conn, MHD_HEADER_KIND, "X-Emulator-Caller");
    call->internal_credential =
        MHD_lookup_connection_value(p->conn, MHD_HEADER_KIND, EM_TRUST_HEADER);
    MHD_get_connection_values(p->conn, MHD_GET_ARGUMENT_KIND, collect_query, call);
}

static enum MHD_Result send_stopping(struct MHD_Connection *conn)
{
    struct em_status st = {0};
    EM_FAIL(&st, EM_UNAVAILABLE, "The service is shutting down; retry.");
    char *json = em_status_to_json(&st);
    return send_text(conn, 503, json, strlen(json), "application/json; charset=UTF-8");
}

static enum MHD_Result dispatch(struct em_http *http, struct pending *p, const char *url,
                                const char *method)
{
    /* counted before stopping is read: em_http_stop waits for every call it may miss */
    atomic_fetch_add(&http->in_flight, 1);
    if (atomic_load(&http->stopping)) {
        atomic_fetch_sub(&http->in_flight, 1);
        return send_stopping(p->conn);
    }
    p->dispatched = true;
    build_call(http, p, url, method);
    if (!em_dispatch(http->router, &p->call))
        return MHD_YES; /* parked: on_request runs again once it is woken */
    return send_call(p);
}

static bool declared_too_large(struct MHD_Connection *conn, int64_t max)
{
    const char *length =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    return length && strtoll(length, NULL, 10) > max;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **state)
{
    (void)version;
    struct em_http *http = cls;
    struct pending *p = *state;
    if (!p) {
        if (declared_too_large(conn, http->max_body))
            return send_too_large(conn, http->max_body);
        p = calloc(1, sizeof(*p));
        if (!p)
            return MHD_NO;
        p->http = http;
        p->conn = conn;
        *state = p;
        return MHD_YES;
    }
    if (p->dispatched) { /* a parked call, woken */
        em_dispatch_resume(&p->call);
        return send_call(p);
    }
    if (*upload_data_size > 0) {
        if (!p->too_large && !pending_append(p, upload_data, *upload_data_size, http->max_body))
            p->too_large = true;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (p->too_large)
        return send_too_large(conn, http->max_body);
    return dispatch(http, p, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **state,
                         enum MHD_RequestTerminationCode code)
{
    (void)cls;
    (void)conn;
    (void)code;
    pending_free(*state);
    *state = NULL;
}

__attribute__((format(printf, 2, 0))) static void on_mhd_error(void *cls, const char *fmt,
                                                               va_list ap)
{
    (void)cls;
    char text[512];
    vsnprintf(text, sizeof(text), fmt, ap);
    size_t n = strlen(text);
    if (n > 0 && text[n - 1] == '\n')
        text[n - 1] = '\0';
    em_debug("http: %s", text);
}

/* Paths and query arguments are decoded by em_url_unescape, which keeps a %00 visible. */
static size_t unescape_url(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    return em_url_unescape(s);
}

enum em_code em_http_start(const struct em_http_options *opt, const struct em_router *router,
                           struct em_service *svc, struct em_http **out, struct em_status *st)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt->port)};
    if (inet_pton(AF_INET, opt->host, &addr.sin_addr) != 1)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "--host %s is not an IPv4 address", opt->host);
    struct em_http *http = calloc(1, sizeof(*http));
    if (!http)
        return EM_FAIL(st, EM_RESOURCE_EXHAUSTED, "out of memory");
    http->router = router;
    http->svc = svc;
    http->max_body = opt->max_body;
    if (opt->threads > 0 && em_workers_new(MAX_WORKERS, &http->workers, st)) {
        free(http);
        return st->code;
    }
    unsigned flags = MHD_USE_ERROR_LOG;
    flags |= opt->threads > 0 ? MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME
                              : MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD;
    /* a pool size only for a pool of 2 or more (MHD warns about it otherwise) */
    struct MHD_OptionItem pool[] = {
        {MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)unescape_url, NULL}, /* before a possible END */
        {opt->threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
         opt->threads > 1 ? opt->threads : 0, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    http->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, http, MHD_OPTION_SOCK_ADDR,
                                    (struct sockaddr *)&addr, MHD_OPTION_ARRAY, pool,
                                    MHD_OPTION_NOTIFY_COMPLETED, on_completed, http,
                                    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)600,
                                    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_error, NULL, MHD_OPTION_END);
    if (!http->daemon) {
        em_workers_free(http->workers);
        free(http);
        return EM_FAIL(st, EM_UNAVAILABLE, "cannot listen on %s:%d (port in use?)", opt->host,
                       opt->port);
    }
    *out = http;
    return EM_OK;
}

/* MHD must not be stopped with parked connections (it aborts): new calls are refused,
 * and the ones in flight (a pull waits at most seconds) finish first, however long that
 * takes; the supervisor kills a service that does not stop in time. */
static void wait_for_calls_in_flight(struct em_http *http)
{
    atomic_store(&http->stopping, true);
    struct timespec slice = {0, STOP_WAIT_SLICE * 1000000L};
    for (int i = 1; atomic_load(&http->in_flight) > 0; i++) {
        nanosleep(&slice, NULL);
        if (i % STOP_WARN_EVERY == 0)
            em_warn("http: stopping: waiting for %d calls still running",
                    atomic_load(&http->in_flight));
    }
}

void em_http_stop(struct em_http *http)
{
    if (!http)
        return;
    wait_for_calls_in_flight(http);
    MHD_stop_daemon(http->daemon);
    em_workers_free(http->workers);
    free(http);
}
