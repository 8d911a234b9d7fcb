/*
 * spanner_service: the Spanner service definition (struct em_service_def): descriptor,
 * routes and the lifecycle hooks that open the CMEK engine, the admin domain and its
 * long-running operations. Separate from spanner_main.c so tests and fuzz targets can open the same
 * service without a process.
 */
#include "spanner_service.h"

#include "em_clock.h"
#include "em_cmek.h"
#include "em_descriptor.h"
#include "em_operations.h"
#include "spanner_admin.h"
#include "spanner_backup.h"
#include "spanner_handlers.h"
#include "spanner_routes.h"

#include <stdlib.h>

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

static void context_free(struct sp_context *sp)
{
    if (!sp)
        return;
    sp_backups_close(sp->backups);
    sp_admin_close(sp->admin);
    free(sp);
}

static enum em_code spanner_open(struct em_service *svc, struct em_status *st)
{
    struct em_cmek_hooks hooks = {.inaccessible_error = sp_inaccessible_error};
    struct em_cmek *cmek;
    struct sp_context *sp = calloc(1, sizeof(*sp));
    if (!sp)
        return EM_FAIL_OOM(st);
    if (em_cmek_open(svc, svc->def->desc->agent_domain, &hooks, &cmek, st) ||
        sp_admin_open(svc->store, cmek, &sp->admin, st) ||
        sp_backups_open(svc->store, cmek, sp->admin, &sp->backups, st)) {
        context_free(sp);
        return st->code;
    }
    struct em_operations_options opt = {
        .service = "spanner", .types = sp_op_types, .type_count = sp_op_type_count, .ctx = sp};
    if (em_operations_open(svc->store, &opt, em_clock_now(), &svc->operations, st)) {
        context_free(sp);
        return st->code;
    }
    svc->ctx = sp;
    return EM_OK;
}

static void spanner_close(struct em_service *svc)
{
    em_operations_close(svc->operations);
    svc->operations = NULL;
    context_free(svc->ctx);
    svc->ctx = NULL;
}

/* Backups expire on the emulator clock. */
static enum em_code spanner_tick(struct em_service *svc, int64_t now, struct em_status *st)
{
    struct sp_context *sp = svc->ctx;
    return sp_backups_expire(sp->backups, now, st);
}

static enum em_code spanner_reset(struct em_service *svc, struct em_status *st)
{
    struct sp_context *sp = svc->ctx;
    if (em_operations_reset(svc->operations, st) || sp_backups_reset(sp->backups, st))
        return st->code;
    return sp_admin_reset(sp->admin, st);
}

const struct em_service_def spanner_service = {
    .desc = &spanner_descriptor,
    .routes = spanner_routes,
    .iam_resource_check = sp_iam_resource_check,
    .open = spanner_open,
    .close = spanner_close,
    .tick = spanner_tick,
    .reset = spanner_reset,
    /* creating a database or a backup and restoring call KMS (em_cmek_protect, _check) */
    .blocking_handlers = true,
};
