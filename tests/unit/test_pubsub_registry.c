/*
 * Unit tests of Pub/Sub's registry (topics, subscriptions, snapshots) below HTTP: a real
 * service on a temporary data directory (CMEK engine with Google default encryption),
 * driven through the registry's functions. Covers create/update/delete of topics and
 * subscriptions with Google's validation errors, defaults, detach, snapshots, listing
 * by project, a deleted topic retained for its reader and shredded when the reader goes,
 * and the registry rebuilt from metadata.db's rows after a restart.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "unit_pubsub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROJECT "projects/reg-project"
#define TOPIC   PROJECT "/topics/orders"
#define SUB     PROJECT "/subscriptions/orders-sub"
#define SNAP    PROJECT "/snapshots/orders-snap"

/* --- topics --- */

static void test_topic_lifecycle(void **state)
{
    struct unit_pubsub *f = *state;
    struct em_status st = {0};
    struct ps_topic_config cfg = {.labels_json = "{\"a\":\"1\"}"};
    assert_int_equal(unit_pubsub_create_topic(f, TOPIC, &cfg, &st), EM_OK);
    assert_int_equal(unit_pubsub_create_topic(f, TOPIC, NULL, &st), EM_ALREADY_EXISTS);

    struct ps_topic_update update = {.mask = PS_TOPIC_LABELS,
                                     .cfg = {.labels_json = "{\"b\":\"2\"}"}};
    struct ps_topic *t = NULL;
    assert_int_equal(ps_topic_update(unit_pubsub_reg(f), TOPIC, &update, &t, &st), EM_OK);
    assert_string_equal(t->cfg.labels_json, "{\"b\":\"2\"}");
    ps_topic_put(t);

    /* a patch that breaks a rule changes nothing */
    update = (struct ps_topic_update){.mask = PS_TOPIC_RETENTION,
                                      .cfg = {.retention_ns = 60 * EM_NS_PER_SEC}};
    assert_int_equal(ps_topic_update(unit_pubsub_reg(f), TOPIC, &update, &t, &st),
                     EM_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "between 10 minutes"));
    t = ps_topic_get(unit_pubsub_reg(f), TOPIC);
    assert_non_null(t);
    assert_int_equal(t->cfg.retention_ns, 0);
    assert_string_equal(t->cfg.labels_json, "{\"b\":\"2\"}");
    ps_topic_put(t);

    assert_int_equal(ps_topic_delete(unit_pubsub_reg(f), TOPIC, em_clock_now(), &st), EM_OK);
    assert_null(ps_topic_get(unit_pubsub_reg(f), TOPIC));
    assert_int_equal(ps_topic_delete(unit_pubsub_reg(f), TOPIC, em_clock_now(), &st), EM_NOT_FOUND);
    assert_int_equal(ps_topic_update(unit_pubsub_reg(f), TOPIC, &update, &t, &st), EM_NOT_FOUND);
}

static void test_topic_rules(void **state)
{
    struct unit_pubsub *f = *state;
    struct em_status st = {0};
    struct ps_topic_config cfg = {.retention_ns = 32 * PS_DAY_NS};
    assert_int_equal(unit_pubsub_create_topic(f, TOPIC, &cfg, &st), EM_INVALID_ARGUMENT);
    cfg = (struct ps_topic_config){.regions = "not a region!"};
    assert_int_equal(unit_pubsub_create_topic(f, TOPIC, &cfg, &st), EM_INVALID_ARGUMENT);
    assert_null(ps_topic_get(unit_pubsub_reg(f), TOPIC)); /* nothing left behind */
    cfg = (struct ps_topic_config){.retention_ns = PS_MIN_RETENTION_NS};
    assert_int_equal(unit_pubsub_create_topic(f, TOPIC, &cfg, &st), EM_OK);
}

/* A mask path naming one field of messageStoragePolicy changes that field only. */
static void test_storage_policy_patched_field_by_field(void **state)
{
    struct unit_pubsub *f = *state;
    struct em_status st = {0};
    struct ps_topic_config cfg = {.regions = "us-east1", .enforce_in_transit = true};
    assert_int_equal(unit_pubsub_create_topic(f, TOPIC, &cfg, &st), EM_OK);
    struct {
        unsigned mask;
        struct ps_topic_config cfg;
        const char *regions;
        bool in_transit;
    } steps[] = {
        {PS_TOPIC_STORAGE_REGIONS, {.regions = "europe-west1"}, "europe-west1", true},
        {PS_TOPIC_STORAGE_IN_TRANSIT, {.enforce_in_transit = false}, "europe-west1", false},
        {PS_TOPIC_STORAGE_POLICY,
         {.regions = "us-east1", .enforce_in_transit = true},
         "us-east1",
         true},
    };
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        struct ps_topic_update update = {.mask = steps[i].mask, .cfg = steps[i].cfg};
        struct ps_topic *t = NULL;
        assert_int_equal(ps_topic_update(unit_pubsub_reg(f), TOPIC, &update, &t, &st), EM_OK);
        assert_string_equal(t->cfg.regions, steps[i].regions);
        assert_int_equal(t->cfg.enforce_in_transit, steps[i].in_transit);
        ps_topic_put(t);
    }
}

/* --- subscriptions --- */

static void test_subscription_rules_and_defaults(void **state)
{
    struct unit_pubsub *f = *state;
    struct em_status st = {0};
    assert_int_equal(unit_pubsub_create_sub(f, SUB, (struct ps_sub_config){.topic = TOPIC}, &st),
                     EM_NOT_FOUND);
    assert_int_equal(unit_pubsub_create_topic(f, TOPIC, NULL, &st), EM_OK);
    struct {
        struct ps_sub_config cfg;
        enum em_code code;
    } bad[] = {
        {{.topic = TOPIC, .ack_deadline_s = 5}, EM_INVALID_ARGUMENT},
        {{.topic = TOPIC, .ack_deadline_s = 601}, EM_INVALID_ARGUMENT},
        {{.topic = TOPIC, .dead_letter_topic = PROJECT "/topics/none"}, EM_NOT_FOUND},
        /* a dead-letter policy naming no topic is refused, not taken as no policy */
        {{.topic = TOPIC, .dead_letter_topic = "", .max_delivery_attempts = 5},
         EM_INVALID_ARGUMENT},
        {{.topic = TOPIC, .dead_letter_topic = TOPIC, .max_delivery_attempts = 3}, EM_OUT_OF_RANGE},
        {{.topic = TOPIC, .retry = {true, 20 * EM_NS_PER_SEC, 10 * EM_NS_PER_SEC}},
         EM_INVALID_ARGUMENT},
        {{.topic = TOPIC, .filter = "attributes.x = "}, EM_INVALID_ARGUMENT},
        {{.topic = TOPIC, .push = {.endpoint = "ftp://example.com"}}, EM_INVALID_ARGUMENT},
        {{.topic = TOPIC, .ttl_ns = 3600LL * EM_NS_PER_SEC}, EM_INVALID_ARGUMENT},
        /* a negative duration given is refused, not read as "use the default" */
        {{.topic = TOPIC, .ttl_ns = -5 * EM_NS_PER_SEC}, EM_INVALID_ARGUMENT},
        /* expiring sooner than the messages it retains (the default retention is 7 days) */
        {{.topic = TOPIC, .ttl_ns = 2 * PS_DAY_NS}, EM_INVALID_ARGUMENT},
        {{.topic = TOPIC, .retention_ns = 3 * PS_DAY_NS, .ttl_ns = 2 * PS_DAY_NS},
         EM_INVALID_ARGUMENT},
        {{.topic = TOPIC, .retry = {true, -EM_NS_PER_SEC, PS_DURATION_UNSET}}, EM_INVALID_ARGUMENT},
        {{.topic = TOPIC, .retry = {true, PS_DURATION_UNSET, -1}}, EM_INVALID_ARGUMENT},
        {{.topic = "topics/no-project"}, EM_INVALID_ARGUMENT},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(unit_pubsub_create_sub(f, SUB, bad[i].cfg, &st), bad[i].code);
        assert_null(ps_sub_get(unit_pubsub_reg(f), SUB));
    }
    assert_int_equal(unit_pubsub_create_sub(f, SUB, (struct ps_sub_config){.topic = TOPIC}, &st),
                     EM_OK);
    struct ps_sub *s = ps_sub_get(unit_pubsub_reg(f), SUB);
    assert_non_null(s);
    assert_int_equal(s->cfg.ack_deadline_s, PS_DEFAULT_ACK_DEADLINE_S);
    assert_int_equal(s->cfg.retention_ns, PS_DEFAULT_RETENTION_NS);
    assert_string_equal(s->cfg.filter, "");
    ps_sub_put(s);
    assert_int_equal(unit_pubsub_create_sub(f, SUB, (struct ps_sub_config){.topic = TOPIC}, &st),
                     EM_ALREADY_EXISTS);
    /* a ttl as long as the retention is taken */
    assert_int_equal(
        unit_pubsub_create_sub(
            f, SUB "-day",
            (struct ps_sub_config){.topic = TOPIC, .retention_ns = PS_DAY_NS, .ttl_ns = PS_DAY_NS},
            &st),
        EM_OK);
}

static void test_subscription_update_detach_delete(void **state)
{
    struct unit_pubsub *f = *state;
    struct em_status st = {0};
    assert_int_equal(unit_pubsub_create_topic(f, TOPIC, NULL, &st), EM_OK);
    assert_int_equal(unit_pubsub_create_sub(f, SUB, (struct ps_sub_config){.topic = TOPIC}, &st),
                     EM_OK);
    struct ps_sub_update update = {.mask = PS_SUB_ACK_DEADLINE, .cfg = {.ack_deadline_s = 60}};
    struct ps_sub *s = NULL;
    assert_int_equal(ps_sub_update(unit_pubsub_reg(f), SUB, &update, em_clock_now(), &s, &st),
                     EM_OK);
    assert_int_equal(s->cfg.ack_deadline_s, 60);
    ps_sub_put(s);
    update.cfg.ack_deadline_s = 9;
    assert_int_equal(ps_sub_update(unit_pubsub_reg(f), SUB, &update, em_clock_now(), &s, &st),
                     EM_INVALID_ARGUMENT);
    /* the expiration may not come before the retention's end (7 days by default) */
    struct ps_sub_update shorter = {.mask = PS_SUB_EXPIRATION, .cfg = {.ttl_ns = 2 * PS_DAY_NS}};
    assert_int_equal(ps_sub_update(unit_pubsub_reg(f), SUB, &shorter, em_clock_now(), &s, &st),
                     EM_INVALID_ARGUMENT);
    shorter.mask |= PS_SUB_RETENTION;
    shorter.cfg.retention_ns = PS_DAY_NS;
    assert_int_equal(ps_sub_update(unit_pubsub_reg(f), SUB, &shorter, em_clock_now(), &s, &st),
                     EM_OK);
    ps_sub_put(s);
    /* a dead-letter policy naming no topic: refused when the mask names it, else unread */
    struct ps_sub_update no_topic = {.mask = PS_SUB_DEAD_LETTER, .cfg = {.dead_letter_topic = ""}};
    assert_int_equal(ps_sub_update(unit_pubsub_reg(f), SUB, &no_topic, em_clock_now(), &s, &st),
                     EM_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "dead_letter_topic"));
    no_topic.mask = PS_SUB_ACK_DEADLINE;
    no_topic.cfg.ack_deadline_s = 30;
    assert_int_equal(ps_sub_update(unit_pubsub_reg(f), SUB, &no_topic, em_clock_now(), &s, &st),
                     EM_OK);
    assert_null(s->cfg.dead_letter_topic);
    ps_sub_put(s);

    assert_int_equal(ps_sub_detach(unit_pubsub_reg(f), SUB, &st), EM_OK);
    s = ps_sub_get(unit_pubsub_reg(f), SUB);
    assert_true(s->detached);
    ps_sub_put(s);

    assert_int_equal(ps_sub_delete(unit_pubsub_reg(f), SUB, &st), EM_OK);
    assert_null(ps_sub_get(unit_pubsub_reg(f), SUB));
    assert_int_equal(ps_sub_delete(unit_pubsub_reg(f), SUB, &st), EM_NOT_FOUND);
    assert_int_equal(ps_sub_detach(unit_pubsub_reg(f), SUB, &st), EM_NOT_FOUND);
}

/* --- snapshots and listing --- */

static void count_topic(const struct ps_topic *t, void *arg)
{
    (void)t;
    ++*(int *)arg;
}

static void count_snapshot(const struct ps_snapshot *s, void *arg)
{
    (void)s;
    ++*(int *)arg;
}

static struct ps_snapshot *new_snapshot(const char *name, const char *topic, uint32_t id)
{
    struct ps_snapshot *snap = calloc(1, sizeof(*snap));
    snap->name = strdup(name);
    snap->topic = strdup(topic);
    snap->labels_json = strdup("{}");
    snap->id = id;
    snap->expire_ns = em_clock_now() + PS_DAY_NS;
    return snap;
}

/* Patches SUB's push configuration with the fields mask names, from push; the code. */
static enum em_code patch_push(struct unit_pubsub *f, unsigned mask, struct ps_push_config push,
                               struct em_status *st)
{
    struct ps_sub_update update = {.mask = mask, .cfg = {.push = push}};
    struct ps_sub *s = NULL;
    enum em_code code = ps_sub_update(unit_pubsub_reg(f), SUB, &update, em_clock_now(), &s, st);
    ps_sub_put(s);
    return code;
}

static void test_push_config_patched_field_by_field(void **state)
{
    struct unit_pubsub *f = *state;
    struct em_status st = {0};
    assert_int_equal(unit_pubsub_create_topic(f, TOPIC, NULL, &st), EM_OK);
    struct ps_push_config push = {.endpoint = "http://127.0.0.1:9/push",
                                  .attributes_json = "{\"x-goog-version\":\"v1\"}",
                                  .no_wrapper = true,
                                  .write_metadata = true};
    assert_int_equal(
        unit_pubsub_create_sub(f, SUB, (struct ps_sub_config){.topic = TOPIC, .push = push}, &st),
        EM_OK);
    /* gcloud's --clear-push-no-wrapper-config: mask pushConfig.noWrapper, no pushConfig */
    assert_int_equal(patch_push(f, PS_SUB_PUSH_WRAPPER, (struct ps_push_config){0}, &st), EM_OK);
    struct ps_sub *s = ps_sub_get(unit_pubsub_reg(f), SUB);
    assert_string_equal(s->cfg.push.endpoint, "http://127.0.0.1:9/push"); /* still push */
    assert_string_equal(s->cfg.push.attributes_json, "{\"x-goog-version\":\"v1\"}");
    assert_false(s->cfg.push.no_wrapper);
    ps_sub_put(s);
    assert_int_equal(patch_push(f, PS_SUB_PUSH_ENDPOINT,
                                (struct ps_push_config){.endpoint = "ftp://example.com"}, &st),
                     EM_INVALID_ARGUMENT);
    /* the endpoint taken away: a pull subscription, nothing of the push config kept */
    assert_int_equal(patch_push(f, PS_SUB_PUSH_ENDPOINT, (struct ps_push_config){0}, &st), EM_OK);
    s = ps_sub_get(unit_pubsub_reg(f), SUB);
    assert_null(s->cfg.push.endpoint);
    assert_null(s->cfg.push.attributes_json);
    ps_sub_put(s);
    /* the whole config (modifyPushConfig, mask pushConfig) replaced */
    assert_int_equal(patch_push(f, PS_SUB_PUSH, push, &st), EM_OK);
    s = ps_sub_get(unit_pubsub_reg(f), SUB);
    assert_string_equal(s->cfg.push.endpoint, "http://127.0.0.1:9/push");
    assert_true(s->cfg.push.write_metadata);
    ps_sub_put(s);
}

static void test_snapshots_and_listing(void **state)
{
    struct unit_pubsub *f = *state;
    struct em_status st = {0};
    assert_int_equal(unit_pubsub_create_topic(f, TOPIC, NULL, &st), EM_OK);
    assert_int_equal(unit_pubsub_create_topic(f, "projects/other/topics/t", NULL, &st), EM_OK);
    int n = 0;
    ps_each_topic(unit_pubsub_reg(f), PROJECT "/", count_topic, &n);
    assert_int_equal(n, 1);
    n = 0;
    ps_each_topic(unit_pubsub_reg(f), NULL, count_topic, &n);
    assert_int_equal(n, 2);

    uint32_t id = ps_registry_new_id(unit_pubsub_reg(f));
    assert_int_equal(ps_snapshot_insert(unit_pubsub_reg(f), new_snapshot(SNAP, TOPIC, id), &st),
                     EM_OK);
    assert_int_equal(ps_snapshot_insert(unit_pubsub_reg(f), new_snapshot(SNAP, TOPIC, id + 1), &st),
                     EM_ALREADY_EXISTS);
    struct ps_snapshot *snap = NULL;
    assert_int_equal(
        ps_snapshot_update_labels(unit_pubsub_reg(f), SNAP, "{\"k\":\"v\"}", 0, &snap, &st), EM_OK);
    assert_string_equal(snap->labels_json, "{\"k\":\"v\"}");
    ps_snapshot_put(snap);
    n = 0;
    ps_each_snapshot(unit_pubsub_reg(f), NULL, TOPIC, count_snapshot, &n);
    assert_int_equal(n, 1);
    assert_int_equal(ps_snapshot_delete(unit_pubsub_reg(f), SNAP, &st), EM_OK);
    assert_null(ps_snapshot_get(unit_pubsub_reg(f), SNAP));
    assert_int_equal(ps_snapshot_delete(unit_pubsub_reg(f), SNAP, &st), EM_NOT_FOUND);
}

/* --- deleted topics --- */

static void test_deleted_topic_is_retained_for_its_reader(void **state)
{
    struct unit_pubsub *f = *state;
    struct em_status st = {0};
    assert_int_equal(unit_pubsub_create_topic(f, TOPIC, NULL, &st), EM_OK);
    assert_int_equal(unit_pubsub_create_sub(f, SUB, (struct ps_sub_config){.topic = TOPIC}, &st),
                     EM_OK);
    struct ps_topic *t = ps_topic_get(unit_pubsub_reg(f), TOPIC);
    char retained[PS_NAME_MAX];
    snprintf(retained, sizeof(retained), "%s", t->retained_name);
    ps_topic_put(t);

    assert_int_equal(ps_topic_delete(unit_pubsub_reg(f), TOPIC, em_clock_now(), &st), EM_OK);
    assert_int_equal(unit_pubsub_reg(f)->retained.count, 1);
    struct ps_sub *s = ps_sub_get(unit_pubsub_reg(f), SUB);
    assert_string_equal(s->cfg.topic, PS_DELETED_TOPIC);
    assert_string_equal(ps_sub_retained_topic(s), retained);
    ps_sub_put(s);
    struct em_cmek_info info;
    assert_true(
        em_cmek_info(unit_pubsub_reg(f)->cmek, retained, &info)); /* protected under its new name */
    assert_false(em_cmek_info(unit_pubsub_reg(f)->cmek, TOPIC, &info));
    assert_int_equal(unit_pubsub_create_topic(f, TOPIC, NULL, &st), EM_OK); /* the name is free */

    assert_int_equal(ps_sub_delete(unit_pubsub_reg(f), SUB, &st), EM_OK); /* the last reader goes */
    assert_int_equal(unit_pubsub_reg(f)->retained.count, 0);
    assert_false(em_cmek_info(unit_pubsub_reg(f)->cmek, retained, &info)); /* shredded */
}

/* --- restart --- */

static void test_restart_rebuilds_from_rows(void **state)
{
    struct unit_pubsub *f = *state;
    struct em_status st = {0};
    struct ps_topic_config cfg = {.labels_json = "{\"a\":\"1\"}", .retention_ns = PS_DAY_NS};
    assert_int_equal(unit_pubsub_create_topic(f, TOPIC, &cfg, &st), EM_OK);
    assert_int_equal(unit_pubsub_create_topic(f, TOPIC "-dead", NULL, &st), EM_OK);
    assert_int_equal(
        unit_pubsub_create_sub(f, SUB,
                               (struct ps_sub_config){.topic = TOPIC,
                                                      .ack_deadline_s = 42,
                                                      .dead_letter_topic = TOPIC "-dead",
                                                      .filter = "attributes:k"},
                               &st),
        EM_OK);
    uint32_t id = ps_registry_new_id(unit_pubsub_reg(f));
    struct ps_snapshot *snap = new_snapshot(SNAP, TOPIC, id);
    assert_int_equal(ps_snapshot_save(unit_pubsub_reg(f), snap, &st), EM_OK);
    assert_int_equal(ps_snapshot_insert(unit_pubsub_reg(f), snap, &st), EM_OK);

    assert_int_equal(unit_pubsub_restart(f), 0);

    struct ps_topic *t = ps_topic_get(unit_pubsub_reg(f), TOPIC);
    assert_non_null(t);
    assert_string_equal(t->cfg.labels_json, "{\"a\":\"1\"}");
    assert_int_equal(t->cfg.retention_ns, PS_DAY_NS);
    ps_topic_put(t);
    struct ps_sub *s = ps_sub_get(unit_pubsub_reg(f), SUB);
    assert_non_null(s);
    assert_int_equal(s->cfg.ack_deadline_s, 42);
    assert_string_equal(s->cfg.dead_letter_topic, TOPIC "-dead");
    assert_int_equal(s->cfg.max_delivery_attempts, PS_MIN_DELIVERY_ATTEMPTS);
    assert_non_null(s->filter); /* compiled again */
    ps_sub_put(s);
    struct ps_snapshot *again = ps_snapshot_get(unit_pubsub_reg(f), SNAP);
    assert_non_null(again);
    assert_int_equal(again->id, id);
    ps_snapshot_put(again);
    assert_true(ps_registry_new_id(unit_pubsub_reg(f)) > id); /* ids are never reused */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_PUBSUB_TEST(test_topic_lifecycle),
        UNIT_PUBSUB_TEST(test_topic_rules),
        UNIT_PUBSUB_TEST(test_storage_policy_patched_field_by_field),
        UNIT_PUBSUB_TEST(test_subscription_rules_and_defaults),
        UNIT_PUBSUB_TEST(test_subscription_update_detach_delete),
        UNIT_PUBSUB_TEST(test_push_config_patched_field_by_field),
        UNIT_PUBSUB_TEST(test_snapshots_and_listing),
        UNIT_PUBSUB_TEST(test_deleted_topic_is_retained_for_its_reader),
        UNIT_PUBSUB_TEST(test_restart_rebuilds_from_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
