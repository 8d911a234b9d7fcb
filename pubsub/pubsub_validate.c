/*
 * pubsub_validate: Google's rules for topic and subscription configurations, checked
 * before anything changes: retention bounds, message storage regions, the location of
 * kmsKeyName, push endpoints, ack deadlines, dead-letter policies, retry policies and
 * expiration policies. Messages in Google's words (INVALID_ARGUMENT, or NOT_FOUND for a
 * missing dead-letter topic).
 *
 * Location rule for kmsKeyName (our reading of Google's data-residency guidance: the key
 * must cover where the messages may be stored): the key's location is `global`, or covers
 * every region of the topic's messageStoragePolicy (a region covers itself, a
 * multi-region such as `us` covers us-*). A regional key on a topic without a message
 * storage policy is INVALID_ARGUMENT naming both locations.
 */
#include "pubsub_errors.h"
#include "pubsub_registry_parts.h"

#include "em_clock.h"
#include "em_config.h"
#include "em_crypto.h"
#include "em_filter.h"
#include "em_log.h"
#include "em_names.h"
#include "em_store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum em_code ps_check_retention(const char *what, int64_t ns, struct em_status *st)
{
    if (ns == 0 || (ns >= PS_MIN_RETENTION_NS && ns <= PS_MAX_RETENTION_NS))
        return EM_OK;
    char text[EM_TIME_TEXT_MAX];
    em_duration_format(ns, text);
    return EM_FAIL(st, EM_INVALID_ARGUMENT,
                   "Invalid %s \"%s\": the message retention duration must be between 10 "
                   "minutes (600s) and 31 days (2678400s).",
                   what, text);
}

static enum em_code check_regions(const char *regions, struct em_status *st)
{
    if (!regions)
        return EM_OK;
    if (!*regions)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid message storage policy: allowed_persistence_regions must name at "
                       "least one region.");
    for (const char *p = regions; *p;) {
        size_t n = strcspn(p, ",");
        char region[64];
        snprintf(region, sizeof(region), "%.*s", (int)(n < sizeof(region) ? n : 63), p);
        const struct em_location *loc = em_location_find(region);
        if (!loc || loc->kind != EM_LOC_REGION)
            return PS_ERR_STORAGE_REGION_UNKNOWN(st, region);
        p += n;
        if (*p == ',')
            p++;
    }
    return EM_OK;
}

/* The key's location must be global or cover every allowed persistence region. */
static enum em_code check_key_location(const char *topic, const char *key, const char *regions,
                                       struct em_status *st)
{
    struct em_crypto_key_name parsed;
    if (em_crypto_key_name_parse(key, "kms_key_name", &parsed, st))
        return st->code;
    const char *location = parsed.location;
    if (strcmp(location, "global") == 0)
        return EM_OK;
    if (!regions)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "The Cloud KMS key %s is in location \"%s\", but topic %s has no message "
                       "storage policy, so its messages may be stored in any region (\"global\"). "
                       "Use a key in location \"global\", or set "
                       "messageStoragePolicy.allowedPersistenceRegions to regions within \"%s\".",
                       key, location, topic, location);
    for (const char *p = regions; *p;) {
        size_t n = strcspn(p, ",");
        char region[64];
        snprintf(region, sizeof(region), "%.*s", (int)(n < sizeof(region) ? n : 63), p);
        if (!em_location_covers(location, region))
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "The Cloud KMS key %s is in location \"%s\", which does not cover the "
                           "region \"%s\" allowed by the message storage policy of topic %s. The "
                           "key must be in location \"global\" or in a location covering every "
                           "allowed persistence region.",
                           key, location, region, topic);
        p += n;
        if (*p == ',')
            p++;
    }
    return EM_OK;
}

enum em_code ps_check_topic_config(const char *name, const struct ps_topic_config *cfg,
                                   struct em_status *st)
{
    if (check_regions(cfg->regions, st) ||
        ps_check_retention("message_retention_duration", cfg->retention_ns, st))
        return st->code;
    if (cfg->kms_key && check_key_location(name, cfg->kms_key, cfg->regions, st))
        return st->code;
    return EM_OK;
}

static bool push_endpoint_valid(const char *url)
{
    const char *rest = strncmp(url, "http://", 7) == 0    ? url + 7
                       : strncmp(url, "https://", 8) == 0 ? url + 8
                                                          : NULL;
    if (!rest || !*rest || *rest == '/')
        return false;
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == '"' || *p == '\\' || *p == '<' || *p == '>')
            return false;
    return true;
}

enum em_code ps_check_push(const struct ps_push_config *push, struct em_status *st)
{
    if (push->endpoint && !push_endpoint_valid(push->endpoint))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid push endpoint given (endpoint=%.300s). Refer to "
                       "https://cloud.google.com/pubsub/docs/push for more information.",
                       push->endpoint);
    return EM_OK;
}

enum em_code ps_check_ack_deadline(int *seconds, struct em_status *st)
{
    if (*seconds == 0)
        *seconds = PS_DEFAULT_ACK_DEADLINE_S;
    if (*seconds < PS_MIN_ACK_DEADLINE_S || *seconds > PS_MAX_ACK_DEADLINE_S)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid ack_deadline_seconds %d: it must be between %d and %d seconds.",
                       *seconds, PS_MIN_ACK_DEADLINE_S, PS_MAX_ACK_DEADLINE_S);
    return EM_OK;
}

enum em_code ps_check_dead_letter(struct ps_registry *reg, struct ps_sub_config *cfg,
                                  struct em_status *st)
{
    if (!cfg->dead_letter_topic)
        return EM_OK;
    if (!*cfg->dead_letter_topic)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid resource name given (dead_letter_topic=). A dead_letter_policy "
                       "must name its dead_letter_topic (projects/{project}/topics/{topic}); "
                       "leave the policy out for none.");
    char project[64], id[260];
    if (ps_parse_name(cfg->dead_letter_topic, "topics", project, sizeof(project), id, sizeof(id),
                      st))
        return st->code;
    if (cfg->max_delivery_attempts == 0)
        cfg->max_delivery_attempts = PS_MIN_DELIVERY_ATTEMPTS;
    if (cfg->max_delivery_attempts < PS_MIN_DELIVERY_ATTEMPTS)
        return EM_FAIL(st, EM_OUT_OF_RANGE,
                       "The value for max_delivery_attempts is too small. You passed %d in the "
                       "request, but the minimum value is %d.",
                       cfg->max_delivery_attempts, PS_MIN_DELIVERY_ATTEMPTS);
    if (cfg->max_delivery_attempts > PS_MAX_DELIVERY_ATTEMPTS)
        return EM_FAIL(st, EM_OUT_OF_RANGE,
                       "The value for max_delivery_attempts is too large. You passed %d in the "
                       "request, but the maximum value is %d.",
                       cfg->max_delivery_attempts, PS_MAX_DELIVERY_ATTEMPTS);
    struct ps_topic *dlt = ps_topic_get(reg, cfg->dead_letter_topic);
    ps_topic_put(dlt);
    if (!dlt)
        return EM_FAIL(st, EM_NOT_FOUND, "Dead letter topic %s not found.", cfg->dead_letter_topic);
    return EM_OK;
}

enum em_code ps_check_retry(struct ps_retry *retry, struct em_status *st)
{
    if (!retry->set)
        return EM_OK;
    if (retry->min_ns == PS_DURATION_UNSET)
        retry->min_ns = PS_DEFAULT_MIN_BACKOFF_NS;
    if (retry->max_ns == PS_DURATION_UNSET)
        retry->max_ns = PS_MAX_BACKOFF_NS;
    if (retry->min_ns < 0 || retry->max_ns < 0 || retry->min_ns > PS_MAX_BACKOFF_NS ||
        retry->max_ns > PS_MAX_BACKOFF_NS)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid retry policy: minimum_backoff and maximum_backoff must be between "
                       "0s and 600s.");
    if (retry->min_ns > retry->max_ns)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid retry policy: minimum_backoff must not exceed maximum_backoff.");
    return EM_OK;
}

/* The expiration ttl: at least a day, and not shorter than the retention (Google: a
 * subscription's expiration period must exceed its message retention duration; equal is
 * taken here). 0 never expires: a policy without a ttl (a ttl given as "0s" is refused
 * when the request is read). */
enum em_code ps_check_ttl(int64_t *ttl_ns, int64_t retention_ns, struct em_status *st)
{
    if (*ttl_ns == PS_DURATION_UNSET)
        *ttl_ns = PS_DEFAULT_TTL_NS;
    if (*ttl_ns < 0 || (*ttl_ns != 0 && *ttl_ns < PS_MIN_TTL_NS))
        return PS_ERR_TTL_TOO_SHORT(st);
    if (*ttl_ns != 0 && *ttl_ns < retention_ns) {
        char ttl[EM_TIME_TEXT_MAX], retention[EM_TIME_TEXT_MAX];
        em_duration_format(*ttl_ns, ttl);
        em_duration_format(retention_ns, retention);
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid expiration_policy.ttl \"%s\": the expiration period must not be "
                       "shorter than the message_retention_duration \"%s\".",
                       ttl, retention);
    }
    return EM_OK;
}

/* Checks a new subscription's settings and fills defaults. */
enum em_code ps_check_sub_config(struct ps_registry *reg, struct ps_sub_config *cfg,
                                 struct em_filter **filter, struct em_status *st)
{
    char project[64], id[260];
    *filter = NULL;
    if (!cfg->topic || !*cfg->topic)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "subscription.topic is required.");
    if (ps_parse_name(cfg->topic, "topics", project, sizeof(project), id, sizeof(id), st) ||
        ps_check_ack_deadline(&cfg->ack_deadline_s, st))
        return st->code;
    if (cfg->retention_ns == 0)
        cfg->retention_ns = PS_DEFAULT_RETENTION_NS;
    ps_push_config_settle(&cfg->push);
    if (ps_check_retention("message_retention_duration", cfg->retention_ns, st) ||
        ps_check_dead_letter(reg, cfg, st) || ps_check_retry(&cfg->retry, st) ||
        ps_check_push(&cfg->push, st) || ps_check_ttl(&cfg->ttl_ns, cfg->retention_ns, st) ||
        ps_filter_compile(cfg->filter, filter, st))
        return st->code;
    return EM_OK;
}
