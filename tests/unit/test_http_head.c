/*
 * test_http_head: em_http_head_check on whole and cut request heads: what libmicrohttpd
 * serves passes (bare LF, leading empty lines, HTTP/1.0 without Host, HTTP/1.2), what it
 * would answer with its own HTML page is refused with the status and a message naming the
 * problem, and a head still arriving waits, unless what has arrived is already wrong or
 * already too long.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "em_http.h"
#include "em_http_head.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void head_ok(const char *head)
{
    struct em_status st = {0};
    if (em_http_head_check(head, strlen(head), &st) != EM_HTTP_HEAD_OK)
        fail_msg("refused or waiting: \"%s\": %s", head, st.message);
}

static void head_waits(const char *head, size_t len)
{
    struct em_status st = {0};
    if (em_http_head_check(head, len, &st) != EM_HTTP_HEAD_INCOMPLETE)
        fail_msg("not waiting for the rest of \"%.*s\": %s", (int)len, head, st.message);
}

/* Refused with http and code, and a message containing words. */
static void head_refused_n(const char *head, size_t len, int http, enum em_code code,
                           const char *words)
{
    struct em_status st = {0};
    if (em_http_head_check(head, len, &st) != EM_HTTP_HEAD_REFUSED)
        fail_msg("not refused: \"%.60s\"", head);
    assert_int_equal(st.http_override, http);
    assert_int_equal(st.code, code);
    if (!strstr(st.message, words))
        fail_msg("the message \"%s\" does not say \"%s\"", st.message, words);
}

static void head_refused(const char *head, int http, enum em_code code, const char *words)
{
    head_refused_n(head, strlen(head), http, code, words);
}

static void test_what_libmicrohttpd_serves_passes(void **state)
{
    (void)state;
    head_ok("GET /v1/ping HTTP/1.1\r\nHost: t\r\n\r\n");
    head_ok("POST /v1/x:y?a=1&b HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}");
    head_ok("GET /v1/ping HTTP/1.1\nHost: t\n\n");               /* bare LF */
    head_ok("\r\n\r\nGET /v1/ping HTTP/1.1\r\nHost: t\r\n\r\n"); /* empty lines first */
    head_ok("GET /v1/ping HTTP/1.0\r\n\r\n");                    /* 1.0 needs no Host */
    head_ok("GET /v1/ping HTTP/1.2\r\nhost: t\r\n\r\n");         /* served as 1.1 */
    head_ok("GET /v1/ping HTTP/1.1\r\nHost: t\r\nX-Tab:\tv\xc3\xa9 \r\nX-Empty:\r\n\r\n");
    head_ok("GET /v1/ping HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n");
    head_ok("PATCH /v1/a%20b HTTP/1.1\r\nHost: t\r\nContent-Length:  0 \r\n\r\n");
}

static void test_the_version_must_be_http_1(void **state)
{
    (void)state;
    head_refused("GET / HTTP/3.0\r\nHost: t\r\n\r\n", 505, EM_UNIMPLEMENTED, "HTTP/3.0");
    head_refused("GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505, EM_UNIMPLEMENTED, "not supported");
    head_refused("GET / HTTP/0.9\r\n\r\n", 505, EM_UNIMPLEMENTED, "HTTP/0.9");
    head_refused("GET /\r\nHost: t\r\n\r\n", 400, EM_INVALID_ARGUMENT, "no HTTP version");
    head_refused("GET / http/1.1\r\nHost: t\r\n\r\n", 400, EM_INVALID_ARGUMENT,
                 "Malformed HTTP version");
    head_refused("GET / HTTP/1.1.1\r\nHost: t\r\n\r\n", 400, EM_INVALID_ARGUMENT,
                 "Malformed HTTP version");
}

static void test_a_malformed_request_line_is_refused(void **state)
{
    (void)state;
    head_refused("GARBAGE\r\n\r\n", 400, EM_INVALID_ARGUMENT, "no spaces");
    head_refused("GET\r\n\r\n", 400, EM_INVALID_ARGUMENT, "no spaces");
    head_refused("G(T / HTTP/1.1\r\nHost: t\r\n\r\n", 400, EM_INVALID_ARGUMENT,
                 "method is not a token");
    head_refused(" GET / HTTP/1.1\r\nHost: t\r\n\r\n", 400, EM_INVALID_ARGUMENT,
                 "method is not a token");
    head_refused("GET  / HTTP/1.1\r\nHost: t\r\n\r\n", 400, EM_INVALID_ARGUMENT, "path is empty");
    head_refused("GET /a b HTTP/1.1\r\nHost: t\r\n\r\n", 400, EM_INVALID_ARGUMENT,
                 "path contains a space");
    head_refused("GET /a\x01 HTTP/1.1\r\nHost: t\r\n\r\n", 400, EM_INVALID_ARGUMENT,
                 "control character");
    head_refused("GET /a\rb HTTP/1.1\r\nHost: t\r\n\r\n", 400, EM_INVALID_ARGUMENT,
                 "control character");
    static const char nul[] = "GET /\0 HTTP/1.1\r\nHost: t\r\n\r\n";
    head_refused_n(nul, sizeof(nul) - 1, 400, EM_INVALID_ARGUMENT, "control character");
}

static void test_a_malformed_header_line_is_refused(void **state)
{
    (void)state;
    head_refused("GET / HTTP/1.1\r\nHost: t\r\nNo colon here\r\n\r\n", 400, EM_INVALID_ARGUMENT,
                 "\"No colon here\": no colon");
    head_refused("GET / HTTP/1.1\r\nHost: t\r\nX Y: 1\r\n\r\n", 400, EM_INVALID_ARGUMENT,
                 "name is not a token");
    head_refused("GET / HTTP/1.1\r\nHost : t\r\n\r\n", 400, EM_INVALID_ARGUMENT,
                 "name is not a token");
    head_refused("GET / HTTP/1.1\r\nHost: t\r\nX-A: 1\r\n 2\r\n\r\n", 400, EM_INVALID_ARGUMENT,
                 "obsolete line folding");
    head_refused("GET / HTTP/1.1\r\nHost: t\r\nX-A: 1\r2\r\n\r\n", 400, EM_INVALID_ARGUMENT,
                 "control character");
    head_refused("GET / HTTP/1.1\r\n\r\n", 400, EM_INVALID_ARGUMENT, "Host header");
    head_refused("GET / HTTP/1.1\r\nX-Host: t\r\n\r\n", 400, EM_INVALID_ARGUMENT, "Host header");
}

static void test_content_length_is_a_number(void **state)
{
    (void)state;
    head_refused("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 12abc\r\n\r\n", 400,
                 EM_INVALID_ARGUMENT, "Content-Length header \"12abc\" is not a number");
    head_refused("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n", 400,
                 EM_INVALID_ARGUMENT, "not a number");
    head_refused("POST / HTTP/1.1\r\nHost: t\r\nContent-Length:\r\n\r\n", 400, EM_INVALID_ARGUMENT,
                 "not a number");
    head_refused("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1, 1\r\n\r\n", 400,
                 EM_INVALID_ARGUMENT, "not a number");
    head_refused("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                 400, EM_INVALID_ARGUMENT, "different values (1 and 2)");
    head_refused("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 18446744073709551616\r\n\r\n", 413,
                 EM_INVALID_ARGUMENT, "too large");
    head_ok("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 18446744073709551615\r\n\r\n");
}

static void test_a_head_still_arriving_waits(void **state)
{
    (void)state;
    const char *head = "GET /v1/ping HTTP/1.1\r\nHost: t\r\nX-A: 1\r\n\r\n";
    for (size_t len = 0; len < strlen(head); len++)
        head_waits(head, len);
    head_ok(head);
    /* a wrong line is refused as soon as it is whole, before the head's end */
    head_refused("GET / HTTP/3.0\r\n", 505, EM_UNIMPLEMENTED, "HTTP/3.0");
    head_refused("GET / HTTP/1.1\r\nbad\r\nX-A: 1", 400, EM_INVALID_ARGUMENT, "no colon");
    head_waits("GET / HTTP/3.0", 14); /* the line has not ended yet */
}

static void test_sizes_are_limited(void **state)
{
    (void)state;
    size_t cap = 3 * EM_HTTP_MAX_HEADER;
    char *buf = malloc(cap);
    assert_non_null(buf);

    /* a URL over EM_HTTP_MAX_URL in a head that has ended: 414 with its length */
    int n = sprintf(buf, "GET /");
    memset(buf + n, 'a', EM_HTTP_MAX_URL);
    n += EM_HTTP_MAX_URL;
    n += sprintf(buf + n, " HTTP/1.1\r\nHost: t\r\n\r\n");
    head_refused(buf, 414, EM_INVALID_ARGUMENT, "16385 bytes, at most 16384");
    n = sprintf(buf, "GET /"); /* exactly at the limit: served */
    memset(buf + n, 'a', EM_HTTP_MAX_URL - 1);
    sprintf(buf + n + EM_HTTP_MAX_URL - 1, " HTTP/1.1\r\nHost: t\r\n\r\n");
    head_ok(buf);

    /* a request line that never ends within EM_HTTP_MAX_HEADER: 414 */
    n = sprintf(buf, "GET /");
    memset(buf + n, 'a', EM_HTTP_MAX_HEADER);
    head_waits(buf, EM_HTTP_MAX_HEADER);
    head_refused_n(buf, EM_HTTP_MAX_HEADER + 1, 414, EM_INVALID_ARGUMENT, "URL is too long");

    /* headers over EM_HTTP_MAX_HEADER, ended or not: 431 */
    n = sprintf(buf, "GET / HTTP/1.1\r\nHost: t\r\nX-Big: ");
    memset(buf + n, 'x', EM_HTTP_MAX_HEADER);
    n += EM_HTTP_MAX_HEADER;
    head_refused_n(buf, (size_t)n, 431, EM_INVALID_ARGUMENT, "headers are too large: over");
    sprintf(buf + n, "\r\n\r\n");
    head_refused(buf, 431, EM_INVALID_ARGUMENT, "headers are too large");
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_what_libmicrohttpd_serves_passes),
        cmocka_unit_test(test_the_version_must_be_http_1),
        cmocka_unit_test(test_a_malformed_request_line_is_refused),
        cmocka_unit_test(test_a_malformed_header_line_is_refused),
        cmocka_unit_test(test_content_length_is_a_number),
        cmocka_unit_test(test_a_head_still_arriving_waits),
        cmocka_unit_test(test_sizes_are_limited),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
