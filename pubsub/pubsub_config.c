/*
 * pubsub_config: the memory of topic and subscription configurations (copy and free,
 * every string owned by the configuration) and a subscription's delivery policy.
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

char *ps_dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

bool ps_replace_string(char **field, const char *value)
{
    char *copy = ps_dup_or_null(value);
    if (value && !copy)
        return false;
    free(*field);
    *field = copy;
    return true;
}

void ps_topic_config_free(struct ps_topic_config *cfg)
{
    free(cfg->kms_key);
    free(cfg->labels_json);
    free(cfg->regions);
    ps_schema_settings_free(&cfg->schema);
    memset(cfg, 0, sizeof(*cfg));
}

const char *ps_encoding_name(enum ps_encoding encoding)
{
    return encoding == PS_ENCODING_JSON     ? "JSON"
           : encoding == PS_ENCODING_BINARY ? "BINARY"
                                            : "ENCODING_UNSPECIFIED";
}

void ps_schema_settings_free(struct ps_schema_settings *s)
{
    free(s->schema);
    free(s->first_revision);
    free(s->last_revision);
    memset(s, 0, sizeof(*s));
}

enum em_code ps_schema_settings_copy(struct ps_schema_settings *dst,
                                     const struct ps_schema_settings *src, struct em_status *st)
{
    *dst = *src;
    dst->schema = ps_dup_or_null(src->schema);
    dst->first_revision = ps_dup_or_null(src->first_revision);
    dst->last_revision = ps_dup_or_null(src->last_revision);
    if ((src->schema && !dst->schema) || (src->first_revision && !dst->first_revision) ||
        (src->last_revision && !dst->last_revision)) {
        ps_schema_settings_free(dst);
        return EM_FAIL_OOM(st);
    }
    return EM_OK;
}

enum em_code ps_topic_config_copy(struct ps_topic_config *dst, const struct ps_topic_config *src,
                                  struct em_status *st)
{
    *dst = *src;
    dst->kms_key = ps_dup_or_null(src->kms_key);
    dst->labels_json = strdup(src->labels_json ? src->labels_json : "{}");
    dst->regions = ps_dup_or_null(src->regions);
    memset(&dst->schema, 0, sizeof(dst->schema));
    if ((src->kms_key && !dst->kms_key) || !dst->labels_json || (src->regions && !dst->regions) ||
        ps_schema_settings_copy(&dst->schema, &src->schema, st)) {
        ps_topic_config_free(dst);
        return EM_FAIL_OOM(st);
    }
    return EM_OK;
}

void ps_push_config_free(struct ps_push_config *p)
{
    free(p->endpoint);
    free(p->attributes_json);
    free(p->oidc_service_account);
    free(p->oidc_audience);
    memset(p, 0, sizeof(*p));
}

void ps_sub_config_free(struct ps_sub_config *cfg)
{
    free(cfg->topic);
    free(cfg->filter);
    free(cfg->dead_letter_topic);
    free(cfg->labels_json);
    ps_push_config_free(&cfg->push);
    memset(cfg, 0, sizeof(*cfg));
}

bool ps_push_config_copy(struct ps_push_config *dst, const struct ps_push_config *src)
{
    *dst = *src;
    dst->endpoint = ps_dup_or_null(src->endpoint);
    dst->attributes_json = ps_dup_or_null(src->attributes_json);
    dst->oidc_service_account = ps_dup_or_null(src->oidc_service_account);
    dst->oidc_audience = ps_dup_or_null(src->oidc_audience);
    return (!src->endpoint || dst->endpoint) && (!src->attributes_json || dst->attributes_json) &&
           (!src->oidc_service_account || dst->oidc_service_account) &&
           (!src->oidc_audience || dst->oidc_audience);
}

bool ps_push_config_merge(struct ps_push_config *dst, const struct ps_push_config *src,
                          unsigned mask)
{
    if (mask & PS_SUB_PUSH_WRAPPER) {
        dst->no_wrapper = src->no_wrapper;
        dst->write_metadata = src->write_metadata;
    }
    if (((mask & PS_SUB_PUSH_ENDPOINT) && !ps_replace_string(&dst->endpoint, src->endpoint)) ||
        ((mask & PS_SUB_PUSH_ATTRIBUTES) &&
         !ps_replace_string(&dst->attributes_json, src->attributes_json)) ||
        ((mask & PS_SUB_PUSH_OIDC) &&
         (!ps_replace_string(&dst->oidc_service_account, src->oidc_service_account) ||
          !ps_replace_string(&dst->oidc_audience, src->oidc_audience))))
        return false;
    ps_push_config_settle(dst);
    return true;
}

void ps_push_config_settle(struct ps_push_config *p)
{
    if (!p->endpoint)
        ps_push_config_free(p);
}

enum em_code ps_sub_config_copy(struct ps_sub_config *dst, const struct ps_sub_config *src,
                                struct em_status *st)
{
    *dst = *src;
    memset(&dst->push, 0, sizeof(dst->push));
    dst->topic = ps_dup_or_null(src->topic);
    dst->filter = strdup(src->filter ? src->filter : "");
    dst->dead_letter_topic = ps_dup_or_null(src->dead_letter_topic);
    dst->labels_json = strdup(src->labels_json ? src->labels_json : "{}");
    bool ok = ps_push_config_copy(&dst->push, &src->push);
    if (!ok || (src->topic && !dst->topic) || !dst->filter ||
        (src->dead_letter_topic && !dst->dead_letter_topic) || !dst->labels_json) {
        ps_sub_config_free(dst);
        return EM_FAIL_OOM(st);
    }
    return EM_OK;
}

void ps_sub_policy(const struct ps_sub *sub, struct ps_delivery_policy *out)
{
    out->ack_deadline_s = sub->cfg.ack_deadline_s;
    out->retention_ns = sub->cfg.retention_ns;
    out->ordering = sub->cfg.ordering;
    /* without the service agent's permissions the policy does not count attempts */
    out->max_attempts = sub->cfg.dead_letter_topic && !atomic_load(&sub->dead_letter_denied)
                            ? sub->cfg.max_delivery_attempts
                            : 0;
    out->retry = sub->cfg.retry;
}
