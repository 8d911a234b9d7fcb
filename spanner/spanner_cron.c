/*
 * spanner_cron: crontab parsing and the times it names (see spanner_cron.h).
 */
#include "spanner_cron.h"

#include "spanner_value.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_MINUTE   (60LL * 1000000000LL)
#define MINUTES_PER_DAY (24 * 60)
#define SEARCH_DAYS     (5 * 366)
#define GAP_START_DAYS  19723 /* 2024-01-01 */
#define GAP_DAYS        (4 * 366)

struct field_rule {
    const char *name;
    int min, max;
};

static const struct field_rule field_rules[5] = {
    {"minute", 0, 59}, {"hour", 0, 23},           {"day of the month", 1, 31},
    {"month", 1, 12},  {"day of the week", 0, 7},
};

/* Reads a decimal number of at most 3 digits at *p. */
static bool read_number(const char **p, int *out)
{
    int digits = 0, value = 0;
    while (**p >= '0' && **p <= '9' && digits < 3) {
        value = value * 10 + (**p - '0');
        (*p)++;
        digits++;
    }
    *out = value;
    return digits > 0 && !(**p >= '0' && **p <= '9');
}

/* One item of a field's list ("*", "n", "a-b", each with an optional "/step") into bits. */
static bool parse_item(const char *item, const struct field_rule *rule, uint64_t *bits)
{
    const char *p = item;
    int first = rule->min, last = rule->max, step = 1;
    if (*p == '*') {
        p++;
    } else {
        if (!read_number(&p, &first))
            return false;
        last = first;
        if (*p == '-') {
            p++;
            if (!read_number(&p, &last))
                return false;
        } else if (*p == '/') {
            last = rule->max; /* "n/step": from n to the end */
        }
    }
    if (*p == '/') {
        p++;
        if (!read_number(&p, &step) || step < 1)
            return false;
    }
    if (*p != '\0' || first < rule->min || last > rule->max || first > last)
        return false;
    for (int v = first; v <= last; v += step)
        *bits |= 1ULL << v;
    return true;
}

/* One field: a comma list of items. */
static bool parse_field(const char *text, const struct field_rule *rule, uint64_t *bits)
{
    char item[32];
    *bits = 0;
    for (const char *p = text;;) {
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof(item))
            return false;
        memcpy(item, p, len);
        item[len] = '\0';
        if (!parse_item(item, rule, bits))
            return false;
        if (p[len] == '\0')
            return true;
        p += len + 1;
    }
}

bool sp_cron_parse(const char *text, struct sp_cron *out, char *why, size_t why_size)
{
    char fields[5][64];
    int count = 0;
    memset(out, 0, sizeof(*out));
    for (const char *p = text ? text : ""; *p;) {
        p += strspn(p, " \t");
        size_t len = strcspn(p, " \t");
        if (len == 0)
            break;
        if (count == 5 || len >= sizeof(fields[0])) {
            snprintf(why, why_size,
                     "a crontab has five fields: minute hour day-of-month month "
                     "day-of-week, separated by spaces.");
            return false;
        }
        memcpy(fields[count], p, len);
        fields[count++][len] = '\0';
        p += len;
    }
    if (count != 5) {
        snprintf(why, why_size,
                 "a crontab has five fields: minute hour day-of-month month "
                 "day-of-week, separated by spaces.");
        return false;
    }
    uint64_t bits[5];
    for (int i = 0; i < 5; i++)
        if (!parse_field(fields[i], &field_rules[i], &bits[i])) {
            snprintf(why, why_size,
                     "its %s field \"%s\" is not a list of *, n or a-b (each with an optional "
                     "/step) with values from %d to %d.",
                     field_rules[i].name, fields[i], field_rules[i].min, field_rules[i].max);
            return false;
        }
    out->minutes = bits[0];
    out->hours = (uint32_t)bits[1];
    out->days = (uint32_t)bits[2];
    out->months = (uint16_t)bits[3];
    out->weekdays = (uint8_t)((bits[4] | (bits[4] >> 7)) & 0x7f); /* 7 is Sunday too */
    out->any_day = fields[2][0] == '*';
    out->any_weekday = fields[4][0] == '*';
    return true;
}

static bool day_matches(const struct sp_cron *c, int64_t days)
{
    int64_t year;
    unsigned month, day;
    sp_civil_from_days(days, &year, &month, &day);
    if (!(c->months & (1u << month)))
        return false;
    int weekday = (int)(((days % 7) + 11) % 7); /* 1970-01-01 was a Thursday (4) */
    bool by_day = (c->days >> day) & 1u, by_weekday = (c->weekdays >> weekday) & 1u;
    if (!c->any_day && !c->any_weekday)
        return by_day || by_weekday;
    return by_day && by_weekday;
}

/* The first minute of the day at or after minute `from` (0..1439) the schedule names; -1. */
static int first_minute(const struct sp_cron *c, int from)
{
    for (int m = from; m < MINUTES_PER_DAY; m++)
        if (((c->hours >> (m / 60)) & 1u) && ((c->minutes >> (m % 60)) & 1u))
            return m;
    return -1;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

int64_t sp_cron_next(const struct sp_cron *cron, int64_t after_ns)
{
    int64_t minute = floor_div(after_ns, NS_PER_MINUTE) + 1; /* strictly after */
    int64_t day = floor_div(minute, MINUTES_PER_DAY);
    int from = (int)(minute - day * MINUTES_PER_DAY);
    for (int i = 0; i <= SEARCH_DAYS; i++, day++, from = 0) {
        if (!day_matches(cron, day))
            continue;
        int m = first_minute(cron, from);
        if (m >= 0)
            return (day * MINUTES_PER_DAY + m) * NS_PER_MINUTE;
    }
    return SP_CRON_NEVER;
}

int64_t sp_cron_min_gap(const struct sp_cron *cron)
{
    int64_t start = (int64_t)GAP_START_DAYS * MINUTES_PER_DAY * NS_PER_MINUTE;
    int64_t end = start + (int64_t)GAP_DAYS * MINUTES_PER_DAY * NS_PER_MINUTE;
    int64_t gap = SP_CRON_NEVER;
    int64_t previous = sp_cron_next(cron, start - 1);
    while (previous < end) {
        int64_t next = sp_cron_next(cron, previous);
        if (next == SP_CRON_NEVER)
            break;
        if (next - previous < gap)
            gap = next - previous;
        if (gap <= NS_PER_MINUTE)
            break; /* cannot get shorter */
        previous = next;
    }
    return gap;
}
