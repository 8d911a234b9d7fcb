/*
 * pubsub_schemas: the schemas of the registry (see pubsub_schemas.h): the objects and
 * their revisions, the admin calls written through to metadata.db, and the lookups
 * validation uses (pubsub_schema_check.c).
 */
#include "pubsub_schemas.h"

#include "pubsub_registry_parts.h"

#include "em_crypto.h"
#include "em_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* NOT_FOUND and FAILED_PRECONDITION messages as Google's emulator words them. */
#define ERR_SCHEMA_NOT_FOUND(st)   EM_FAIL((st), EM_NOT_FOUND, "Schema not found")
#define ERR_REVISION_NOT_FOUND(st) EM_FAIL((st), EM_NOT_FOUND, "Schema revision not found")

struct ps_schema {
    char *name;
    pthread_mutex_t lock;      /* guards revs and count (the registry lock held too) */
    struct ps_revision **revs; /* oldest first, each a reference */
    size_t count;
};

const char *ps_schema_type_name(enum ps_schema_type type)
{
    return type == PS_SCHEMA_AVRO              ? "AVRO"
           : type == PS_SCHEMA_PROTOCOL_BUFFER ? "PROTOCOL_BUFFER"
                                               : "TYPE_UNSPECIFIED";
}

void ps_revision_put(struct ps_revision *rev)
{
    if (!rev || atomic_fetch_sub(&rev->refs, 1) != 1)
        return;
    ps_schema_def_free(rev->def);
    free(rev->definition);
    free(rev->name);
    free(rev);
}

void ps_revisions_free(struct ps_revisions *revs)
{
    for (size_t i = 0; i < revs->count; i++)
        ps_revision_put(revs->items[i]);
    free(revs->items);
    memset(revs, 0, sizeof(*revs));
}

static struct ps_revision *revision_ref(struct ps_revision *rev)
{
    atomic_fetch_add(&rev->refs, 1);
    return rev;
}

static enum em_code check_definition(enum ps_schema_type type, const char *definition,
                                     struct em_status *st)
{
    if (type != PS_SCHEMA_AVRO && type != PS_SCHEMA_PROTOCOL_BUFFER)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid schema type: it must be AVRO or PROTOCOL_BUFFER.");
    if (!definition || !*definition)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Could not parse schema definition: the definition is empty.");
    size_t len = strlen(definition);
    if (len > PS_MAX_SCHEMA_DEFINITION)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Schema definition is %zu bytes, more than the limit of %d bytes.", len,
                       PS_MAX_SCHEMA_DEFINITION);
    return EM_OK;
}

enum em_code ps_schema_def_new(enum ps_schema_type type, const char *definition,
                               struct ps_schema_def **out, struct em_status *st)
{
    if (check_definition(type, definition, st))
        return st->code;
    return ps_schema_def_compile(type, definition, out, st);
}

/* A revision with its definition compiled. loading: one stored that no longer compiles
 * (a stricter emulator) is kept, with no compiled definition: it validates nothing. */
static enum em_code revision_make(const char *name, const char *id, enum ps_schema_type type,
                                  const char *definition, int64_t create_ns, bool loading,
                                  struct ps_revision **out, struct em_status *st)
{
    struct ps_revision *rev = calloc(1, sizeof(*rev));
    if (!rev)
        return EM_FAIL_OOM(st);
    atomic_init(&rev->refs, 1);
    snprintf(rev->id, sizeof(rev->id), "%s", id);
    rev->type = type;
    rev->create_ns = create_ns;
    rev->name = strdup(name);
    rev->definition = strdup(definition);
    enum em_code code = rev->name && rev->definition ? EM_OK : EM_FAIL_OOM(st);
    if (!code)
        code = ps_schema_def_compile(type, definition, &rev->def, st);
    if (code && code != EM_INTERNAL && loading) {
        em_warn("pubsub: schema %s revision %s no longer compiles, it will refuse every "
                "message: %s",
                name, id, st->message);
        em_status_clear(st);
        code = EM_OK;
    }
    if (code) {
        ps_revision_put(rev);
        return code;
    }
    *out = rev;
    return EM_OK;
}

static enum em_code revision_new(const char *name, const char *id, enum ps_schema_type type,
                                 const char *definition, int64_t create_ns,
                                 struct ps_revision **out, struct em_status *st)
{
    return revision_make(name, id, type, definition, create_ns, false, out, st);
}

static void schema_free(struct ps_schema *schema)
{
    if (!schema)
        return;
    for (size_t i = 0; i < schema->count; i++)
        ps_revision_put(schema->revs[i]);
    free(schema->revs);
    pthread_mutex_destroy(&schema->lock);
    free(schema->name);
    free(schema);
}

static struct ps_schema *schema_new(const char *name)
{
    struct ps_schema *schema = calloc(1, sizeof(*schema));
    if (!schema)
        return NULL;
    pthread_mutex_init(&schema->lock, NULL);
    schema->name = strdup(name);
    schema->revs = calloc(PS_MAX_SCHEMA_REVISIONS, sizeof(*schema->revs));
    if (!schema->name || !schema->revs) {
        schema_free(schema);
        return NULL;
    }
    return schema;
}

/* The revision of schema with that ID, or NULL (schema->lock held). */
static struct ps_revision *find_revision(const struct ps_schema *schema, const char *id, size_t *at)
{
    for (size_t i = 0; i < schema->count; i++)
        if (strcmp(schema->revs[i]->id, id) == 0) {
            if (at)
                *at = i;
            return schema->revs[i];
        }
    return NULL;
}

/* A fresh revision ID: 8 hex digits, unique in the schema (schema->lock held). */
static enum em_code new_revision_id(const struct ps_schema *schema,
                                    char out[PS_SCHEMA_REVISION_ID_LEN + 1], struct em_status *st)
{
    do {
        unsigned char raw[PS_SCHEMA_REVISION_ID_LEN / 2];
        if (em_random_bytes(raw, sizeof(raw), st))
            return st->code;
        for (size_t i = 0; i < sizeof(raw); i++)
            snprintf(out + 2 * i, 3, "%02x", raw[i]);
    } while (schema && find_revision(schema, out, NULL));
    return EM_OK;
}

static enum em_code save_revision(struct ps_registry *reg, const struct ps_revision *rev,
                                  struct em_status *st)
{
    struct ps_schema_revision_row row = {rev->name, rev->id, (int)rev->type, rev->definition,
                                         rev->create_ns};
    return ps_store_save_schema_revision(reg->meta, &row, st);
}

/* Appends rev to schema and metadata.db (admin lock and schema->lock held). */
static enum em_code append_revision(struct ps_registry *reg, struct ps_schema *schema,
                                    struct ps_revision *rev, struct em_status *st)
{
    if (schema->count >= PS_MAX_SCHEMA_REVISIONS)
        return EM_FAIL(st, EM_RESOURCE_EXHAUSTED,
                       "Schema %.300s already has the maximum of %d revisions: delete one first.",
                       schema->name, PS_MAX_SCHEMA_REVISIONS);
    if (save_revision(reg, rev, st))
        return st->code;
    schema->revs[schema->count++] = revision_ref(rev);
    return EM_OK;
}

enum em_code ps_schema_create(struct ps_registry *reg, const char *name, enum ps_schema_type type,
                              const char *definition, int64_t now, struct ps_revision **out,
                              struct em_status *st)
{
    char id[PS_SCHEMA_REVISION_ID_LEN + 1];
    struct ps_revision *rev = NULL;
    if (check_definition(type, definition, st) || new_revision_id(NULL, id, st) ||
        revision_new(name, id, type, definition, now, &rev, st))
        return st->code;
    struct ps_schema *schema = schema_new(name);
    if (!schema) {
        ps_revision_put(rev);
        return EM_FAIL_OOM(st);
    }
    pthread_mutex_lock(&ps_admin_lock);
    pthread_rwlock_wrlock(&reg->lock);
    enum em_code code = EM_OK;
    if (em_index_find(&reg->schemas, name)) {
        code = EM_FAIL(st, EM_ALREADY_EXISTS, "Schema already exists");
    } else if (!em_index_insert(&reg->schemas, schema)) {
        code = EM_FAIL_OOM(st);
    } else if (append_revision(reg, schema, rev, st)) {
        em_index_remove(&reg->schemas, name);
        code = st->code;
    }
    pthread_rwlock_unlock(&reg->lock);
    pthread_mutex_unlock(&ps_admin_lock);
    if (code) {
        schema_free(schema);
        ps_revision_put(rev);
        return code;
    }
    *out = rev;
    return EM_OK;
}

/* Runs change on the named schema under the admin lock, the registry's read lock and the
 * schema's own lock (what changes a schema's revisions). */
typedef enum em_code (*schema_change)(struct ps_registry *reg, struct ps_schema *schema, void *arg,
                                      struct em_status *st);

static enum em_code change_schema(struct ps_registry *reg, const char *name, schema_change change,
                                  void *arg, struct em_status *st)
{
    pthread_mutex_lock(&ps_admin_lock);
    pthread_rwlock_rdlock(&reg->lock);
    struct ps_schema *schema = em_index_find(&reg->schemas, name);
    enum em_code code = EM_OK;
    if (!schema) {
        code = ERR_SCHEMA_NOT_FOUND(st);
    } else {
        pthread_mutex_lock(&schema->lock);
        code = change(reg, schema, arg, st);
        pthread_mutex_unlock(&schema->lock);
    }
    pthread_rwlock_unlock(&reg->lock);
    pthread_mutex_unlock(&ps_admin_lock);
    return code;
}

/* Appends a revision compiled beforehand (no lock held meanwhile: a 300 KB definition
 * takes a while) under a fresh ID, if it keeps the schema's type (schema->lock held). */
static enum em_code append_new(struct ps_registry *reg, struct ps_schema *schema, void *arg,
                               struct em_status *st)
{
    struct ps_revision *rev = arg;
    const struct ps_revision *newest = schema->revs[schema->count - 1];
    if (rev->type != newest->type)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "A new revision must keep the schema's type (%s).",
                       ps_schema_type_name(newest->type));
    if (new_revision_id(schema, rev->id, st))
        return st->code;
    return append_revision(reg, schema, rev, st);
}

/* Adds rev (a new revision without an ID yet, whose reference it takes) to the schema. */
static enum em_code add_revision(struct ps_registry *reg, const char *name, struct ps_revision *rev,
                                 struct ps_revision **out, struct em_status *st)
{
    if (change_schema(reg, name, append_new, rev, st)) {
        ps_revision_put(rev);
        return st->code;
    }
    *out = rev;
    return EM_OK;
}

enum em_code ps_schema_commit(struct ps_registry *reg, const char *name, enum ps_schema_type type,
                              const char *definition, int64_t now, struct ps_revision **out,
                              struct em_status *st)
{
    struct ps_revision *rev;
    if (check_definition(type, definition, st) ||
        revision_new(name, "", type, definition, now, &rev, st))
        return st->code;
    return add_revision(reg, name, rev, out, st);
}

static enum em_code pick_revision(struct ps_schema *schema, const char *revision_id,
                                  struct ps_revision **out, struct em_status *st);

/* The revision a rollback copies, with a reference ("Revision not found" when the schema
 * lacks it, as Google's emulator words it). */
static enum em_code rollback_source(struct ps_registry *reg, const char *name,
                                    const char *revision_id, struct ps_revision **out,
                                    struct em_status *st)
{
    pthread_rwlock_rdlock(&reg->lock);
    struct ps_schema *schema = em_index_find(&reg->schemas, name);
    enum em_code code = !schema ? ERR_SCHEMA_NOT_FOUND(st)
                        : pick_revision(schema, revision_id, out, st)
                            ? EM_FAIL(st, EM_NOT_FOUND, "Revision not found")
                            : EM_OK;
    pthread_rwlock_unlock(&reg->lock);
    return code;
}

enum em_code ps_schema_rollback(struct ps_registry *reg, const char *name, const char *revision_id,
                                int64_t now, struct ps_revision **out, struct em_status *st)
{
    if (!revision_id || !*revision_id)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "RollbackSchemaRequest.revision_id is required.");
    struct ps_revision *old, *rev;
    if (rollback_source(reg, name, revision_id, &old, st))
        return st->code;
    enum em_code code = revision_new(name, "", old->type, old->definition, now, &rev, st);
    ps_revision_put(old);
    return code ? code : add_revision(reg, name, rev, out, st);
}

struct revision_removal {
    const char *id;
    struct ps_revision *rev; /* the revision removed: the schema's reference, handed over */
};

static enum em_code remove_revision(struct ps_registry *reg, struct ps_schema *schema, void *arg,
                                    struct em_status *st)
{
    struct revision_removal *r = arg;
    size_t at = 0;
    struct ps_revision *rev = find_revision(schema, r->id, &at);
    if (schema->count == 1)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Cannot delete last revision. Please use DeleteSchema.");
    if (!rev)
        return ERR_REVISION_NOT_FOUND(st);
    if (ps_store_delete_schema_revision(reg->meta, schema->name, rev->id, st))
        return st->code;
    memmove(&schema->revs[at], &schema->revs[at + 1],
            (schema->count - at - 1) * sizeof(*schema->revs));
    schema->count--;
    r->rev = rev;
    return EM_OK;
}

enum em_code ps_schema_delete_revision(struct ps_registry *reg, const char *name,
                                       const char *revision_id, struct ps_revision **out,
                                       struct em_status *st)
{
    struct revision_removal r = {revision_id, NULL};
    if (change_schema(reg, name, remove_revision, &r, st))
        return st->code;
    *out = r.rev;
    return EM_OK;
}

/* Topics that named a deleted schema show PS_DELETED_SCHEMA (registry write lock held). */
static void mark_topics(struct ps_registry *reg, const char *name)
{
    for (size_t i = 0; i < reg->topics.count; i++) {
        struct ps_schema_settings *s = &((struct ps_topic *)reg->topics.items[i])->cfg.schema;
        if (!s->schema || strcmp(s->schema, name) != 0)
            continue;
        char *deleted = strdup(PS_DELETED_SCHEMA);
        if (!deleted)
            continue; /* metadata.db says deleted; the next start shows it */
        free(s->schema);
        free(s->first_revision);
        free(s->last_revision);
        s->schema = deleted;
        s->first_revision = s->last_revision = NULL;
    }
}

enum em_code ps_schema_delete(struct ps_registry *reg, const char *name, struct em_status *st)
{
    pthread_mutex_lock(&ps_admin_lock);
    pthread_rwlock_wrlock(&reg->lock);
    struct ps_schema *schema = em_index_find(&reg->schemas, name);
    enum em_code code =
        schema ? ps_store_delete_schema(reg->meta, name, st) : ERR_SCHEMA_NOT_FOUND(st);
    if (!code) {
        em_index_remove(&reg->schemas, name);
        mark_topics(reg, name);
    }
    pthread_rwlock_unlock(&reg->lock);
    pthread_mutex_unlock(&ps_admin_lock);
    if (!code)
        schema_free(schema);
    return code;
}

/* --- lookups --- */

/* The named revision of schema or its newest, with a reference (registry lock held). */
static enum em_code pick_revision(struct ps_schema *schema, const char *revision_id,
                                  struct ps_revision **out, struct em_status *st)
{
    pthread_mutex_lock(&schema->lock);
    struct ps_revision *rev =
        revision_id ? find_revision(schema, revision_id, NULL) : schema->revs[schema->count - 1];
    if (rev)
        revision_ref(rev);
    pthread_mutex_unlock(&schema->lock);
    if (!rev)
        return ERR_REVISION_NOT_FOUND(st);
    *out = rev;
    return EM_OK;
}

enum em_code ps_schema_get(struct ps_registry *reg, const char *name, const char *revision_id,
                           struct ps_revision **out, struct em_status *st)
{
    pthread_rwlock_rdlock(&reg->lock);
    struct ps_schema *schema = em_index_find(&reg->schemas, name);
    enum em_code code =
        schema ? pick_revision(schema, revision_id, out, st) : ERR_SCHEMA_NOT_FOUND(st);
    pthread_rwlock_unlock(&reg->lock);
    return code;
}

/* Copies references to schema's revisions, newest first (registry lock held). */
static bool copy_revisions(struct ps_schema *schema, struct ps_revisions *out)
{
    pthread_mutex_lock(&schema->lock);
    out->items = calloc(schema->count, sizeof(*out->items));
    out->count = out->items ? schema->count : 0;
    for (size_t i = 0; i < out->count; i++)
        out->items[i] = revision_ref(schema->revs[schema->count - 1 - i]);
    pthread_mutex_unlock(&schema->lock);
    return out->items != NULL;
}

enum em_code ps_schema_revisions(struct ps_registry *reg, const char *name,
                                 struct ps_revisions *out, struct em_status *st)
{
    memset(out, 0, sizeof(*out));
    pthread_rwlock_rdlock(&reg->lock);
    struct ps_schema *schema = em_index_find(&reg->schemas, name);
    enum em_code code = !schema                        ? ERR_SCHEMA_NOT_FOUND(st)
                        : !copy_revisions(schema, out) ? EM_FAIL_OOM(st)
                                                       : EM_OK;
    pthread_rwlock_unlock(&reg->lock);
    return code;
}

bool ps_schemas_list(struct ps_registry *reg, const char *prefix, struct ps_revisions *out)
{
    memset(out, 0, sizeof(*out));
    pthread_rwlock_rdlock(&reg->lock);
    size_t from = em_index_lower_bound(&reg->schemas, prefix), to = from;
    while (to < reg->schemas.count &&
           ps_name_has_prefix(((struct ps_schema *)reg->schemas.items[to])->name, prefix))
        to++;
    out->items = calloc(to > from ? to - from : 1, sizeof(*out->items));
    for (size_t i = from; out->items && i < to; i++) {
        struct ps_schema *schema = reg->schemas.items[i];
        pthread_mutex_lock(&schema->lock);
        out->items[out->count++] = revision_ref(schema->revs[schema->count - 1]);
        pthread_mutex_unlock(&schema->lock);
    }
    pthread_rwlock_unlock(&reg->lock);
    return out->items != NULL;
}

/* The revisions a topic's settings allow, newest first (registry lock held). */
enum em_code ps_schema_allowed_revisions(struct ps_registry *reg,
                                         const struct ps_schema_settings *s,
                                         struct ps_revisions *out, struct em_status *st)
{
    memset(out, 0, sizeof(*out));
    if (strcmp(s->schema, PS_DELETED_SCHEMA) == 0)
        return EM_FAIL(st, EM_NOT_FOUND, "Schema associated with topic deleted.");
    struct ps_schema *schema = em_index_find(&reg->schemas, s->schema);
    if (!schema)
        return EM_FAIL(st, EM_NOT_FOUND, "Schema associated with topic deleted.");
    pthread_mutex_lock(&schema->lock);
    size_t first = 0, last = schema->count - 1;
    bool ok = (!s->first_revision || find_revision(schema, s->first_revision, &first)) &&
              (!s->last_revision || find_revision(schema, s->last_revision, &last));
    out->items = ok && first <= last ? calloc(last - first + 1, sizeof(*out->items)) : NULL;
    for (size_t i = last + 1; out->items && i-- > first;)
        out->items[out->count++] = revision_ref(schema->revs[i]);
    pthread_mutex_unlock(&schema->lock);
    if (!ok || first > last)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "The topic's schema %.300s has no revision in the range it allows "
                       "(a revision it names was deleted).",
                       s->schema);
    return out->items ? EM_OK : EM_FAIL_OOM(st);
}

enum em_code ps_schema_check_settings(struct ps_registry *reg, const struct ps_schema_settings *s,
                                      struct em_status *st)
{
    if (!s->schema && !s->encoding && !s->first_revision && !s->last_revision)
        return EM_OK; /* no schema settings */
    if (!s->schema || !*s->schema)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "No schema name provided");
    if (s->encoding != PS_ENCODING_JSON && s->encoding != PS_ENCODING_BINARY)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid schema encoding provided");
    pthread_rwlock_rdlock(&reg->lock);
    struct ps_schema *schema = em_index_find(&reg->schemas, s->schema);
    enum em_code code = EM_OK;
    size_t first = 0, last;
    if (!schema) {
        code = EM_FAIL(st, EM_NOT_FOUND, "Schema could not be found");
    } else {
        pthread_mutex_lock(&schema->lock);
        last = schema->count - 1;
        if (s->first_revision && !find_revision(schema, s->first_revision, &first))
            code = EM_FAIL(st, EM_NOT_FOUND, "First revision could not be found");
        else if (s->last_revision && !find_revision(schema, s->last_revision, &last))
            code = EM_FAIL(st, EM_NOT_FOUND, "Last revision could not be found");
        else if (first > last)
            code = EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "The first revision (%.8s) is newer than the last revision (%.8s).",
                           s->first_revision, s->last_revision);
        pthread_mutex_unlock(&schema->lock);
    }
    pthread_rwlock_unlock(&reg->lock);
    return code;
}

/* --- loading and dropping --- */

enum em_code ps_load_schema_revision(void *arg, const struct ps_schema_revision_row *row,
                                     struct em_status *st)
{
    struct ps_registry *reg = arg;
    struct ps_revision *rev = NULL;
    if (revision_make(row->name, row->revision_id, (enum ps_schema_type)row->type, row->definition,
                      row->create_ns, true, &rev, st))
        return st->code;
    struct ps_schema *schema = em_index_find(&reg->schemas, row->name);
    if (!schema && (!(schema = schema_new(row->name)) || !em_index_insert(&reg->schemas, schema))) {
        schema_free(schema);
        ps_revision_put(rev);
        return EM_FAIL_OOM(st);
    }
    if (schema->count < PS_MAX_SCHEMA_REVISIONS)
        schema->revs[schema->count++] = rev;
    else
        ps_revision_put(rev);
    return EM_OK;
}

void ps_schemas_drop(struct ps_registry *reg)
{
    pthread_rwlock_wrlock(&reg->lock);
    struct em_index schemas = reg->schemas;
    memset(&reg->schemas, 0, sizeof(reg->schemas));
    pthread_rwlock_unlock(&reg->lock);
    for (size_t i = 0; i < schemas.count; i++)
        schema_free(schemas.items[i]);
    em_index_release(&schemas);
}
