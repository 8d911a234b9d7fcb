/*
 * control_http: the control plane's HTTP client (on em_rest), for talking to the services
 * it supervises: health probes and the internal tick, reset and flush calls, each with
 * the stack's internal credential (em_trust.h).
 *
 * A batch of requests runs concurrently (one em_rest batch) and the call returns when
 * every request has an answer or has failed, so asking five services costs the slowest
 * one, not the sum. A request may retry a refused connection for a while: a service that
 * was just (re)started is alive but not listening yet.
 */
#ifndef CONTROL_HTTP_H
#define CONTROL_HTTP_H

#include "em_status.h"

#include <stdbool.h>
#include <stddef.h>

#define CONTROL_HTTP_ERROR_MAX    256
#define CONTROL_HTTP_RESPONSE_MAX (16 * 1024 * 1024)

struct control_request {
    /* set by the caller */
    const char *target; /* what is called, for messages ("kms") */
    char url[256];
    const char *method;    /* "GET" or "POST" */
    const char *body;      /* JSON body, or NULL */
    long timeout_ms;       /* whole request, per attempt */
    long connect_retry_ms; /* keep retrying a refused connection this long (0: never) */

    /* filled by control_http_perform */
    long http_status;                   /* 0 when no HTTP answer came */
    char error[CONTROL_HTTP_ERROR_MAX]; /* why, when no answer came */
    char *response;                     /* body, NUL-terminated (malloc'd), or NULL */
    size_t response_len;
};

/* Once per process, before any call; the counterpart closes the calling thread's kept-alive
 * connections at exit. */
enum em_code control_http_init(struct em_status *st);
void control_http_cleanup(void);

/* Performs every request concurrently; returns when all are done. */
void control_http_perform(struct control_request *reqs, size_t count);

/* Whether the request got a 2xx answer. */
bool control_request_succeeded(const struct control_request *req);

/* Frees the responses (the requests may be performed again afterwards). */
void control_http_release(struct control_request *reqs, size_t count);

#endif
