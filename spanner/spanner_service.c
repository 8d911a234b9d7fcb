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
#include "spanner_handlers.h"
#include "spanner_routes.h"

/* Spanner's words for a data call on a database whose key KMS refuses (seed 004). */
static void sp_inaccessible_error(void *arg, const struct em_cmek_info *info, struct em_status *st)
{
    (void)arg;
    (void)info;
    EM_FAIL(st, EM_FAILED_PRECONDITION,
            "KMS key required by the Spanner resource is not accessible.");
}

static enum em_code spanner_open(struct em_service *svc, struct em_status *st)
{
    struct em_cmek_hooks hooks = {.inaccessible_error = sp_inaccessible_error};
    struct em_cmek *cmek;
    struct sp_admin *admin;
    if (em_cmek_open(svc, svc->def->desc->agent_domain, &hooks, &cmek, st) ||
        sp_admin_open(svc->store, cmek, &admin, st))
        return st->code;
    struct em_operations_options opt = {
        .service = "spanner", .types = sp_op_types, .type_count = sp_op_type_count, .ctx = admin};
    if (em_operations_open(svc->store, &opt, em_clock_now(), &svc->operations, st)) {
        sp_admin_close(admin);
        return st->code;
    }
    svc->ctx = admin;
    return EM_OK;
}

static void spanner_close(struct em_service *svc)
{
    em_operations_close(svc->operations);
    svc->operations = NULL;
    sp_admin_close(svc->ctx);
    svc->ctx = NULL;
}

static enum em_code spanner_reset(struct em_service *svc, struct em_status *st)
{
    if (em_operations_reset(svc->operations, st))
        return st->code;
    return sp_admin_reset(svc->ctx, st);
}

const struct em_service_def spanner_service = {
    .desc = &spanner_descriptor,
    .routes = spanner_routes,
    .iam_resource_check = sp_iam_resource_check,
    .open = spanner_open,
    .close = spanner_close,
    .reset = spanner_reset,
    /* creating a database calls KMS (em_cmek_protect) */
    .blocking_handlers = true,
};
