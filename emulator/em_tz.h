/*
 * em_tz: time zones, for Spanner's date and time functions and IAM conditions' timestamp
 * accessors (em_cel). A zone is UTC, a
 * fixed offset ("+05:30", "UTC-8", "-0800"), or a name of the tz database
 * ("America/Los_Angeles"), whose rules are read from the system's
 * compiled zone files (/usr/share/zoneinfo, Debian's tzdata; TZif versions 1 to 4, with
 * the POSIX rule of the file's footer for times after its last transition).
 *
 * A zone file is read once and kept for the life of the process (a few kilobytes each);
 * lookups are safe from any thread.
 */
#ifndef SPANNER_TZ_H
#define SPANNER_TZ_H

#include <stdbool.h>
#include <stdint.h>

struct em_tz_rules;

struct em_zone {
    int fixed_offset;                /* seconds east of UTC, when rules is NULL */
    const struct em_tz_rules *rules; /* a named zone's */
};

/* The zone named name. False when there is no such zone
 * (a name that is not a fixed offset and has no zone file, or an offset beyond 14 h). */
bool em_zone_find(const char *name, struct em_zone *out);

/* The zone's offset from UTC, in seconds east, at utc (seconds since the epoch). */
int em_zone_offset_at(const struct em_zone *zone, int64_t utc);

/* The instant of a civil time in the zone (local: its seconds since 1970-01-01 00:00 read
 * as if in UTC). A time repeated when clocks go back is its first occurrence; one skipped
 * when they go forward is read with the offset before the change (02:30 on a spring-forward
 * night in Los Angeles is 03:30 PDT), as Spanner does. */
int64_t em_zone_to_utc(const struct em_zone *zone, int64_t local);

/* The zone's abbreviation at utc ("PST", "PDT"; "UTC" for UTC; "" for a fixed offset). */
const char *em_zone_abbreviation(const struct em_zone *zone, int64_t utc);

#endif
