/*
 * em_rest: the one HTTP client for calls between the emulator's own processes (libcurl):
 * the CMEK engine's calls to KMS (em_kms_client), the control plane's fan-out to every
 * service (control_http), and later the Dataflow runner's calls to Pub/Sub, Bigtable and
 * Spanner. Calls to endpoints outside the stack (Pub/Sub push) do not use it: they never
 * carry the internal credential.
 *
 * A request is a method, a URL built from a base and percent-encoded path segments
 * (em_rest_url_*), an optional JSON body, and the headers of DESIGN section 2: the
 * internal credential (em_trust.h, always, once loaded), the principal the call acts as
 * (`Authorization: Bearer <principal>`) and the resource it acts for
 * (`X-Emulator-Caller`). Proxies from the environment are ignored: every peer is on
 * loopback.
 *
 * A reply says which of three things happened, because callers act differently on each
 * (the CMEK engine retries an unreachable KMS soon, and makes a resource INACCESSIBLE
 * when KMS refuses):
 *
 *   EM_REST_OK           2xx; json holds the parsed body (NULL when it was empty)
 *   EM_REST_ERROR        the service answered with an error: status holds its code and
 *                        message, read from Google's JSON error
 *                        {"error":{"code":404,"message":"...","status":"NOT_FOUND"}}, or
 *                        derived from the HTTP status when the body is not that
 *                        (google_error false); a 2xx whose body is not JSON is INTERNAL
 *   EM_REST_UNREACHABLE  no answer: connection refused, reset, timed out, a reply over
 *                        max_reply; status is UNAVAILABLE (a timeout too: the peer is on
 *                        loopback, a hung peer is retried like a missing one) and `cause`
 *                        is libcurl's short reason ("Timeout was reached")
 *   EM_REST_NOT_SENT     the request was refused before sending: no URL, a header value
 *                        with a control character (CR/LF would add a header), out of memory
 *
 * A service's own 503 UNAVAILABLE is EM_REST_ERROR, a refused connection
 * EM_REST_UNREACHABLE: the result, not the code, tells them apart.
 *
 * Connections are reused: each thread keeps one handle for em_rest_call and one multi
 * handle (with up to EM_REST_PARALLEL_MAX handles) for batches, and their keep-alive
 * connections, from call to call; a thread's handles are freed when it exits (or by
 * em_rest_thread_release). Nothing is shared between threads, so every function here may
 * be called from any number of threads at once without locks. prepare/done callbacks run
 * on the calling thread and may make single calls, but a batch started inside them runs
 * on handles of its own (no connection reuse).
 *
 * Reply bodies are wiped when freed: KMS replies carry key material.
 */
#ifndef EM_REST_H
#define EM_REST_H

#include "em_status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define EM_REST_URL_MAX        2048
#define EM_REST_PARALLEL_MAX   64
#define EM_REST_TIMEOUT_MS     10000              /* default for a whole call */
#define EM_REST_REPLY_MAX      (16 * 1024 * 1024) /* default reply size limit */
#define EM_REST_RETRY_PAUSE_MS 100                /* between attempts on a refused connection */

/* --- URLs: "<base>/<segment>/<segment>:<verb>?<key>=<value>" --- */

/* Every byte but letters, digits, '-', '_' and '~' is percent-encoded in segments, verbs
 * and query parts ('.' too, so no dot segment is ever resolved; '/' too, so a segment
 * never becomes two), so no name can add a path, a query, a verb or a header. A URL
 * that would not fit is not truncated: em_rest_url_text gives "" and the call is
 * EM_REST_NOT_SENT. */
struct em_rest_url {
    char text[EM_REST_URL_MAX];
    size_t len;
    bool overflow;
    bool has_query;
};

/* Starts url with base verbatim ("http://127.0.0.1:8791"), from the caller's config. */
void em_rest_url_init(struct em_rest_url *url, const char *base);
/* Appends "/<segment>". */
void em_rest_url_segment(struct em_rest_url *url, const char *segment);
/* Appends a resource name ("projects/p/topics/t") as "/" + its '/'-separated parts, each
 * encoded as a segment. */
void em_rest_url_name(struct em_rest_url *url, const char *name);
/* Appends ":<verb>" (a custom method: ":encrypt"). */
void em_rest_url_verb(struct em_rest_url *url, const char *verb);
/* Appends "?key=value" or "&key=value". */
void em_rest_url_query(struct em_rest_url *url, const char *key, const char *value);
/* The URL, or "" when it overflowed. */
const char *em_rest_url_text(const struct em_rest_url *url);

/* --- one request --- */

struct em_rest_request {
    const char *method;        /* "GET", "POST", "PUT", "PATCH", "DELETE" */
    const char *url;           /* em_rest_url_text() or any full URL; the caller's */
    const cJSON *json;         /* the body as JSON (printed by em_rest), or NULL */
    const char *body;          /* or the body as bytes (the caller's, kept until the reply) */
    size_t body_len;           /* 0: strlen(body) */
    const char *principal;     /* sent as "Authorization: Bearer <principal>", or NULL */
    const char *caller;        /* sent as "X-Emulator-Caller: <caller>", or NULL */
    const char *access_reason; /* sent as "X-Emulator-Access-Reason: <reason>", or NULL */
    long timeout_ms;           /* the whole call, per attempt (0: EM_REST_TIMEOUT_MS) */
    long connect_timeout_ms;   /* (0: timeout_ms) */
    long connect_retry_ms;     /* retry a refused connection this long, every
                                  EM_REST_RETRY_PAUSE_MS (0: never): a peer just (re)started */
    size_t max_reply;          /* a longer reply is EM_REST_UNREACHABLE (0: EM_REST_REPLY_MAX) */
};

enum em_rest_result { EM_REST_OK, EM_REST_ERROR, EM_REST_UNREACHABLE, EM_REST_NOT_SENT };

struct em_rest_reply {
    enum em_rest_result result;
    long http_status;        /* 0 when no HTTP answer came */
    struct em_status status; /* EM_OK, or why not (see the table above) */
    bool google_error;       /* status was read from Google's JSON error */
    const char *cause;       /* UNREACHABLE: libcurl's short reason (static), else "" */
    char *body;              /* as received, NUL-terminated (malloc'd), or NULL */
    size_t body_len;
    cJSON *json; /* body parsed, or NULL (empty, not JSON) */
};

/* Frees body (wiped) and json; the reply may be used again. */
void em_rest_reply_clear(struct em_rest_reply *reply);

/* Once per process before any call (em_rest_call does it too); fails only when libcurl
 * cannot be initialised. */
enum em_code em_rest_init(struct em_status *st);

/* Performs one request on this thread's kept-alive handle; returns reply->result. */
enum em_rest_result em_rest_call(const struct em_rest_request *req, struct em_rest_reply *reply);

/* --- many requests at once --- */

/* A batch of `count` requests, up to `parallel` (at most EM_REST_PARALLEL_MAX) in
 * flight. Requests are made when a slot is free, so a batch of 10,000 holds only
 * `parallel` requests and replies at a time:
 *   prepare(i, req)      fills request i (the strings it points to must live until
 *                        done(i)); false makes it EM_REST_NOT_SENT without sending
 *   done(i, req, reply)  called once per request, in completion order; it may take
 *                        reply->body or reply->json (setting them NULL), the rest is
 *                        freed when it returns */
struct em_rest_batch {
    bool (*prepare)(size_t i, struct em_rest_request *req, void *arg);
    void (*done)(size_t i, const struct em_rest_request *req, struct em_rest_reply *reply,
                 void *arg);
    void *arg;
};
void em_rest_call_batch(size_t count, int parallel, const struct em_rest_batch *batch);

/* The simple form for a few requests: replies are left in the jobs (clear each one). */
struct em_rest_job {
    struct em_rest_request req;
    struct em_rest_reply reply;
};
void em_rest_call_many(struct em_rest_job *jobs, size_t count, int parallel);

/* Frees this thread's handles and closes its connections now (a thread's exit does it). */
void em_rest_thread_release(void);

#endif
