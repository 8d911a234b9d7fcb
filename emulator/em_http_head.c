/*
 * em_http_head: the request head's syntax (see em_http_head.h). Stateless: every call
 * reads the head from its first byte, line by line, and stops at the first violation, at
 * the first incomplete line, or at the empty line that ends the head. The error messages
 * are this file's catalogue; they quote at most QUOTE_MAX bytes of the request, with
 * anything but printable ASCII shown as '?'.
 */
#include "em_http_head.h"

#include "em_http.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define QUOTE_MAX 40

/* What the lines read so far have established. */
struct head {
    int minor;        /* HTTP/1.minor */
    bool have_host;   /* a Host header */
    bool have_length; /* a Content-Length header, of value length */
    uint64_t length;
    struct em_status *st;
};

/* tchar of RFC 9110 5.6.2 */
static bool is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool is_control(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

static size_t token_len(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && is_tchar((unsigned char)s[i]))
        i++;
    return i;
}

/* s[0, len) for a message: at most QUOTE_MAX bytes, printable ASCII only. */
static const char *quote(const char *s, size_t len, char out[QUOTE_MAX + 4])
{
    size_t n = len < QUOTE_MAX ? len : QUOTE_MAX;
    for (size_t i = 0; i < n; i++)
        out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    strcpy(out + n, len > n ? "..." : "");
    return out;
}

/* Fills h->st and evaluates to EM_HTTP_HEAD_REFUSED. */
#define REFUSE(h, http, code, ...)                                                                 \
    (EM_FAIL((h)->st, (code), __VA_ARGS__), (h)->st->http_override = (http), EM_HTTP_HEAD_REFUSED)

static enum em_http_head bad_request_line(struct head *h, const char *line, size_t len,
                                          const char *why)
{
    char q[QUOTE_MAX + 4];
    return REFUSE(h, 400, EM_INVALID_ARGUMENT,
                  "Malformed request line \"%s\": %s; expected METHOD /path HTTP/1.1.",
                  quote(line, len, q), why);
}

/* "HTTP/1.1": sets h->minor; anything else is refused. */
static enum em_http_head check_version(struct head *h, const char *v, size_t len)
{
    char q[QUOTE_MAX + 4];
    bool shaped = len == 8 && memcmp(v, "HTTP/", 5) == 0 && v[5] >= '0' && v[5] <= '9' &&
                  v[6] == '.' && v[7] >= '0' && v[7] <= '9';
    if (!shaped)
        return REFUSE(h, 400, EM_INVALID_ARGUMENT,
                      "Malformed HTTP version \"%s\" in the request line; expected HTTP/1.1.",
                      quote(v, len, q));
    if (v[5] != '1')
        return REFUSE(h, 505, EM_UNIMPLEMENTED,
                      "HTTP version %s is not supported; use HTTP/1.1 (or HTTP/1.0).",
                      quote(v, len, q));
    h->minor = v[7] - '0';
    return EM_HTTP_HEAD_INCOMPLETE;
}

static enum em_http_head check_request_line(struct head *h, const char *line, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (is_control((unsigned char)line[i]))
            return bad_request_line(h, line, len, "it contains a control character");
    size_t method = token_len(line, len);
    const char *sp1 = memchr(line, ' ', len);
    if (!sp1)
        return bad_request_line(h, line, len, "it has no spaces");
    if (method == 0 || line + method != sp1)
        return bad_request_line(h, line, len, "the method is not a token");
    const char *target = sp1 + 1;
    const char *sp2 = memchr(target, ' ', len - (size_t)(target - line));
    if (!sp2)
        return bad_request_line(h, line, len, "it has no HTTP version");
    size_t target_len = (size_t)(sp2 - target);
    if (target_len == 0)
        return bad_request_line(h, line, len, "the path is empty");
    const char *version = sp2 + 1;
    size_t version_len = len - (size_t)(version - line);
    if (memchr(version, ' ', version_len))
        return bad_request_line(h, line, len, "the path contains a space");
    if (target_len > EM_HTTP_MAX_URL) /* the wording of em_http's own check */
        return REFUSE(h, 414, EM_INVALID_ARGUMENT,
                      "The request URL is too long: %zu bytes, at most %d are accepted.",
                      target_len, EM_HTTP_MAX_URL);
    return check_version(h, version, version_len);
}

static bool all_digits(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return len > 0;
}

static enum em_http_head check_content_length(struct head *h, const char *v, size_t len)
{
    char q[QUOTE_MAX + 4];
    if (!all_digits(v, len))
        return REFUSE(h, 400, EM_INVALID_ARGUMENT,
                      "The Content-Length header \"%s\" is not a number of bytes.",
                      quote(v, len, q));
    uint64_t value = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned digit = (unsigned)(v[i] - '0');
        if (value > (UINT64_MAX - digit) / 10)
            return REFUSE(h, 413, EM_INVALID_ARGUMENT,
                          "The Content-Length header \"%s\" is too large.", quote(v, len, q));
        value = value * 10 + digit;
    }
    if (h->have_length && value != h->length)
        return REFUSE(h, 400, EM_INVALID_ARGUMENT,
                      "The request has Content-Length headers with different values (%llu and "
                      "%llu).",
                      (unsigned long long)h->length, (unsigned long long)value);
    h->have_length = true;
    h->length = value;
    return EM_HTTP_HEAD_INCOMPLETE;
}

static enum em_http_head bad_header_line(struct head *h, const char *line, size_t len,
                                         const char *why)
{
    char q[QUOTE_MAX + 4];
    return REFUSE(h, 400, EM_INVALID_ARGUMENT,
                  "Malformed header line \"%s\": %s; expected Name: value.", quote(line, len, q),
                  why);
}

/* RFC 9112 5.2 lets a server refuse obsolete line folding (a line starting with SP or
 * HTAB), and refusing it keeps one reading of every header: libmicrohttpd would join the
 * lines. */
static enum em_http_head check_header_line(struct head *h, const char *line, size_t len)
{
    if (line[0] == ' ' || line[0] == '\t')
        return bad_header_line(h, line, len, "obsolete line folding is not accepted");
    size_t name = token_len(line, len);
    if (name == len || line[name] != ':')
        return bad_header_line(h, line, len,
                               memchr(line, ':', len) ? "the name is not a token" : "no colon");
    for (size_t i = name + 1; i < len; i++)
        if (is_control((unsigned char)line[i]) && line[i] != '\t')
            return bad_header_line(h, line, len, "the value contains a control character");
    const char *value = line + name + 1;
    size_t value_len = len - name - 1;
    while (value_len > 0 && (value[0] == ' ' || value[0] == '\t'))
        value++, value_len--;
    while (value_len > 0 && (value[value_len - 1] == ' ' || value[value_len - 1] == '\t'))
        value_len--;
    if (name == 4 && strncasecmp(line, "Host", 4) == 0)
        h->have_host = true;
    if (name == 14 && strncasecmp(line, "Content-Length", 14) == 0)
        return check_content_length(h, value, value_len);
    return EM_HTTP_HEAD_INCOMPLETE;
}

/* The next line of buf[*pos, len): its length without CRLF (or a bare LF) in *line_len;
 * false when it has not ended yet. A CR not followed by LF stays in the line, where it
 * is refused as a control character. */
static bool next_line(const char *buf, size_t len, size_t *pos, const char **line, size_t *line_len)
{
    const char *start = buf + *pos;
    const char *lf = memchr(start, '\n', len - *pos);
    if (!lf)
        return false;
    size_t n = (size_t)(lf - start);
    *line = start;
    *line_len = n > 0 && start[n - 1] == '\r' ? n - 1 : n;
    *pos += n + 1;
    return true;
}

enum em_http_head em_http_head_check(const char *buf, size_t len, struct em_status *st)
{
    struct head h = {.st = st};
    size_t pos = 0;
    const char *line;
    size_t line_len;
    bool have_request_line = false;
    while (next_line(buf, len, &pos, &line, &line_len)) {
        enum em_http_head r = EM_HTTP_HEAD_INCOMPLETE;
        if (!have_request_line) {
            if (line_len == 0)
                continue; /* empty lines before the request line are skipped */
            have_request_line = true;
            r = check_request_line(&h, line, line_len);
        } else if (line_len == 0) {
            if (pos > EM_HTTP_MAX_HEADER) /* the wording of em_http's own check */
                return REFUSE(&h, 431, EM_INVALID_ARGUMENT,
                              "The request headers are too large: %zu bytes, at most %d are "
                              "accepted.",
                              pos, EM_HTTP_MAX_HEADER);
            if (h.minor >= 1 && !h.have_host)
                return REFUSE(&h, 400, EM_INVALID_ARGUMENT,
                              "HTTP/1.1 requests must have a Host header.");
            return EM_HTTP_HEAD_OK;
        } else {
            r = check_header_line(&h, line, line_len);
        }
        if (r != EM_HTTP_HEAD_INCOMPLETE)
            return r;
    }
    if (len <= EM_HTTP_MAX_HEADER)
        return EM_HTTP_HEAD_INCOMPLETE;
    if (!have_request_line)
        return REFUSE(&h, 414, EM_INVALID_ARGUMENT,
                      "The request URL is too long: over %d bytes, at most %d are accepted.",
                      EM_HTTP_MAX_URL, EM_HTTP_MAX_URL);
    return REFUSE(&h, 431, EM_INVALID_ARGUMENT,
                  "The request headers are too large: over %d bytes, at most %d are accepted.",
                  EM_HTTP_MAX_HEADER, EM_HTTP_MAX_HEADER);
}
