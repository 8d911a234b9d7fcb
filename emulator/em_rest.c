/*
 * em_rest: calls between the emulator's processes over REST with libcurl (see em_rest.h).
 *
 * Each thread owns a `struct rest_thread` (a pthread key frees it when the thread ends):
 * one easy handle for single calls and one multi handle with its pool of easy handles for
 * batches. libcurl keeps finished connections in the cache of the handle that made them
 * (the easy handle for curl_easy_perform, the multi handle for batches), so the next call
 * to the same peer reuses one instead of connecting again.
 *
 * An exchange is one request on one easy handle: set up (headers, body, limits), run,
 * finished into the reply. A refused connection whose request allows retries is set up
 * again after EM_REST_RETRY_PAUSE_MS until its budget is spent. A batch slot goes
 *
 *   FREE -> RUNNING -> (refused, budget left) WAITING -> RUNNING ... -> done -> FREE
 */
#include "em_rest.h"

#include "em_clock.h"
#include "em_crypto.h"
#include "em_trust.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POLL_MS 100

struct rest_thread {
    CURL *single;
    CURLM *multi;
    CURL *pool[EM_REST_PARALLEL_MAX];
    bool batch_running; /* a batch started from a done callback gets handles of its own */
};

static pthread_key_t thread_key;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static CURLcode init_result = CURLE_FAILED_INIT;

static void thread_free(void *arg)
{
    struct rest_thread *t = arg;
    if (!t)
        return;
    for (size_t i = 0; i < EM_REST_PARALLEL_MAX; i++)
        curl_easy_cleanup(t->pool[i]);
    curl_multi_cleanup(t->multi);
    curl_easy_cleanup(t->single);
    free(t);
}

static void init_process(void)
{
    init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (init_result == CURLE_OK && pthread_key_create(&thread_key, thread_free) != 0)
        init_result = CURLE_OUT_OF_MEMORY;
}

enum em_code em_rest_init(struct em_status *st)
{
    pthread_once(&init_once, init_process);
    if (init_result != CURLE_OK)
        return EM_FAIL(st, EM_INTERNAL, "libcurl cannot be initialised");
    return EM_OK;
}

static struct rest_thread *thread_new(void)
{
    struct rest_thread *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->single = curl_easy_init();
    t->multi = curl_multi_init();
    if (!t->single || !t->multi) {
        thread_free(t);
        return NULL;
    }
    curl_multi_setopt(t->multi, CURLMOPT_MAXCONNECTS, (long)EM_REST_PARALLEL_MAX);
    return t;
}

/* This thread's handles, made on first use; NULL when out of memory. */
static struct rest_thread *thread_handles(void)
{
    pthread_once(&init_once, init_process);
    if (init_result != CURLE_OK)
        return NULL;
    struct rest_thread *t = pthread_getspecific(thread_key);
    if (!t) {
        t = thread_new();
        if (t && pthread_setspecific(thread_key, t) != 0) {
            thread_free(t);
            t = NULL;
        }
    }
    return t;
}

void em_rest_thread_release(void)
{
    pthread_once(&init_once, init_process);
    if (init_result != CURLE_OK)
        return;
    thread_free(pthread_getspecific(thread_key));
    pthread_setspecific(thread_key, NULL);
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* --- URLs --- */

static void url_append(struct em_rest_url *url, const char *text, size_t len)
{
    if (url->overflow || url->len + len >= sizeof(url->text)) {
        url->overflow = true;
        return;
    }
    memcpy(url->text + url->len, text, len);
    url->len += len;
    url->text[url->len] = '\0';
}

static bool unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '~';
}

/* Appends len bytes of text, percent-encoding all but the unreserved ones. */
static void url_append_encoded(struct em_rest_url *url, const char *text, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (unreserved(c)) {
            url_append(url, (const char *)&c, 1);
        } else {
            char escaped[3] = {'%', hex[c >> 4], hex[c & 15]};
            url_append(url, escaped, sizeof(escaped));
        }
    }
}

void em_rest_url_init(struct em_rest_url *url, const char *base)
{
    memset(url, 0, sizeof(*url));
    url_append(url, base, strlen(base));
}

void em_rest_url_segment(struct em_rest_url *url, const char *segment)
{
    url_append(url, "/", 1);
    url_append_encoded(url, segment, strlen(segment));
}

void em_rest_url_name(struct em_rest_url *url, const char *name)
{
    for (;;) {
        const char *slash = strchr(name, '/');
        size_t len = slash ? (size_t)(slash - name) : strlen(name);
        url_append(url, "/", 1);
        url_append_encoded(url, name, len);
        if (!slash)
            return;
        name = slash + 1;
    }
}

void em_rest_url_verb(struct em_rest_url *url, const char *verb)
{
    url_append(url, ":", 1);
    url_append_encoded(url, verb, strlen(verb));
}

void em_rest_url_query(struct em_rest_url *url, const char *key, const char *value)
{
    url_append(url, url->has_query ? "&" : "?", 1);
    url->has_query = true;
    url_append_encoded(url, key, strlen(key));
    url_append(url, "=", 1);
    url_append_encoded(url, value, strlen(value));
}

const char *em_rest_url_text(const struct em_rest_url *url)
{
    return url->overflow ? "" : url->text;
}

/* --- replies --- */

void em_rest_reply_clear(struct em_rest_reply *reply)
{
    if (reply->body) {
        em_wipe(reply->body, reply->body_len);
        free(reply->body);
    }
    cJSON_Delete(reply->json);
    memset(reply, 0, sizeof(*reply));
    reply->cause = "";
}

static void reply_start(struct em_rest_reply *reply)
{
    memset(reply, 0, sizeof(*reply));
    reply->cause = "";
}

static enum em_rest_result not_sent(struct em_rest_reply *reply, enum em_code code, const char *why)
{
    reply->result = EM_REST_NOT_SENT;
    EM_FAIL(&reply->status, code, "%s", why);
    return reply->result;
}

/* The service's error: Google's JSON error when the body is one, else the HTTP status. */
static void read_error(struct em_rest_reply *reply)
{
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(reply->json, "error");
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(error, "status");
    const cJSON *message = cJSON_GetObjectItemCaseSensitive(error, "message");
    int code = cJSON_IsString(status) ? em_code_from_name(status->valuestring) : -1;
    reply->result = EM_REST_ERROR;
    reply->google_error = code > 0 && cJSON_IsString(message);
    if (reply->google_error) {
        EM_FAIL(&reply->status, (enum em_code)code, "%s", message->valuestring);
        return;
    }
    enum em_code derived = em_code_from_http(reply->http_status);
    EM_FAIL(&reply->status, derived ? derived : EM_UNKNOWN, "HTTP %ld without Google's error",
            reply->http_status);
}

/* --- one exchange --- */

struct exchange {
    const struct em_rest_request *req;
    struct em_rest_reply *reply;
    CURL *easy;
    struct curl_slist *headers;
    char *printed; /* req->json as text */
    char error[CURL_ERROR_SIZE];
    size_t limit;
    long retry_until;
};

static size_t on_data(char *data, size_t size, size_t count, void *arg)
{
    struct exchange *ex = arg;
    struct em_rest_reply *reply = ex->reply;
    size_t n = size * count;
    if (reply->body_len + n > ex->limit)
        return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
    char *grown = realloc(reply->body, reply->body_len + n + 1);
    if (!grown)
        return 0;
    memcpy(grown + reply->body_len, data, n);
    reply->body = grown;
    reply->body_len += n;
    grown[reply->body_len] = '\0';
    return n;
}

/* Whether a header value can be sent as it is (no CR, LF or other control character). */
static bool header_value_ok(const char *value)
{
    for (const unsigned char *p = (const unsigned char *)value; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

/* Appends "<prefix><value>" to the exchange's headers. */
static bool add_header(struct exchange *ex, const char *prefix, const char *value)
{
    char line[1024];
    int n = snprintf(line, sizeof(line), "%s%s", prefix, value);
    if (n < 0 || (size_t)n >= sizeof(line))
        return false;
    struct curl_slist *grown = curl_slist_append(ex->headers, line);
    if (!grown)
        return false;
    ex->headers = grown;
    return true;
}

static bool set_headers(struct exchange *ex, bool has_body)
{
    const struct em_rest_request *req = ex->req;
    /* the credential makes a service agent's token and the caller attribution honoured */
    const char *credential = em_trust_header_line();
    return (!credential || add_header(ex, credential, "")) && add_header(ex, "Expect:", "") &&
           (!has_body || add_header(ex, "Content-Type: ", "application/json")) &&
           (!req->principal || add_header(ex, "Authorization: Bearer ", req->principal)) &&
           (!req->caller || add_header(ex, "X-Emulator-Caller: ", req->caller)) &&
           (!req->access_reason ||
            add_header(ex, "X-Emulator-Access-Reason: ", req->access_reason));
}

static void set_body(struct exchange *ex, const char *body, size_t len)
{
    const char *method = ex->req->method ? ex->req->method : "GET";
    if (body) {
        curl_easy_setopt(ex->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        curl_easy_setopt(ex->easy, CURLOPT_POSTFIELDS, body);
    }
    /* a body makes it a POST; any other method with or without a body is named */
    if (strcmp(method, body ? "POST" : "GET") != 0)
        curl_easy_setopt(ex->easy, CURLOPT_CUSTOMREQUEST, method);
}

/* Why the request cannot be sent (a NOT_SENT reply); false. */
static bool refuse(struct exchange *ex, enum em_code code, const char *why)
{
    not_sent(ex->reply, code, why);
    return false;
}

/* Prepares ex on easy; false (reply NOT_SENT) when the request cannot be sent. */
static bool exchange_setup(struct exchange *ex, CURL *easy)
{
    const struct em_rest_request *req = ex->req;
    ex->easy = easy;
    ex->error[0] = '\0';
    if (!easy)
        return refuse(ex, EM_INTERNAL, "The emulator ran out of memory.");
    if (!req->url || !req->url[0])
        return refuse(ex, EM_INVALID_ARGUMENT, "no URL (too long?)");
    if ((req->principal && !header_value_ok(req->principal)) ||
        (req->caller && !header_value_ok(req->caller)) ||
        (req->access_reason && !header_value_ok(req->access_reason)))
        return refuse(ex, EM_INVALID_ARGUMENT, "a header value has a control character");
    const char *body = req->body;
    size_t body_len = req->body_len ? req->body_len : body ? strlen(body) : 0;
    if (req->json && !ex->printed) {
        ex->printed = cJSON_PrintUnformatted(req->json);
        if (!ex->printed)
            return refuse(ex, EM_INTERNAL, "The emulator ran out of memory.");
    }
    if (ex->printed) {
        body = ex->printed;
        body_len = strlen(body);
    }
    if (!ex->headers && !set_headers(ex, body != NULL))
        return refuse(ex, EM_INVALID_ARGUMENT, "a header does not fit (or out of memory)");
    long timeout = req->timeout_ms > 0 ? req->timeout_ms : EM_REST_TIMEOUT_MS;
    long connect = req->connect_timeout_ms > 0 ? req->connect_timeout_ms : timeout;
    ex->limit = req->max_reply ? req->max_reply : EM_REST_REPLY_MAX;
    curl_easy_reset(easy);
    curl_easy_setopt(easy, CURLOPT_URL, req->url);
    set_body(ex, body, body_len);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, ex->headers);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, ex);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, ex->error);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, ex);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, connect);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_NOPROXY, "*");
    return true;
}

/* Forgets what a failed attempt received, before the next one. */
static void exchange_rewind(struct exchange *ex)
{
    em_rest_reply_clear(ex->reply);
}

static void exchange_release(struct exchange *ex)
{
    curl_slist_free_all(ex->headers);
    if (ex->printed) {
        em_wipe(ex->printed, strlen(ex->printed));
        free(ex->printed);
    }
    ex->headers = NULL;
    ex->printed = NULL;
}

/* Turns a finished attempt into the reply; returns whether it should be tried again. */
static bool exchange_finish(struct exchange *ex, CURLcode rc)
{
    struct em_rest_reply *reply = ex->reply;
    if (rc != CURLE_OK) {
        bool retry = rc == CURLE_COULDNT_CONNECT && em_clock_monotonic_ms() < ex->retry_until;
        reply->result = EM_REST_UNREACHABLE;
        reply->http_status = 0;
        reply->cause = curl_easy_strerror(rc);
        EM_FAIL(&reply->status, EM_UNAVAILABLE, "%s", ex->error[0] ? ex->error : reply->cause);
        return retry;
    }
    curl_easy_getinfo(ex->easy, CURLINFO_RESPONSE_CODE, &reply->http_status);
    if (reply->body_len)
        reply->json = cJSON_ParseWithLength(reply->body, reply->body_len);
    bool success = reply->http_status >= 200 && reply->http_status < 300;
    if (!success) {
        read_error(reply);
    } else if (reply->body_len && !reply->json) {
        reply->result = EM_REST_ERROR;
        EM_FAIL(&reply->status, EM_INTERNAL, "HTTP %ld with a reply that is not JSON",
                reply->http_status);
    } else {
        reply->result = EM_REST_OK;
    }
    return false;
}

static void exchange_begin(struct exchange *ex, const struct em_rest_request *req,
                           struct em_rest_reply *reply)
{
    memset(ex, 0, sizeof(*ex));
    ex->req = req;
    ex->reply = reply;
    ex->retry_until =
        req->connect_retry_ms > 0 ? em_clock_monotonic_ms() + req->connect_retry_ms : 0;
    reply_start(reply);
}

enum em_rest_result em_rest_call(const struct em_rest_request *req, struct em_rest_reply *reply)
{
    struct exchange ex;
    exchange_begin(&ex, req, reply);
    struct rest_thread *t = thread_handles();
    while (exchange_setup(&ex, t ? t->single : NULL) &&
           exchange_finish(&ex, curl_easy_perform(ex.easy))) {
        exchange_rewind(&ex);
        pause_ms(EM_REST_RETRY_PAUSE_MS);
    }
    exchange_release(&ex);
    return reply->result;
}

/* --- batches --- */

enum slot_state { SLOT_FREE, SLOT_RUNNING, SLOT_WAITING };

struct slot {
    enum slot_state state;
    size_t index;
    long wake_at; /* SLOT_WAITING: when to try again */
    struct em_rest_request req;
    struct em_rest_reply reply;
    struct exchange ex;
};

struct batch_run {
    const struct em_rest_batch *batch;
    size_t count, next;
    CURLM *multi;
    CURL **pool;
    struct slot *slots;
    size_t busy; /* slots RUNNING or WAITING */
};

static void slot_done(struct batch_run *run, struct slot *slot)
{
    exchange_release(&slot->ex);
    run->batch->done(slot->index, &slot->req, &slot->reply, run->batch->arg);
    em_rest_reply_clear(&slot->reply);
    slot->state = SLOT_FREE;
    run->busy--;
}

/* Sets the slot's exchange up and adds it to the multi handle; false when it ended. */
static bool slot_launch(struct batch_run *run, struct slot *slot, CURL *easy)
{
    if (!exchange_setup(&slot->ex, easy) || curl_multi_add_handle(run->multi, easy) != CURLM_OK) {
        if (slot->reply.result != EM_REST_NOT_SENT)
            not_sent(&slot->reply, EM_INTERNAL, "the request could not be started");
        slot_done(run, slot);
        return false;
    }
    slot->state = SLOT_RUNNING;
    return true;
}

/* Starts the next requests on a free slot until one is in flight or none is left. */
static void slot_fill(struct batch_run *run, struct slot *slot, CURL *easy)
{
    while (slot->state == SLOT_FREE && run->next < run->count) {
        slot->index = run->next++;
        memset(&slot->req, 0, sizeof(slot->req));
        reply_start(&slot->reply);
        run->busy++;
        if (!run->batch->prepare(slot->index, &slot->req, run->batch->arg)) {
            not_sent(&slot->reply, EM_INTERNAL, "the request could not be prepared");
            slot_done(run, slot); /* the slot's exchange was released by its last request */
            continue;
        }
        exchange_begin(&slot->ex, &slot->req, &slot->reply);
        slot_launch(run, slot, easy);
    }
}

static void slot_finish(struct batch_run *run, struct slot *slot, CURLcode rc)
{
    curl_multi_remove_handle(run->multi, slot->ex.easy);
    if (exchange_finish(&slot->ex, rc)) {
        exchange_rewind(&slot->ex);
        slot->state = SLOT_WAITING;
        slot->wake_at = em_clock_monotonic_ms() + EM_REST_RETRY_PAUSE_MS;
        return;
    }
    slot_done(run, slot);
}

/* Finished transfers end or wait; freed slots take the next requests. */
static void batch_collect(struct batch_run *run)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(run->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *easy = msg->easy_handle;
        CURLcode rc = msg->data.result;
        struct exchange *ex;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&ex);
        struct slot *slot = (struct slot *)((char *)ex - offsetof(struct slot, ex));
        slot_finish(run, slot, rc);
        slot_fill(run, slot, easy);
    }
}

/* Relaunches waiting slots whose pause is over; returns ms until the next wake-up. */
static long batch_wake(struct batch_run *run, size_t slot_count)
{
    long now = em_clock_monotonic_ms(), wait = POLL_MS;
    for (size_t i = 0; i < slot_count; i++) {
        struct slot *slot = &run->slots[i];
        if (slot->state != SLOT_WAITING)
            continue;
        if (slot->wake_at <= now) {
            if (!slot_launch(run, slot, run->pool[i]))
                slot_fill(run, slot, run->pool[i]);
        } else if (slot->wake_at - now < wait) {
            wait = slot->wake_at - now;
        }
    }
    return wait;
}

static void batch_drive(struct batch_run *run, size_t slot_count)
{
    for (size_t i = 0; i < slot_count; i++)
        slot_fill(run, &run->slots[i], run->pool[i]);
    while (run->busy > 0) {
        int running;
        curl_multi_perform(run->multi, &running);
        batch_collect(run);
        long wait = batch_wake(run, slot_count);
        if (run->busy > 0)
            curl_multi_poll(run->multi, NULL, 0, (int)wait, NULL);
    }
}

/* Every request of the batch ends NOT_SENT (no handles). */
static void batch_refuse(const struct em_rest_batch *batch, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        struct em_rest_request req = {0};
        struct em_rest_reply reply;
        reply_start(&reply);
        not_sent(&reply, EM_INTERNAL, "The emulator ran out of memory.");
        batch->done(i, &req, &reply, batch->arg);
        em_rest_reply_clear(&reply);
    }
}

/* Gives run a multi handle and slot_count easy handles: this thread's, or (inside another
 * batch, or without thread handles) new ones that *own says to free. */
static bool batch_handles(struct batch_run *run, size_t slot_count, struct rest_thread **own)
{
    struct rest_thread *t = thread_handles();
    *own = NULL;
    if (!t || t->batch_running) {
        t = *own = thread_new();
        if (!t)
            return false;
    }
    for (size_t i = 0; i < slot_count; i++) {
        if (!t->pool[i])
            t->pool[i] = curl_easy_init();
        if (!t->pool[i])
            return false;
    }
    t->batch_running = true;
    run->multi = t->multi;
    run->pool = t->pool;
    return true;
}

void em_rest_call_batch(size_t count, int parallel, const struct em_rest_batch *batch)
{
    if (count == 0)
        return;
    size_t slot_count = parallel < 1                      ? 1
                        : parallel > EM_REST_PARALLEL_MAX ? EM_REST_PARALLEL_MAX
                                                          : (size_t)parallel;
    if (slot_count > count)
        slot_count = count;
    struct batch_run run = {.batch = batch, .count = count};
    struct rest_thread *own = NULL;
    run.slots = calloc(slot_count, sizeof(*run.slots));
    if (!run.slots || !batch_handles(&run, slot_count, &own)) {
        free(run.slots);
        thread_free(own);
        batch_refuse(batch, count);
        return;
    }
    batch_drive(&run, slot_count);
    free(run.slots);
    if (own) {
        thread_free(own);
    } else {
        struct rest_thread *t = pthread_getspecific(thread_key);
        t->batch_running = false;
    }
}

/* --- the simple form --- */

static bool job_prepare(size_t i, struct em_rest_request *req, void *arg)
{
    struct em_rest_job *jobs = arg;
    *req = jobs[i].req;
    return true;
}

static void job_done(size_t i, const struct em_rest_request *req, struct em_rest_reply *reply,
                     void *arg)
{
    (void)req;
    struct em_rest_job *jobs = arg;
    jobs[i].reply = *reply;
    reply->body = NULL;
    reply->json = NULL;
}

void em_rest_call_many(struct em_rest_job *jobs, size_t count, int parallel)
{
    struct em_rest_batch batch = {job_prepare, job_done, jobs};
    em_rest_call_batch(count, parallel, &batch);
}
