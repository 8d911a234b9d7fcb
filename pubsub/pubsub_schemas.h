/*
 * pubsub_schemas: Pub/Sub schemas (google.pubsub.v1.SchemaService) and what topics do
 * with them.
 *
 * A schema is a list of revisions, oldest first, each immutable once made: an 8-hex-digit
 * revision ID, a type (Avro or Protocol Buffer), the definition text and its creation
 * time, and the definition compiled (pubsub_avro.h, pubsub_proto.h) when the revision is
 * made or loaded. Create makes the first revision; commit adds one with a new definition
 * of the same type; rollback adds a copy of an older one under a new ID; deleteRevision
 * removes one (never the last); delete removes the schema, and the topics that named it
 * show schema `_deleted-schema_` and refuse publishes from then on (NOT_FOUND, as Google).
 * At most PS_MAX_SCHEMA_REVISIONS revisions per schema.
 *
 * A topic's schemaSettings name a schema, an encoding (JSON or BINARY) and optionally the
 * first and last revision allowed. Each published message is checked against the allowed
 * revisions from the newest to the oldest; the first that accepts it is stamped on the
 * message as Google does (attributes googclient_schemaname, googclient_schemaencoding,
 * googclient_schemarevisionid). A message no allowed revision accepts fails the whole
 * publish with INVALID_ARGUMENT "Invalid data in message: Message failed schema
 * validation." and an ErrorInfo saying which revision refused it and why, as Google.
 * Revisions committed later are used by the next publish (Google: "Pub/Sub only evaluates
 * messages against schema revisions at publish time").
 *
 * Schemas are configuration (metadata.db, in clear, like topic settings), not customer
 * data: message bytes are only ever read here, never stored.
 *
 * Locks: the registry lock guards the schema map and topics' settings; a schema's own
 * mutex guards its revision list. Validation holds references to revisions, no lock.
 *
 * Google reference: https://cloud.google.com/pubsub/docs/schemas and
 * https://cloud.google.com/pubsub/docs/reference/rest/v1/projects.schemas
 */
#ifndef PUBSUB_SCHEMAS_H
#define PUBSUB_SCHEMAS_H

#include "pubsub_registry.h"

#define PS_MAX_SCHEMA_REVISIONS   20
#define PS_MAX_SCHEMA_DEFINITION  (300 * 1000)
#define PS_SCHEMA_REVISION_ID_LEN 8

enum ps_schema_type {
    PS_SCHEMA_TYPE_UNSPECIFIED = 0,
    PS_SCHEMA_PROTOCOL_BUFFER = 1,
    PS_SCHEMA_AVRO = 2
};

/* "AVRO", "PROTOCOL_BUFFER" (the API's names). */
const char *ps_schema_type_name(enum ps_schema_type type);

/* A definition compiled for validation: immutable, shared by threads. */
struct ps_schema_def;
enum em_code ps_schema_def_compile(enum ps_schema_type type, const char *definition,
                                   struct ps_schema_def **out, struct em_status *st);
/* The same after Google's checks of the type and the definition's size (ValidateSchema
 * and every new revision). */
enum em_code ps_schema_def_new(enum ps_schema_type type, const char *definition,
                               struct ps_schema_def **out, struct em_status *st);
/* OK when msg is a valid message of the definition in that encoding. */
enum em_code ps_schema_def_check(const struct ps_schema_def *def, enum ps_encoding encoding,
                                 const unsigned char *msg, size_t len, struct em_status *st);
void ps_schema_def_free(struct ps_schema_def *def);

/* One revision, reference counted (ps_revision_put). */
struct ps_revision {
    char *name; /* the schema's */
    char id[PS_SCHEMA_REVISION_ID_LEN + 1];
    enum ps_schema_type type;
    char *definition;
    int64_t create_ns;
    struct ps_schema_def *def;
    atomic_int refs;
};
void ps_revision_put(struct ps_revision *rev);

/* A schema's revisions as handed out: references, newest first (ps_revisions_free). */
struct ps_revisions {
    struct ps_revision **items;
    size_t count;
};
void ps_revisions_free(struct ps_revisions *revs);

/* Admin calls; each revision returned holds a reference. */
enum em_code ps_schema_create(struct ps_registry *reg, const char *name, enum ps_schema_type type,
                              const char *definition, int64_t now, struct ps_revision **out,
                              struct em_status *st);
enum em_code ps_schema_commit(struct ps_registry *reg, const char *name, enum ps_schema_type type,
                              const char *definition, int64_t now, struct ps_revision **out,
                              struct em_status *st);
enum em_code ps_schema_rollback(struct ps_registry *reg, const char *name, const char *revision_id,
                                int64_t now, struct ps_revision **out, struct em_status *st);
/* Removes one revision and returns it. */
enum em_code ps_schema_delete_revision(struct ps_registry *reg, const char *name,
                                       const char *revision_id, struct ps_revision **out,
                                       struct em_status *st);
enum em_code ps_schema_delete(struct ps_registry *reg, const char *name, struct em_status *st);

/* The newest revision, or the one named (revision_id not NULL). */
enum em_code ps_schema_get(struct ps_registry *reg, const char *name, const char *revision_id,
                           struct ps_revision **out, struct em_status *st);
/* Every revision of a schema. */
enum em_code ps_schema_revisions(struct ps_registry *reg, const char *name,
                                 struct ps_revisions *out, struct em_status *st);
/* The newest revision of every schema under prefix ("projects/p/schemas/"), in name
 * order; false when out of memory. */
bool ps_schemas_list(struct ps_registry *reg, const char *prefix, struct ps_revisions *out);

/* ValidateMessage against a stored schema: its newest revision, or revision_id. */
enum em_code ps_schema_validate_message(struct ps_registry *reg, const char *name,
                                        const char *revision_id, enum ps_encoding encoding,
                                        const unsigned char *msg, size_t len, struct em_status *st);

/* Topics: the settings a create or update asks for, checked against the schemas (the
 * registry lock held for reading, or the admin lock). */
enum em_code ps_schema_check_settings(struct ps_registry *reg, const struct ps_schema_settings *s,
                                      struct em_status *st);
/* Publish: checks every message against the topic's schema, if any, and stamps the
 * revision that accepted it in its attributes. Nothing is changed when one fails. */
enum em_code ps_topic_check_messages(struct ps_registry *reg, struct ps_topic *topic,
                                     struct ps_message *msgs, size_t count, struct em_status *st);

/* The revisions a topic's settings allow, newest first (registry lock held;
 * pubsub_schema_check.c). */
enum em_code ps_schema_allowed_revisions(struct ps_registry *reg,
                                         const struct ps_schema_settings *s,
                                         struct ps_revisions *out, struct em_status *st);

/* Forgets every schema (registry reset and close; metadata.db is the caller's). */
void ps_schemas_drop(struct ps_registry *reg);

#endif
