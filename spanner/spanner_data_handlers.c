/*
 * spanner_data_handlers: the REST handlers of Spanner's data plane: sessions, queries,
 * reads, transactions and commits. Each reads the request, resolves the session (NOT_FOUND
 * once deleted or expired), passes the database's CMEK gate (FAILED_PRECONDITION while its
 * key is not usable, sessions.create included), and calls spanner_exec / spanner_txn.
 *
 * Transaction selectors (google.spanner.v1.TransactionSelector): none or singleUse
 * read-only (a strong read), id (a transaction begun before), begin (a new one, whose id
 * the reply carries in metadata.transaction). Read-only options: strong; maxStaleness and
 * minReadTimestamp are served as strong reads (they allow it); readTimestamp and
 * exactStaleness read the row versions of that time (spanner_schema.h), within the
 * database's version_retention_period (1 h unless ALTER DATABASE set it). A read-only
 * transaction reads at its readTimestamp throughout.
 * Reference:
 * https://cloud.google.com/spanner/docs/reference/rest/v1/projects.instances.databases.sessions
 */
#include "spanner_data_handlers.h"

#include "em_clock.h"
#include "em_hash.h"
#include "em_http.h"
#include "em_iam.h"
#include "em_json.h"
#include "em_list.h"
#include "em_service.h"
#include "spanner_change_records.h"
#include "spanner_data.h"
#include "spanner_schema.h"
#include "spanner_exec.h"
#include "spanner_handlers.h"
#include "spanner_session.h"
#include "spanner_sql_ast.h"
#include "spanner_txn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH_SESSIONS_MAX 100

static struct sp_ctx *ctx_of(struct em_call *call)
{
    return call->svc->ctx;
}

/* --- sessions --- */

/* The database of a sessions collection, known and usable (the CMEK gate). */
static struct sp_db *gated_database(struct em_call *call, const char *database)
{
    struct sp_db *db = sp_data_find(ctx_of(call)->data, database, &call->status);
    if (db && sp_db_gate(db, &call->status))
        return NULL;
    return db;
}

/* A session with a creatorRole (fine-grained access control): the role must exist, and
 * under --iam enforce the caller needs spanner.databaseRoles.use on it and
 * spanner.databases.useRoleBasedAccess on the database. */
static enum em_code check_creator_role(struct em_call *call, const char *database,
                                       const cJSON *session)
{
    const cJSON *role = cJSON_GetObjectItem(session, "creatorRole");
    if (!role || (cJSON_IsString(role) && !role->valuestring[0]))
        return EM_OK;
    if (!cJSON_IsString(role))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "creatorRole must be a string.");
    cJSON *names = NULL;
    if (sp_database_roles(ctx_of(call)->admin, database, &names, &call->status))
        return call->status.code;
    char resource[SP_NAME_MAX + SP_SESSION_ROLE_MAX + 16] = ""; /* the role, as DDL spells it */
    const cJSON *item;
    cJSON_ArrayForEach(item, names)
    {
        if (strcasecmp(item->valuestring, role->valuestring) == 0)
            snprintf(resource, sizeof(resource), "%s/databaseRoles/%s", database,
                     item->valuestring);
    }
    cJSON_Delete(names);
    if (!resource[0])
        return EM_CALL_FAIL(call, EM_NOT_FOUND, "Role not found: %.130s.", role->valuestring);
    struct em_service *svc = call->svc;
    if (em_iam_check(svc->store, &svc->config, call->principal, resource,
                     "spanner.databaseRoles.use", &call->status) ||
        em_iam_check(svc->store, &svc->config, call->principal, database,
                     "spanner.databases.useRoleBasedAccess", &call->status))
        return call->status.code;
    return EM_OK;
}

enum em_code sp_create_session(struct em_call *call)
{
    const char *database = em_call_var(call, "database");
    if (!gated_database(call, database))
        return call->status.code;
    cJSON *session = NULL;
    const cJSON *request = cJSON_GetObjectItem(call->body, "session");
    if (check_creator_role(call, database, request) ||
        sp_session_create(ctx_of(call)->sessions, database, request, em_clock_now(), &session,
                          &call->status))
        return call->status.code;
    snprintf(call->audit_resource, sizeof(call->audit_resource), "%s",
             em_json_string(session, "name"));
    return em_call_reply(call, session);
}

enum em_code sp_batch_create_sessions(struct em_call *call)
{
    const char *database = em_call_var(call, "database");
    int64_t count = 0;
    if (!em_json_int64(call->body, "sessionCount", &count) || count < 1)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "sessionCount must be positive.");
    if (count > BATCH_SESSIONS_MAX)
        count = BATCH_SESSIONS_MAX; /* Spanner may answer fewer than asked */
    const cJSON *template = cJSON_GetObjectItem(call->body, "sessionTemplate");
    if (!gated_database(call, database) || check_creator_role(call, database, template))
        return call->status.code;
    cJSON *list = cJSON_CreateArray();
    for (int64_t i = 0; i < count; i++) {
        cJSON *session;
        if (sp_session_create(ctx_of(call)->sessions, database, template, em_clock_now(), &session,
                              &call->status)) {
            cJSON_Delete(list);
            return call->status.code;
        }
        cJSON_AddItemToArray(list, session);
    }
    cJSON *reply = cJSON_CreateObject();
    cJSON_AddItemToObject(reply, "session", list);
    return em_call_reply(call, reply);
}

enum em_code sp_get_session(struct em_call *call)
{
    cJSON *session;
    if (sp_session_get(ctx_of(call)->sessions, em_call_var(call, "name"), em_clock_now(), &session,
                       &call->status))
        return call->status.code;
    return em_call_reply(call, session);
}

enum em_code sp_list_sessions(struct em_call *call)
{
    const char *database = em_call_var(call, "database");
    if (!sp_data_find(ctx_of(call)->data, database, &call->status))
        return call->status.code;
    cJSON *items;
    if (sp_session_list(ctx_of(call)->sessions, database, em_clock_now(), &items, &call->status))
        return call->status.code;
    struct em_list_options opt = {"sessions", 0, 1000, false};
    return em_list_reply(call, items, &opt);
}

enum em_code sp_delete_session(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    if (sp_session_delete(ctx_of(call)->sessions, name, &call->status))
        return call->status.code;
    sp_txns_forget(ctx_of(call)->txns, name);
    return em_call_reply(call, cJSON_CreateObject());
}

/* --- the session of a data call --- */

struct data_call {
    const char *session;
    char database[SP_NAME_MAX];
    char role[SP_SESSION_ROLE_MAX]; /* the session's creatorRole, or "" */
    struct sp_db *db;
    struct sp_txn *txn;           /* locked; released by finish() */
    bool began;                   /* txn was begun by this call (inline begin) */
    int64_t read_ns;              /* a single-use read-only transaction's timestamp */
    bool return_read_ns;          /* ... which the result's metadata gives (returnReadTimestamp) */
    bool exclude;                 /* excludeTxnFromChangeStreams of the transaction it begins */
    char tag[SP_TXN_TAG_MAX + 1]; /* requestOptions.transactionTag */
};

/* requestOptions.transactionTag as Spanner keeps it: printable ASCII, leading underscores
 * removed, at most 50 characters (a longer one is cut). */
static enum em_code transaction_tag(struct em_call *call, char tag[SP_TXN_TAG_MAX + 1])
{
    const char *text =
        em_json_string(cJSON_GetObjectItem(call->body, "requestOptions"), "transactionTag");
    tag[0] = '\0';
    if (!text)
        return EM_OK;
    for (const char *c = text; *c; c++)
        if ((unsigned char)*c < 32 || (unsigned char)*c > 126)
            return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                                "transactionTag: only printable ASCII characters are allowed.");
    text += strspn(text, "_");
    snprintf(tag, SP_TXN_TAG_MAX + 1, "%s", text);
    return EM_OK;
}

/* The call's session and database. The CMEK gate: here for the calls that run no job on
 * the database (beginTransaction, rollback, partitions); the others pass it when their
 * job opens the file (sp_db_run), so a hot path asks the engine once. */
static enum em_code open_data_call(struct em_call *call, struct data_call *dc, bool gate)
{
    *dc = (struct data_call){.session = em_call_var(call, "session")};
    if (sp_session_use(ctx_of(call)->sessions, dc->session, em_clock_now(), dc->database, dc->role,
                       &call->status))
        return call->status.code;
    dc->db = gate ? gated_database(call, dc->database)
                  : sp_data_find(ctx_of(call)->data, dc->database, &call->status);
    return dc->db ? EM_OK : call->status.code;
}

/* The database role the call's statements run as: its session's creatorRole, or NULL. */
static const char *call_role(const struct data_call *dc)
{
    return dc->role[0] ? dc->role : NULL;
}

static void close_data_call(struct em_call *call, struct data_call *dc)
{
    if (dc->txn && dc->began && call->status.code)
        sp_txn_finish(ctx_of(call)->txns, dc->txn); /* an inline begin that failed */
    sp_txn_release(ctx_of(call)->txns, dc->txn);
    dc->txn = NULL;
}

/* How far in the future (emulator clock) a read timestamp may be: Spanner waits until
 * then, and so does the emulator, this long at most. */
#define READ_WAIT_MAX_NS (10 * EM_NS_PER_SEC)

/* A read-only transaction's timestamp bound: at most one (a oneof), and maxStaleness and
 * minReadTimestamp only in a single-use transaction, as Spanner checks them. */
static enum em_code check_bound(struct em_call *call, const cJSON *ro, bool single_use)
{
    static const char *const bounds[] = {"strong", "minReadTimestamp", "maxStaleness",
                                         "readTimestamp", "exactStaleness"};
    int n = 0;
    for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++)
        n += cJSON_GetObjectItem(ro, bounds[i]) != NULL;
    if (n > 1)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "A read-only transaction has at most one timestamp bound.");
    const char *single_only = cJSON_GetObjectItem(ro, "maxStaleness")       ? "max_staleness"
                              : cJSON_GetObjectItem(ro, "minReadTimestamp") ? "min_read_timestamp"
                                                                            : NULL;
    if (single_only && !single_use)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "Timestamp bound: %s for read can be only be used for a single use "
                            "transaction.",
                            single_only);
    int64_t staleness;
    const cJSON *max = cJSON_GetObjectItem(ro, "maxStaleness");
    if (max &&
        (!cJSON_IsString(max) || !em_duration_parse(max->valuestring, &staleness) || staleness < 0))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "Staleness must be non-negative.");
    return EM_OK;
}

/* A read-only transaction's timestamp bound -> the timestamp it reads at. strong,
 * maxStaleness and minReadTimestamp read the latest commit (which those bounds allow);
 * readTimestamp and exactStaleness read the versions at that time, within the database's
 * version_retention_period; one in the future is waited for (wait_for_read_time). */
static enum em_code read_timestamp(struct em_call *call, struct sp_db *db, const cJSON *ro,
                                   bool single_use, int64_t *read_ns)
{
    int64_t now = em_clock_now(), at = now, staleness;
    const cJSON *ts = cJSON_GetObjectItem(ro, "readTimestamp");
    const cJSON *exact = cJSON_GetObjectItem(ro, "exactStaleness");
    if (check_bound(call, ro, single_use))
        return call->status.code;
    if (ts && (!cJSON_IsString(ts) || !em_time_parse(ts->valuestring, &at)))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "Invalid readTimestamp: expected an RFC 3339 timestamp.");
    if (exact) {
        if (!cJSON_IsString(exact) || !em_duration_parse(exact->valuestring, &staleness) ||
            staleness < 0)
            return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                                "Invalid exactStaleness: expected a non-negative duration such as "
                                "\"15s\".");
        at = now - staleness;
    }
    int64_t retention = sp_db_version_retention(db);
    if (at < now - retention) {
        char text[EM_TIME_TEXT_MAX], period[32];
        em_time_format(at, text);
        sp_retention_text(retention, period);
        return EM_CALL_FAIL(call, EM_FAILED_PRECONDITION,
                            "Read timestamp %s is too old: versions are kept for %s "
                            "(version_retention_period) and that is before.",
                            text, period);
    }
    if (at > now + READ_WAIT_MAX_NS)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "readTimestamp is more than 10 s ahead of the emulator's clock: "
                            "Spanner would wait until then, and the emulator waits 10 s at most.");
    *read_ns = at;
    return EM_OK;
}

/* Waits, once the caller may begin the transaction, until the emulator's clock reaches a
 * read timestamp ahead of it (at most READ_WAIT_MAX_NS, read_timestamp checked). */
static void wait_for_read_time(int64_t read_ns)
{
    for (int64_t left; (left = read_ns - em_clock_now()) > 0;) {
        struct timespec pause = {0, (long)(left < 50000000 ? left : 50000000)};
        nanosleep(&pause, NULL);
    }
}

/* TransactionOptions -> a mode; read-only bounds checked and *read_ns (when not NULL) set
 * to the timestamp a read-only transaction reads at (0 for the other modes);
 * *exclude: excludeTxnFromChangeStreams, which only writing transactions may ask (NULL: a
 * single-use transaction's options, which cannot ask it). */
static enum em_code parse_options(struct em_call *call, struct sp_db *db, const cJSON *options,
                                  enum sp_txn_mode *mode, int64_t *read_ns, bool *exclude)
{
    const cJSON *rw = cJSON_GetObjectItem(options, "readWrite");
    const cJSON *ro = cJSON_GetObjectItem(options, "readOnly");
    const cJSON *pdml = cJSON_GetObjectItem(options, "partitionedDml");
    if (!cJSON_IsObject(options) || (rw != NULL) + (ro != NULL) + (pdml != NULL) != 1)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "TransactionOptions needs exactly one of readWrite, readOnly and "
                            "partitionedDml.");
    *mode = rw ? SP_TXN_READ_WRITE : ro ? SP_TXN_READ_ONLY : SP_TXN_PARTITIONED_DML;
    bool excluded = cJSON_IsTrue(cJSON_GetObjectItem(options, "excludeTxnFromChangeStreams"));
    if (excluded && ro)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "excludeTxnFromChangeStreams is only for read-write and partitioned "
                            "DML transactions.");
    if (exclude)
        *exclude = excluded;
    if (read_ns)
        *read_ns = 0;
    return ro && read_ns ? read_timestamp(call, db, ro, exclude == NULL, read_ns) : EM_OK;
}

/* A transaction a call begins (beginTransaction, or inline in a read or a query) needs the
 * permission of its mode on the database, as in Spanner: a databaseReader begins
 * read-only transactions only (an inline Partitioned DML begin in a reader's executeSql
 * would otherwise delete rows). */
static enum em_code check_begin(struct em_call *call, const struct data_call *dc,
                                enum sp_txn_mode mode)
{
    static const char *const permissions[] = {
        [SP_TXN_READ_WRITE] = "spanner.databases.beginOrRollbackReadWriteTransaction",
        [SP_TXN_READ_ONLY] = "spanner.databases.beginReadOnlyTransaction",
        [SP_TXN_PARTITIONED_DML] = "spanner.databases.beginPartitionedDmlTransaction",
    };
    /* a session with a database role: its privileges decide, not IAM's data permissions */
    const char *permission =
        call_role(dc) ? "spanner.databases.useRoleBasedAccess" : permissions[mode];
    return em_iam_check(call->svc->store, &call->svc->config, call->principal, dc->database,
                        permission, &call->status);
}

static cJSON *transaction_json(const struct sp_txn *txn)
{
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "id", txn->id);
    if (txn->mode == SP_TXN_READ_ONLY)
        em_json_add_time(json, "readTimestamp", txn->read_ns);
    return json;
}

/* A new transaction of the call's session into dc->txn, once the caller may begin it:
 * a read-only one reads at read_ns (waited for when it is ahead of the clock). */
static enum em_code begin_transaction(struct em_call *call, struct data_call *dc,
                                      enum sp_txn_mode mode, int64_t read_ns)
{
    if (check_begin(call, dc, mode))
        return call->status.code;
    wait_for_read_time(read_ns);
    if (sp_txn_begin(ctx_of(call)->txns, dc->db, dc->session, mode, em_clock_now(), &dc->txn,
                     &call->status))
        return call->status.code;
    dc->txn->read_ns = read_ns;
    dc->txn->exclude_from_change_streams = dc->exclude;
    snprintf(dc->txn->tag, sizeof(dc->txn->tag), "%s", dc->tag);
    return EM_OK;
}

/* Resolves the request's TransactionSelector into dc->txn (NULL: single-use read). */
static enum em_code select_transaction(struct em_call *call, struct data_call *dc,
                                       const cJSON *selector)
{
    if (!selector)
        return EM_OK;
    const char *id = em_json_string(selector, "id");
    const cJSON *begin = cJSON_GetObjectItem(selector, "begin");
    const cJSON *single = cJSON_GetObjectItem(selector, "singleUse");
    enum sp_txn_mode mode;
    if ((id != NULL) + (begin != NULL) + (single != NULL) > 1)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "A TransactionSelector has at most one of singleUse, id and begin.");
    if (id)
        return sp_txn_find(ctx_of(call)->txns, id, dc->session, em_clock_now(), SP_TXN_USE,
                           &dc->txn, NULL, &call->status);
    if (single) {
        if (parse_options(call, dc->db, single, &mode, &dc->read_ns, NULL))
            return call->status.code;
        if (mode != SP_TXN_READ_ONLY)
            return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                                "Single-use transactions must be read-only here; DML needs a "
                                "read-write transaction begun first or inline.");
        dc->return_read_ns = cJSON_IsTrue(
            cJSON_GetObjectItem(cJSON_GetObjectItem(single, "readOnly"), "returnReadTimestamp"));
        wait_for_read_time(dc->read_ns);
        return EM_OK;
    }
    int64_t read_ns;
    if (!begin || parse_options(call, dc->db, begin, &mode, &read_ns, &dc->exclude) ||
        transaction_tag(call, dc->tag) || begin_transaction(call, dc, mode, read_ns))
        return call->status.code;
    dc->began = true;
    return EM_OK;
}

/* The timestamp a call's reads see: its read-only transaction's, or its single-use
 * transaction's (0: strong, the latest commit; so are read-write transactions' reads). */
static int64_t call_read_ns(const struct data_call *dc)
{
    if (dc->txn)
        return dc->txn->mode == SP_TXN_READ_ONLY ? dc->txn->read_ns : 0;
    return dc->read_ns;
}

/* --- ResultSet JSON --- */

static cJSON *metadata_json(struct data_call *dc, struct sp_result *r)
{
    cJSON *metadata = cJSON_CreateObject();
    cJSON *row_type = cJSON_AddObjectToObject(metadata, "rowType");
    if (cJSON_GetArraySize(r->fields) > 0) {
        cJSON_AddItemToObject(row_type, "fields", r->fields);
        r->fields = NULL;
    }
    if (r->undeclared) { /* as Google's emulator, in every query mode */
        cJSON_AddItemToObject(cJSON_AddObjectToObject(metadata, "undeclaredParameters"), "fields",
                              r->undeclared);
        r->undeclared = NULL;
    }
    if (dc->began && dc->txn)
        cJSON_AddItemToObject(metadata, "transaction", transaction_json(dc->txn));
    else if (!dc->txn && dc->return_read_ns)
        em_json_add_time(cJSON_AddObjectToObject(metadata, "transaction"), "readTimestamp",
                         dc->read_ns);
    return metadata;
}

/* ResultSetStats: the row count of DML that ran, the plan and statistics of queryMode. */
static bool has_stats(const struct sp_result *r)
{
    return (r->dml && !r->planned) || r->query_plan || r->query_stats;
}

static cJSON *stats_json(struct sp_result *r)
{
    cJSON *stats = cJSON_CreateObject();
    if (r->dml && !r->planned)
        em_json_add_int64(stats, r->lower_bound ? "rowCountLowerBound" : "rowCountExact",
                          r->row_count);
    if (r->query_plan)
        cJSON_AddItemToObject(stats, "queryPlan", r->query_plan);
    if (r->query_stats)
        cJSON_AddItemToObject(stats, "queryStats", r->query_stats);
    r->query_plan = r->query_stats = NULL;
    return stats;
}

static cJSON *result_set_json(struct data_call *dc, struct sp_result *r)
{
    cJSON *set = cJSON_CreateObject();
    cJSON_AddItemToObject(set, "metadata", metadata_json(dc, r));
    cJSON_AddItemToObject(set, "rows", r->rows);
    r->rows = NULL;
    if (has_stats(r))
        cJSON_AddItemToObject(set, "stats", stats_json(r));
    return set;
}

/* --- streaming: PartialResultSet --- */

/* The resume token of a stream after `rows` rows: base64 of the decimal count. */
static cJSON *resume_token(int64_t rows)
{
    char text[32];
    int n = snprintf(text, sizeof(text), "%lld", (long long)rows);
    cJSON *dummy = cJSON_CreateObject();
    em_json_add_bytes(dummy, "t", (const unsigned char *)text, (size_t)n);
    cJSON *token = cJSON_DetachItemFromObject(dummy, "t");
    cJSON_Delete(dummy);
    return token;
}

static enum em_code parse_resume(struct em_call *call, int64_t *skip)
{
    *skip = 0;
    const char *token = em_json_string(call->body, "resumeToken");
    if (!token || !token[0])
        return EM_OK;
    unsigned char *raw = NULL;
    size_t len = 0;
    char text[32] = "";
    if (em_b64_decode(token, strlen(token), &raw, &len) && len < sizeof(text))
        memcpy(text, raw, len);
    free(raw);
    char *end = NULL;
    long long n = strtoll(text, &end, 10);
    if (!text[0] || *end || n < 0)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "Invalid resumeToken.");
    *skip = n;
    return EM_OK;
}

/* A streaming call's PartialResultSets, sent as the statement produces its rows (struct
 * sp_row_sink) and when it ends: the metadata with the first, with each the resume token
 * after the rows so far, the statistics with the last; rows before a resumeToken's count
 * are not sent again. */
struct part_stream {
    struct em_call *call;
    struct data_call *dc;
    cJSON *metadata; /* built from the first rows, sent with the first part that goes out */
    bool started;    /* a part went out */
    int ncols;
    int64_t seen; /* rows so far */
    int64_t skip; /* the resumeToken's row count */
};

/* One PartialResultSet of rows (values: theirs flattened, taken); shape gives the metadata
 * (its fields taken) if none is built yet; stats, the last part's result, carries the
 * statistics. A part whose rows were all sent before (resumed past) is not sent, unless it
 * is the last. */
static enum em_code send_part(struct part_stream *ps, struct sp_result *shape, cJSON *values,
                              int64_t rows, struct sp_result *stats)
{
    int64_t first = ps->seen;
    ps->seen += rows;
    int64_t drop = ps->skip > first ? ps->skip - first : 0;
    for (int64_t i = 0; i < (drop < rows ? drop : rows) * ps->ncols; i++)
        cJSON_DeleteItemFromArray(values, 0);
    if (!ps->started && !ps->metadata)
        ps->metadata = metadata_json(ps->dc, shape);
    if (!cJSON_GetArraySize(values) && !stats) {
        cJSON_Delete(values);
        return EM_OK;
    }
    cJSON *part = cJSON_CreateObject();
    if (ps->metadata)
        cJSON_AddItemToObject(part, "metadata", ps->metadata);
    ps->metadata = NULL;
    ps->started = true;
    cJSON_AddItemToObject(part, "values", values);
    cJSON_AddItemToObject(part, "resumeToken", resume_token(ps->seen));
    if (stats && has_stats(stats))
        cJSON_AddItemToObject(part, "stats", stats_json(stats));
    return em_call_stream_element(ps->call, part);
}

/* The sink of a query's rows: each chunk, as it comes, one PartialResultSet. */
static enum em_code send_chunk(void *arg, struct sp_row_chunk *chunk)
{
    struct part_stream *ps = arg;
    struct sp_result shape = {.fields = chunk->fields, .undeclared = chunk->undeclared};
    if (chunk->fields)
        ps->ncols = cJSON_GetArraySize(chunk->fields);
    enum em_code code = send_part(ps, &shape, chunk->values, chunk->rows, NULL);
    cJSON_Delete(shape.fields); /* what the metadata did not take */
    cJSON_Delete(shape.undeclared);
    *chunk = (struct sp_row_chunk){0};
    return code;
}

/* After the statement: the rows it collected (DML's THEN RETURN) in parts of up to
 * SP_STREAM_CHUNK_ROWS, then the metadata if nothing went out yet and the statistics. */
static enum em_code finish_stream(struct part_stream *ps, struct sp_result *r)
{
    if (!ps->started)
        ps->ncols = cJSON_GetArraySize(r->fields);
    while (r->rows && r->rows->child) {
        cJSON *values = cJSON_CreateArray(), *row, *value;
        int64_t n = 0;
        for (; n < SP_STREAM_CHUNK_ROWS && (row = cJSON_DetachItemFromArray(r->rows, 0)); n++) {
            while ((value = cJSON_DetachItemFromArray(row, 0)) != NULL)
                cJSON_AddItemToArray(values, value);
            cJSON_Delete(row);
        }
        if (send_part(ps, r, values, n, NULL))
            return ps->call->status.code;
    }
    if (!ps->started || has_stats(r))
        return send_part(ps, r, cJSON_CreateArray(), 0, r);
    return EM_OK;
}

static void part_stream_clear(struct part_stream *ps)
{
    cJSON_Delete(ps->metadata); /* never sent: the statement failed */
    ps->metadata = NULL;
}

/* --- a DML request's seqno (spanner_txn.h): a retry answered with the first outcome --- */

struct dml_key {
    bool keyed; /* DML in a read-write transaction */
    int64_t seqno;
    uint64_t hash;
};

/* FNV-1a of the request's JSON text without its seqno and resumeToken. */
static uint64_t request_hash(const cJSON *body)
{
    cJSON *copy = cJSON_Duplicate(body, true);
    cJSON_DeleteItemFromObject(copy, "seqno");
    cJSON_DeleteItemFromObject(copy, "resumeToken");
    char *text = cJSON_PrintUnformatted(copy);
    uint64_t h = em_fnv1a_str(text);
    free(text);
    cJSON_Delete(copy);
    return h;
}

/* A kept ResultSet as one PartialResultSet: its rows flattened. */
static cJSON *partial_result_of(const cJSON *set)
{
    cJSON *part = cJSON_CreateObject();
    cJSON_AddItemToObject(part, "metadata",
                          cJSON_Duplicate(cJSON_GetObjectItem(set, "metadata"), true));
    cJSON *values = cJSON_AddArrayToObject(part, "values");
    const cJSON *row, *value;
    int64_t rows = 0;
    cJSON_ArrayForEach(row, cJSON_GetObjectItem(set, "rows"))
    {
        rows++;
        cJSON_ArrayForEach(value, row)
        {
            cJSON_AddItemToArray(values, cJSON_Duplicate(value, true));
        }
    }
    cJSON_AddItemToObject(part, "resumeToken", resume_token(rows));
    const cJSON *stats = cJSON_GetObjectItem(set, "stats");
    if (stats)
        cJSON_AddItemToObject(part, "stats", cJSON_Duplicate(stats, true));
    return part;
}

/* Keys a DML request (sql, or a batch's first statement) of a read-write transaction by
 * its seqno; true when the call is answered already: from the first outcome of the same
 * request (a retry), or refused (another request with its seqno, or one out of order). */
static bool dml_seen(struct em_call *call, struct data_call *dc, const char *sql, bool batch,
                     bool streaming, struct dml_key *key)
{
    *key = (struct dml_key){0};
    if (!dc->txn || dc->txn->mode != SP_TXN_READ_WRITE || (!batch && !sp_sql_is_dml(sql)))
        return false;
    key->keyed = true;
    const cJSON *seqno = cJSON_GetObjectItem(call->body, "seqno");
    if (seqno && !em_json_value_int64(seqno, &key->seqno))
        key->seqno = 0;
    key->hash = request_hash(call->body);
    const struct sp_dml_request *seen;
    if (sp_txn_dml_check(dc->txn, key->seqno, key->hash, sql, &seen, &call->status))
        return true;
    if (!seen)
        return false;
    if (seen->code)
        EM_CALL_FAIL(call, seen->code, "%s", seen->message);
    else if (streaming)
        em_call_stream_element(call, partial_result_of(seen->reply));
    else
        em_call_reply(call, cJSON_Duplicate(seen->reply, true));
    return true;
}

/* Keeps a keyed request's outcome: reply (taken), or the call's failure. */
static void dml_record(struct em_call *call, struct data_call *dc, const struct dml_key *key,
                       cJSON *reply)
{
    if (key->keyed && dc->txn && (reply || call->status.code))
        sp_txn_dml_record(dc->txn, key->seqno, key->hash, reply, &call->status);
    else
        cJSON_Delete(reply);
}

/* The ResultSet of r as a new JSON object, r left as it was (for a retry). */
static cJSON *result_set_copy(struct data_call *dc, const struct sp_result *r)
{
    struct sp_result copy = *r;
    copy.fields = cJSON_Duplicate(r->fields, true);
    copy.rows = cJSON_Duplicate(r->rows, true);
    copy.undeclared = cJSON_Duplicate(r->undeclared, true);
    copy.query_plan = cJSON_Duplicate(r->query_plan, true);
    copy.query_stats = cJSON_Duplicate(r->query_stats, true);
    copy.stream = NULL;
    cJSON *set = result_set_json(dc, &copy);
    sp_result_clear(&copy);
    return set;
}

/* --- partitions --- */

/* A partition token: base64 of "spanner-emulator-partition:<hash>" where hash is FNV-1a of
 * what the partitioned request reads (the SQL, or table, index and columns). The emulator
 * serves a request in one partition, so partitionQuery/partitionRead answer one token,
 * which executeSql/read accept only for the same request. */
static uint64_t partition_hash(const cJSON *body, bool query)
{
    uint64_t h = EM_FNV_OFFSET;
    const char *parts[3] = {em_json_string(body, query ? "sql" : "table"),
                            query ? NULL : em_json_string(body, "index"), NULL};
    char *columns = query ? NULL : cJSON_PrintUnformatted(cJSON_GetObjectItem(body, "columns"));
    parts[2] = columns;
    for (int i = 0; i < 3; i++) {
        const char *part = parts[i] ? parts[i] : "";
        h = em_fnv1a_more(h, part, strlen(part));
        h = em_fnv1a_more(h, "\x1f", 1); /* each part ends with a separator */
    }
    free(columns);
    return h;
}

static void partition_token(const cJSON *body, bool query, char *out, size_t size)
{
    snprintf(out, size, "spanner-emulator-partition:%016llx",
             (unsigned long long)partition_hash(body, query));
}

/* A request's partitionToken, if any, must be one partitionQuery/partitionRead gave for it. */
static enum em_code check_partition(struct em_call *call, bool query)
{
    const char *token = em_json_string(call->body, "partitionToken");
    if (!token)
        return EM_OK;
    char expected[64], got[64] = "";
    partition_token(call->body, query, expected, sizeof(expected));
    unsigned char *raw = NULL;
    size_t len = 0;
    if (em_b64_decode(token, strlen(token), &raw, &len) && len < sizeof(got))
        memcpy(got, raw, len);
    free(raw);
    if (strcmp(got, expected) != 0)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "Invalid partitionToken: it was not made by a partition call for "
                            "this %s.",
                            query ? "query" : "read");
    return EM_OK;
}

static enum em_code partition(struct em_call *call, bool query)
{
    struct data_call dc = {0};
    if (query ? !em_json_string(call->body, "sql") : !em_json_string(call->body, "table"))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "%s is required.", query ? "sql" : "table");
    if (open_data_call(call, &dc, true) ||
        select_transaction(call, &dc, cJSON_GetObjectItem(call->body, "transaction"))) {
        close_data_call(call, &dc);
        return call->status.code;
    }
    if (dc.txn && dc.txn->mode != SP_TXN_READ_ONLY) {
        EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                     "Partitioned reads and queries need a read-only transaction.");
        close_data_call(call, &dc);
        return call->status.code;
    }
    char token[64];
    partition_token(call->body, query, token, sizeof(token));
    cJSON *reply = cJSON_CreateObject();
    cJSON *one = cJSON_CreateObject();
    em_json_add_bytes(one, "partitionToken", (const unsigned char *)token, strlen(token));
    cJSON_AddItemToArray(cJSON_AddArrayToObject(reply, "partitions"), one);
    if (dc.began && dc.txn)
        cJSON_AddItemToObject(reply, "transaction", transaction_json(dc.txn));
    close_data_call(call, &dc);
    return em_call_reply(call, reply);
}

enum em_code sp_partition_query(struct em_call *call)
{
    return partition(call, true);
}

enum em_code sp_partition_read(struct em_call *call)
{
    return partition(call, false);
}

/* --- change streams: SELECT ChangeRecord FROM READ_<stream>(...) --- */

#define CHANGE_POLL_MS 100 /* how often a partition's query looks for new records */

static int64_t monotonic_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* A change stream is read in a single-use strong read-only transaction (the default). */
static bool strong_single_use(const cJSON *selector)
{
    if (!selector)
        return true;
    const cJSON *single = cJSON_GetObjectItem(selector, "singleUse");
    const cJSON *ro = cJSON_GetObjectItem(single, "readOnly");
    if (!single || cJSON_GetArraySize(selector) != 1 || !ro || cJSON_GetArraySize(single) != 1)
        return false;
    const cJSON *item;
    cJSON_ArrayForEach(item, ro)
    {
        if (strcmp(item->string, "strong") != 0 && strcmp(item->string, "returnReadTimestamp") != 0)
            return false;
    }
    return true;
}

/* One PartialResultSet of rows (their values flattened), with the metadata if not sent. */
static enum em_code send_change_rows(struct em_call *call, cJSON **metadata, cJSON *rows)
{
    cJSON *part = cJSON_CreateObject();
    if (*metadata)
        cJSON_AddItemToObject(part, "metadata", *metadata);
    *metadata = NULL;
    cJSON *values = cJSON_AddArrayToObject(part, "values");
    cJSON *row;
    while ((row = cJSON_DetachItemFromArray(rows, 0)) != NULL) {
        cJSON *value;
        while ((value = cJSON_DetachItemFromArray(row, 0)) != NULL)
            cJSON_AddItemToArray(values, value);
        cJSON_Delete(row);
    }
    return em_call_stream_element(call, part);
}

/* A partition's records as they are committed, from start_timestamp to end_timestamp (or
 * for as long as the client reads), heartbeats between; every look at the records is a
 * job on the database, through its CMEK gate. */
static enum em_code stream_changes(struct em_call *call, struct sp_db *db,
                                   const struct sp_change_query *q, cJSON *rows, cJSON **metadata)
{
    int64_t after = q->start_ns - 1, last_sent = monotonic_ms();
    for (;;) {
        int64_t upto = q->end_ns ? q->end_ns : INT64_MAX;
        if (sp_exec_change_fetch(db, q->stream, after, &upto, rows, &call->status))
            return call->status.code;
        bool done = q->end_ns && upto >= q->end_ns;
        if (upto > after)
            after = upto;
        int64_t now = monotonic_ms();
        if (!cJSON_GetArraySize(rows) && now - last_sent >= q->heartbeat_ms)
            cJSON_AddItemToArray(
                rows, sp_change_heartbeat_row(after > q->start_ns ? after : q->start_ns));
        if (cJSON_GetArraySize(rows) || (done && *metadata)) {
            if (send_change_rows(call, metadata, rows))
                return call->status.code;
            last_sent = now;
        }
        if (done)
            return EM_OK;
        if (em_http_stopping())
            return EM_CALL_FAIL(call, EM_UNAVAILABLE, "The emulator is stopping.");
        int64_t pause = q->heartbeat_ms < CHANGE_POLL_MS ? q->heartbeat_ms : CHANGE_POLL_MS;
        struct timespec slice = {0, (long)pause * 1000000L};
        nanosleep(&slice, NULL);
    }
}

static enum em_code change_stream_query(struct em_call *call, struct data_call *dc, bool streaming,
                                        const struct sp_change_query *q)
{
    if (!streaming || !strong_single_use(cJSON_GetObjectItem(call->body, "transaction")))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "Change stream queries are not supported for the ExecuteSql API. "
                            "Change stream queries must be strong reads executed via single use "
                            "transactions using the ExecuteStreamingSql API.");
    cJSON *metadata = cJSON_CreateObject();
    cJSON *rows = cJSON_CreateArray();
    cJSON *row_type = sp_change_row_type();
    if (!metadata || !rows || !row_type) {
        cJSON_Delete(metadata);
        cJSON_Delete(rows);
        cJSON_Delete(row_type);
        return EM_FAIL_OOM(&call->status);
    }
    cJSON_AddItemToObject(metadata, "rowType", row_type);
    if (q->initial) {
        cJSON_AddItemToArray(rows, sp_change_partitions_row(q));
        send_change_rows(call, &metadata, rows);
    } else {
        stream_changes(call, dc->db, q, rows, &metadata);
    }
    cJSON_Delete(metadata);
    cJSON_Delete(rows);
    return call->status.code;
}

/* --- executeSql, executeStreamingSql --- */

/* The request's queryMode (NORMAL when absent). */
static enum em_code parse_query_mode(struct em_call *call, enum sp_query_mode *mode)
{
    static const char *const names[] = {"NORMAL", "PLAN", "PROFILE", "WITH_STATS",
                                        "WITH_PLAN_AND_STATS"};
    const cJSON *value = cJSON_GetObjectItem(call->body, "queryMode");
    *mode = SP_QUERY_NORMAL;
    if (!value)
        return EM_OK;
    for (size_t i = 0; cJSON_IsString(value) && i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(value->valuestring, names[i]) == 0) {
            *mode = (enum sp_query_mode)i;
            return EM_OK;
        }
    return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                        "Invalid queryMode: expected NORMAL, PLAN, PROFILE, WITH_STATS or "
                        "WITH_PLAN_AND_STATS.");
}

static enum em_code execute(struct em_call *call, bool streaming)
{
    struct data_call dc = {0};
    struct sp_result result = {0};
    int64_t skip = 0;
    const char *sql = em_json_string(call->body, "sql");
    if (!sql)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "sql is required.");
    enum sp_query_mode mode;
    if (parse_query_mode(call, &mode) || parse_resume(call, &skip) || check_partition(call, true) ||
        open_data_call(call, &dc, false)) {
        close_data_call(call, &dc);
        return call->status.code;
    }
    struct sp_sql_request req = {sql, cJSON_GetObjectItem(call->body, "params"),
                                 cJSON_GetObjectItem(call->body, "paramTypes"), mode, 0};
    req.role = call_role(&dc);
    if (strcasestr(sql, "READ_") && sp_change_query_shape(sql)) { /* a change stream's query */
        struct sp_change_query q = {0};
        enum em_code found = sp_exec_change_query(dc.db, &req, &q, &call->status);
        if (found != EM_NOT_FOUND) {
            if (!found)
                change_stream_query(call, &dc, streaming, &q);
            close_data_call(call, &dc);
            return call->status.code;
        }
    }
    struct dml_key key;
    if (select_transaction(call, &dc, cJSON_GetObjectItem(call->body, "transaction")) ||
        dml_seen(call, &dc, sql, false, streaming, &key)) {
        close_data_call(call, &dc);
        return call->status.code;
    }
    req.read_ns = call_read_ns(&dc);
    req.streaming = streaming;
    req.client_gone = &call->client_gone;
    struct part_stream parts = {call, &dc, .skip = skip};
    struct sp_row_sink sink = {send_chunk, &parts};
    req.sink = streaming ? &sink : NULL;
    cJSON *kept = NULL;
    if (!sp_exec_sql(dc.db, dc.txn, &req, &result, &call->status)) {
        kept = key.keyed ? result_set_copy(&dc, &result) : NULL;
        if (streaming)
            finish_stream(&parts, &result);
        else
            em_call_reply(call, result_set_json(&dc, &result));
    }
    dml_record(call, &dc, &key, kept);
    part_stream_clear(&parts);
    sp_result_clear(&result);
    close_data_call(call, &dc);
    return call->status.code;
}

enum em_code sp_execute_sql(struct em_call *call)
{
    return execute(call, false);
}

enum em_code sp_execute_streaming_sql(struct em_call *call)
{
    return execute(call, true);
}

/* --- executeBatchDml --- */

static enum em_code batch_statements(struct em_call *call, struct sp_sql_request **out, int *n)
{
    const cJSON *list = cJSON_GetObjectItem(call->body, "statements");
    *n = cJSON_GetArraySize(list);
    *out = NULL;
    if (*n == 0)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "Request must contain at least one DML statement");
    *out = calloc((size_t)*n, sizeof(**out));
    if (!*out)
        return EM_FAIL_OOM(&call->status);
    int i = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, list)
    {
        const char *sql = em_json_string(s, "sql");
        if (!sql)
            return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "Statement %d has no sql.", i);
        (*out)[i] = (struct sp_sql_request){sql, cJSON_GetObjectItem(s, "params"),
                                            cJSON_GetObjectItem(s, "paramTypes")};
        (*out)[i].dml_only = true;
        (*out)[i].index = i;
        i++;
    }
    return EM_OK;
}

enum em_code sp_execute_batch_dml(struct em_call *call)
{
    struct data_call dc = {0};
    struct sp_sql_request *stmts = NULL;
    int n = 0, ran = 0;
    if (batch_statements(call, &stmts, &n) || open_data_call(call, &dc, false) ||
        select_transaction(call, &dc, cJSON_GetObjectItem(call->body, "transaction"))) {
        free(stmts);
        close_data_call(call, &dc);
        return call->status.code;
    }
    if (!dc.txn || dc.txn->mode != SP_TXN_READ_WRITE) {
        free(stmts);
        close_data_call(call, &dc);
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "executeBatchDml needs a read-write transaction.");
    }
    struct dml_key key;
    if (dml_seen(call, &dc, stmts[0].sql, true, false, &key)) {
        free(stmts);
        close_data_call(call, &dc);
        return call->status.code;
    }
    for (int i = 0; i < n; i++)
        stmts[i].role = call_role(&dc);
    struct sp_result *results = calloc((size_t)n, sizeof(*results));
    struct em_status failure = {0};
    if (results)
        sp_exec_batch_dml(dc.db, dc.txn, stmts, n, results, &ran, &failure);
    else
        EM_FAIL_OOM(&failure);
    cJSON *reply = cJSON_CreateObject();
    cJSON *sets = cJSON_AddArrayToObject(reply, "resultSets");
    for (int i = 0; i < ran; i++) {
        if (i > 0)
            dc.began = false; /* the transaction rides on the first result only */
        cJSON *set = result_set_json(&dc, &results[i]);
        cJSON_DeleteItemFromObject(set, "rows");
        cJSON_AddItemToArray(sets, set);
    }
    cJSON *status = cJSON_AddObjectToObject(reply, "status");
    cJSON_AddNumberToObject(status, "code", failure.code);
    if (failure.code)
        cJSON_AddStringToObject(status, "message", failure.message);
    for (int i = 0; i < n && results; i++)
        sp_result_clear(&results[i]);
    free(results);
    free(stmts);
    /* A failure is the response's status, the first statement's too (Spanner's answer).
     * Then a transaction begun inline is forgotten: its id rides on a result set. */
    if (ran == 0 && dc.began)
        sp_txn_finish(ctx_of(call)->txns, dc.txn);
    dml_record(call, &dc, &key, cJSON_Duplicate(reply, true));
    close_data_call(call, &dc);
    return em_call_reply(call, reply);
}

/* --- read, streamingRead --- */

static enum em_code do_read(struct em_call *call, bool streaming)
{
    struct data_call dc = {0};
    struct sp_result result = {0};
    int64_t skip = 0, limit = 0;
    const cJSON *limit_json = cJSON_GetObjectItem(call->body, "limit");
    if (limit_json && (!em_json_value_int64(limit_json, &limit) || limit < 0))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "limit must be a non-negative integer.");
    if (parse_resume(call, &skip) || check_partition(call, false) ||
        open_data_call(call, &dc, false) ||
        select_transaction(call, &dc, cJSON_GetObjectItem(call->body, "transaction"))) {
        close_data_call(call, &dc);
        return call->status.code;
    }
    struct sp_read read = {em_json_string(call->body, "table"),
                           em_json_string(call->body, "index"),
                           cJSON_GetObjectItem(call->body, "columns"),
                           cJSON_GetObjectItem(call->body, "keySet"),
                           limit,
                           call_read_ns(&dc),
                           streaming};
    read.role = call_role(&dc);
    read.client_gone = &call->client_gone;
    struct part_stream parts = {call, &dc, .skip = skip};
    struct sp_row_sink sink = {send_chunk, &parts};
    read.sink = streaming ? &sink : NULL;
    if (!read.key_set)
        EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "keySet is required.");
    else if (!sp_exec_read(dc.db, dc.txn, &read, &result, &call->status)) {
        if (streaming)
            finish_stream(&parts, &result);
        else
            em_call_reply(call, result_set_json(&dc, &result));
    }
    part_stream_clear(&parts);
    sp_result_clear(&result);
    close_data_call(call, &dc);
    return call->status.code;
}

enum em_code sp_read(struct em_call *call)
{
    return do_read(call, false);
}

enum em_code sp_streaming_read(struct em_call *call)
{
    return do_read(call, true);
}

/* --- beginTransaction, commit, rollback --- */

enum em_code sp_begin_transaction(struct em_call *call)
{
    struct data_call dc = {0};
    enum sp_txn_mode mode;
    int64_t read_ns;
    if (open_data_call(call, &dc, true) ||
        parse_options(call, dc.db, cJSON_GetObjectItem(call->body, "options"), &mode, &read_ns,
                      &dc.exclude) ||
        transaction_tag(call, dc.tag) || begin_transaction(call, &dc, mode, read_ns)) {
        close_data_call(call, &dc);
        return call->status.code;
    }
    em_call_reply(call, transaction_json(dc.txn));
    close_data_call(call, &dc);
    return EM_OK;
}

static cJSON *commit_json(const struct sp_commit *c, bool stats)
{
    cJSON *reply = cJSON_CreateObject();
    em_json_add_time(reply, "commitTimestamp", c->commit_ns);
    if (stats)
        em_json_add_int64(cJSON_AddObjectToObject(reply, "commitStats"), "mutationCount",
                          c->mutation_count);
    return reply;
}

/* Read-only and partitioned-DML transactions end by themselves (and stay usable). */
static enum em_code refuse_to_end(struct em_call *call)
{
    return EM_CALL_FAIL(call, EM_FAILED_PRECONDITION,
                        "Cannot commit or rollback a read-only or partitioned-dml transaction.");
}

/* The commit's transaction: transactionId, or singleUseTransaction (read-write); *again:
 * how it ended when it was committed already (a client's retry: the same commit). */
static enum em_code commit_transaction(struct em_call *call, struct data_call *dc,
                                       struct sp_txn_ending *again)
{
    const char *id = em_json_string(call->body, "transactionId");
    const cJSON *single = cJSON_GetObjectItem(call->body, "singleUseTransaction");
    enum sp_txn_mode mode;
    if ((id != NULL) == (single != NULL))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "A commit needs exactly one of transactionId and "
                            "singleUseTransaction.");
    if (transaction_tag(call, dc->tag))
        return call->status.code;
    if (single)
        return parse_options(call, dc->db, single, &mode, NULL, &dc->exclude) ||
                       mode == SP_TXN_READ_WRITE
                   ? call->status.code
                   : EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                                  "singleUseTransaction of a commit must be readWrite.");
    if (sp_txn_find(ctx_of(call)->txns, id, dc->session, em_clock_now(), SP_TXN_USE_COMMIT,
                    &dc->txn, again, &call->status) ||
        !dc->txn)
        return call->status.code;
    if (dc->txn->mode != SP_TXN_READ_WRITE)
        return refuse_to_end(call);
    if (!dc->txn->tag[0]) /* tagged at its commit */
        snprintf(dc->txn->tag, sizeof(dc->txn->tag), "%s", dc->tag);
    return EM_OK;
}

static void commit_reply(struct em_call *call, const struct sp_commit *result)
{
    bool stats = false;
    em_json_bool(call->body, "returnCommitStats", &stats);
    em_call_reply(call, commit_json(result, stats));
}

static void commit_done(void *call)
{
    em_call_ready(call);
}

/* A single-use commit once its job is over, on the call's own thread. */
static void single_use_commit_finish(struct em_call *call)
{
    struct sp_commit result;
    if (sp_exec_commit_end(em_call_deferred_arg(call), &result, &call->status) == EM_OK)
        commit_reply(call, &result);
}

/* A single-use commit starts on the HTTP thread and its job goes to the database's writer
 * thread with the connection parked. A transaction's commit runs on a worker: the call
 * that uses a transaction holds its lock (spanner_txn.h), which must not be held by an HTTP
 * thread serving other connections. */
/* CommitRequest.max_commit_delay: a hint, which the emulator (committing at once) only
 * checks as Spanner does: 0 to 500 ms. */
static enum em_code check_commit_delay(struct em_call *call)
{
    const char *delay = em_json_string(call->body, "maxCommitDelay");
    int64_t ns;
    if (delay && em_duration_parse(delay, &ns) && (ns < 0 || ns > 500 * 1000000LL))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "Invalid max_commit_delay %.64s: it must be between 0 and 500 "
                            "milliseconds.",
                            delay);
    return EM_OK;
}

enum em_code sp_commit(struct em_call *call)
{
    if (check_commit_delay(call))
        return call->status.code;
    bool single_use = cJSON_GetObjectItem(call->body, "singleUseTransaction") &&
                      !cJSON_GetObjectItem(call->body, "transactionId");
    if (!single_use && !em_call_may_block(call))
        return em_call_to_worker(call);
    struct data_call dc = {0};
    const cJSON *mutations = cJSON_GetObjectItem(call->body, "mutations");
    struct sp_commit result = {0};
    struct sp_commit_op *op;
    struct sp_txn_ending again = {0};
    if (open_data_call(call, &dc, false) || commit_transaction(call, &dc, &again)) {
        /* refused before anything ran */
    } else if (again.end == SP_TXN_COMMITTED) {
        result = (struct sp_commit){again.commit_ns, again.mutation_count};
        commit_reply(call, &result);
    } else if (!dc.txn) {
        if (sp_exec_commit_prepare(dc.db, mutations, dc.exclude, dc.tag, call_role(&dc), &op,
                                   &call->status) == EM_OK) {
            em_call_defer(call, single_use_commit_finish, op);
            sp_exec_commit_submit(op, commit_done, call);
        }
    } else if (sp_exec_commit(dc.db, dc.txn, mutations, false, call_role(&dc), &result,
                              &call->status) == EM_OK) {
        commit_reply(call, &result);
    }
    if (dc.txn && dc.txn->mode == SP_TXN_READ_WRITE) { /* committed, aborted or failed: over */
        struct sp_txn_ending ending = {call->status.code ? SP_TXN_FAILED : SP_TXN_COMMITTED,
                                       result.commit_ns, result.mutation_count};
        sp_txn_end(ctx_of(call)->txns, dc.txn, &ending, &call->status);
    }
    close_data_call(call, &dc);
    return call->status.code;
}

/* --- batchWrite --- */

/* Every group of the request must be an object with a non-empty list of mutations. */
static enum em_code check_mutation_groups(struct em_call *call, const cJSON *groups)
{
    if (!cJSON_IsArray(groups) || cJSON_GetArraySize(groups) == 0)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "No mutation groups in the batch.");
    int index = 0;
    const cJSON *group;
    cJSON_ArrayForEach(group, groups)
    {
        const cJSON *mutations = cJSON_GetObjectItem(group, "mutations");
        if (!cJSON_IsArray(mutations) || cJSON_GetArraySize(mutations) == 0)
            return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "Mutation group %d has no mutations.",
                                index);
        index++;
    }
    return EM_OK;
}

/* google.spanner.v1.BatchWriteResponse of the group at index: its status and, when it
 * applied, its commit timestamp. */
static cJSON *batch_write_response(int index, const struct em_status *outcome,
                                   const struct sp_commit *commit)
{
    cJSON *reply = cJSON_CreateObject();
    cJSON_AddItemToArray(cJSON_AddArrayToObject(reply, "indexes"), cJSON_CreateNumber(index));
    cJSON *status = cJSON_AddObjectToObject(reply, "status"); /* OK: {} as proto3 JSON */
    if (outcome->code) {
        cJSON_AddNumberToObject(status, "code", outcome->code);
        cJSON_AddStringToObject(status, "message", outcome->message);
    } else {
        em_json_add_time(reply, "commitTimestamp", commit->commit_ns);
    }
    return reply;
}

/* batchWrite: each mutation group is committed on its own, atomically, as a single-use
 * read-write transaction would be; a group that fails does not stop the others. The
 * answer streams one BatchWriteResponse per group, in the request's order. */
enum em_code sp_batch_write(struct em_call *call)
{
    struct data_call dc = {0};
    const cJSON *groups = cJSON_GetObjectItem(call->body, "mutationGroups");
    if (check_mutation_groups(call, groups) || open_data_call(call, &dc, true)) {
        close_data_call(call, &dc);
        return call->status.code;
    }
    /* each group its own transaction, left out of the change streams that allow it if asked */
    bool exclude = cJSON_IsTrue(cJSON_GetObjectItem(call->body, "excludeTxnFromChangeStreams"));
    int index = 0;
    const cJSON *group;
    cJSON_ArrayForEach(group, groups)
    {
        struct em_status outcome = {0};
        struct sp_commit commit;
        sp_exec_commit(dc.db, NULL, cJSON_GetObjectItem(group, "mutations"), exclude,
                       call_role(&dc), &commit, &outcome);
        if (em_call_stream_element(call, batch_write_response(index++, &outcome, &commit)))
            break;
    }
    close_data_call(call, &dc);
    return call->status.code;
}

enum em_code sp_rollback(struct em_call *call)
{
    struct data_call dc = {0};
    const char *id = em_json_string(call->body, "transactionId");
    if (!id)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "transactionId is required.");
    struct sp_txn_ending again;
    if (!open_data_call(call, &dc, true)) {
        sp_txn_find(ctx_of(call)->txns, id, dc.session, em_clock_now(), SP_TXN_USE_ROLLBACK,
                    &dc.txn, &again, &call->status);
        if (call->status.code == EM_ABORTED && dc.txn) /* aborted idle: rolled back already */
            em_status_clear(&call->status);
        if (!call->status.code && dc.txn && dc.txn->mode != SP_TXN_READ_WRITE) {
            refuse_to_end(call);
        } else if (!call->status.code) { /* dc.txn NULL: it ended before, a rollback again */
            struct sp_txn_ending ending = {SP_TXN_ROLLED_BACK, 0, 0};
            if (dc.txn)
                sp_txn_end(ctx_of(call)->txns, dc.txn, &ending, NULL);
            em_call_reply(call, cJSON_CreateObject());
        }
    }
    close_data_call(call, &dc);
    return call->status.code;
}

/* --- request schemas --- */

/* google.spanner.v1.TransactionOptions and TransactionSelector: field types and enum
 * values are checked as the API checks them; parse_options checks the rest. */
static const struct em_enum_value read_lock_modes[] = {
    {"READ_LOCK_MODE_UNSPECIFIED", 0}, {"PESSIMISTIC", 1}, {"OPTIMISTIC", 2}, {NULL}};
static const struct em_enum read_lock_mode_enum = {
    "google.spanner.v1.TransactionOptions.ReadWrite.ReadLockMode", read_lock_modes};
static const struct em_field read_write_fields[] = {
    {"readLockMode", EM_F_ENUM, false, NULL, &read_lock_mode_enum},
    {"multiplexedSessionPreviousTransactionId", EM_F_BYTES},
    {NULL}};
static const struct em_message read_write_schema = {
    "google.spanner.v1.TransactionOptions.ReadWrite", read_write_fields};
static const struct em_field read_only_fields[] = {{"strong", EM_F_BOOL},
                                                   {"minReadTimestamp", EM_F_TIMESTAMP},
                                                   {"maxStaleness", EM_F_DURATION},
                                                   {"readTimestamp", EM_F_TIMESTAMP},
                                                   {"exactStaleness", EM_F_DURATION},
                                                   {"returnReadTimestamp", EM_F_BOOL},
                                                   {NULL}};
static const struct em_message read_only_schema = {"google.spanner.v1.TransactionOptions.ReadOnly",
                                                   read_only_fields};
static const struct em_field partitioned_dml_fields[] = {{NULL}};
static const struct em_message partitioned_dml_schema = {
    "google.spanner.v1.TransactionOptions.PartitionedDml", partitioned_dml_fields};
static const struct em_enum_value isolation_levels[] = {
    {"ISOLATION_LEVEL_UNSPECIFIED", 0}, {"SERIALIZABLE", 1}, {"REPEATABLE_READ", 2}, {NULL}};
static const struct em_enum isolation_level_enum = {
    "google.spanner.v1.TransactionOptions.IsolationLevel", isolation_levels};
static const struct em_field transaction_options_fields[] = {
    {"readWrite", EM_F_MESSAGE, false, &read_write_schema},
    {"partitionedDml", EM_F_MESSAGE, false, &partitioned_dml_schema},
    {"readOnly", EM_F_MESSAGE, false, &read_only_schema},
    {"excludeTxnFromChangeStreams", EM_F_BOOL},
    {"isolationLevel", EM_F_ENUM, false, NULL, &isolation_level_enum},
    {NULL}};
static const struct em_message transaction_options_schema = {"google.spanner.v1.TransactionOptions",
                                                             transaction_options_fields};
static const struct em_field transaction_selector_fields[] = {
    {"singleUse", EM_F_MESSAGE, false, &transaction_options_schema},
    {"id", EM_F_BYTES},
    {"begin", EM_F_MESSAGE, false, &transaction_options_schema},
    {NULL}};
static const struct em_message transaction_selector_schema = {
    "google.spanner.v1.TransactionSelector", transaction_selector_fields};
#define TRANSACTION_SELECTOR EM_F_MESSAGE, false, &transaction_selector_schema

static const struct em_field create_session_fields[] = {{"session", EM_F_ANY}, {NULL}};
const struct em_message sp_create_session_schema = {"google.spanner.v1.CreateSessionRequest",
                                                    create_session_fields};

static const struct em_field batch_create_fields[] = {
    {"sessionTemplate", EM_F_ANY}, {"sessionCount", EM_F_INT32}, {NULL}};
const struct em_message sp_batch_create_sessions_schema = {
    "google.spanner.v1.BatchCreateSessionsRequest", batch_create_fields};

static const struct em_field execute_sql_fields[] = {{"transaction", TRANSACTION_SELECTOR},
                                                     {"sql", EM_F_STRING},
                                                     {"params", EM_F_ANY},
                                                     {"paramTypes", EM_F_ANY},
                                                     {"resumeToken", EM_F_BYTES},
                                                     {"queryMode", EM_F_STRING},
                                                     {"partitionToken", EM_F_BYTES},
                                                     {"seqno", EM_F_INT64},
                                                     {"queryOptions", EM_F_ANY},
                                                     {"requestOptions", EM_F_ANY},
                                                     {"directedReadOptions", EM_F_ANY},
                                                     {"dataBoostEnabled", EM_F_BOOL},
                                                     {"lastStatement", EM_F_BOOL},
                                                     {NULL}};
const struct em_message sp_execute_sql_schema = {"google.spanner.v1.ExecuteSqlRequest",
                                                 execute_sql_fields};

static const struct em_field batch_dml_fields[] = {
    {"transaction", TRANSACTION_SELECTOR}, {"statements", EM_F_ANY, true}, {"seqno", EM_F_INT64},
    {"requestOptions", EM_F_ANY},          {"lastStatements", EM_F_BOOL},  {NULL}};
const struct em_message sp_execute_batch_dml_schema = {"google.spanner.v1.ExecuteBatchDmlRequest",
                                                       batch_dml_fields};

static const struct em_field read_fields[] = {{"transaction", TRANSACTION_SELECTOR},
                                              {"table", EM_F_STRING},
                                              {"index", EM_F_STRING},
                                              {"columns", EM_F_STRING, true},
                                              {"keySet", EM_F_ANY},
                                              {"limit", EM_F_INT64},
                                              {"resumeToken", EM_F_BYTES},
                                              {"partitionToken", EM_F_BYTES},
                                              {"requestOptions", EM_F_ANY},
                                              {"directedReadOptions", EM_F_ANY},
                                              {"dataBoostEnabled", EM_F_BOOL},
                                              {"orderBy", EM_F_ANY},
                                              {"lockHint", EM_F_ANY},
                                              {NULL}};
const struct em_message sp_read_schema = {"google.spanner.v1.ReadRequest", read_fields};

static const struct em_field begin_fields[] = {
    {"options", EM_F_MESSAGE, false, &transaction_options_schema},
    {"requestOptions", EM_F_ANY},
    {"mutationKey", EM_F_ANY},
    {NULL}};
const struct em_message sp_begin_transaction_schema = {"google.spanner.v1.BeginTransactionRequest",
                                                       begin_fields};

static const struct em_field commit_fields[] = {
    {"transactionId", EM_F_BYTES},
    {"singleUseTransaction", EM_F_MESSAGE, false, &transaction_options_schema},
    {"mutations", EM_F_ANY, true},
    {"returnCommitStats", EM_F_BOOL},
    {"maxCommitDelay", EM_F_DURATION},
    {"requestOptions", EM_F_ANY},
    {"precommitToken", EM_F_ANY},
    {NULL}};
const struct em_message sp_commit_schema = {"google.spanner.v1.CommitRequest", commit_fields};

static const struct em_field batch_write_fields[] = {{"mutationGroups", EM_F_ANY, true},
                                                     {"requestOptions", EM_F_ANY},
                                                     {"excludeTxnFromChangeStreams", EM_F_BOOL},
                                                     {NULL}};
const struct em_message sp_batch_write_schema = {"google.spanner.v1.BatchWriteRequest",
                                                 batch_write_fields};

static const struct em_field rollback_fields[] = {{"transactionId", EM_F_BYTES}, {NULL}};
const struct em_message sp_rollback_schema = {"google.spanner.v1.RollbackRequest", rollback_fields};

static const struct em_field partition_query_fields[] = {{"transaction", TRANSACTION_SELECTOR},
                                                         {"sql", EM_F_STRING},
                                                         {"params", EM_F_ANY},
                                                         {"paramTypes", EM_F_ANY},
                                                         {"partitionOptions", EM_F_ANY},
                                                         {NULL}};
const struct em_message sp_partition_query_schema = {"google.spanner.v1.PartitionQueryRequest",
                                                     partition_query_fields};

static const struct em_field partition_read_fields[] = {{"transaction", TRANSACTION_SELECTOR},
                                                        {"table", EM_F_STRING},
                                                        {"index", EM_F_STRING},
                                                        {"columns", EM_F_STRING, true},
                                                        {"keySet", EM_F_ANY},
                                                        {"partitionOptions", EM_F_ANY},
                                                        {NULL}};
const struct em_message sp_partition_read_schema = {"google.spanner.v1.PartitionReadRequest",
                                                    partition_read_fields};
