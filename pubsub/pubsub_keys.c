/*
 * pubsub_keys: the CMEK engine's hooks for Pub/Sub: the FAILED_PRECONDITION a data call
 * gets while a topic's key is not accessible, in Pub/Sub's words, and what a state
 * change does (the topic's data store closes while its key is unusable; push resumes
 * when it is back). The engine knows a topic's data by the topic's name, or by its
 * retained name once the topic is deleted and retained.
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

/* A topic or retained topic by the name the CMEK engine knows its data by, with a
 * reference, or NULL. */
struct ps_topic *ps_topic_by_data_name(struct ps_registry *reg, const char *resource)
{
    pthread_rwlock_rdlock(&reg->lock);
    struct ps_topic *t = em_index_find(&reg->topics, resource);
    if (!t) {
        struct ps_retained *entry = em_index_find(&reg->retained, resource);
        t = entry ? entry->topic : NULL;
    }
    if (t)
        ps_topic_ref(t);
    pthread_rwlock_unlock(&reg->lock);
    return t;
}

/* What a CMEK resource of Pub/Sub protects, in words: "topic T", or "the messages
 * retained from deleted topic T" for <T>/deleted/<time>. */
static void describe_protected(const char *resource, char *out, size_t len)
{
    const char *deleted = strstr(resource, "/deleted/"); /* topic IDs have no '/' */
    if (deleted)
        snprintf(out, len, "the messages retained from deleted topic %.*s (%s)",
                 (int)(deleted - resource), resource, resource);
    else
        snprintf(out, len, "topic %s", resource);
}

void ps_inaccessible_error(void *arg, const struct em_cmek_info *info, struct em_status *st)
{
    (void)arg;
    char what[2 * EM_RESOURCE_MAX];
    describe_protected(info->resource, what, sizeof(what));
    /* DESTROYED, or EXTERNAL_DESTRUCTION_FAILED (KMS's half of an external key erased) */
    if (strstr(info->reason, "DESTROYED") || strstr(info->reason, "EXTERNAL_DESTRUCTION_FAILED"))
        EM_FAIL(st, EM_FAILED_PRECONDITION,
                "The Cloud KMS key version %s protecting %s was destroyed: the messages "
                "protected by it are unrecoverable (%s).",
                info->key_version[0] ? info->key_version : info->kms_key, what, info->reason);
    else
        EM_FAIL(st, EM_FAILED_PRECONDITION,
                "The Cloud KMS key %s protecting %s is not accessible (%s). The messages are "
                "kept and will be delivered once the key is accessible again.",
                info->kms_key, what, info->reason);
}

void ps_state_changed(void *arg, const char *resource, enum em_cmek_state from,
                      enum em_cmek_state to)
{
    struct ps_registry *reg = arg;
    em_info("pubsub: %s: %s -> %s", resource, em_cmek_state_name(from), em_cmek_state_name(to));
    struct ps_topic *t = ps_topic_by_data_name(reg, resource);
    if (!t)
        return;
    if (em_datastore_state_changed(t->data, to))
        ps_topic_notify(t); /* the DEK left memory with the store; waiting pulls re-check */
    else
        ps_registry_kick_deliveries(reg); /* push resumes */
    ps_topic_put(t);
}
