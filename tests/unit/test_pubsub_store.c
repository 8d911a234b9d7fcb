/*
 * Unit tests of Pub/Sub's store (pubsub_store.c) alone, on a temporary metadata.db and an
 * encrypted topic store: rows saved are the rows loaded (topics, retained deleted topics,
 * subscriptions with every setting, snapshots, schema revisions and a topic's schema
 * settings, a schema's deletion), a topic's retirement in one transaction,
 * deletions and clear; the topic store's messages, floors and marks; and a step error in
 * the middle of a load is an error, not a short load.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "em_crypto.h"
#include "em_store.h"
#include "pubsub/pubsub_store.h"
#include "unit_util.h"

#include <stdlib.h>
#include <string.h>

#define TOPIC "projects/p/topics/t"
#define SUB   "projects/p/subscriptions/s"

struct fixture {
    struct unit_dir dir;
    struct em_store *log; /* an encrypted topic store */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct em_status st = {0};
    if (!f || unit_dir_open(&f->dir) || ps_store_migrate(f->dir.store, &st))
        return -1;
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/topic.db", f->dir.path);
    unsigned char dek[32];
    memset(dek, 7, sizeof(dek));
    if (em_store_open_encrypted(path, dek, &f->log, &st) || ps_store_log_migrate(f->log, &st))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    em_store_close(f->log);
    unit_dir_close(&f->dir);
    free(f);
    return 0;
}

/* --- what a load hands over --- */

struct loaded {
    int revisions, topics, retained, subs, snapshots;
    char revisions_seen[256];  /* "name@id type create_ns definition;" in load order */
    struct ps_topic_row topic; /* the last of each, strings copied */
    char topic_name[128], retained_name[128], sub_name[128], snapshot_name[128];
    struct ps_sub_row sub;
    char sub_retained[128];
    struct ps_snapshot_row snapshot;
    char snapshot_topic[128];
    bool take_configs; /* take the configurations over, as the registry does */
};

static enum em_code on_revision(void *arg, const struct ps_schema_revision_row *row,
                                struct em_status *st)
{
    struct loaded *l = arg;
    (void)st;
    l->revisions++;
    size_t used = strlen(l->revisions_seen);
    snprintf(l->revisions_seen + used, sizeof(l->revisions_seen) - used, "%s@%s %d %lld %s;",
             row->name, row->revision_id, row->type, (long long)row->create_ns, row->definition);
    return EM_OK;
}

static enum em_code on_topic(void *arg, struct ps_topic_row *row, struct em_status *st)
{
    struct loaded *l = arg;
    (void)st;
    l->topics++;
    snprintf(l->topic_name, sizeof(l->topic_name), "%s", row->name);
    ps_topic_config_free(&l->topic.cfg);
    l->topic = *row;
    if (!l->take_configs)
        ps_topic_config_copy(&l->topic.cfg, &row->cfg, st);
    else
        memset(&row->cfg, 0, sizeof(row->cfg));
    return EM_OK;
}

static enum em_code on_retained(void *arg, struct ps_topic_row *row, struct em_status *st)
{
    struct loaded *l = arg;
    (void)st;
    l->retained++;
    snprintf(l->retained_name, sizeof(l->retained_name), "%s", row->name);
    return EM_OK;
}

static enum em_code on_sub(void *arg, struct ps_sub_row *row, struct em_status *st)
{
    struct loaded *l = arg;
    l->subs++;
    snprintf(l->sub_name, sizeof(l->sub_name), "%s", row->name);
    snprintf(l->sub_retained, sizeof(l->sub_retained), "%s",
             row->retained_topic ? row->retained_topic : "");
    ps_sub_config_free(&l->sub.cfg);
    l->sub = *row;
    return ps_sub_config_copy(&l->sub.cfg, &row->cfg, st);
}

static enum em_code on_snapshot(void *arg, const struct ps_snapshot_row *row, struct em_status *st)
{
    struct loaded *l = arg;
    (void)st;
    l->snapshots++;
    snprintf(l->snapshot_name, sizeof(l->snapshot_name), "%s", row->name);
    snprintf(l->snapshot_topic, sizeof(l->snapshot_topic), "%s", row->topic);
    l->snapshot = *row;
    return EM_OK;
}

static enum em_code load(struct fixture *f, struct loaded *l, struct em_status *st)
{
    struct ps_store_visitor v = {on_revision, on_topic, on_retained, on_sub, on_snapshot, l};
    return ps_store_load(f->dir.store, &v, st);
}

static void loaded_free(struct loaded *l)
{
    ps_topic_config_free(&l->topic.cfg);
    ps_sub_config_free(&l->sub.cfg);
}

static void save_topic(struct fixture *f, const char *name, int64_t create_ns)
{
    struct ps_topic_row row = {
        .name = name,
        .cfg = {.kms_key = "projects/p/locations/global/keyRings/r/cryptoKeys/k",
                .labels_json = "{\"team\":\"a\"}",
                .regions = "europe-west1,us-east1",
                .enforce_in_transit = true,
                .retention_ns = 3600LL * EM_NS_PER_SEC},
        .create_ns = create_ns,
    };
    struct em_status st = {0};
    assert_int_equal(ps_store_save_topic(f->dir.store, &row, &st), EM_OK);
}

static struct ps_sub_row full_sub(void)
{
    return (struct ps_sub_row){
        .name = SUB,
        .id = 42,
        .cfg = {.topic = TOPIC,
                .ack_deadline_s = 30,
                .retention_ns = 600LL * EM_NS_PER_SEC,
                .retain_acked = true,
                .filter = "attributes.kind = \"x\"",
                .dead_letter_topic = TOPIC "-dead",
                .max_delivery_attempts = 7,
                .retry = {true, 11 * EM_NS_PER_SEC, 99 * EM_NS_PER_SEC},
                .ordering = true,
                .exactly_once = true,
                .push = {"https://example.com/push", "{\"x-goog-version\":\"v1\"}", true, true,
                         "sa@p.iam.gserviceaccount.com", "aud"},
                .ttl_ns = 86400LL * EM_NS_PER_SEC,
                .labels_json = "{\"l\":\"v\"}"},
        .detached = false,
        .create_ns = 5,
        .last_active_ns = 6,
    };
}

/* --- metadata.db --- */

static void test_rows_round_trip(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    save_topic(f, TOPIC, 1234);
    struct ps_sub_row sub = full_sub();
    assert_int_equal(ps_store_save_sub(f->dir.store, &sub, &st), EM_OK);
    struct ps_snapshot_row snap = {"projects/p/snapshots/n", 43, TOPIC, 17, 99, "{}", 8};
    assert_int_equal(ps_store_save_snapshot(f->dir.store, &snap, &st), EM_OK);

    struct loaded l = {0};
    assert_int_equal(load(f, &l, &st), EM_OK);
    assert_int_equal(l.topics, 1);
    assert_string_equal(l.topic_name, TOPIC);
    assert_string_equal(l.topic.cfg.kms_key, "projects/p/locations/global/keyRings/r/cryptoKeys/k");
    assert_string_equal(l.topic.cfg.labels_json, "{\"team\":\"a\"}");
    assert_string_equal(l.topic.cfg.regions, "europe-west1,us-east1");
    assert_true(l.topic.cfg.enforce_in_transit);
    assert_int_equal(l.topic.cfg.retention_ns, 3600LL * EM_NS_PER_SEC);
    assert_int_equal(l.topic.create_ns, 1234);

    assert_int_equal(l.subs, 1);
    assert_string_equal(l.sub_name, SUB);
    const struct ps_sub_config *c = &l.sub.cfg;
    assert_int_equal(l.sub.id, 42);
    assert_string_equal(c->topic, TOPIC);
    assert_int_equal(c->ack_deadline_s, 30);
    assert_int_equal(c->retention_ns, 600LL * EM_NS_PER_SEC);
    assert_true(c->retain_acked);
    assert_string_equal(c->filter, "attributes.kind = \"x\"");
    assert_string_equal(c->dead_letter_topic, TOPIC "-dead");
    assert_int_equal(c->max_delivery_attempts, 7);
    assert_true(c->retry.set);
    assert_int_equal(c->retry.min_ns, 11 * EM_NS_PER_SEC);
    assert_int_equal(c->retry.max_ns, 99 * EM_NS_PER_SEC);
    assert_true(c->ordering && c->exactly_once);
    assert_string_equal(c->push.endpoint, "https://example.com/push");
    assert_string_equal(c->push.attributes_json, "{\"x-goog-version\":\"v1\"}");
    assert_true(c->push.no_wrapper && c->push.write_metadata);
    assert_string_equal(c->push.oidc_service_account, "sa@p.iam.gserviceaccount.com");
    assert_string_equal(c->push.oidc_audience, "aud");
    assert_int_equal(c->ttl_ns, 86400LL * EM_NS_PER_SEC);
    assert_string_equal(c->labels_json, "{\"l\":\"v\"}");
    assert_int_equal(l.sub.create_ns, 5);
    assert_int_equal(l.sub.last_active_ns, 6);
    assert_string_equal(l.sub_retained, "");

    assert_int_equal(l.snapshots, 1);
    assert_string_equal(l.snapshot_name, "projects/p/snapshots/n");
    assert_int_equal(l.snapshot.id, 43);
    assert_int_equal(l.snapshot.floor, 17);
    assert_int_equal(l.snapshot.expire_ns, 99);
    loaded_free(&l);
}

/* The visitor may take a configuration's strings; what it leaves is freed by the store
 * (ASan and valgrind would see a leak or a double free otherwise). */
static void test_schemas_round_trip(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    /* saved out of order: loaded by schema, then oldest first */
    const struct ps_schema_revision_row revs[] = {
        {"projects/p/schemas/b", "0000000b", 2, "\"int\"", 30},
        {"projects/p/schemas/a", "0000000c", 1, "message M {}", 20},
        {"projects/p/schemas/a", "0000000a", 1, "message N {}", 10},
    };
    for (size_t i = 0; i < sizeof(revs) / sizeof(revs[0]); i++)
        assert_int_equal(ps_store_save_schema_revision(f->dir.store, &revs[i], &st), EM_OK);
    assert_int_equal(ps_store_save_schema_revision(f->dir.store, &revs[0], &st), EM_ALREADY_EXISTS);
    struct ps_topic_row topic = {
        .name = TOPIC,
        .cfg = {.labels_json = "{}",
                .schema = {"projects/p/schemas/a", PS_ENCODING_BINARY, "0000000a", "0000000c"}},
        .create_ns = 1};
    assert_int_equal(ps_store_save_topic(f->dir.store, &topic, &st), EM_OK);

    struct loaded l = {0};
    assert_int_equal(load(f, &l, &st), EM_OK);
    assert_int_equal(l.revisions, 3);
    assert_string_equal(l.revisions_seen, "projects/p/schemas/a@0000000a 1 10 message N {};"
                                          "projects/p/schemas/a@0000000c 1 20 message M {};"
                                          "projects/p/schemas/b@0000000b 2 30 \"int\";");
    assert_string_equal(l.topic.cfg.schema.schema, "projects/p/schemas/a");
    assert_int_equal(l.topic.cfg.schema.encoding, PS_ENCODING_BINARY);
    assert_string_equal(l.topic.cfg.schema.first_revision, "0000000a");
    assert_string_equal(l.topic.cfg.schema.last_revision, "0000000c");
    loaded_free(&l);

    /* a revision goes; the schema goes, and its topic shows it deleted */
    assert_int_equal(
        ps_store_delete_schema_revision(f->dir.store, "projects/p/schemas/a", "0000000c", &st),
        EM_OK);
    assert_int_equal(ps_store_delete_schema(f->dir.store, "projects/p/schemas/a", &st), EM_OK);
    memset(&l, 0, sizeof(l));
    assert_int_equal(load(f, &l, &st), EM_OK);
    assert_int_equal(l.revisions, 1);
    assert_string_equal(l.topic.cfg.schema.schema, PS_DELETED_SCHEMA);
    assert_null(l.topic.cfg.schema.first_revision);
    assert_int_equal(l.topic.cfg.schema.encoding, PS_ENCODING_BINARY);
    loaded_free(&l);
}

static void test_visitor_takes_configurations(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    save_topic(f, TOPIC, 1);
    struct loaded l = {.take_configs = true};
    assert_int_equal(load(f, &l, &st), EM_OK);
    assert_string_equal(l.topic.cfg.regions, "europe-west1,us-east1");
    loaded_free(&l);
}

static void test_retire_keeps_readers_on_the_retained_topic(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    save_topic(f, TOPIC, 1234);
    struct ps_sub_row sub = full_sub();
    assert_int_equal(ps_store_save_sub(f->dir.store, &sub, &st), EM_OK);
    struct ps_snapshot_row snap = {"projects/p/snapshots/n", 43, TOPIC, 17, 99, "{}", 8};
    assert_int_equal(ps_store_save_snapshot(f->dir.store, &snap, &st), EM_OK);
    struct ps_topic_row row = {TOPIC, {.kms_key = NULL, .retention_ns = 5}, 1234};
    const char *retained = TOPIC "/deleted/1970-01-01T00:00:00.000001234Z";
    assert_int_equal(ps_store_retire_topic(f->dir.store, &row, retained, 777, &st), EM_OK);

    struct loaded l = {0};
    assert_int_equal(load(f, &l, &st), EM_OK);
    assert_int_equal(l.topics, 0);
    assert_int_equal(l.retained, 1);
    assert_string_equal(l.retained_name, TOPIC); /* the topic's name: it names the file */
    assert_string_equal(l.sub.cfg.topic, "_deleted-topic_");
    assert_string_equal(l.sub_retained, retained);
    assert_string_equal(l.snapshot_topic, "_deleted-topic_");
    loaded_free(&l);

    assert_int_equal(ps_store_delete_retained(f->dir.store, retained, &st), EM_OK);
    assert_int_equal(ps_store_delete_sub(f->dir.store, SUB, &st), EM_OK);
    assert_int_equal(ps_store_delete_snapshot(f->dir.store, "projects/p/snapshots/n", &st), 0);
    struct loaded empty = {0};
    assert_int_equal(load(f, &empty, &st), EM_OK);
    assert_int_equal(empty.retained + empty.subs + empty.snapshots, 0);
    loaded_free(&empty);
}

static void test_clear_forgets_everything(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    save_topic(f, TOPIC, 1);
    save_topic(f, TOPIC "-2", 2);
    const struct ps_schema_revision_row rev = {"projects/p/schemas/s", "01234567", 2, "\"int\"", 3};
    assert_int_equal(ps_store_save_schema_revision(f->dir.store, &rev, &st), EM_OK);
    assert_int_equal(ps_store_delete_topic(f->dir.store, TOPIC "-2", &st), EM_OK);
    struct loaded l = {0};
    assert_int_equal(load(f, &l, &st), EM_OK);
    assert_int_equal(l.topics, 1);
    loaded_free(&l);
    assert_int_equal(ps_store_clear(f->dir.store, &st), EM_OK);
    struct loaded none = {0};
    assert_int_equal(load(f, &none, &st), EM_OK);
    assert_int_equal(none.topics, 0);
    assert_int_equal(none.revisions, 0);
    loaded_free(&none);
}

/* A busy, failing or corrupt database in the middle of a load is an error. */
static void test_a_step_error_fails_the_load(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    for (int i = 0; i < 3; i++) {
        char name[64];
        snprintf(name, sizeof(name), TOPIC "-%d", i);
        save_topic(f, name, i);
    }
    struct unit_step_fault fault = {"FROM pubsub_topics", 1, 0};
    unit_step_fault_arm(f->dir.store, &fault);
    struct loaded l = {0};
    enum em_code code = load(f, &l, &st);
    unit_step_fault_disarm(f->dir.store);
    assert_int_not_equal(code, EM_OK);
    assert_int_equal(l.topics, 1); /* it stopped there, and said so */
    loaded_free(&l);
}

/* --- the topic store --- */

static void insert(struct fixture *f, int64_t seq, int64_t publish_ns)
{
    struct ps_message m = {.seq = seq,
                           .publish_ns = publish_ns,
                           .data = (unsigned char *)"payload",
                           .data_len = 7,
                           .attributes = "{\"a\":\"b\"}",
                           .ordering_key = "k"};
    struct em_status st = {0};
    assert_int_equal(ps_store_insert_message(f->log, &m, &st), EM_OK);
}

static void test_messages_round_trip(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    for (int64_t seq = 1; seq <= 5; seq++)
        insert(f, seq, seq * 1000);
    struct ps_message *msgs;
    size_t n;
    assert_int_equal(ps_store_read_from(f->log, 2, 10, &msgs, &n, &st), EM_OK);
    assert_int_equal(n, 4);
    assert_int_equal(msgs[0].seq, 2);
    assert_int_equal(msgs[0].publish_ns, 2000);
    assert_memory_equal(msgs[0].data, "payload", 7);
    assert_string_equal(msgs[0].attributes, "{\"a\":\"b\"}");
    assert_string_equal(msgs[0].ordering_key, "k");
    ps_messages_free(msgs, n);

    int64_t seq;
    assert_int_equal(ps_store_first_at(f->log, 2500, 6, &seq, &st), EM_OK);
    assert_int_equal(seq, 3);
    assert_int_equal(ps_store_first_at(f->log, 9999, 6, &seq, &st), EM_OK);
    assert_int_equal(seq, 6); /* none: next_seq */

    bool any;
    assert_int_equal(ps_store_any_message(f->log, 3, 10000, &any, &st), EM_OK);
    assert_true(any);
    assert_int_equal(ps_store_delete_messages(f->log, 3, 10000, &st), EM_OK);
    assert_int_equal(ps_store_any_message(f->log, 3, 10000, &any, &st), EM_OK);
    assert_false(any);
    struct ps_message one;
    assert_int_equal(ps_store_read_one(f->log, 2, &one, &st), EM_NOT_FOUND);
    assert_int_equal(ps_store_read_one(f->log, 3, &one, &st), EM_OK);
    assert_int_equal(one.seq, 3);
    ps_message_clear(&one);

    /* ids are never reused: the state row remembers what deleted messages took */
    int64_t next, last;
    assert_int_equal(ps_store_log_set_next_seq(f->log, 6, 5000, &st), EM_OK);
    assert_int_equal(ps_store_delete_messages(f->log, 6, 10000, &st), EM_OK);
    assert_int_equal(ps_store_log_next_seq(f->log, &next, &last, &st), EM_OK);
    assert_int_equal(next, 6);
    assert_int_equal(last, 5000);
}

static void test_floors_and_marks(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    int64_t floor;
    struct ps_mark *marks;
    size_t n;
    assert_int_equal(ps_store_read_state(f->log, 9, &floor, &marks, &n, &st), EM_OK);
    assert_int_equal(floor, -1); /* never stored */
    free(marks);
    assert_int_equal(ps_store_set_floor(f->log, 9, 4, &st), EM_OK);
    assert_int_equal(ps_store_set_mark(f->log, 9, &(struct ps_mark){6, 2, true}, &st), EM_OK);
    assert_int_equal(ps_store_set_mark(f->log, 9, &(struct ps_mark){5, 1, false}, &st), EM_OK);
    assert_int_equal(ps_store_read_state(f->log, 9, &floor, &marks, &n, &st), EM_OK);
    assert_int_equal(floor, 4);
    assert_int_equal(n, 2);
    assert_int_equal(marks[0].seq, 5); /* sorted */
    assert_false(marks[0].acked);
    assert_true(marks[1].acked);
    assert_int_equal(marks[1].attempts, 2);
    free(marks);

    struct ps_mark copy[] = {{8, 0, true}};
    assert_int_equal(ps_store_replace_state(f->log, 10, 7, copy, 1, &st), EM_OK);
    assert_int_equal(ps_store_read_state(f->log, 10, &floor, &marks, &n, &st), EM_OK);
    assert_int_equal(floor, 7);
    assert_int_equal(n, 1);
    free(marks);
    assert_int_equal(ps_store_forget_owner(f->log, 9, &st), EM_OK);
    assert_int_equal(ps_store_read_state(f->log, 9, &floor, &marks, &n, &st), EM_OK);
    assert_int_equal(floor, -1);
    assert_int_equal(n, 0);
    free(marks);
}

static void test_a_step_error_fails_a_read(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    for (int64_t seq = 1; seq <= 4; seq++)
        insert(f, seq, seq);
    struct unit_step_fault fault = {"FROM ps_messages WHERE seq >=", 2, 0};
    unit_step_fault_arm(f->log, &fault);
    struct ps_message *msgs = NULL;
    size_t n = 0;
    enum em_code code = ps_store_read_from(f->log, 1, 10, &msgs, &n, &st);
    unit_step_fault_disarm(f->log);
    assert_int_not_equal(code, EM_OK);
    assert_null(msgs);
    assert_int_equal(n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rows_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schemas_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_visitor_takes_configurations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retire_keeps_readers_on_the_retained_topic, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_clear_forgets_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_step_error_fails_the_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_messages_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_floors_and_marks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_step_error_fails_a_read, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
