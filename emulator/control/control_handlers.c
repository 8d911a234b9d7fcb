/*
 * control_handlers: one thin function per REST method of the control plane: read the
 * call, ask the domain (supervisor, clock, projects, logging), shape the reply.
 *
 * Emulator API (README, "The control plane"):
 *   GET  /emulator/v1/status                   services, data dir, IAM mode, clock
 *   GET  /emulator/v1/clock                    {"now", "offset"}
 *   POST /emulator/v1/clock:advance            {"seconds": N} or {"duration": "300s"};
 *                                              returns after every service ticked
 *   POST /emulator/v1/reset                    every service's resources, clock, IAM,
 *                                              audit log and projects
 *   POST /emulator/v1/services/{s}:stop|start  one service, on purpose
 * IAM on projects, folders and organizations, and Logging v2 entries:list (Resource
 * Manager's projects are in control_projects_api.c, folders in control_folders_api.c).
 */
#include "control.h"

#include "control_http.h"
#include "control_logging.h"
#include "control_folders.h"
#include "control_liens.h"
#include "control_projects.h"
#include "control_supervisor.h"
#include "em_audit.h"
#include "em_call.h"
#include "em_clock.h"
#include "em_ekm.h"
#include "em_faults.h"
#include "em_iam.h"
#include "em_names.h"
#include "em_json.h"
#include "em_orgpolicy.h"
#include "em_list.h"
#include "em_service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEALTH_TIMEOUT_MS    1000
#define START_HEALTH_WAIT_MS 10000
#define ADVANCE_MAX_SECONDS  (100LL * 366 * 24 * 3600) /* a century is plenty */

#define TICK_PATH  "emulator/v1/internal:tick"
#define RESET_PATH "emulator/v1/internal:reset"
#define FLUSH_PATH "emulator/v1/internal:flush"

static struct control *control_of(struct em_call *call)
{
    return call->svc->ctx;
}

/* --- services and status --- */

static cJSON *service_json(const struct control_child_view *view, bool healthy)
{
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "name", view->info->name);
    cJSON_AddStringToObject(json, "url", view->url);
    cJSON_AddStringToObject(json, "state", control_child_state_name(view->state));
    cJSON_AddBoolToObject(json, "healthy", healthy);
    cJSON_AddNumberToObject(json, "pid", view->pid);
    cJSON_AddNumberToObject(json, "restarts", view->restarts);
    cJSON_AddStringToObject(json, "log", view->log_path);
    cJSON_AddStringToObject(json, "lastExit", view->last_exit);
    return json;
}

void control_probe_health(const struct control_child_view *views, size_t n, long wait_ms,
                          bool *healthy)
{
    struct control_request reqs[CONTROL_SERVICE_MAX];
    for (size_t i = 0; i < n; i++) {
        reqs[i] = (struct control_request){
            .target = views[i].info->name,
            .method = "GET",
            .timeout_ms = HEALTH_TIMEOUT_MS,
            .connect_retry_ms = wait_ms,
        };
        snprintf(reqs[i].url, sizeof(reqs[i].url), "%s/health", views[i].url);
    }
    control_http_perform(reqs, n);
    for (size_t i = 0; i < n; i++)
        healthy[i] = views[i].state == CONTROL_CHILD_RUNNING && control_request_succeeded(&reqs[i]);
    control_http_release(reqs, n);
}

/* The ports answered UNIMPLEMENTED because their service is not built (control_unbuilt.c). */
static void add_unbuilt(cJSON *reply, const struct control_unbuilt *unbuilt,
                        const struct em_config *cfg)
{
    const struct em_service_desc *infos[CONTROL_SERVICE_MAX];
    size_t n = control_unbuilt_list(unbuilt, infos, CONTROL_SERVICE_MAX);
    cJSON *list = cJSON_AddArrayToObject(reply, "unimplementedServices");
    for (size_t i = 0; i < n; i++) {
        char url[64];
        em_config_url(cfg, infos[i]->port, url, sizeof(url));
        cJSON *item = cJSON_CreateObject();
        cJSON_AddStringToObject(item, "name", infos[i]->name);
        cJSON_AddStringToObject(item, "product", infos[i]->product);
        cJSON_AddStringToObject(item, "url", url);
        cJSON_AddItemToArray(list, item);
    }
}

static void add_clock(cJSON *reply, const char *offset_field)
{
    em_json_add_time(reply, "now", em_clock_now());
    em_json_add_duration(reply, offset_field, em_clock_offset());
}

enum em_code control_get_status(struct em_call *call)
{
    struct control *ctl = control_of(call);
    struct control_child_view views[CONTROL_SERVICE_MAX];
    bool healthy[CONTROL_SERVICE_MAX];
    size_t n = control_supervisor_list(ctl->supervisor, views, CONTROL_SERVICE_MAX);
    control_probe_health(views, n, 0, healthy);
    cJSON *reply = cJSON_CreateObject();
    cJSON *services = cJSON_AddArrayToObject(reply, "services");
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(services, service_json(&views[i], healthy[i]));
    add_unbuilt(reply, ctl->unbuilt, &call->svc->config);
    cJSON_AddStringToObject(reply, "dataDir", ctl->data_dir);
    cJSON_AddBoolToObject(reply, "ephemeral", call->svc->config.ephemeral);
    cJSON_AddStringToObject(reply, "iam", call->svc->config.iam_enforce ? "enforce" : "off");
    if (em_clock_reload(call->svc->store, &call->status))
        return call->status.code;
    add_clock(reply, "clockOffset");
    return em_call_reply(call, reply);
}

enum em_code control_stop_service(struct em_call *call)
{
    struct control_child_view view;
    if (control_supervisor_stop_child(control_of(call)->supervisor, em_call_var(call, "service"),
                                      &view, &call->status))
        return call->status.code;
    return em_call_reply(call, service_json(&view, false));
}

enum em_code control_start_service(struct em_call *call)
{
    struct control_child_view view;
    bool healthy;
    if (control_supervisor_start_child(control_of(call)->supervisor, em_call_var(call, "service"),
                                       &view, &call->status))
        return call->status.code;
    control_probe_health(&view, 1, START_HEALTH_WAIT_MS, &healthy);
    if (!healthy)
        return EM_CALL_FAIL(call, EM_UNAVAILABLE,
                            "Service %s was started (pid %d) but does not answer %s/health; "
                            "see %s.",
                            view.info->name, view.pid, view.url, view.log_path);
    return em_call_reply(call, service_json(&view, true));
}

/* --- clock --- */

enum em_code control_get_clock(struct em_call *call)
{
    if (em_clock_reload(call->svc->store, &call->status))
        return call->status.code;
    cJSON *reply = cJSON_CreateObject();
    add_clock(reply, "offset");
    return em_call_reply(call, reply);
}

static enum em_code check_advance(struct em_call *call, int64_t seconds)
{
    if (seconds < 0)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "The emulator clock only moves forward: seconds must be >= 0, got "
                            "%lld.",
                            (long long)seconds);
    if (seconds > ADVANCE_MAX_SECONDS)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "seconds must be at most %lld (a century), got %lld.",
                            (long long)ADVANCE_MAX_SECONDS, (long long)seconds);
    return EM_OK;
}

/* The amount to advance, from {"seconds": N} or {"duration": "Ns"}. */
static enum em_code advance_amount(struct em_call *call, int64_t *delta_ns)
{
    const cJSON *seconds = cJSON_GetObjectItemCaseSensitive(call->body, "seconds");
    const char *duration = em_json_string(call->body, "duration");
    int64_t n;
    if (seconds && duration)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "Give either seconds or duration, not both.");
    if (duration) {
        em_duration_parse(duration, delta_ns); /* the schema checked the syntax */
        if (*delta_ns < 0)
            return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                                "The emulator clock only moves forward: duration must be >= 0, "
                                "got \"%.40s\".",
                                duration);
        return check_advance(call, *delta_ns / EM_NS_PER_SEC);
    }
    if (!seconds || !em_json_value_int64(seconds, &n))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "seconds is required: how far to move the emulator clock, e.g. "
                            "{\"seconds\": 300}.");
    if (check_advance(call, n))
        return call->status.code;
    *delta_ns = n * EM_NS_PER_SEC;
    return EM_OK;
}

enum em_code control_advance_clock(struct em_call *call)
{
    int64_t delta_ns, offset;
    if (advance_amount(call, &delta_ns) ||
        em_clock_advance(call->svc->store, delta_ns, &offset, &call->status))
        return call->status.code;
    cJSON *ticked = cJSON_CreateArray();
    if (control_services_call(control_of(call)->supervisor, TICK_PATH, ticked, &call->status)) {
        cJSON_Delete(ticked);
        return call->status.code;
    }
    cJSON *reply = cJSON_CreateObject();
    add_clock(reply, "offset");
    cJSON_AddItemToObject(reply, "services", ticked);
    return em_call_reply(call, reply);
}

/* --- reset --- */

static enum em_code clear_core_tables(struct em_service *svc, struct em_status *st)
{
    if (em_audit_flush(svc->audit, st) || em_clock_reset(svc->store, st) ||
        em_iam_clear(svc->store, st) || em_orgpolicy_clear_all(svc->store, st) ||
        em_audit_clear(svc->store, st) || em_faults_set_kms_unreachable(svc->store, false, st) ||
        em_faults_set_ekm_unreachable(svc->store, false, st) || em_ekm_reset(svc->store, st) ||
        control_projects_clear(svc->store, st) || control_folders_clear(svc->store, st) ||
        control_serviceusage_clear(svc->store, st) || control_liens_clear(svc->store, st))
        return st->code;
    return EM_OK;
}

enum em_code control_reset(struct em_call *call)
{
    struct control_supervisor *sup = control_of(call)->supervisor;
    cJSON *reset = cJSON_CreateArray();
    /* flush first so no buffered entry of the old world lands after the clear */
    if (control_services_call(sup, FLUSH_PATH, NULL, &call->status) ||
        control_services_call(sup, RESET_PATH, reset, &call->status) ||
        clear_core_tables(call->svc, &call->status) ||
        control_services_call(sup, TICK_PATH, NULL, &call->status)) {
        cJSON_Delete(reset);
        return call->status.code;
    }
    cJSON *reply = cJSON_CreateObject();
    add_clock(reply, "offset");
    cJSON_AddItemToObject(reply, "services", reset);
    return em_call_reply(call, reply);
}

/* --- Logging v2 --- */

/* The caller needs logging.logEntries.list on every project it reads (IAM enforce). */
static enum em_code authorize_log_read(struct em_call *call)
{
    static const char *const fields[] = {"resourceNames", "projectIds"};
    for (int f = 0; f < 2; f++) {
        const cJSON *item;
        cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(call->body, fields[f]))
        {
            char name[EM_RESOURCE_MAX];
            snprintf(name, sizeof(name), "%s%s", f == 0 ? "" : "projects/",
                     cJSON_IsString(item) ? item->valuestring : "");
            if (em_iam_check(call->svc->store, &call->svc->config, call->principal, name,
                             "logging.logEntries.list", &call->status))
                return call->status.code;
        }
    }
    return EM_OK;
}

enum em_code control_flush_audit(struct em_call *call)
{
    if (control_services_call(control_of(call)->supervisor, FLUSH_PATH, NULL, &call->status))
        return call->status.code;
    return em_audit_flush(call->svc->audit, &call->status);
}

enum em_code control_list_log_entries(struct em_call *call)
{
    if (authorize_log_read(call) || control_flush_audit(call))
        return call->status.code;
    cJSON *reply;
    if (control_log_list(call->svc->store, call->body, CONTROL_LOG_SCAN_LIMIT, &reply,
                         &call->status))
        return call->status.code;
    return em_call_reply(call, reply);
}
