/*
 * kms_service: the KMS service definition (struct em_service_def): descriptor, routes and the
 * lifecycle hooks that open the key registry, Autokey's records, the EKM connections and the
 * long-running operations (CreateKeyHandle), run the registry's timers and reset them all.
 * Separate from kms_main.c so tests and fuzz targets can open the same service without a
 * process.
 */
#include "kms_service.h"

#include "em_clock.h"
#include "em_config.h"
#include "em_ekm.h"
#include "em_json.h"
#include "em_operations.h"
#include "em_service.h"
#include "kms.h"
#include "kms_autokey.h"
#include "kms_ekm_connections.h"
#include "kms_handlers.h"
#include "kms_kaj.h"
#include "kms_routes.h"

#include <stdio.h>
#include <stdlib.h>

static void kms_close(struct em_service *svc)
{
    struct kms_ctx *ctx = svc->ctx;
    em_operations_close(svc->operations); /* before what the work uses */
    svc->operations = NULL;
    if (!ctx)
        return;
    kms_autokey_close(ctx->autokey);
    kms_ekm_connections_close(ctx->ekm_connections);
    em_ekm_close();
    kms_registry_close(ctx->registry);
    free(ctx);
    svc->ctx = NULL;
}

/* The registry's view of an EKM connection (EXTERNAL_VPC keys, kms_ekm.c). */
static enum em_code ekm_route(void *arg, const char *backend, struct kms_ekm_route *out,
                              struct em_status *st)
{
    return kms_ekm_connection_route(arg, backend, out, st);
}

static enum em_code kms_open(struct em_service *svc, struct em_status *st)
{
    struct kms_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return EM_FAIL_OOM(st);
    svc->ctx = ctx;
    ctx->store = svc->store;
    em_config_url(&svc->config, EM_PORT_CONTROL, ctx->control_url, sizeof(ctx->control_url));
    int64_t delay = svc->config.kms_propagation_delay_s * EM_NS_PER_SEC;
    if (kms_registry_open(svc->store, svc->config.data_dir, delay, &ctx->registry, st) ||
        kms_autokey_open(svc->store, &ctx->autokey, st) ||
        kms_ekm_connections_open(svc->store, &ctx->ekm_connections, st) ||
        kms_kaj_open(svc->store, st) || em_ekm_open(svc->store, svc->config.data_dir, st)) {
        kms_close(svc);
        return st->code;
    }
    kms_registry_set_generation_delay(ctx->registry,
                                      svc->config.kms_generation_delay_s * EM_NS_PER_SEC);
    kms_registry_set_ekm_route(ctx->registry, ekm_route, ctx->ekm_connections);
    struct em_operations_options opt = {.service = "kms",
                                        .types = kms_op_types,
                                        .type_count = kms_op_type_count,
                                        .ctx = ctx,
                                        .data_dir = svc->config.data_dir};
    if (em_operations_open(svc->store, &opt, em_clock_now(), &svc->operations, st)) {
        kms_close(svc);
        return st->code;
    }
    return EM_OK;
}

static enum em_code kms_tick(struct em_service *svc, int64_t now, struct em_status *st)
{
    struct kms_ctx *ctx = svc->ctx;
    return kms_registry_tick(ctx->registry, now, st);
}

static enum em_code kms_reset(struct em_service *svc, struct em_status *st)
{
    struct kms_ctx *ctx = svc->ctx;
    if (em_operations_reset(svc->operations, st) || kms_autokey_reset(ctx->autokey, st) ||
        kms_ekm_connections_reset(ctx->ekm_connections, st) || kms_kaj_reset(svc->store, st))
        return st->code;
    return kms_registry_reset(ctx->registry, st);
}

/* Whether the resource of an IAM call exists: EKM connections and configs are
 * kms_ekm_handlers.c's, the rest kms_handlers.c's. */
static enum em_code kms_iam_resource_exists(struct em_call *call)
{
    if (kms_ekm_iam_resource(em_call_var(call, "resource")))
        return kms_ekm_iam_resource_check(call);
    return kms_iam_resource_check(call);
}

const struct em_service_def kms_service = {
    .desc = &kms_descriptor,
    .routes = kms_routes,
    .iam_resource_check = kms_iam_resource_exists,
    .open = kms_open,
    .close = kms_close,
    .tick = kms_tick,
    .reset = kms_reset,
};
