/*
 * control_http: the control plane's concurrent requests, on em_rest (see control_http.h).
 *
 * A batch is one em_rest batch with every request in flight at once; em_rest retries a
 * refused connection every EM_REST_RETRY_PAUSE_MS within the request's connect_retry_ms,
 * and keeps this thread's connections to the services alive from one batch to the next.
 * Every call carries the stack's internal credential (em_rest sends it).
 */
#include "control_http.h"

#include "em_rest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum em_code control_http_init(struct em_status *st)
{
    return em_rest_init(st);
}

void control_http_cleanup(void)
{
    em_rest_thread_release();
}

static bool request_prepare(size_t i, struct em_rest_request *rest, void *arg)
{
    struct control_request *req = &((struct control_request *)arg)[i];
    bool post = strcmp(req->method, "POST") == 0;
    free(req->response);
    req->response = NULL;
    req->response_len = 0;
    req->http_status = 0;
    req->error[0] = '\0';
    *rest = (struct em_rest_request){.method = req->method,
                                     .url = req->url,
                                     .body = post ? (req->body ? req->body : "{}") : NULL,
                                     .timeout_ms = req->timeout_ms,
                                     .connect_timeout_ms = req->timeout_ms,
                                     .connect_retry_ms = req->connect_retry_ms,
                                     .max_reply = CONTROL_HTTP_RESPONSE_MAX};
    return true;
}

static void request_done(size_t i, const struct em_rest_request *rest, struct em_rest_reply *reply,
                         void *arg)
{
    (void)rest;
    struct control_request *req = &((struct control_request *)arg)[i];
    req->http_status = reply->http_status;
    req->response = reply->body;
    req->response_len = reply->body_len;
    reply->body = NULL;
    if (reply->result == EM_REST_UNREACHABLE || reply->result == EM_REST_NOT_SENT)
        snprintf(req->error, sizeof(req->error), "%.*s", (int)sizeof(req->error) - 1,
                 reply->status.message); /* a reason for the log: its start is enough */
}

void control_http_perform(struct control_request *reqs, size_t count)
{
    struct em_rest_batch batch = {request_prepare, request_done, reqs};
    em_rest_call_batch(count, (int)count, &batch);
}

bool control_request_succeeded(const struct control_request *req)
{
    return req->http_status >= 200 && req->http_status < 300;
}

void control_http_release(struct control_request *reqs, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(reqs[i].response);
        reqs[i].response = NULL;
        reqs[i].response_len = 0;
    }
}
