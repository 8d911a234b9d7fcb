/*
 * Unit tests of Pub/Sub schemas below HTTP (pubsub_schemas.c, pubsub_schema_check.c): a
 * real service on a temporary data directory. Revisions (create, commit, rollback,
 * deleteRevision, the limit of 20), topics' schema settings (schema, encoding, revision
 * range) and what a publish does with them (the revision tried newest first, Google's
 * three attributes stamped, a refused batch changing nothing, Google's ErrorInfo), a
 * deleted schema refusing publishes, and everything back after a restart.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "unit_pubsub.h"

#include "pubsub/pubsub_schemas.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROJECT "projects/schema-project"
#define SCHEMA  PROJECT "/schemas/orders"
#define TOPIC   PROJECT "/topics/orders"

#define AVRO_V1                                                                                    \
    "{\"type\":\"record\",\"name\":\"Order\",\"fields\":[{\"name\":\"id\",\"type\":\"long\"}]}"
/* the second revision: the ID became a string */
#define AVRO_V2                                                                                    \
    "{\"type\":\"record\",\"name\":\"Order\",\"fields\":[{\"name\":\"id\",\"type\":\"string\"}]}"
#define PROTO_DEF "syntax = \"proto3\";\nmessage Order {\n  int64 id = 1;\n  string note = 2;\n}\n"

static struct ps_revision *create(struct unit_pubsub *f, const char *name, enum ps_schema_type type,
                                  const char *definition)
{
    struct em_status st = {0};
    struct ps_revision *rev = NULL;
    enum em_code code =
        ps_schema_create(unit_pubsub_reg(f), name, type, definition, em_clock_now(), &rev, &st);
    if (code)
        fprintf(stderr, "create %s: %s\n", name, st.message);
    return rev;
}

static struct ps_revision *commit(struct unit_pubsub *f, const char *definition)
{
    struct em_status st = {0};
    struct ps_revision *rev = NULL;
    ps_schema_commit(unit_pubsub_reg(f), SCHEMA, PS_SCHEMA_AVRO, definition, em_clock_now(), &rev,
                     &st);
    return rev;
}

/* A topic with settings; returns the code. */
static enum em_code topic_with(struct unit_pubsub *f, const char *name, const char *schema,
                               enum ps_encoding encoding, const char *first, const char *last,
                               struct em_status *st)
{
    struct ps_topic_config cfg = {
        .schema = {(char *)schema, encoding, (char *)first, (char *)last}};
    return unit_pubsub_create_topic(f, name, &cfg, st);
}

/* Publishes data; on success *attrs holds the stored message's attributes (parsed). */
static enum em_code publish(struct unit_pubsub *f, const char *topic, const char *data,
                            cJSON **attrs, struct em_status *st)
{
    struct ps_message m = {.data = (unsigned char *)strdup(data),
                           .data_len = strlen(data),
                           .attributes = strdup("{\"mine\":\"kept\"}"),
                           .ordering_key = strdup("")};
    enum em_code code = ps_publish(unit_pubsub_reg(f), topic, &m, 1, em_clock_now(), st);
    if (attrs)
        *attrs = code ? NULL : cJSON_Parse(m.attributes);
    ps_message_clear(&m);
    return code;
}

static const char *attr(const cJSON *attrs, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(attrs, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static void test_revisions(void **state)
{
    struct unit_pubsub *f = *state;
    struct ps_registry *reg = unit_pubsub_reg(f);
    struct em_status st = {0};
    struct ps_revision *first = create(f, SCHEMA, PS_SCHEMA_AVRO, AVRO_V1), *rev = NULL;
    assert_non_null(first);
    assert_int_equal(strlen(first->id), 8);
    assert_int_equal(strspn(first->id, "0123456789abcdef"), 8);
    assert_null(create(f, SCHEMA, PS_SCHEMA_AVRO, AVRO_V1)); /* exists */

    /* a bad definition, an unspecified type, a type change: refused, nothing added */
    assert_int_equal(ps_schema_create(reg, PROJECT "/schemas/bad", PS_SCHEMA_AVRO,
                                      "{\"type\":\"recor\"}", 0, &rev, &st),
                     EM_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "Could not parse schema definition"));
    assert_int_equal(ps_schema_create(reg, PROJECT "/schemas/bad", PS_SCHEMA_TYPE_UNSPECIFIED,
                                      AVRO_V1, 0, &rev, &st),
                     EM_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "Invalid schema type"));
    assert_int_equal(
        ps_schema_commit(reg, SCHEMA, PS_SCHEMA_PROTOCOL_BUFFER, PROTO_DEF, 0, &rev, &st),
        EM_INVALID_ARGUMENT);
    assert_int_equal(
        ps_schema_commit(reg, PROJECT "/schemas/none", PS_SCHEMA_AVRO, AVRO_V1, 0, &rev, &st),
        EM_NOT_FOUND);

    struct ps_revision *second = commit(f, AVRO_V2);
    assert_non_null(second);
    assert_string_not_equal(second->id, first->id);
    assert_int_equal(ps_schema_get(reg, SCHEMA, NULL, &rev, &st), EM_OK);
    assert_string_equal(rev->id, second->id); /* the newest */
    ps_revision_put(rev);
    assert_int_equal(ps_schema_get(reg, SCHEMA, first->id, &rev, &st), EM_OK);
    assert_string_equal(rev->definition, AVRO_V1);
    ps_revision_put(rev);

    /* rollback: a new revision with the old definition */
    assert_int_equal(ps_schema_rollback(reg, SCHEMA, first->id, 0, &rev, &st), EM_OK);
    assert_string_equal(rev->definition, AVRO_V1);
    assert_string_not_equal(rev->id, first->id);
    char third[9];
    snprintf(third, sizeof(third), "%s", rev->id);
    ps_revision_put(rev);
    assert_int_equal(ps_schema_rollback(reg, SCHEMA, "deadbeef", 0, &rev, &st), EM_NOT_FOUND);

    struct ps_revisions revs;
    assert_int_equal(ps_schema_revisions(reg, SCHEMA, &revs, &st), EM_OK);
    assert_int_equal(revs.count, 3);
    assert_string_equal(revs.items[0]->id, third); /* newest first */
    assert_string_equal(revs.items[2]->id, first->id);
    ps_revisions_free(&revs);

    assert_int_equal(ps_schema_delete_revision(reg, SCHEMA, second->id, &rev, &st), EM_OK);
    assert_string_equal(rev->id, second->id);
    ps_revision_put(rev);
    assert_int_equal(ps_schema_delete_revision(reg, SCHEMA, second->id, &rev, &st), EM_NOT_FOUND);
    assert_int_equal(ps_schema_delete_revision(reg, SCHEMA, first->id, &rev, &st), EM_OK);
    ps_revision_put(rev);
    assert_int_equal(ps_schema_delete_revision(reg, SCHEMA, third, &rev, &st), EM_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "Cannot delete last revision"));

    /* at most 20 revisions */
    for (int i = 1; i < PS_MAX_SCHEMA_REVISIONS; i++)
        ps_revision_put(commit(f, AVRO_V2));
    assert_int_equal(ps_schema_commit(reg, SCHEMA, PS_SCHEMA_AVRO, AVRO_V2, 0, &rev, &st),
                     EM_RESOURCE_EXHAUSTED);
    ps_revision_put(first);
    ps_revision_put(second);
}

static void test_topic_settings_are_checked(void **state)
{
    struct unit_pubsub *f = *state;
    struct em_status st = {0};
    struct ps_revision *rev = create(f, SCHEMA, PS_SCHEMA_AVRO, AVRO_V1);
    assert_int_equal(topic_with(f, TOPIC, SCHEMA, PS_ENCODING_UNSPECIFIED, NULL, NULL, &st),
                     EM_INVALID_ARGUMENT);
    assert_string_equal(st.message, "Invalid schema encoding provided");
    assert_int_equal(
        topic_with(f, TOPIC, PROJECT "/schemas/none", PS_ENCODING_JSON, NULL, NULL, &st),
        EM_NOT_FOUND);
    assert_int_equal(topic_with(f, TOPIC, SCHEMA, PS_ENCODING_JSON, "0badc0de", NULL, &st),
                     EM_NOT_FOUND);
    assert_string_equal(st.message, "First revision could not be found");
    /* settings naming no schema are refused, not taken as none (Google's wording) */
    assert_int_equal(topic_with(f, TOPIC, "", PS_ENCODING_JSON, NULL, NULL, &st),
                     EM_INVALID_ARGUMENT);
    assert_string_equal(st.message, "No schema name provided");
    assert_int_equal(topic_with(f, TOPIC, NULL, PS_ENCODING_JSON, NULL, NULL, &st),
                     EM_INVALID_ARGUMENT);
    assert_string_equal(st.message, "No schema name provided");
    assert_null(ps_topic_get(unit_pubsub_reg(f), TOPIC));
    assert_int_equal(topic_with(f, TOPIC, SCHEMA, PS_ENCODING_JSON, rev->id, rev->id, &st), EM_OK);
    ps_revision_put(rev);
}

/* Patches TOPIC's schema settings with the fields mask names, from settings. */
static enum em_code patch_settings(struct unit_pubsub *f, unsigned mask,
                                   struct ps_schema_settings settings, struct em_status *st)
{
    struct ps_topic_update update = {.mask = mask, .cfg = {.schema = settings}};
    struct ps_topic *topic = NULL;
    enum em_code code = ps_topic_update(unit_pubsub_reg(f), TOPIC, &update, &topic, st);
    ps_topic_put(topic);
    return code;
}

static void test_topic_settings_patched_field_by_field(void **state)
{
    struct unit_pubsub *f = *state;
    struct em_status st = {0};
    struct ps_revision *rev = create(f, SCHEMA, PS_SCHEMA_AVRO, AVRO_V1);
    assert_int_equal(topic_with(f, TOPIC, SCHEMA, PS_ENCODING_JSON, NULL, NULL, &st), EM_OK);
    /* a path naming the encoding changes the encoding and keeps the schema */
    assert_int_equal(patch_settings(f, PS_TOPIC_SCHEMA_ENCODING,
                                    (struct ps_schema_settings){.encoding = PS_ENCODING_BINARY},
                                    &st),
                     EM_OK);
    struct ps_topic *topic = ps_topic_get(unit_pubsub_reg(f), TOPIC);
    assert_string_equal(topic->cfg.schema.schema, SCHEMA);
    assert_int_equal(topic->cfg.schema.encoding, PS_ENCODING_BINARY);
    ps_topic_put(topic);
    assert_int_equal(patch_settings(f, PS_TOPIC_SCHEMA_FIRST_REVISION,
                                    (struct ps_schema_settings){.first_revision = rev->id}, &st),
                     EM_OK);
    topic = ps_topic_get(unit_pubsub_reg(f), TOPIC);
    assert_string_equal(topic->cfg.schema.first_revision, rev->id);
    assert_int_equal(topic->cfg.schema.encoding, PS_ENCODING_BINARY);
    ps_topic_put(topic);
    /* the schema alone taken away leaves settings naming none: refused, nothing changed */
    assert_int_equal(patch_settings(f, PS_TOPIC_SCHEMA_NAME, (struct ps_schema_settings){0}, &st),
                     EM_INVALID_ARGUMENT);
    assert_string_equal(st.message, "No schema name provided");
    topic = ps_topic_get(unit_pubsub_reg(f), TOPIC);
    assert_string_equal(topic->cfg.schema.schema, SCHEMA);
    ps_topic_put(topic);
    /* the whole settings cleared */
    assert_int_equal(patch_settings(f, PS_TOPIC_SCHEMA, (struct ps_schema_settings){0}, &st),
                     EM_OK);
    topic = ps_topic_get(unit_pubsub_reg(f), TOPIC);
    assert_null(topic->cfg.schema.schema);
    assert_null(topic->cfg.schema.first_revision);
    ps_topic_put(topic);
    ps_revision_put(rev);
}

static void test_publish_is_validated_and_stamped(void **state)
{
    struct unit_pubsub *f = *state;
    struct em_status st = {0};
    struct ps_revision *v1 = create(f, SCHEMA, PS_SCHEMA_AVRO, AVRO_V1);
    assert_int_equal(topic_with(f, TOPIC, SCHEMA, PS_ENCODING_JSON, NULL, NULL, &st), EM_OK);
    cJSON *attrs = NULL;
    assert_int_equal(publish(f, TOPIC, "{\"id\": 7}", &attrs, &st), EM_OK);
    assert_string_equal(attr(attrs, "googclient_schemaname"), SCHEMA);
    assert_string_equal(attr(attrs, "googclient_schemaencoding"), "JSON");
    assert_string_equal(attr(attrs, "googclient_schemarevisionid"), v1->id);
    assert_string_equal(attr(attrs, "mine"), "kept");
    cJSON_Delete(attrs);

    /* refused: Google's message and ErrorInfo naming the revision */
    assert_int_equal(publish(f, TOPIC, "{\"id\": \"seven\"}", NULL, &st), EM_INVALID_ARGUMENT);
    assert_string_equal(st.message, "Invalid data in message: Message failed schema validation.");
    assert_string_equal(st.info_reason, "INVALID_JSON_AVRO_MESSAGE");
    assert_string_equal(st.info_domain, "pubsub.googleapis.com");
    assert_non_null(strstr(st.info_metadata, v1->id));
    assert_non_null(strstr(st.info_metadata, "revisionInfo"));

    /* a newer revision: messages of either shape pass, each stamped with its own */
    struct ps_revision *v2 = commit(f, AVRO_V2);
    assert_int_equal(publish(f, TOPIC, "{\"id\": \"A-8\"}", &attrs, &st), EM_OK);
    assert_string_equal(attr(attrs, "googclient_schemarevisionid"), v2->id);
    cJSON_Delete(attrs);
    assert_int_equal(publish(f, TOPIC, "{\"id\": 9}", &attrs, &st), EM_OK);
    assert_string_equal(attr(attrs, "googclient_schemarevisionid"), v1->id);
    cJSON_Delete(attrs);

    /* a batch with one bad message stores none */
    struct ps_message batch[2] = {{.data = (unsigned char *)strdup("{\"id\": 1}"),
                                   .data_len = 9,
                                   .attributes = strdup(""),
                                   .ordering_key = strdup("")},
                                  {.data = (unsigned char *)strdup("nope"),
                                   .data_len = 4,
                                   .attributes = strdup(""),
                                   .ordering_key = strdup("")}};
    assert_int_equal(ps_publish(unit_pubsub_reg(f), TOPIC, batch, 2, em_clock_now(), &st),
                     EM_INVALID_ARGUMENT);
    assert_string_equal(batch[0].attributes, "");
    assert_int_equal(batch[0].seq, 0);
    ps_message_clear(&batch[0]);
    ps_message_clear(&batch[1]);

    /* a topic limited to the first revision refuses the second's shape */
    assert_int_equal(
        topic_with(f, PROJECT "/topics/old", SCHEMA, PS_ENCODING_JSON, NULL, v1->id, &st), EM_OK);
    assert_int_equal(publish(f, PROJECT "/topics/old", "{\"id\": \"A-8\"}", NULL, &st),
                     EM_INVALID_ARGUMENT);
    ps_revision_put(v1);
    ps_revision_put(v2);
}

static void test_protobuf_binary_topic(void **state)
{
    struct unit_pubsub *f = *state;
    struct em_status st = {0};
    ps_revision_put(create(f, SCHEMA, PS_SCHEMA_PROTOCOL_BUFFER, PROTO_DEF));
    assert_int_equal(topic_with(f, TOPIC, SCHEMA, PS_ENCODING_BINARY, NULL, NULL, &st), EM_OK);
    /* field 1 varint 150, field 2 "hi" */
    static const unsigned char good[] = {0x08, 0x96, 0x01, 0x12, 0x02, 'h', 'i'};
    struct ps_message m = {.data = malloc(sizeof(good)),
                           .data_len = sizeof(good),
                           .attributes = strdup(""),
                           .ordering_key = strdup("")};
    memcpy(m.data, good, sizeof(good));
    assert_int_equal(ps_publish(unit_pubsub_reg(f), TOPIC, &m, 1, em_clock_now(), &st), EM_OK);
    assert_non_null(strstr(m.attributes, "\"googclient_schemaencoding\":\"BINARY\""));
    ps_message_clear(&m);
    assert_int_equal(publish(f, TOPIC, "\x08", NULL, &st), EM_INVALID_ARGUMENT);
    assert_string_equal(st.info_reason, "INVALID_BINARY_PROTO_MESSAGE");
}

static void test_deleted_schema_and_restart(void **state)
{
    struct unit_pubsub *f = *state;
    struct ps_registry *reg = unit_pubsub_reg(f);
    struct em_status st = {0};
    struct ps_revision *v1 = create(f, SCHEMA, PS_SCHEMA_AVRO, AVRO_V1);
    struct ps_revision *v2 = commit(f, AVRO_V2);
    assert_int_equal(topic_with(f, TOPIC, SCHEMA, PS_ENCODING_JSON, v1->id, NULL, &st), EM_OK);
    ps_revision_put(create(f, PROJECT "/schemas/other", PS_SCHEMA_PROTOCOL_BUFFER, PROTO_DEF));

    /* everything is back after a restart */
    assert_int_equal(unit_pubsub_restart(f), 0);
    reg = unit_pubsub_reg(f);
    struct ps_revisions revs;
    assert_int_equal(ps_schema_revisions(reg, SCHEMA, &revs, &st), EM_OK);
    assert_int_equal(revs.count, 2);
    assert_string_equal(revs.items[0]->id, v2->id);
    assert_string_equal(revs.items[1]->definition, AVRO_V1);
    assert_int_equal(revs.items[1]->create_ns, v1->create_ns);
    ps_revisions_free(&revs);
    assert_true(ps_schemas_list(reg, PROJECT "/schemas/", &revs));
    assert_int_equal(revs.count, 2);
    assert_int_equal(revs.items[1]->type, PS_SCHEMA_PROTOCOL_BUFFER);
    ps_revisions_free(&revs);
    struct ps_topic *t = ps_topic_get(reg, TOPIC);
    assert_string_equal(t->cfg.schema.schema, SCHEMA);
    assert_string_equal(t->cfg.schema.first_revision, v1->id);
    assert_int_equal(t->cfg.schema.encoding, PS_ENCODING_JSON);
    ps_topic_put(t);
    assert_int_equal(publish(f, TOPIC, "{\"id\": 1}", NULL, &st), EM_OK);

    /* deleted: the topic shows _deleted-schema_ and refuses publishes, also after a restart */
    assert_int_equal(ps_schema_delete(reg, SCHEMA, &st), EM_OK);
    assert_int_equal(ps_schema_delete(reg, SCHEMA, &st), EM_NOT_FOUND);
    for (int round = 0; round < 2; round++) {
        t = ps_topic_get(unit_pubsub_reg(f), TOPIC);
        assert_string_equal(t->cfg.schema.schema, PS_DELETED_SCHEMA);
        assert_null(t->cfg.schema.first_revision);
        ps_topic_put(t);
        assert_int_equal(publish(f, TOPIC, "{\"id\": 1}", NULL, &st), EM_NOT_FOUND);
        assert_string_equal(st.message, "Schema associated with topic deleted.");
        assert_int_equal(unit_pubsub_restart(f), 0);
    }
    /* a new schema of the same name is another schema: the topic stays refused */
    ps_revision_put(create(f, SCHEMA, PS_SCHEMA_AVRO, AVRO_V1));
    assert_int_equal(publish(f, TOPIC, "{\"id\": 1}", NULL, &st), EM_NOT_FOUND);
    ps_revision_put(v1);
    ps_revision_put(v2);
}

static void test_error_info_fits(void **state)
{
    (void)state;
    struct em_status st = {0};
    char long_value[2000];
    memset(long_value, 'x', sizeof(long_value) - 1);
    long_value[sizeof(long_value) - 1] = '\0';
    EM_FAIL(&st, EM_INVALID_ARGUMENT, "refused");
    const char *const pairs[] = {"message", "short", "revisionInfo", long_value, NULL};
    em_status_set_info(&st, "REASON", "example.googleapis.com", pairs);
    cJSON *metadata = cJSON_Parse(st.info_metadata);
    assert_non_null(metadata);
    assert_string_equal(cJSON_GetObjectItem(metadata, "message")->valuestring, "short");
    assert_true(strlen(cJSON_GetObjectItem(metadata, "revisionInfo")->valuestring) > 400);
    cJSON_Delete(metadata);
    char *json = em_status_to_json(&st);
    assert_non_null(strstr(json, "\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\""));
    assert_non_null(strstr(json, "\"reason\":\"REASON\""));
    free(json);
    /* a message cut to fit never ends inside a UTF-8 character */
    for (int pad = 0; pad < 4; pad++) {
        EM_FAIL(&st, EM_INVALID_ARGUMENT, "%.*s%s", pad, "xxx",
                "\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x91" /* é € 🔑 */
                "\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x91\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x91"
                "\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x91\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x91");
        assert_true(em_utf8_valid(st.message, strlen(st.message), NULL));
        char long_text[EM_STATUS_MESSAGE_MAX * 2] = {0};
        for (size_t i = 0; i + 9 < sizeof(long_text) - 1; i += 9)
            memcpy(long_text + i, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x91", 9);
        EM_FAIL(&st, EM_INVALID_ARGUMENT, "%.*s%s", pad, "xxx", long_text);
        assert_true(strlen(st.message) > EM_STATUS_MESSAGE_MAX - 5);
        assert_true(em_utf8_valid(st.message, strlen(st.message), NULL));
    }
    /* nor does one a precision cut in the middle of the message (`%.Ns` of client text) */
    EM_FAIL(&st, EM_NOT_FOUND, "Role not found: %.17s.",
            "\xf0\x9f\x99\x82\xf0\x9f\x99\x82\xf0\x9f\x99\x82\xf0\x9f\x99\x82\xf0\x9f\x99\x82");
    assert_string_equal(st.message, "Role not found: \xf0\x9f\x99\x82\xf0\x9f\x99\x82"
                                    "\xf0\x9f\x99\x82\xf0\x9f\x99\x82.");
    EM_FAIL(&st, EM_NOT_FOUND, "later");
    assert_null(st.info_reason); /* a new failure drops the old ErrorInfo */
    json = em_status_to_json(&st);
    assert_null(strstr(json, "details"));
    free(json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_PUBSUB_TEST(test_revisions),
        UNIT_PUBSUB_TEST(test_topic_settings_are_checked),
        UNIT_PUBSUB_TEST(test_topic_settings_patched_field_by_field),
        UNIT_PUBSUB_TEST(test_publish_is_validated_and_stamped),
        UNIT_PUBSUB_TEST(test_protobuf_binary_topic),
        UNIT_PUBSUB_TEST(test_deleted_schema_and_restart),
        cmocka_unit_test(test_error_info_fits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
