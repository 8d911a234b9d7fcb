/*
 * em_http: libmicrohttpd glue (see em_http.h). Nothing here knows about services or
 * JSON beyond handing a complete request to em_dispatch() and sending what it rendered.
 */
#include "em_http.h"

#include "em_call.h"
#include "em_log.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct em_http {
    struct MHD_Daemon *daemon;
    const struct em_router *router;
    struct em_service *svc;
    int64_t max_body;
};

/* Per-request state while the body arrives. */
struct pending {
    char *body;
    size_t len, cap;
    bool too_large;
};

static void pending_free(struct pending *p)
{
    if (!p)
        return;
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

static enum MHD_Result dispatch(struct em_http *http, struct MHD_Connection *conn, const char *url,
                                const char *method, struct pending *p)
{
    struct em_call call = {0};
    call.method = method;
    call.path = url;
    call.body_text = p->body;
    call.body_len = p->len;
    call.svc = http->svc;
    call.authorization =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    call.caller_resource = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Emulator-Caller");
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_query, &call);
    em_dispatch(http->router, &call);
    enum MHD_Result ret =
        send_text(conn, call.http_status, call.response, call.response_len, call.content_type);
    call.response = NULL; /* owned by the MHD response now */
    em_call_reset(&call);
    return ret;
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
        *state = p;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (!p->too_large && !pending_append(p, upload_data, *upload_data_size, http->max_body))
            p->too_large = true;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (p->too_large)
        return send_too_large(conn, http->max_body);
    return dispatch(http, conn, url, method, p);
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
    unsigned flags = MHD_USE_ERROR_LOG;
    flags |= opt->threads > 0 ? MHD_USE_EPOLL_INTERNAL_THREAD
                              : MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD;
    /* the pool size is only an option in pool mode (MHD warns about it otherwise) */
    struct MHD_OptionItem pool[] = {
        {opt->threads > 0 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
         opt->threads > 0 ? opt->threads : 0, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    http->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, http, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_ARRAY, pool, MHD_OPTION_NOTIFY_COMPLETED, on_completed, http,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)600, MHD_OPTION_LISTENING_ADDRESS_REUSE,
        (unsigned)1, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_error, NULL, MHD_OPTION_END);
    if (!http->daemon) {
        free(http);
        return EM_FAIL(st, EM_UNAVAILABLE, "cannot listen on %s:%d (port in use?)", opt->host,
                       opt->port);
    }
    *out = http;
    return EM_OK;
}

void em_http_stop(struct em_http *http)
{
    if (!http)
        return;
    MHD_stop_daemon(http->daemon);
    free(http);
}
