/*
 * em_http: the HTTP/1.1 server of every service, on libmicrohttpd.
 *
 * Each request's body is collected up to max_body bytes, turned into a struct em_call
 * and passed to em_dispatch(). Two threading modes: a pool of `threads` epoll threads
 * (services), where calls that wait are parked and blocking handlers run on a growing
 * pool of worker threads (see em_call.h); or, with threads == 0, a thread per connection
 * (the control plane, whose handlers block while they call the services).
 *
 * Requests refused here are answered at once, never after a timeout, with Google's JSON
 * error shape:
 *
 *   URL over EM_HTTP_MAX_URL bytes                  414 INVALID_ARGUMENT
 *   request line + headers over EM_HTTP_MAX_HEADER  431 INVALID_ARGUMENT
 *   more than EM_MAX_QUERY query parameters         400 INVALID_ARGUMENT
 *   body over max_body (Content-Length or chunked)  413 INVALID_ARGUMENT, see below
 *   HEAD                                            the GET route's headers, no body
 *
 * A body over max_body is still read, and dropped, up to EM_HTTP_DRAIN_MAX bytes past
 * the limit, and the 413 sent after it: a socket closed with bytes unread makes the
 * kernel reset the connection, and a client still sending its body may then see the
 * reset instead of the answer. A body announced bigger than that, or sent with Expect:
 * 100-continue (whose client waits to be told), is refused from the headers, and a
 * chunked one as soon as it passes that mark.
 *
 * And, on the first request of every connection, whatever em_http_head refuses (a bad
 * HTTP version: 505 UNIMPLEMENTED; a malformed request line or header line, HTTP/1.1
 * without Host, a malformed or conflicting Content-Length: 400), with Connection: close.
 * Later requests on a keep-alive connection that libmicrohttpd 0.9.75 finds malformed,
 * and malformed chunked bodies, still get its own HTML page (see "The front door" in
 * em_http.c).
 *
 * Slow clients: a request must arrive whole within request_timeout_ms of its first byte
 * (headers and body), or its connection is closed; a connection idle between requests
 * lives up to EM_HTTP_IDLE_TIMEOUT_S. The connection ceiling follows the process's file
 * descriptor limit, whose soft value em_http_start raises to the hard one.
 */
#ifndef EM_HTTP_H
#define EM_HTTP_H

#include "em_status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct em_router;
struct em_service;
struct em_http;

#define EM_HTTP_MAX_URL            (16 * 1024)
#define EM_HTTP_MAX_HEADER         (32 * 1024)
#define EM_HTTP_DRAIN_MAX          (1024 * 1024)
#define EM_HTTP_REQUEST_TIMEOUT_MS 10000
#define EM_HTTP_IDLE_TIMEOUT_S     600

struct em_http_options {
    const char *host;
    int port;
    int threads; /* 0: a thread per connection */
    int64_t max_body;
    int request_timeout_ms; /* 0: EM_HTTP_REQUEST_TIMEOUT_MS */
};

enum em_code em_http_start(const struct em_http_options *opt, const struct em_router *router,
                           struct em_service *svc, struct em_http **out, struct em_status *st);

/* Refuses new calls (UNAVAILABLE), waits for the calls in flight, frees the server. */
void em_http_stop(struct em_http *http);

/* Whether a server of this process is stopping: a handler that streams for as long as
 * its client listens (a change stream's query) ends then, so the stop does not wait for
 * it. */
bool em_http_stopping(void);

#endif
