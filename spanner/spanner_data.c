/*
 * spanner_data: the registry of the databases' data files, their schema on the writer
 * thread and the statement cache (see spanner_data.h).
 */
#include "spanner_data.h"

#include "em_clock.h"
#include "em_cmek.h"
#include "em_datastore.h"
#include "em_json.h"
#include "em_log.h"
#include "em_store.h"
#include "spanner_ddl.h"
#include "spanner_errors.h"
#include "spanner_schema.h"
#include "spanner_sql_functions.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define CACHE_MAX 512

/* The last commit that wrote one table (lower-case name). */
struct table_seq {
    char *table;
    uint64_t seq;
};

struct sp_db {
    char name[SP_NAME_MAX];
    struct em_datastore *ds;
    bool dropped;
    struct sp_db *next;
    /* writer thread only */
    struct sp_schema *schema;
    uint64_t schema_generation; /* bumped by DDL: the file's cache is stale when behind */
    struct table_seq *seqs;
    int nseqs;
    int64_t last_commit_ns;
    /* any thread */
    _Atomic uint64_t commit_seq;
};

struct sp_data {
    struct em_cmek *cmek;
    char dir[SP_DATA_PATH_MAX - 512];
    pthread_mutex_t lock; /* the list below */
    struct sp_db *dbs;    /* dropped ones stay (callers may still hold them) */
};

/* The open file's side, built when the writer opens it. */
struct file_state {
    struct sp_db *db;
    struct sp_sql_clock clock;
    uint64_t generation;
    char **keys;
    struct sp_stmt **stmts;
    int count;
};

/* --- the registry --- */

enum em_code sp_data_open(struct em_cmek *cmek, const char *data_dir, struct sp_data **out,
                          struct em_status *st)
{
    *out = NULL;
    struct sp_data *data = calloc(1, sizeof(*data));
    if (!data)
        return EM_FAIL_OOM(st);
    data->cmek = cmek;
    pthread_mutex_init(&data->lock, NULL);
    if (snprintf(data->dir, sizeof(data->dir), "%s/spanner", data_dir) >= (int)sizeof(data->dir) ||
        (mkdir(data->dir, 0700) != 0 && errno != EEXIST)) {
        sp_data_close(data);
        return EM_FAIL(st, EM_INTERNAL, "cannot create the Spanner data directory under %.200s",
                       data_dir);
    }
    *out = data;
    return EM_OK;
}

static void db_free(struct sp_db *db)
{
    em_datastore_free(db->ds);
    sp_schema_free(db->schema);
    for (int i = 0; i < db->nseqs; i++)
        free(db->seqs[i].table);
    free(db->seqs);
    free(db);
}

void sp_data_close(struct sp_data *data)
{
    if (!data)
        return;
    for (struct sp_db *db = data->dbs, *next; db; db = next) {
        next = db->next;
        db_free(db);
    }
    pthread_mutex_destroy(&data->lock);
    free(data);
}

void sp_data_path(const struct sp_data *data, const char *database, char out[SP_DATA_PATH_MAX])
{
    /* projects/p/instances/i/databases/d -> p+i+d.db ('+' is in no ID) */
    char flat[SP_NAME_MAX] = "";
    size_t n = 0;
    int part = 0;
    for (const char *p = database; *p && n + 1 < sizeof(flat); p++) {
        if (*p == '/') {
            if (part++ % 2 == 1 && p[1])
                flat[n++] = '+';
            continue;
        }
        if (part % 2 == 1)
            flat[n++] = *p;
    }
    flat[n] = '\0';
    if (snprintf(out, SP_DATA_PATH_MAX, "%s/%.400s.db", data->dir, flat) >= SP_DATA_PATH_MAX)
        out[0] = '\0';
}

static struct sp_db *find_locked(struct sp_data *data, const char *database)
{
    for (struct sp_db *db = data->dbs; db; db = db->next)
        if (!db->dropped && strcmp(db->name, database) == 0)
            return db;
    return NULL;
}

struct sp_db *sp_data_find(struct sp_data *data, const char *database, struct em_status *st)
{
    pthread_mutex_lock(&data->lock);
    struct sp_db *db = find_locked(data, database);
    pthread_mutex_unlock(&data->lock);
    if (!db)
        SP_ERR_DATABASE_NOT_FOUND(st, database);
    return db;
}

const char *sp_db_name(const struct sp_db *db)
{
    return db->name;
}

struct em_datastore *sp_db_datastore(struct sp_db *db)
{
    return db->ds;
}

uint64_t sp_db_commit_seq(struct sp_db *db)
{
    return atomic_load(&db->commit_seq);
}

/* --- the statement cache --- */

void sp_stmt_free(struct sp_stmt *s)
{
    if (!s)
        return;
    sqlite3_finalize(s->stmt);
    for (int i = 0; i < s->nreads; i++)
        free(s->reads[i]);
    for (int i = 0; i < s->nwrites; i++)
        free(s->writes[i]);
    free(s->reads);
    free(s->writes);
    if (s->extra_free)
        s->extra_free(s->extra);
    free(s->sql);
    free(s);
}

static void cache_clear(struct file_state *fs)
{
    for (int i = 0; i < fs->count; i++) {
        free(fs->keys[i]);
        sp_stmt_free(fs->stmts[i]);
    }
    free(fs->keys);
    free(fs->stmts);
    fs->keys = NULL;
    fs->stmts = NULL;
    fs->count = 0;
}

static struct file_state *file_state_of(struct sp_job_ctx *ctx);

/* Adds a lower-cased table name to a list once. */
static void add_table(char ***list, int *n, const char *table)
{
    if (!table || strncmp(table, "sqlite_", 7) == 0)
        return;
    for (int i = 0; i < *n; i++)
        if (strcasecmp((*list)[i], table) == 0)
            return;
    char **grown = realloc(*list, (size_t)(*n + 1) * sizeof(**list));
    if (!grown)
        return;
    *list = grown;
    char *copy = strdup(table);
    if (!copy)
        return;
    for (char *p = copy; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    grown[(*n)++] = copy;
}

/* SQLite's authorizer while a statement is prepared: records the tables it reads and
 * writes (the statements of the triggers it fires included). */
static int authorize(void *arg, int action, const char *a, const char *b, const char *c,
                     const char *d)
{
    (void)b;
    (void)c;
    (void)d;
    struct sp_stmt *s = arg;
    if (action == SQLITE_READ)
        add_table(&s->reads, &s->nreads, a);
    else if (action == SQLITE_INSERT || action == SQLITE_UPDATE || action == SQLITE_DELETE)
        add_table(&s->writes, &s->nwrites, a);
    return SQLITE_OK;
}

struct sp_stmt *sp_job_prepare(struct sp_job_ctx *ctx, const char *sql, struct em_status *st)
{
    struct sp_stmt *s = calloc(1, sizeof(*s));
    if (!s || !(s->sql = strdup(sql))) {
        free(s);
        EM_FAIL_OOM(st);
        return NULL;
    }
    sqlite3_set_authorizer(ctx->sqlite, authorize, s);
    int rc = sqlite3_prepare_v2(ctx->sqlite, sql, -1, &s->stmt, NULL);
    sqlite3_set_authorizer(ctx->sqlite, NULL, NULL);
    if (rc != SQLITE_OK) {
        sp_sql_error(ctx->sqlite, rc, st);
        sp_stmt_free(s);
        return NULL;
    }
    return s;
}

struct sp_stmt *sp_job_cached(struct sp_job_ctx *ctx, const char *key)
{
    struct file_state *fs = file_state_of(ctx);
    for (int i = 0; i < fs->count; i++)
        if (strcmp(fs->keys[i], key) == 0) {
            sqlite3_reset(fs->stmts[i]->stmt);
            sqlite3_clear_bindings(fs->stmts[i]->stmt);
            return fs->stmts[i];
        }
    return NULL;
}

enum em_code sp_job_cache(struct sp_job_ctx *ctx, const char *key, struct sp_stmt *stmt,
                          struct em_status *st)
{
    struct file_state *fs = file_state_of(ctx);
    if (fs->count >= CACHE_MAX)
        cache_clear(fs);
    char **keys = realloc(fs->keys, (size_t)(fs->count + 1) * sizeof(*keys));
    if (keys)
        fs->keys = keys;
    struct sp_stmt **stmts = realloc(fs->stmts, (size_t)(fs->count + 1) * sizeof(*stmts));
    if (stmts)
        fs->stmts = stmts;
    char *copy = strdup(key);
    if (!keys || !stmts || !copy) {
        free(copy);
        sp_stmt_free(stmt);
        return EM_FAIL_OOM(st);
    }
    fs->keys[fs->count] = copy;
    fs->stmts[fs->count++] = stmt;
    return EM_OK;
}

struct sp_stmt *sp_job_stmt(struct sp_job_ctx *ctx, const char *sql, struct em_status *st)
{
    struct sp_stmt *s = sp_job_cached(ctx, sql);
    if (s)
        return s;
    s = sp_job_prepare(ctx, sql, st);
    if (!s || sp_job_cache(ctx, sql, s, st))
        return NULL;
    return s;
}

/* --- commit sequence numbers and timestamps --- */

uint64_t sp_job_table_seq(struct sp_job_ctx *ctx, const char *table)
{
    struct sp_db *db = ctx->db;
    for (int i = 0; i < db->nseqs; i++)
        if (strcasecmp(db->seqs[i].table, table) == 0)
            return db->seqs[i].seq;
    return 0;
}

uint64_t sp_job_mark_written(struct sp_job_ctx *ctx, char *const *tables, int ntables)
{
    struct sp_db *db = ctx->db;
    uint64_t seq = atomic_load(&db->commit_seq) + 1;
    for (int t = 0; t < ntables; t++) {
        int i = 0;
        while (i < db->nseqs && strcasecmp(db->seqs[i].table, tables[t]) != 0)
            i++;
        if (i == db->nseqs) {
            struct table_seq *grown = realloc(db->seqs, (size_t)(i + 1) * sizeof(*grown));
            char *copy = strdup(tables[t]);
            if (!grown || !copy) { /* cannot record: every table counts as written */
                free(copy);
                if (grown)
                    db->seqs = grown;
                db->schema_generation++;
                continue;
            }
            db->seqs = grown;
            db->seqs[db->nseqs++] = (struct table_seq){copy, 0};
        }
        db->seqs[i].seq = seq;
    }
    atomic_store(&db->commit_seq, seq);
    return seq;
}

int64_t sp_job_commit_time(struct sp_job_ctx *ctx)
{
    struct sp_db *db = ctx->db;
    int64_t now = ctx->now - ctx->now % 1000;
    if (now <= db->last_commit_ns)
        now = db->last_commit_ns + 1000;
    db->last_commit_ns = now;
    return now;
}

/* --- the writer thread's hooks --- */

static enum em_code file_opened(struct em_store *store, void *arg, void **state,
                                struct em_status *st)
{
    struct file_state *fs = calloc(1, sizeof(*fs));
    if (!fs)
        return EM_FAIL_OOM(st);
    fs->db = arg;
    fs->generation = fs->db->schema_generation;
    sqlite3 *sqlite = em_store_db(store, st);
    if (!sqlite || sp_sql_functions_register(sqlite, &fs->clock) != SQLITE_OK) {
        free(fs);
        return st->code ? st->code : EM_FAIL(st, EM_INTERNAL, "cannot register SQL functions");
    }
    *state = fs;
    return EM_OK;
}

static void file_closed(void *state)
{
    struct file_state *fs = state;
    cache_clear(fs);
    free(fs);
}

static const struct em_datastore_hooks file_hooks = {
    .opened = file_opened,
    .closed = file_closed,
};

/* --- running jobs --- */

static struct file_state *file_state_of(struct sp_job_ctx *ctx)
{
    return em_datafile_state(ctx->file);
}

struct job {
    struct sp_db *db;
    sp_job_fn fn;
    void *arg;
    struct em_status st; /* the job's own outcome: its batch never fails for it */
};

static enum em_code exec_sql(sqlite3 *sqlite, const char *sql, struct em_status *st)
{
    int rc = sqlite3_exec(sqlite, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? EM_OK : sp_sql_error(sqlite, rc, st);
}

/* On the writer thread: fn in a savepoint; the batch goes on whatever fn answers. */
static enum em_code run_job(struct em_datafile *file, void *arg, struct em_status *batch_st)
{
    struct job *j = arg;
    struct file_state *fs = em_datafile_state(file);
    struct sp_job_ctx ctx = {
        .db = j->db, .file = file, .schema = j->db->schema, .now = em_clock_now()};
    ctx.sqlite = em_store_db(em_datafile_store(file), &j->st);
    if (!ctx.sqlite)
        return EM_OK;
    if (fs->generation != j->db->schema_generation) {
        cache_clear(fs);
        fs->generation = j->db->schema_generation;
    }
    fs->clock.now = (struct sp_timestamp){ctx.now / 1000000000, (int32_t)(ctx.now % 1000000000)};
    if (exec_sql(ctx.sqlite, "SAVEPOINT sp_job", &j->st))
        return EM_OK;
    if (j->fn(&ctx, j->arg, &j->st) != EM_OK) {
        struct em_status ignored = {0};
        exec_sql(ctx.sqlite, "ROLLBACK TO sp_job", &ignored);
    }
    struct em_status release = {0};
    if (exec_sql(ctx.sqlite, "RELEASE sp_job", &release) && !j->st.code)
        j->st = release;
    (void)batch_st;
    return EM_OK;
}

enum em_code sp_db_gate(struct sp_db *db, struct em_status *st)
{
    if (db->dropped)
        return SP_ERR_DATABASE_NOT_FOUND(st, db->name);
    return em_datastore_gate(db->ds, st);
}

enum em_code sp_db_run(struct sp_db *db, sp_job_fn fn, void *arg, struct em_status *st)
{
    struct em_datafile *file;
    if (db->dropped)
        return SP_ERR_DATABASE_NOT_FOUND(st, db->name);
    if (em_datastore_open(db->ds, &file, st))
        return st->code;
    struct job j = {.db = db, .fn = fn, .arg = arg};
    enum em_code code = em_datafile_run(file, run_job, &j, st);
    em_datafile_put(file);
    if (code)
        return code;
    if (j.st.code)
        *st = j.st;
    return j.st.code;
}

/* --- schema changes --- */

/* A job: the statements applied to a clone of the schema and their SQLite script run;
 * the clone replaces the schema only when everything succeeded. */
struct ddl_job {
    const cJSON *statements;
};

static enum em_code job_apply_ddl(struct sp_job_ctx *ctx, void *arg, struct em_status *st)
{
    struct ddl_job *d = arg;
    struct sp_schema *next = ctx->schema ? sp_schema_clone(ctx->schema) : sp_schema_new();
    if (!next)
        return EM_FAIL_OOM(st);
    struct sp_buf script = {0};
    const cJSON *item;
    cJSON_ArrayForEach(item, d->statements)
    {
        if (!cJSON_IsString(item)) {
            EM_FAIL(st, EM_INVALID_ARGUMENT, "A DDL statement must be a string.");
            break;
        }
        sp_buf_free(&script);
        if (sp_ddl_apply(next, item->valuestring, &script, st) ||
            (script.failed && EM_FAIL_OOM(st)) ||
            (script.data && exec_sql(ctx->sqlite, script.data, st)))
            break;
    }
    sp_buf_free(&script);
    if (st->code) {
        sp_schema_free(next);
        return st->code;
    }
    sp_schema_free(ctx->db->schema);
    ctx->db->schema = next;
    ctx->db->schema_generation++;
    atomic_fetch_add(&ctx->db->commit_seq, 1); /* transactions begun before see a conflict */
    return EM_OK;
}

static struct sp_db *db_new(struct sp_data *data, const char *database, struct em_status *st)
{
    struct sp_db *db = calloc(1, sizeof(*db));
    if (!db) {
        EM_FAIL_OOM(st);
        return NULL;
    }
    snprintf(db->name, sizeof(db->name), "%s", database);
    char path[SP_DATA_PATH_MAX];
    sp_data_path(data, database, path);
    if (em_datastore_new(data->cmek, database, path, &file_hooks, db, &db->ds, st)) {
        free(db);
        return NULL;
    }
    return db;
}

/* Registers a database: its schema from ddl, applied through the writer (create: to
 * an empty file) or rebuilt in memory (attach: the file holds it already). */
static enum em_code add_db(struct sp_data *data, const char *database, const cJSON *ddl,
                           bool create, struct em_status *st)
{
    pthread_mutex_lock(&data->lock);
    bool known = find_locked(data, database) != NULL;
    pthread_mutex_unlock(&data->lock);
    if (known)
        return SP_ERR_DATABASE_EXISTS(st, database);
    struct sp_db *db = db_new(data, database, st);
    if (!db)
        return st->code;
    if (create) {
        char path[SP_DATA_PATH_MAX];
        sp_data_path(data, database, path);
        em_store_remove_files(path); /* a leftover of a database of the same name */
        struct ddl_job job = {ddl};
        if (sp_db_run(db, job_apply_ddl, &job, st)) {
            db_free(db);
            return st->code;
        }
    } else if (!(db->schema = sp_schema_new())) {
        db_free(db);
        return EM_FAIL_OOM(st);
    } else {
        struct sp_buf ignored = {0};
        const cJSON *item;
        cJSON_ArrayForEach(item, ddl)
        {
            if (cJSON_IsString(item) && sp_ddl_apply(db->schema, item->valuestring, &ignored, st))
                break;
        }
        sp_buf_free(&ignored);
        if (st->code) {
            db_free(db);
            return st->code;
        }
    }
    pthread_mutex_lock(&data->lock);
    db->next = data->dbs;
    data->dbs = db;
    pthread_mutex_unlock(&data->lock);
    return EM_OK;
}

enum em_code sp_data_create(struct sp_data *data, const char *database, const cJSON *ddl,
                            struct em_status *st)
{
    return add_db(data, database, ddl, true, st);
}

enum em_code sp_data_attach(struct sp_data *data, const char *database, const cJSON *ddl,
                            struct em_status *st)
{
    return add_db(data, database, ddl, false, st);
}

enum em_code sp_data_update_ddl(struct sp_data *data, const char *database, const cJSON *statements,
                                struct em_status *st)
{
    struct sp_db *db = sp_data_find(data, database, st);
    if (!db)
        return st->code;
    struct ddl_job job = {statements};
    return sp_db_run(db, job_apply_ddl, &job, st);
}

enum em_code sp_data_drop(struct sp_data *data, const char *database, bool forget_keys,
                          struct em_status *st)
{
    pthread_mutex_lock(&data->lock);
    struct sp_db *db = find_locked(data, database);
    if (db)
        db->dropped = true;
    pthread_mutex_unlock(&data->lock);
    if (!db)
        return EM_OK;
    return em_datastore_shred(db->ds, forget_keys, st);
}

void sp_data_drop_all(struct sp_data *data)
{
    for (;;) {
        pthread_mutex_lock(&data->lock);
        struct sp_db *db = data->dbs;
        while (db && db->dropped)
            db = db->next;
        char name[SP_NAME_MAX] = "";
        if (db)
            snprintf(name, sizeof(name), "%s", db->name);
        pthread_mutex_unlock(&data->lock);
        if (!name[0])
            return;
        struct em_status st = {0};
        if (sp_data_drop(data, name, false, &st))
            em_warn("spanner: dropping %s: %s", name, st.message);
    }
}
