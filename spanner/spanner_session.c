/*
 * spanner_session: sessions in memory and in metadata.db (see spanner_session.h).
 * Reference:
 * https://cloud.google.com/spanner/docs/reference/rest/v1/projects.instances.databases.sessions
 */
#include "spanner_session.h"

#include "em_crypto.h"
#include "em_json.h"
#include "em_names.h"
#include "em_store.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUCKETS        1024
#define PERSIST_EVERY  (60LL * 1000000000LL)
#define SESSION_ID_HEX 32

struct session {
    char name[SP_NAME_MAX];
    char database[SP_NAME_MAX];
    int64_t create_ns, last_use_ns, persisted_use_ns;
    char *labels;       /* JSON object text, or NULL */
    char *creator_role; /* or NULL */
    bool multiplexed;   /* Session.multiplexed: no idle expiry; gone 30 days after creation */
    struct session *next;
};

struct sp_sessions {
    struct em_store *meta;
    pthread_mutex_t lock;
    struct session *buckets[BUCKETS];
};

static const char *const session_migrations[] = {
    "CREATE TABLE spanner_sessions ("
    " name TEXT PRIMARY KEY,"
    " database TEXT NOT NULL,"
    " create_ns INTEGER NOT NULL,"
    " last_use_ns INTEGER NOT NULL,"
    " labels TEXT,"
    " creator_role TEXT);",
    "ALTER TABLE spanner_sessions ADD COLUMN multiplexed INTEGER NOT NULL DEFAULT 0;",
};

static unsigned bucket_of(const char *name)
{
    unsigned h = 2166136261u;
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h % BUCKETS;
}

static void session_free(struct session *s)
{
    if (!s)
        return;
    free(s->labels);
    free(s->creator_role);
    free(s);
}

static void insert(struct sp_sessions *ss, struct session *s)
{
    unsigned b = bucket_of(s->name);
    s->next = ss->buckets[b];
    ss->buckets[b] = s;
}

static struct session **find_slot(struct sp_sessions *ss, const char *name)
{
    struct session **slot = &ss->buckets[bucket_of(name)];
    while (*slot && strcmp((*slot)->name, name) != 0)
        slot = &(*slot)->next;
    return slot;
}

static char *dup_or_null(const char *text)
{
    return text ? strdup(text) : NULL;
}

static enum em_code load_row(sqlite3_stmt *row, void *arg, struct em_status *st)
{
    struct sp_sessions *ss = arg;
    struct session *s = calloc(1, sizeof(*s));
    if (!s)
        return EM_FAIL_OOM(st);
    snprintf(s->name, sizeof(s->name), "%s", em_column_text(row, 0));
    snprintf(s->database, sizeof(s->database), "%s", em_column_text(row, 1));
    s->create_ns = sqlite3_column_int64(row, 2);
    s->last_use_ns = s->persisted_use_ns = sqlite3_column_int64(row, 3);
    s->labels = dup_or_null((const char *)sqlite3_column_text(row, 4));
    s->creator_role = dup_or_null((const char *)sqlite3_column_text(row, 5));
    s->multiplexed = sqlite3_column_int(row, 6) != 0;
    insert(ss, s);
    return EM_OK;
}

enum em_code sp_sessions_open(struct em_store *meta, struct sp_sessions **out, struct em_status *st)
{
    *out = NULL;
    struct sp_sessions *ss = calloc(1, sizeof(*ss));
    if (!ss)
        return EM_FAIL_OOM(st);
    ss->meta = meta;
    pthread_mutex_init(&ss->lock, NULL);
    sqlite3_stmt *stmt = NULL;
    if (em_store_migrate(meta, "spanner_sessions", session_migrations,
                         sizeof(session_migrations) / sizeof(session_migrations[0]), st) ||
        !(stmt = em_store_stmt(meta,
                               "SELECT name, database, create_ns, last_use_ns, labels, "
                               "creator_role, multiplexed FROM spanner_sessions",
                               st)) ||
        em_stmt_each_row(stmt, load_row, ss, st)) {
        em_stmt_done(stmt);
        sp_sessions_close(ss);
        return st->code;
    }
    em_stmt_done(stmt);
    *out = ss;
    return EM_OK;
}

void sp_sessions_close(struct sp_sessions *ss)
{
    if (!ss)
        return;
    for (int b = 0; b < BUCKETS; b++)
        for (struct session *s = ss->buckets[b], *next; s; s = next) {
            next = s->next;
            session_free(s);
        }
    pthread_mutex_destroy(&ss->lock);
    free(ss);
}

/* --- persistence --- */

static enum em_code persist(struct sp_sessions *ss, const struct session *s, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(ss->meta,
                                       "INSERT OR REPLACE INTO spanner_sessions (name, database, "
                                       "create_ns, last_use_ns, labels, creator_role, "
                                       "multiplexed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                                       st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, s->name);
    em_bind_text(stmt, 2, s->database);
    sqlite3_bind_int64(stmt, 3, s->create_ns);
    sqlite3_bind_int64(stmt, 4, s->last_use_ns);
    em_bind_text(stmt, 5, s->labels);
    em_bind_text(stmt, 6, s->creator_role);
    sqlite3_bind_int(stmt, 7, s->multiplexed);
    enum em_code rc = em_stmt_run(stmt, st);
    em_stmt_done(stmt);
    return rc;
}

static enum em_code unpersist(struct sp_sessions *ss, const char *sql, const char *key,
                              struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(ss->meta, sql, st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, key);
    enum em_code rc = em_stmt_run(stmt, st);
    em_stmt_done(stmt);
    return rc;
}

/* --- the API --- */

static cJSON *to_json(const struct session *s)
{
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "name", s->name);
    cJSON *labels = s->labels ? cJSON_Parse(s->labels) : NULL;
    if (labels)
        cJSON_AddItemToObject(json, "labels", labels);
    em_json_add_time(json, "createTime", s->create_ns);
    em_json_add_time(json, "approximateLastUseTime", s->last_use_ns);
    if (s->creator_role)
        cJSON_AddStringToObject(json, "creatorRole", s->creator_role);
    if (s->multiplexed)
        cJSON_AddTrueToObject(json, "multiplexed");
    return json;
}

static enum em_code not_found(const char *name, struct em_status *st)
{
    return EM_FAIL(st, EM_NOT_FOUND, "Session not found: %.400s", name);
}

/* An ordinary session ends after an hour unused; a multiplexed one (which Google's client
 * libraries keep for the whole process and refresh weekly) 30 days after its creation. */
static bool expired(const struct session *s, int64_t now)
{
    if (s->multiplexed)
        return now - s->create_ns >= SP_SESSION_MULTIPLEXED_NS;
    return now - s->last_use_ns >= SP_SESSION_IDLE_NS;
}

enum em_code sp_session_create(struct sp_sessions *ss, const char *database, const cJSON *session,
                               int64_t now, cJSON **out, struct em_status *st)
{
    *out = NULL;
    const cJSON *labels = cJSON_GetObjectItem(session, "labels");
    unsigned char raw[SESSION_ID_HEX / 2];
    if (em_labels_check(labels, st) || em_random_bytes(raw, sizeof(raw), st))
        return st->code;
    struct session *s = calloc(1, sizeof(*s));
    if (!s)
        return EM_FAIL_OOM(st);
    int n = snprintf(s->name, sizeof(s->name), "%s/sessions/", database);
    for (size_t i = 0; i < sizeof(raw) && n + 2 < (int)sizeof(s->name); i++)
        n += snprintf(s->name + n, sizeof(s->name) - (size_t)n, "%02x", raw[i]);
    snprintf(s->database, sizeof(s->database), "%s", database);
    s->create_ns = s->last_use_ns = s->persisted_use_ns = now;
    if (cJSON_IsObject(labels))
        s->labels = cJSON_PrintUnformatted(labels);
    s->creator_role = dup_or_null(em_json_string(session, "creatorRole"));
    s->multiplexed = cJSON_IsTrue(cJSON_GetObjectItem(session, "multiplexed"));
    pthread_mutex_lock(&ss->lock);
    enum em_code rc = persist(ss, s, st);
    if (!rc) {
        insert(ss, s);
        *out = to_json(s);
    }
    pthread_mutex_unlock(&ss->lock);
    if (rc)
        session_free(s);
    return rc;
}

enum em_code sp_session_get(struct sp_sessions *ss, const char *name, int64_t now, cJSON **out,
                            struct em_status *st)
{
    *out = NULL;
    pthread_mutex_lock(&ss->lock);
    struct session *s = *find_slot(ss, name);
    if (s && !expired(s, now))
        *out = to_json(s);
    pthread_mutex_unlock(&ss->lock);
    return *out ? EM_OK : not_found(name, st);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(em_json_string(*(cJSON *const *)a, "name"),
                  em_json_string(*(cJSON *const *)b, "name"));
}

enum em_code sp_session_list(struct sp_sessions *ss, const char *database, int64_t now, cJSON **out,
                             struct em_status *st)
{
    size_t n = 0, cap = 16;
    cJSON **items = malloc(cap * sizeof(*items));
    if (!items)
        return EM_FAIL_OOM(st);
    pthread_mutex_lock(&ss->lock);
    for (int b = 0; b < BUCKETS; b++)
        for (struct session *s = ss->buckets[b]; s; s = s->next) {
            if (strcmp(s->database, database) != 0 || expired(s, now))
                continue;
            if (n == cap) {
                cJSON **grown = realloc(items, 2 * cap * sizeof(*items));
                if (!grown)
                    continue;
                items = grown;
                cap *= 2;
            }
            items[n++] = to_json(s);
        }
    pthread_mutex_unlock(&ss->lock);
    qsort(items, n, sizeof(*items), by_name);
    *out = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(*out, items[i]);
    free(items);
    return EM_OK;
}

enum em_code sp_session_delete(struct sp_sessions *ss, const char *name, struct em_status *st)
{
    pthread_mutex_lock(&ss->lock);
    struct session **slot = find_slot(ss, name);
    struct session *s = *slot;
    if (s) {
        *slot = s->next;
        unpersist(ss, "DELETE FROM spanner_sessions WHERE name = ?1", name, st);
    }
    pthread_mutex_unlock(&ss->lock);
    session_free(s);
    return s ? st->code : not_found(name, st);
}

enum em_code sp_session_use(struct sp_sessions *ss, const char *name, int64_t now,
                            char database[SP_NAME_MAX], char role[SP_SESSION_ROLE_MAX],
                            struct em_status *st)
{
    pthread_mutex_lock(&ss->lock);
    struct session *s = *find_slot(ss, name);
    bool live = s && !expired(s, now);
    if (live) {
        if (now > s->last_use_ns)
            s->last_use_ns = now;
        if (s->last_use_ns - s->persisted_use_ns >= PERSIST_EVERY) {
            struct em_status ignored = {0}; /* only the idle clock: retried next use */
            if (!persist(ss, s, &ignored))
                s->persisted_use_ns = s->last_use_ns;
        }
        memcpy(database, s->database, SP_NAME_MAX);
        snprintf(role, SP_SESSION_ROLE_MAX, "%s", s->creator_role ? s->creator_role : "");
    }
    pthread_mutex_unlock(&ss->lock);
    return live ? EM_OK : not_found(name, st);
}

void sp_session_role(struct sp_sessions *ss, const char *name, int64_t now,
                     char role[SP_SESSION_ROLE_MAX])
{
    pthread_mutex_lock(&ss->lock);
    struct session *s = *find_slot(ss, name);
    bool live = s && !expired(s, now);
    snprintf(role, SP_SESSION_ROLE_MAX, "%s", live && s->creator_role ? s->creator_role : "");
    pthread_mutex_unlock(&ss->lock);
}

/* Removes the sessions keep() refuses, under the lock. */
static void remove_where(struct sp_sessions *ss,
                         bool (*doomed)(const struct session *, const void *), const void *arg,
                         const char *sql, const char *key)
{
    pthread_mutex_lock(&ss->lock);
    for (int b = 0; b < BUCKETS; b++) {
        struct session **slot = &ss->buckets[b];
        while (*slot) {
            struct session *s = *slot;
            if (doomed(s, arg)) {
                *slot = s->next;
                session_free(s);
            } else {
                slot = &s->next;
            }
        }
    }
    struct em_status ignored = {0};
    unpersist(ss, sql, key, &ignored);
    pthread_mutex_unlock(&ss->lock);
}

static bool idle_by(const struct session *s, const void *arg)
{
    return expired(s, *(const int64_t *)arg);
}

/* The session's database is arg, or under it (arg an instance); every one for NULL. */
static bool of_database(const struct session *s, const void *arg)
{
    if (!arg)
        return true;
    size_t len = strlen(arg);
    return strncmp(s->database, arg, len) == 0 &&
           (s->database[len] == '\0' || s->database[len] == '/');
}

void sp_sessions_expire(struct sp_sessions *ss, int64_t now)
{
    char limit[32];
    snprintf(limit, sizeof(limit), "%lld", (long long)(now - SP_SESSION_IDLE_NS));
    remove_where(ss, idle_by, &now,
                 "DELETE FROM spanner_sessions WHERE last_use_ns <= CAST(?1 AS INTEGER)", limit);
}

void sp_sessions_forget(struct sp_sessions *ss, const char *database)
{
    if (database)
        remove_where(ss, of_database, database,
                     "DELETE FROM spanner_sessions WHERE database = ?1 OR "
                     "substr(database, 1, length(?1) + 1) = ?1 || '/'",
                     database);
    else
        remove_where(ss, of_database, NULL, "DELETE FROM spanner_sessions WHERE ?1 IS NULL OR 1",
                     NULL);
}
