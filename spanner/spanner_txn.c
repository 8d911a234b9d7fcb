/*
 * spanner_txn: the table of live transactions and the commit's validation (see
 * spanner_txn.h).
 */
#include "spanner_txn.h"

#include "em_crypto.h"
#include "em_json.h"
#include "spanner_data.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A transaction that ended, remembered (spanner_txn.h). */
struct ended_txn {
    char id[SP_TXN_ID_MAX]; /* "": an empty slot */
    char session[SP_NAME_MAX];
    struct sp_txn_ending ending;
    enum em_code code; /* SP_TXN_FAILED: its commit's error */
    char message[EM_STATUS_MESSAGE_MAX];
};

struct sp_txns {
    pthread_mutex_t lock; /* the list and the ring; a transaction's own lock is taken after */
    struct sp_txn *list;
    struct ended_txn *ended; /* a ring of SP_TXN_ENDED_MAX, made when the first one ends */
    int ended_next;
};

enum em_code sp_txns_open(struct sp_txns **out, struct em_status *st)
{
    *out = calloc(1, sizeof(**out));
    if (!*out)
        return EM_FAIL_OOM(st);
    pthread_mutex_init(&(*out)->lock, NULL);
    return EM_OK;
}

/* Frees what the transaction read and buffered (it stays, empty). */
static void txn_clear(struct sp_txn *t)
{
    for (int i = 0; i < t->nreads; i++)
        free(t->reads[i]);
    free(t->reads);
    for (int i = 0; i < t->nspans; i++) {
        free(t->spans[i].table);
        sp_key_span_clear(&t->spans[i].span);
    }
    free(t->spans);
    for (int i = 0; i < t->npending; i++)
        free(t->pending[i]);
    free(t->pending);
    for (int i = 0; i < t->ndmls; i++) {
        free(t->dmls[i].sql);
        cJSON_Delete(t->dmls[i].params);
        cJSON_Delete(t->dmls[i].param_types);
        sp_sequence_draws_free(&t->dmls[i].draws);
    }
    free(t->dmls);
    for (int i = 0; i < t->nrequests; i++) {
        cJSON_Delete(t->requests[i].reply);
        free(t->requests[i].message);
    }
    free(t->requests);
    t->requests = NULL;
    t->nrequests = 0;
    t->reads = t->pending = NULL;
    t->spans = NULL;
    t->dmls = NULL;
    t->nreads = t->nspans = t->npending = t->ndmls = 0;
}

static void txn_free(struct sp_txn *t)
{
    txn_clear(t);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

/* A read-write transaction unused for SP_TXN_RW_IDLE_NS by now: aborted, as Spanner
 * does, its reads and buffered writes freed. Only whoever holds it alone may call this
 * (its lock, or the list's lock with no call using it). */
static void abort_if_idle(struct sp_txn *t, int64_t now)
{
    if (t->mode == SP_TXN_READ_WRITE && !t->aborted_idle &&
        now - t->last_use_ns >= SP_TXN_RW_IDLE_NS) {
        t->aborted_idle = true;
        txn_clear(t);
    }
}

void sp_txns_close(struct sp_txns *txns)
{
    if (!txns)
        return;
    for (struct sp_txn *t = txns->list, *next; t; t = next) {
        next = t->next;
        txn_free(t);
    }
    free(txns->ended);
    pthread_mutex_destroy(&txns->lock);
    free(txns);
}

enum em_code sp_txn_begin(struct sp_txns *txns, struct sp_db *db, const char *session,
                          enum sp_txn_mode mode, int64_t now, struct sp_txn **out,
                          struct em_status *st)
{
    *out = NULL;
    unsigned char raw[16];
    if (em_random_bytes(raw, sizeof(raw), st))
        return st->code;
    char *id = em_b64_encode(raw, sizeof(raw));
    struct sp_txn *t = calloc(1, sizeof(*t));
    if (!t || !id) {
        free(t);
        free(id);
        return EM_FAIL_OOM(st);
    }
    snprintf(t->id, sizeof(t->id), "%s", id);
    free(id);
    snprintf(t->session, sizeof(t->session), "%s", session);
    t->db = db;
    t->mode = mode;
    t->start_seq = db ? sp_db_commit_seq(db) : 0;
    t->begin_ns = t->last_use_ns = now;
    t->refs = 2; /* the list's and the caller's */
    pthread_mutex_init(&t->lock, NULL);
    pthread_mutex_lock(&t->lock);
    pthread_mutex_lock(&txns->lock);
    t->next = txns->list;
    txns->list = t;
    pthread_mutex_unlock(&txns->lock);
    *out = t;
    return EM_OK;
}

/* An id in standard base64 with padding, whichever alphabet the client wrote it in (gcloud
 * sends bytes URL-safe). */
static void normalize_id(const char *id, char out[SP_TXN_ID_MAX])
{
    size_t n = 0;
    for (; id[n] && n + 4 < SP_TXN_ID_MAX; n++)
        out[n] = id[n] == '-' ? '+' : id[n] == '_' ? '/' : id[n];
    while (n % 4 && n + 1 < SP_TXN_ID_MAX)
        out[n++] = '=';
    out[n] = '\0';
}

/* The answer to a call that uses so a transaction that ended as past says (the header). */
static enum em_code answer_ended(const struct ended_txn *past, enum sp_txn_use use,
                                 struct sp_txn_ending *ended, struct em_status *st)
{
    enum sp_txn_end end = past->ending.end;
    if (use == SP_TXN_USE_COMMIT && end == SP_TXN_ROLLED_BACK)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "Cannot commit a transaction after it has been rolled back.");
    if (use == SP_TXN_USE_COMMIT && end == SP_TXN_FAILED)
        return EM_FAIL(st, past->code, "%s", past->message);
    if (use == SP_TXN_USE_ROLLBACK && end == SP_TXN_COMMITTED)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "Cannot rollback a transaction after it has been committed.");
    if (use == SP_TXN_USE)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "Cannot read or query using a transaction after it has been committed or "
                       "rolledback.");
    *ended = past->ending; /* a commit again, a rollback again */
    return EM_OK;
}

/* A call naming a transaction that is not live: what became of it, or NOT_FOUND. */
static enum em_code find_ended(struct sp_txns *txns, const char *standard, const char *id,
                               const char *session, enum sp_txn_use use,
                               struct sp_txn_ending *ended, struct em_status *st)
{
    const struct ended_txn *past = NULL;
    pthread_mutex_lock(&txns->lock);
    for (int i = 0; txns->ended && i < SP_TXN_ENDED_MAX && !past; i++) {
        const struct ended_txn *e = &txns->ended[i];
        if (strcmp(e->id, standard) == 0 && strcmp(e->session, session) == 0)
            past = e;
    }
    enum em_code code = past ? answer_ended(past, use, ended, st)
                             : EM_FAIL(st, EM_NOT_FOUND, "Transaction not found: %.100s", id);
    pthread_mutex_unlock(&txns->lock);
    return code;
}

enum em_code sp_txn_find(struct sp_txns *txns, const char *id, const char *session, int64_t now,
                         enum sp_txn_use use, struct sp_txn **out, struct sp_txn_ending *ended,
                         struct em_status *st)
{
    *out = NULL;
    char standard[SP_TXN_ID_MAX];
    normalize_id(id, standard);
    pthread_mutex_lock(&txns->lock);
    struct sp_txn *t = txns->list;
    while (t && strcmp(t->id, standard) != 0)
        t = t->next;
    if (t && strcmp(t->session, session) == 0)
        t->refs++;
    else
        t = NULL;
    pthread_mutex_unlock(&txns->lock);
    if (!t)
        return find_ended(txns, standard, id, session, use, ended, st);
    pthread_mutex_lock(&t->lock);
    if (t->finished) { /* it ended while this call waited for it */
        sp_txn_release(txns, t);
        return find_ended(txns, standard, id, session, use, ended, st);
    }
    abort_if_idle(t, now);
    *out = t; /* aborted or invalidated: for a rollback, or to end it */
    if (t->aborted_idle)
        return EM_FAIL(st, EM_ABORTED, "Transaction was aborted. Idle for over 10 seconds.");
    t->last_use_ns = now;
    if (t->failure.code && use != SP_TXN_USE_ROLLBACK)
        return EM_FAIL(st, t->failure.code, "%s", t->failure.message);
    return EM_OK;
}

void sp_txn_invalidate(struct sp_txn *t, const struct em_status *why)
{
    txn_clear(t); /* it can no longer commit: what it read and wrote is moot */
    EM_FAIL(&t->failure, why->code, "%s", why->message);
}

void sp_txn_release(struct sp_txns *txns, struct sp_txn *t)
{
    if (!t)
        return;
    pthread_mutex_unlock(&t->lock);
    pthread_mutex_lock(&txns->lock);
    bool last = --t->refs == 0;
    pthread_mutex_unlock(&txns->lock);
    if (last)
        txn_free(t);
}

/* Takes t out of the list (under txns->lock) and drops the list's reference. */
static bool unlink_locked(struct sp_txns *txns, struct sp_txn *t)
{
    for (struct sp_txn **slot = &txns->list; *slot; slot = &(*slot)->next)
        if (*slot == t) {
            *slot = t->next;
            return --t->refs == 0;
        }
    return false;
}

/* Records in the ring how t ended (under txns->lock); forgets nothing when out of memory. */
static void remember(struct sp_txns *txns, const struct sp_txn *t,
                     const struct sp_txn_ending *ending, const struct em_status *why)
{
    if (!txns->ended && !(txns->ended = calloc(SP_TXN_ENDED_MAX, sizeof(*txns->ended))))
        return;
    struct ended_txn *e = &txns->ended[txns->ended_next];
    txns->ended_next = (txns->ended_next + 1) % SP_TXN_ENDED_MAX;
    snprintf(e->id, sizeof(e->id), "%s", t->id);
    snprintf(e->session, sizeof(e->session), "%s", t->session);
    e->ending = *ending;
    e->code = why ? why->code : EM_OK;
    snprintf(e->message, sizeof(e->message), "%s", why ? why->message : "");
}

/* Takes t out of the live list, remembering how it ended when ending is not NULL. */
void sp_txn_end(struct sp_txns *txns, struct sp_txn *t, const struct sp_txn_ending *ending,
                const struct em_status *why)
{
    t->finished = true;
    pthread_mutex_lock(&txns->lock);
    if (ending)
        remember(txns, t, ending, why);
    unlink_locked(txns, t); /* the caller still holds its reference */
    pthread_mutex_unlock(&txns->lock);
}

void sp_txn_finish(struct sp_txns *txns, struct sp_txn *t)
{
    sp_txn_end(txns, t, NULL, NULL);
}

static bool has_name(char *const *names, int n, const char *name)
{
    for (int k = 0; k < n; k++)
        if (strcasecmp(names[k], name) == 0)
            return true;
    return false;
}

/* Adds the lower-case copies of tables not in *names yet. */
static enum em_code add_names(char ***names, int *n, char *const *tables, int ntables,
                              struct em_status *st)
{
    for (int i = 0; i < ntables; i++) {
        if (has_name(*names, *n, tables[i]))
            continue;
        char **grown = realloc(*names, (size_t)(*n + 1) * sizeof(*grown));
        char *copy = strdup(tables[i]);
        if (!grown || !copy) {
            free(copy);
            if (grown)
                *names = grown;
            return EM_FAIL_OOM(st);
        }
        for (char *p = copy; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        *names = grown;
        (*names)[(*n)++] = copy;
    }
    return EM_OK;
}

enum em_code sp_txn_add_reads(struct sp_txn *t, char *const *tables, int ntables,
                              struct em_status *st)
{
    return add_names(&t->reads, &t->nreads, tables, ntables, st);
}

/* Whether the transaction reads table (lower-case) whole. */
static bool reads_whole(const struct sp_txn *t, const char *table)
{
    return has_name(t->reads, t->nreads, table);
}

enum em_code sp_txn_add_key_reads(struct sp_txn *t, const char *table,
                                  const struct sp_key_spans *spans, struct em_status *st)
{
    char *name = (char *)table;
    if (spans->all || t->nspans + spans->count > SP_TXN_SPANS_MAX)
        return sp_txn_add_reads(t, &name, 1, st);
    if (reads_whole(t, table) || spans->count == 0)
        return EM_OK;
    struct sp_txn_span *grown =
        realloc(t->spans, (size_t)(t->nspans + spans->count) * sizeof(*grown));
    if (!grown)
        return EM_FAIL_OOM(st);
    t->spans = grown;
    for (int i = 0; i < spans->count; i++) {
        struct sp_txn_span *s = &t->spans[t->nspans];
        if (!(s->table = strdup(table)) || !sp_key_span_copy(&spans->spans[i], &s->span)) {
            free(s->table);
            return EM_FAIL_OOM(st);
        }
        for (char *p = s->table; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        t->nspans++;
    }
    return EM_OK;
}

enum em_code sp_txn_add_pending(struct sp_txn *t, char *const *tables, int ntables,
                                struct em_status *st)
{
    return add_names(&t->pending, &t->npending, tables, ntables, st);
}

bool sp_txn_is_pending(const struct sp_txn *t, const char *table)
{
    return has_name(t->pending, t->npending, table);
}

enum em_code sp_txn_add_dml(struct sp_txn *t, const char *sql, const cJSON *params,
                            const cJSON *param_types, int64_t now_ns,
                            const unsigned char *uuid_seed, struct sp_sequence_draws *draws,
                            struct em_status *st)
{
    struct sp_dml *grown = realloc(t->dmls, (size_t)(t->ndmls + 1) * sizeof(*grown));
    if (!grown)
        return EM_FAIL_OOM(st);
    t->dmls = grown;
    struct sp_dml d = {strdup(sql),
                       params ? cJSON_Duplicate(params, true) : NULL,
                       param_types ? cJSON_Duplicate(param_types, true) : NULL,
                       now_ns,
                       {0},
                       *draws};
    memcpy(d.uuid_seed, uuid_seed, sizeof(d.uuid_seed));
    if (!d.sql || (params && !d.params) || (param_types && !d.param_types)) {
        free(d.sql);
        cJSON_Delete(d.params);
        cJSON_Delete(d.param_types);
        return EM_FAIL_OOM(st);
    }
    *draws = (struct sp_sequence_draws){0};
    t->dmls[t->ndmls++] = d;
    return EM_OK;
}

enum em_code sp_txn_dml_check(const struct sp_txn *t, int64_t seqno, uint64_t hash, const char *sql,
                              const struct sp_dml_request **seen, struct em_status *st)
{
    *seen = NULL;
    for (int i = 0; i < t->nrequests; i++) {
        if (t->requests[i].seqno != seqno)
            continue;
        if (t->requests[i].hash != hash)
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "Previously received a different request with this seqno. "
                           "seqno=%lld\nRequested SQL: %.200s",
                           (long long)seqno, sql);
        *seen = &t->requests[i];
        return EM_OK;
    }
    int64_t highest = t->nrequests ? t->requests[t->nrequests - 1].seqno : INT64_MIN;
    if (seqno < highest)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Request has an out-of-order seqno. Request seqno=%lld. Last seen "
                       "seqno=%lld. The sequence number must be monotonically increasing "
                       "within the transaction.\nRequested SQL: %.200s",
                       (long long)seqno, (long long)highest, sql);
    return EM_OK;
}

/* Forgets the oldest kept outcome (the highest seqno, the last, stays). */
static void forget_oldest_request(struct sp_txn *t)
{
    cJSON_Delete(t->requests[0].reply);
    free(t->requests[0].message);
    memmove(t->requests, t->requests + 1, (size_t)(t->nrequests - 1) * sizeof(*t->requests));
    t->nrequests--;
}

void sp_txn_dml_record(struct sp_txn *t, int64_t seqno, uint64_t hash, cJSON *reply,
                       const struct em_status *failure)
{
    if (t->nrequests >= SP_TXN_DML_KEPT)
        forget_oldest_request(t);
    struct sp_dml_request *grown =
        realloc(t->requests, (size_t)(t->nrequests + 1) * sizeof(*grown));
    char *message = reply ? NULL : strdup(failure->message);
    if (!grown || (!reply && !message)) { /* out of memory: a retry runs again */
        if (grown)
            t->requests = grown;
        cJSON_Delete(reply);
        free(message);
        return;
    }
    t->requests = grown;
    t->requests[t->nrequests++] =
        (struct sp_dml_request){seqno, hash, reply, reply ? EM_OK : failure->code, message};
}

const char *sp_txn_conflict(const struct sp_txn *t, sp_changed_fn changed, void *arg)
{
    for (int i = 0; i < t->nreads; i++)
        if (changed(arg, t->reads[i], NULL, t->start_seq))
            return t->reads[i];
    for (int i = 0; i < t->nspans; i++)
        if (!reads_whole(t, t->spans[i].table) &&
            changed(arg, t->spans[i].table, &t->spans[i].span, t->start_seq))
            return t->spans[i].table;
    return NULL;
}

/* Drops the transactions doomed() picks that no call is using. */
static void drop_where(struct sp_txns *txns, bool (*doomed)(const struct sp_txn *, const void *),
                       const void *arg)
{
    pthread_mutex_lock(&txns->lock);
    struct sp_txn **slot = &txns->list;
    while (*slot) {
        struct sp_txn *t = *slot;
        if (doomed(t, arg)) {
            *slot = t->next;
            t->finished = true;
            if (--t->refs == 0)
                txn_free(t);
        } else {
            slot = &t->next;
        }
    }
    pthread_mutex_unlock(&txns->lock);
}

static bool idle(const struct sp_txn *t, const void *arg)
{
    return t->refs == 1 && *(const int64_t *)arg - t->last_use_ns >= SP_TXN_IDLE_NS;
}

/* Aborts the idle read-write transactions no call is using. */
static void abort_idle(struct sp_txns *txns, int64_t now)
{
    pthread_mutex_lock(&txns->lock);
    for (struct sp_txn *t = txns->list; t; t = t->next)
        if (t->refs == 1)
            abort_if_idle(t, now);
    pthread_mutex_unlock(&txns->lock);
}

static bool of_session(const struct sp_txn *t, const void *arg)
{
    return t->refs == 1 && (!arg || strcmp(t->session, arg) == 0);
}

void sp_txns_expire(struct sp_txns *txns, int64_t now)
{
    abort_idle(txns, now);
    drop_where(txns, idle, &now);
}

uint64_t sp_txns_oldest_start(struct sp_txns *txns, const struct sp_db *db)
{
    uint64_t oldest = UINT64_MAX;
    pthread_mutex_lock(&txns->lock);
    for (const struct sp_txn *t = txns->list; t; t = t->next)
        if (t->db == db && t->mode == SP_TXN_READ_WRITE && t->start_seq < oldest)
            oldest = t->start_seq;
    pthread_mutex_unlock(&txns->lock);
    return oldest;
}

void sp_txns_forget(struct sp_txns *txns, const char *session)
{
    drop_where(txns, of_session, session);
}
