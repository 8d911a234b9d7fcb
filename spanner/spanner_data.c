/*
 * spanner_data: the registry of the databases' data files, their schema on the writer
 * thread and the statement cache (see spanner_data.h).
 */
/* sqlite3.h declares sqlite3_preupdate_hook() only when asked (Debian's library has it) */
#define SQLITE_ENABLE_PREUPDATE_HOOK 1
#include "spanner_data.h"

#include "spanner_change_records.h"

#include "em_clock.h"
#include "em_cmek.h"
#include "em_datastore.h"
#include "em_json.h"
#include "em_log.h"
#include "em_store.h"
#include "spanner_ddl.h"
#include "spanner_errors.h"
#include "spanner_keyset.h"
#include "spanner_schema.h"
#include "spanner_sequences.h"
#include "spanner_sql_functions.h"
#include "spanner_sql_translate.h"

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
/* rows kept in a database's write log; beyond, the oldest go (conflicts fall back to
 * tables for the transactions that began before them) */
#define WRITE_LOG_MAX 65536
#define KEY_PARTS_MAX 64 /* the key parts a row's key in the log may have */
/* how often a database's row versions older than the retention are deleted */
#define PRUNE_EVERY_NS (60 * 1000000000LL)
/* the versions a table keeps at most (beyond, the oldest go: bounded disk under load) */
#define VERSIONS_MAX 500000

/* The last commit that wrote one table (lower-case name). */
struct table_seq {
    char *table;
    uint64_t seq;
};

/* A row a commit wrote (its key in storage form, in key order), or a whole table (key
 * unknown: nkey < 0). */
struct written {
    char *table;
    struct sp_stored *key;
    int nkey;
    uint64_t seq;
};

/* The rows written by recent commits, in commit order. Commits with seq <= floor may be
 * missing (pruned): for transactions older than that, only the tables' seqs tell. */
struct write_log {
    pthread_mutex_t lock; /* jobs append and validate; the service's tick prunes */
    struct written *rows;
    int count, cap;
    uint64_t floor;
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
    int64_t versions_pruned_ns; /* when its old row versions were last forgotten */
    int64_t rows_deleted_ns;    /* when its row deletion policies were last applied */
    /* reads before it would miss versions: past the cap, or older than the retention
     * period in effect before it grew (any thread reads it: sp_data_versions_floor) */
    _Atomic int64_t versions_floor_ns;
    /* the last commit that may have changed any row: a schema change, or a commit whose
     * tables could not be recorded */
    uint64_t all_changed_seq;
    bool tracking;      /* the running job records the rows it writes (sp_job_track_writes) */
    bool tracking_lost; /* ... and could not record one (too many, out of memory) */
    struct written *tracked;
    int ntracked, tracked_cap;
    struct sp_change_log changes; /* ... and, for change streams, the rows themselves */
    bool system_job;   /* the running job applies a row deletion policy (sp_job_mark_system) */
    bool excluded_job; /* ... or excludes itself from change streams that allow it */
    char job_tag[64];  /* ... and its transaction tag */
    /* any thread */
    _Atomic uint64_t commit_seq;
    _Atomic int64_t retention_ns; /* the schema's version_retention_period */
    struct write_log log;
};

struct sp_data {
    struct em_cmek *cmek;
    char dir[SP_DATA_PATH_MAX - 512];
    pthread_mutex_t lock; /* the list below */
    struct sp_db *dbs;    /* dropped ones stay (callers may still hold them) */
    int versions_max;     /* the row versions a table keeps at most (VERSIONS_MAX) */
};

/* The open file's side, built when the writer opens it. */
struct file_state {
    struct sp_db *db;
    struct sp_sql_clock clock;   /* the running statement's (sp_job_statement_clock) */
    struct sp_counters counters; /* the sequences' (saved at the end of every job) */
    int64_t job_now_ns;          /* the running job's start, on the emulator clock */
    int64_t job_commit_ns;       /* the running job's commit timestamp, once it has one (else 0) */
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
    data->versions_max = VERSIONS_MAX;
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

static void written_clear(struct written *w)
{
    free(w->table);
    for (int i = 0; i < w->nkey; i++)
        sp_stored_clear(&w->key[i]);
    free(w->key);
}

static void tracked_clear(struct sp_db *db)
{
    for (int i = 0; i < db->ntracked; i++)
        written_clear(&db->tracked[i]);
    free(db->tracked);
    db->tracked = NULL;
    db->ntracked = db->tracked_cap = 0;
    db->tracking = db->tracking_lost = db->system_job = db->excluded_job = false;
    db->job_tag[0] = '\0';
    sp_change_log_clear(&db->changes);
}

static void db_free(struct sp_db *db)
{
    tracked_clear(db);
    for (int i = 0; i < db->log.count; i++)
        written_clear(&db->log.rows[i]);
    free(db->log.rows);
    pthread_mutex_destroy(&db->log.lock);
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

/* SQLite's table-valued functions the translation uses (UNNEST reads an array through
 * json_each): they hold no rows of the database, so no commit changes what they read. */
static bool is_table_function(const char *table)
{
    return strcasecmp(table, "json_each") == 0 || strcasecmp(table, "json_tree") == 0;
}

/* Adds a lower-cased table name to a list once. */
static void add_table(char ***list, int *n, const char *table)
{
    if (!table || strncmp(table, "sqlite_", 7) == 0 || is_table_function(table) ||
        strchr(table, '$')) /* a table's versions go with it (spanner_schema.h) */
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

/* The per-table seqs: the last commit that wrote each table. */
static void mark_tables(struct sp_db *db, char *const *tables, int ntables, uint64_t seq)
{
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
                db->all_changed_seq = seq;
                continue;
            }
            db->seqs = grown;
            db->seqs[db->nseqs++] = (struct table_seq){copy, 0};
        }
        db->seqs[i].seq = seq;
    }
}

/* Drops the oldest rows of the log (its lock held) until at most keep remain. */
static void log_drop_oldest(struct write_log *log, int keep)
{
    int drop = log->count - keep;
    if (drop <= 0)
        return;
    if (log->rows[drop - 1].seq > log->floor)
        log->floor = log->rows[drop - 1].seq;
    for (int i = 0; i < drop; i++)
        written_clear(&log->rows[i]);
    memmove(log->rows, log->rows + drop, (size_t)keep * sizeof(*log->rows));
    log->count = keep;
}

/* Moves the rows the job tracked into the log under seq; when they cannot all be kept
 * (never tracked, lost, too many, out of memory) the log's floor rises to seq instead, so
 * every transaction begun before is validated by tables. */
static void log_append(struct sp_db *db, uint64_t seq)
{
    struct write_log *log = &db->log;
    pthread_mutex_lock(&log->lock);
    bool fits = db->tracking && !db->tracking_lost && db->ntracked <= WRITE_LOG_MAX;
    if (fits && log->count + db->ntracked > log->cap) {
        int cap = log->count + db->ntracked + 256;
        struct written *grown = realloc(log->rows, (size_t)cap * sizeof(*grown));
        fits = grown != NULL;
        if (grown) {
            log->rows = grown;
            log->cap = cap;
        }
    }
    if (fits) {
        log_drop_oldest(log, WRITE_LOG_MAX - db->ntracked < log->count
                                 ? WRITE_LOG_MAX - db->ntracked
                                 : log->count);
        for (int i = 0; i < db->ntracked; i++) {
            db->tracked[i].seq = seq;
            log->rows[log->count++] = db->tracked[i];
        }
        db->ntracked = 0; /* the log owns them now */
    } else {
        log->floor = seq;
    }
    pthread_mutex_unlock(&log->lock);
}

uint64_t sp_job_mark_written(struct sp_job_ctx *ctx, char *const *tables, int ntables)
{
    struct sp_db *db = ctx->db;
    uint64_t seq = atomic_load(&db->commit_seq) + 1;
    mark_tables(db, tables, ntables, seq);
    log_append(db, seq);
    tracked_clear(db);
    atomic_store(&db->commit_seq, seq);
    return seq;
}

void sp_job_track_writes(struct sp_job_ctx *ctx)
{
    tracked_clear(ctx->db);
    ctx->db->tracking = true;
}

void sp_job_mark_system(struct sp_job_ctx *ctx)
{
    ctx->db->system_job = true;
}

void sp_job_mark_transaction(struct sp_job_ctx *ctx, bool exclude, const char *tag)
{
    ctx->db->excluded_job = exclude;
    snprintf(ctx->db->job_tag, sizeof(ctx->db->job_tag), "%s", tag ? tag : "");
}

enum em_code sp_job_write_changes(struct sp_job_ctx *ctx, struct em_status *st)
{
    struct sp_db *db = ctx->db;
    return sp_change_log_write(&db->changes, ctx->schema, ctx->sqlite, sp_job_commit_time(ctx),
                               atomic_load(&db->commit_seq) + 1, db->system_job, db->excluded_job,
                               db->job_tag, st);
}

/* Whether the log holds a row of table written after since that span covers (span NULL:
 * any row). Its lock held, and its floor at or below since. */
static bool log_has_write(const struct write_log *log, const struct sp_table *table,
                          const struct sp_key_span *span, uint64_t since)
{
    bool desc[KEY_PARTS_MAX] = {false};
    for (int i = 0; i < table->nkey && i < KEY_PARTS_MAX; i++)
        desc[i] = table->key[i].desc;
    for (int i = log->count - 1; i >= 0 && log->rows[i].seq > since; i--) {
        const struct written *w = &log->rows[i];
        if (strcasecmp(w->table, table->name) != 0)
            continue;
        if (!span || w->nkey < 0 || w->nkey > KEY_PARTS_MAX ||
            sp_key_span_covers(span, desc, w->key, w->nkey))
            return true;
    }
    return false;
}

bool sp_job_changed_since(struct sp_job_ctx *ctx, const char *table_name,
                          const struct sp_key_span *span, uint64_t since)
{
    struct sp_db *db = ctx->db;
    const struct sp_table *table = sp_schema_table(ctx->schema, table_name);
    if (db->all_changed_seq > since || !table)
        return true;
    pthread_mutex_lock(&db->log.lock);
    bool changed = db->log.floor > since ? sp_job_table_seq(ctx, table_name) > since
                                         : log_has_write(&db->log, table, span, since);
    pthread_mutex_unlock(&db->log.lock);
    return changed;
}

void sp_db_prune_writes(struct sp_db *db, uint64_t up_to)
{
    struct write_log *log = &db->log;
    pthread_mutex_lock(&log->lock);
    int keep = log->count;
    while (keep > 0 && log->rows[log->count - keep].seq <= up_to)
        keep--;
    log_drop_oldest(log, keep);
    pthread_mutex_unlock(&log->lock);
}

void sp_data_prune_writes(struct sp_data *data, uint64_t (*oldest)(void *arg, struct sp_db *db),
                          void *arg)
{
    pthread_mutex_lock(&data->lock);
    for (struct sp_db *db = data->dbs; db; db = db->next) {
        uint64_t now = sp_db_commit_seq(db), first = oldest(arg, db);
        sp_db_prune_writes(db, first < now ? first : now);
    }
    pthread_mutex_unlock(&data->lock);
}

static enum em_code exec_sql(sqlite3 *sqlite, const char *sql, struct em_status *st);

/* Runs a script built in buf (nothing when empty) and frees it. */
static enum em_code run_script(sqlite3 *sqlite, struct sp_buf *buf, struct em_status *st)
{
    if (buf->failed)
        EM_FAIL_OOM(st);
    else if (buf->data)
        exec_sql(sqlite, buf->data, st);
    sp_buf_free(buf);
    return st->code;
}

/* "T$versions", quoted, for SQL written here (Spanner names hold no '"'). */
static void versions_table(const char *table, char out[SP_VERSIONS_NAME_MAX + 2])
{
    char name[SP_VERSIONS_NAME_MAX];
    sp_schema_versions_name(table, name);
    snprintf(out, SP_VERSIONS_NAME_MAX + 2, "\"%s\"", name);
}

struct prune_job {
    int64_t now;
    int max; /* versions kept per table at most */
};

/* The integer in the first column of sql's first row: *found false when there is none
 * (or it is NULL). */
static enum em_code query_int64(sqlite3 *sqlite, const char *sql, int64_t *out, bool *found,
                                struct em_status *st)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(sqlite, sql, -1, &stmt, NULL);
    *found = false;
    if (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        *found = sqlite3_column_type(stmt, 0) != SQLITE_NULL;
        *out = sqlite3_column_int64(stmt, 0);
        rc = SQLITE_DONE;
    }
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? EM_OK : sp_sql_error(sqlite, rc, st);
}

/* Keeps at most max versions of a table: the oldest beyond go, and *floor rises
 * to the newest of them (a read before it would miss them). Rowids are dense and in time
 * order: versions are appended and only a prefix is ever deleted. */
static enum em_code cap_versions(sqlite3 *sqlite, const char *table, int max, int64_t *floor,
                                 struct em_status *st)
{
    char name[SP_VERSIONS_NAME_MAX + 2], sql[512];
    int64_t last = 0, until = 0;
    bool found;
    versions_table(table, name);
    snprintf(sql, sizeof(sql), "SELECT max(rowid) FROM %s", name);
    if (query_int64(sqlite, sql, &last, &found, st) || !found || last <= max)
        return st->code;
    int64_t cut = last - max;
    snprintf(sql, sizeof(sql),
             "SELECT \"$until\" FROM %s WHERE rowid <= %lld ORDER BY rowid DESC LIMIT 1", name,
             (long long)cut);
    if (query_int64(sqlite, sql, &until, &found, st))
        return st->code;
    snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE rowid <= %lld", name, (long long)cut);
    if (exec_sql(sqlite, sql, st))
        return st->code;
    if (found && until > *floor)
        *floor = until;
    return EM_OK;
}

/* The versions floor is kept in the file, for reads after a restart (versions past the
 * retention period need none: a read that old is refused by its timestamp alone). */
static enum em_code save_floor(sqlite3 *sqlite, int64_t floor, struct em_status *st)
{
    char sql[256];
    snprintf(sql, sizeof(sql),
             "CREATE TABLE IF NOT EXISTS \"$versions_floor\" (ns INTEGER NOT NULL); "
             "DELETE FROM \"$versions_floor\"; INSERT INTO \"$versions_floor\" VALUES (%lld);",
             (long long)floor);
    return exec_sql(sqlite, sql, st);
}

static enum em_code job_prune_versions(struct sp_job_ctx *ctx, void *arg, struct em_status *st)
{
    const struct prune_job *j = arg;
    struct sp_db *db = ctx->db;
    struct sp_buf script = {0};
    int64_t floor = db->versions_floor_ns;
    int64_t before = j->now - sp_schema_version_retention(ctx->schema);
    for (int i = 0; ctx->schema && i < ctx->schema->ntables; i++)
        sp_schema_sqlite_prune_versions(ctx->schema->tables[i], before, &script);
    if (ctx->schema && ctx->schema->nchange_streams)
        sp_change_prune_sql(ctx->schema, j->now, &script);
    run_script(ctx->sqlite, &script, st);
    for (int i = 0; !st->code && ctx->schema && i < ctx->schema->ntables; i++)
        cap_versions(ctx->sqlite, ctx->schema->tables[i]->name, j->max, &floor, st);
    if (!st->code && floor != db->versions_floor_ns && !save_floor(ctx->sqlite, floor, st))
        db->versions_floor_ns = floor;
    return st->code;
}

/* The next database whose file is open and that is due (its mark a minute or more before
 * now: the pruning's, or the row deletion's), its mark set to now; NULL when none. A file
 * nobody opened since the start has taken no write: it waits for its first use. */
static struct sp_db *next_due(struct sp_data *data, int64_t now, bool row_deletion)
{
    for (;;) {
        pthread_mutex_lock(&data->lock);
        struct sp_db *db = data->dbs;
        int64_t *mark = NULL;
        for (; db; db = db->next) {
            mark = row_deletion ? &db->rows_deleted_ns : &db->versions_pruned_ns;
            if (!db->dropped && now - *mark >= PRUNE_EVERY_NS)
                break;
        }
        if (db)
            *mark = now;
        pthread_mutex_unlock(&data->lock);
        if (!db)
            return NULL;
        struct em_datafile *open = em_datastore_peek(db->ds);
        if (open) {
            em_datafile_put(open);
            return db;
        }
    }
}

struct sp_db *sp_data_next_row_deletion(struct sp_data *data, int64_t now)
{
    return next_due(data, now, true);
}

void sp_data_set_versions_max(struct sp_data *data, int max)
{
    data->versions_max = max;
}

void sp_data_prune_versions(struct sp_data *data, int64_t now)
{
    /* a file not opened since the start is skipped (next_due): a read older than the
     * retention period is refused by its timestamp alone */
    for (struct sp_db *db; (db = next_due(data, now, false)) != NULL;) {
        struct prune_job job = {now, data->versions_max};
        struct em_status st = {0};
        if (sp_db_run(db, job_prune_versions, &job, &st) && st.code != EM_FAILED_PRECONDITION)
            em_warn("spanner: forgetting old row versions of %s: %s", db->name, st.message);
    }
}

/* The job's commit timestamp: the first call picks it (in microseconds, after every
 * earlier commit and every read at a timestamp), later ones return it. */
static int64_t commit_time(struct file_state *fs)
{
    if (fs->job_commit_ns)
        return fs->job_commit_ns;
    struct sp_db *db = fs->db;
    int64_t now = fs->job_now_ns;
    now -= now % 1000;
    if (now <= db->last_commit_ns)
        now = db->last_commit_ns + 1000;
    db->last_commit_ns = now;
    return fs->job_commit_ns = now;
}

void sp_job_statement_clock(struct sp_job_ctx *ctx, int64_t now_ns, const unsigned char *uuid_seed,
                            struct sp_sequence_draws *draws)
{
    struct sp_sql_clock *clock = &file_state_of(ctx)->clock;
    clock->draws = draws;
    clock->draws_next = 0;
    if (!now_ns)
        now_ns = ctx->now;
    clock->now = (struct sp_timestamp){now_ns / 1000000000, (int32_t)(now_ns % 1000000000)};
    clock->seeded = uuid_seed != NULL;
    if (uuid_seed)
        memcpy(clock->seed, uuid_seed, sizeof(clock->seed));
    clock->uuid_next = 0;
}

int64_t sp_job_commit_time(struct sp_job_ctx *ctx)
{
    return commit_time(file_state_of(ctx));
}

/* sp_commit_ns(): the running job's commit timestamp, which the version triggers stamp
 * on what a write replaced (spanner_schema.h). */
static void sql_commit_ns(sqlite3_context *context, int argc, sqlite3_value **argv)
{
    (void)argc;
    (void)argv;
    sqlite3_result_int64(context, commit_time(sqlite3_user_data(context)));
}

enum em_code sp_job_read_time(struct sp_job_ctx *ctx, int64_t read_ns, int64_t *at,
                              struct em_status *st)
{
    struct sp_db *db = ctx->db;
    *at = 0;
    if (read_ns <= 0)
        return EM_OK;
    if (read_ns >= db->last_commit_ns) {
        /* nothing committed after it: the current rows are those at read_ns, and every
         * later commit comes after it */
        db->last_commit_ns = read_ns + (1000 - read_ns % 1000) % 1000;
        return EM_OK;
    }
    if (read_ns < db->versions_floor_ns) {
        char text[EM_TIME_TEXT_MAX], floor[EM_TIME_TEXT_MAX];
        em_time_format(read_ns, text);
        em_time_format(db->versions_floor_ns, floor);
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "Read timestamp %s is too old: the row versions before %s were "
                       "forgotten (a table here keeps a bounded number of versions, and a "
                       "longer version_retention_period keeps versions from when it was set).",
                       text, floor);
    }
    *at = read_ns;
    return EM_OK;
}

/* --- the rows a job writes (SQLite's pre-update hook) --- */

/* Appends the key of the row being written (new: its new values, else its old ones) to
 * the job's tracked rows. A table without a key, or whose columns SQLite numbers
 * otherwise than the schema, is recorded whole. */
static void track_row(struct sp_db *db, sqlite3 *sqlite, const char *name, bool new_values)
{
    if (db->ntracked >= WRITE_LOG_MAX) { /* more than the log keeps: its floor will rise */
        db->tracking_lost = true;
        return;
    }
    const struct sp_table *table = db->schema ? sp_schema_table(db->schema, name) : NULL;
    struct written *grown = db->tracked;
    if (db->ntracked == db->tracked_cap) {
        int cap = db->tracked_cap ? db->tracked_cap * 2 : 16;
        grown = realloc(db->tracked, (size_t)cap * sizeof(*grown));
        if (grown) {
            db->tracked = grown;
            db->tracked_cap = cap;
        }
    }
    char *copy = strdup(table ? table->name : name);
    int nkey = table ? table->nkey : 0;
    bool whole =
        nkey == 0 || nkey > KEY_PARTS_MAX || sqlite3_preupdate_count(sqlite) != table->ncolumns;
    struct sp_stored *key = whole ? NULL : calloc((size_t)nkey, sizeof(*key));
    if (!grown || !copy || (!whole && !key)) {
        free(copy);
        free(key);
        db->tracking_lost = true;
        return;
    }
    struct written w = {copy, key, whole ? -1 : 0, 0};
    for (int i = 0; i < nkey && !whole; i++) {
        sqlite3_value *v = NULL;
        int column = sp_table_column_index(table, table->key[i].column);
        int rc = new_values ? sqlite3_preupdate_new(sqlite, column, &v)
                            : sqlite3_preupdate_old(sqlite, column, &v);
        struct sp_stored *part = &key[w.nkey++];
        part->kind = rc == SQLITE_OK && v ? sqlite3_value_type(v) : SQLITE_NULL;
        if (part->kind == SQLITE_INTEGER)
            part->i = sqlite3_value_int64(v);
        else if (part->kind == SQLITE_FLOAT)
            part->d = sqlite3_value_double(v);
        else if (part->kind == SQLITE_TEXT || part->kind == SQLITE_BLOB) {
            const void *bytes = part->kind == SQLITE_TEXT ? (const void *)sqlite3_value_text(v)
                                                          : sqlite3_value_blob(v);
            part->len = (size_t)sqlite3_value_bytes(v);
            part->data = malloc(part->len + 1);
            if (!part->data) {
                written_clear(&w);
                db->tracking_lost = true;
                return;
            }
            if (part->len)
                memcpy(part->data, bytes, part->len);
            part->data[part->len] = '\0';
        }
    }
    db->tracked[db->ntracked++] = w;
}

static void on_preupdate(void *arg, sqlite3 *sqlite, int op, const char *schema_name,
                         const char *table, sqlite3_int64 old_rowid, sqlite3_int64 new_rowid)
{
    (void)old_rowid;
    (void)new_rowid;
    struct sp_db *db = arg;
    if (!db->tracking || strcmp(schema_name, "main") != 0 || strncmp(table, "sqlite_", 7) == 0 ||
        strchr(table, '$')) /* a table's versions (spanner_schema.h) */
        return;
    if (op != SQLITE_INSERT)
        track_row(db, sqlite, table, false);
    if (op != SQLITE_DELETE)
        track_row(db, sqlite, table, true);
    if (db->schema && db->schema->nchange_streams)
        sp_change_capture(&db->changes, db->schema, sqlite, op, table);
}

/* --- the writer thread's hooks --- */

/* A file written before row versions were kept (spanner_schema.h) gets its versions
 * tables and triggers when it is opened: its rows' history starts then. */
static enum em_code add_versions(sqlite3 *sqlite, const struct sp_schema *schema,
                                 struct em_status *st)
{
    if (!schema || schema->ntables == 0)
        return EM_OK;
    char name[SP_VERSIONS_NAME_MAX], sql[400];
    int64_t present;
    bool found;
    sp_schema_versions_name(schema->tables[0]->name, name);
    snprintf(sql, sizeof(sql), "SELECT 1 FROM sqlite_master WHERE name = '%s' COLLATE NOCASE",
             name); /* names hold no quote */
    if (query_int64(sqlite, sql, &present, &found, st) || found)
        return st->code;
    struct sp_buf script = {0};
    sp_buf_puts(&script, "SAVEPOINT sp_versions;\n");
    for (int i = 0; i < schema->ntables; i++)
        sp_schema_sqlite_versions(schema->tables[i], &script);
    if (sp_schema_sqlite_triggers(schema, &script, st)) {
        sp_buf_free(&script);
        return st->code;
    }
    sp_buf_puts(&script, "RELEASE sp_versions;\n");
    if (run_script(sqlite, &script, st))
        sqlite3_exec(sqlite, "ROLLBACK TO sp_versions; RELEASE sp_versions;", NULL, NULL, NULL);
    return st->code;
}

/* Whether column is a plain SQLite column of table (not a generated one). */
static enum em_code plain_column(sqlite3 *sqlite, const char *table, const char *column,
                                 bool *plain, struct em_status *st)
{
    char sql[600];
    int64_t hidden;
    bool found;
    snprintf(sql, sizeof(sql), /* names hold no quote */
             "SELECT hidden FROM pragma_table_xinfo('%s') WHERE name = '%s' COLLATE NOCASE", table,
             column);
    if (query_int64(sqlite, sql, &hidden, &found, st))
        return st->code;
    *plain = found && hidden == 0;
    return EM_OK;
}

/* The statements that turn table t's plain generated columns into SQLite generated ones
 * (its indexes dropped first and created again after); *any set when there were some. */
static enum em_code regenerate_columns(sqlite3 *sqlite, const struct sp_schema *schema,
                                       const struct sp_table *t, struct sp_buf *script, bool *any,
                                       struct em_status *st)
{
    bool table_done = false;
    for (int k = 0; k < t->ncolumns; k++) {
        const struct sp_column *c = &t->columns[k];
        bool plain = false;
        if (c->generated_sql && plain_column(sqlite, t->name, c->name, &plain, st))
            return st->code;
        if (!plain)
            continue;
        if (!*any)
            for (int i = 0; i < schema->ntables; i++)
                sp_schema_sqlite_drop_triggers(schema->tables[i]->name, script);
        for (int i = 0; !table_done && i < schema->nindexes; i++)
            if (strcasecmp(schema->indexes[i]->table, t->name) == 0)
                sp_schema_sqlite_drop_index(schema->indexes[i], script);
        *any = table_done = true;
        sp_buf_puts(script, "ALTER TABLE ");
        sp_buf_ident(script, t->name);
        sp_buf_puts(script, " DROP COLUMN ");
        sp_buf_ident(script, c->name);
        sp_buf_puts(script, ";\n");
        sp_schema_sqlite_add_column(t, c, script);
    }
    for (int i = 0; table_done && i < schema->nindexes; i++)
        if (strcasecmp(schema->indexes[i]->table, t->name) == 0)
            sp_schema_sqlite_index(schema->indexes[i], script);
    return EM_OK;
}

/* A file written before generated columns were computed has them as plain columns, left
 * NULL: when it is opened they become SQLite generated columns (spanner_schema.h). If that
 * fails (a generated key column), the file stays as it was and serves as before. */
static void upgrade_generated_columns(sqlite3 *sqlite, const struct sp_db *db)
{
    const struct sp_schema *schema = db->schema;
    struct sp_buf script = {0};
    struct em_status st = {0};
    bool any = false;
    sp_buf_puts(&script, "SAVEPOINT sp_generated;\n");
    for (int i = 0; schema && !st.code && i < schema->ntables; i++)
        regenerate_columns(sqlite, schema, schema->tables[i], &script, &any, &st);
    if (!st.code && any && !sp_schema_sqlite_triggers(schema, &script, &st)) {
        sp_buf_puts(&script, "RELEASE sp_generated;\n");
        if (run_script(sqlite, &script, &st))
            sqlite3_exec(sqlite, "ROLLBACK TO sp_generated; RELEASE sp_generated;", NULL, NULL,
                         NULL);
        else
            em_info("spanner: %s: generated columns are now computed", db->name);
    }
    if (st.code)
        em_warn("spanner: %s: generated columns stay as they were: %s", db->name, st.message);
    sp_buf_free(&script);
}

/* After a restart, commits and reads at a timestamp go on from the latest commit that
 * left a version (each table's last version, by rowid, is its latest), and reads before
 * the versions floor stay refused. */
static enum em_code restore_commit_time(sqlite3 *sqlite, struct sp_db *db, struct em_status *st)
{
    char name[SP_VERSIONS_NAME_MAX + 2], sql[400];
    int64_t value;
    bool found;
    for (int i = 0; db->schema && i < db->schema->ntables; i++) {
        versions_table(db->schema->tables[i]->name, name);
        snprintf(sql, sizeof(sql), "SELECT \"$until\" FROM %s ORDER BY rowid DESC LIMIT 1", name);
        if (query_int64(sqlite, sql, &value, &found, st))
            return st->code;
        if (found && value > db->last_commit_ns)
            db->last_commit_ns = value;
    }
    /* no table: the cap never forgot a version */
    if (query_int64(sqlite, "SELECT 1 FROM sqlite_master WHERE name = '$versions_floor'", &value,
                    &found, st) ||
        !found || query_int64(sqlite, "SELECT ns FROM \"$versions_floor\"", &value, &found, st))
        return st->code;
    if (found && value > db->versions_floor_ns)
        db->versions_floor_ns = value;
    return EM_OK;
}

static enum em_code file_opened(struct em_store *store, void *arg, void **state,
                                struct em_status *st)
{
    struct file_state *fs = calloc(1, sizeof(*fs));
    if (!fs)
        return EM_FAIL_OOM(st);
    fs->db = arg;
    fs->generation = fs->db->schema_generation;
    sqlite3 *sqlite = em_store_db(store, st);
    if (!sqlite || sp_sql_functions_register(sqlite, &fs->clock) != SQLITE_OK ||
        sqlite3_create_function(sqlite, "sp_commit_ns", 0, SQLITE_UTF8, fs, sql_commit_ns, NULL,
                                NULL) != SQLITE_OK) {
        free(fs);
        return st->code ? st->code : EM_FAIL(st, EM_INTERNAL, "cannot register SQL functions");
    }
    upgrade_generated_columns(sqlite, fs->db);
    if (add_versions(sqlite, fs->db->schema, st) || restore_commit_time(sqlite, fs->db, st) ||
        sp_counters_open(&fs->counters, sqlite, &fs->db->schema, st)) {
        free(fs);
        return st->code;
    }
    fs->clock.sequences = &fs->counters.source;
    sqlite3_preupdate_hook(sqlite, on_preupdate, fs->db);
    *state = fs;
    return EM_OK;
}

static void file_closed(void *state)
{
    struct file_state *fs = state;
    cache_clear(fs);
    sp_counters_close(&fs->counters);
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

/* A job queued without waiting (sp_db_job_submit): it holds its file until sp_db_job_end. */
struct sp_db_job {
    struct job job;
    struct em_datafile *file;
    struct em_datafile_result batch;
};

static enum em_code exec_sql(sqlite3 *sqlite, const char *sql, struct em_status *st)
{
    int rc = sqlite3_exec(sqlite, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? EM_OK : sp_sql_error(sqlite, rc, st);
}

/* One of run_job's savepoint statements, prepared once per connection (em_store's cache):
 * parsing them again for every job cost more than a one-row commit's own statement. */
static enum em_code savepoint(struct em_datafile *file, sqlite3 *sqlite, const char *sql,
                              struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(em_datafile_store(file), sql, st);
    if (!stmt)
        return st->code;
    int rc = sqlite3_step(stmt);
    enum em_code code = rc == SQLITE_DONE ? EM_OK : sp_sql_error(sqlite, rc, st);
    em_stmt_done(stmt);
    return code;
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
        sp_counters_clear(&fs->counters); /* a counter may have restarted */
        fs->generation = j->db->schema_generation;
    }
    fs->job_now_ns = ctx.now;
    sp_job_statement_clock(&ctx, 0, NULL, NULL);
    fs->job_commit_ns = 0;
    if (savepoint(file, ctx.sqlite, "SAVEPOINT sp_job", &j->st))
        return EM_OK;
    tracked_clear(j->db);
    struct em_status ignored = {0};
    if (j->fn(&ctx, j->arg, &j->st) != EM_OK)
        savepoint(file, ctx.sqlite, "ROLLBACK TO sp_job", &ignored);
    /* the sequences drawn from, even by a job that failed: a value is never drawn twice */
    struct em_status saved = {0};
    if (sp_counters_save(&fs->counters, &saved) && !j->st.code) {
        savepoint(file, ctx.sqlite, "ROLLBACK TO sp_job", &ignored);
        j->st = saved;
    }
    tracked_clear(j->db); /* what a job that did not commit wrote is not a write */
    struct em_status release = {0};
    if (savepoint(file, ctx.sqlite, "RELEASE sp_job", &release) && !j->st.code)
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

struct sp_db_job *sp_db_job_new(struct sp_db *db, sp_job_fn fn, void *arg)
{
    struct sp_db_job *q = calloc(1, sizeof(*q));
    if (q)
        q->job = (struct job){.db = db, .fn = fn, .arg = arg};
    return q;
}

void sp_db_job_submit(struct sp_db_job *q, void (*done)(void *done_arg), void *done_arg)
{
    struct em_status *st = &q->batch.st;
    if (q->job.db->dropped)
        SP_ERR_DATABASE_NOT_FOUND(st, q->job.db->name);
    else if (!em_datastore_open(q->job.db->ds, &q->file, st) &&
             !em_datafile_submit(q->file, run_job, &q->job, &q->batch, done, done_arg, st))
        return;
    q->batch.code = st->code; /* not queued: ended here */
    done(done_arg);
}

enum em_code sp_db_job_end(struct sp_db_job *q, struct em_status *st)
{
    if (q->file)
        em_datafile_put(q->file);
    if (q->batch.code)
        *st = q->batch.st;
    else if (q->job.st.code)
        *st = q->job.st;
    free(q);
    return st->code;
}

/* --- schema changes --- */

/* A longer version_retention_period keeps versions from now on: those older than the
 * period in effect until now may be gone already, so reads before that stay refused (the
 * versions floor, kept in the file). */
static enum em_code keep_versions_floor(struct sp_job_ctx *ctx, const struct sp_schema *next,
                                        struct em_status *st)
{
    struct sp_db *db = ctx->db;
    int64_t was = sp_schema_version_retention(db->schema);
    if (sp_schema_version_retention(next) <= was)
        return EM_OK;
    int64_t floor = sp_job_commit_time(ctx) - was;
    if (floor > db->versions_floor_ns && !save_floor(ctx->sqlite, floor, st))
        db->versions_floor_ns = floor;
    return st->code;
}

/* A job: the statements applied to a clone of the schema and their SQLite script run;
 * the clone replaces the schema only when everything succeeded. */
struct ddl_job {
    const cJSON *statements;
};

/* A view that translates but that SQLite cannot prepare (past its nesting limits once its
 * views are inlined) is refused now, naming it, rather than at every query of it. */
static enum em_code check_views(sqlite3 *sqlite, const struct sp_schema *schema,
                                struct em_status *st)
{
    for (int i = 0; i < schema->nviews; i++) {
        char sql[400];
        struct sp_translation *tr = NULL;
        snprintf(sql, sizeof(sql), "SELECT * FROM `%s`", schema->views[i]->name);
        if (sp_translate(schema, sql, NULL, 0, &tr, st))
            return st->code;
        sqlite3_stmt *stmt = NULL;
        int rc = sqlite3_prepare_v2(sqlite, tr->sql, -1, &stmt, NULL);
        sqlite3_finalize(stmt);
        sp_translation_free(tr);
        if (rc != SQLITE_OK) {
            struct em_status why = {0};
            sp_sql_error(sqlite, rc, &why);
            return EM_FAIL(st, why.code, "View %s cannot be queried: %s", schema->views[i]->name,
                           why.message);
        }
    }
    return EM_OK;
}

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
    if (!st->code)
        check_views(ctx->sqlite, next, st);
    if (st->code == EM_ALREADY_EXISTS) { /* CREATE UNIQUE INDEX over duplicates */
        char detail[EM_STATUS_MESSAGE_MAX];
        const char *colon = strstr(st->message, ": ");
        snprintf(detail, sizeof(detail), "%s", colon ? colon + 2 : st->message);
        em_status_clear(st);
        EM_FAIL(st, EM_FAILED_PRECONDITION,
                "Found uniqueness violation on a unique index over %.300s: existing rows have "
                "duplicate keys.",
                detail);
    }
    if (!st->code)
        keep_versions_floor(ctx, next, st);
    if (st->code) {
        sp_schema_free(next);
        return st->code;
    }
    sp_schema_free(ctx->db->schema);
    ctx->db->schema = next;
    atomic_store(&ctx->db->retention_ns, sp_schema_version_retention(next));
    ctx->db->schema_generation++;
    /* transactions begun before that read anything see a conflict */
    ctx->db->all_changed_seq = atomic_fetch_add(&ctx->db->commit_seq, 1) + 1;
    return EM_OK;
}

int64_t sp_data_versions_floor(struct sp_data *data, const char *database)
{
    pthread_mutex_lock(&data->lock);
    struct sp_db *db = find_locked(data, database);
    int64_t floor = db ? atomic_load(&db->versions_floor_ns) : 0;
    pthread_mutex_unlock(&data->lock);
    return floor;
}

int64_t sp_db_version_retention(struct sp_db *db)
{
    int64_t ns = atomic_load(&db->retention_ns);
    return ns ? ns : SP_DEFAULT_RETENTION_NS;
}

static struct sp_db *db_new(struct sp_data *data, const char *database, struct em_status *st)
{
    struct sp_db *db = calloc(1, sizeof(*db));
    if (!db) {
        EM_FAIL_OOM(st);
        return NULL;
    }
    snprintf(db->name, sizeof(db->name), "%s", database);
    db->versions_pruned_ns = em_clock_now(); /* the first pruning a minute from now */
    pthread_mutex_init(&db->log.lock, NULL);
    char path[SP_DATA_PATH_MAX];
    sp_data_path(data, database, path);
    if (em_datastore_new(data->cmek, database, path, &file_hooks, db, &db->ds, st)) {
        pthread_mutex_destroy(&db->log.lock);
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
            if (cJSON_IsString(item) && sp_ddl_replay(db->schema, item->valuestring, &ignored, st))
                break;
        }
        sp_buf_free(&ignored);
        if (st->code) {
            db_free(db);
            return st->code;
        }
        atomic_store(&db->retention_ns, sp_schema_version_retention(db->schema));
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

struct rewind_job {
    int64_t at_ns;
};

/* Triggers off (the rows were consistent at at_ns), each table rewound, triggers back. */
static enum em_code job_rewind(struct sp_job_ctx *ctx, void *arg, struct em_status *st)
{
    const struct rewind_job *j = arg;
    if (j->at_ns < ctx->db->versions_floor_ns)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "The backup cannot be restored as of its version time: the row versions "
                       "before it were forgotten.");
    struct sp_buf script = {0};
    for (int i = 0; ctx->schema && i < ctx->schema->ntables; i++)
        sp_schema_sqlite_drop_triggers(ctx->schema->tables[i]->name, &script);
    for (int i = 0; ctx->schema && i < ctx->schema->ntables; i++)
        sp_schema_sqlite_rewind(ctx->schema->tables[i], j->at_ns, &script);
    if (ctx->schema && sp_schema_sqlite_triggers(ctx->schema, &script, st)) {
        sp_buf_free(&script);
        return st->code;
    }
    return run_script(ctx->sqlite, &script, st);
}

enum em_code sp_data_rewind(struct sp_data *data, const char *database, int64_t at_ns,
                            struct em_status *st)
{
    struct sp_db *db = sp_data_find(data, database, st);
    if (!db)
        return st->code;
    struct rewind_job job = {at_ns};
    return sp_db_run(db, job_rewind, &job, st);
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
