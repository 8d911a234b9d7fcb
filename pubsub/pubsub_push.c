/*
 * pubsub_push: push delivery (https://cloud.google.com/pubsub/docs/push) on one background
 * thread with libcurl.
 *
 * The thread wakes on every commit of a topic (while push subscriptions exist), every
 * timer tick, configuration change and nack, and at least once a second. For each push subscription
 * that is not backing off it takes messages one at a time through the same path as a pull (ps_take:
 * the CMEK gate, the ack deadline, ordering, dead-lettering) and POSTs each to the endpoint:
 *
 *   wrapped (default)  Content-Type: application/json
 *                      {"message": {"attributes", "data", "messageId", "message_id",
 *                       "publishTime", "publish_time", "orderingKey"},
 *                       "subscription": "projects/p/subscriptions/s", "deliveryAttempt"?}
 *   noWrapper          the message data as the body; with writeMetadata the attributes
 *                      and x-goog-pubsub-{message-id,publish-time,subscription-name} as
 *                      headers
 *
 * Identity. A push request carries the subscription's identity and nothing else: with
 * pushConfig.oidcToken, "Authorization: Bearer <ID token>" (ps_push_oidc_token: an
 * OIDC-style JWT for the service account, audience the one configured or the endpoint),
 * otherwise no Authorization header; never the internal credential. The emulator's own
 * APIs answer an ID token 401, as Google's do (it is not an OAuth access token), and a
 * request without a token is anonymous under --iam enforce: an endpoint pointing at the
 * emulator gains nothing.
 *
 * Attributes as headers (writeMetadata) never add or change headers of their own: an
 * attribute is written only when its key is an HTTP token (RFC 9110) that names no
 * header of the request's framing, identity or Pub/Sub metadata (Authorization, Host,
 * Content-*, Transfer-Encoding, Connection, X-Emulator-*, x-goog-*, ...) and its value
 * holds no control character (CR, LF, NUL, ...); other attributes are left out (logged).
 *
 * 102, 200, 201, 202 and 204 acknowledge the message; anything else (or no answer within
 * min(ack deadline, 10 s)) nacks it: with a retry policy the message waits out the
 * policy's backoff, otherwise the subscription pauses 100 ms doubling per failure up to
 * 60 s of emulator time (Google's push backoff). The request timeout is real time: the
 * endpoint is a real server.
 */
#include "pubsub_flow.h"
#include "pubsub_json.h"
#include "pubsub_push.h"

#include "em_api_state.h"
#include "em_clock.h"
#include "em_descriptor.h"
#include "em_log.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define PUSH_PER_ROUND 100 /* messages per subscription per round */

struct ps_push {
    struct ps_registry *reg;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop, wake;
    atomic_bool idle; /* the last round found no push subscription: commits do not wake it */
    CURL *curl;
    struct ps_deliverer deliverer; /* how the registry reaches it */
};

struct target {
    struct ps_sub *sub;
    char *endpoint;
    char *oidc_email, *oidc_audience; /* pushConfig.oidcToken, or NULL */
    bool no_wrapper, write_metadata;
    int timeout_s;
};

static size_t discard(char *data, size_t size, size_t n, void *arg)
{
    (void)data;
    (void)arg;
    return size * n;
}

static struct curl_slist *header(struct curl_slist *list, const char *name, const char *value)
{
    char line[1600];
    snprintf(line, sizeof(line), "%s: %s", name, value);
    return curl_slist_append(list, line);
}

/* RFC 9110 tchar: what a header name is made of. */
static bool token_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool header_name_ok(const char *name)
{
    static const char *const reserved[] = {
        "authorization",
        "proxy-authorization",
        "cookie",
        "host",
        "content-length",
        "content-type",
        "content-encoding",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "proxy-connection",
        "upgrade",
        "te",
        "trailer",
        "expect",
        "user-agent",
        NULL,
    };
    size_t n = strlen(name);
    if (n == 0 || n > PS_MAX_ATTRIBUTE_KEY)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!token_char((unsigned char)name[i]))
            return false;
    if (strncasecmp(name, "x-goog-", 7) == 0 || strncasecmp(name, "x-emulator-", 11) == 0)
        return false;
    for (int i = 0; reserved[i]; i++)
        if (strcasecmp(name, reserved[i]) == 0)
            return false;
    return true;
}

/* A field value: visible characters, spaces, tabs and UTF-8 bytes; no CR, LF, NUL. */
static bool header_value_ok(const char *value)
{
    for (const unsigned char *p = (const unsigned char *)value; *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return false;
    return true;
}

/* The noWrapper headers: attributes (JSON object text) and the message's metadata. */
static struct curl_slist *unwrapped_headers(struct curl_slist *h, const struct target *t,
                                            const struct ps_received *r)
{
    if (!t->write_metadata)
        return h;
    char id[PS_MESSAGE_ID_MAX], time_text[EM_TIME_TEXT_MAX];
    ps_message_id(r->msg.seq, id);
    em_time_format(r->msg.publish_ns, time_text);
    h = header(h, "x-goog-pubsub-message-id", id);
    h = header(h, "x-goog-pubsub-publish-time", time_text);
    h = header(h, "x-goog-pubsub-subscription-name", t->sub->name);
    cJSON *attributes =
        r->msg.attributes && *r->msg.attributes ? cJSON_Parse(r->msg.attributes) : NULL;
    const cJSON *a;
    cJSON_ArrayForEach(a, attributes)
    {
        if (cJSON_IsString(a) && header_name_ok(a->string) && header_value_ok(a->valuestring))
            h = header(h, a->string, a->valuestring);
        else
            em_debug("pubsub: push for %s leaves out an attribute that cannot be a header",
                     t->sub->name);
    }
    cJSON_Delete(attributes);
    return h;
}

/* POSTs one message; true when the endpoint acknowledged it. */
static bool post(struct ps_push *push, const struct target *t, const struct ps_received *r)
{
    char *body = NULL;
    const void *data;
    size_t len;
    struct curl_slist *h = NULL;
    if (t->no_wrapper) {
        data = r->msg.data ? (const void *)r->msg.data : "";
        len = r->msg.data_len;
        h = header(h, "Content-Type", "application/octet-stream");
        h = unwrapped_headers(h, t, r);
    } else {
        body = ps_push_body(r, t->sub->name);
        if (!body)
            return false;
        data = body;
        len = strlen(body);
        h = header(h, "Content-Type", "application/json");
    }
    if (t->oidc_email) {
        char *token = ps_push_oidc_token(
            t->oidc_email, t->oidc_audience ? t->oidc_audience : t->endpoint, em_clock_now());
        if (token) {
            char *line = malloc(strlen(token) + 32);
            if (line) {
                sprintf(line, "Authorization: Bearer %s", token);
                h = curl_slist_append(h, line);
                free(line);
            }
            free(token);
        }
    }
    CURL *c = push->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, t->endpoint);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, data);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)t->timeout_s * 1000L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_USERAGENT,
                     "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)");
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    free(body);
    bool ok = status == 102 || status == 200 || status == 201 || status == 202 || status == 204;
    if (!ok)
        em_debug("pubsub: push to %s for %s failed (%s, HTTP %ld)", t->endpoint, t->sub->name,
                 rc == CURLE_OK ? "answered" : curl_easy_strerror(rc), status);
    return ok;
}

/* Delivers what one subscription has to deliver now. */
static void deliver(struct ps_push *push, struct target *t)
{
    struct ps_registry *reg = push->reg;
    for (int i = 0; i < PUSH_PER_ROUND; i++) {
        int64_t now = em_clock_now(); /* push is this delivery's front door */
        pthread_mutex_lock(&t->sub->lock);
        bool paused = now < t->sub->push_retry_ns;
        pthread_mutex_unlock(&t->sub->lock);
        if (paused || push->stop)
            return;
        struct ps_received *r;
        size_t n;
        struct em_status st = {0};
        if (ps_take(reg, t->sub, 1, now, &r, &n, &st) || n == 0)
            return; /* nothing due, or the key is not usable (the gate said so) */
        const char *ack_id = r[0].ack_id;
        bool ok = post(push, t, &r[0]);
        now = em_clock_now(); /* the answer: another operation, later */
        if (ok)
            ps_acknowledge(reg, t->sub->name, &ack_id, 1, now, NULL, &st);
        else
            ps_modify_ack_deadline(reg, t->sub->name, &ack_id, 1, 0, now, NULL, &st);
        pthread_mutex_lock(&t->sub->lock);
        if (ok) {
            t->sub->push_failures = 0;
        } else if (!t->sub->cfg.retry.set) {
            t->sub->push_failures++;
            t->sub->push_retry_ns = now + ps_push_backoff(t->sub->push_failures);
        }
        pthread_mutex_unlock(&t->sub->lock);
        ps_received_free(r, n);
        if (!ok)
            return;
    }
}

struct targets {
    struct target *items;
    size_t count, cap;
};

static void collect(struct ps_sub *sub, void *arg)
{
    struct targets *ts = arg;
    pthread_mutex_lock(&sub->lock);
    /* a deleted project, or one that disabled Pub/Sub, delivers nothing until it is back */
    bool wanted = sub->cfg.push.endpoint && !sub->detached && sub->topic &&
                  em_api_usable_for(sub->name, pubsub_descriptor.google_service);
    if (wanted && ts->count < ts->cap) {
        struct target *t = &ts->items[ts->count];
        t->endpoint = strdup(sub->cfg.push.endpoint);
        t->oidc_email = sub->cfg.push.oidc_service_account && *sub->cfg.push.oidc_service_account
                            ? strdup(sub->cfg.push.oidc_service_account)
                            : NULL;
        t->oidc_audience = sub->cfg.push.oidc_audience && *sub->cfg.push.oidc_audience
                               ? strdup(sub->cfg.push.oidc_audience)
                               : NULL;
        t->no_wrapper = sub->cfg.push.no_wrapper;
        t->write_metadata = sub->cfg.push.write_metadata;
        t->timeout_s = sub->cfg.ack_deadline_s < 10 ? sub->cfg.ack_deadline_s : 10;
        if (t->timeout_s < 1)
            t->timeout_s = 1;
        if (t->endpoint) {
            atomic_fetch_add(&sub->refs, 1);
            t->sub = sub;
            ts->count++;
        } else {
            free(t->oidc_email);
            free(t->oidc_audience);
        }
    }
    pthread_mutex_unlock(&sub->lock);
}

static void round_robin(struct ps_push *push)
{
    struct ps_registry *reg = push->reg;
    pthread_rwlock_rdlock(&reg->lock);
    size_t cap = reg->subs.count;
    pthread_rwlock_unlock(&reg->lock);
    struct targets ts = {calloc(cap + 16, sizeof(struct target)), 0, cap + 16};
    if (!ts.items)
        return;
    ps_each_sub(reg, NULL, NULL, collect, &ts);
    atomic_store(&push->idle, ts.count == 0);
    for (size_t i = 0; i < ts.count; i++) {
        deliver(push, &ts.items[i]);
        free(ts.items[i].endpoint);
        free(ts.items[i].oidc_email);
        free(ts.items[i].oidc_audience);
        ps_sub_put(ts.items[i].sub);
    }
    free(ts.items);
}

static void *push_thread(void *arg)
{
    struct ps_push *push = arg;
    pthread_setname_np(pthread_self(), "pubsub-push");
    for (;;) {
        pthread_mutex_lock(&push->lock);
        if (!push->wake && !push->stop) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 1;
            pthread_cond_timedwait(&push->cond, &push->lock, &until);
        }
        bool stop = push->stop;
        push->wake = false;
        pthread_mutex_unlock(&push->lock);
        if (stop)
            break;
        round_robin(push);
    }
    return NULL;
}

static void push_wake(void *arg);
static void push_kick(void *arg);
static void push_stop(void *arg);

enum em_code ps_push_start(struct ps_registry *reg, struct em_status *st)
{
    curl_global_init(CURL_GLOBAL_DEFAULT); /* reference counted; the KMS client does it too */
    struct ps_push *push = calloc(1, sizeof(*push));
    if (!push || !(push->curl = curl_easy_init())) {
        free(push);
        return EM_FAIL(st, EM_INTERNAL, "cannot start push delivery");
    }
    push->reg = reg;
    pthread_mutex_init(&push->lock, NULL);
    pthread_cond_init(&push->cond, NULL);
    if (pthread_create(&push->thread, NULL, push_thread, push) != 0) {
        curl_easy_cleanup(push->curl);
        free(push);
        return EM_FAIL(st, EM_INTERNAL, "cannot start the push thread");
    }
    push->deliverer = (struct ps_deliverer){push_wake, push_kick, push_stop, push};
    ps_registry_attach_deliverer(reg, &push->deliverer);
    return EM_OK;
}

static void push_wake(void *arg)
{
    struct ps_push *push = arg;
    if (atomic_load(&push->idle))
        return; /* nothing to push: publishes do not need the thread */
    push_kick(push);
}

static void push_kick(void *arg)
{
    struct ps_push *push = arg;
    atomic_store(&push->idle, false);
    pthread_mutex_lock(&push->lock);
    push->wake = true;
    pthread_cond_signal(&push->cond);
    pthread_mutex_unlock(&push->lock);
}

static void push_stop(void *arg)
{
    struct ps_push *push = arg;
    pthread_mutex_lock(&push->lock);
    push->stop = true;
    pthread_cond_signal(&push->cond);
    pthread_mutex_unlock(&push->lock);
    pthread_join(push->thread, NULL);
    curl_easy_cleanup(push->curl);
    pthread_mutex_destroy(&push->lock);
    pthread_cond_destroy(&push->cond);
    free(push);
    curl_global_cleanup();
}
