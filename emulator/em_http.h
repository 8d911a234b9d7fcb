/*
 * em_http: the HTTP/1.1 server of every service, on libmicrohttpd.
 *
 * Each request's body is collected up to max_body bytes (a larger one is answered 413
 * with Google's error JSON without being read), turned into a struct em_call and passed
 * to em_dispatch(). Two threading modes: a pool of `threads` epoll threads (services),
 * where calls that wait are parked and blocking handlers run on a growing pool of worker
 * threads (see em_call.h); or, with threads == 0, a thread per connection (the control
 * plane, whose handlers block while they call the services).
 */
#ifndef EM_HTTP_H
#define EM_HTTP_H

#include "em_status.h"

#include <stddef.h>
#include <stdint.h>

struct em_router;
struct em_service;
struct em_http;

struct em_http_options {
    const char *host;
    int port;
    int threads; /* 0: a thread per connection */
    int64_t max_body;
};

enum em_code em_http_start(const struct em_http_options *opt, const struct em_router *router,
                           struct em_service *svc, struct em_http **out, struct em_status *st);

/* Refuses new calls (UNAVAILABLE), waits for the calls in flight, frees the server. */
void em_http_stop(struct em_http *http);

#endif
