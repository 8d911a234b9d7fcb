/*
 * spanner_service: the Spanner service definition (struct em_service_def): descriptor,
 * routes and the lifecycle hooks that open the CMEK engine, the admin domain, backups
 * (spanner_backup) and their schedules (run by the tick), the databases' data (spanner_data),
 * sessions and transactions, and the long-running operations. Separate from spanner_main.c so tests
 * and fuzz targets can open the same service without a process.
 */
#include "spanner_service.h"

#include "em_clock.h"
#include "em_cmek.h"
#include "em_datastore.h"
#include "em_descriptor.h"
#include "em_log.h"
#include "em_operations.h"
#include "spanner_admin.h"
#include "spanner_backup.h"
#include "spanner_backup_schedules.h"
#include "spanner_data.h"
#include "spanner_exec.h"
#include "spanner_handlers.h"
#include "spanner_routes.h"
#include "spanner_session.h"
#include "spanner_txn.h"

#include <stdlib.h>
#include <string.h>

/* Spanner's words for a data call on a database whose key KMS refuses (seed 004); a
 * backup, pinned to one key version, names it. */
static void sp_inaccessible_error(void *arg, const struct em_cmek_info *info, struct em_status *st)
{
    (void)arg;
    if (info->pinned)
        EM_FAIL(st, EM_FAILED_PRECONDITION,
                "KMS key version %s required by the Spanner resource %s is not accessible.",
                info->key_version, info->resource);
    else
        EM_FAIL(st, EM_FAILED_PRECONDITION,
                "KMS key required by the Spanner resource is not accessible.");
}

/* A database whose key became unusable (OFFLINE, INACCESSIBLE): its file closes and its
 * DEK leaves memory; the next data call after a successful check opens it again. */
static void sp_state_changed(void *arg, const char *resource, enum em_cmek_state from,
                             enum em_cmek_state to)
{
    (void)from;
    struct sp_ctx *ctx = arg;
    struct em_status ignored = {0};
    struct sp_db *db = ctx->data ? sp_data_find(ctx->data, resource, &ignored) : NULL;
    if (db)
        em_datastore_state_changed(sp_db_datastore(db), to);
}

static void spanner_close(struct em_service *svc)
{
    struct sp_ctx *ctx = svc->ctx;
    em_operations_close(svc->operations);
    svc->operations = NULL;
    if (!ctx)
        return;
    sp_backup_schedules_close(ctx->schedules);
    sp_backups_close(ctx->backups);
    sp_admin_close(ctx->admin);
    sp_txns_close(ctx->txns);
    sp_sessions_close(ctx->sessions);
    sp_data_close(ctx->data);
    free(ctx);
    svc->ctx = NULL;
}

static enum em_code spanner_open(struct em_service *svc, struct em_status *st)
{
    struct em_cmek *cmek;
    struct sp_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return EM_FAIL_OOM(st);
    struct em_cmek_hooks hooks = {
        .state_changed = sp_state_changed, .inaccessible_error = sp_inaccessible_error, .arg = ctx};
    svc->ctx = ctx;
    if (em_cmek_open(svc, svc->def->desc->agent_domain, &hooks, &cmek, st) ||
        sp_admin_open(svc->store, cmek, &ctx->admin, st) ||
        sp_data_open(cmek, svc->config.data_dir, &ctx->data, st) ||
        sp_sessions_open(svc->store, &ctx->sessions, st) || sp_txns_open(&ctx->txns, st) ||
        sp_backups_open(svc->store, cmek, ctx->admin, ctx->data, svc->config.data_dir,
                        &ctx->backups, st) ||
        sp_backup_schedules_open(svc->store, ctx->admin, ctx->backups, &ctx->schedules, st)) {
        spanner_close(svc);
        return st->code;
    }
    sp_admin_set_data(ctx->admin, ctx->data);
    if (sp_admin_attach_databases(ctx->admin, st)) {
        spanner_close(svc);
        return st->code;
    }
    struct em_operations_options opt = {.service = "spanner",
                                        .types = sp_op_types,
                                        .type_count = sp_op_type_count,
                                        .ctx = ctx,
                                        .data_dir = svc->config.data_dir};
    if (em_operations_open(svc->store, &opt, em_clock_now(), &svc->operations, st)) {
        spanner_close(svc);
        return st->code;
    }
    return EM_OK;
}

/* sp_data_prune_writes asks the transactions how far back each database's log must reach. */
static uint64_t oldest_transaction(void *txns, struct sp_db *db)
{
    return sp_txns_oldest_start(txns, db);
}

static enum em_code spanner_tick(struct em_service *svc, int64_t now, struct em_status *st)
{
    struct sp_ctx *ctx = svc->ctx;
    sp_sessions_expire(ctx->sessions, now);
    sp_txns_expire(ctx->txns, now);
    sp_data_prune_writes(ctx->data, oldest_transaction, ctx->txns);
    sp_data_prune_versions(ctx->data, now);
    for (struct sp_db *db; (db = sp_data_next_row_deletion(ctx->data, now)) != NULL;) {
        struct em_status ttl = {0};
        int64_t deleted = 0;
        if (sp_exec_row_deletion(db, now, &deleted, &ttl) && ttl.code != EM_FAILED_PRECONDITION)
            em_warn("spanner: applying the row deletion policies of %s: %s", sp_db_name(db),
                    ttl.message);
        else if (deleted)
            em_info("spanner: %s: rows deleted by its row deletion policies: %lld", sp_db_name(db),
                    (long long)deleted);
    }
    sp_run_backup_schedules(svc, now);
    return sp_backups_expire(ctx->backups, now, st); /* on the emulator clock */
}

static enum em_code spanner_reset(struct em_service *svc, struct em_status *st)
{
    struct sp_ctx *ctx = svc->ctx;
    if (em_operations_reset(svc->operations, st) || sp_backups_reset(ctx->backups, st))
        return st->code;
    sp_sessions_forget(ctx->sessions, NULL);
    sp_txns_forget(ctx->txns, NULL);
    return sp_admin_reset(ctx->admin, st);
}

/* A data call in a session with a database role: the role's privileges decide what its
 * statements may do; IAM asks spanner.databases.useRoleBasedAccess of the caller instead of
 * the route's data permission (select, read, write, begin...), as Spanner does. */
static const char *role_permission(struct em_call *call, const char *route_permission)
{
    const char *session = em_call_var(call, "session");
    if (!session || strncmp(route_permission, "spanner.databases.", 18) != 0)
        return NULL;
    char role[SP_SESSION_ROLE_MAX];
    sp_session_role(((struct sp_ctx *)call->svc->ctx)->sessions, session, em_clock_now(), role);
    return role[0] ? "spanner.databases.useRoleBasedAccess" : NULL;
}

const struct em_service_def spanner_service = {
    .desc = &spanner_descriptor,
    .routes = spanner_routes,
    .iam_resource_check = sp_iam_resource_check,
    .permission_for = role_permission,
    .open = spanner_open,
    .close = spanner_close,
    .tick = spanner_tick,
    .reset = spanner_reset,
    /* creating a database or a backup and restoring call KMS (em_cmek_protect, _check);
     * data calls wait for the writer */
    .blocking_handlers = true,
};
