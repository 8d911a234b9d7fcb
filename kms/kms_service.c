/*
 * kms_service: the KMS service definition (struct em_service_def): descriptor, routes and the
 * lifecycle hooks that open the key registry, run its timers and reset it. Separate from
 * kms_main.c so tests and fuzz targets can open the same service without a process.
 */
#include "kms_service.h"

#include "em_json.h"
#include "em_service.h"
#include "kms.h"
#include "kms_handlers.h"
#include "kms_routes.h"

static enum em_code kms_open(struct em_service *svc, struct em_status *st)
{
    struct kms_registry *reg;
    int64_t delay = svc->config.kms_propagation_delay_s * EM_NS_PER_SEC;
    if (kms_registry_open(svc->store, svc->config.data_dir, delay, &reg, st))
        return st->code;
    kms_registry_set_generation_delay(reg, svc->config.kms_generation_delay_s * EM_NS_PER_SEC);
    svc->ctx = reg;
    return EM_OK;
}

static void kms_close(struct em_service *svc)
{
    kms_registry_close(svc->ctx);
    svc->ctx = NULL;
}

static enum em_code kms_tick(struct em_service *svc, int64_t now, struct em_status *st)
{
    return kms_registry_tick(svc->ctx, now, st);
}

static enum em_code kms_reset(struct em_service *svc, struct em_status *st)
{
    return kms_registry_reset(svc->ctx, st);
}

const struct em_service_def kms_service = {
    .desc = &kms_descriptor,
    .routes = kms_routes,
    .iam_resource_check = kms_iam_resource_check,
    .open = kms_open,
    .close = kms_close,
    .tick = kms_tick,
    .reset = kms_reset,
};
