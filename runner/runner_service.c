/*
 * runner_service: the runner service definition (struct em_service_def): descriptor,
 * routes, and the hooks that open the CMEK engine and the jobs domain, start PENDING jobs
 * on every tick, and stop them at close. Separate from runner_main.c so tests and fuzz
 * targets open the same service without a process.
 */
#include "runner_service.h"

#include "runner_jobs.h"
#include "runner_routes.h"

#include "em_cmek.h"
#include "em_descriptor.h"

#include <stdio.h>

/* A job's data call (its next bundle) while KMS refuses the key: the job fails with this
 * message, which names the key. */
static void rn_inaccessible_error(void *arg, const struct em_cmek_info *info, struct em_status *st)
{
    (void)arg;
    EM_FAIL(st, EM_FAILED_PRECONDITION,
            "Cloud KMS key %s is not accessible to the Dataflow service agent: %s", info->kms_key,
            info->reason[0] ? info->reason : "the key is disabled, destroyed or not permitted.");
}

static enum em_code runner_open(struct em_service *svc, struct em_status *st)
{
    struct em_cmek_hooks hooks = {.inaccessible_error = rn_inaccessible_error};
    struct em_cmek *cmek;
    struct rn_jobs *jobs;
    if (em_cmek_open(svc, svc->def->desc->agent_domain, &hooks, &cmek, st) ||
        rn_jobs_open(svc, &jobs, st))
        return st->code;
    svc->ctx = jobs;
    return EM_OK;
}

static void runner_close(struct em_service *svc)
{
    rn_jobs_close(svc->ctx);
    svc->ctx = NULL;
}

static enum em_code runner_tick(struct em_service *svc, int64_t now_ns, struct em_status *st)
{
    (void)now_ns;
    return rn_jobs_tick(svc->ctx, st);
}

static enum em_code runner_reset(struct em_service *svc, struct em_status *st)
{
    return rn_jobs_reset(svc->ctx, st);
}

const struct em_service_def runner_service = {
    .desc = &runner_descriptor,
    .routes = runner_routes,
    .open = runner_open,
    .close = runner_close,
    .tick = runner_tick,
    .reset = runner_reset,
    /* launching protects the job's state with KMS (em_cmek_protect) */
    .blocking_handlers = true,
};
