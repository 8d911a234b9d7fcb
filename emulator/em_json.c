/*
 * em_json: proto3 JSON value encodings (see em_json.h). Pure functions, no I/O.
 */
#include "em_json.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *em_b64_encode(const unsigned char *in, size_t len)
{
    size_t out_len = 4 * ((len + 2) / 3);
    char *out = malloc(out_len + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t chunk = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            chunk |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            chunk |= in[i + 2];
        out[o++] = b64_alphabet[(chunk >> 18) & 63];
        out[o++] = b64_alphabet[(chunk >> 12) & 63];
        out[o++] = i + 1 < len ? b64_alphabet[(chunk >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? b64_alphabet[chunk & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

/* Decoding table: 0-63 for both alphabets (standard and URL-safe), 64 for anything else. */
static unsigned char b64_table[256];
static pthread_once_t b64_once = PTHREAD_ONCE_INIT;

static void b64_table_init(void)
{
    memset(b64_table, 64, sizeof(b64_table));
    for (int i = 0; i < 64; i++)
        b64_table[(unsigned char)b64_alphabet[i]] = (unsigned char)i;
    b64_table['-'] = 62;
    b64_table['_'] = 63;
}

/* Length without trailing '=' padding, or (size_t)-1 when that length cannot be base64.
 * The characters are checked by the caller. */
static size_t b64_payload_length(const char *in, size_t inlen)
{
    pthread_once(&b64_once, b64_table_init);
    while (inlen > 0 && in[inlen - 1] == '=')
        inlen--;
    return inlen % 4 == 1 ? (size_t)-1 : inlen;
}

/* Whether every character of in[0, n) is in an alphabet: the table's values OR-ed
 * together have bit 64 only when one is not (no branch per character). */
static bool b64_chars_valid(const unsigned char *in, size_t n)
{
    unsigned char seen = 0;
    for (size_t i = 0; i < n; i++)
        seen |= b64_table[in[i]];
    return (seen & 64) == 0;
}

bool em_b64_valid(const char *in, size_t inlen)
{
    size_t n = b64_payload_length(in, inlen);
    return n != (size_t)-1 && b64_chars_valid((const unsigned char *)in, n);
}

bool em_b64_decode(const char *in, size_t inlen, unsigned char **out, size_t *outlen)
{
    size_t n = b64_payload_length(in, inlen);
    if (n == (size_t)-1)
        return false;
    unsigned char *buf = malloc(n * 3 / 4 + 1);
    if (!buf)
        return false;
    const unsigned char *p = (const unsigned char *)in;
    size_t o = 0, i = 0;
    unsigned char seen = 0; /* checked at the end: see b64_chars_valid */
    for (; i + 4 <= n; i += 4) {
        unsigned char a = b64_table[p[i]], b = b64_table[p[i + 1]], c = b64_table[p[i + 2]],
                      d = b64_table[p[i + 3]];
        seen |= a | b | c | d;
        uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | d;
        buf[o++] = (unsigned char)(v >> 16);
        buf[o++] = (unsigned char)(v >> 8);
        buf[o++] = (unsigned char)v;
    }
    if (!b64_chars_valid(p + i, n - i) || (seen & 64)) {
        free(buf);
        return false;
    }
    if (n - i >= 2) {
        uint32_t v = (uint32_t)b64_table[p[i]] << 18 | (uint32_t)b64_table[p[i + 1]] << 12;
        if (n - i == 3)
            v |= (uint32_t)b64_table[p[i + 2]] << 6;
        buf[o++] = (unsigned char)(v >> 16);
        if (n - i == 3)
            buf[o++] = (unsigned char)(v >> 8);
    }
    *out = buf;
    *outlen = o;
    return true;
}

int64_t em_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void em_civil_from_days(int64_t days, int64_t *y, int *m, int *d)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static void format_fraction(char *out, size_t len, int64_t nanos)
{
    if (nanos == 0)
        out[0] = '\0';
    else if (nanos % 1000000 == 0)
        snprintf(out, len, ".%03lld", (long long)(nanos / 1000000));
    else if (nanos % 1000 == 0)
        snprintf(out, len, ".%06lld", (long long)(nanos / 1000));
    else
        snprintf(out, len, ".%09lld", (long long)nanos);
}

void em_time_format(int64_t ns, char out[EM_TIME_TEXT_MAX])
{
    int64_t secs = ns / EM_NS_PER_SEC;
    int64_t nanos = ns % EM_NS_PER_SEC;
    if (nanos < 0) {
        nanos += EM_NS_PER_SEC;
        secs -= 1;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    char frac[12];
    format_fraction(frac, sizeof(frac), nanos);
    snprintf(out, EM_TIME_TEXT_MAX, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

static bool read_digits(const char **p, int count, int *value)
{
    int v = 0;
    for (int i = 0; i < count; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += count;
    *value = v;
    return true;
}

static bool expect_char(const char **p, char c)
{
    if (**p != c)
        return false;
    (*p)++;
    return true;
}

/* ".123456789" -> nanoseconds; advances *p past the digits. */
static bool read_fraction(const char **p, int64_t *nanos)
{
    *nanos = 0;
    if (**p != '.')
        return true;
    (*p)++;
    int digits = 0;
    int64_t scale = 100000000;
    while (isdigit((unsigned char)**p)) {
        if (digits++ >= 9)
            return false;
        *nanos += (**p - '0') * scale;
        scale /= 10;
        (*p)++;
    }
    return digits > 0;
}

static bool read_offset(const char **p, int *offset_seconds)
{
    *offset_seconds = 0;
    if (**p == 'Z' || **p == 'z') {
        (*p)++;
        return true;
    }
    char sign = **p;
    if (sign != '+' && sign != '-')
        return false;
    (*p)++;
    int hh, mm;
    if (!read_digits(p, 2, &hh) || !expect_char(p, ':') || !read_digits(p, 2, &mm))
        return false;
    *offset_seconds = (hh * 3600 + mm * 60) * (sign == '-' ? -1 : 1);
    return hh < 24 && mm < 60;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

bool em_time_parse(const char *text, int64_t *ns)
{
    const char *p = text;
    int y, mo, d, h, mi, s, offset;
    int64_t nanos;
    if (!read_digits(&p, 4, &y) || !expect_char(&p, '-') || !read_digits(&p, 2, &mo) ||
        !expect_char(&p, '-') || !read_digits(&p, 2, &d))
        return false;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return false;
    p++;
    if (!read_digits(&p, 2, &h) || !expect_char(&p, ':') || !read_digits(&p, 2, &mi) ||
        !expect_char(&p, ':') || !read_digits(&p, 2, &s) || !read_fraction(&p, &nanos) ||
        !read_offset(&p, &offset) || *p != '\0')
        return false;
    /* int64 nanoseconds cover 1677-09-21 to 2262-04-11: refuse what would overflow */
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 60 ||
        y < 1678 || y > 2261)
        return false;
    int64_t secs = em_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset;
    *ns = secs * EM_NS_PER_SEC + nanos;
    return true;
}

void em_duration_format(int64_t ns, char out[EM_TIME_TEXT_MAX])
{
    const char *sign = ns < 0 ? "-" : "";
    uint64_t abs_ns = ns < 0 ? (uint64_t)(-(ns + 1)) + 1 : (uint64_t)ns;
    char frac[12];
    format_fraction(frac, sizeof(frac), (int64_t)(abs_ns % EM_NS_PER_SEC));
    snprintf(out, EM_TIME_TEXT_MAX, "%s%llu%ss", sign, (unsigned long long)(abs_ns / EM_NS_PER_SEC),
             frac);
}

/* Durations longer than this (about 285 years) do not fit int64 nanoseconds. */
#define DURATION_MAX_SECONDS 9000000000LL

bool em_duration_parse(const char *text, int64_t *ns)
{
    const char *p = text;
    bool negative = false;
    if (*p == '-') {
        negative = true;
        p++;
    }
    if (!isdigit((unsigned char)*p))
        return false;
    int64_t secs = 0;
    while (isdigit((unsigned char)*p)) {
        secs = secs * 10 + (*p++ - '0');
        if (secs > DURATION_MAX_SECONDS)
            return false;
    }
    int64_t nanos;
    if (!read_fraction(&p, &nanos) || *p != 's' || p[1] != '\0')
        return false;
    int64_t total = secs * EM_NS_PER_SEC + nanos;
    *ns = negative ? -total : total;
    return true;
}

const char *em_json_string(const cJSON *obj, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

bool em_json_value_int64(const cJSON *value, int64_t *out)
{
    if (cJSON_IsNumber(value)) {
        double d = value->valuedouble;
        if (!(d > -9.2e18 && d < 9.2e18) || d != (double)(int64_t)d)
            return false;
        *out = (int64_t)d;
        return true;
    }
    if (!cJSON_IsString(value) || !value->valuestring[0])
        return false;
    errno = 0;
    char *end;
    long long v = strtoll(value->valuestring, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

bool em_json_int64(const cJSON *obj, const char *key, int64_t *out)
{
    return em_json_value_int64(cJSON_GetObjectItemCaseSensitive(obj, key), out);
}

bool em_json_bool(const cJSON *obj, const char *key, bool *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsBool(item))
        return false;
    *out = cJSON_IsTrue(item);
    return true;
}

void em_json_add_int64(cJSON *obj, const char *key, int64_t value)
{
    char text[24];
    snprintf(text, sizeof(text), "%lld", (long long)value);
    cJSON_AddStringToObject(obj, key, text);
}

void em_json_add_time(cJSON *obj, const char *key, int64_t ns)
{
    char text[EM_TIME_TEXT_MAX];
    em_time_format(ns, text);
    cJSON_AddStringToObject(obj, key, text);
}

void em_json_add_duration(cJSON *obj, const char *key, int64_t ns)
{
    char text[EM_TIME_TEXT_MAX];
    em_duration_format(ns, text);
    cJSON_AddStringToObject(obj, key, text);
}

void em_json_add_bytes(cJSON *obj, const char *key, const unsigned char *data, size_t len)
{
    char *text = em_b64_encode(data, len);
    cJSON_AddStringToObject(obj, key, text ? text : "");
    free(text);
}

char *em_json_print_free(cJSON *root)
{
    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}

/* --- text checks: UTF-8 and NUL --- */

size_t em_utf8_char(const unsigned char *s, size_t len, uint32_t *cp)
{
    unsigned char c = s[0];
    if (c <= 0x7F) {
        if (cp)
            *cp = c;
        return 1;
    }
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* past U+10FFFF */
    } else {
        return 0; /* a continuation byte, C0, C1 or F5..FF */
    }
    if (len < n || s[1] < lo || s[1] > hi)
        return 0;
    uint32_t value = c & (0x7Fu >> n);
    for (size_t i = 1; i < n; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
        value = (value << 6) | (s[i] & 0x3Fu);
    }
    if (cp)
        *cp = value;
    return n;
}

/* Whether the 8 bytes at s are all ASCII without NUL (0x01..0x7F): a byte of 0 borrows in
 * the subtraction and sets its top bit, a byte >= 0x80 has it set already. */
static bool ascii_word(const unsigned char *s)
{
    uint64_t w;
    memcpy(&w, s, sizeof(w));
    return ((w | (w - 0x0101010101010101ULL)) & 0x8080808080808080ULL) == 0;
}

bool em_utf8_valid(const char *text, size_t len, size_t *bad)
{
    const unsigned char *s = (const unsigned char *)text;
    for (size_t i = 0; i < len;) {
        if (len - i >= 8 && ascii_word(s + i)) { /* the common case, 8 bytes at a time */
            i += 8;
            continue;
        }
        size_t n = s[i] ? em_utf8_char(s + i, len - i, NULL) : 0;
        if (!n) {
            if (bad)
                *bad = i;
            return false;
        }
        i += n;
    }
    return true;
}

int em_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool em_json_has_nul_escape(const char *text, size_t len, size_t *at)
{
    if (!memchr(text, '\\', len)) /* no escape at all: the usual body */
        return false;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '"') {
            in_string = !in_string;
        } else if (in_string && text[i] == '\\' && i + 1 < len) {
            if (text[i + 1] == 'u' && i + 5 < len && em_hex_digit(text[i + 2]) == 0 &&
                em_hex_digit(text[i + 3]) == 0 && em_hex_digit(text[i + 4]) == 0 &&
                em_hex_digit(text[i + 5]) == 0) {
                if (at)
                    *at = i;
                return true;
            }
            i++; /* the escaped character, which may be a quote or a backslash */
        }
    }
    return false;
}
