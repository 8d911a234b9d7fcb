/*
 * pubsub_service: the Pub/Sub service definition (struct em_service_def): descriptor, routes and
 * the lifecycle hooks. open makes the registry, opens the CMEK engine with the registry's
 * hooks (every topic is a protected resource of agent gcp-sa-pubsub), then loads what is
 * stored and starts push delivery; tick runs the timers (pubsub_timers.c) after the engine's
 * key checks; reset drops every topic, subscription and snapshot with their files.
 * Separate from pubsub_main.c so tests and fuzz targets can open the same service without
 * a process.
 */
#include "pubsub_service.h"

#include "em_clock.h"
#include "em_cmek.h"
#include "em_service.h"
#include "pubsub_flow.h"
#include "pubsub_push.h"
#include "pubsub_registry.h"
#include "pubsub_handlers.h"
#include "pubsub_routes.h"

static enum em_code pubsub_open(struct em_service *svc, struct em_status *st)
{
    struct ps_registry *reg;
    if (ps_registry_open(svc->store, &svc->config, &reg, st))
        return st->code;
    svc->ctx = reg;
    reg->audit = svc->audit;
    struct em_cmek_hooks hooks = {
        .state_changed = ps_state_changed,
        .inaccessible_error = ps_inaccessible_error,
        .arg = reg,
    };
    struct em_cmek *cmek;
    if (em_cmek_open(svc, svc->def->desc->agent_domain, &hooks, &cmek, st) ||
        ps_registry_load(reg, cmek, em_clock_now(), st) || ps_push_start(reg, st))
        return st->code;
    return EM_OK;
}

static void pubsub_close(struct em_service *svc)
{
    ps_registry_close(svc->ctx);
    svc->ctx = NULL;
}

static enum em_code pubsub_tick(struct em_service *svc, int64_t now, struct em_status *st)
{
    return ps_tick(svc->ctx, now, st);
}

static enum em_code pubsub_reset(struct em_service *svc, struct em_status *st)
{
    return ps_registry_reset(svc->ctx, st);
}

const struct em_service_def pubsub_service = {
    .desc = &pubsub_descriptor,
    .routes = pubsub_routes,
    .iam_resource_check = ps_iam_resource_check,
    .open = pubsub_open,
    .close = pubsub_close,
    .tick = pubsub_tick,
    .reset = pubsub_reset,
    .blocking_handlers = true,
};
