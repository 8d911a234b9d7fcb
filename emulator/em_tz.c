/*
 * em_tz: time zones, fixed offsets and the tz database's compiled zone files (see
 * em_tz.h). The file format is RFC 8536 (TZif): transition times, the local time
 * types they switch to (offset, DST flag, abbreviation), and from version 2 on a footer
 * holding a POSIX TZ rule ("PST8PDT,M3.2.0,M11.1.0") for times after the last transition.
 */
#include "em_tz.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZONEINFO_DIR  "/usr/share/zoneinfo"
#define ZONE_NAME_MAX 64
#define ZONE_FILE_MAX (256 * 1024)
#define ABBR_MAX      8
#define DAY           86400LL
#define MAX_OFFSET    (14 * 3600)

struct tz_type {
    int32_t offset; /* seconds east of UTC */
    bool dst;
    char abbr[ABBR_MAX];
};

/* One end of daylight time in a POSIX rule: Mm.w.d (day d of week w of month m, 5 the
 * last), Jn (day n of the year, 1-365, February 29 never counted) or n (0-365). */
struct rule_date {
    char kind; /* 'M', 'J' or 'D' */
    int month, week, weekday, day;
    int32_t time; /* seconds after local midnight */
};

struct posix_rule {
    bool present, has_dst;
    struct tz_type std, dst;
    struct rule_date start, end;
};

struct em_tz_rules {
    char name[ZONE_NAME_MAX];
    size_t count; /* transitions */
    int64_t *times;
    uint8_t *type_of;
    size_t type_count;
    struct tz_type *types;
    struct posix_rule footer;
    struct em_tz_rules *next;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct em_tz_rules *cache;

/* ---- civil calendar ---- */

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int64_t year_of_days(int64_t days)
{
    int64_t z = days + 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    return yoe + era * 400 + (mp >= 10);
}

/* ---- POSIX TZ rules (the footer) ---- */

static bool parse_abbr(const char **s, char out[ABBR_MAX])
{
    const char *p = *s, *start;
    size_t n;
    if (*p == '<') {
        start = ++p;
        while (*p && *p != '>')
            p++;
        if (*p != '>')
            return false;
        n = (size_t)(p - start);
        p++;
    } else {
        start = p;
        while (isalpha((unsigned char)*p))
            p++;
        n = (size_t)(p - start);
    }
    if (n < 3)
        return false;
    snprintf(out, ABBR_MAX, "%.*s", (int)n, start);
    *s = p;
    return true;
}

/* [+-]hh[:mm[:ss]] in seconds. */
static bool parse_hms(const char **s, int32_t *out)
{
    const char *p = *s;
    int sign = 1;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    if (!isdigit((unsigned char)*p))
        return false;
    long part[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        char *end;
        part[i] = strtol(p, &end, 10);
        if (end == p || part[i] > 167)
            return false;
        p = end;
        if (*p != ':' || i == 2)
            break;
        p++;
    }
    *out = sign * (int32_t)(part[0] * 3600 + part[1] * 60 + part[2]);
    *s = p;
    return true;
}

static bool parse_rule_date(const char **s, struct rule_date *d)
{
    const char *p = *s;
    char *end;
    d->time = 2 * 3600;
    if (*p == 'M') {
        d->kind = 'M';
        d->month = (int)strtol(p + 1, &end, 10);
        if (*end != '.')
            return false;
        d->week = (int)strtol(end + 1, &end, 10);
        if (*end != '.')
            return false;
        d->weekday = (int)strtol(end + 1, &end, 10);
        if (d->month < 1 || d->month > 12 || d->week < 1 || d->week > 5 || d->weekday < 0 ||
            d->weekday > 6)
            return false;
    } else {
        d->kind = *p == 'J' ? 'J' : 'D';
        d->day = (int)strtol(*p == 'J' ? p + 1 : p, &end, 10);
        if (end == p || d->day < 0 || d->day > 365)
            return false;
    }
    p = end;
    if (*p == '/') {
        p++;
        if (!parse_hms(&p, &d->time))
            return false;
    }
    *s = p;
    return true;
}

static bool parse_posix(const char *text, struct posix_rule *r)
{
    const char *p = text;
    int32_t west;
    memset(r, 0, sizeof(*r));
    if (!parse_abbr(&p, r->std.abbr) || !parse_hms(&p, &west))
        return false;
    r->std.offset = -west;
    r->present = true;
    if (!*p)
        return true;
    if (!parse_abbr(&p, r->dst.abbr))
        return false;
    r->dst.offset = r->std.offset + 3600;
    r->dst.dst = true;
    if (*p && *p != ',') {
        if (!parse_hms(&p, &west))
            return false;
        r->dst.offset = -west;
    }
    if (*p != ',')
        return false;
    p++;
    if (!parse_rule_date(&p, &r->start) || *p != ',')
        return false;
    p++;
    if (!parse_rule_date(&p, &r->end) || *p)
        return false;
    r->has_dst = true;
    return true;
}

/* The local second (as if UTC) a rule date of year y starts at. */
static int64_t rule_local_time(const struct rule_date *d, int64_t y)
{
    int64_t days;
    if (d->kind == 'M') {
        int64_t first = days_from_civil(y, d->month, 1);
        int64_t weekday_of_first = floor_div(first + 4, 7) * -7 + first + 4; /* 0 = Sunday */
        days = first + (d->weekday - weekday_of_first + 7) % 7 + (d->week - 1) * 7;
        static const int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int in_month = month_days[d->month - 1] + (d->month == 2 && is_leap(y));
        while (days >= first + in_month)
            days -= 7;
    } else if (d->kind == 'J') {
        days = days_from_civil(y, 1, 1) + d->day - 1 + (is_leap(y) && d->day >= 60);
    } else {
        days = days_from_civil(y, 1, 1) + d->day;
    }
    return days * DAY + d->time;
}

static const struct tz_type *posix_type_at(const struct posix_rule *r, int64_t utc)
{
    if (!r->has_dst)
        return &r->std;
    int64_t y = year_of_days(floor_div(utc + r->std.offset, DAY));
    int64_t start = rule_local_time(&r->start, y) - r->std.offset;
    int64_t end = rule_local_time(&r->end, y) - r->dst.offset;
    bool dst = start < end ? utc >= start && utc < end : !(utc >= end && utc < start);
    return dst ? &r->dst : &r->std;
}

/* ---- TZif files ---- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_counts {
    uint32_t isut, isstd, leap, time, type, chars;
};

static bool read_counts(const unsigned char *p, size_t len, struct tzif_counts *c)
{
    if (len < 44 || memcmp(p, "TZif", 4) != 0)
        return false;
    c->isut = be32(p + 20);
    c->isstd = be32(p + 24);
    c->leap = be32(p + 28);
    c->time = be32(p + 32);
    c->type = be32(p + 36);
    c->chars = be32(p + 40);
    return c->type >= 1 && c->type <= 256 && c->time <= 65536 && c->chars <= 4096 &&
           c->leap <= 4096 && c->isut <= c->type && c->isstd <= c->type;
}

static size_t block_size(const struct tzif_counts *c, size_t time_size)
{
    return c->time * time_size + c->time + c->type * 6 + c->chars + c->leap * (time_size + 4) +
           c->isstd + c->isut;
}

/* Fills rules from the data block at p (times of time_size bytes). */
static bool read_block(const unsigned char *p, const struct tzif_counts *c, size_t time_size,
                       struct em_tz_rules *rules)
{
    rules->count = c->time;
    rules->type_count = c->type;
    rules->times = calloc(c->time + 1, sizeof(int64_t));
    rules->type_of = calloc(c->time + 1, 1);
    rules->types = calloc(c->type, sizeof(struct tz_type));
    if (!rules->times || !rules->type_of || !rules->types)
        return false;
    for (uint32_t i = 0; i < c->time; i++)
        rules->times[i] = time_size == 8 ? be64(p + i * 8) : (int32_t)be32(p + i * 4);
    p += c->time * time_size;
    for (uint32_t i = 0; i < c->time; i++)
        if ((rules->type_of[i] = p[i]) >= c->type)
            return false;
    p += c->time;
    const unsigned char *chars = p + c->type * 6;
    for (uint32_t i = 0; i < c->type; i++, p += 6) {
        struct tz_type *t = &rules->types[i];
        t->offset = (int32_t)be32(p);
        t->dst = p[4] != 0;
        if (p[5] >= c->chars || t->offset < -25 * 3600 || t->offset > 26 * 3600)
            return false;
        snprintf(t->abbr, ABBR_MAX, "%.*s",
                 (int)strnlen((const char *)chars + p[5], c->chars - p[5]), chars + p[5]);
    }
    return true;
}

static bool parse_tzif(const unsigned char *data, size_t len, struct em_tz_rules *rules)
{
    struct tzif_counts c;
    if (!read_counts(data, len, &c))
        return false;
    size_t v1 = 44 + block_size(&c, 4);
    if (v1 > len)
        return false;
    if (data[4] < '2')
        return read_block(data + 44, &c, 4, rules);
    const unsigned char *v2 = data + v1;
    if (!read_counts(v2, len - v1, &c) || v1 + 44 + block_size(&c, 8) > len ||
        !read_block(v2 + 44, &c, 8, rules))
        return false;
    const char *footer = (const char *)v2 + 44 + block_size(&c, 8);
    const char *end = (const char *)data + len;
    if (footer < end && *footer == '\n') {
        char rule[128];
        const char *nl = memchr(footer + 1, '\n', (size_t)(end - footer - 1));
        size_t n = nl ? (size_t)(nl - footer - 1) : 0;
        if (n > 0 && n < sizeof(rule)) {
            memcpy(rule, footer + 1, n);
            rule[n] = '\0';
            if (!parse_posix(rule, &rules->footer))
                memset(&rules->footer, 0, sizeof(rules->footer));
        }
    }
    return true;
}

static void rules_free(struct em_tz_rules *r)
{
    if (!r)
        return;
    free(r->times);
    free(r->type_of);
    free(r->types);
    free(r);
}

/* A tz database name safe to open under ZONEINFO_DIR: letters, digits, "_+-" and single
 * slashes between parts, no part starting with a dot. */
static bool safe_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= ZONE_NAME_MAX || name[0] == '/' || name[n - 1] == '/')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        bool part_start = i == 0 || name[i - 1] == '/';
        if (!(isalnum(c) || c == '_' || c == '+' || c == '-' || c == '/') ||
            (c == '/' && part_start) || (part_start && c == '-'))
            return false;
    }
    return true;
}

static struct em_tz_rules *load(const char *name)
{
    char path[sizeof(ZONEINFO_DIR) + ZONE_NAME_MAX + 2];
    snprintf(path, sizeof(path), "%s/%s", ZONEINFO_DIR, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *data = malloc(ZONE_FILE_MAX);
    size_t len = data ? fread(data, 1, ZONE_FILE_MAX, f) : 0;
    fclose(f);
    struct em_tz_rules *rules = calloc(1, sizeof(*rules));
    bool ok = rules && len < ZONE_FILE_MAX && parse_tzif(data, len, rules);
    free(data);
    if (!ok) {
        rules_free(rules);
        return NULL;
    }
    snprintf(rules->name, sizeof(rules->name), "%s", name);
    return rules;
}

static const struct em_tz_rules *find_rules(const char *name)
{
    if (!safe_name(name))
        return NULL;
    pthread_mutex_lock(&cache_lock);
    struct em_tz_rules *r = cache;
    while (r && strcmp(r->name, name) != 0)
        r = r->next;
    if (!r && (r = load(name))) {
        r->next = cache;
        cache = r;
    }
    pthread_mutex_unlock(&cache_lock);
    return r;
}

/* ---- fixed offsets ---- */

/* "UTC", "+05:30", "-0800", "UTC+8": false when name is none of these; *valid false for an
 * offset out of range. */
static bool fixed_offset(const char *name, int *offset, bool *valid)
{
    *offset = 0;
    *valid = true;
    static const char *const utc[] = {"UTC", "Etc/UTC", "GMT", "Etc/GMT", "Z"};
    for (size_t i = 0; i < sizeof(utc) / sizeof(utc[0]); i++)
        if (strcmp(name, utc[i]) == 0)
            return true;
    const char *p = strncmp(name, "UTC", 3) == 0 ? name + 3 : name;
    if ((*p != '+' && *p != '-') || !isdigit((unsigned char)p[1]))
        return false;
    int sign = *p == '-' ? -1 : 1;
    char *end;
    long hours = strtol(p + 1, &end, 10), minutes = 0;
    if (end - (p + 1) == 4) { /* +hhmm */
        minutes = hours % 100;
        hours /= 100;
    } else if (*end == ':' && isdigit((unsigned char)end[1])) {
        minutes = strtol(end + 1, &end, 10);
    }
    *valid = *end == '\0' && hours <= 14 && minutes < 60;
    *offset = *valid ? sign * (int)(hours * 3600 + minutes * 60) : 0;
    return true;
}

/* ---- zones ---- */

bool em_zone_find(const char *name, struct em_zone *out)
{
    bool valid;
    memset(out, 0, sizeof(*out));
    if (fixed_offset(name, &out->fixed_offset, &valid))
        return valid;
    return (out->rules = find_rules(name)) != NULL;
}

static const struct tz_type *type_at(const struct em_tz_rules *r, int64_t utc)
{
    size_t n = r->count;
    if (r->footer.present && (n == 0 || utc >= r->times[n - 1]))
        return posix_type_at(&r->footer, utc);
    if (n == 0 || utc < r->times[0])
        return &r->types[0];
    size_t lo = 0, hi = n - 1; /* the last transition at or before utc */
    while (lo < hi) {
        size_t mid = (lo + hi + 1) / 2;
        if (r->times[mid] <= utc)
            lo = mid;
        else
            hi = mid - 1;
    }
    return &r->types[r->type_of[lo]];
}

int em_zone_offset_at(const struct em_zone *zone, int64_t utc)
{
    return zone->rules ? type_at(zone->rules, utc)->offset : zone->fixed_offset;
}

int64_t em_zone_to_utc(const struct em_zone *zone, int64_t local)
{
    if (!zone->rules)
        return local - zone->fixed_offset;
    /* the offsets a day before and a day after: different only near a transition */
    int before = em_zone_offset_at(zone, local - DAY), after = em_zone_offset_at(zone, local + DAY);
    int64_t early = local - before, late = local - after;
    if (em_zone_offset_at(zone, early) == before)
        return early; /* also the first of a repeated time */
    if (em_zone_offset_at(zone, late) == after)
        return late;
    return early; /* skipped: read with the offset before the change */
}

const char *em_zone_abbreviation(const struct em_zone *zone, int64_t utc)
{
    if (!zone->rules)
        return zone->fixed_offset == 0 ? "UTC" : "";
    return type_at(zone->rules, utc)->abbr;
}
