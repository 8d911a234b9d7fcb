/*
 * em_cel: the part of CEL (the Common Expression Language) that IAM conditions use,
 * evaluated fail-closed: a conditional binding grants only when its expression is true.
 *
 * Attributes: resource.name, resource.type, resource.service (strings) and request.time (a
 * timestamp: the emulator clock, so `clock:advance` ends a time-bound grant).
 * Literals: strings ('..' or "..", with CEL's escapes), integers, true, false, lists [..].
 * Operators: || && ! (CEL's error-absorbing logic: `false && error` is false), == != < <=
 * > >= (strings, integers, booleans, timestamps, durations), `in` a list, + and - of
 * integers and of timestamps and durations, parentheses.
 * Functions: timestamp("RFC 3339"), duration("3600s" | "1.5h" ...), and the methods
 * startsWith, endsWith, contains, matches (RE2, a partial match), size(), extract(template)
 * (IAM's: "projects/{p}/" gives what follows "projects/" up to the next "/", "" when the
 * texts are not found); on a timestamp getFullYear, getMonth (0-11), getDayOfMonth
 * (0-based), getDate (1-based), getDayOfWeek (0 = Sunday), getDayOfYear (0-based),
 * getHours, getMinutes, getSeconds, in UTC or in the time zone of the argument (a tz
 * database name, "Europe/Berlin", or an offset, "+05:30": em_tz.h).
 *
 * Anything else (another attribute, function or an unknown time zone, a type mismatch, a syntax
 * error) makes the expression an error, which grants nothing; `why` says what.
 */
#ifndef EM_CEL_H
#define EM_CEL_H

#include <stddef.h>
#include <stdint.h>

struct em_cel_context {
    const char *resource_name;    /* "projects/p/locations/l/keyRings/r/cryptoKeys/k" */
    const char *resource_type;    /* "cloudkms.googleapis.com/CryptoKey", or NULL */
    const char *resource_service; /* "cloudkms.googleapis.com", or NULL */
    int64_t request_time_ns;      /* ns since the epoch */
};

/* 1 when expression is true, 0 when false, -1 when it is an error or outside the subset
 * (why, when not NULL, holds the reason). */
int em_cel_eval(const char *expression, const struct em_cel_context *ctx, char *why,
                size_t why_len);

#endif
