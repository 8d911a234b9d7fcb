/*
 * pubsub_store: the only SQL of the Pub/Sub service.
 *
 * metadata.db (module "pubsub" in schema_migrations): configuration only, never message
 * content.
 *   pubsub_topics          name, kmsKeyName, labels, message storage policy, retention
 *   pubsub_retained_topics deleted topics whose data subscriptions still read (see
 *                          pubsub_registry.h): retained name (also their CMEK resource), topic
 *                          name and creation time (naming their store), retention
 *   pubsub_subscriptions   name, id, topic and every setting of the Subscription message;
 *                          retained_topic: the retained topic it reads once its topic is
 *                          deleted (version 2)
 *   pubsub_snapshots       name, id, topic, floor (a sequence number), expiry, labels
 *   pubsub_schema_revisions  (version 3) every revision of every schema: name, revision
 *                          ID, type, definition, creation time; pubsub_topics gained the
 *                          topic's schema settings
 *
 * Topic stores, <data dir>/pubsub/<sha256(topic, creation time)>.db, encrypted page by
 * page with the topic's DEK (em_store_open_encrypted; module "pubsub_log"): customer data
 * and what happened to it.
 *   ps_log_state   next sequence number and last publish time (ids are never reused)
 *   ps_messages    seq, publish time, ordering key, attributes (JSON text), data
 *   ps_floors      per subscription or snapshot ("owner"): every message below is acked
 *   ps_marks       per owner and message from the floor on: acknowledged, attempts
 *
 * Only the topic's log thread runs the topic-store functions (see pubsub_log.c).
 */
#include "pubsub_store.h"

#include "em_store.h"

#include <stdlib.h>
#include <string.h>

static const char *const pubsub_migrations[] = {
    "CREATE TABLE pubsub_topics ("
    " name TEXT PRIMARY KEY,"
    " kms_key_name TEXT,"
    " labels TEXT NOT NULL DEFAULT '{}',"
    " storage_regions TEXT,"
    " enforce_in_transit INTEGER NOT NULL DEFAULT 0,"
    " retention_ns INTEGER NOT NULL DEFAULT 0,"
    " create_time_ns INTEGER NOT NULL);"
    "CREATE TABLE pubsub_subscriptions ("
    " name TEXT PRIMARY KEY,"
    " id INTEGER NOT NULL UNIQUE,"
    " topic TEXT NOT NULL,"
    " ack_deadline_s INTEGER NOT NULL,"
    " retention_ns INTEGER NOT NULL,"
    " retain_acked INTEGER NOT NULL DEFAULT 0,"
    " filter TEXT NOT NULL DEFAULT '',"
    " dead_letter_topic TEXT,"
    " max_delivery_attempts INTEGER NOT NULL DEFAULT 0,"
    " min_backoff_ns INTEGER,"
    " max_backoff_ns INTEGER,"
    " ordering INTEGER NOT NULL DEFAULT 0,"
    " exactly_once INTEGER NOT NULL DEFAULT 0,"
    " push_endpoint TEXT,"
    " push_attributes TEXT,"
    " push_no_wrapper INTEGER NOT NULL DEFAULT 0,"
    " push_write_metadata INTEGER NOT NULL DEFAULT 0,"
    " push_oidc_service_account TEXT,"
    " push_oidc_audience TEXT,"
    " ttl_ns INTEGER NOT NULL,"
    " labels TEXT NOT NULL DEFAULT '{}',"
    " detached INTEGER NOT NULL DEFAULT 0,"
    " create_time_ns INTEGER NOT NULL,"
    " last_active_ns INTEGER NOT NULL);"
    "CREATE TABLE pubsub_snapshots ("
    " name TEXT PRIMARY KEY,"
    " id INTEGER NOT NULL UNIQUE,"
    " topic TEXT NOT NULL,"
    " floor_seq INTEGER NOT NULL,"
    " expire_time_ns INTEGER NOT NULL,"
    " labels TEXT NOT NULL DEFAULT '{}',"
    " create_time_ns INTEGER NOT NULL);",
    /* 2: deleted topics retained for their subscriptions */
    "CREATE TABLE pubsub_retained_topics ("
    " name TEXT PRIMARY KEY,"
    " topic TEXT NOT NULL,"
    " kms_key_name TEXT,"
    " retention_ns INTEGER NOT NULL DEFAULT 0,"
    " create_time_ns INTEGER NOT NULL,"
    " delete_time_ns INTEGER NOT NULL);"
    "ALTER TABLE pubsub_subscriptions ADD COLUMN retained_topic TEXT;",
    /* 3: schemas and the topics' schema settings */
    "CREATE TABLE pubsub_schema_revisions ("
    " name TEXT NOT NULL,"
    " revision_id TEXT NOT NULL,"
    " type INTEGER NOT NULL,"
    " definition TEXT NOT NULL,"
    " create_time_ns INTEGER NOT NULL,"
    " PRIMARY KEY (name, revision_id));"
    "ALTER TABLE pubsub_topics ADD COLUMN schema_name TEXT;"
    "ALTER TABLE pubsub_topics ADD COLUMN schema_encoding INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE pubsub_topics ADD COLUMN schema_first_revision TEXT;"
    "ALTER TABLE pubsub_topics ADD COLUMN schema_last_revision TEXT;",
};

static const char *const log_migrations[] = {
    "CREATE TABLE ps_log_state ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " next_seq INTEGER NOT NULL,"
    " last_publish_ns INTEGER NOT NULL);"
    "INSERT INTO ps_log_state(id, next_seq, last_publish_ns) VALUES (1, 1, 0);"
    "CREATE TABLE ps_messages ("
    " seq INTEGER PRIMARY KEY,"
    " publish_ns INTEGER NOT NULL,"
    " ordering_key TEXT NOT NULL,"
    " attributes TEXT NOT NULL,"
    " data BLOB NOT NULL);"
    "CREATE TABLE ps_floors ("
    " owner INTEGER PRIMARY KEY,"
    " floor INTEGER NOT NULL);"
    "CREATE TABLE ps_marks ("
    " owner INTEGER NOT NULL,"
    " seq INTEGER NOT NULL,"
    " acked INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL,"
    " PRIMARY KEY (owner, seq)) WITHOUT ROWID;",
};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

enum em_code ps_store_migrate(struct em_store *meta, struct em_status *st)
{
    return em_store_migrate(meta, "pubsub", pubsub_migrations, COUNT(pubsub_migrations), st);
}

enum em_code ps_store_log_migrate(struct em_store *store, struct em_status *st)
{
    return em_store_migrate(store, "pubsub_log", log_migrations, COUNT(log_migrations), st);
}

/* --- helpers --- */

static char *column_dup(sqlite3_stmt *stmt, int col)
{
    if (sqlite3_column_type(stmt, col) == SQLITE_NULL)
        return NULL;
    return strdup(em_column_text(stmt, col));
}

static bool column_bool(sqlite3_stmt *stmt, int col)
{
    return sqlite3_column_int(stmt, col) != 0;
}

static enum em_code step_error(sqlite3_stmt *stmt, int rc, struct em_status *st)
{
    enum em_code code = em_store_error(sqlite3_db_handle(stmt), rc, st);
    em_stmt_done(stmt);
    return code;
}

/* --- metadata: load --- */

static enum em_code load_rows(struct em_store *meta, const char *sql, em_row_fn read,
                              const struct ps_store_visitor *v, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(meta, sql, st);
    return stmt ? em_stmt_each_row(stmt, read, (void *)v, st) : st->code;
}

/* Hands a topic row to the visitor, then frees what it did not take. */
static enum em_code visit_topic(enum em_code (*visit)(void *, struct ps_topic_row *,
                                                      struct em_status *),
                                void *arg, struct ps_topic_row *row, struct em_status *st)
{
    enum em_code code = visit(arg, row, st);
    ps_topic_config_free(&row->cfg);
    return code;
}

static enum em_code read_topic(sqlite3_stmt *row, void *arg, struct em_status *st)
{
    const struct ps_store_visitor *v = arg;
    struct ps_topic_row r = {
        .name = em_column_text(row, 0),
        .cfg =
            {
                .kms_key = column_dup(row, 1),
                .labels_json = column_dup(row, 2),
                .regions = column_dup(row, 3),
                .enforce_in_transit = column_bool(row, 4),
                .retention_ns = sqlite3_column_int64(row, 5),
                .schema =
                    {
                        .schema = column_dup(row, 7),
                        .encoding = (enum ps_encoding)sqlite3_column_int(row, 8),
                        .first_revision = column_dup(row, 9),
                        .last_revision = column_dup(row, 10),
                    },
            },
        .create_ns = sqlite3_column_int64(row, 6),
    };
    return visit_topic(v->topic, v->arg, &r, st);
}

static enum em_code read_retained(sqlite3_stmt *row, void *arg, struct em_status *st)
{
    const struct ps_store_visitor *v = arg;
    struct ps_topic_row r = {
        .name = em_column_text(row, 0),
        .cfg = {.kms_key = column_dup(row, 1), .retention_ns = sqlite3_column_int64(row, 2)},
        .create_ns = sqlite3_column_int64(row, 3),
    };
    return visit_topic(v->retained, v->arg, &r, st);
}

static enum em_code read_sub(sqlite3_stmt *row, void *arg, struct em_status *st)
{
    const struct ps_store_visitor *v = arg;
    struct ps_sub_row r = {
        .name = em_column_text(row, 0),
        .id = (uint32_t)sqlite3_column_int64(row, 1),
        .cfg =
            {
                .topic = column_dup(row, 2),
                .ack_deadline_s = sqlite3_column_int(row, 3),
                .retention_ns = sqlite3_column_int64(row, 4),
                .retain_acked = column_bool(row, 5),
                .filter = column_dup(row, 6),
                .dead_letter_topic = column_dup(row, 7),
                .max_delivery_attempts = sqlite3_column_int(row, 8),
                .retry = {sqlite3_column_type(row, 9) != SQLITE_NULL, sqlite3_column_int64(row, 9),
                          sqlite3_column_int64(row, 10)},
                .ordering = column_bool(row, 11),
                .exactly_once = column_bool(row, 12),
                .push = {column_dup(row, 13), column_dup(row, 14), column_bool(row, 15),
                         column_bool(row, 16), column_dup(row, 17), column_dup(row, 18)},
                .ttl_ns = sqlite3_column_int64(row, 19),
                .labels_json = column_dup(row, 20),
            },
        .detached = column_bool(row, 21),
        .create_ns = sqlite3_column_int64(row, 22),
        .last_active_ns = sqlite3_column_int64(row, 23),
        .retained_topic =
            sqlite3_column_type(row, 24) == SQLITE_NULL ? NULL : em_column_text(row, 24),
    };
    enum em_code code = v->sub(v->arg, &r, st);
    ps_sub_config_free(&r.cfg);
    return code;
}

static enum em_code read_snapshot(sqlite3_stmt *row, void *arg, struct em_status *st)
{
    const struct ps_store_visitor *v = arg;
    struct ps_snapshot_row r = {
        .name = em_column_text(row, 0),
        .id = (uint32_t)sqlite3_column_int64(row, 1),
        .topic = em_column_text(row, 2),
        .floor = sqlite3_column_int64(row, 3),
        .expire_ns = sqlite3_column_int64(row, 4),
        .labels_json = em_column_text(row, 5),
        .create_ns = sqlite3_column_int64(row, 6),
    };
    return v->snapshot(v->arg, &r, st);
}

static enum em_code read_schema_revision(sqlite3_stmt *row, void *arg, struct em_status *st)
{
    const struct ps_store_visitor *v = arg;
    struct ps_schema_revision_row r = {
        .name = em_column_text(row, 0),
        .revision_id = em_column_text(row, 1),
        .type = sqlite3_column_int(row, 2),
        .definition = em_column_text(row, 3),
        .create_ns = sqlite3_column_int64(row, 4),
    };
    return v->schema_revision(v->arg, &r, st);
}

enum em_code ps_store_load(struct em_store *meta, const struct ps_store_visitor *v,
                           struct em_status *st)
{
    if (load_rows(meta,
                  "SELECT name, revision_id, type, definition, create_time_ns"
                  " FROM pubsub_schema_revisions ORDER BY name, create_time_ns, revision_id",
                  read_schema_revision, v, st) ||
        load_rows(meta,
                  "SELECT name, kms_key_name, labels, storage_regions, enforce_in_transit,"
                  " retention_ns, create_time_ns, schema_name, schema_encoding,"
                  " schema_first_revision, schema_last_revision FROM pubsub_topics ORDER BY name",
                  read_topic, v, st) ||
        load_rows(meta,
                  "SELECT topic, kms_key_name, retention_ns, create_time_ns"
                  " FROM pubsub_retained_topics ORDER BY name",
                  read_retained, v, st) ||
        load_rows(meta,
                  "SELECT name, id, topic, ack_deadline_s, retention_ns, retain_acked, filter,"
                  " dead_letter_topic, max_delivery_attempts, min_backoff_ns, max_backoff_ns,"
                  " ordering, exactly_once, push_endpoint, push_attributes, push_no_wrapper,"
                  " push_write_metadata, push_oidc_service_account, push_oidc_audience, ttl_ns,"
                  " labels, detached, create_time_ns, last_active_ns, retained_topic"
                  " FROM pubsub_subscriptions ORDER BY name",
                  read_sub, v, st) ||
        load_rows(meta,
                  "SELECT name, id, topic, floor_seq, expire_time_ns, labels, create_time_ns"
                  " FROM pubsub_snapshots ORDER BY name",
                  read_snapshot, v, st))
        return st->code;
    return EM_OK;
}

/* --- metadata: writes --- */

enum em_code ps_store_save_topic(struct em_store *meta, const struct ps_topic_row *topic,
                                 struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(
        meta,
        "INSERT OR REPLACE INTO pubsub_topics(name, kms_key_name, labels, storage_regions,"
        " enforce_in_transit, retention_ns, create_time_ns, schema_name, schema_encoding,"
        " schema_first_revision, schema_last_revision) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        st);
    if (!stmt)
        return st->code;
    const struct ps_topic_config *c = &topic->cfg;
    em_bind_text(stmt, 1, topic->name);
    em_bind_text(stmt, 2, c->kms_key);
    em_bind_text(stmt, 3, c->labels_json ? c->labels_json : "{}");
    em_bind_text(stmt, 4, c->regions);
    sqlite3_bind_int(stmt, 5, c->enforce_in_transit);
    sqlite3_bind_int64(stmt, 6, c->retention_ns);
    sqlite3_bind_int64(stmt, 7, topic->create_ns);
    em_bind_text(stmt, 8, c->schema.schema);
    sqlite3_bind_int(stmt, 9, (int)c->schema.encoding);
    em_bind_text(stmt, 10, c->schema.first_revision);
    em_bind_text(stmt, 11, c->schema.last_revision);
    return em_stmt_run(stmt, st);
}

/* Runs one statement whose only parameter is a name. */
static enum em_code run_by_name(struct em_store *meta, const char *sql, const char *name,
                                struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(meta, sql, st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, name);
    return em_stmt_run(stmt, st);
}

enum em_code ps_store_delete_topic(struct em_store *meta, const char *name, struct em_status *st)
{
    return run_by_name(meta, "DELETE FROM pubsub_topics WHERE name = ?", name, st);
}

static enum em_code save_retained(struct em_store *meta, const struct ps_topic_row *topic,
                                  const char *retained_name, int64_t now, struct em_status *st)
{
    sqlite3_stmt *stmt =
        em_store_stmt(meta,
                      "INSERT INTO pubsub_retained_topics(name, topic, kms_key_name, retention_ns,"
                      " create_time_ns, delete_time_ns) VALUES (?,?,?,?,?,?)",
                      st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, retained_name);
    em_bind_text(stmt, 2, topic->name);
    em_bind_text(stmt, 3, topic->cfg.kms_key);
    sqlite3_bind_int64(stmt, 4, topic->cfg.retention_ns);
    sqlite3_bind_int64(stmt, 5, topic->create_ns);
    sqlite3_bind_int64(stmt, 6, now);
    return em_stmt_run(stmt, st);
}

/* Subscriptions of a deleted topic show _deleted-topic_; those not detached record the
 * retained topic they read (retained_name, or NULL: nothing). */
static enum em_code orphan_subs(struct em_store *meta, const char *topic, const char *retained_name,
                                struct em_status *st)
{
    sqlite3_stmt *stmt =
        em_store_stmt(meta,
                      "UPDATE pubsub_subscriptions SET topic = '" PS_DELETED_TOPIC "',"
                      " retained_topic = CASE WHEN detached THEN NULL ELSE ?2 END"
                      " WHERE topic = ?1",
                      st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, topic);
    em_bind_text(stmt, 2, retained_name);
    if (em_stmt_run(stmt, st))
        return st->code;
    return run_by_name(meta,
                       "UPDATE pubsub_snapshots SET topic = '" PS_DELETED_TOPIC "'"
                       " WHERE topic = ?",
                       topic, st);
}

enum em_code ps_store_retire_topic(struct em_store *meta, const struct ps_topic_row *topic,
                                   const char *retained_name, int64_t now, struct em_status *st)
{
    if (em_store_begin(meta, st))
        return st->code;
    if (ps_store_delete_topic(meta, topic->name, st) ||
        (retained_name && save_retained(meta, topic, retained_name, now, st)) ||
        orphan_subs(meta, topic->name, retained_name, st)) {
        em_store_rollback(meta);
        return st->code;
    }
    return em_store_commit(meta, st);
}

enum em_code ps_store_delete_retained(struct em_store *meta, const char *retained_name,
                                      struct em_status *st)
{
    return run_by_name(meta, "DELETE FROM pubsub_retained_topics WHERE name = ?", retained_name,
                       st);
}

enum em_code ps_store_save_sub(struct em_store *meta, const struct ps_sub_row *sub,
                               struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(
        meta,
        "INSERT OR REPLACE INTO pubsub_subscriptions(name, id, topic, ack_deadline_s,"
        " retention_ns, retain_acked, filter, dead_letter_topic, max_delivery_attempts,"
        " min_backoff_ns, max_backoff_ns, ordering, exactly_once, push_endpoint,"
        " push_attributes, push_no_wrapper, push_write_metadata, push_oidc_service_account,"
        " push_oidc_audience, ttl_ns, labels, detached, create_time_ns, last_active_ns,"
        " retained_topic) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        st);
    if (!stmt)
        return st->code;
    const struct ps_sub_config *c = &sub->cfg;
    em_bind_text(stmt, 1, sub->name);
    sqlite3_bind_int64(stmt, 2, sub->id);
    em_bind_text(stmt, 3, c->topic);
    sqlite3_bind_int(stmt, 4, c->ack_deadline_s);
    sqlite3_bind_int64(stmt, 5, c->retention_ns);
    sqlite3_bind_int(stmt, 6, c->retain_acked);
    em_bind_text(stmt, 7, c->filter ? c->filter : "");
    em_bind_text(stmt, 8, c->dead_letter_topic);
    sqlite3_bind_int(stmt, 9, c->max_delivery_attempts);
    if (c->retry.set) {
        sqlite3_bind_int64(stmt, 10, c->retry.min_ns);
        sqlite3_bind_int64(stmt, 11, c->retry.max_ns);
    }
    sqlite3_bind_int(stmt, 12, c->ordering);
    sqlite3_bind_int(stmt, 13, c->exactly_once);
    em_bind_text(stmt, 14, c->push.endpoint);
    em_bind_text(stmt, 15, c->push.attributes_json);
    sqlite3_bind_int(stmt, 16, c->push.no_wrapper);
    sqlite3_bind_int(stmt, 17, c->push.write_metadata);
    em_bind_text(stmt, 18, c->push.oidc_service_account);
    em_bind_text(stmt, 19, c->push.oidc_audience);
    sqlite3_bind_int64(stmt, 20, c->ttl_ns);
    em_bind_text(stmt, 21, c->labels_json ? c->labels_json : "{}");
    sqlite3_bind_int(stmt, 22, sub->detached);
    sqlite3_bind_int64(stmt, 23, sub->create_ns);
    sqlite3_bind_int64(stmt, 24, sub->last_active_ns);
    em_bind_text(stmt, 25, sub->retained_topic);
    return em_stmt_run(stmt, st);
}

enum em_code ps_store_delete_sub(struct em_store *meta, const char *name, struct em_status *st)
{
    return run_by_name(meta, "DELETE FROM pubsub_subscriptions WHERE name = ?", name, st);
}

enum em_code ps_store_save_snapshot(struct em_store *meta, const struct ps_snapshot_row *snap,
                                    struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(
        meta,
        "INSERT OR REPLACE INTO pubsub_snapshots(name, id, topic, floor_seq, expire_time_ns,"
        " labels, create_time_ns) VALUES (?,?,?,?,?,?,?)",
        st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, snap->name);
    sqlite3_bind_int64(stmt, 2, snap->id);
    em_bind_text(stmt, 3, snap->topic);
    sqlite3_bind_int64(stmt, 4, snap->floor);
    sqlite3_bind_int64(stmt, 5, snap->expire_ns);
    em_bind_text(stmt, 6, snap->labels_json ? snap->labels_json : "{}");
    sqlite3_bind_int64(stmt, 7, snap->create_ns);
    return em_stmt_run(stmt, st);
}

enum em_code ps_store_delete_snapshot(struct em_store *meta, const char *name, struct em_status *st)
{
    return run_by_name(meta, "DELETE FROM pubsub_snapshots WHERE name = ?", name, st);
}

enum em_code ps_store_save_schema_revision(struct em_store *meta,
                                           const struct ps_schema_revision_row *rev,
                                           struct em_status *st)
{
    sqlite3_stmt *stmt =
        em_store_stmt(meta,
                      "INSERT INTO pubsub_schema_revisions(name, revision_id, type, definition,"
                      " create_time_ns) VALUES (?,?,?,?,?)",
                      st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, rev->name);
    em_bind_text(stmt, 2, rev->revision_id);
    sqlite3_bind_int(stmt, 3, rev->type);
    em_bind_text(stmt, 4, rev->definition);
    sqlite3_bind_int64(stmt, 5, rev->create_ns);
    return em_stmt_run(stmt, st);
}

enum em_code ps_store_delete_schema_revision(struct em_store *meta, const char *name,
                                             const char *revision_id, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(
        meta, "DELETE FROM pubsub_schema_revisions WHERE name = ? AND revision_id = ?", st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, name);
    em_bind_text(stmt, 2, revision_id);
    return em_stmt_run(stmt, st);
}

enum em_code ps_store_delete_schema(struct em_store *meta, const char *name, struct em_status *st)
{
    if (em_store_begin(meta, st))
        return st->code;
    if (run_by_name(meta, "DELETE FROM pubsub_schema_revisions WHERE name = ?", name, st) ||
        run_by_name(meta,
                    "UPDATE pubsub_topics SET schema_name = '" PS_DELETED_SCHEMA "',"
                    " schema_first_revision = NULL, schema_last_revision = NULL"
                    " WHERE schema_name = ?",
                    name, st)) {
        em_store_rollback(meta);
        return st->code;
    }
    return em_store_commit(meta, st);
}

enum em_code ps_store_clear(struct em_store *meta, struct em_status *st)
{
    if (em_store_begin(meta, st))
        return st->code;
    if (em_store_exec(meta,
                      "DELETE FROM pubsub_snapshots; DELETE FROM pubsub_subscriptions;"
                      " DELETE FROM pubsub_topics; DELETE FROM pubsub_retained_topics;"
                      " DELETE FROM pubsub_schema_revisions;",
                      st)) {
        em_store_rollback(meta);
        return st->code;
    }
    return em_store_commit(meta, st);
}

/* --- topic stores --- */

enum em_code ps_store_log_next_seq(struct em_store *store, int64_t *next_seq,
                                   int64_t *last_publish_ns, struct em_status *st)
{
    /* The state row is written only before messages are deleted; otherwise the newest
     * message tells. Both together: ids are never reused, times never go back. */
    sqlite3_stmt *stmt = em_store_stmt(
        store,
        "SELECT s.next_seq, s.last_publish_ns, m.seq, m.publish_ns FROM ps_log_state s"
        " LEFT JOIN (SELECT seq, publish_ns FROM ps_messages ORDER BY seq DESC LIMIT 1) m"
        " WHERE s.id = 1",
        st);
    if (!stmt)
        return st->code;
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? (em_stmt_done(stmt),
                                    EM_FAIL(st, EM_DATA_LOSS, "topic store without its state row"))
                                 : step_error(stmt, rc, st);
    *next_seq = sqlite3_column_int64(stmt, 0);
    *last_publish_ns = sqlite3_column_int64(stmt, 1);
    if (sqlite3_column_type(stmt, 2) != SQLITE_NULL) {
        int64_t newest = sqlite3_column_int64(stmt, 2), newest_ns = sqlite3_column_int64(stmt, 3);
        if (newest + 1 > *next_seq)
            *next_seq = newest + 1;
        if (newest_ns > *last_publish_ns)
            *last_publish_ns = newest_ns;
    }
    em_stmt_done(stmt);
    return EM_OK;
}

enum em_code ps_store_log_set_next_seq(struct em_store *store, int64_t next_seq,
                                       int64_t last_publish_ns, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(
        store, "UPDATE ps_log_state SET next_seq = ?, last_publish_ns = ? WHERE id = 1", st);
    if (!stmt)
        return st->code;
    sqlite3_bind_int64(stmt, 1, next_seq);
    sqlite3_bind_int64(stmt, 2, last_publish_ns);
    return em_stmt_run(stmt, st);
}

enum em_code ps_store_insert_message(struct em_store *store, const struct ps_message *m,
                                     struct em_status *st)
{
    sqlite3_stmt *stmt =
        em_store_stmt(store,
                      "INSERT INTO ps_messages(seq, publish_ns, ordering_key, attributes, data)"
                      " VALUES (?,?,?,?,?)",
                      st);
    if (!stmt)
        return st->code;
    sqlite3_bind_int64(stmt, 1, m->seq);
    sqlite3_bind_int64(stmt, 2, m->publish_ns);
    sqlite3_bind_text(stmt, 3, m->ordering_key ? m->ordering_key : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, m->attributes ? m->attributes : "", -1, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 5, m->data ? (const void *)m->data : "", (int)m->data_len,
                      SQLITE_STATIC);
    return em_stmt_run(stmt, st);
}

static enum em_code read_row(sqlite3_stmt *stmt, struct ps_message *m, struct em_status *st)
{
    memset(m, 0, sizeof(*m));
    m->seq = sqlite3_column_int64(stmt, 0);
    m->publish_ns = sqlite3_column_int64(stmt, 1);
    m->ordering_key = strdup(em_column_text(stmt, 2));
    m->attributes = strdup(em_column_text(stmt, 3));
    int len = sqlite3_column_bytes(stmt, 4);
    const void *blob = sqlite3_column_blob(stmt, 4);
    m->data = malloc(len > 0 ? (size_t)len : 1);
    m->data_len = (size_t)len;
    if (!m->ordering_key || !m->attributes || !m->data) {
        ps_message_clear(m);
        return EM_FAIL_OOM(st);
    }
    if (len > 0)
        memcpy(m->data, blob, (size_t)len);
    return EM_OK;
}

enum em_code ps_store_read_from(struct em_store *store, int64_t seq, size_t limit,
                                struct ps_message **out, size_t *count, struct em_status *st)
{
    *out = NULL;
    *count = 0;
    sqlite3_stmt *stmt = em_store_stmt(store,
                                       "SELECT seq, publish_ns, ordering_key, attributes, data"
                                       " FROM ps_messages WHERE seq >= ? ORDER BY seq LIMIT ?",
                                       st);
    if (!stmt)
        return st->code;
    sqlite3_bind_int64(stmt, 1, seq);
    sqlite3_bind_int64(stmt, 2, (int64_t)limit);
    struct ps_message *msgs = calloc(limit ? limit : 1, sizeof(*msgs));
    if (!msgs) {
        em_stmt_done(stmt);
        return EM_FAIL_OOM(st);
    }
    size_t n = 0;
    int rc;
    enum em_code code = EM_OK;
    while (n < limit && (rc = sqlite3_step(stmt)) == SQLITE_ROW)
        if ((code = read_row(stmt, &msgs[n++], st)) != EM_OK)
            break;
    if (!code && n < limit && rc != SQLITE_DONE)
        code = em_store_error(sqlite3_db_handle(stmt), rc, st);
    em_stmt_done(stmt);
    if (code) {
        ps_messages_free(msgs, n);
        return code;
    }
    *out = msgs;
    *count = n;
    return EM_OK;
}

enum em_code ps_store_read_one(struct em_store *store, int64_t seq, struct ps_message *out,
                               struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(store,
                                       "SELECT seq, publish_ns, ordering_key, attributes, data"
                                       " FROM ps_messages WHERE seq = ?",
                                       st);
    if (!stmt)
        return st->code;
    sqlite3_bind_int64(stmt, 1, seq);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) {
        em_stmt_done(stmt);
        return EM_FAIL(st, EM_NOT_FOUND, "message %lld is gone", (long long)seq);
    }
    if (rc != SQLITE_ROW)
        return step_error(stmt, rc, st);
    enum em_code code = read_row(stmt, out, st);
    em_stmt_done(stmt);
    return code;
}

/* One integer from a one-row query on seq (NULL or no row: *found = false). */
static enum em_code query_int(struct em_store *store, const char *sql, int64_t arg, bool bind,
                              int64_t *value, bool *found, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(store, sql, st);
    if (!stmt)
        return st->code;
    if (bind)
        sqlite3_bind_int64(stmt, 1, arg);
    int rc = sqlite3_step(stmt);
    *found = rc == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL;
    if (*found)
        *value = sqlite3_column_int64(stmt, 0);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return step_error(stmt, rc, st);
    em_stmt_done(stmt);
    return EM_OK;
}

enum em_code ps_store_first_at(struct em_store *store, int64_t ns, int64_t next_seq, int64_t *seq,
                               struct em_status *st)
{
    /* The log holds the contiguous range [min(seq), next_seq) (clean-up removes a prefix)
     * and publish times grow with seq: binary search on point lookups. */
    int64_t lo, t;
    bool found;
    if (query_int(store, "SELECT MIN(seq) FROM ps_messages", 0, false, &lo, &found, st))
        return st->code;
    int64_t hi = next_seq; /* the answer lies in [lo, hi]; hi: no such message */
    if (!found)
        lo = next_seq;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (query_int(store, "SELECT publish_ns FROM ps_messages WHERE seq = ?", mid, true, &t,
                      &found, st))
            return st->code;
        if (!found || t >= ns)
            hi = mid;
        else
            lo = mid + 1;
    }
    *seq = lo;
    return EM_OK;
}

enum em_code ps_store_any_message(struct em_store *store, int64_t below_seq, int64_t before_ns,
                                  bool *any, struct em_status *st)
{
    int64_t ignored;
    return query_int(store, "SELECT seq FROM ps_messages WHERE seq < ? ORDER BY seq LIMIT 1",
                     below_seq, true, &ignored, any, st) ||
                   (*any && query_int(store,
                                      "SELECT 1 FROM ps_messages WHERE seq = (SELECT MIN(seq) FROM"
                                      " ps_messages) AND publish_ns < ?",
                                      before_ns, true, &ignored, any, st))
               ? st->code
               : EM_OK;
}

enum em_code ps_store_delete_messages(struct em_store *store, int64_t below_seq, int64_t before_ns,
                                      struct em_status *st)
{
    sqlite3_stmt *stmt =
        em_store_stmt(store, "DELETE FROM ps_messages WHERE seq < ? AND publish_ns < ?", st);
    if (!stmt)
        return st->code;
    sqlite3_bind_int64(stmt, 1, below_seq);
    sqlite3_bind_int64(stmt, 2, before_ns);
    return em_stmt_run(stmt, st);
}

enum em_code ps_store_read_state(struct em_store *store, uint32_t owner, int64_t *floor,
                                 struct ps_mark **marks, size_t *count, struct em_status *st)
{
    *floor = -1;
    *marks = NULL;
    *count = 0;
    sqlite3_stmt *stmt = em_store_stmt(store, "SELECT floor FROM ps_floors WHERE owner = ?", st);
    if (!stmt)
        return st->code;
    sqlite3_bind_int64(stmt, 1, owner);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *floor = sqlite3_column_int64(stmt, 0);
    else if (rc != SQLITE_DONE)
        return step_error(stmt, rc, st);
    em_stmt_done(stmt);
    stmt = em_store_stmt(
        store, "SELECT seq, acked, attempts FROM ps_marks WHERE owner = ? ORDER BY seq", st);
    if (!stmt)
        return st->code;
    sqlite3_bind_int64(stmt, 1, owner);
    size_t n = 0, cap = 0;
    struct ps_mark *m = NULL;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            struct ps_mark *grown = realloc(m, cap * sizeof(*m));
            if (!grown) {
                free(m);
                em_stmt_done(stmt);
                return EM_FAIL_OOM(st);
            }
            m = grown;
        }
        m[n++] = (struct ps_mark){sqlite3_column_int64(stmt, 0),
                                  (uint32_t)sqlite3_column_int64(stmt, 2), column_bool(stmt, 1)};
    }
    if (rc != SQLITE_DONE) {
        free(m);
        return step_error(stmt, rc, st);
    }
    em_stmt_done(stmt);
    *marks = m;
    *count = n;
    return EM_OK;
}

enum em_code ps_store_set_floor(struct em_store *store, uint32_t owner, int64_t floor,
                                struct em_status *st)
{
    sqlite3_stmt *stmt =
        em_store_stmt(store, "INSERT OR REPLACE INTO ps_floors(owner, floor) VALUES (?, ?)", st);
    if (!stmt)
        return st->code;
    sqlite3_bind_int64(stmt, 1, owner);
    sqlite3_bind_int64(stmt, 2, floor);
    if (em_stmt_run(stmt, st))
        return st->code;
    stmt = em_store_stmt(store, "DELETE FROM ps_marks WHERE owner = ? AND seq < ?", st);
    if (!stmt)
        return st->code;
    sqlite3_bind_int64(stmt, 1, owner);
    sqlite3_bind_int64(stmt, 2, floor);
    return em_stmt_run(stmt, st);
}

enum em_code ps_store_set_mark(struct em_store *store, uint32_t owner, const struct ps_mark *m,
                               struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(
        store, "INSERT OR REPLACE INTO ps_marks(owner, seq, acked, attempts) VALUES (?,?,?,?)", st);
    if (!stmt)
        return st->code;
    sqlite3_bind_int64(stmt, 1, owner);
    sqlite3_bind_int64(stmt, 2, m->seq);
    sqlite3_bind_int(stmt, 3, m->acked);
    sqlite3_bind_int64(stmt, 4, m->attempts);
    return em_stmt_run(stmt, st);
}

enum em_code ps_store_forget_owner(struct em_store *store, uint32_t owner, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(store, "DELETE FROM ps_marks WHERE owner = ?", st);
    if (!stmt)
        return st->code;
    sqlite3_bind_int64(stmt, 1, owner);
    if (em_stmt_run(stmt, st))
        return st->code;
    stmt = em_store_stmt(store, "DELETE FROM ps_floors WHERE owner = ?", st);
    if (!stmt)
        return st->code;
    sqlite3_bind_int64(stmt, 1, owner);
    return em_stmt_run(stmt, st);
}

enum em_code ps_store_replace_state(struct em_store *store, uint32_t owner, int64_t floor,
                                    const struct ps_mark *marks, size_t count, struct em_status *st)
{
    if (ps_store_forget_owner(store, owner, st) || ps_store_set_floor(store, owner, floor, st))
        return st->code;
    for (size_t i = 0; i < count; i++)
        if (ps_store_set_mark(store, owner, &marks[i], st))
            return st->code;
    return EM_OK;
}
