/*
 * pubsub_agent: what the Pub/Sub service agent of a subscription's project
 * (service-<number>@gcp-sa-pubsub.iam.gserviceaccount.com) may do for it. Google
 * dead-letters only when the agent has pubsub.topics.publish on the dead-letter topic
 * and pubsub.subscriptions.consume on the subscription; under --iam enforce a denial is
 * logged and written to the audit log once, as the agent's refused Publish.
 */
#include "pubsub_errors.h"
#include "pubsub_registry_parts.h"

#include "em_audit.h"
#include "em_clock.h"
#include "em_config.h"
#include "em_crypto.h"
#include "em_filter.h"
#include "em_iam.h"
#include "em_log.h"
#include "em_names.h"
#include "em_store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The agent's refused Publish, as Google's audit log would show it. */
static void report_dead_letter_denied(struct ps_registry *reg, struct ps_sub *sub, int64_t now,
                                      const char *agent, const char *topic, const char *why)
{
    /* why, two resource names, the agent and the sentence around them */
    char message[EM_STATUS_MESSAGE_MAX + 2 * PS_NAME_MAX + EM_PRINCIPAL_MAX + 256];
    snprintf(message, sizeof(message),
             "%s Messages of %s are not dead-lettered (they keep being redelivered) until "
             "the Pub/Sub service agent %s has roles/pubsub.publisher on %s and "
             "roles/pubsub.subscriber on the subscription.",
             why, sub->name, agent + strlen("serviceAccount:"), topic);
    em_warn("pubsub: %s", message);
    if (!reg->audit)
        return;
    struct em_audit_entry e = {
        .time_ns = now,
        .service = "pubsub",
        .kind = EM_AUDIT_DATA_ACCESS,
        .principal = agent,
        .method = "Publish",
        .resource = topic,
        .caller = sub->name,
        .code = EM_PERMISSION_DENIED,
        .message = message,
    };
    em_audit_record(reg->audit, &e);
}

void ps_sub_check_dead_letter(struct ps_registry *reg, struct ps_sub *sub, int64_t now)
{
    char topic[PS_NAME_MAX] = "";
    pthread_mutex_lock(&sub->lock);
    if (sub->cfg.dead_letter_topic)
        snprintf(topic, sizeof(topic), "%s", sub->cfg.dead_letter_topic);
    pthread_mutex_unlock(&sub->lock);
    if (!topic[0] || !reg->config->iam_enforce || !reg->cmek) {
        atomic_store(&sub->dead_letter_denied, false);
        return;
    }
    char agent[EM_PRINCIPAL_MAX];
    em_cmek_agent(reg->cmek, sub->project, agent, sizeof(agent));
    struct em_status st = {0};
    bool allowed =
        em_iam_check(reg->meta, reg->config, agent, topic, "pubsub.topics.publish", &st) == EM_OK &&
        em_iam_check(reg->meta, reg->config, agent, sub->name, "pubsub.subscriptions.consume",
                     &st) == EM_OK;
    atomic_store(&sub->dead_letter_denied, !allowed);
    pthread_mutex_lock(&sub->lock);
    bool report = !allowed && !sub->dead_letter_reported;
    if (!allowed && report)
        sub->dead_letter_reported = true;
    else if (allowed && sub->dead_letter_reported) {
        sub->dead_letter_reported = false;
        em_info("pubsub: dead-lettering from %s to %s resumes", sub->name, topic);
    }
    pthread_mutex_unlock(&sub->lock);
    if (report)
        report_dead_letter_denied(reg, sub, now, agent, topic, st.message);
}
