/*
 * em_cmek: the CMEK engine (see em_cmek.h for the envelope chain and the state machine).
 *
 * Memory: every protected resource of this process in an em_index, under an rwlock;
 * plaintext KEK and DEK only while the resource is ACCESSIBLE or GRACE, wiped on the way
 * to OFFLINE or INACCESSIBLE. Storage: table cmek_resources (this module's migrations),
 * one row per resource, written through on every change.
 *
 * Names: a resource is known by its name (index, row, hooks, KMS audit entries), but its
 * wrapped KEK and DEK are bound, as additional authenticated data, to the name it was
 * protected under (bound_name); em_cmek_rename changes only the former, so a renamed
 * resource needs no KMS call and may be renamed while KMS refuses its key.
 *
 * A check round (tick, keyChecks:run, start-up) takes the due resources under a read
 * lock, asks KMS to decrypt all their wrapped KEKs at once without any lock held, then
 * applies the answers, expires grace periods and saves the changed rows under the write
 * lock, re-wraps the KEKs whose primary version moved, and finally tells the service
 * about state changes. Rounds are serialised by check_lock.
 */
#include "em_cmek.h"

#include "em_clock.h"
#include "em_crypto.h"
#include "em_faults.h"
#include "em_iam.h"
#include "em_index.h"
#include "em_json.h"
#include "em_kms_client.h"
#include "em_log.h"
#include "em_names.h"
#include "em_service.h"
#include "em_store.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The engine's messages sent from more than one place (macros: the caller's line is kept). */
#define NOT_PROTECTED(st, name)                                                                    \
    EM_FAIL((st), EM_NOT_FOUND, "%s is not a protected resource.", (name))
#define ALREADY_PROTECTED(st, name)                                                                \
    EM_FAIL((st), EM_ALREADY_EXISTS, "%s is already protected.", (name))

#define CHECK_PARALLEL    32
#define RETRY_FIRST_NS    (EM_NS_PER_SEC / 20) /* prompt retries: 50 ms, doubling ... */
#define RETRY_MAX_NS      (2 * EM_NS_PER_SEC)  /* ... up to 2 s between attempts */
#define FIRST_USE_WAIT_NS (5 * EM_NS_PER_SEC)  /* data calls wait this long for KMS to come up */
#define KEY_BYTES         EM_DEK_BYTES
#define WRAPPED_DEK_SIZE  (KEY_BYTES + EM_SEAL_OVERHEAD)

struct resource {
    char *name;      /* first member: em_index */
    char *sealed_as; /* the name its keys are bound to, when renamed since; else NULL */
    char *project;
    char *kms_key; /* NULL: Google default encryption */
    char key_version[EM_RESOURCE_MAX];
    bool pinned; /* the KEK stays wrapped by key_version: never re-wrapped, never re-keyed */
    unsigned char *wrapped_kek;
    size_t wrapped_kek_len;
    unsigned char wrapped_dek[WRAPPED_DEK_SIZE];
    unsigned char kek[KEY_BYTES], dek[KEY_BYTES];
    bool have_keys;
    enum em_cmek_state state;
    int64_t state_since, last_check, next_check;
    char reason[EM_STATUS_MESSAGE_MAX];
    /* prompt retries while KMS cannot be reached, in monotonic real time (em_cmek_retry) */
    bool retrying;
    int64_t retry_since, retry_at, retry_delay;
};

struct em_cmek {
    struct em_store *store;
    char service[32];
    char agent_domain[64];
    struct em_cmek_hooks hooks;
    int64_t interval_ns, grace_ns;
    unsigned char default_key[KEY_BYTES];
    pthread_rwlock_t lock;
    struct em_index resources;
    pthread_mutex_t check_lock;
    int64_t (*monotonic)(void); /* the real time of prompt retries (tests inject theirs) */
    pthread_mutex_t settle_lock;
    pthread_cond_t settled; /* a check round has applied its answers (rounds counts them) */
    uint64_t rounds;
};

static const char *const state_names[] = {"ACCESSIBLE", "GRACE", "OFFLINE", "INACCESSIBLE",
                                          "DELETED"};

const char *em_cmek_state_name(enum em_cmek_state state)
{
    return (unsigned)state < sizeof(state_names) / sizeof(state_names[0]) ? state_names[state]
                                                                          : "UNKNOWN";
}

static enum em_cmek_state state_parse(const char *name)
{
    for (size_t i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++)
        if (strcmp(state_names[i], name) == 0)
            return (enum em_cmek_state)i;
    return EM_CMEK_OFFLINE;
}

void em_cmek_agent(const struct em_cmek *cmek, const char *project, char *out, size_t len)
{
    em_iam_service_agent(project, cmek->agent_domain, out, len);
}

/* --- resources in memory --- */

static void drop_keys(struct resource *r)
{
    em_wipe(r->kek, sizeof(r->kek));
    em_wipe(r->dek, sizeof(r->dek));
    r->have_keys = false;
}

static void resource_free(struct resource *r)
{
    if (!r)
        return;
    drop_keys(r);
    free(r->wrapped_kek);
    free(r->kms_key);
    free(r->project);
    free(r->sealed_as);
    free(r->name);
    free(r);
}

/* The name the wrapped KEK and DEK are bound to (their additional authenticated data):
 * the name the resource was protected under, which a rename does not change. */
static const char *bound_name(const struct resource *r)
{
    return r->sealed_as ? r->sealed_as : r->name;
}

/* Opens the DEK with a KEK; on success both are kept. */
static bool take_keys(struct resource *r, const unsigned char *kek, size_t kek_len)
{
    unsigned char dek[KEY_BYTES];
    const char *aad = bound_name(r);
    if (kek_len != KEY_BYTES ||
        !em_open(kek, aad, strlen(aad), r->wrapped_dek, WRAPPED_DEK_SIZE, dek))
        return false;
    memcpy(r->kek, kek, KEY_BYTES);
    memcpy(r->dek, dek, KEY_BYTES);
    em_wipe(dek, sizeof(dek));
    r->have_keys = true;
    return true;
}

static void set_state(struct resource *r, enum em_cmek_state state, int64_t at)
{
    if (r->state != state)
        r->state_since = at;
    r->state = state;
    if (state == EM_CMEK_OFFLINE || state == EM_CMEK_INACCESSIBLE)
        drop_keys(r);
}

/* --- storage --- */

static const char *const cmek_migrations[] = {
    "CREATE TABLE cmek_resources ("
    " resource TEXT PRIMARY KEY,"
    " service TEXT NOT NULL,"
    " project TEXT NOT NULL,"
    " kms_key TEXT,"
    " key_version TEXT NOT NULL DEFAULT '',"
    " wrapped_kek BLOB NOT NULL,"
    " wrapped_dek BLOB NOT NULL,"
    " state TEXT NOT NULL,"
    " state_since_ns INTEGER NOT NULL,"
    " last_check_ns INTEGER NOT NULL,"
    " next_check_ns INTEGER NOT NULL,"
    " reason TEXT NOT NULL DEFAULT '')",
    /* renamed resources (em_cmek_rename) keep the name their keys are bound to */
    "ALTER TABLE cmek_resources ADD COLUMN sealed_as TEXT",
    /* resources pinned to one key version (em_cmek_protect_pinned) */
    "ALTER TABLE cmek_resources ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0",
};

#define MIGRATION_COUNT ((int)(sizeof(cmek_migrations) / sizeof(cmek_migrations[0])))

static enum em_code save_row(struct em_cmek *c, const struct resource *r, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(
        c->store,
        "INSERT OR REPLACE INTO cmek_resources(resource, service, project, kms_key, key_version,"
        " wrapped_kek, wrapped_dek, state, state_since_ns, last_check_ns, next_check_ns, reason,"
        " sealed_as, pinned) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, r->name);
    em_bind_text(stmt, 2, c->service);
    em_bind_text(stmt, 3, r->project);
    em_bind_text(stmt, 4, r->kms_key);
    em_bind_text(stmt, 5, r->key_version);
    sqlite3_bind_blob(stmt, 6, r->wrapped_kek, (int)r->wrapped_kek_len, SQLITE_TRANSIENT);
    sqlite3_bind_blob(stmt, 7, r->wrapped_dek, WRAPPED_DEK_SIZE, SQLITE_TRANSIENT);
    em_bind_text(stmt, 8, em_cmek_state_name(r->state));
    sqlite3_bind_int64(stmt, 9, r->state_since);
    sqlite3_bind_int64(stmt, 10, r->last_check);
    sqlite3_bind_int64(stmt, 11, r->next_check);
    em_bind_text(stmt, 12, r->reason);
    em_bind_text(stmt, 13, r->sealed_as);
    sqlite3_bind_int(stmt, 14, r->pinned);
    return em_stmt_run(stmt, st);
}

static enum em_code delete_row(struct em_cmek *c, const char *name, struct em_status *st)
{
    sqlite3_stmt *stmt =
        em_store_stmt(c->store, "DELETE FROM cmek_resources WHERE resource = ?", st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, name);
    return em_stmt_run(stmt, st);
}

static const char select_columns[] =
    "SELECT resource, service, project, kms_key, key_version, wrapped_kek, wrapped_dek, state,"
    " state_since_ns, last_check_ns, next_check_ns, reason FROM cmek_resources";

static struct resource *read_row(sqlite3_stmt *stmt)
{
    struct resource *r = calloc(1, sizeof(*r));
    const void *kek = sqlite3_column_blob(stmt, 5);
    int kek_len = sqlite3_column_bytes(stmt, 5);
    if (!r || sqlite3_column_bytes(stmt, 6) != WRAPPED_DEK_SIZE || kek_len <= 0) {
        free(r);
        return NULL;
    }
    r->name = strdup(em_column_text(stmt, 0));
    if (sqlite3_column_type(stmt, 12) != SQLITE_NULL)
        r->sealed_as = strdup(em_column_text(stmt, 12));
    r->project = strdup(em_column_text(stmt, 2));
    if (sqlite3_column_type(stmt, 3) != SQLITE_NULL)
        r->kms_key = strdup(em_column_text(stmt, 3));
    snprintf(r->key_version, sizeof(r->key_version), "%s", em_column_text(stmt, 4));
    r->wrapped_kek = malloc((size_t)kek_len);
    if (r->wrapped_kek)
        memcpy(r->wrapped_kek, kek, (size_t)kek_len);
    r->wrapped_kek_len = (size_t)kek_len;
    memcpy(r->wrapped_dek, sqlite3_column_blob(stmt, 6), WRAPPED_DEK_SIZE);
    r->state = state_parse(em_column_text(stmt, 7));
    r->state_since = sqlite3_column_int64(stmt, 8);
    r->last_check = sqlite3_column_int64(stmt, 9);
    r->next_check = sqlite3_column_int64(stmt, 10);
    snprintf(r->reason, sizeof(r->reason), "%s", em_column_text(stmt, 11));
    r->pinned = sqlite3_column_int(stmt, 13) != 0;
    if (!r->name || !r->project || !r->wrapped_kek ||
        (sqlite3_column_type(stmt, 12) != SQLITE_NULL && !r->sealed_as)) {
        resource_free(r);
        return NULL;
    }
    return r;
}

/* One stored row of this service; a default-encryption KEK is opened at once. */
static enum em_code adopt_row(sqlite3_stmt *row, void *arg, struct em_status *st)
{
    struct em_cmek *c = arg;
    struct resource *r = read_row(row);
    if (!r)
        return EM_FAIL(st, EM_DATA_LOSS, "unreadable row in cmek_resources");
    unsigned char kek[KEY_BYTES];
    const char *aad = bound_name(r);
    if (!r->kms_key &&
        (!em_open(c->default_key, aad, strlen(aad), r->wrapped_kek, r->wrapped_kek_len, kek) ||
         !take_keys(r, kek, KEY_BYTES)))
        em_error("cmek: %s does not open with the default key", r->name);
    em_wipe(kek, sizeof(kek));
    if (!em_index_insert(&c->resources, r)) {
        resource_free(r);
        return EM_FAIL_OOM(st);
    }
    return EM_OK;
}

/* Loads this service's rows. */
static enum em_code load_rows(struct em_cmek *c, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(
        c->store,
        "SELECT resource, service, project, kms_key, key_version, wrapped_kek, wrapped_dek,"
        " state, state_since_ns, last_check_ns, next_check_ns, reason, sealed_as, pinned"
        " FROM cmek_resources WHERE service = ?",
        st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, c->service);
    return em_stmt_each_row(stmt, adopt_row, c, st);
}

/* --- check rounds --- */

struct check {
    char *name, *aad, *kms_key, principal[300];
    unsigned char *wrapped_kek;
    size_t wrapped_kek_len;
    int64_t nominal; /* the scheduled time of this check */
    struct em_kms_decrypt_job job;
};

struct transition {
    char *name;
    enum em_cmek_state from, to;
};

struct round {
    struct check *checks;
    size_t count;
    struct transition *changes;
    size_t change_count;
    char **rewrap; /* names whose KEK must be re-wrapped with the primary version */
    size_t rewrap_count;
    const char *only; /* ROUND_ONE: the resource checked */
};

/* What a check round checks: the resources due by the emulator clock (tick), every one
 * (keyChecks:run, start-up), those waiting for KMS to come up whose retry is due by
 * real time, or one resource now (em_cmek_check: round->only). */
enum round_kind { ROUND_DUE, ROUND_ALL, ROUND_STARTUP, ROUND_RETRY, ROUND_ONE };

static bool is_due(const struct resource *r, int64_t now, enum round_kind kind, int64_t real_now,
                   const char *only)
{
    if (!r->kms_key)
        return false;
    if (kind == ROUND_RETRY)
        return r->retrying && r->retry_at <= real_now;
    if (kind == ROUND_ONE)
        return strcmp(r->name, only) == 0;
    return kind != ROUND_DUE || r->next_check <= now;
}

/* Copies what the due checks need, so KMS is called without any lock held. */
static bool collect_checks(struct em_cmek *c, int64_t now, enum round_kind kind,
                           struct round *round)
{
    int64_t real_now = c->monotonic();
    size_t n = 0;
    for (size_t i = 0; i < c->resources.count; i++)
        n += is_due(c->resources.items[i], now, kind, real_now, round->only);
    round->checks = calloc(n ? n : 1, sizeof(*round->checks));
    if (!round->checks)
        return false;
    for (size_t i = 0; i < c->resources.count; i++) {
        const struct resource *r = c->resources.items[i];
        if (!is_due(r, now, kind, real_now, round->only))
            continue;
        struct check *k = &round->checks[round->count++];
        k->name = strdup(r->name);
        k->aad = strdup(bound_name(r));
        k->kms_key = strdup(r->kms_key);
        k->wrapped_kek = malloc(r->wrapped_kek_len);
        if (k->wrapped_kek)
            memcpy(k->wrapped_kek, r->wrapped_kek, r->wrapped_kek_len);
        k->wrapped_kek_len = r->wrapped_kek_len;
        k->nominal = kind != ROUND_DUE || r->next_check <= 0 ? now : r->next_check;
        em_cmek_agent(c, r->project, k->principal, sizeof(k->principal));
        k->job = (struct em_kms_decrypt_job){k->kms_key,
                                             k->principal,
                                             k->name,
                                             k->wrapped_kek,
                                             k->aad,
                                             r->wrapped_kek_len,
                                             k->aad ? strlen(k->aad) : 0,
                                             EM_KMS_SYSTEM_OPERATION};
    }
    return true;
}

static void note_change(struct round *round, const char *name, enum em_cmek_state from,
                        enum em_cmek_state to)
{
    if (from == to)
        return;
    struct transition *grown = realloc(round->changes, (round->change_count + 1) * sizeof(*grown));
    if (!grown)
        return;
    round->changes = grown;
    round->changes[round->change_count++] = (struct transition){strdup(name), from, to};
}

static void note_rewrap(struct round *round, const char *name)
{
    char **grown = realloc(round->rewrap, (round->rewrap_count + 1) * sizeof(*grown));
    if (!grown)
        return;
    round->rewrap = grown;
    round->rewrap[round->rewrap_count++] = strdup(name);
}

/* The next scheduled check strictly after now. */
static int64_t next_check_after(const struct em_cmek *c, int64_t scheduled, int64_t now)
{
    if (scheduled > now)
        return scheduled;
    int64_t steps = (now - scheduled) / c->interval_ns + 1;
    return scheduled + steps * c->interval_ns;
}

static void apply_ok(struct resource *r, const struct em_kms_reply *reply, int64_t at,
                     struct round *round)
{
    if (!r->have_keys && !take_keys(r, reply->data, reply->data_len)) {
        snprintf(r->reason, sizeof(r->reason),
                 "the stored data key does not open with the key encryption key");
        set_state(r, EM_CMEK_INACCESSIBLE, at);
        return;
    }
    r->reason[0] = '\0';
    set_state(r, EM_CMEK_ACCESSIBLE, at);
    if (!reply->used_primary && !r->pinned) /* a pinned KEK stays with its version */
        note_rewrap(round, r->name);
}

static void apply_unreachable(struct resource *r, const struct em_kms_reply *reply, int64_t at,
                              bool startup)
{
    snprintf(r->reason, sizeof(r->reason), "%s", reply->message);
    if (r->state == EM_CMEK_ACCESSIBLE)
        set_state(r, r->have_keys && !startup ? EM_CMEK_GRACE : EM_CMEK_OFFLINE, at);
    else if (r->state == EM_CMEK_GRACE && !r->have_keys)
        set_state(r, EM_CMEK_OFFLINE, at);
    /* OFFLINE stays OFFLINE; INACCESSIBLE stays INACCESSIBLE until KMS answers */
}

/* After a check: KMS could not be reached because a process is down or starting (not the
 * injected kmsUnreachable fault, an outage in emulator time that only scheduled checks
 * see end), so a resource without service (OFFLINE) or living on its cached KEK (GRACE)
 * asks again soon: 50 ms, then doubling up to 2 s, in real time, until KMS answers. */
static void schedule_retry(struct resource *r, bool process_unreachable, int64_t real_now)
{
    if (!process_unreachable || (r->state != EM_CMEK_OFFLINE && r->state != EM_CMEK_GRACE)) {
        r->retrying = false;
        return;
    }
    if (!r->retrying) {
        r->retrying = true;
        r->retry_since = real_now;
        r->retry_delay = RETRY_FIRST_NS;
    } else {
        r->retry_delay = r->retry_delay * 2 > RETRY_MAX_NS ? RETRY_MAX_NS : r->retry_delay * 2;
    }
    r->retry_at = real_now + r->retry_delay;
}

static void apply_result(struct em_cmek *c, struct resource *r, const struct check *k, int64_t now,
                         bool all, bool startup, bool injected, int64_t real_now,
                         struct round *round)
{
    enum em_cmek_state before = r->state;
    const struct em_kms_reply *reply = &k->job.reply;
    if (reply->result == EM_KMS_OK) {
        apply_ok(r, reply, k->nominal, round);
    } else if (reply->result == EM_KMS_DENIED) {
        snprintf(r->reason, sizeof(r->reason), "%s", reply->message);
        set_state(r, EM_CMEK_INACCESSIBLE, k->nominal);
    } else {
        apply_unreachable(r, reply, k->nominal, startup);
    }
    r->last_check = k->nominal;
    r->next_check = all ? now + c->interval_ns : next_check_after(c, r->next_check, now);
    schedule_retry(r, reply->result == EM_KMS_UNREACHABLE && !injected, real_now);
    note_change(round, r->name, before, r->state);
}

/* GRACE ends grace_ns after it began. */
static void expire_graces(struct em_cmek *c, int64_t now, struct round *round)
{
    for (size_t i = 0; i < c->resources.count; i++) {
        struct resource *r = c->resources.items[i];
        if (r->state == EM_CMEK_GRACE && now >= r->state_since + c->grace_ns) {
            set_state(r, EM_CMEK_OFFLINE, r->state_since + c->grace_ns);
            note_change(round, r->name, EM_CMEK_GRACE, EM_CMEK_OFFLINE);
        }
    }
}

/* Saves every resource the round touched, in one transaction. */
static enum em_code save_round(struct em_cmek *c, const struct round *round, struct em_status *st)
{
    if (round->count == 0 && round->change_count == 0)
        return EM_OK;
    if (em_store_begin(c->store, st))
        return st->code;
    enum em_code code = EM_OK;
    for (size_t i = 0; i < round->count && !code; i++) {
        const struct resource *r = em_index_find(&c->resources, round->checks[i].name);
        if (r)
            code = save_row(c, r, st);
    }
    for (size_t i = 0; i < round->change_count && !code; i++) {
        const struct resource *r = em_index_find(&c->resources, round->changes[i].name);
        if (r)
            code = save_row(c, r, st);
    }
    if (code) {
        em_store_rollback(c->store);
        return code;
    }
    return em_store_commit(c->store, st);
}

/* Wraps the KEK again with the key's primary version (after a rotation). */
static void rewrap(struct em_cmek *c, const char *name)
{
    unsigned char kek[KEY_BYTES];
    char key[EM_RESOURCE_MAX], principal[300], aad[EM_RESOURCE_MAX];
    pthread_rwlock_rdlock(&c->lock);
    struct resource *r = em_index_find(&c->resources, name);
    bool ready = r && r->have_keys && r->kms_key;
    if (ready) {
        memcpy(kek, r->kek, KEY_BYTES);
        snprintf(key, sizeof(key), "%s", r->kms_key);
        snprintf(aad, sizeof(aad), "%s", bound_name(r));
        em_cmek_agent(c, r->project, principal, sizeof(principal));
    }
    pthread_rwlock_unlock(&c->lock);
    if (!ready)
        return;
    struct em_kms_reply reply;
    enum em_kms_result result = em_kms_encrypt(key, principal, name, EM_KMS_SYSTEM_OPERATION, kek,
                                               KEY_BYTES, aad, strlen(aad), &reply);
    em_wipe(kek, sizeof(kek));
    struct em_status st = {0};
    pthread_rwlock_wrlock(&c->lock);
    r = em_index_find(&c->resources, name);
    if (result == EM_KMS_OK && r) {
        free(r->wrapped_kek);
        r->wrapped_kek = reply.data;
        r->wrapped_kek_len = reply.data_len;
        reply.data = NULL;
        snprintf(r->key_version, sizeof(r->key_version), "%s", reply.key_version);
        if (save_row(c, r, &st) == EM_OK)
            em_info("cmek: %s re-wrapped its key with %s", name, r->key_version);
    }
    pthread_rwlock_unlock(&c->lock);
    if (result != EM_KMS_OK)
        em_warn("cmek: re-wrapping %s failed: %s", name, reply.message);
    em_kms_reply_clear(&reply);
}

static void round_release(struct round *round)
{
    for (size_t i = 0; i < round->count; i++) {
        struct check *k = &round->checks[i];
        em_kms_reply_clear(&k->job.reply);
        free(k->name);
        free(k->aad);
        free(k->kms_key);
        free(k->wrapped_kek);
    }
    for (size_t i = 0; i < round->change_count; i++)
        free(round->changes[i].name);
    for (size_t i = 0; i < round->rewrap_count; i++)
        free(round->rewrap[i]);
    free(round->checks);
    free(round->changes);
    free(round->rewrap);
}

static void apply_round(struct em_cmek *c, struct round *round, int64_t now, bool all, bool startup,
                        bool injected)
{
    int64_t real_now = c->monotonic();
    for (size_t i = 0; i < round->count; i++) {
        struct check *k = &round->checks[i];
        struct resource *r = em_index_find(&c->resources, k->name);
        /* skip resources forgotten or re-wrapped while KMS was being asked */
        if (r && r->wrapped_kek_len == k->wrapped_kek_len &&
            memcmp(r->wrapped_kek, k->wrapped_kek, k->wrapped_kek_len) == 0)
            apply_result(c, r, k, now, all, startup, injected, real_now, round);
    }
    expire_graces(c, now, round);
}

/* Tells data calls waiting for KMS to come up (em_cmek_use) that a round has ended. */
static void round_settled(struct em_cmek *c)
{
    pthread_mutex_lock(&c->settle_lock);
    c->rounds++;
    pthread_cond_broadcast(&c->settled);
    pthread_mutex_unlock(&c->settle_lock);
}

static enum em_code check_round(struct em_cmek *c, int64_t now, enum round_kind kind,
                                const char *only, struct em_status *st)
{
    bool all = kind == ROUND_ALL || kind == ROUND_STARTUP, startup = kind == ROUND_STARTUP;
    struct round round = {.only = only};
    pthread_mutex_lock(&c->check_lock);
    pthread_rwlock_rdlock(&c->lock);
    bool collected = collect_checks(c, now, kind, &round);
    pthread_rwlock_unlock(&c->lock);
    enum em_code code = collected ? EM_OK : EM_FAIL_OOM(st);
    if (!code) {
        struct em_kms_decrypt_job *jobs = calloc(round.count ? round.count : 1, sizeof(*jobs));
        for (size_t i = 0; jobs && i < round.count; i++)
            jobs[i] = round.checks[i].job;
        bool injected = em_faults_kms_unreachable();
        em_kms_decrypt_many(jobs, round.count, CHECK_PARALLEL);
        for (size_t i = 0; jobs && i < round.count; i++)
            round.checks[i].job.reply = jobs[i].reply;
        free(jobs);
        pthread_rwlock_wrlock(&c->lock);
        apply_round(c, &round, now, all, startup, injected);
        code = save_round(c, &round, st);
        pthread_rwlock_unlock(&c->lock);
    }
    for (size_t i = 0; i < round.rewrap_count; i++)
        rewrap(c, round.rewrap[i]);
    for (size_t i = 0; i < round.change_count && c->hooks.state_changed; i++)
        c->hooks.state_changed(c->hooks.arg, round.changes[i].name, round.changes[i].from,
                               round.changes[i].to);
    for (size_t i = 0; i < round.change_count; i++)
        em_info("cmek: %s is %s (was %s)", round.changes[i].name,
                em_cmek_state_name(round.changes[i].to), em_cmek_state_name(round.changes[i].from));
    bool checked = round.count > 0;
    round_release(&round);
    pthread_mutex_unlock(&c->check_lock);
    round_settled(c);
    if (checked && !startup && c->hooks.round_done)
        c->hooks.round_done(c->hooks.arg, now);
    return code;
}

enum em_code em_cmek_tick(struct em_cmek *cmek, int64_t now, struct em_status *st)
{
    return check_round(cmek, now, ROUND_DUE, NULL, st);
}

enum em_code em_cmek_check_all(struct em_cmek *cmek, int64_t now, struct em_status *st)
{
    return check_round(cmek, now, ROUND_ALL, NULL, st);
}

enum em_code em_cmek_check(struct em_cmek *cmek, const char *resource, struct em_status *st)
{
    struct em_cmek_info info;
    if (!em_cmek_info(cmek, resource, &info))
        return NOT_PROTECTED(st, resource);
    return check_round(cmek, em_clock_now(), ROUND_ONE, resource, st);
}

int64_t em_cmek_retry_due(struct em_cmek *cmek)
{
    int64_t due = INT64_MAX;
    pthread_rwlock_rdlock(&cmek->lock);
    for (size_t i = 0; i < cmek->resources.count; i++) {
        const struct resource *r = cmek->resources.items[i];
        if (r->retrying && r->kms_key && r->retry_at < due)
            due = r->retry_at;
    }
    pthread_rwlock_unlock(&cmek->lock);
    return due;
}

enum em_code em_cmek_retry(struct em_cmek *cmek, struct em_status *st)
{
    if (em_cmek_retry_due(cmek) > cmek->monotonic())
        return EM_OK;
    return check_round(cmek, em_clock_now(), ROUND_RETRY, NULL, st);
}

void em_cmek_set_monotonic(struct em_cmek *cmek, int64_t (*monotonic)(void))
{
    pthread_rwlock_wrlock(&cmek->lock);
    cmek->monotonic = monotonic ? monotonic : em_clock_monotonic;
    pthread_rwlock_unlock(&cmek->lock);
}

/* --- open / close --- */

enum em_code em_cmek_open(struct em_service *svc, const char *agent_domain,
                          const struct em_cmek_hooks *hooks, struct em_cmek **out,
                          struct em_status *st)
{
    if (em_store_migrate(svc->store, "cmek", cmek_migrations, MIGRATION_COUNT, st))
        return st->code;
    struct em_cmek *c = calloc(1, sizeof(*c));
    if (!c)
        return EM_FAIL_OOM(st);
    c->store = svc->store;
    snprintf(c->service, sizeof(c->service), "%s", svc->def->desc->name);
    snprintf(c->agent_domain, sizeof(c->agent_domain), "%s", agent_domain);
    if (hooks)
        c->hooks = *hooks;
    c->interval_ns = svc->config.key_check_interval_s * EM_NS_PER_SEC;
    c->grace_ns = svc->config.kms_grace_s * EM_NS_PER_SEC;
    pthread_rwlock_init(&c->lock, NULL);
    pthread_mutex_init(&c->check_lock, NULL);
    c->monotonic = em_clock_monotonic;
    pthread_mutex_init(&c->settle_lock, NULL);
    em_clock_cond_init(&c->settled);
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/default-encryption.key", svc->config.data_dir);
    if (em_key_file(path, c->default_key, st) || load_rows(c, st) ||
        check_round(c, em_clock_now(), ROUND_STARTUP, NULL, st)) {
        em_cmek_close(c);
        return st->code;
    }
    em_info("cmek: %zu protected resources of %s loaded", c->resources.count, c->service);
    svc->cmek = c;
    *out = c;
    return EM_OK;
}

void em_cmek_close(struct em_cmek *cmek)
{
    if (!cmek)
        return;
    for (size_t i = 0; i < cmek->resources.count; i++)
        resource_free(cmek->resources.items[i]);
    em_index_release(&cmek->resources);
    em_wipe(cmek->default_key, sizeof(cmek->default_key));
    pthread_rwlock_destroy(&cmek->lock);
    pthread_mutex_destroy(&cmek->check_lock);
    pthread_mutex_destroy(&cmek->settle_lock);
    pthread_cond_destroy(&cmek->settled);
    free(cmek);
}

/* --- protect / forget / use --- */

/* KMS's refusal, reworded for the resource being protected. */
static enum em_code refused(const struct em_cmek *c, const char *resource, const char *project,
                            const char *key, const struct em_kms_reply *reply, struct em_status *st)
{
    char agent[300];
    em_cmek_agent(c, project, agent, sizeof(agent));
    if (reply->result == EM_KMS_UNREACHABLE)
        return EM_FAIL(st, EM_UNAVAILABLE, "Cloud KMS key %s cannot be reached to protect %s: %s",
                       key, resource, reply->message);
    if (reply->code == EM_PERMISSION_DENIED)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "The service agent %s cannot use Cloud KMS key %s: grant it "
                       "roles/cloudkms.cryptoKeyEncrypterDecrypter on the key (%s)",
                       agent + strlen("serviceAccount:"), key, reply->message);
    if (reply->code == EM_NOT_FOUND)
        return EM_FAIL(st, EM_NOT_FOUND, "Cloud KMS key %s not found.", key);
    return EM_FAIL(st, reply->code, "Cloud KMS key %s cannot protect %s: %s", key, resource,
                   reply->message);
}

/* Wraps a new KEK with the customer's key (KMS) or the default key. */
static enum em_code wrap_kek(struct em_cmek *c, struct resource *r, struct em_status *st)
{
    const char *aad = bound_name(r);
    if (!r->kms_key) {
        r->wrapped_kek_len = KEY_BYTES + EM_SEAL_OVERHEAD;
        r->wrapped_kek = malloc(r->wrapped_kek_len);
        if (!r->wrapped_kek)
            return EM_FAIL_OOM(st);
        return em_seal(c->default_key, aad, strlen(aad), r->kek, KEY_BYTES, r->wrapped_kek, st);
    }
    char agent[300];
    em_cmek_agent(c, r->project, agent, sizeof(agent));
    struct em_kms_reply reply;
    if (em_kms_encrypt(r->kms_key, agent, r->name, NULL, r->kek, KEY_BYTES, aad, strlen(aad),
                       &reply) != EM_KMS_OK) {
        refused(c, r->name, r->project, r->kms_key, &reply, st);
        em_kms_reply_clear(&reply);
        return st->code;
    }
    r->wrapped_kek = reply.data;
    r->wrapped_kek_len = reply.data_len;
    reply.data = NULL;
    snprintf(r->key_version, sizeof(r->key_version), "%s", reply.key_version);
    em_kms_reply_clear(&reply);
    return EM_OK;
}

static struct resource *new_resource(const char *name, const char *project, const char *kms_key,
                                     struct em_status *st)
{
    struct resource *r = calloc(1, sizeof(*r));
    if (!r || !(r->name = strdup(name)) || !(r->project = strdup(project)) ||
        (kms_key && !(r->kms_key = strdup(kms_key)))) {
        resource_free(r);
        EM_FAIL_OOM(st);
        return NULL;
    }
    if (em_random_bytes(r->kek, KEY_BYTES, st) || em_random_bytes(r->dek, KEY_BYTES, st) ||
        em_seal(r->kek, name, strlen(name), r->dek, KEY_BYTES, r->wrapped_dek, st)) {
        resource_free(r);
        return NULL;
    }
    r->have_keys = true;
    return r;
}

static enum em_code protect(struct em_cmek *cmek, const char *resource, const char *project,
                            const char *kms_key, bool pinned, struct em_status *st)
{
    if (kms_key && em_crypto_key_name_parse(kms_key, "kms_key_name", NULL, st))
        return st->code;
    struct resource *r = new_resource(resource, project, kms_key, st);
    if (!r || wrap_kek(cmek, r, st)) {
        resource_free(r);
        return st->code;
    }
    r->pinned = pinned && kms_key;
    int64_t now = em_clock_now();
    r->state = EM_CMEK_ACCESSIBLE;
    r->state_since = r->last_check = now;
    r->next_check = kms_key ? now + cmek->interval_ns : 0;
    pthread_rwlock_wrlock(&cmek->lock);
    enum em_code code = em_index_find(&cmek->resources, resource) ? ALREADY_PROTECTED(st, resource)
                                                                  : save_row(cmek, r, st);
    if (!code && !em_index_insert(&cmek->resources, r))
        code = EM_FAIL_OOM(st);
    pthread_rwlock_unlock(&cmek->lock);
    if (code)
        resource_free(r);
    return code;
}

enum em_code em_cmek_protect(struct em_cmek *cmek, const char *resource, const char *project,
                             const char *kms_key, struct em_status *st)
{
    return protect(cmek, resource, project, kms_key, false, st);
}

enum em_code em_cmek_protect_pinned(struct em_cmek *cmek, const char *resource, const char *project,
                                    const char *kms_key, struct em_status *st)
{
    return protect(cmek, resource, project, kms_key, true, st);
}

/* A copy of what re-keying needs, taken under the lock; false when not usable now. */
static bool rekey_source(struct em_cmek *c, const char *resource, const char *kms_key,
                         struct resource *tmp, struct em_status *st)
{
    pthread_rwlock_rdlock(&c->lock);
    const struct resource *r = em_index_find(&c->resources, resource);
    bool usable = r && !r->pinned && r->have_keys &&
                  (r->state == EM_CMEK_ACCESSIBLE || r->state == EM_CMEK_GRACE);
    if (r && r->pinned) {
        EM_FAIL(st, EM_FAILED_PRECONDITION,
                "%s is pinned to the key version %s: its key cannot be changed.", resource,
                r->key_version);
    } else if (usable) {
        tmp->name = strdup(r->name);
        tmp->sealed_as = strdup(bound_name(r));
        tmp->project = strdup(r->project);
        tmp->kms_key = kms_key ? strdup(kms_key) : NULL;
        memcpy(tmp->kek, r->kek, KEY_BYTES);
    } else if (r) {
        EM_FAIL(st, EM_FAILED_PRECONDITION,
                "The key protecting %s cannot be changed while it is %s.", resource,
                em_cmek_state_name(r->state));
    } else {
        NOT_PROTECTED(st, resource);
    }
    pthread_rwlock_unlock(&c->lock);
    return usable;
}

enum em_code em_cmek_rekey(struct em_cmek *cmek, const char *resource, const char *kms_key,
                           struct em_status *st)
{
    struct resource tmp = {0};
    if (kms_key && em_crypto_key_name_parse(kms_key, "kms_key_name", NULL, st))
        return st->code;
    if (!rekey_source(cmek, resource, kms_key, &tmp, st))
        return st->code;
    enum em_code code = tmp.name && tmp.sealed_as && tmp.project && (!kms_key || tmp.kms_key)
                            ? wrap_kek(cmek, &tmp, st)
                            : EM_FAIL_OOM(st);
    pthread_rwlock_wrlock(&cmek->lock);
    struct resource *r = code ? NULL : em_index_find(&cmek->resources, resource);
    if (!code && !r)
        code = NOT_PROTECTED(st, resource);
    if (!code) {
        int64_t now = em_clock_now();
        free(r->wrapped_kek);
        free(r->kms_key);
        r->wrapped_kek = tmp.wrapped_kek;
        r->wrapped_kek_len = tmp.wrapped_kek_len;
        r->kms_key = tmp.kms_key;
        tmp.wrapped_kek = NULL;
        tmp.kms_key = NULL;
        snprintf(r->key_version, sizeof(r->key_version), "%s", tmp.key_version);
        r->reason[0] = '\0';
        set_state(r, EM_CMEK_ACCESSIBLE, now);
        r->retrying = false;
        r->last_check = now;
        r->next_check = r->kms_key ? now + cmek->interval_ns : 0;
        code = save_row(cmek, r, st);
    }
    pthread_rwlock_unlock(&cmek->lock);
    drop_keys(&tmp);
    free(tmp.wrapped_kek);
    free(tmp.kms_key);
    free(tmp.project);
    free(tmp.sealed_as);
    free(tmp.name);
    return code;
}

/* The row's new name; the name its keys are bound to is kept. */
static enum em_code rename_row(struct em_cmek *c, const char *from, const char *to,
                               const char *sealed_as, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(
        c->store, "UPDATE cmek_resources SET resource = ?, sealed_as = ? WHERE resource = ?", st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, to);
    em_bind_text(stmt, 2, sealed_as);
    em_bind_text(stmt, 3, from);
    return em_stmt_run(stmt, st);
}

enum em_code em_cmek_rename(struct em_cmek *cmek, const char *from, const char *to,
                            struct em_status *st)
{
    pthread_rwlock_wrlock(&cmek->lock);
    struct resource *r = em_index_find(&cmek->resources, from);
    char *name = strdup(to);
    char *sealed_as = r ? strdup(bound_name(r)) : NULL;
    enum em_code code = EM_OK;
    if (!r)
        code = NOT_PROTECTED(st, from);
    else if (em_index_find(&cmek->resources, to))
        code = ALREADY_PROTECTED(st, to);
    else if (!name || !sealed_as)
        code = EM_FAIL_OOM(st);
    else
        code = rename_row(cmek, from, to, sealed_as, st);
    if (!code) {
        em_index_remove(&cmek->resources, from);
        free(r->name);
        free(r->sealed_as);
        r->name = name;
        r->sealed_as = sealed_as;
        name = sealed_as = NULL;
        if (!em_index_insert(&cmek->resources, r)) /* cannot fail: the array has room */
            resource_free(r);
    }
    pthread_rwlock_unlock(&cmek->lock);
    free(name);
    free(sealed_as);
    return code;
}

enum em_code em_cmek_forget(struct em_cmek *cmek, const char *resource, struct em_status *st)
{
    pthread_rwlock_wrlock(&cmek->lock);
    enum em_code code = delete_row(cmek, resource, st);
    if (!code)
        resource_free(em_index_remove(&cmek->resources, resource));
    pthread_rwlock_unlock(&cmek->lock);
    /* crypto-shredding: the wrapped keys leave the WAL too (a purge held up by readers
     * finishes on a later tick; the row is gone either way) */
    struct em_status purge = {0};
    if (!code && em_store_purge(cmek->store, &purge))
        em_warn("cmek: the wrapped keys of %s stay in the WAL until the next tick: %s", resource,
                purge.message);
    return code;
}

static void fill_info(const struct em_cmek *c, const struct resource *r, struct em_cmek_info *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->resource, sizeof(out->resource), "%s", r->name);
    snprintf(out->service, sizeof(out->service), "%s", c->service);
    snprintf(out->kms_key, sizeof(out->kms_key), "%s", r->kms_key ? r->kms_key : "");
    snprintf(out->key_version, sizeof(out->key_version), "%s", r->key_version);
    out->pinned = r->pinned;
    out->state = r->state;
    out->state_since_ns = r->state_since;
    out->last_check_ns = r->last_check;
    out->next_check_ns = r->next_check;
    snprintf(out->reason, sizeof(out->reason), "%s", r->reason);
}

static enum em_code inaccessible(const struct em_cmek *c, const struct em_cmek_info *info,
                                 struct em_status *st)
{
    if (c->hooks.inaccessible_error) {
        c->hooks.inaccessible_error(c->hooks.arg, info, st);
        st->code = EM_FAILED_PRECONDITION;
        return st->code;
    }
    return EM_FAIL(st, EM_FAILED_PRECONDITION,
                   "The Cloud KMS key %s protecting %s is not accessible: %s", info->kms_key,
                   info->resource, info->reason);
}

static uint64_t rounds_seen(struct em_cmek *c)
{
    pthread_mutex_lock(&c->settle_lock);
    uint64_t rounds = c->rounds;
    pthread_mutex_unlock(&c->settle_lock);
    return rounds;
}

/* Waits until a check round ends after `seen`, or until the engine's clock reaches
 * `until` (capped at one retry period of real time per call); false on timeout. */
static bool wait_for_round(struct em_cmek *c, uint64_t seen, int64_t until)
{
    int64_t left = until - c->monotonic();
    if (left <= 0)
        return false;
    if (left > RETRY_MAX_NS)
        left = RETRY_MAX_NS;
    int64_t deadline_ns = em_clock_monotonic() + left;
    struct timespec deadline = {(time_t)(deadline_ns / EM_NS_PER_SEC),
                                (long)(deadline_ns % EM_NS_PER_SEC)};
    pthread_mutex_lock(&c->settle_lock);
    int rc = 0;
    while (c->rounds == seen && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&c->settled, &c->settle_lock, &deadline);
    bool settled = c->rounds != seen;
    pthread_mutex_unlock(&c->settle_lock);
    return settled;
}

enum em_code em_cmek_use(struct em_cmek *cmek, const char *resource,
                         unsigned char dek[EM_DEK_BYTES], struct em_status *st)
{
    struct em_cmek_info info;
    const struct resource *r;
    bool usable, retrying;
    for (;;) {
        uint64_t seen = rounds_seen(cmek);
        int64_t wait_until = 0;
        pthread_rwlock_rdlock(&cmek->lock);
        r = em_index_find(&cmek->resources, resource);
        usable = r && r->have_keys && (r->state == EM_CMEK_ACCESSIBLE || r->state == EM_CMEK_GRACE);
        retrying = r && r->retrying;
        if (usable)
            memcpy(dek, r->dek, EM_DEK_BYTES);
        else if (r)
            fill_info(cmek, r, &info);
        /* KMS is coming up (a restart): the first calls wait for it, briefly */
        if (!usable && retrying && r->state == EM_CMEK_OFFLINE)
            wait_until = r->retry_since + FIRST_USE_WAIT_NS;
        pthread_rwlock_unlock(&cmek->lock);
        if (!wait_until || !wait_for_round(cmek, seen, wait_until))
            break;
    }
    if (usable)
        return EM_OK;
    if (!r)
        return NOT_PROTECTED(st, resource);
    if (info.state == EM_CMEK_INACCESSIBLE)
        return inaccessible(cmek, &info, st);
    if (retrying)
        return EM_FAIL(st, EM_UNAVAILABLE,
                       "Cloud KMS cannot be reached, so the key %s protecting %s cannot be "
                       "used yet; the data is kept and becomes available as soon as KMS "
                       "answers (%s).",
                       info.kms_key, info.resource, info.reason);
    return EM_FAIL(st, EM_UNAVAILABLE,
                   "Cloud KMS has been unreachable for longer than the grace period, so the key "
                   "%s protecting %s cannot be used; the data is kept and becomes available "
                   "again once KMS is reachable (%s).",
                   info.kms_key, info.resource, info.reason);
}

bool em_cmek_info(struct em_cmek *cmek, const char *resource, struct em_cmek_info *out)
{
    pthread_rwlock_rdlock(&cmek->lock);
    const struct resource *r = em_index_find(&cmek->resources, resource);
    if (r)
        fill_info(cmek, r, out);
    pthread_rwlock_unlock(&cmek->lock);
    return r != NULL;
}

/* --- every resource of every service (control plane) --- */

struct list_visit {
    em_cmek_visit_fn visit;
    void *arg;
};

static enum em_code list_row(sqlite3_stmt *stmt, void *arg, struct em_status *st)
{
    (void)st;
    const struct list_visit *lv = arg;
    struct em_cmek_info info = {0};
    snprintf(info.resource, sizeof(info.resource), "%s", em_column_text(stmt, 0));
    snprintf(info.service, sizeof(info.service), "%s", em_column_text(stmt, 1));
    snprintf(info.kms_key, sizeof(info.kms_key), "%s", em_column_text(stmt, 3));
    snprintf(info.key_version, sizeof(info.key_version), "%s", em_column_text(stmt, 4));
    info.state = state_parse(em_column_text(stmt, 7));
    info.state_since_ns = sqlite3_column_int64(stmt, 8);
    info.last_check_ns = sqlite3_column_int64(stmt, 9);
    info.next_check_ns = sqlite3_column_int64(stmt, 10);
    snprintf(info.reason, sizeof(info.reason), "%s", em_column_text(stmt, 11));
    lv->visit(&info, lv->arg);
    return EM_OK;
}

enum em_code em_cmek_list(struct em_store *store, em_cmek_visit_fn visit, void *arg,
                          struct em_status *st)
{
    if (em_store_migrate(store, "cmek", cmek_migrations, MIGRATION_COUNT, st))
        return st->code;
    sqlite3_stmt *stmt = em_store_stmt(store, select_columns, st);
    if (!stmt)
        return st->code;
    struct list_visit lv = {visit, arg};
    return em_stmt_each_row(stmt, list_row, &lv, st);
}
