/*
 * control_unbuilt: the ports of the services that are not built yet (Bigtable +3,
 * Spanner +4, Dataflow +5). Until bin/<service> exists, the control plane listens on the
 * service's port itself and answers every call at once, /health included, with Google's
 * UNIMPLEMENTED error naming the method and path (HTTP 400, as every UNIMPLEMENTED, see
 * em_status.c):
 *
 *   GET /v2/projects/p/instances  ->  400 {"error":{"code":400,"message":"Method GET
 *       /v2/projects/p/instances is not implemented by this emulator yet: Bigtable comes
 *       in a later release.","status":"UNIMPLEMENTED"}}
 *
 * so gcloud, pointed there by scripts/gcloud-config, fails within seconds with
 * "UNIMPLEMENTED: Method GET ..." instead of retrying a refused connection for half a
 * minute. /health answers the same error: nothing on the port serves, and a health check
 * must not say otherwise.
 *
 * Released when the service is built: control_unbuilt_start serves only the child
 * services (em_services[], em_descriptor.h) that have no binary in bin/; once `make` builds
 * bin/bigtable, the supervisor starts it on that port and this file leaves the port
 * alone, with no change here. When the last of them is built, delete this file, its
 * calls in control_lifecycle.c and the unimplementedServices field of the status.
 *
 * Each port is a small em_http server (a thread per connection, like the control plane)
 * whose router has no route but a fallback (em_router_set_fallback), and whose service
 * is a stand-in: a name and the control plane's configuration, no store, no audit.
 */
#include "control.h"

#include "em_call.h"
#include "em_http.h"
#include "em_log.h"
#include "em_router.h"
#include "em_service.h"

#include <stdio.h>
#include <stdlib.h>

struct unbuilt_port {
    const struct em_service_desc *info;
    struct em_service_def def;
    struct em_service svc; /* the stand-in: def, config and ctx only */
    struct em_router *router;
    struct em_http *http;
};

struct control_unbuilt {
    struct unbuilt_port ports[CONTROL_SERVICE_MAX];
    size_t count;
};

static enum em_code answer_unimplemented(struct em_call *call)
{
    const struct unbuilt_port *port = call->svc->ctx;
    EM_CALL_FAIL(call, EM_UNIMPLEMENTED,
                 "Method %.10s %.400s is not implemented by this emulator yet: %s comes in a "
                 "later release.",
                 call->method, call->path, port->info->product);
    return call->status.code;
}

static const struct em_route unimplemented_route = {"GET", "**", answer_unimplemented,
                                                    "Unimplemented", .never_blocks = true};

static enum em_code port_start(struct unbuilt_port *port, const struct em_service_desc *info,
                               const struct em_config *cfg, struct em_status *st)
{
    port->info = info;
    port->def = (struct em_service_def){.desc = info};
    port->svc.def = &port->def;
    port->svc.config = *cfg;
    port->svc.ctx = port;
    port->router = em_router_new();
    if (!port->router)
        return EM_FAIL_OOM(st);
    em_router_set_fallback(port->router, &unimplemented_route);
    struct em_http_options opt = {
        .host = cfg->host,
        .port = cfg->port_base + info->port,
        .threads = 0,
        .max_body = cfg->max_body_bytes,
    };
    if (em_http_start(&opt, port->router, &port->svc, &port->http, st))
        return EM_FAIL(st, st->code, "%s's port (answered UNIMPLEMENTED until %s is built): %s",
                       info->product, info->product, st->message);
    em_info("%s is not built: http://%s:%d answers UNIMPLEMENTED", info->product, opt.host,
            opt.port);
    return EM_OK;
}

enum em_code control_unbuilt_start(const struct em_config *cfg, const char *bin_dir,
                                   struct control_unbuilt **out, struct em_status *st)
{
    struct control_unbuilt *unbuilt = calloc(1, sizeof(*unbuilt));
    if (!unbuilt)
        return EM_FAIL_OOM(st);
    const struct em_service_desc *infos[CONTROL_SERVICE_MAX];
    size_t n = control_services_unbuilt(bin_dir, infos, CONTROL_SERVICE_MAX);
    for (size_t i = 0; i < n; i++) {
        unbuilt->count++;
        if (port_start(&unbuilt->ports[i], infos[i], cfg, st)) {
            control_unbuilt_stop(unbuilt);
            return st->code;
        }
    }
    *out = unbuilt;
    return EM_OK;
}

void control_unbuilt_stop(struct control_unbuilt *unbuilt)
{
    if (!unbuilt)
        return;
    for (size_t i = 0; i < unbuilt->count; i++) {
        em_http_stop(unbuilt->ports[i].http);
        em_router_free(unbuilt->ports[i].router);
    }
    free(unbuilt);
}

size_t control_unbuilt_list(const struct control_unbuilt *unbuilt,
                            const struct em_service_desc **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; unbuilt && i < unbuilt->count && n < max; i++)
        out[n++] = unbuilt->ports[i].info;
    return n;
}
