/*
 * pubsub_schema_check: messages against schemas (see pubsub_schemas.h): a definition
 * compiled by its type (Avro: pubsub_avro.c, Protocol Buffer: pubsub_proto.c),
 * ValidateMessage, and a publish's messages against the revisions their topic allows,
 * each stamped with the revision that accepted it.
 *
 * A refused publish fails as Google's does: INVALID_ARGUMENT "Invalid data in message:
 * Message failed schema validation." with an ErrorInfo (reason INVALID_<JSON|BINARY>_
 * <AVRO|PROTO>_MESSAGE, domain pubsub.googleapis.com) whose revisionInfo names the last
 * revision tried (the oldest allowed) and why it refused the message.
 */
#include "pubsub_schemas.h"

#include "pubsub_avro.h"
#include "pubsub_proto.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ps_schema_def {
    enum ps_schema_type type;
    struct ps_avro_schema *avro;
    struct ps_proto_schema *proto;
};

enum em_code ps_schema_def_compile(enum ps_schema_type type, const char *definition,
                                   struct ps_schema_def **out, struct em_status *st)
{
    struct ps_schema_def *def = calloc(1, sizeof(*def));
    if (!def)
        return EM_FAIL_OOM(st);
    def->type = type;
    size_t len = strlen(definition);
    enum em_code code = type == PS_SCHEMA_AVRO ? ps_avro_parse(definition, len, &def->avro, st)
                        : type == PS_SCHEMA_PROTOCOL_BUFFER
                            ? ps_proto_parse(definition, len, &def->proto, st)
                            : EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid schema type");
    if (code) {
        free(def);
        if (code != EM_INVALID_ARGUMENT)
            return code;
        char reason[EM_STATUS_MESSAGE_MAX];
        snprintf(reason, sizeof(reason), "%s", st->message);
        return EM_FAIL(st, code, "Could not parse schema definition: %.500s", reason);
    }
    *out = def;
    return EM_OK;
}

void ps_schema_def_free(struct ps_schema_def *def)
{
    if (!def)
        return;
    ps_avro_free(def->avro);
    ps_proto_free(def->proto);
    free(def);
}

enum em_code ps_schema_def_check(const struct ps_schema_def *def, enum ps_encoding encoding,
                                 const unsigned char *msg, size_t len, struct em_status *st)
{
    if (!def)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "This revision's definition does not compile any more (see the "
                       "emulator's log).");
    bool json = encoding == PS_ENCODING_JSON;
    if (!json && encoding != PS_ENCODING_BINARY)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid schema encoding provided");
    if (def->type == PS_SCHEMA_AVRO)
        return json ? ps_avro_check_json(def->avro, msg, len, st)
                    : ps_avro_check_binary(def->avro, msg, len, st);
    return json ? ps_proto_check_json(def->proto, msg, len, st)
                : ps_proto_check_binary(def->proto, msg, len, st);
}

enum em_code ps_schema_validate_message(struct ps_registry *reg, const char *name,
                                        const char *revision_id, enum ps_encoding encoding,
                                        const unsigned char *msg, size_t len, struct em_status *st)
{
    struct ps_revision *rev;
    if (ps_schema_get(reg, name, revision_id, &rev, st))
        return st->code;
    enum em_code code = ps_schema_def_check(rev->def, encoding, msg, len, st);
    ps_revision_put(rev);
    return code;
}

/* --- publish --- */

static const char *failure_reason(enum ps_schema_type type, enum ps_encoding encoding)
{
    bool json = encoding == PS_ENCODING_JSON;
    if (type == PS_SCHEMA_AVRO)
        return json ? "INVALID_JSON_AVRO_MESSAGE" : "INVALID_BINARY_AVRO_MESSAGE";
    return json ? "INVALID_JSON_PROTO_MESSAGE" : "INVALID_BINARY_PROTO_MESSAGE";
}

/* Google's refusal of a message no allowed revision accepts; st holds the last reason. */
static enum em_code refuse(const struct ps_revisions *revs, enum ps_encoding encoding,
                           struct em_status *st)
{
    const struct ps_revision *last = revs->items[revs->count - 1];
    char info[EM_STATUS_INFO_MAX];
    snprintf(info, sizeof(info),
             "Could not validate message with any schema revision for schema: %.150s, last "
             "checked revision: revision_id=%s failed with status: %.250s",
             last->name, last->id, st->message);
    EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid data in message: Message failed schema validation.");
    const char *const pairs[] = {"message", "Message failed schema validation", "revisionInfo",
                                 info, NULL};
    em_status_set_info(st, failure_reason(last->type, encoding), "pubsub.googleapis.com", pairs);
    return st->code;
}

/* The newest allowed revision that accepts m, or NULL (st: the last one's reason). */
static const struct ps_revision *accepting(const struct ps_revisions *revs,
                                           enum ps_encoding encoding, const struct ps_message *m,
                                           struct em_status *st)
{
    for (size_t i = 0; i < revs->count; i++) {
        if (ps_schema_def_check(revs->items[i]->def, encoding, m->data, m->data_len, st) == EM_OK)
            return revs->items[i];
        if (st->code == EM_INTERNAL)
            return NULL;
    }
    return NULL;
}

/* m's attributes with Google's three schema attributes set; malloc'd JSON text. */
static char *stamped(const struct ps_message *m, const struct ps_revision *rev,
                     enum ps_encoding encoding)
{
    cJSON *attrs =
        m->attributes && *m->attributes ? cJSON_Parse(m->attributes) : cJSON_CreateObject();
    if (!cJSON_IsObject(attrs)) {
        cJSON_Delete(attrs);
        return NULL;
    }
    const char *const pairs[][2] = {
        {"googclient_schemaname", rev->name},
        {"googclient_schemaencoding", ps_encoding_name(encoding)},
        {"googclient_schemarevisionid", rev->id},
    };
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        cJSON_DeleteItemFromObjectCaseSensitive(attrs, pairs[i][0]);
        cJSON_AddStringToObject(attrs, pairs[i][0], pairs[i][1]);
    }
    char *text = cJSON_PrintUnformatted(attrs);
    cJSON_Delete(attrs);
    return text;
}

/* Checks every message, then stamps them all (nothing changes when one is refused). */
static enum em_code check_all(const struct ps_revisions *revs, enum ps_encoding encoding,
                              struct ps_message *msgs, size_t count, struct em_status *st)
{
    char **attrs = calloc(count ? count : 1, sizeof(*attrs));
    if (!attrs)
        return EM_FAIL_OOM(st);
    enum em_code code = EM_OK;
    for (size_t i = 0; !code && i < count; i++) {
        const struct ps_revision *rev = accepting(revs, encoding, &msgs[i], st);
        if (!rev)
            code = st->code == EM_INTERNAL ? st->code : refuse(revs, encoding, st);
        else if (!(attrs[i] = stamped(&msgs[i], rev, encoding)))
            code = EM_FAIL_OOM(st);
    }
    for (size_t i = 0; i < count; i++) {
        if (!code) {
            free(msgs[i].attributes);
            msgs[i].attributes = attrs[i];
        } else {
            free(attrs[i]);
        }
    }
    free(attrs);
    if (!code)
        em_status_clear(st);
    return code;
}

enum em_code ps_topic_check_messages(struct ps_registry *reg, struct ps_topic *topic,
                                     struct ps_message *msgs, size_t count, struct em_status *st)
{
    pthread_rwlock_rdlock(&reg->lock);
    const struct ps_schema_settings *s = &topic->cfg.schema;
    if (!s->schema) {
        pthread_rwlock_unlock(&reg->lock);
        return EM_OK;
    }
    enum ps_encoding encoding = s->encoding;
    struct ps_revisions revs;
    enum em_code code = ps_schema_allowed_revisions(reg, s, &revs, st);
    pthread_rwlock_unlock(&reg->lock);
    if (!code)
        code = check_all(&revs, encoding, msgs, count, st);
    ps_revisions_free(&revs);
    return code;
}
