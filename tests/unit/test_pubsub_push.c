/*
 * Unit tests of push delivery (pubsub_push.c) against a real endpoint: a one-connection
 * HTTP server on a loopback socket in this process receives what the push thread of a
 * real service sends. Covers the wrapped request (JSON body, Content-Type, no
 * credentials), the noWrapper request with writeMetadata (raw body, attributes and
 * x-goog-pubsub-* headers, attributes that would be framing headers left out), the OIDC
 * token, acknowledgement on 2xx and Google's push backoff after a failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "unit_pubsub.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define TOPIC "projects/push-project/topics/orders"
#define SUB   "projects/push-project/subscriptions/orders-push"

struct fixture {
    struct unit_pubsub ps;
    int listener;
    int port;
};

static struct ps_registry *reg(struct fixture *f)
{
    return unit_pubsub_reg(&f->ps);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct em_status st = {0};
    if (!f || unit_pubsub_start(&f->ps))
        return -1;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(addr);
    f->listener = socket(AF_INET, SOCK_STREAM, 0);
    if (f->listener < 0 || bind(f->listener, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
        listen(f->listener, 4) != 0 || getsockname(f->listener, (struct sockaddr *)&addr, &len))
        return -1;
    f->port = ntohs(addr.sin_port);
    if (unit_pubsub_create_topic(&f->ps, TOPIC, NULL, &st))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    unit_pubsub_stop(&f->ps);
    close(f->listener);
    free(f);
    return 0;
}

static void create_push_sub(struct fixture *f, struct ps_push_config push)
{
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d/push", f->port);
    push.endpoint = endpoint;
    struct ps_sub_config cfg = {.topic = TOPIC, .push = push};
    struct em_status st = {0};
    assert_int_equal(unit_pubsub_create_sub(&f->ps, SUB, cfg, &st), EM_OK);
}

static void publish(struct fixture *f, const char *data, const char *attributes)
{
    struct em_status st = {0};
    assert_int_equal(unit_pubsub_publish(&f->ps, TOPIC, data, attributes, NULL, &st), EM_OK);
}

/* Accepts one request (waiting up to 10 s), answers it with status, returns its text
 * (headers and body, malloc'd). */
static char *serve_one(struct fixture *f, int status)
{
    struct pollfd p = {f->listener, POLLIN, 0};
    assert_int_equal(poll(&p, 1, 10000), 1);
    int c = accept(f->listener, NULL, NULL);
    assert_true(c >= 0);
    size_t cap = 1 << 16, len = 0;
    char *buf = calloc(1, cap);
    for (;;) { /* headers, then Content-Length bytes of body */
        ssize_t n = recv(c, buf + len, cap - 1 - len, 0);
        assert_true(n > 0);
        len += (size_t)n;
        char *end = strstr(buf, "\r\n\r\n");
        const char *cl = strcasestr(buf, "Content-Length:");
        if (end && cl && len >= (size_t)(end + 4 - buf) + (size_t)atoi(cl + 15))
            break;
    }
    char reply[128];
    snprintf(reply, sizeof(reply),
             "HTTP/1.1 %d X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status);
    assert_true(send(c, reply, strlen(reply), 0) > 0);
    close(c);
    return buf;
}

static bool has_header(const char *request, const char *line)
{
    char needle[256];
    snprintf(needle, sizeof(needle), "\r\n%s\r\n", line);
    return strcasestr(request, needle) != NULL;
}

/* Whether the subscription still holds a message (not acknowledged). */
static size_t pending(struct fixture *f)
{
    struct ps_sub *s = ps_sub_get(reg(f), SUB);
    pthread_mutex_lock(&s->lock);
    size_t n = 0;
    for (size_t i = 0; i < s->backlog.len; i++)
        n += ps_backlog_at(&s->backlog, i)->state != PS_ACKED;
    pthread_mutex_unlock(&s->lock);
    ps_sub_put(s);
    return n;
}

static void test_wrapped_request_and_ack(void **state)
{
    struct fixture *f = *state;
    create_push_sub(f, (struct ps_push_config){0});
    publish(f, "hello", "{\"k\":\"v\"}");
    char *req = serve_one(f, 200);
    assert_true(strncmp(req, "POST /push HTTP/1.1\r\n", 21) == 0);
    assert_true(has_header(req, "Content-Type: application/json"));
    assert_null(strcasestr(req, "\r\nAuthorization:")); /* no credential of any kind */
    const char *body = strstr(req, "\r\n\r\n") + 4;
    assert_non_null(strstr(body, "\"subscription\":\"" SUB "\""));
    assert_non_null(strstr(body, "\"data\":\"aGVsbG8=\"")); /* base64 of hello */
    assert_non_null(strstr(body, "\"messageId\":\"1\""));
    assert_non_null(strstr(body, "\"k\":\"v\""));
    free(req);
    for (int i = 0; i < 100 && pending(f) > 0; i++)
        usleep(20 * 1000); /* the push thread acknowledges after the answer */
    assert_int_equal(pending(f), 0);
}

static void test_unwrapped_request_with_metadata(void **state)
{
    struct fixture *f = *state;
    create_push_sub(f, (struct ps_push_config){.no_wrapper = true, .write_metadata = true});
    publish(f, "raw bytes", "{\"color\":\"red\",\"Content-Length\":\"1\",\"bad key\":\"x\"}");
    char *req = serve_one(f, 204);
    assert_true(has_header(req, "Content-Type: application/octet-stream"));
    assert_true(has_header(req, "color: red"));
    assert_true(has_header(req, "x-goog-pubsub-message-id: 1"));
    assert_true(has_header(req, "x-goog-pubsub-subscription-name: " SUB));
    assert_false(has_header(req, "Content-Length: 1")); /* never a framing header */
    assert_null(strstr(req, "bad key"));
    assert_string_equal(strstr(req, "\r\n\r\n") + 4, "raw bytes");
    free(req);
}

static void test_oidc_token(void **state)
{
    struct fixture *f = *state;
    create_push_sub(f, (struct ps_push_config){.oidc_service_account =
                                                   "pusher@push-project.iam.gserviceaccount.com",
                                               .oidc_audience = "https://receiver.example"});
    publish(f, "x", "");
    char *req = serve_one(f, 200);
    const char *auth = strcasestr(req, "\r\nAuthorization: Bearer ");
    assert_non_null(auth);
    const char *token = auth + strlen("\r\nAuthorization: Bearer ");
    const char *dot1 = strchr(token, '.'), *eol = strstr(token, "\r\n");
    assert_non_null(dot1);
    assert_true(strchr(dot1 + 1, '.') < eol); /* header.claims.signature */
    free(req);
}

/* A failed push pauses the subscription (100 ms doubling, emulator time) and keeps the
 * message for redelivery. */
static void test_failure_backs_off_and_keeps_the_message(void **state)
{
    struct fixture *f = *state;
    create_push_sub(f, (struct ps_push_config){0});
    publish(f, "again", "");
    int64_t before = em_clock_now();
    free(serve_one(f, 503));
    struct ps_sub *s = ps_sub_get(reg(f), SUB);
    for (int i = 0; i < 100; i++) { /* the push thread records the failure after the answer */
        pthread_mutex_lock(&s->lock);
        bool failed = s->push_failures > 0;
        pthread_mutex_unlock(&s->lock);
        if (failed)
            break;
        usleep(20 * 1000);
    }
    pthread_mutex_lock(&s->lock);
    assert_int_equal(s->push_failures, 1);
    assert_true(s->push_retry_ns >= before + ps_push_backoff(1));
    pthread_mutex_unlock(&s->lock);
    ps_sub_put(s);
    assert_int_equal(pending(f), 1);
    char *req = serve_one(f, 200); /* redelivered once the backoff is over */
    assert_non_null(strstr(req, "\"data\":\"YWdhaW4=\""));
    free(req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_wrapped_request_and_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwrapped_request_with_metadata, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oidc_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failure_backs_off_and_keeps_the_message, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
