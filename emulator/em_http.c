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
 *   on_request_line: URL length, query count -> on_request: headers (limits checked)
 *     -> body chunks -> dispatch --(done)-------------------------------------> send
 *                          \--(parked) ... wake -> on_request: resume -----------/
 *
 * Streaming replies (em_call.h) are parked while a worker runs their handler; the first
 * element wakes the connection and on_request queues a response read by stream_read
 * (chunked: its length is unknown). See "Streaming replies" below.
 *
 * The front door. MHD 0.9.75 parses the request line and the headers before any callback
 * of ours can answer, and rejects some requests there with a fixed HTML page built from
 * compile-time strings (connection.c: transmit_error_response_len, no hook for the body or
 * its headers), or closes the connection without an answer. So MHD has no listening
 * socket (MHD_USE_NO_LISTEN_SOCKET): em_http_accept accepts every connection, looks at the
 * head of its first request without consuming it, answers a malformed one with Google's
 * JSON error (em_http_head: version, request line, header lines, Host, Content-Length,
 * URL and head sizes) and hands a sound one to MHD with MHD_add_connection (hand_over),
 * recording when its first byte came for the guard below. Keep-alive requests after the
 * first never pass the acceptor: no cost per request. What MHD still answers itself, with
 * its HTML page, is therefore:
 *   - anything malformed in the second and later requests of a keep-alive connection
 *     (their heads are read by MHD alone), except the sizes and the query count, which
 *     on_request checks on every request;
 *   - a malformed chunked body (chunk sizes come after the head): 400.
 * MHD's memory per connection (CONNECTION_MEMORY) is twice the head limit, so that a later
 * request over EM_HTTP_MAX_URL or EM_HTTP_MAX_HEADER, and well beyond them, still reaches
 * on_request, which answers the limits with Google's JSON.
 *
 * Many query parameters. MHD stores each query parameter in the connection's pool; when
 * the pool is exhausted by them it queues its 431 page and then, in 0.9.75, overwrites the
 * connection's state and waits for the idle timeout (parse_initial_message_line ignores
 * the failure). on_request_line sees the raw URL first (MHD_OPTION_URI_LOG_CALLBACK runs
 * before the parameters are parsed, from MHD's own writable read buffer), counts the
 * parameters, and when there are more than EM_MAX_QUERY, or the URL is over
 * EM_HTTP_MAX_URL, ends the string MHD is about to parse right after the '?': MHD stores
 * no parameter, and on_request answers 400 or 414.
 */
#include "em_http.h"

#include "em_call.h"
#include "em_clock.h"
#include "em_http_accept.h"
#include "em_log.h"
#include "em_trust.h"
#include "em_workers.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/tcp.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS     1024 /* threads running blocking calls at once */
#define STOP_WAIT_SLICE 5    /* ms between checks for calls in flight when stopping */
#define STOP_WARN_EVERY (10 * 1000 / STOP_WAIT_SLICE)
/* when stopping, the connections of calls still answering after this long are shut down
 * (a pull waits at most 3 s; the supervisor kills a service 10 s after SIGTERM) */
#define STOP_CUT_AFTER_MS 4000

/* MHD's memory per connection: the read buffer (request line, headers, a body chunk)
 * and one record per header and query parameter. Twice EM_HTTP_MAX_HEADER, so that a
 * request over our limits still reaches on_request and gets our JSON answer. */
#define CONNECTION_MEMORY (2 * EM_HTTP_MAX_HEADER)

/* Connections: as many as file descriptors allow, less a reserve for the process's own
 * files and sockets; a thread per connection is capped lower (one thread each). */
#define NOFILE_WANTED            65536
#define FD_RESERVE               512
#define MAX_CONNECTIONS          16384
#define MAX_THREADED_CONNECTIONS 4096
#define MIN_CONNECTIONS          64

/* A streaming reply keeps at most this many bytes waiting for a slow client (beyond it
 * the handler waits), or one element when an element is larger. */
#define STREAM_BUFFER (64 * 1024)
#define STREAM_BLOCK  (32 * 1024) /* bytes MHD asks stream_read for at once */

#define SWEEP_MS            200  /* how often request deadlines are checked */
#define IDLE_CHECK_EVERY    5    /* sweeps between looks at idle connections' byte counts */
#define GONE_CHECK_AFTER_MS 1000 /* a call answered this long: is its client still there? */
#define BYTES_UNKNOWN       UINT64_MAX

/* A connection as the guard sees it (see "Slow clients" below). */
enum conn_phase {
    CONN_IDLE,      /* between requests: left to MHD's idle timeout */
    CONN_RECEIVING, /* a request's first byte has arrived: the deadline runs */
    CONN_ANSWERING, /* the request is complete (or refused): no deadline */
    CONN_CLOSING,   /* past its deadline and shut down: MHD frees it */
};

struct conn {
    struct conn *prev, *next;
    int fd;
    enum conn_phase phase;
    int64_t since_ms;         /* CONN_RECEIVING: when the first byte was seen; CONN_ANSWERING:
                                 when the call was dispatched */
    uint64_t bytes_idle;      /* bytes received while idle, BYTES_UNKNOWN until the sweeper looks */
    atomic_bool *client_gone; /* CONN_ANSWERING: the call's em_call.client_gone, or NULL */
};

struct em_http {
    struct MHD_Daemon *daemon;
    const struct em_router *router;
    struct em_service *svc;
    int64_t max_body;
    int request_timeout_ms;
    struct em_workers *workers; /* pool mode only */
    struct em_http_accept *acceptor;
    atomic_bool stopping;
    atomic_int in_flight; /* calls from dispatch until their response is queued (parked too),
                           * a streaming reply until its connection and handler are done */

    /* the connection guard: conns, and the sweeper's state, under guard_lock */
    pthread_mutex_t guard_lock;
    pthread_cond_t guard_wake;
    struct conn *conns;
    int64_t *first_byte_ms; /* by descriptor: set by hand_over, taken by on_connection */
    size_t first_byte_cap;
    bool sweeper_started, sweeper_stop;
    pthread_t sweeper;
};

struct stream;

enum body_refusal { BODY_KEPT, BODY_TOO_LARGE, BODY_NO_MEMORY };

/* Per-request state: the body while it arrives, then the call. */
struct pending {
    struct em_http *http;
    struct MHD_Connection *conn; /* NULL until on_request's first call */
    size_t url_bytes;            /* the raw URL, query included (on_request_line) */
    int query_args;              /* query parameters in it */
    char *body;
    size_t len, cap;
    enum body_refusal refusal; /* set: the rest of the body is read and dropped */
    uint64_t dropped;          /* bytes dropped since */
    bool dispatched;
    bool counted; /* in http->in_flight: dispatched, its response not yet queued */
    em_call_fn blocking_fn;
    bool blocking_here;    /* no worker could take the call: it runs on the HTTP thread */
    struct stream *stream; /* a streaming reply whose first element was sent, or NULL */
    struct em_call call;
};

static void stream_free(struct stream *s);

static void pending_free(struct pending *p)
{
    if (!p)
        return;
    em_call_reset(&p->call);
    stream_free(p->stream);
    free(p->body);
    free(p);
}

/* Keeps n more bytes of the body; false when out of memory. */
static bool pending_append(struct pending *p, const char *data, size_t n)
{
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
                                 const char *content_type, bool close)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (close)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static int status_http(const struct em_status *st)
{
    return st->http_override ? st->http_override : em_code_http(st->code);
}

/* Google's error JSON for st; with close, the connection ends after it. */
static enum MHD_Result send_error(struct MHD_Connection *conn, const struct em_status *st,
                                  bool close)
{
    char *json = em_status_to_json(st);
    if (!json)
        return MHD_NO;
    return send_text(conn, status_http(st), json, strlen(json), "application/json; charset=UTF-8",
                     close);
}

static void fail_too_large(struct em_status *st, int64_t max)
{
    EM_FAIL(st, EM_INVALID_ARGUMENT, "Request payload size exceeds the limit: %lld bytes.",
            (long long)max);
    st->http_override = 413;
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

/* --- slow clients: the connection guard ---
 *
 * MHD's connection timeout only ends a connection that sends nothing at all: a client
 * sending a byte a second keeps its request, and its connection, forever. The guard
 * gives every request a deadline from its first byte:
 *
 *   IDLE --first byte seen--> RECEIVING --complete, or refused--> ANSWERING
 *     ^                           |                                   |
 *     |                           +--request_timeout_ms--> CLOSING    |
 *     +---------------------------- response sent (on_completed) -----+
 *
 * A connection's first request is held by em_http_accept until its head is whole, under
 * the same deadline; MHD gets it RECEIVING, its deadline running from the first byte the
 * acceptor saw (hand_over records it by descriptor, on_connection takes it). The first
 * byte of a later request is seen either by the sweeper (the socket's received byte
 * count, TCP_INFO, grew since the connection became idle; it looks every
 * IDLE_CHECK_EVERY sweeps, and reads the count an idle connection started with at the
 * first sweep after: reading it costs as much as a small request, so never on a request's
 * path) or by on_request_line, whichever comes first. A request dribbled byte by byte
 * has its deadline running within one to two seconds of its first byte, one whose
 * request line arrives at once from then. A sweeper thread checks every SWEEP_MS and
 * shuts down (shutdown(2)) the
 * socket of a request past its deadline: MHD reads the end of the stream and frees the
 * connection on its own thread, without an answer (HTTP has none for a request that never
 * arrived, and MHD cannot queue one before the request is complete). The descriptor is
 * used only under guard_lock, and MHD reports a connection closed (NOTIFY_CLOSED, which
 * takes the lock) before it closes the descriptor: the sweeper never touches a descriptor
 * reused by another connection. Parked calls are ANSWERING: no deadline; but once a call
 * has run for GONE_CHECK_AFTER_MS the sweeper looks whether its client closed or reset the
 * connection (poll, POLLRDHUP) and tells the call (em_call.client_gone): MHD itself sees it
 * only once the call is answered. */

static bool socket_bytes_received(int fd, uint64_t *out)
{
    struct tcp_info info;
    socklen_t len = sizeof(info);
    memset(&info, 0, sizeof(info));
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0 ||
        len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof(info.tcpi_bytes_received))
        return false;
    *out = info.tcpi_bytes_received;
    return true;
}

static struct conn *conn_of(struct MHD_Connection *mhd)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(mhd, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? info->socket_context : NULL;
}

/* Moves the connection along the drawing above; a CLOSING one stays CLOSING. */
static void guard_enter(struct em_http *http, struct MHD_Connection *mhd, enum conn_phase phase)
{
    pthread_mutex_lock(&http->guard_lock);
    struct conn *c = conn_of(mhd);
    if (c && phase == CONN_IDLE)
        c->client_gone = NULL; /* its call is over, and goes */
    if (!c || c->phase == CONN_CLOSING)
        goto out_unlock;
    switch (phase) {
    case CONN_IDLE:
        c->phase = CONN_IDLE;
        c->bytes_idle = BYTES_UNKNOWN;
        break;
    case CONN_RECEIVING: /* if the sweeper saw the first byte, the deadline runs from then */
        if (c->phase == CONN_IDLE) {
            c->phase = CONN_RECEIVING;
            c->since_ms = em_clock_monotonic_ms();
        }
        break;
    default:
        c->phase = phase;
    }
out_unlock:
    pthread_mutex_unlock(&http->guard_lock);
}

/* CONN_ANSWERING, with the call whose client_gone the sweeper sets if the client leaves
 * (guard_enter's CONN_IDLE forgets it, before the call is freed). */
static void guard_answering(struct em_http *http, struct MHD_Connection *mhd,
                            atomic_bool *client_gone)
{
    pthread_mutex_lock(&http->guard_lock);
    struct conn *c = conn_of(mhd);
    if (c && c->phase != CONN_CLOSING) {
        c->phase = CONN_ANSWERING;
        c->client_gone = client_gone;
        c->since_ms = em_clock_monotonic_ms();
    }
    pthread_mutex_unlock(&http->guard_lock);
}

static void on_connection(void *cls, struct MHD_Connection *mhd, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct em_http *http = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(mhd, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct conn *c = info ? calloc(1, sizeof(*c)) : NULL;
        if (!c)
            return; /* untracked: MHD's idle timeout still applies */
        c->fd = info->connect_fd;
        c->phase = CONN_IDLE;
        c->bytes_idle = 0; /* whatever arrived is the first request's */
        pthread_mutex_lock(&http->guard_lock);
        if ((size_t)c->fd < http->first_byte_cap && http->first_byte_ms[c->fd]) {
            c->phase = CONN_RECEIVING; /* the deadline runs from the acceptor's first byte */
            c->since_ms = http->first_byte_ms[c->fd];
            http->first_byte_ms[c->fd] = 0;
        }
        c->next = http->conns;
        if (c->next)
            c->next->prev = c;
        http->conns = c;
        *socket_context = c;
        pthread_mutex_unlock(&http->guard_lock);
        return;
    }
    pthread_mutex_lock(&http->guard_lock);
    struct conn *c = *socket_context;
    if (c) {
        if (c->prev)
            c->prev->next = c->next;
        else
            http->conns = c->next;
        if (c->next)
            c->next->prev = c->prev;
        free(c);
        *socket_context = NULL;
    }
    pthread_mutex_unlock(&http->guard_lock);
}

/* A look at an idle connection: the byte count it became idle with (at the first sweep
 * after), or whether a request has begun since. */
static void check_idle(struct conn *c, int64_t now, bool compare)
{
    uint64_t bytes;
    if ((c->bytes_idle != BYTES_UNKNOWN && !compare) || !socket_bytes_received(c->fd, &bytes))
        return; /* without a count, on_request_line starts the deadline */
    if (c->bytes_idle != BYTES_UNKNOWN && bytes > c->bytes_idle) {
        c->phase = CONN_RECEIVING;
        c->since_ms = now;
    }
    c->bytes_idle = bytes;
}

/* A look at a connection whose call has run for a while: whether its client closed or
 * reset it (the call goes on: MHD sees it only once the call is answered). */
static void check_client_gone(struct conn *c, int64_t now)
{
    if (!c->client_gone || atomic_load(c->client_gone) || now - c->since_ms < GONE_CHECK_AFTER_MS)
        return;
    struct pollfd pfd = {.fd = c->fd, .events = POLLRDHUP};
    if (poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)))
        atomic_store(c->client_gone, true);
}

/* Under guard_lock: shuts the connection's socket down; MHD reads the end of the stream
 * and frees the connection on its own thread. */
static void cut(struct conn *c)
{
    shutdown(c->fd, SHUT_RDWR);
    c->phase = CONN_CLOSING;
}

/* One pass over the connections, under guard_lock; returns how many it shut down. */
static int sweep_once(struct em_http *http, int64_t now, bool look_at_idle)
{
    int closed = 0;
    for (struct conn *c = http->conns; c; c = c->next) {
        if (c->phase == CONN_IDLE)
            check_idle(c, now, look_at_idle);
        if (c->phase == CONN_ANSWERING)
            check_client_gone(c, now);
        if (c->phase == CONN_RECEIVING && now - c->since_ms >= http->request_timeout_ms) {
            cut(c);
            closed++;
        }
    }
    return closed;
}

/* Stopping: shuts down the sockets of the connections whose call is still being answered,
 * as the sweeper does, so that MHD ends them on its threads: a client that stopped reading
 * a streaming reply would otherwise hold its call, and the stop, for the idle timeout. The
 * calls complete (a stream's producer sees CANCELLED); their answers are lost. */
static int guard_cut_answering(struct em_http *http)
{
    int count = 0;
    pthread_mutex_lock(&http->guard_lock);
    for (struct conn *c = http->conns; c; c = c->next) {
        if (c->phase == CONN_ANSWERING) {
            cut(c);
            count++;
        }
    }
    pthread_mutex_unlock(&http->guard_lock);
    return count;
}

static void *sweeper_main(void *arg)
{
    struct em_http *http = arg;
    pthread_mutex_lock(&http->guard_lock);
    for (unsigned sweep = 0; !http->sweeper_stop; sweep++) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += SWEEP_MS * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&http->guard_wake, &http->guard_lock, &until);
        if (http->sweeper_stop)
            break;
        int closed = sweep_once(http, em_clock_monotonic_ms(), sweep % IDLE_CHECK_EVERY == 0);
        if (closed > 0)
            em_info("http: closed %d connections: their request did not arrive in %d ms", closed,
                    http->request_timeout_ms);
    }
    pthread_mutex_unlock(&http->guard_lock);
    return NULL;
}

static enum em_code guard_start(struct em_http *http, struct em_status *st)
{
    if (em_clock_cond_init(&http->guard_wake) != 0)
        return EM_FAIL(st, EM_INTERNAL, "cannot create the connection guard");
    pthread_mutex_init(&http->guard_lock, NULL);
    if (pthread_create(&http->sweeper, NULL, sweeper_main, http) != 0) {
        pthread_cond_destroy(&http->guard_wake);
        pthread_mutex_destroy(&http->guard_lock);
        return EM_FAIL(st, EM_INTERNAL, "cannot start the connection guard's thread");
    }
    http->sweeper_started = true;
    return EM_OK;
}

/* Stops the sweeper; the connections' records go with MHD's (NOTIFY_CLOSED). */
static void guard_stop(struct em_http *http)
{
    if (!http->sweeper_started)
        return;
    pthread_mutex_lock(&http->guard_lock);
    http->sweeper_stop = true;
    pthread_cond_signal(&http->guard_wake);
    pthread_mutex_unlock(&http->guard_lock);
    pthread_join(http->sweeper, NULL);
    http->sweeper_started = false;
}

static void guard_free(struct em_http *http)
{
    free(http->first_byte_ms);
    while (http->conns) { /* none once MHD has stopped; the loop is for safety */
        struct conn *next = http->conns->next;
        free(http->conns);
        http->conns = next;
    }
    pthread_cond_destroy(&http->guard_wake);
    pthread_mutex_destroy(&http->guard_lock);
}

/* --- parking: the calls' transport --- */

static void park(struct em_call *call)
{
    struct pending *p = call->transport_ctx;
    MHD_suspend_connection(p->conn);
}

static void stream_finish(struct pending *p);

static void wake(struct em_call *call)
{
    struct pending *p = call->transport_ctx;
    if (p->stream) { /* the end of a streaming reply that began */
        stream_finish(p);
        return;
    }
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
    if (em_workers_submit(p->http->workers, run_parked, p, &st)) {
        p->blocking_here = true; /* a streaming reply must not wait for room: see stream_write */
        run_parked(p);           /* out of memory: block this thread rather than fail the call */
    }
}

/* --- streaming replies ---
 *
 * The handler (a worker thread) writes the array's text into a bounded buffer
 * (stream_write); MHD's thread reads it out (stream_read) as the socket takes it. Both
 * sides share struct stream under its lock, and the connection is suspended whenever
 * there is nothing to send:
 *
 *   parked (run_blocking) --first element: resume--> on_request queues the response
 *   stream_read: bytes waiting -> sends them, signals room
 *                nothing waiting, not ended -> suspends the connection, returns 0
 *                ended and empty -> end of the response
 *   stream_write: waits while STREAM_BUFFER bytes wait (the client reads slowly); appends;
 *                 resumes the connection if stream_read suspended it
 *   the handler returns (wake -> stream_finish): appends the array's end, resumes
 *   the connection ends (on_completed): gone; a waiting stream_write returns CANCELLED
 *
 * Suspending and resuming happen under the lock, so a resume is never lost between the
 * reader finding the buffer empty and suspending. The pending request, stream included,
 * is freed by whichever side finishes last (the handler's end or the connection's), and
 * counts as in flight until then (em_http_stop waits for it). A client that goes away
 * while the connection is suspended is noticed at the next element. */

struct stream {
    pthread_mutex_t lock;
    pthread_cond_t room;
    char *buf; /* bytes waiting for the client: buf[head, head + len) */
    size_t head, len, cap;
    bool suspended;     /* the connection is suspended: parked, or nothing to send */
    bool ended;         /* the array's end is in buf: nothing more will come */
    bool gone;          /* the connection is over */
    bool producer_done; /* the handler returned */
};

static struct stream *stream_new(void)
{
    struct stream *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->room, NULL);
    s->suspended = true; /* parked by run_blocking */
    return s;
}

static void stream_free(struct stream *s)
{
    if (!s)
        return;
    pthread_cond_destroy(&s->room);
    pthread_mutex_destroy(&s->lock);
    free(s->buf);
    free(s);
}

static bool stream_append(struct stream *s, const char *text, size_t len)
{
    if (s->head + s->len + len > s->cap && s->head > 0) { /* what was read makes room */
        memmove(s->buf, s->buf + s->head, s->len);
        s->head = 0;
    }
    if (s->len + len > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + len)
            cap *= 2;
        char *grown = realloc(s->buf, cap);
        if (!grown)
            return false;
        s->buf = grown;
        s->cap = cap;
    }
    memcpy(s->buf + s->head + s->len, text, len);
    s->len += len;
    return true;
}

/* Under s->lock. */
static void stream_resume(struct pending *p)
{
    if (p->stream->suspended) {
        p->stream->suspended = false;
        MHD_resume_connection(p->conn);
    }
}

/* The pending request's last user is done with it. */
static void stream_release(struct pending *p)
{
    struct em_http *http = p->http;
    pending_free(p);
    atomic_fetch_sub(&http->in_flight, 1);
}

static enum em_code stream_write(struct em_call *call, const char *text, size_t len)
{
    struct pending *p = call->transport_ctx;
    if (!p->stream && !(p->stream = stream_new()))
        return EM_INTERNAL;
    struct stream *s = p->stream;
    enum em_code code = EM_OK;
    pthread_mutex_lock(&s->lock);
    /* on the HTTP thread (no worker took the call), the room would never come */
    while (!p->blocking_here && !s->gone && s->len > 0 && s->len + len > STREAM_BUFFER)
        pthread_cond_wait(&s->room, &s->lock);
    if (s->gone)
        code = EM_CANCELLED;
    else if (!stream_append(s, text, len))
        code = EM_INTERNAL;
    else
        stream_resume(p);
    pthread_mutex_unlock(&s->lock);
    return code;
}

/* The handler returned: call->response is the array's end. */
static void stream_finish(struct pending *p)
{
    struct stream *s = p->stream;
    pthread_mutex_lock(&s->lock);
    s->producer_done = true;
    bool release = s->gone;
    if (!s->gone) {
        if (!stream_append(s, p->call.response, p->call.response_len))
            em_error("http: out of memory: a streaming reply ends without its last bytes");
        s->ended = true;
        stream_resume(p);
    }
    pthread_mutex_unlock(&s->lock);
    if (release)
        stream_release(p); /* otherwise p may be gone once the lock is released */
}

/* MHD's content reader (MHD's thread). */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct pending *p = cls;
    struct stream *s = p->stream;
    ssize_t n = 0;
    pthread_mutex_lock(&s->lock);
    if (s->len > 0) {
        size_t take = s->len < max ? s->len : max;
        memcpy(buf, s->buf + s->head, take);
        s->len -= take;
        s->head = s->len ? s->head + take : 0;
        n = (ssize_t)take;
        pthread_cond_broadcast(&s->room);
    } else if (s->ended) {
        n = MHD_CONTENT_READER_END_OF_STREAM;
    } else { /* nothing yet: stream_write or stream_finish resumes */
        s->suspended = true;
        MHD_suspend_connection(p->conn);
    }
    pthread_mutex_unlock(&s->lock);
    return n;
}

/* on_request, woken by the first element: the 200 and the bytes so far go out. */
static enum MHD_Result stream_start(struct pending *p)
{
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, stream_read, p, NULL);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json; charset=UTF-8");
    enum MHD_Result ret = MHD_queue_response(p->conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* on_completed of a streaming reply: true when the handler is done too (free p now). */
static bool stream_connection_over(struct pending *p)
{
    struct stream *s = p->stream;
    pthread_mutex_lock(&s->lock);
    s->gone = true;
    s->suspended = false;
    pthread_cond_broadcast(&s->room);
    bool producer_done = s->producer_done;
    pthread_mutex_unlock(&s->lock);
    return producer_done;
}

static const struct em_call_transport mhd_transport = {park, wake, run_blocking, stream_write};

/* --- requests --- */

static enum MHD_Result send_call(struct pending *p)
{
    struct em_call *call = &p->call;
    enum MHD_Result ret = send_text(p->conn, call->http_status, call->response, call->response_len,
                                    call->content_type, false);
    call->response = NULL; /* owned by the MHD response now */
    em_call_reset(call);
    p->counted = false;
    atomic_fetch_sub(&p->http->in_flight, 1); /* no longer parked: MHD may stop */
    return ret;
}

static void build_call(struct em_http *http, struct pending *p, const char *url, const char *method)
{
    struct em_call *call = &p->call;
    /* HEAD is GET without the body: MHD sends the headers of the reply only */
    call->method = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0 ? MHD_HTTP_METHOD_GET : method;
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
    call->access_reason =
        MHD_lookup_connection_value(p->conn, MHD_HEADER_KIND, "X-Emulator-Access-Reason");
    MHD_get_connection_values(p->conn, MHD_GET_ARGUMENT_KIND, collect_query, call);
}

static enum MHD_Result send_stopping(struct MHD_Connection *conn)
{
    struct em_status st = {0};
    EM_FAIL(&st, EM_UNAVAILABLE, "The service is shutting down; retry.");
    return send_error(conn, &st, false);
}

static enum MHD_Result dispatch(struct em_http *http, struct pending *p, const char *url,
                                const char *method)
{
    guard_answering(http, p->conn, &p->call.client_gone);
    /* counted before stopping is read: em_http_stop waits for every call it may miss */
    atomic_fetch_add(&http->in_flight, 1);
    if (atomic_load(&http->stopping)) {
        atomic_fetch_sub(&http->in_flight, 1);
        return send_stopping(p->conn);
    }
    p->dispatched = true;
    p->counted = true;
    build_call(http, p, url, method);
    if (!em_dispatch(http->router, &p->call))
        return MHD_YES; /* parked: on_request runs again once it is woken */
    return send_call(p);
}

/* Counts the query parameters MHD will store for query (the text after '?'): one per
 * '&'-separated part, but none for an empty last part. */
static int count_query_args(const char *query)
{
    int count = 0;
    size_t len = strlen(query);
    for (size_t i = 0; i < len; i++)
        count += query[i] == '&';
    return count + (len > 0 && query[len - 1] != '&');
}

/* MHD_OPTION_URI_LOG_CALLBACK: the request line has arrived; MHD has not yet parsed the
 * query. What this returns is the request's *state in on_request. */
static void *on_request_line(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct em_http *http = cls;
    guard_enter(http, conn, CONN_RECEIVING);
    struct pending *p = calloc(1, sizeof(*p));
    if (!p || !uri)
        return p;
    p->url_bytes = strlen(uri);
    /* uri points into MHD's read buffer, which is writable (see the top of this file) */
    char *query = strchr((char *)uri, '?');
    if (!query)
        return p;
    p->query_args = count_query_args(query + 1);
    if (p->url_bytes > EM_HTTP_MAX_URL || p->query_args > EM_MAX_QUERY)
        query[1] = '\0'; /* see "Many query parameters" at the top of this file */
    return p;
}

/* Whether a body announced over the limit is read and dropped before its 413 (up to
 * EM_HTTP_DRAIN_MAX past the limit, and not when the client waits for 100 Continue). */
static bool drain_announced_body(struct MHD_Connection *conn, int64_t length, int64_t max)
{
    const char *expect = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
    return length - max <= EM_HTTP_DRAIN_MAX &&
           !(expect && strcasecmp(expect, "100-continue") == 0);
}

/* Why a request whose headers have arrived is refused before its body is read, if it is;
 * a body announced over the limit that is drained first is marked refused instead. */
static bool refused_early(struct em_http *http, struct MHD_Connection *conn, struct pending *p,
                          struct em_status *st)
{
    if (p->url_bytes > EM_HTTP_MAX_URL) {
        EM_FAIL(st, EM_INVALID_ARGUMENT,
                "The request URL is too long: %zu bytes, at most %d are accepted.", p->url_bytes,
                EM_HTTP_MAX_URL);
        st->http_override = 414;
        return true;
    }
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    if (info && info->header_size > EM_HTTP_MAX_HEADER) {
        EM_FAIL(st, EM_INVALID_ARGUMENT,
                "The request headers are too large: %zu bytes, at most %d are accepted.",
                info->header_size, EM_HTTP_MAX_HEADER);
        st->http_override = 431;
        return true;
    }
    if (p->query_args > EM_MAX_QUERY) {
        EM_FAIL(st, EM_INVALID_ARGUMENT, "Too many query parameters: %d, at most %d are accepted.",
                p->query_args, EM_MAX_QUERY);
        return true;
    }
    const char *length =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    int64_t announced = length ? strtoll(length, NULL, 10) : 0;
    if (announced <= http->max_body)
        return false;
    if (drain_announced_body(conn, announced, http->max_body)) {
        p->refusal = BODY_TOO_LARGE; /* answered once the body is read */
        return false;
    }
    fail_too_large(st, http->max_body);
    return true;
}

/* Sends Google's error JSON straight to the socket and ends the connection (MHD closes it
 * when on_request returns MHD_NO). Only for a refusal in the middle of a request body:
 * MHD 0.9.75 cannot queue a response from the first body chunk until the body's end
 * (MHD_queue_response fails in that state), and a chunked body's size is only known as
 * it arrives. Safe on the connection's own MHD thread: MHD writes nothing while it
 * receives a body (any 100 Continue went out before the first chunk). */
static enum MHD_Result refuse_mid_body(struct MHD_Connection *conn, const struct em_status *st)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    char *json = em_status_to_json(st);
    if (!info || !json) {
        free(json);
        return MHD_NO;
    }
    int http = status_http(st);
    const char *reason = MHD_get_reason_phrase_for((unsigned)http);
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json; charset=UTF-8\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                     http, reason, strlen(json));
    struct iovec parts[2] = {{head, (size_t)n}, {json, strlen(json)}};
    struct msghdr msg = {.msg_iov = parts, .msg_iovlen = 2};
    if (sendmsg(info->connect_fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
        em_debug("http: the early answer %d could not be sent", http);
    shutdown(info->connect_fd, SHUT_WR);
    free(json);
    return MHD_NO;
}

/* Takes a chunk of the body: kept, or, once the body is refused, dropped; false when the
 * connection must end now (more than EM_HTTP_DRAIN_MAX past the limit received). */
static bool take_body(struct pending *p, const char *data, size_t n, int64_t max)
{
    if (p->refusal == BODY_KEPT) {
        if ((int64_t)(p->len + n) > max)
            p->refusal = BODY_TOO_LARGE;
        else if (!pending_append(p, data, n))
            p->refusal = BODY_NO_MEMORY;
        else
            return true;
    }
    p->dropped += n;
    return (int64_t)(p->len + p->dropped) <= max + EM_HTTP_DRAIN_MAX;
}

/* The answer to a refused body: after all of it, or in its middle (then the connection
 * ends without reading the rest). */
static enum MHD_Result answer_refused_body(struct em_http *http, struct pending *p, bool mid_body)
{
    struct em_status st = {0};
    if (p->refusal == BODY_NO_MEMORY)
        EM_FAIL_OOM(&st);
    else
        fail_too_large(&st, http->max_body);
    guard_enter(http, p->conn, CONN_ANSWERING);
    return mid_body ? refuse_mid_body(p->conn, &st) : send_error(p->conn, &st, true);
}

/* on_request's first call: the headers have arrived. */
static enum MHD_Result on_headers(struct em_http *http, struct MHD_Connection *conn, void **state)
{
    struct pending *p = *state;
    if (!p) { /* on_request_line could not allocate it */
        p = calloc(1, sizeof(*p));
        if (!p)
            return MHD_NO;
        *state = p;
    }
    p->http = http;
    p->conn = conn;
    struct em_status st = {0};
    if (refused_early(http, conn, p, &st)) {
        guard_enter(http, conn, CONN_ANSWERING);
        return send_error(conn, &st, true); /* MHD reads no body after this */
    }
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **state)
{
    (void)version;
    struct em_http *http = cls;
    struct pending *p = *state;
    if (!p || !p->conn)
        return on_headers(http, conn, state);
    if (p->dispatched && p->stream) /* a streaming reply's first element */
        return stream_start(p);
    if (p->dispatched) { /* a parked call, woken */
        em_dispatch_resume(&p->call);
        return send_call(p);
    }
    if (*upload_data_size > 0) {
        bool go_on = take_body(p, upload_data, *upload_data_size, http->max_body);
        *upload_data_size = 0;
        return go_on ? MHD_YES : answer_refused_body(http, p, true);
    }
    if (p->refusal) /* the whole body came, and was dropped */
        return answer_refused_body(http, p, false);
    return dispatch(http, p, url, method);
}

/* The connection ended with a call's answer never queued: the client reset it while the
 * call was parked, and libmicrohttpd, reading first when it resumes a connection, ended it
 * without asking for the answer. The call completes all the same (a deferred call's
 * finish, its audit record), its answer is dropped, and it is no longer in flight. */
static void drop_answer(struct pending *p)
{
    em_dispatch_resume(&p->call);
    p->counted = false;
    atomic_fetch_sub(&p->http->in_flight, 1);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **state,
                         enum MHD_RequestTerminationCode code)
{
    struct em_http *http = cls;
    (void)code;
    struct pending *p = *state;
    *state = NULL;
    guard_enter(http, conn, CONN_IDLE); /* before p goes: the sweeper forgets its call */
    if (p && p->stream) {
        if (stream_connection_over(p))
            stream_release(p); /* else the handler's end (stream_finish) frees it */
    } else {
        if (p && p->counted)
            drop_answer(p);
        pending_free(p);
    }
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

/* The connection ceiling: the soft RLIMIT_NOFILE is raised to the hard one (at most
 * NOFILE_WANTED), and all but FD_RESERVE descriptors may be connections. MHD's default,
 * FD_SETSIZE - 4, lets ~1,000 slow clients take every connection. */
static unsigned connection_limit(bool thread_per_connection)
{
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) != 0)
        return MIN_CONNECTIONS * 16;
    rlim_t wanted = nofile.rlim_max < NOFILE_WANTED ? nofile.rlim_max : NOFILE_WANTED;
    if (nofile.rlim_cur < wanted) {
        struct rlimit raised = {wanted, nofile.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
            nofile.rlim_cur = wanted;
        else
            em_warn("http: cannot raise the open file limit to %llu: %s",
                    (unsigned long long)wanted, strerror(errno));
    }
    rlim_t fds = nofile.rlim_cur;
    rlim_t limit = fds > 2 * FD_RESERVE ? fds - FD_RESERVE : fds / 2;
    rlim_t cap = thread_per_connection ? MAX_THREADED_CONNECTIONS : MAX_CONNECTIONS;
    if (limit > cap)
        limit = cap;
    if (limit < MIN_CONNECTIONS)
        limit = MIN_CONNECTIONS;
    return (unsigned)limit;
}

/* --- the front door: em_http_accept hands over connections whose first head is sound --- */

/* MHD's connections, which count against the ceiling with those the acceptor holds. */
static unsigned mhd_connections(void *ctx)
{
    struct em_http *http = ctx;
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(http->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    return info ? info->num_connections : 0;
}

/* Records when the request's first byte came, for on_connection (the guard's deadline),
 * then gives the socket to MHD, which reads the head the acceptor only looked at. */
static void hand_over(void *ctx, int fd, const struct sockaddr *addr, socklen_t addr_len,
                      int64_t first_byte_ms)
{
    struct em_http *http = ctx;
    pthread_mutex_lock(&http->guard_lock);
    if ((size_t)fd >= http->first_byte_cap) {
        size_t cap = http->first_byte_cap ? http->first_byte_cap : 256;
        while (cap <= (size_t)fd)
            cap *= 2;
        int64_t *grown = realloc(http->first_byte_ms, cap * sizeof(*grown));
        if (grown) { /* without it, the deadline runs from the request line */
            memset(grown + http->first_byte_cap, 0, (cap - http->first_byte_cap) * sizeof(*grown));
            http->first_byte_ms = grown;
            http->first_byte_cap = cap;
        }
    }
    if ((size_t)fd < http->first_byte_cap)
        http->first_byte_ms[fd] = first_byte_ms;
    pthread_mutex_unlock(&http->guard_lock);
    if (MHD_add_connection(http->daemon, fd, addr, addr_len) != MHD_YES) /* fd is closed */
        em_debug("http: libmicrohttpd refused a connection: %s", strerror(errno));
}

/* The listening socket, as MHD would make it (SO_REUSEADDR, backlog SOMAXCONN): a port
 * another process listens on is refused. */
static int listen_on(const struct sockaddr_in *addr)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int on = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
        bind(fd, (const struct sockaddr *)addr, sizeof(*addr)) != 0 || listen(fd, SOMAXCONN) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static enum em_code start_front_door(struct em_http *http, const struct em_http_options *opt,
                                     const struct sockaddr_in *addr, unsigned max_connections,
                                     struct em_status *st)
{
    int fd = listen_on(addr);
    if (fd < 0)
        return EM_FAIL(st, EM_UNAVAILABLE, "cannot listen on %s:%d (port in use?): %s", opt->host,
                       opt->port, strerror(errno));
    struct em_http_accept_options accept_opt = {
        .listen_fd = fd,
        .max_connections = max_connections,
        .request_timeout_ms = http->request_timeout_ms,
        .idle_timeout_ms = EM_HTTP_IDLE_TIMEOUT_S * 1000,
        .connections_elsewhere = mhd_connections,
        .hand_over = hand_over,
        .ctx = http,
    };
    if (em_http_accept_start(&accept_opt, &http->acceptor, st)) {
        close(fd);
        return st->code;
    }
    return EM_OK;
}

enum em_code em_http_start(const struct em_http_options *opt, const struct em_router *router,
                           struct em_service *svc, struct em_http **out, struct em_status *st)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt->port)};
    if (inet_pton(AF_INET, opt->host, &addr.sin_addr) != 1)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "--host %s is not an IPv4 address", opt->host);
    struct em_http *http = calloc(1, sizeof(*http));
    if (!http)
        return EM_FAIL_OOM(st);
    http->router = router;
    http->svc = svc;
    http->max_body = opt->max_body;
    http->request_timeout_ms =
        opt->request_timeout_ms > 0 ? opt->request_timeout_ms : EM_HTTP_REQUEST_TIMEOUT_MS;
    if (opt->threads > 0 && em_workers_new(MAX_WORKERS, &http->workers, st))
        goto out_free;
    if (guard_start(http, st))
        goto out_workers;
    /* no listening socket: connections come from the acceptor (MHD_add_connection, which
     * needs the inter-thread channel to wake MHD's threads) */
    unsigned flags = MHD_USE_ERROR_LOG | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC;
    if (opt->threads > 0)
        flags |= MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME;
    else /* poll(2): MHD refuses descriptors above FD_SETSIZE (1024) with select(2) */
        flags |= MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
    /* a pool size only for a pool of 2 or more (MHD warns about it otherwise) */
    struct MHD_OptionItem pool[] = {
        {MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)unescape_url, NULL}, /* before a possible END */
        {opt->threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
         opt->threads > 1 ? opt->threads : 0, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    unsigned max_connections = connection_limit(opt->threads == 0);
    /* one option and its arguments a line */
    // clang-format off
    http->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, http,
        MHD_OPTION_ARRAY, pool,
        MHD_OPTION_CONNECTION_LIMIT, max_connections,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)EM_HTTP_IDLE_TIMEOUT_S,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, http,
        MHD_OPTION_URI_LOG_CALLBACK, on_request_line, http,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, http,
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_error, NULL,
        MHD_OPTION_END);
    // clang-format on
    if (!http->daemon) {
        EM_FAIL(st, EM_UNAVAILABLE, "cannot start the HTTP server on %s:%d", opt->host, opt->port);
        goto out_guard;
    }
    if (start_front_door(http, opt, &addr, max_connections, st))
        goto out_daemon;
    *out = http;
    return EM_OK;

out_daemon:
    MHD_stop_daemon(http->daemon);
out_guard:
    guard_stop(http);
    guard_free(http);
out_workers:
    em_workers_free(http->workers);
out_free:
    free(http);
    return st->code;
}

/* Set once a server of this process stops (em_http_stopping). */
static atomic_bool process_stopping;

bool em_http_stopping(void)
{
    return atomic_load(&process_stopping);
}

/* MHD must not be stopped with parked connections (it aborts): new calls are refused,
 * and the ones in flight (a pull waits at most seconds) finish first; after
 * STOP_CUT_AFTER_MS the connections of those still answering are shut down (a client not
 * reading its stream); the supervisor kills a service that does not stop in time (a
 * change stream's query ends by itself: em_http_stopping). */
static void wait_for_calls_in_flight(struct em_http *http)
{
    atomic_store(&http->stopping, true);
    atomic_store(&process_stopping, true);
    struct timespec slice = {0, STOP_WAIT_SLICE * 1000000L};
    for (int i = 1; atomic_load(&http->in_flight) > 0; i++) {
        nanosleep(&slice, NULL);
        if (i == STOP_CUT_AFTER_MS / STOP_WAIT_SLICE) {
            int cut = guard_cut_answering(http);
            if (cut > 0)
                em_warn("http: stopping: closed %d connections whose calls were still answered "
                        "after %d s",
                        cut, STOP_CUT_AFTER_MS / 1000);
        }
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
    /* after the wait: connections opened meanwhile get their 503; none is handed to MHD
     * once this returns */
    em_http_accept_stop(http->acceptor);
    guard_stop(http);
    MHD_stop_daemon(http->daemon);
    guard_free(http);
    em_workers_free(http->workers);
    free(http);
}
