/*
 * spanner_cron: the crontab text of a Spanner backup schedule (CrontabSpec.text), in UTC.
 *
 * Five fields, as cron has them: minute (0-59), hour (0-23), day of the month (1-31),
 * month (1-12) and day of the week (0-7, 0 and 7 both Sunday). Each field is a comma list
 * of `*`, `n` or `a-b`, each optionally followed by `/step` (`n/step` runs from n to the
 * field's maximum). When both day fields are restricted, a day matching either one
 * matches, as in cron ("0 2 1 * 1": the 1st of each month and every Monday); otherwise
 * both must match. Names (JAN, MON) and macros (@daily) are refused: Spanner's examples
 * and gcloud's help use numbers only.
 *
 * sp_cron_min_gap() gives the shortest interval between two consecutive times of a
 * schedule over four years (every leap-year case), which the backup schedule checks
 * against Spanner's minimum (12 hours between full backups).
 *
 * Pure functions of their arguments: no clock, no allocation.
 */
#ifndef SPANNER_CRON_H
#define SPANNER_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A parsed crontab: one bit per allowed value of each field. */
struct sp_cron {
    uint64_t minutes; /* bit m: minute m */
    uint32_t hours;   /* bit h */
    uint32_t days;    /* bit d: day of the month d (1-31) */
    uint16_t months;  /* bit m: month m (1-12) */
    uint8_t weekdays; /* bit w: day of the week w (0 Sunday - 6 Saturday) */
    bool any_day;     /* the day-of-month field is `*` (or `*` with a step) */
    bool any_weekday; /* the day-of-week field is `*` */
};

#define SP_CRON_NEVER INT64_MAX

/* Parses text; false with why (a sentence naming the field) when it is not a crontab. */
bool sp_cron_parse(const char *text, struct sp_cron *out, char *why, size_t why_size);

/* The first time the schedule names strictly after after_ns (ns since the epoch, UTC),
 * or SP_CRON_NEVER when there is none within the next five years (February 30th). */
int64_t sp_cron_next(const struct sp_cron *cron, int64_t after_ns);

/* The shortest interval in ns between two consecutive times of the schedule, over four
 * years from 2024-01-01; SP_CRON_NEVER when it names fewer than two times. */
int64_t sp_cron_min_gap(const struct sp_cron *cron);

#endif
