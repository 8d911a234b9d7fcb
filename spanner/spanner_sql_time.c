/*
 * spanner_sql_time: the GoogleSQL date and time functions that format, parse and
 * truncate, as SQLite user functions (registered by sp_sql_functions_register):
 *
 *   sp_timestamp_trunc(ts, part, zone)   TIMESTAMP_TRUNC
 *   sp_date_trunc(date, part)            DATE_TRUNC
 *   sp_format_timestamp(fmt, ts, zone)   FORMAT_TIMESTAMP
 *   sp_format_date(fmt, date)            FORMAT_DATE
 *   sp_parse_timestamp(fmt, text, zone)  PARSE_TIMESTAMP
 *   sp_parse_date(fmt, text)             PARSE_DATE
 *   and the conversions: DATE(), TIMESTAMP(), CASTs between DATE, TIMESTAMP and STRING,
 *   EXTRACT from a TIMESTAMP, UNIX_*, TIMESTAMP_SECONDS/MILLIS/MICROS, DATE_FROM_UNIX_DATE
 *
 * Time zones (em_tz): UTC, fixed offsets ("+05:30", "UTC-8") and the tz database's
 * names, with Spanner's default zone (America/Los_Angeles) when the call names none. A NULL zone
 * argument means "the call named none". Formats: the strftime directives, plus GoogleSQL's %Ez
 * (+hh:mm), %E<n>S and %E*S (seconds with n or all fraction digits), %E4Y (a 4-digit year),
 * %Q (quarter), %s (epoch seconds) and %Z (the zone); parsing reads %j (the day of the year)
 * itself and %c %x %X %r as strptime reads them in the C locale.
 */
#include "spanner_sql_functions.h"
#include "spanner_sql_udf.h"

#include "spanner_sql_mem.h"
#include "em_tz.h"
#include "spanner_value.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SECONDS_PER_DAY 86400LL
#define MIN_DAYS        (-719162LL) /* 0001-01-01 */
#define MAX_DAYS        (2932896LL) /* 9999-12-31 */

/* A civil time: the fields of one instant read in a zone at a UTC offset. */
struct civil {
    int64_t year;
    unsigned month, day;
    int hour, minute, second;
    int32_t nanos;
    int64_t days; /* since 1970-01-01 */
    int offset;   /* seconds east of UTC */
};

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* The zone of a call's zone argument (NULL: Spanner's default zone); false (and the
 * error set) when there is no such zone. */
static bool zone_of(sqlite3_context *ctx, sqlite3_value *zone_value, struct em_zone *zone)
{
    const char *name = sqlite3_value_type(zone_value) == SQLITE_NULL
                           ? NULL
                           : (const char *)sqlite3_value_text(zone_value);
    if (em_zone_find(name ? name : SP_TZ_DEFAULT, zone))
        return true;
    SP_FN_ERROR(ctx, "OUT_OF_RANGE: Invalid time zone: %.100s", name ? name : SP_TZ_DEFAULT);
    return false;
}

static struct civil civil_of(const struct sp_timestamp *ts, int offset)
{
    struct civil c = {0};
    int64_t local = ts->seconds + offset;
    c.days = floor_div(local, SECONDS_PER_DAY);
    int64_t in_day = local - c.days * SECONDS_PER_DAY;
    sp_civil_from_days(c.days, &c.year, &c.month, &c.day);
    c.hour = (int)(in_day / 3600);
    c.minute = (int)(in_day / 60 % 60);
    c.second = (int)(in_day % 60);
    c.nanos = ts->nanos;
    c.offset = offset;
    return c;
}

/* ts read in zone. */
static struct civil civil_in(const struct sp_timestamp *ts, const struct em_zone *zone)
{
    return civil_of(ts, em_zone_offset_at(zone, ts->seconds));
}

static bool timestamp_of(sqlite3_context *ctx, sqlite3_value *v, struct sp_timestamp *ts)
{
    bool missing_zone;
    const char *key = (const char *)sqlite3_value_text(v);
    if (key && sp_timestamp_parse(key, ts, &missing_zone))
        return true;
    sp_fn_error(ctx, "INTERNAL: a TIMESTAMP value is not in its storage form");
    return false;
}

/* A call's TIMESTAMP argument and zone argument; false when the timestamp is NULL (the
 * result stays NULL) or either is wrong (the error set). */
static bool zoned_timestamp(sqlite3_context *ctx, sqlite3_value *ts_arg, sqlite3_value *zone_arg,
                            struct sp_timestamp *ts, struct em_zone *zone)
{
    return sqlite3_value_type(ts_arg) != SQLITE_NULL && timestamp_of(ctx, ts_arg, ts) &&
           zone_of(ctx, zone_arg, zone);
}

static bool date_of(sqlite3_context *ctx, sqlite3_value *v, int64_t *days)
{
    const char *text = (const char *)sqlite3_value_text(v);
    if (text && sp_date_parse(text, days))
        return true;
    sp_fn_error(ctx, "INTERNAL: a DATE value is not in its storage form");
    return false;
}

static void timestamp_result(sqlite3_context *ctx, const struct sp_timestamp *ts)
{
    if (ts->seconds < MIN_DAYS * SECONDS_PER_DAY ||
        ts->seconds >= (MAX_DAYS + 1) * SECONDS_PER_DAY) {
        sp_fn_error(ctx, "OUT_OF_RANGE: Timestamp is out of the supported range");
        return;
    }
    char key[SP_TIMESTAMP_KEY_LEN + 1];
    sp_timestamp_encode(ts, key);
    sqlite3_result_text(ctx, key, SP_TIMESTAMP_KEY_LEN, SQLITE_TRANSIENT);
}

static void date_result(sqlite3_context *ctx, int64_t days)
{
    if (days < MIN_DAYS || days > MAX_DAYS) {
        sp_fn_error(ctx, "OUT_OF_RANGE: Date is out of the supported range");
        return;
    }
    char text[SP_DATE_TEXT_LEN + 1];
    sp_date_format(days, text);
    sqlite3_result_text(ctx, text, SP_DATE_TEXT_LEN, SQLITE_TRANSIENT);
}

/* ---- truncation ---- */

/* The first day of the date part (DAY, WEEK, ISOWEEK, MONTH, QUARTER, YEAR, ISOYEAR) holding days;
 * false for another part. */
static bool trunc_days(int64_t days, const char *part, int64_t *out)
{
    int64_t year;
    unsigned month, day;
    sp_civil_from_days(days, &year, &month, &day);
    int64_t weekday = floor_div(days + 4, 7) * 7 - 4; /* the Sunday on or before */
    if (strcmp(part, "DAY") == 0)
        *out = days;
    else if (strcmp(part, "WEEK") == 0)
        *out = weekday;
    else if (strcmp(part, "ISOWEEK") == 0)
        *out = floor_div(days + 3, 7) * 7 - 3; /* the Monday on or before */
    else if (strcmp(part, "MONTH") == 0)
        *out = sp_days_from_civil(year, month, 1);
    else if (strcmp(part, "QUARTER") == 0)
        *out = sp_days_from_civil(year, (month - 1) / 3 * 3 + 1, 1);
    else if (strcmp(part, "YEAR") == 0)
        *out = sp_days_from_civil(year, 1, 1);
    else if (strcmp(part, "ISOYEAR") == 0)
        *out = sp_iso_year_start(sp_iso_year(days, NULL));
    else
        return false;
    return true;
}

static void fn_date_trunc(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    int64_t days, first;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL || !date_of(ctx, argv[0], &days))
        return;
    const char *part = (const char *)sqlite3_value_text(argv[1]);
    if (!trunc_days(days, part, &first)) {
        SP_FN_ERROR(ctx, "INVALID_ARGUMENT: Unsupported date part %s in function DATE_TRUNC", part);
        return;
    }
    date_result(ctx, first);
}

/* Nanoseconds in a part below DAY, else 0. */
static int64_t sub_day_nanos(const char *part)
{
    static const struct {
        const char *part;
        int64_t nanos;
    } parts[] = {{"NANOSECOND", 1},      {"MICROSECOND", 1000},     {"MILLISECOND", 1000000},
                 {"SECOND", 1000000000}, {"MINUTE", 60000000000LL}, {"HOUR", 3600000000000LL}};
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
        if (strcmp(parts[i].part, part) == 0)
            return parts[i].nanos;
    return 0;
}

static void fn_timestamp_trunc(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    struct sp_timestamp ts;
    struct em_zone zone;
    if (!zoned_timestamp(ctx, argv[0], argv[2], &ts, &zone))
        return;
    const char *part = (const char *)sqlite3_value_text(argv[1]);
    int64_t unit = sub_day_nanos(part);
    struct civil c = civil_in(&ts, &zone);
    int64_t local = c.days * SECONDS_PER_DAY + c.hour * 3600 + c.minute * 60 + c.second;
    struct sp_timestamp out = {0, 0};
    if (unit) {
        __int128 nanos = (__int128)local * 1000000000 + ts.nanos;
        nanos -= (nanos % unit + unit) % unit;
        int64_t seconds = (int64_t)(nanos / 1000000000);
        out.nanos = (int32_t)(nanos - (__int128)seconds * 1000000000);
        out.seconds = seconds - c.offset; /* a repeated hour stays itself, as in Spanner */
        timestamp_result(ctx, &out);
        return;
    }
    int64_t first;
    if (!trunc_days(c.days, part, &first)) {
        SP_FN_ERROR(ctx, "INVALID_ARGUMENT: Unsupported date part %s in function TIMESTAMP_TRUNC",
                    part);
        return;
    }
    out.seconds = em_zone_to_utc(&zone, first * SECONDS_PER_DAY);
    timestamp_result(ctx, &out);
}

/* ---- formatting ---- */

static struct tm tm_of(const struct civil *c)
{
    struct tm tm = {0};
    tm.tm_year = (int)(c->year - 1900);
    tm.tm_mon = (int)c->month - 1;
    tm.tm_mday = (int)c->day;
    tm.tm_hour = c->hour;
    tm.tm_min = c->minute;
    tm.tm_sec = c->second;
    tm.tm_wday = (int)(floor_div(c->days + 4, 7) * -7 + c->days + 4);
    tm.tm_yday = (int)(c->days - sp_days_from_civil(c->year, 1, 1));
    return tm;
}

static void append_offset(struct sp_buf *out, int offset, bool colon)
{
    int magnitude = offset < 0 ? -offset : offset;
    sp_buf_printf(out, "%c%02d%s%02d", offset < 0 ? '-' : '+', magnitude / 3600, colon ? ":" : "",
                  magnitude / 60 % 60);
}

/* Seconds with digits fraction digits (-1: as many as needed, none for a whole second). */
static void append_seconds(struct sp_buf *out, const struct civil *c, int digits)
{
    char fraction[16];
    snprintf(fraction, sizeof(fraction), "%09d", (int)c->nanos);
    int n = digits;
    if (n < 0)
        for (n = 9; n > 0 && fraction[n - 1] == '0'; n--)
            ;
    sp_buf_printf(out, "%02d", c->second);
    if (n > 0)
        sp_buf_printf(out, ".%.*s", n > 9 ? 9 : n, fraction);
}

/* strftime of one known directive ("%Y"): the format is two characters from the list
 * format_directive checks, never user text. */
static size_t strftime_one(char *out, size_t size, char directive, const struct tm *tm)
{
    char fmt[3] = {'%', directive, '\0'};
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    return strftime(out, size, fmt, tm);
#pragma GCC diagnostic pop
}

/* One directive at *p (past the '%'); false for one this emulator does not know. */
static bool format_directive(struct sp_buf *out, const char **p, const struct civil *c,
                             const struct tm *tm)
{
    const char *d = *p;
    if (d[0] == 'E' && d[1] == 'z') {
        append_offset(out, c->offset, true);
        *p += 2;
    } else if (d[0] == 'E' && d[1] == '*' && d[2] == 'S') {
        append_seconds(out, c, -1);
        *p += 3;
    } else if (d[0] == 'E' && isdigit((unsigned char)d[1]) && d[2] == 'S') {
        append_seconds(out, c, d[1] - '0');
        *p += 3;
    } else if (d[0] == 'z') {
        append_offset(out, c->offset, false);
        *p += 1;
    } else if (d[0] == 'Z') { /* "UTC", "UTC-8", "UTC+0530" */
        int magnitude = c->offset < 0 ? -c->offset : c->offset;
        sp_buf_puts(out, "UTC");
        if (magnitude % 3600 / 60)
            sp_buf_printf(out, "%c%02d%02d", c->offset < 0 ? '-' : '+', magnitude / 3600,
                          magnitude % 3600 / 60);
        else if (magnitude)
            sp_buf_printf(out, "%c%d", c->offset < 0 ? '-' : '+', magnitude / 3600);
        *p += 1;
    } else if (d[0] == 'E' && d[1] == '4' && d[2] == 'Y') { /* the year in 4 digits */
        sp_buf_printf(out, "%04lld", (long long)c->year);
        *p += 3;
    } else if (d[0] == 'Q') {
        sp_buf_printf(out, "%u", (c->month - 1) / 3 + 1);
        *p += 1;
    } else if (d[0] == 's') {
        sp_buf_printf(out, "%lld",
                      (long long)(c->days * SECONDS_PER_DAY + c->hour * 3600 + c->minute * 60 +
                                  c->second - c->offset));
        *p += 1;
    } else if (d[0] && strchr("aAbBcCdDeFgGhHIjklmMnpPrRStTuUVwWxXyY%", d[0])) {
        char text[128];
        size_t n = strftime_one(text, sizeof(text), d[0], tm);
        sp_buf_append(out, text, n);
        *p += 1;
    } else {
        return false;
    }
    return true;
}

/* The length of a time-of-day element at d (past the '%'): "H", "Ez", "E3S" ...; 0 for a
 * date element. FORMAT_DATE copies those as they are, as Spanner does. */
static size_t time_element(const char *d)
{
    if (d[0] == 'E')
        return d[1] == 'z'                                                    ? 2
               : (d[1] == '*' || isdigit((unsigned char)d[1])) && d[2] == 'S' ? 3
                                                                              : 0;
    return d[0] && strchr("cHIklMpPrRsSTXzZ", d[0]) ? 1 : 0;
}

static void format_civil(sqlite3_context *ctx, const char *fmt, const struct civil *c,
                         const char *function)
{
    bool date_only = strcmp(function, "FORMAT_DATE") == 0;
    struct tm tm = tm_of(c);
    struct sp_buf out = {0};
    for (const char *p = fmt; *p;) {
        const char *percent = strchr(p, '%');
        size_t plain = percent ? (size_t)(percent - p) : strlen(p);
        sp_buf_append(&out, p, plain);
        if (!percent)
            break;
        p = percent + 1;
        size_t time_len = date_only ? time_element(p) : 0;
        if (time_len) {
            sp_buf_append(&out, percent, time_len + 1);
            p += time_len;
        } else if (!format_directive(&out, &p, c, &tm)) {
            SP_FN_ERROR(ctx,
                        "UNIMPLEMENTED: Format element %%%.2s in %s is not supported by this "
                        "emulator",
                        p, function);
            sp_buf_free(&out);
            return;
        }
    }
    if (out.failed)
        sqlite3_result_error_nomem(ctx);
    else
        sqlite3_result_text(ctx, out.data ? out.data : "", (int)out.len, SQLITE_TRANSIENT);
    sp_buf_free(&out);
}

static void fn_format_timestamp(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    struct sp_timestamp ts;
    struct em_zone zone;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL ||
        !zoned_timestamp(ctx, argv[1], argv[2], &ts, &zone))
        return;
    struct civil c = civil_in(&ts, &zone);
    format_civil(ctx, (const char *)sqlite3_value_text(argv[0]), &c, "FORMAT_TIMESTAMP");
}

static void fn_format_date(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    int64_t days;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL || sqlite3_value_type(argv[1]) == SQLITE_NULL ||
        !date_of(ctx, argv[1], &days))
        return;
    struct sp_timestamp midnight = {days * SECONDS_PER_DAY, 0};
    struct civil c = civil_of(&midnight, 0);
    format_civil(ctx, (const char *)sqlite3_value_text(argv[0]), &c, "FORMAT_DATE");
}

/* ---- conversions in a zone ---- */

/* sp_timestamp_date(ts, zone): DATE(ts [, zone]), CAST(ts AS DATE), EXTRACT(DATE FROM ts). */
static void fn_timestamp_date(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    struct sp_timestamp ts;
    struct em_zone zone;
    if (!zoned_timestamp(ctx, argv[0], argv[1], &ts, &zone))
        return;
    date_result(ctx, civil_in(&ts, &zone).days);
}

/* sp_date_timestamp(date, zone): the date's midnight in the zone (CAST(date AS TIMESTAMP)). */
static void fn_date_timestamp(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    int64_t days;
    struct em_zone zone;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL || !date_of(ctx, argv[0], &days) ||
        !zone_of(ctx, argv[1], &zone))
        return;
    struct sp_timestamp ts = {em_zone_to_utc(&zone, days * SECONDS_PER_DAY), 0};
    timestamp_result(ctx, &ts);
}

/* sp_timestamp_string(ts, zone): CAST(ts AS STRING), "2020-01-01 02:00:00.250-08" (the
 * fraction in 3, 6 or 9 digits, none for a whole second; the offset's minutes only when
 * not zero). */
static void fn_timestamp_string(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    struct sp_timestamp ts;
    struct em_zone zone;
    if (!zoned_timestamp(ctx, argv[0], argv[1], &ts, &zone))
        return;
    struct civil c = civil_in(&ts, &zone);
    struct sp_buf out = {0};
    sp_buf_printf(&out, "%04lld-%02u-%02u %02d:%02d:", (long long)c.year, c.month, c.day, c.hour,
                  c.minute);
    append_seconds(&out, &c,
                   c.nanos == 0             ? 0
                   : c.nanos % 1000000 == 0 ? 3
                   : c.nanos % 1000 == 0    ? 6
                                            : 9);
    int magnitude = c.offset < 0 ? -c.offset : c.offset;
    sp_buf_printf(&out, "%c%02d", c.offset < 0 ? '-' : '+', magnitude / 3600);
    if (magnitude / 60 % 60)
        sp_buf_printf(&out, ":%02d", magnitude / 60 % 60);
    if (out.failed)
        sqlite3_result_error_nomem(ctx);
    else
        sqlite3_result_text(ctx, out.data, (int)out.len, SQLITE_TRANSIENT);
    sp_buf_free(&out);
}

/* sp_timestamp_part(part, ts, zone): EXTRACT of HOUR, MINUTE, SECOND, MILLISECOND,
 * MICROSECOND or NANOSECOND from ts read in the zone. */
static void fn_timestamp_part(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    struct sp_timestamp ts;
    struct em_zone zone;
    if (!zoned_timestamp(ctx, argv[1], argv[2], &ts, &zone))
        return;
    const char *part = (const char *)sqlite3_value_text(argv[0]);
    struct civil c = civil_in(&ts, &zone);
    long long value = strcmp(part, "HOUR") == 0          ? c.hour
                      : strcmp(part, "MINUTE") == 0      ? c.minute
                      : strcmp(part, "SECOND") == 0      ? c.second
                      : strcmp(part, "MILLISECOND") == 0 ? c.nanos / 1000000
                      : strcmp(part, "MICROSECOND") == 0 ? c.nanos / 1000
                                                         : c.nanos;
    sqlite3_result_int64(ctx, value);
}

/* ---- DATE(), TIMESTAMP() and the Unix epoch ---- */

/* sp_date_ymd(year, month, day): DATE(year, month, day). */
static void fn_date_ymd(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    for (int i = 0; i < argc; i++)
        if (sqlite3_value_type(argv[i]) == SQLITE_NULL)
            return;
    sqlite3_int64 y = sqlite3_value_int64(argv[0]), m = sqlite3_value_int64(argv[1]),
                  d = sqlite3_value_int64(argv[2]);
    int64_t days = 0, year = 0;
    unsigned month = 0, day = 0;
    if (y >= 1 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= 31) {
        days = sp_days_from_civil(y, (unsigned)m, (unsigned)d);
        sp_civil_from_days(days, &year, &month, &day);
    }
    if (year != y || month != m || day != d) {
        SP_FN_ERROR(ctx, "OUT_OF_RANGE: Input calculates to invalid date: %04lld-%02lld-%02lld",
                    (long long)y, (long long)m, (long long)d);
        return;
    }
    date_result(ctx, days);
}

/* sp_string_timestamp(text, zone): TIMESTAMP(text [, zone]); a text naming its own zone
 * takes no zone argument. */
static void fn_string_timestamp(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    struct em_zone zone;
    struct sp_timestamp ts;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL || !zone_of(ctx, argv[1], &zone))
        return;
    const char *text = (const char *)sqlite3_value_text(argv[0]);
    const char *name = sqlite3_value_type(argv[1]) == SQLITE_NULL
                           ? NULL
                           : (const char *)sqlite3_value_text(argv[1]);
    bool named = false, missing_zone; /* with a zone argument, a text naming one is refused */
    if (name)
        named = sp_timestamp_parse(text, &ts, &missing_zone) || !missing_zone;
    if (named || !sp_timestamp_parse_text(text, name, &ts)) {
        SP_FN_ERROR(ctx, "OUT_OF_RANGE: Invalid timestamp: '%.200s'", text);
        return;
    }
    timestamp_result(ctx, &ts);
}

/* sp_unix(ts, unit): UNIX_SECONDS, UNIX_MILLIS, UNIX_MICROS (unit in nanoseconds; whole
 * units since the epoch, rounded down). */
static void fn_unix(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    struct sp_timestamp ts;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL || !timestamp_of(ctx, argv[0], &ts))
        return;
    __int128 nanos = (__int128)ts.seconds * 1000000000 + ts.nanos;
    int64_t unit = sqlite3_value_int64(argv[1]);
    sqlite3_result_int64(ctx, (sqlite3_int64)((nanos - ((nanos % unit) + unit) % unit) / unit));
}

/* sp_unix_date(date): days since 1970-01-01. */
static void fn_unix_date(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    int64_t days;
    if (sqlite3_value_type(argv[0]) != SQLITE_NULL && date_of(ctx, argv[0], &days))
        sqlite3_result_int64(ctx, days);
}

/* sp_from_unix(n, unit): TIMESTAMP_SECONDS/MILLIS/MICROS (unit in nanoseconds), and with
 * unit 0 DATE_FROM_UNIX_DATE. */
static void fn_from_unix(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
        return;
    sqlite3_int64 n = sqlite3_value_int64(argv[0]), unit = sqlite3_value_int64(argv[1]);
    if (unit == 0) {
        date_result(ctx, n);
        return;
    }
    __int128 nanos = (__int128)n * unit;
    __int128 seconds = nanos / 1000000000 - (nanos % 1000000000 < 0);
    if (seconds < MIN_DAYS * SECONDS_PER_DAY || seconds >= (MAX_DAYS + 1) * SECONDS_PER_DAY) {
        sp_fn_error(ctx, "OUT_OF_RANGE: Timestamp is out of the supported range");
        return;
    }
    struct sp_timestamp ts = {(int64_t)seconds, (int32_t)(nanos - seconds * 1000000000)};
    timestamp_result(ctx, &ts);
}

/* ---- parsing ---- */

struct parsed {
    struct tm tm;
    int32_t nanos;
    bool has_offset;
    int offset;
    bool has_epoch;
    long long epoch;
    int yday; /* %j: the day of the year, 1 to 366 (0: none) */
};

/* Reads an offset "+hh[:]mm" or "Z" at *s. */
static bool parse_offset(const char **s, int *offset)
{
    const char *p = *s;
    if (*p == 'Z') {
        *offset = 0;
        *s = p + 1;
        return true;
    }
    if ((*p != '+' && *p != '-') || !isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]))
        return false;
    int sign = *p == '-' ? -1 : 1;
    int hours = (p[1] - '0') * 10 + (p[2] - '0'), minutes = 0;
    p += 3;
    if (*p == ':')
        p++;
    if (isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1])) {
        minutes = (p[0] - '0') * 10 + (p[1] - '0');
        p += 2;
    }
    *offset = sign * (hours * 3600 + minutes * 60);
    *s = p;
    return hours <= 14 && minutes < 60;
}

/* Seconds with an optional fraction of up to max_digits digits (9 for %E*S). */
static bool parse_seconds(const char **s, struct parsed *out, int max_digits)
{
    const char *p = *s;
    if (!isdigit((unsigned char)*p))
        return false;
    int seconds = 0;
    for (int i = 0; i < 2 && isdigit((unsigned char)*p); i++)
        seconds = seconds * 10 + (*p++ - '0');
    out->tm.tm_sec = seconds;
    if (*p == '.' && max_digits > 0 && isdigit((unsigned char)p[1])) {
        p++;
        int32_t nanos = 0, scale = 100000000;
        for (int i = 0; isdigit((unsigned char)*p); i++, p++) {
            if (i >= max_digits)
                return false;
            nanos += (int32_t)(*p - '0') * scale;
            scale /= 10;
        }
        out->nanos = nanos;
    }
    *s = p;
    return seconds < 60;
}

/* One directive at *f (past the '%') against the input at *s. */
static bool parse_directive(const char **f, const char **s, struct parsed *out)
{
    const char *d = *f;
    if (d[0] == 'E' && d[1] == 'z') {
        *f += 2;
        return (out->has_offset = parse_offset(s, &out->offset));
    }
    if (d[0] == 'z') {
        *f += 1;
        return (out->has_offset = parse_offset(s, &out->offset));
    }
    if (d[0] == 'E' && (d[1] == '*' || isdigit((unsigned char)d[1])) && d[2] == 'S') {
        *f += 3;
        return parse_seconds(s, out, d[1] == '*' ? 9 : d[1] - '0');
    }
    if (d[0] == 'S') {
        *f += 1;
        return parse_seconds(s, out, 0);
    }
    if (d[0] == 'j') { /* strptime keeps a %j day apart from the month and day: read it here */
        const char *p = *s;
        int yday = 0;
        for (int i = 0; i < 3 && isdigit((unsigned char)*p); i++)
            yday = yday * 10 + (*p++ - '0');
        *f += 1;
        if (p == *s || yday < 1 || yday > 366)
            return false;
        out->yday = yday;
        *s = p;
        return true;
    }
    if (d[0] == 's') {
        char *end;
        out->epoch = strtoll(*s, &end, 10);
        *f += 1;
        out->has_epoch = end != *s;
        *s = end;
        return out->has_epoch;
    }
    if (!d[0] || !strchr("aAbBcdDeFhHImMnprRtTxXyY%", d[0]))
        return false;
    char fmt[3] = {'%', d[0], '\0'};
    const char *rest = strptime(*s, fmt, &out->tm);
    *f += 1;
    if (!rest)
        return false;
    *s = rest;
    return true;
}

/* Parses text with fmt; *unsupported set for a directive this emulator does not know. */
static bool parse_civil(const char *fmt, const char *text, struct parsed *out, bool *unsupported)
{
    memset(out, 0, sizeof(*out));
    out->tm.tm_year = 70;
    out->tm.tm_mday = 1;
    *unsupported = false;
    const char *s = text;
    for (const char *f = fmt; *f;) {
        if (isspace((unsigned char)*f)) {
            while (isspace((unsigned char)*s))
                s++;
            f++;
        } else if (*f != '%') {
            if (*s++ != *f++)
                return false;
        } else {
            f++;
            char directive = *f;
            if (!parse_directive(&f, &s, out)) {
                *unsupported = directive && !strchr("aAbBcdDeFhHIjmMnprRtTxXyYzESs%", directive);
                return false;
            }
        }
    }
    while (isspace((unsigned char)*s))
        s++;
    return *s == '\0';
}

/* The days of the parsed date, checking the day exists in its month. */
static bool parsed_days(const struct parsed *p, int64_t *days)
{
    int64_t year = (int64_t)p->tm.tm_year + 1900;
    if (p->yday) { /* %j: within its year */
        *days = sp_days_from_civil(year, 1, 1) + p->yday - 1;
        return *days < sp_days_from_civil(year + 1, 1, 1);
    }
    unsigned month = (unsigned)p->tm.tm_mon + 1, day = (unsigned)p->tm.tm_mday;
    *days = sp_days_from_civil(year, month, day);
    int64_t y;
    unsigned m, dd;
    sp_civil_from_days(*days, &y, &m, &dd);
    return y == year && m == month && dd == day;
}

static void parse_failed(sqlite3_context *ctx, const char *fmt, const char *text, bool unsupported,
                         const char *function)
{
    if (unsupported)
        SP_FN_ERROR(ctx,
                    "UNIMPLEMENTED: A format element of \"%.100s\" in %s is not supported by "
                    "this emulator",
                    fmt, function);
    else
        SP_FN_ERROR(ctx, "OUT_OF_RANGE: Failed to parse input string \"%.200s\"", text);
}

static void fn_parse_timestamp(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL || sqlite3_value_type(argv[1]) == SQLITE_NULL)
        return;
    const char *fmt = (const char *)sqlite3_value_text(argv[0]);
    const char *text = (const char *)sqlite3_value_text(argv[1]);
    struct parsed p;
    bool unsupported;
    int64_t days;
    if (!parse_civil(fmt, text, &p, &unsupported) || !parsed_days(&p, &days)) {
        parse_failed(ctx, fmt, text, unsupported, "PARSE_TIMESTAMP");
        return;
    }
    struct em_zone zone = {p.offset, NULL};
    if (!p.has_offset && !p.has_epoch && !zone_of(ctx, argv[2], &zone))
        return;
    int64_t local = days * SECONDS_PER_DAY + p.tm.tm_hour * 3600 + p.tm.tm_min * 60 + p.tm.tm_sec;
    struct sp_timestamp ts = {em_zone_to_utc(&zone, local), p.nanos};
    if (p.has_epoch)
        ts = (struct sp_timestamp){p.epoch, 0};
    timestamp_result(ctx, &ts);
}

static void fn_parse_date(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL || sqlite3_value_type(argv[1]) == SQLITE_NULL)
        return;
    const char *fmt = (const char *)sqlite3_value_text(argv[0]);
    const char *text = (const char *)sqlite3_value_text(argv[1]);
    struct parsed p;
    bool unsupported;
    int64_t days;
    if (!parse_civil(fmt, text, &p, &unsupported) || !parsed_days(&p, &days)) {
        parse_failed(ctx, fmt, text, unsupported, "PARSE_DATE");
        return;
    }
    date_result(ctx, days);
}

int sp_sql_time_functions_register(sqlite3 *db)
{
    static const struct sp_sql_scalar functions[] = {
        {"sp_timestamp_trunc", 3, fn_timestamp_trunc},
        {"sp_date_trunc", 2, fn_date_trunc},
        {"sp_format_timestamp", 3, fn_format_timestamp},
        {"sp_format_date", 2, fn_format_date},
        {"sp_parse_timestamp", 3, fn_parse_timestamp},
        {"sp_parse_date", 2, fn_parse_date},
        {"sp_timestamp_date", 2, fn_timestamp_date},
        {"sp_date_timestamp", 2, fn_date_timestamp},
        {"sp_timestamp_string", 2, fn_timestamp_string},
        {"sp_timestamp_part", 3, fn_timestamp_part},
        {"sp_date_ymd", 3, fn_date_ymd},
        {"sp_string_timestamp", 2, fn_string_timestamp},
        {"sp_unix", 2, fn_unix},
        {"sp_unix_date", 1, fn_unix_date},
        {"sp_from_unix", 2, fn_from_unix},
    };
    return sp_sql_register_scalars(db, functions, sizeof(functions) / sizeof(functions[0]));
}
