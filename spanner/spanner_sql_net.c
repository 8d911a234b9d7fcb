/*
 * spanner_sql_net: GoogleSQL's NET functions, as SQLite user functions (registered by
 * sp_sql_functions_register; the translator types their arguments):
 *
 *   NET.HOST(url)              the host of a URL, read as Google reads it (below)
 *   NET.PUBLIC_SUFFIX(url)     its public suffix; NET.REG_DOMAIN(url) its registered domain
 *                              (spanner_public_suffix.h)
 *   NET.IP_FROM_STRING(text)   an IPv4 or IPv6 address to 4 or 16 bytes, as glibc's
 *                              inet_pton reads it (as Google: dotted decimal without
 *                              leading zeros, no zone, no prefix length), else OUT_OF_RANGE;
 *                              NET.SAFE_IP_FROM_STRING gives NULL instead
 *   NET.IP_TO_STRING(bytes)    4 or 16 bytes to text, as inet_ntop writes it
 *                              ("2001:db8::1", "::ffff:1.2.3.4")
 *   NET.IP_NET_MASK(n, bits)   a mask of n bytes (4 or 16), its first bits set
 *   NET.IP_TRUNC(bytes, bits)  an address (4 or 16 bytes) with all but its first bits clear
 *   NET.IPV4_FROM_INT64(i)     4 bytes, big-endian, of i in [-0x80000000, 0xFFFFFFFF]
 *   NET.IPV4_TO_INT64(bytes)   4 bytes, big-endian, to 0..0xFFFFFFFF
 *
 * A NULL argument gives NULL; the URL functions never fail, a URL without a host gives
 * NULL. Errors are "CODE: message" with Spanner's wording (spanner_sql_udf.h).
 *
 * NET.HOST reads a URL as Google does: ASCII white space around it is ignored; the host
 * starts after a leading "//", or else after a "scheme://" (the first ':' when two
 * slashes, '/' or '\', follow it), and after the last '@' (user info); it ends at the
 * first '/', '\', '?' or '#', and at the first ':' (a port) though not inside a "[...]" at
 * its start (an IPv6 literal, kept with its brackets). Leading dots are dropped, and
 * trailing dots but one. So "mailto:x@y.com" gives "y.com", "http:/x.com" "http", and
 * "a..." "a.". Case and non-ASCII characters are kept.
 *
 * Reference: https://cloud.google.com/spanner/docs/reference/standard-sql/net_functions
 */
#include "spanner_public_suffix.h"
#include "spanner_sql_functions.h"
#include "spanner_sql_udf.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

/* The most of an argument an error message quotes. */
#define QUOTE_MAX 200

/* The bytes of a STRING argument (call before any other read of v). */
static const char *text_arg(sqlite3_value *v, size_t *len)
{
    const char *text = (const char *)sqlite3_value_text(v);
    *len = (size_t)sqlite3_value_bytes(v);
    return text ? text : "";
}

/* The bytes of a BYTES argument (NULL when empty). */
static const unsigned char *bytes_arg(sqlite3_value *v, size_t *len)
{
    const unsigned char *data = sqlite3_value_blob(v);
    *len = (size_t)sqlite3_value_bytes(v);
    return data;
}

/* How many bytes of text an error message quotes: up to QUOTE_MAX, before any NUL, and
 * never part of a UTF-8 character. */
static int quoted_length(const char *text, size_t len)
{
    size_t n = 0;
    while (n < len && n < QUOTE_MAX && text[n])
        n++;
    while (n > 0 && n < len && ((unsigned char)text[n] & 0xC0) == 0x80)
        n--;
    return (int)n;
}

/* ---- URLs ---- */

static bool is_ascii_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static bool is_slash(char c)
{
    return c == '/' || c == '\\';
}

/* The start (after the scheme and the user info) and end (before the path, query or
 * fragment) of url's network location. */
static void network_location(const char *url, size_t len, size_t *start, size_t *end)
{
    size_t begin = 0, stop = len;
    while (begin < stop && is_ascii_space(url[begin]))
        begin++;
    while (stop > begin && is_ascii_space(url[stop - 1]))
        stop--;
    bool scheme_possible = true;
    if (stop - begin >= 2 && is_slash(url[begin]) && is_slash(url[begin + 1])) {
        begin += 2;
        scheme_possible = false;
    }
    for (size_t i = begin; i < stop; i++) {
        char c = url[i];
        if (is_slash(c) || c == '?' || c == '#') {
            stop = i;
            break;
        }
        if (c == ':' && scheme_possible) {
            if (stop - i > 2 && is_slash(url[i + 1]) && is_slash(url[i + 2])) {
                i += 2;
                begin = i + 1;
            }
            scheme_possible = false;
        } else if (c == '@') {
            begin = i + 1;
        }
    }
    *start = begin;
    *end = stop;
}

/* NET.HOST's part of url: from *start, *host_len bytes; false when it is empty. */
static bool url_host(const char *url, size_t len, size_t *start, size_t *host_len)
{
    size_t begin, end;
    network_location(url, len, &begin, &end);
    size_t port_from = begin;
    if (port_from < end && url[port_from] == '[') { /* past the closing bracket */
        while (++port_from < end)
            if (url[port_from] == '[' || url[port_from] == ']') {
                port_from++;
                break;
            }
    }
    const char *port = memchr(url + port_from, ':', end - port_from);
    if (port)
        end = (size_t)(port - url);
    while (begin < end && url[begin] == '.')
        begin++;
    while (end - begin >= 2 && url[end - 1] == '.' && url[end - 2] == '.')
        end--;
    *start = begin;
    *host_len = end - begin;
    return end > begin;
}

/* sp_net_host(url) */
static void fn_host(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    size_t len, start, host_len;
    const char *url = text_arg(argv[0], &len);
    if (url_host(url, len, &start, &host_len))
        sqlite3_result_text64(ctx, url + start, host_len, SQLITE_TRANSIENT, SQLITE_UTF8);
}

static void domain_part(sqlite3_context *ctx, sqlite3_value *url_value, enum sp_psl_part part)
{
    size_t len, start, host_len;
    const char *url = text_arg(url_value, &len);
    if (!url_host(url, len, &start, &host_len))
        return;
    const struct sp_psl *psl = sp_psl_system();
    if (!psl) {
        sp_fn_error(ctx, "INTERNAL: The public suffix list " SP_PSL_PATH
                         " (Debian's publicsuffix package) could not be read");
        return;
    }
    size_t offset;
    if (sp_psl_find(psl, url + start, host_len, part, &offset))
        sqlite3_result_text64(ctx, url + start + offset, host_len - offset, SQLITE_TRANSIENT,
                              SQLITE_UTF8);
}

/* sp_net_reg_domain(url) */
static void fn_reg_domain(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (!sp_fn_any_null(argc, argv))
        domain_part(ctx, argv[0], SP_PSL_REGISTERED_DOMAIN);
}

/* sp_net_public_suffix(url) */
static void fn_public_suffix(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (!sp_fn_any_null(argc, argv))
        domain_part(ctx, argv[0], SP_PSL_PUBLIC_SUFFIX);
}

/* ---- IP addresses ---- */

/* The address text names, in out: its length (4 or 16), or 0 when it names none. As
 * Google: text shorter than INET6_ADDRSTRLEN without a NUL, read as IPv4, else as IPv6. */
static size_t parse_ip(const char *text, size_t len, unsigned char out[16])
{
    char copy[INET6_ADDRSTRLEN];
    if (len >= sizeof(copy) || memchr(text, '\0', len))
        return 0;
    memcpy(copy, text, len);
    copy[len] = '\0';
    if (inet_pton(AF_INET, copy, out) == 1)
        return 4;
    if (inet_pton(AF_INET6, copy, out) == 1)
        return 16;
    return 0;
}

static void ip_from_string(sqlite3_context *ctx, sqlite3_value *text_value, bool null_if_bad)
{
    size_t len;
    const char *text = text_arg(text_value, &len);
    unsigned char address[16];
    size_t n = parse_ip(text, len, address);
    if (n)
        sqlite3_result_blob(ctx, address, (int)n, SQLITE_TRANSIENT);
    else if (!null_if_bad)
        SP_FN_ERROR(ctx,
                    "OUT_OF_RANGE: NET.IP_FROM_STRING() encountered an unparseable "
                    "IP-address: %.*s",
                    quoted_length(text, len), text);
}

/* sp_net_ip_from_string(text) */
static void fn_ip_from_string(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (!sp_fn_any_null(argc, argv))
        ip_from_string(ctx, argv[0], false);
}

/* sp_net_safe_ip_from_string(text) */
static void fn_safe_ip_from_string(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (!sp_fn_any_null(argc, argv))
        ip_from_string(ctx, argv[0], true);
}

/* Whether Google's address class keeps an IPv6 link-local scope ID in bits 32 to 63 of
 * this address (its first 32 bits are fe80:0 or ff02:0); it clears them before printing,
 * so fe80:0:0:1::1 prints as fe80::1. */
static bool has_scope_id_bits(const unsigned char address[16])
{
    static const unsigned char link_local[4] = {0xfe, 0x80, 0, 0};
    static const unsigned char multicast_link_local[4] = {0xff, 0x02, 0, 0};
    return memcmp(address, link_local, 4) == 0 || memcmp(address, multicast_link_local, 4) == 0;
}

/* sp_net_ip_to_string(bytes) */
static void fn_ip_to_string(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    size_t len;
    const unsigned char *ip = bytes_arg(argv[0], &len);
    if (len != 4 && len != 16) {
        SP_FN_ERROR(ctx,
                    "OUT_OF_RANGE: NET.IP_TO_STRING() encountered an invalid IP address. "
                    "Expected 4 (for IPv4) or 16 (for IPv6) bytes but got %zu",
                    len);
        return;
    }
    unsigned char address[16];
    memcpy(address, ip, len);
    if (len == 16 && has_scope_id_bits(address))
        memset(address + 4, 0, 4);
    char text[INET6_ADDRSTRLEN];
    if (!inet_ntop(len == 4 ? AF_INET : AF_INET6, address, text, sizeof(text))) {
        sp_fn_error(ctx, "INTERNAL: inet_ntop failed");
        return;
    }
    sqlite3_result_text(ctx, text, -1, SQLITE_TRANSIENT);
}

/* Byte i of a mask whose first bits are set. */
static unsigned char mask_byte(size_t i, int64_t bits)
{
    int64_t in_byte = bits - (int64_t)i * 8;
    return in_byte >= 8 ? 0xFF : in_byte <= 0 ? 0 : (unsigned char)(0xFF00u >> in_byte);
}

/* sp_net_ip_net_mask(length, bits) */
static void fn_ip_net_mask(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    int64_t length = sqlite3_value_int64(argv[0]), bits = sqlite3_value_int64(argv[1]);
    if (length != 4 && length != 16) {
        SP_FN_ERROR(ctx,
                    "OUT_OF_RANGE: The first argument of NET.IP_NET_MASK() must be either 4 "
                    "(for IPv4) or 16 (for IPv6); got %lld",
                    (long long)length);
        return;
    }
    if (bits < 0 || bits > length * 8) {
        SP_FN_ERROR(ctx,
                    "OUT_OF_RANGE: The second argument of NET.IP_NET_MASK() must be between 0 "
                    "and the first argument * 8; got %lld",
                    (long long)bits);
        return;
    }
    unsigned char mask[16];
    for (size_t i = 0; i < (size_t)length; i++)
        mask[i] = mask_byte(i, bits);
    sqlite3_result_blob(ctx, mask, (int)length, SQLITE_TRANSIENT);
}

/* sp_net_ip_trunc(address, bits) */
static void fn_ip_trunc(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    size_t len;
    const unsigned char *ip = bytes_arg(argv[0], &len);
    int64_t bits = sqlite3_value_int64(argv[1]);
    if (len != 4 && len != 16) {
        SP_FN_ERROR(ctx,
                    "OUT_OF_RANGE: The first argument of NET.IP_TRUNC() must have length 4 (for "
                    "IPv4) or 16 (for IPv6); got %zu",
                    len);
        return;
    }
    if (bits < 0 || bits > (int64_t)len * 8) {
        SP_FN_ERROR(ctx,
                    "OUT_OF_RANGE: The second argument of NET.IP_TRUNC() must be between 0 and 8 "
                    "* LENGTH(first argument); got %lld",
                    (long long)bits);
        return;
    }
    unsigned char address[16];
    for (size_t i = 0; i < len; i++)
        address[i] = ip[i] & mask_byte(i, bits);
    sqlite3_result_blob(ctx, address, (int)len, SQLITE_TRANSIENT);
}

/* sp_net_ipv4_from_int64(i) */
static void fn_ipv4_from_int64(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    int64_t value = sqlite3_value_int64(argv[0]);
    if (value < -0x80000000LL || value > 0xFFFFFFFFLL) {
        SP_FN_ERROR(ctx,
                    "OUT_OF_RANGE: NET.IPV4_FROM_INT64() encountered an invalid integer IP. "
                    "Expected range: [-0x80000000, 0xFFFFFFFF]; got %lld",
                    (long long)value);
        return;
    }
    uint32_t address = (uint32_t)value; /* a negative value: its 32 bits, two's complement */
    unsigned char out[4] = {(unsigned char)(address >> 24), (unsigned char)(address >> 16),
                            (unsigned char)(address >> 8), (unsigned char)address};
    sqlite3_result_blob(ctx, out, 4, SQLITE_TRANSIENT);
}

/* sp_net_ipv4_to_int64(bytes) */
static void fn_ipv4_to_int64(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    size_t len;
    const unsigned char *ip = bytes_arg(argv[0], &len);
    if (len != 4) {
        SP_FN_ERROR(ctx,
                    "OUT_OF_RANGE: NET.IPV4_TO_INT64() encountered a non-IPv4 address. Expected "
                    "4 bytes but got %zu",
                    len);
        return;
    }
    uint32_t address = (uint32_t)ip[0] << 24 | (uint32_t)ip[1] << 16 | (uint32_t)ip[2] << 8 | ip[3];
    sqlite3_result_int64(ctx, address);
}

int sp_sql_net_register(sqlite3 *db)
{
    static const struct sp_sql_scalar functions[] = {
        {"sp_net_host", 1, fn_host},
        {"sp_net_reg_domain", 1, fn_reg_domain},
        {"sp_net_public_suffix", 1, fn_public_suffix},
        {"sp_net_ip_from_string", 1, fn_ip_from_string},
        {"sp_net_safe_ip_from_string", 1, fn_safe_ip_from_string},
        {"sp_net_ip_to_string", 1, fn_ip_to_string},
        {"sp_net_ip_net_mask", 2, fn_ip_net_mask},
        {"sp_net_ip_trunc", 2, fn_ip_trunc},
        {"sp_net_ipv4_from_int64", 1, fn_ipv4_from_int64},
        {"sp_net_ipv4_to_int64", 1, fn_ipv4_to_int64},
    };
    return sp_sql_register_scalars(db, functions, sizeof(functions) / sizeof(functions[0]));
}
