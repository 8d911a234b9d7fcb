/*
 * Unit tests of the Pub/Sub service below HTTP: a real service (registry, CMEK engine with
 * Google default encryption, topic logs) on a temporary data directory, driven through
 * the registry and flow functions with the emulator clock moved by hand. Covers pulls
 * whose times reach the subscription out of order, the kmsKeyName location rule,
 * durability across a restart (acked messages stay acked, message IDs are never reused),
 * retention clean-up, dead-lettering on the timer (under --iam enforce only once the
 * Pub/Sub service agent holds its roles), seeking, expiration policies and snapshots'
 * expiry, and deleted topics: their subscriptions keep reading the backlog (across
 * restarts too) until the last one goes, then the data is shredded; a crash in the middle
 * is finished at the next start.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "em_iam.h"
#include "em_log.h"
#include "unit_pubsub.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOPIC "projects/unit-project/topics/orders"
#define SUB   "projects/unit-project/subscriptions/orders-sub"
#define SEC   EM_NS_PER_SEC

static void advance(struct unit_pubsub *f, int64_t seconds)
{
    struct em_status st = {0};
    int64_t offset;
    assert_int_equal(em_clock_advance(f->svc->store, seconds * SEC, &offset, &st), EM_OK);
    assert_int_equal(em_service_tick(f->svc, false, &st), EM_OK);
}

static void create_topic(struct unit_pubsub *f, const char *name)
{
    struct em_status st = {0};
    assert_int_equal(unit_pubsub_create_topic(f, name, NULL, &st), EM_OK);
}

static void create_sub(struct unit_pubsub *f, const char *name, struct ps_sub_config cfg)
{
    struct em_status st = {0};
    enum em_code code = unit_pubsub_create_sub(f, name, cfg, &st);
    if (code)
        fprintf(stderr, "create_sub: %s\n", st.message);
    assert_int_equal(code, EM_OK);
}

/* Publishes one message with data text; returns its sequence number. */
static int64_t publish(struct unit_pubsub *f, const char *topic, const char *text)
{
    struct em_status st = {0};
    int64_t seq = 0;
    assert_int_equal(unit_pubsub_publish(f, topic, text, "", &seq, &st), EM_OK);
    return seq;
}

/* Pulls up to max messages at emulator time now; their seqs in seqs[], ack IDs in
 * acks[][]. */
static size_t pull_at(struct unit_pubsub *f, const char *sub, int max, int64_t now, int64_t *seqs,
                      char acks[][PS_ACK_ID_MAX])
{
    struct ps_received *r;
    size_t n;
    struct em_status st = {0};
    assert_int_equal(ps_pull(unit_pubsub_reg(f), sub, max, true, now, &r, &n, &st), EM_OK);
    for (size_t i = 0; i < n; i++) {
        if (seqs)
            seqs[i] = r[i].msg.seq;
        if (acks)
            strcpy(acks[i], r[i].ack_id);
    }
    ps_received_free(r, n);
    return n;
}

static size_t pull(struct unit_pubsub *f, const char *sub, int max, int64_t *seqs,
                   char acks[][PS_ACK_ID_MAX])
{
    return pull_at(f, sub, max, em_clock_now(), seqs, acks);
}

static void ack(struct unit_pubsub *f, const char *sub, const char *ack_id)
{
    struct em_status st = {0};
    assert_int_equal(ps_acknowledge(unit_pubsub_reg(f), sub, &ack_id, 1, em_clock_now(), NULL, &st),
                     EM_OK);
}

/* Handlers take the time before the subscription's lock: concurrent pulls may reach it
 * in the other order. A pull that read messages ahead must not hide them from a pull
 * carrying an earlier time. */
static void test_pulls_with_times_out_of_order(void **state)
{
    struct unit_pubsub *f = *state;
    create_topic(f, TOPIC);
    create_sub(f, SUB, (struct ps_sub_config){.topic = TOPIC});
    for (int i = 1; i <= 3; i++)
        publish(f, TOPIC, "m");
    int64_t later = em_clock_now(), seqs[4];
    assert_int_equal(pull_at(f, SUB, 1, later, seqs, NULL), 1);
    assert_int_equal(seqs[0], 1);
    assert_int_equal(pull_at(f, SUB, 10, later - SEC / 1000, seqs, NULL), 2);
    assert_int_equal(seqs[0], 2);
    assert_int_equal(seqs[1], 3);
}

static void test_key_location_rule(void **state)
{
    struct unit_pubsub *f = *state;
    struct ps_topic *t;
    struct em_status st = {0};
    struct ps_topic_config cfg = {
        .kms_key = "projects/unit-project/locations/us-east1/keyRings/r/cryptoKeys/k"};
    /* a regional key on a topic that may store messages anywhere */
    assert_int_equal(ps_topic_create(unit_pubsub_reg(f), TOPIC, &cfg, em_clock_now(), &t, &st),
                     EM_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "\"us-east1\""));
    assert_non_null(strstr(st.message, "\"global\""));
    /* a region the key does not cover */
    cfg.regions = "us-east1,europe-west1";
    assert_int_equal(ps_topic_create(unit_pubsub_reg(f), TOPIC, &cfg, em_clock_now(), &t, &st),
                     EM_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "europe-west1"));
    /* a multi-region key covers its regions (and only then KMS is asked: here, none runs) */
    cfg.kms_key = "projects/unit-project/locations/us/keyRings/r/cryptoKeys/k";
    cfg.regions = "us-east1,us-central1";
    assert_int_equal(ps_topic_create(unit_pubsub_reg(f), TOPIC, &cfg, em_clock_now(), &t, &st),
                     EM_UNAVAILABLE);
    cfg.kms_key = "projects/unit-project/keyRings/r/cryptoKeys/k";
    assert_int_equal(ps_topic_create(unit_pubsub_reg(f), TOPIC, &cfg, em_clock_now(), &t, &st),
                     EM_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "kms_key_name"));
    cfg = (struct ps_topic_config){.regions = "mars-north1"};
    assert_int_equal(ps_topic_create(unit_pubsub_reg(f), TOPIC, &cfg, em_clock_now(), &t, &st),
                     EM_INVALID_ARGUMENT);
    cfg = (struct ps_topic_config){.retention_ns = 5 * SEC};
    assert_int_equal(ps_topic_create(unit_pubsub_reg(f), TOPIC, &cfg, em_clock_now(), &t, &st),
                     EM_INVALID_ARGUMENT);
    assert_null(ps_topic_get(unit_pubsub_reg(f), TOPIC)); /* nothing was created */
}

static void test_durable_across_restart(void **state)
{
    struct unit_pubsub *f = *state;
    create_topic(f, TOPIC);
    create_sub(f, SUB, (struct ps_sub_config){.topic = TOPIC});
    for (int i = 1; i <= 3; i++)
        assert_int_equal(publish(f, TOPIC, "m"), i);
    int64_t seqs[8];
    char acks[8][PS_ACK_ID_MAX];
    assert_int_equal(pull(f, SUB, 10, seqs, acks), 3);
    ack(f, SUB, acks[1]); /* message 2 */
    assert_int_equal(unit_pubsub_restart(f), 0);
    /* unacked messages come back at once (leases do not survive), the acked one never */
    assert_int_equal(pull(f, SUB, 10, seqs, acks), 2);
    assert_int_equal(seqs[0], 1);
    assert_int_equal(seqs[1], 3);
    ack(f, SUB, acks[0]);
    ack(f, SUB, acks[1]);
    advance(f, 1); /* the timer stores the floor and drops messages nobody needs */
    assert_int_equal(unit_pubsub_restart(f), 0);
    assert_int_equal(pull(f, SUB, 10, NULL, NULL), 0);
    assert_int_equal(publish(f, TOPIC, "m"), 4); /* ids are never reused */
}

static void test_stale_and_foreign_ack_ids(void **state)
{
    struct unit_pubsub *f = *state;
    create_topic(f, TOPIC);
    create_sub(f, SUB, (struct ps_sub_config){.topic = TOPIC});
    create_sub(f, SUB "-2", (struct ps_sub_config){.topic = TOPIC});
    publish(f, TOPIC, "m");
    char acks[2][PS_ACK_ID_MAX], other[2][PS_ACK_ID_MAX];
    assert_int_equal(pull(f, SUB, 1, NULL, acks), 1);
    assert_int_equal(pull(f, SUB "-2", 1, NULL, other), 1);
    struct em_status st = {0};
    const char *id = other[0];
    assert_int_equal(ps_acknowledge(unit_pubsub_reg(f), SUB, &id, 1, em_clock_now(), NULL, &st),
                     EM_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "invalid ack ID"));
    id = "not-an-ack-id";
    assert_int_equal(
        ps_modify_ack_deadline(unit_pubsub_reg(f), SUB, &id, 1, 60, em_clock_now(), NULL, &st),
        EM_INVALID_ARGUMENT);
    id = acks[0];
    assert_int_equal(
        ps_modify_ack_deadline(unit_pubsub_reg(f), SUB, &id, 1, 601, em_clock_now(), NULL, &st),
        EM_INVALID_ARGUMENT);
    /* redelivered after the deadline; the old ack ID still acknowledges it */
    advance(f, 11);
    assert_int_equal(pull(f, SUB, 1, NULL, NULL), 1);
    ack(f, SUB, acks[0]);
    advance(f, 11);
    assert_int_equal(pull(f, SUB, 1, NULL, NULL), 0);
}

/* One acknowledgement (or extension) call of ids on an exactly-once subscription: the
 * call's code, and in refused_out (when not NULL) what it refused. */
static enum em_code exactly_once_call(struct unit_pubsub *f, bool extend, const char **ids,
                                      size_t count, cJSON **refused_out, struct em_status *st)
{
    cJSON *refused = NULL;
    enum em_code code =
        extend ? ps_modify_ack_deadline(unit_pubsub_reg(f), SUB, ids, count, 30, em_clock_now(),
                                        &refused, st)
               : ps_acknowledge(unit_pubsub_reg(f), SUB, ids, count, em_clock_now(), &refused, st);
    assert_true(code == EM_OK ? refused == NULL : refused != NULL);
    if (refused_out)
        *refused_out = refused;
    else
        cJSON_Delete(refused);
    return code;
}

static void assert_refused_exactly(const cJSON *refused, const char *const *ids, size_t count,
                                   const struct em_status *st)
{
    assert_non_null(strstr(st->message, "Some acknowledgement ids in the request were invalid"));
    assert_string_equal(st->info_reason, "EXACTLY_ONCE_ACKID_FAILURE");
    assert_string_equal(st->info_domain, "pubsub.googleapis.com");
    assert_int_equal(cJSON_GetArraySize(refused), (int)count);
    for (size_t i = 0; i < count; i++)
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(refused, ids[i])),
                            "PERMANENT_FAILURE_INVALID_ACK_ID");
}

/* Exactly-once delivery: only a message's current delivery acknowledges or extends it;
 * an expired, superseded or nacked ack ID is refused by name while the others in the same
 * call take effect, and an acknowledged message is never delivered again. */
static void test_exactly_once_refuses_stale_ack_ids(void **state)
{
    struct unit_pubsub *f = *state;
    create_topic(f, TOPIC);
    create_sub(f, SUB, (struct ps_sub_config){.topic = TOPIC, .exactly_once = true});
    publish(f, TOPIC, "one");
    publish(f, TOPIC, "two");
    char first[2][PS_ACK_ID_MAX], second[2][PS_ACK_ID_MAX], third[2][PS_ACK_ID_MAX];
    assert_int_equal(pull(f, SUB, 2, NULL, first), 2);
    advance(f, 11); /* both leases end: the ack IDs have expired */
    struct em_status st = {0};
    cJSON *refused;
    const char *expired[] = {first[0], first[1], first[0]}; /* a repeated ID is named once */
    assert_int_equal(exactly_once_call(f, false, expired, 3, &refused, &st), EM_INVALID_ARGUMENT);
    assert_refused_exactly(refused, expired, 2, &st);
    cJSON_Delete(refused);
    assert_int_equal(exactly_once_call(f, true, expired, 1, NULL, &st), EM_INVALID_ARGUMENT);
    /* redelivered: the new ack IDs work, the old ones stay refused, each by name */
    assert_int_equal(pull(f, SUB, 2, NULL, second), 2);
    const char *extend[] = {second[0], second[1]};
    assert_int_equal(exactly_once_call(f, true, extend, 2, NULL, &st), EM_OK);
    const char *mixed[] = {first[0], second[0]};
    assert_int_equal(exactly_once_call(f, false, mixed, 2, &refused, &st), EM_INVALID_ARGUMENT);
    assert_refused_exactly(refused, mixed, 1, &st);
    cJSON_Delete(refused);
    /* message one was acknowledged by that call: acknowledging it again succeeds, but it
     * can no longer be extended */
    const char *acked[] = {second[0]};
    assert_int_equal(exactly_once_call(f, false, acked, 1, NULL, &st), EM_OK);
    assert_int_equal(exactly_once_call(f, true, acked, 1, NULL, &st), EM_INVALID_ARGUMENT);
    /* a nack ends the delivery: its ack ID cannot acknowledge the message afterwards */
    const char *two[] = {second[1]};
    assert_int_equal(
        ps_modify_ack_deadline(unit_pubsub_reg(f), SUB, two, 1, 0, em_clock_now(), NULL, &st),
        EM_OK);
    assert_int_equal(exactly_once_call(f, false, two, 1, NULL, &st), EM_INVALID_ARGUMENT);
    advance(f, 1);
    int64_t seqs[2];
    assert_int_equal(pull(f, SUB, 2, seqs, third), 1); /* message two only: one was acked */
    assert_int_equal(seqs[0], 2);
    ack(f, SUB, third[0]);
    advance(f, 30);
    assert_int_equal(pull(f, SUB, 2, NULL, NULL), 0);
}

/* Without exactly-once delivery an expired ack ID is no error (and still acknowledges). */
static void test_at_least_once_takes_expired_ack_ids(void **state)
{
    struct unit_pubsub *f = *state;
    create_topic(f, TOPIC);
    create_sub(f, SUB, (struct ps_sub_config){.topic = TOPIC});
    publish(f, TOPIC, "one");
    char acks[1][PS_ACK_ID_MAX];
    assert_int_equal(pull(f, SUB, 1, NULL, acks), 1);
    advance(f, 11);
    struct em_status st = {0};
    const char *id = acks[0];
    cJSON *refused = NULL;
    assert_int_equal(
        ps_modify_ack_deadline(unit_pubsub_reg(f), SUB, &id, 1, 30, em_clock_now(), &refused, &st),
        EM_OK);
    assert_null(refused);
    ack(f, SUB, acks[0]);
    advance(f, 30);
    assert_int_equal(pull(f, SUB, 1, NULL, NULL), 0);
}

static void test_dead_letter_on_timer(void **state)
{
    struct unit_pubsub *f = *state;
    create_topic(f, TOPIC);
    create_topic(f, TOPIC "-dead");
    create_sub(f, SUB "-dead", (struct ps_sub_config){.topic = TOPIC "-dead"});
    create_sub(f, SUB,
               (struct ps_sub_config){
                   .topic = TOPIC, .dead_letter_topic = TOPIC "-dead", .max_delivery_attempts = 5});
    publish(f, TOPIC, "poison");
    for (int attempt = 1; attempt <= 5; attempt++) {
        assert_int_equal(pull(f, SUB, 1, NULL, NULL), 1);
        advance(f, 11); /* ack deadline expires: a failed delivery */
    }
    /* the timer forwarded it: gone from the subscription, in the dead-letter topic */
    assert_int_equal(pull(f, SUB, 1, NULL, NULL), 0);
    struct ps_received *r;
    size_t n;
    struct em_status st = {0};
    assert_int_equal(
        ps_pull(unit_pubsub_reg(f), SUB "-dead", 10, true, em_clock_now(), &r, &n, &st), EM_OK);
    assert_int_equal(n, 1);
    assert_memory_equal(r[0].msg.data, "poison", 6);
    assert_non_null(
        strstr(r[0].msg.attributes, "\"CloudPubSubDeadLetterSourceDeliveryCount\":\"5\""));
    assert_non_null(strstr(r[0].msg.attributes, "orders-sub"));
    ps_received_free(r, n);
}

static void grant(struct unit_pubsub *f, const char *resource, const char *role, const char *member)
{
    char text[512];
    snprintf(text, sizeof(text), "{\"bindings\":[{\"role\":\"%s\",\"members\":[\"%s\"]}]}", role,
             member);
    cJSON *policy = cJSON_Parse(text), *stored = NULL;
    struct em_status st = {0};
    assert_int_equal(em_iam_set_policy(f->svc->store, resource, policy, &stored, &st), EM_OK);
    cJSON_Delete(policy);
    cJSON_Delete(stored);
}

static void test_dead_letter_needs_the_service_agent_under_enforce(void **state)
{
    struct unit_pubsub *f = *state;
    f->cfg.iam_enforce = true;
    assert_int_equal(unit_pubsub_restart(f), 0);
    const char *dead_topic = "projects/other-project/topics/dead";
    create_topic(f, TOPIC);
    create_topic(f, dead_topic);
    create_sub(f, "projects/other-project/subscriptions/dead-sub",
               (struct ps_sub_config){.topic = (char *)dead_topic});
    create_sub(f, SUB,
               (struct ps_sub_config){.topic = TOPIC,
                                      .dead_letter_topic = (char *)dead_topic,
                                      .max_delivery_attempts = 5});
    publish(f, TOPIC, "poison");
    /* without the agent's roles attempts do not count: it keeps coming back */
    for (int attempt = 1; attempt <= 7; attempt++) {
        assert_int_equal(pull(f, SUB, 1, NULL, NULL), 1);
        advance(f, 11);
    }
    char agent[EM_PRINCIPAL_MAX];
    em_cmek_agent(f->svc->cmek, "unit-project", agent, sizeof(agent));
    grant(f, dead_topic, "roles/pubsub.publisher", agent);
    advance(f, 1);
    assert_int_equal(pull(f, SUB, 1, NULL, NULL), 1); /* subscriber is missing still */
    grant(f, SUB, "roles/pubsub.subscriber", agent);
    advance(f, 11); /* the tick sees both roles and forwards it */
    assert_int_equal(pull(f, SUB, 1, NULL, NULL), 0);
    assert_int_equal(pull(f, "projects/other-project/subscriptions/dead-sub", 10, NULL, NULL), 1);
}

static void test_seek_to_time(void **state)
{
    struct unit_pubsub *f = *state;
    create_topic(f, TOPIC);
    create_sub(f, SUB, (struct ps_sub_config){.topic = TOPIC, .retain_acked = true});
    create_sub(f, SUB "-plain", (struct ps_sub_config){.topic = TOPIC});
    publish(f, TOPIC, "old");
    advance(f, 60);
    int64_t middle = em_clock_now();
    advance(f, 60);
    publish(f, TOPIC, "new");
    char acks[4][PS_ACK_ID_MAX];
    struct em_status st = {0};
    for (int i = 0; i < 2; i++) {
        const char *sub = i ? SUB "-plain" : SUB;
        assert_int_equal(pull(f, sub, 10, NULL, acks), 2);
        ack(f, sub, acks[0]);
        ack(f, sub, acks[1]);
        assert_int_equal(ps_seek(unit_pubsub_reg(f), sub, NULL, middle, em_clock_now(), &st),
                         EM_OK);
    }
    /* retained acked messages after the time come back ... */
    int64_t seqs[4];
    assert_int_equal(pull(f, SUB, 10, seqs, NULL), 1);
    assert_int_equal(seqs[0], 2);
    /* ... but not when acked messages were not retained */
    assert_int_equal(pull(f, SUB "-plain", 10, NULL, NULL), 0);
    /* seeking to the start replays everything retained */
    assert_int_equal(ps_seek(unit_pubsub_reg(f), SUB, NULL, 0, em_clock_now(), &st), EM_OK);
    assert_int_equal(pull(f, SUB, 10, NULL, NULL), 2);
}

/* A subscription holds only what was published after its creation: seeking to an earlier
 * time brings back none of the older messages, unless the topic retains messages. */
static void test_seek_not_before_creation(void **state)
{
    struct unit_pubsub *f = *state;
    struct em_status st = {0};
    create_topic(f, TOPIC);
    create_sub(f, SUB "-early", (struct ps_sub_config){.topic = TOPIC}); /* "before" is kept */
    publish(f, TOPIC, "before");
    advance(f, 60);
    create_sub(f, SUB, (struct ps_sub_config){.topic = TOPIC, .retain_acked = true});
    publish(f, TOPIC, "after");
    char acks[4][PS_ACK_ID_MAX];
    assert_int_equal(pull(f, SUB, 10, NULL, acks), 1);
    ack(f, SUB, acks[0]);
    assert_int_equal(ps_seek(unit_pubsub_reg(f), SUB, NULL, 0, em_clock_now(), &st), EM_OK);
    int64_t seqs[4];
    assert_int_equal(pull(f, SUB, 10, seqs, NULL), 1);
    assert_int_equal(seqs[0], 2); /* "after" only */
}

static void test_snapshot_restores_ack_state(void **state)
{
    struct unit_pubsub *f = *state;
    create_topic(f, TOPIC);
    create_sub(f, SUB, (struct ps_sub_config){.topic = TOPIC});
    publish(f, TOPIC, "a");
    publish(f, TOPIC, "b");
    char acks[4][PS_ACK_ID_MAX];
    assert_int_equal(pull(f, SUB, 1, NULL, acks), 1);
    ack(f, SUB, acks[0]); /* a is acked before the snapshot */
    struct ps_snapshot *snap;
    struct em_status st = {0};
    assert_int_equal(ps_snapshot_create(unit_pubsub_reg(f), "projects/unit-project/snapshots/snap",
                                        SUB, NULL, em_clock_now(), &snap, &st),
                     EM_OK);
    assert_true(snap->expire_ns > em_clock_now() + 6 * PS_DAY_NS);
    ps_snapshot_put(snap);
    publish(f, TOPIC, "c");
    assert_int_equal(pull(f, SUB, 10, NULL, acks), 2);
    ack(f, SUB, acks[0]);
    ack(f, SUB, acks[1]);
    assert_int_equal(ps_seek(unit_pubsub_reg(f), SUB, "projects/unit-project/snapshots/snap", 0,
                             em_clock_now(), &st),
                     EM_OK);
    int64_t seqs[4];
    assert_int_equal(pull(f, SUB, 10, seqs, NULL), 2); /* b and c, not a */
    assert_int_equal(seqs[0], 2);
    assert_int_equal(seqs[1], 3);
    /* snapshots expire 7 days after the oldest unacked message */
    advance(f, 7 * 86400);
    assert_null(ps_snapshot_get(unit_pubsub_reg(f), "projects/unit-project/snapshots/snap"));
}

static void test_expiration_policy(void **state)
{
    struct unit_pubsub *f = *state;
    create_topic(f, TOPIC);
    create_sub(
        f, SUB,
        (struct ps_sub_config){.topic = TOPIC, .retention_ns = PS_DAY_NS, .ttl_ns = PS_DAY_NS});
    create_sub(f, SUB "-forever", (struct ps_sub_config){.topic = TOPIC, .ttl_ns = 0});
    create_sub(f, SUB "-default",
               (struct ps_sub_config){.topic = TOPIC, .ttl_ns = PS_DURATION_UNSET});
    advance(f, 86400 - 10);
    assert_int_equal(pull(f, SUB, 1, NULL, NULL), 0); /* activity resets the clock */
    advance(f, 86400 - 10);
    struct ps_sub *s = ps_sub_get(unit_pubsub_reg(f), SUB);
    assert_non_null(s);
    ps_sub_put(s);
    advance(f, 20);
    assert_null(ps_sub_get(unit_pubsub_reg(f), SUB));
    /* created with expirationPolicy {} (ttl 0): never expires; a missing policy: 31 days */
    advance(f, 27 * 86400); /* 29 days in all */
    s = ps_sub_get(unit_pubsub_reg(f), SUB "-default");
    assert_non_null(s);
    assert_int_equal(s->cfg.ttl_ns, 31 * PS_DAY_NS);
    ps_sub_put(s);
    advance(f, 2 * 86400);
    assert_null(ps_sub_get(unit_pubsub_reg(f), SUB "-default"));
    advance(f, 40 * 86400);
    s = ps_sub_get(unit_pubsub_reg(f), SUB "-forever");
    assert_non_null(s);
    assert_int_equal(s->cfg.ttl_ns, 0);
    ps_sub_put(s);
}

/* How many topic stores lie in the data directory. */
static int store_files(struct unit_pubsub *f)
{
    char dir[PATH_MAX + 16];
    snprintf(dir, sizeof(dir), "%s/pubsub", f->cfg.data_dir);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        n += len > 3 && strcmp(e->d_name + len - 3, ".db") == 0;
    }
    closedir(d);
    return n;
}

static bool protected(struct unit_pubsub *f, const char *resource)
{
    struct em_cmek_info info;
    return em_cmek_info(unit_pubsub_reg(f)->cmek, resource, &info);
}

/* Deletes the topic; returns the name its retained data goes by (malloc'd). */
static char *delete_topic(struct unit_pubsub *f, const char *name)
{
    struct ps_topic *t = ps_topic_get(unit_pubsub_reg(f), name);
    assert_non_null(t);
    char *retained = strdup(t->retained_name);
    ps_topic_put(t);
    struct em_status st = {0};
    assert_int_equal(ps_topic_delete(unit_pubsub_reg(f), name, em_clock_now(), &st), EM_OK);
    return retained;
}

static void delete_sub(struct unit_pubsub *f, const char *name)
{
    struct em_status st = {0};
    assert_int_equal(ps_sub_delete(unit_pubsub_reg(f), name, &st), EM_OK);
}

static void test_deleted_topic_keeps_its_backlog(void **state)
{
    struct unit_pubsub *f = *state;
    create_topic(f, TOPIC);
    create_sub(f, SUB, (struct ps_sub_config){.topic = TOPIC});
    create_sub(f, SUB "-2", (struct ps_sub_config){.topic = TOPIC});
    publish(f, TOPIC, "a");
    publish(f, TOPIC, "b");
    int64_t seqs[4];
    char acks[4][PS_ACK_ID_MAX];
    assert_int_equal(pull(f, SUB, 1, seqs, acks), 1); /* a is outstanding */
    char *retained = delete_topic(f, TOPIC);
    struct ps_sub *s = ps_sub_get(unit_pubsub_reg(f), SUB);
    assert_string_equal(s->cfg.topic, PS_DELETED_TOPIC);
    ps_sub_put(s);
    /* the backlog stays: b now, a again once its ack deadline expired */
    assert_int_equal(pull(f, SUB, 10, seqs, acks), 1);
    assert_int_equal(seqs[0], 2);
    ack(f, SUB, acks[0]);
    advance(f, 11);
    assert_int_equal(pull(f, SUB, 10, seqs, acks), 1);
    assert_int_equal(seqs[0], 1);
    const char *id = acks[0];
    struct em_status st = {0};
    assert_int_equal(
        ps_modify_ack_deadline(unit_pubsub_reg(f), SUB, &id, 1, 0, em_clock_now(), NULL, &st),
        EM_OK); /* nack */
    assert_int_equal(pull(f, SUB, 10, seqs, acks), 1);
    ack(f, SUB, acks[0]);
    assert_int_equal(pull(f, SUB, 10, NULL, NULL), 0);
    /* no more publishing; the name is free: a new topic, its own messages and key */
    struct ps_message m = {.data = (unsigned char *)"x", .data_len = 1};
    assert_int_equal(ps_publish(unit_pubsub_reg(f), TOPIC, &m, 1, em_clock_now(), &st),
                     EM_NOT_FOUND);
    assert_true(protected(f, retained));
    assert_false(protected(f, TOPIC));
    create_topic(f, TOPIC);
    assert_true(protected(f, TOPIC));
    create_sub(f, SUB "-new", (struct ps_sub_config){.topic = TOPIC});
    assert_int_equal(publish(f, TOPIC, "new"), 1);
    assert_int_equal(pull(f, SUB "-new", 10, seqs, NULL), 1);
    assert_int_equal(pull(f, SUB, 10, NULL, NULL), 0);      /* the old subscription is not fed */
    assert_int_equal(pull(f, SUB "-2", 10, NULL, NULL), 2); /* its own backlog: a and b */
    assert_int_equal(store_files(f), 2);
    /* the last reader goes: the retained data is shredded, the new topic untouched */
    delete_sub(f, SUB);
    assert_true(protected(f, retained));
    delete_sub(f, SUB "-2");
    assert_false(protected(f, retained));
    assert_int_equal(store_files(f), 1);
    assert_true(protected(f, TOPIC));
    assert_int_equal(pull(f, SUB "-new", 10, NULL, NULL), 0); /* acked nothing: leased */
    free(retained);
}

static void test_deleted_topic_without_readers_is_shredded(void **state)
{
    struct unit_pubsub *f = *state;
    create_topic(f, TOPIC);
    create_sub(f, SUB, (struct ps_sub_config){.topic = TOPIC});
    publish(f, TOPIC, "gone");
    struct em_status st = {0};
    assert_int_equal(ps_sub_detach(unit_pubsub_reg(f), SUB, &st), EM_OK);
    char *retained = delete_topic(f, TOPIC);
    assert_false(protected(f, retained));
    assert_false(protected(f, TOPIC));
    assert_int_equal(store_files(f), 0);
    assert_int_equal(ps_topic_delete(unit_pubsub_reg(f), TOPIC, em_clock_now(), &st), EM_NOT_FOUND);
    free(retained);
}

static void test_deleted_topic_survives_restart(void **state)
{
    struct unit_pubsub *f = *state;
    create_topic(f, TOPIC);
    create_sub(f, SUB, (struct ps_sub_config){.topic = TOPIC});
    publish(f, TOPIC, "a");
    publish(f, TOPIC, "b");
    char *retained = delete_topic(f, TOPIC);
    create_topic(f, TOPIC);
    assert_int_equal(publish(f, TOPIC, "new"), 1);
    assert_int_equal(unit_pubsub_restart(f), 0);
    int64_t seqs[4];
    char acks[4][PS_ACK_ID_MAX];
    assert_int_equal(pull(f, SUB, 10, seqs, acks), 2);
    ack(f, SUB, acks[0]);
    assert_int_equal(unit_pubsub_restart(f), 0);
    assert_int_equal(pull(f, SUB, 10, seqs, acks), 1); /* acked stays acked */
    assert_int_equal(seqs[0], 2);
    struct ps_sub *s = ps_sub_get(unit_pubsub_reg(f), SUB);
    assert_string_equal(s->cfg.topic, PS_DELETED_TOPIC);
    ps_sub_put(s);
    delete_sub(f, SUB);
    assert_false(protected(f, retained));
    assert_int_equal(store_files(f), 1);
    assert_int_equal(unit_pubsub_restart(f), 0); /* and it stays gone */
    assert_false(protected(f, retained));
    assert_true(protected(f, TOPIC));
    free(retained);
}

static void test_deleted_topic_seek_and_snapshots(void **state)
{
    struct unit_pubsub *f = *state;
    create_topic(f, TOPIC);
    create_sub(f, SUB, (struct ps_sub_config){.topic = TOPIC, .retain_acked = true});
    publish(f, TOPIC, "a");
    struct em_status st = {0};
    struct ps_snapshot *snap;
    assert_int_equal(ps_snapshot_create(unit_pubsub_reg(f),
                                        "projects/unit-project/snapshots/before", SUB, NULL,
                                        em_clock_now(), &snap, &st),
                     EM_OK);
    ps_snapshot_put(snap);
    char acks[4][PS_ACK_ID_MAX];
    assert_int_equal(pull(f, SUB, 10, NULL, acks), 1);
    ack(f, SUB, acks[0]);
    free(delete_topic(f, TOPIC));
    /* seeking to a time replays the retained messages */
    assert_int_equal(ps_seek(unit_pubsub_reg(f), SUB, NULL, 0, em_clock_now(), &st), EM_OK);
    assert_int_equal(pull(f, SUB, 10, NULL, acks), 1);
    /* the deleted topic's snapshot is listed but serves no seek; no new snapshot of it */
    snap = ps_snapshot_get(unit_pubsub_reg(f), "projects/unit-project/snapshots/before");
    assert_non_null(snap);
    assert_string_equal(snap->topic, PS_DELETED_TOPIC);
    ps_snapshot_put(snap);
    assert_int_equal(ps_seek(unit_pubsub_reg(f), SUB, "projects/unit-project/snapshots/before", 0,
                             em_clock_now(), &st),
                     EM_FAILED_PRECONDITION);
    assert_non_null(strstr(st.message, "distinct topic"));
    assert_int_equal(ps_snapshot_create(unit_pubsub_reg(f), "projects/unit-project/snapshots/after",
                                        SUB, NULL, em_clock_now(), &snap, &st),
                     EM_FAILED_PRECONDITION);
}

static void test_deleted_topic_timers(void **state)
{
    struct unit_pubsub *f = *state;
    create_topic(f, TOPIC);
    create_topic(f, TOPIC "-dead");
    create_sub(f, SUB "-dead", (struct ps_sub_config){.topic = TOPIC "-dead"});
    create_sub(f, SUB,
               (struct ps_sub_config){
                   .topic = TOPIC, .dead_letter_topic = TOPIC "-dead", .max_delivery_attempts = 5});
    create_sub(f, SUB "-short",
               (struct ps_sub_config){
                   .topic = TOPIC, .retention_ns = PS_MIN_RETENTION_NS, .ttl_ns = PS_DAY_NS});
    publish(f, TOPIC, "poison");
    char *retained = delete_topic(f, TOPIC);
    /* dead-lettering goes on for the deleted topic's subscription */
    for (int attempt = 1; attempt <= 5; attempt++) {
        assert_int_equal(pull(f, SUB, 1, NULL, NULL), 1);
        advance(f, 11);
    }
    assert_int_equal(pull(f, SUB, 1, NULL, NULL), 0);
    assert_int_equal(pull(f, SUB "-dead", 10, NULL, NULL), 1);
    /* retention: the message is dropped 10 minutes after its publication */
    advance(f, 600);
    assert_int_equal(pull(f, SUB "-short", 10, NULL, NULL), 0);
    /* expiration policy: the last reader expires, the data is shredded */
    delete_sub(f, SUB);
    assert_true(protected(f, retained));
    advance(f, 86400);
    assert_null(ps_sub_get(unit_pubsub_reg(f), SUB "-short"));
    assert_false(protected(f, retained));
    free(retained);
}

static void test_interrupted_deletion_is_finished_at_start(void **state)
{
    struct unit_pubsub *f = *state;
    create_topic(f, TOPIC);
    create_sub(f, SUB, (struct ps_sub_config){.topic = TOPIC});
    create_topic(f, TOPIC "-b");
    create_sub(f, SUB "-b", (struct ps_sub_config){.topic = TOPIC "-b"});
    publish(f, TOPIC, "a");
    publish(f, TOPIC "-b", "b");
    char *retained = delete_topic(f, TOPIC), *retained_b = delete_topic(f, TOPIC "-b");
    struct em_status st = {0};
    /* a crash between metadata.db and the rename: the engine still has the old name */
    assert_int_equal(em_cmek_rename(unit_pubsub_reg(f)->cmek, retained, TOPIC, &st), EM_OK);
    /* a crash while shredding: the keys are gone, the row and the file are not */
    assert_int_equal(em_cmek_forget(unit_pubsub_reg(f)->cmek, retained_b, &st), EM_OK);
    assert_int_equal(unit_pubsub_restart(f), 0);
    assert_true(protected(f, retained));
    assert_false(protected(f, TOPIC));
    assert_int_equal(pull(f, SUB, 10, NULL, NULL), 1);
    assert_int_equal(pull(f, SUB "-b", 10, NULL, NULL), 0);
    assert_int_equal(store_files(f), 1);
    free(retained);
    free(retained_b);
}

int main(void)
{
    em_log_init("test", EM_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        UNIT_PUBSUB_TEST(test_pulls_with_times_out_of_order),
        UNIT_PUBSUB_TEST(test_key_location_rule),
        UNIT_PUBSUB_TEST(test_durable_across_restart),
        UNIT_PUBSUB_TEST(test_stale_and_foreign_ack_ids),
        UNIT_PUBSUB_TEST(test_exactly_once_refuses_stale_ack_ids),
        UNIT_PUBSUB_TEST(test_at_least_once_takes_expired_ack_ids),
        UNIT_PUBSUB_TEST(test_dead_letter_on_timer),
        UNIT_PUBSUB_TEST(test_dead_letter_needs_the_service_agent_under_enforce),
        UNIT_PUBSUB_TEST(test_seek_to_time),
        UNIT_PUBSUB_TEST(test_seek_not_before_creation),
        UNIT_PUBSUB_TEST(test_snapshot_restores_ack_state),
        UNIT_PUBSUB_TEST(test_expiration_policy),
        UNIT_PUBSUB_TEST(test_deleted_topic_keeps_its_backlog),
        UNIT_PUBSUB_TEST(test_deleted_topic_without_readers_is_shredded),
        UNIT_PUBSUB_TEST(test_deleted_topic_survives_restart),
        UNIT_PUBSUB_TEST(test_deleted_topic_seek_and_snapshots),
        UNIT_PUBSUB_TEST(test_deleted_topic_timers),
        UNIT_PUBSUB_TEST(test_interrupted_deletion_is_finished_at_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
