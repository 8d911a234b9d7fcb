/*
 * em_http_accept: the acceptor thread (see em_http_accept.h for the states it draws).
 *
 * Every held connection is in one list per state, oldest first: the time limits of a
 * state are all the same length, so the connections past theirs are always at the front
 * of their list, and a tick (TICK_MS) closes them without scanning the rest. Sockets are
 * watched edge-triggered: a peek leaves the bytes readable, and a level-triggered watch
 * would report them again at once, forever; an edge reports each new arrival once.
 * Everything here is touched by the acceptor's thread only, between start and stop.
 */
#include "em_http_accept.h"

#include "em_clock.h"
#include "em_http.h"
#include "em_http_head.h"
#include "em_log.h"

#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define PEEK_MAX     (EM_HTTP_MAX_HEADER + 1) /* enough to see a head over the limit */
#define TICK_MS      100                      /* how often time limits are checked */
#define DRAIN_MS     2000                     /* DRAINING: at most this long ... */
#define DRAIN_MAX    (1 << 20)                /* ... and this many bytes */
#define ACCEPT_BATCH 64                       /* accepts per wake-up: held sockets go on too */
#define MAX_EVENTS   64

enum phase { IDLE, RECEIVING, DRAINING, PHASES };

struct held {
    struct held *prev, *next;
    int fd;
    enum phase phase;
    bool watched;     /* in the epoll set */
    int64_t since_ms; /* when it entered its phase */
    size_t drained;
    socklen_t addr_len;
    struct sockaddr_storage addr;
};

struct list {
    struct held *head, *tail;
};

struct em_http_accept {
    struct em_http_accept_options opt;
    int epoll_fd, stop_fd;
    bool listening;    /* the listening socket is watched */
    int64_t resume_ms; /* out of descriptors: accept again from then */
    unsigned count;    /* connections held */
    struct list by_phase[PHASES];
    char peek[PEEK_MAX];
    pthread_t thread;
};

/* epoll's data for the two descriptors that are not held connections */
static char listen_mark, stop_mark;

static void list_remove(struct list *l, struct held *h)
{
    if (h->prev)
        h->prev->next = h->next;
    else
        l->head = h->next;
    if (h->next)
        h->next->prev = h->prev;
    else
        l->tail = h->prev;
    h->prev = h->next = NULL;
}

static void list_append(struct list *l, struct held *h)
{
    h->prev = l->tail;
    h->next = NULL;
    if (l->tail)
        l->tail->next = h;
    else
        l->head = h;
    l->tail = h;
}

static void enter(struct em_http_accept *a, struct held *h, enum phase phase, int64_t now)
{
    list_remove(&a->by_phase[h->phase], h);
    h->phase = phase;
    h->since_ms = now;
    list_append(&a->by_phase[phase], h);
}

/* Lets go of h: closed, or handed over (then fd is no longer ours). */
static void release(struct em_http_accept *a, struct held *h, bool close_fd)
{
    if (h->watched && !close_fd) /* closing takes it out of the set; handing over must */
        epoll_ctl(a->epoll_fd, EPOLL_CTL_DEL, h->fd, NULL);
    if (close_fd)
        close(h->fd);
    list_remove(&a->by_phase[h->phase], h);
    a->count--;
    free(h);
}

/* Reads and discards what the client still sends; false once h is closed. */
static bool drain(struct em_http_accept *a, struct held *h)
{
    for (;;) {
        ssize_t n = recv(h->fd, a->peek, sizeof(a->peek), MSG_DONTWAIT);
        if (n > 0 && (h->drained += (size_t)n) <= DRAIN_MAX)
            continue;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true;
        release(a, h, true); /* the client closed, failed, or sends too much */
        return false;
    }
}

/* Sends st as Google's JSON error with Connection: close, then drains the connection;
 * true while h is held. */
static bool answer(struct em_http_accept *a, struct held *h, const struct em_status *st,
                   int64_t now)
{
    char *json = em_status_to_json(st);
    int status = st->http_override ? st->http_override : em_code_http(st->code);
    if (json) {
        char head[256];
        int n = snprintf(head, sizeof(head),
                         "HTTP/1.1 %d %s\r\nContent-Type: application/json; charset=UTF-8\r\n"
                         "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                         status, MHD_get_reason_phrase_for((unsigned)status), strlen(json));
        struct iovec parts[2] = {{head, (size_t)n}, {json, strlen(json)}};
        struct msghdr msg = {.msg_iov = parts, .msg_iovlen = 2};
        /* a fresh connection's send buffer takes the whole answer */
        if (sendmsg(h->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
            em_debug("http: the answer %d could not be sent: %s", status, strerror(errno));
        free(json);
    }
    em_debug("http: refused a request at once (%d): %s", status, st->message);
    shutdown(h->fd, SHUT_WR);
    enter(a, h, DRAINING, now);
    return drain(a, h);
}

/* Looks at what has arrived of h's request and hands it over, answers it, or leaves it
 * waiting for more; hung_up: the client will send nothing more. True while h is held. */
static bool look(struct em_http_accept *a, struct held *h, bool hung_up, int64_t now)
{
    ssize_t n = recv(h->fd, a->peek, sizeof(a->peek), MSG_PEEK | MSG_DONTWAIT);
    bool nothing_yet = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
    if ((nothing_yet && hung_up) || (!nothing_yet && n <= 0)) { /* closed, or failed */
        release(a, h, true);
        return false;
    }
    if (nothing_yet)
        return true;
    if (h->phase == IDLE)
        enter(a, h, RECEIVING, now);
    struct em_status st = {0};
    switch (em_http_head_check(a->peek, (size_t)n, &st)) {
    case EM_HTTP_HEAD_OK: {
        int fd = h->fd;
        struct sockaddr_storage addr = h->addr;
        socklen_t addr_len = h->addr_len;
        int64_t first_byte_ms = h->since_ms;
        release(a, h, false);
        a->opt.hand_over(a->opt.ctx, fd, (struct sockaddr *)&addr, addr_len, first_byte_ms);
        return false;
    }
    case EM_HTTP_HEAD_REFUSED:
        return answer(a, h, &st, now);
    case EM_HTTP_HEAD_INCOMPLETE:
        break;
    }
    if (hung_up) { /* the rest of the head will never come */
        release(a, h, true);
        return false;
    }
    return true;
}

static bool room_for_one_more(struct em_http_accept *a)
{
    return a->count + a->opt.connections_elsewhere(a->opt.ctx) < a->opt.max_connections;
}

static void accept_some(struct em_http_accept *a, int64_t now)
{
    for (int i = 0; i < ACCEPT_BATCH && room_for_one_more(a); i++) {
        struct held *h = calloc(1, sizeof(*h));
        if (!h)
            return;
        h->addr_len = sizeof(h->addr);
        h->fd = accept4(a->opt.listen_fd, (struct sockaddr *)&h->addr, &h->addr_len,
                        SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (h->fd < 0) {
            int err = errno;
            free(h);
            if (err == ECONNABORTED || err == EINTR)
                continue;
            if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
                em_warn("http: cannot accept a connection: %s", strerror(err));
                a->resume_ms = now + TICK_MS;
            }
            return;
        }
        h->phase = IDLE;
        h->since_ms = now;
        list_append(&a->by_phase[IDLE], h);
        a->count++;
        /* the request often comes with the connection: look before watching (an edge
         * watch reports bytes already there when it is added) */
        if (!look(a, h, false, now))
            continue;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.ptr = h};
        if (epoll_ctl(a->epoll_fd, EPOLL_CTL_ADD, h->fd, &ev) != 0)
            release(a, h, true);
        else
            h->watched = true;
    }
}

/* Closes the connections past their phase's time limit: at the front of each list. */
static void expire(struct em_http_accept *a, int64_t now)
{
    const int64_t limit_ms[PHASES] = {a->opt.idle_timeout_ms, a->opt.request_timeout_ms, DRAIN_MS};
    for (enum phase p = IDLE; p < PHASES; p++) {
        struct held *h;
        while ((h = a->by_phase[p].head) && now - h->since_ms >= limit_ms[p]) {
            if (p == RECEIVING)
                em_debug("http: a request did not arrive within %d ms: closed",
                         a->opt.request_timeout_ms);
            release(a, h, true);
        }
    }
}

/* Watches the listening socket only while a connection may be accepted. */
static void update_listening(struct em_http_accept *a, int64_t now)
{
    bool want = now >= a->resume_ms && room_for_one_more(a);
    if (want == a->listening)
        return;
    struct epoll_event ev = {.events = want ? EPOLLIN : 0, .data.ptr = &listen_mark};
    if (epoll_ctl(a->epoll_fd, EPOLL_CTL_MOD, a->opt.listen_fd, &ev) == 0)
        a->listening = want;
}

static void *accept_main(void *arg)
{
    struct em_http_accept *a = arg;
    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(a->epoll_fd, events, MAX_EVENTS, TICK_MS);
        int64_t now = em_clock_monotonic_ms();
        for (int i = 0; i < n; i++) {
            void *what = events[i].data.ptr;
            if (what == &stop_mark)
                return NULL;
            if (what == &listen_mark) {
                accept_some(a, now);
                continue;
            }
            struct held *h = what;
            if (h->phase == DRAINING)
                drain(a, h);
            else
                look(a, h, (events[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0, now);
        }
        expire(a, now);
        update_listening(a, now);
    }
}

enum em_code em_http_accept_start(const struct em_http_accept_options *opt,
                                  struct em_http_accept **out, struct em_status *st)
{
    struct em_http_accept *a = calloc(1, sizeof(*a));
    if (!a)
        return EM_FAIL_OOM(st);
    a->opt = *opt;
    a->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    a->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct epoll_event on_stop = {.events = EPOLLIN, .data.ptr = &stop_mark};
    struct epoll_event on_listen = {.events = EPOLLIN, .data.ptr = &listen_mark};
    if (a->epoll_fd < 0 || a->stop_fd < 0 ||
        epoll_ctl(a->epoll_fd, EPOLL_CTL_ADD, a->stop_fd, &on_stop) != 0 ||
        epoll_ctl(a->epoll_fd, EPOLL_CTL_ADD, opt->listen_fd, &on_listen) != 0) {
        EM_FAIL(st, EM_INTERNAL, "cannot watch the listening socket: %s", strerror(errno));
        goto out_close;
    }
    a->listening = true;
    if (pthread_create(&a->thread, NULL, accept_main, a) != 0) {
        EM_FAIL(st, EM_INTERNAL, "cannot start the acceptor thread");
        goto out_close;
    }
    *out = a;
    return EM_OK;

out_close:
    if (a->stop_fd >= 0)
        close(a->stop_fd);
    if (a->epoll_fd >= 0)
        close(a->epoll_fd);
    free(a);
    return st->code;
}

void em_http_accept_stop(struct em_http_accept *a)
{
    if (!a)
        return;
    uint64_t one = 1;
    if (write(a->stop_fd, &one, sizeof(one)) != sizeof(one))
        em_warn("http: cannot signal the acceptor to stop: %s", strerror(errno));
    pthread_join(a->thread, NULL);
    for (enum phase p = IDLE; p < PHASES; p++)
        while (a->by_phase[p].head)
            release(a, a->by_phase[p].head, true);
    close(a->opt.listen_fd);
    close(a->stop_fd);
    close(a->epoll_fd);
    free(a);
}
