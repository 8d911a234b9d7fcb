/*
 * control_http: concurrent requests with libcurl's multi interface (see control_http.h).
 *
 * Each round adds every unfinished request to one multi handle and runs it to
 * completion; requests whose connection was refused and whose retry budget is not spent
 * go into the next round, 100 ms later. Proxies from the environment are ignored: the
 * services always listen on loopback.
 */
#include "control_http.h"

#include "em_trust.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RETRY_PAUSE_MS 100
#define POLL_MS        100

struct transfer {
    struct control_request *req;
    CURL *easy;
    struct curl_slist *headers;
    char error[CURL_ERROR_SIZE];
    bool retry; /* refused, and the retry budget allows another round */
};

enum em_code control_http_init(struct em_status *st)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return EM_FAIL(st, EM_INTERNAL, "libcurl cannot be initialised");
    return EM_OK;
}

void control_http_cleanup(void)
{
    curl_global_cleanup();
}

static long monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *arg)
{
    struct control_request *req = arg;
    size_t n = size * nmemb;
    if (req->response_len + n > CONTROL_HTTP_RESPONSE_MAX)
        return 0; /* aborts the transfer: no service answers this much */
    char *grown = realloc(req->response, req->response_len + n + 1);
    if (!grown)
        return 0;
    memcpy(grown + req->response_len, data, n);
    req->response = grown;
    req->response_len += n;
    grown[req->response_len] = '\0';
    return n;
}

static bool transfer_setup(struct transfer *t)
{
    struct control_request *req = t->req;
    t->easy = curl_easy_init();
    if (!t->easy)
        return false;
    curl_easy_setopt(t->easy, CURLOPT_URL, req->url);
    curl_easy_setopt(t->easy, CURLOPT_CUSTOMREQUEST, req->method);
    curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(t->easy, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, req->timeout_ms);
    curl_easy_setopt(t->easy, CURLOPT_CONNECTTIMEOUT_MS, req->timeout_ms);
    curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, req);
    curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, t->error);
    /* every call to a service is internal: it carries the stack's credential */
    const char *credential = em_trust_header_line();
    if (credential)
        t->headers = curl_slist_append(t->headers, credential);
    if (strcmp(req->method, "POST") == 0) {
        t->headers = curl_slist_append(t->headers, "Content-Type: application/json");
        curl_easy_setopt(t->easy, CURLOPT_POSTFIELDS, req->body ? req->body : "{}");
    }
    curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, t->headers);
    return true;
}

static void transfer_finish(struct transfer *t, CURLcode result, long retry_deadline)
{
    struct control_request *req = t->req;
    if (result == CURLE_OK) {
        curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &req->http_status);
        return;
    }
    req->http_status = 0;
    snprintf(req->error, sizeof(req->error), "%s",
             t->error[0] ? t->error : curl_easy_strerror(result));
    t->retry = result == CURLE_COULDNT_CONNECT && monotonic_ms() < retry_deadline;
}

static void transfer_release(struct transfer *t)
{
    curl_easy_cleanup(t->easy);
    curl_slist_free_all(t->headers);
    t->easy = NULL;
    t->headers = NULL;
}

/* Adds every transfer marked for this round to multi. */
static void round_begin(CURLM *multi, struct transfer *ts, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (!ts[i].retry)
            continue;
        ts[i].retry = false;
        ts[i].error[0] = '\0';
        free(ts[i].req->response);
        ts[i].req->response = NULL;
        ts[i].req->response_len = 0;
        if (!multi || !transfer_setup(&ts[i])) {
            snprintf(ts[i].req->error, sizeof(ts[i].req->error), "out of memory");
            continue;
        }
        curl_multi_add_handle(multi, ts[i].easy);
    }
}

/* Drives every transfer of multi to its end. */
static void round_run(CURLM *multi)
{
    int running = 1;
    while (multi && running > 0) {
        if (curl_multi_perform(multi, &running) != CURLM_OK)
            break;
        if (running > 0)
            curl_multi_poll(multi, NULL, 0, POLL_MS, NULL);
    }
}

/* Records each result and frees the handles; returns how many transfers want a retry. */
static size_t round_end(CURLM *multi, struct transfer *ts, size_t count, const long *deadlines)
{
    CURLMsg *msg;
    int left;
    while (multi && (msg = curl_multi_info_read(multi, &left)) != NULL) {
        for (size_t i = 0; i < count; i++)
            if (msg->msg == CURLMSG_DONE && ts[i].easy == msg->easy_handle)
                transfer_finish(&ts[i], msg->data.result, deadlines[i]);
    }
    size_t retries = 0;
    for (size_t i = 0; i < count; i++) {
        if (ts[i].easy) {
            curl_multi_remove_handle(multi, ts[i].easy);
            transfer_release(&ts[i]);
        }
        retries += ts[i].retry;
    }
    curl_multi_cleanup(multi);
    return retries;
}

/* One round over the transfers marked for it; returns how many want a retry. */
static size_t run_round(struct transfer *ts, size_t count, const long *deadlines)
{
    CURLM *multi = curl_multi_init();
    round_begin(multi, ts, count);
    round_run(multi);
    return round_end(multi, ts, count, deadlines);
}

void control_http_perform(struct control_request *reqs, size_t count)
{
    if (count == 0)
        return;
    struct transfer *ts = calloc(count, sizeof(*ts));
    long *deadlines = calloc(count, sizeof(*deadlines));
    if (!ts || !deadlines) {
        for (size_t i = 0; i < count; i++)
            snprintf(reqs[i].error, sizeof(reqs[i].error), "out of memory");
        free(ts);
        free(deadlines);
        return;
    }
    long now = monotonic_ms();
    for (size_t i = 0; i < count; i++) {
        ts[i].req = &reqs[i];
        ts[i].retry = true; /* the first round runs every request */
        reqs[i].http_status = 0;
        reqs[i].error[0] = '\0';
        deadlines[i] = now + reqs[i].connect_retry_ms;
    }
    while (run_round(ts, count, deadlines) > 0)
        pause_ms(RETRY_PAUSE_MS);
    free(ts);
    free(deadlines);
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
