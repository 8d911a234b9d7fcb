/*
 * pubsub_publish: publish: one job on the topic's data store hands out sequence numbers
 * and publish times and inserts the rows; many publishes share a commit (group commit).
 * The reply waits for the commit: parked (ps_publish_start/end) or blocking (ps_publish).
 * Every publish passes the topic's CMEK gate; messages to a topic with a schema are
 * checked against it first (pubsub_schema_check.c).
 */
#include "pubsub_errors.h"
#include "pubsub_flow_parts.h"
#include "pubsub_schemas.h"

#include "em_audit.h"
#include "em_clock.h"
#include "em_config.h"
#include "em_crypto.h"
#include "em_iam.h"
#include "em_log.h"
#include "em_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct publish_job {
    struct ps_message *msgs;
    size_t count;
    int64_t now; /* the request's emulator time: the publish time (never going back) */
};

static enum em_code job_publish(struct em_datafile *log, void *arg, struct em_status *st)
{
    struct publish_job *j = arg;
    struct em_store *store = em_datafile_store(log);
    for (size_t i = 0; i < j->count; i++) {
        struct ps_message *m = &j->msgs[i];
        m->seq = ps_log_take_seq(log, &m->publish_ns, j->now);
        if (ps_store_insert_message(store, m, st))
            return st->code;
    }
    return EM_OK;
}

/* A publish in flight: the topic and its log stay referenced until it ends. */
struct ps_publish {
    struct ps_topic *topic;
    struct ps_topic *held; /* the reference ps_publish_start took (put at the end) */
    struct em_datafile *log;
    struct publish_job job;
    struct em_datafile_result result;
};

/* Queues msgs on the log of topic, which the caller keeps referenced until the end. */
static enum em_code start_on(struct ps_topic *topic, struct ps_message *msgs, size_t count,
                             int64_t now, void (*done)(void *done_arg), void *done_arg,
                             struct ps_publish **out, struct em_status *st)
{
    struct ps_publish *op = calloc(1, sizeof(*op));
    if (!op)
        return EM_FAIL_OOM(st);
    op->topic = topic;
    op->job = (struct publish_job){msgs, count, now};
    enum em_code code = ps_topic_open_data(topic, &op->log, st);
    if (!code)
        code = em_datafile_submit(op->log, job_publish, &op->job, &op->result, done, done_arg, st);
    if (code) {
        if (op->log)
            ps_topic_close_data(topic, op->log);
        free(op);
        return code;
    }
    *out = op;
    return EM_OK;
}

enum em_code ps_publish_start(struct ps_registry *reg, const char *topic_name,
                              struct ps_message *msgs, size_t count, int64_t now,
                              void (*done)(void *done_arg), void *done_arg, struct ps_publish **out,
                              struct em_status *st)
{
    struct ps_topic *topic = ps_topic_get(reg, topic_name);
    if (!topic)
        return PS_ERR_TOPIC_NOT_FOUND(st);
    enum em_code code = ps_topic_check_messages(reg, topic, msgs, count, st);
    if (!code)
        code = start_on(topic, msgs, count, now, done, done_arg, out, st);
    if (code)
        ps_topic_put(topic);
    else
        (*out)->held = topic;
    return code;
}

enum em_code ps_publish_end(struct ps_publish *op, struct em_status *st)
{
    enum em_code code = op->result.code;
    if (code)
        *st = op->result.st;
    ps_topic_close_data(op->topic, op->log);
    ps_topic_put(op->held);
    free(op);
    return code;
}

/* Publishes to a topic the caller holds and waits until the messages are stored. */
enum em_code ps_publish_to(struct ps_topic *topic, struct ps_message *msgs, size_t count,
                           int64_t now, struct em_status *st)
{
    struct em_datafile *log;
    if (ps_topic_open_data(topic, &log, st))
        return st->code;
    struct publish_job job = {msgs, count, now};
    enum em_code code = em_datafile_run(log, job_publish, &job, st);
    ps_topic_close_data(topic, log);
    return code;
}

enum em_code ps_publish(struct ps_registry *reg, const char *topic_name, struct ps_message *msgs,
                        size_t count, int64_t now, struct em_status *st)
{
    struct ps_topic *topic = ps_topic_get(reg, topic_name);
    if (!topic)
        return PS_ERR_TOPIC_NOT_FOUND(st);
    enum em_code code = ps_topic_check_messages(reg, topic, msgs, count, st);
    if (!code)
        code = ps_publish_to(topic, msgs, count, now, st);
    ps_topic_put(topic);
    return code;
}
