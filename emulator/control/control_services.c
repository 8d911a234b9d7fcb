/*
 * control_services: which of the known services (em_services[], em_descriptor.h) to
 * start (--services), which are not built yet, and the internal calls the control plane
 * makes to every running one (tick, reset, flush).
 */
#include "control.h"

#include "control_http.h"
#include "control_supervisor.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CALL_TIMEOUT_MS       60000 /* a tick may run many key checks */
#define CALL_CONNECT_RETRY_MS 5000  /* a service just (re)started is not listening yet */

bool control_service_is_child(const struct em_service_desc *desc)
{
    return desc != &control_descriptor;
}

/* --- --services --- */

static bool binary_exists(const char *bin_dir, const char *name)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", bin_dir, name);
    return access(path, X_OK) == 0;
}

/* Whether the comma-separated list names the service (spaces around names allowed). */
static bool list_names(const char *list, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ", ");
        if (n == len && strncmp(p, name, len) == 0)
            return true;
        p += n;
    }
    return false;
}

/* "kms, pubsub, ...": the names of the child services, for messages. */
static void child_names(char *out, size_t len)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; em_services[i] && used < len; i++)
        if (control_service_is_child(em_services[i]))
            used += (size_t)snprintf(out + used, len - used, "%s%s", used ? ", " : "",
                                     em_services[i]->name);
}

/* Every name in the list must be a child service. */
static enum em_code check_names(const char *list, struct em_status *st)
{
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ", ");
        char name[32], known[200];
        snprintf(name, sizeof(name), "%.*s", (int)(n < sizeof(name) ? n : sizeof(name) - 1), p);
        const struct em_service_desc *desc = em_service_desc_find(name);
        if (n > 0 && (!desc || !control_service_is_child(desc))) {
            child_names(known, sizeof(known));
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "--services: unknown service \"%s\" (known: %s, or all, or none)", name,
                           known);
        }
        p += n;
    }
    return EM_OK;
}

static bool list_is(const char *list, const char *word)
{
    while (*list == ' ')
        list++;
    size_t n = strlen(word);
    if (strncmp(list, word, n) != 0)
        return false;
    for (list += n; *list == ' '; list++)
        ;
    return *list == '\0';
}

enum em_code control_services_resolve(const char *list, const char *bin_dir,
                                      const struct em_service_desc **out, size_t max, size_t *count,
                                      struct em_status *st)
{
    *count = 0;
    bool all = list_is(list, "all");
    if (list_is(list, "none"))
        return EM_OK;
    if (!all && check_names(list, st))
        return st->code;
    for (size_t i = 0; em_services[i] && *count < max; i++) {
        const struct em_service_desc *info = em_services[i];
        if (!control_service_is_child(info) || !(all || list_names(list, info->name)))
            continue;
        bool built = binary_exists(bin_dir, info->name);
        if (!built && !all)
            return EM_FAIL(st, EM_FAILED_PRECONDITION,
                           "--services: %s has no binary at %s/%s (build it with make)", info->name,
                           bin_dir, info->name);
        if (built)
            out[(*count)++] = info;
    }
    return EM_OK;
}

size_t control_services_unbuilt(const char *bin_dir, const struct em_service_desc **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; em_services[i] && n < max; i++)
        if (control_service_is_child(em_services[i]) &&
            !binary_exists(bin_dir, em_services[i]->name))
            out[n++] = em_services[i];
    return n;
}

/* --- calls to every running service --- */

static void failure_text(const struct control_request *r, char *out, size_t len)
{
    if (r->http_status == 0)
        snprintf(out, len, "%s (%s)", r->target, r->error);
    else
        snprintf(out, len, "%s (HTTP %ld: %.200s)", r->target, r->http_status,
                 r->response ? r->response : "");
}

static enum em_code collect(struct control_request *reqs, size_t n, cJSON *names, const char *path,
                            struct em_status *st)
{
    char failed[EM_STATUS_MESSAGE_MAX - 100] = "";
    for (size_t i = 0; i < n; i++) {
        if (control_request_succeeded(&reqs[i])) {
            if (names)
                cJSON_AddItemToArray(names, cJSON_CreateString(reqs[i].target));
            continue;
        }
        char one[300];
        failure_text(&reqs[i], one, sizeof(one));
        size_t used = strlen(failed);
        snprintf(failed + used, sizeof(failed) - used, "%s%s", used ? "; " : "", one);
    }
    if (!failed[0])
        return EM_OK;
    return EM_FAIL(st, EM_UNAVAILABLE, "Service did not answer %s: %s", path, failed);
}

/* The requests of one phase: KMS alone, or every other running service. */
static size_t build_requests(const struct control_child_view *views, size_t count, const char *path,
                             bool kms_phase, struct control_request *reqs)
{
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        bool is_kms = strcmp(views[i].info->name, "kms") == 0;
        if (views[i].state != CONTROL_CHILD_RUNNING || is_kms != kms_phase)
            continue;
        reqs[n] = (struct control_request){
            .target = views[i].info->name,
            .method = "POST",
            .body = "{}",
            .timeout_ms = CALL_TIMEOUT_MS,
            .connect_retry_ms = CALL_CONNECT_RETRY_MS,
        };
        snprintf(reqs[n].url, sizeof(reqs[n].url), "%s/%s", views[i].url, path);
        n++;
    }
    return n;
}

/* KMS is called first and alone: when the clock moves, its timers (destruction,
 * rotation) must have run before the other services' key checks ask it anything. */
enum em_code control_services_call(struct control_supervisor *sup, const char *path, cJSON *names,
                                   struct em_status *st)
{
    struct control_child_view views[CONTROL_SERVICE_MAX];
    struct control_request reqs[CONTROL_SERVICE_MAX];
    size_t count = control_supervisor_list(sup, views, CONTROL_SERVICE_MAX);
    enum em_code code = EM_OK;
    for (int phase = 0; phase < 2; phase++) {
        size_t n = build_requests(views, count, path, phase == 0, reqs);
        control_http_perform(reqs, n);
        enum em_code phase_code = collect(reqs, n, names, path, st);
        control_http_release(reqs, n);
        if (!code)
            code = phase_code; /* the other services are still called when KMS failed */
    }
    return code;
}
