/*
 * control_lifecycle: the control plane's hooks into the service runtime: open (curl,
 * the projects table, the ports of services not built yet, the supervisor that starts
 * every service), close (stops every service before the data directory can go away) and
 * reset (forgets projects).
 */
#include "control.h"

#include "control_folders.h"
#include "control_http.h"
#include "control_liens.h"
#include "control_projects.h"
#include "control_supervisor.h"
#include "em_ekm.h"
#include "em_service.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum em_code control_open(struct em_service *svc, struct em_status *st)
{
    struct control *ctl = calloc(1, sizeof(*ctl));
    if (!ctl)
        return EM_FAIL_OOM(st);
    svc->ctx = ctl;
    if (!realpath(svc->config.data_dir, ctl->data_dir))
        return EM_FAIL(st, EM_INTERNAL, "data directory %s: %s", svc->config.data_dir,
                       strerror(errno));
    if (control_http_init(st))
        return st->code;
    ctl->http_ready = true;
    if (control_projects_open(svc->store, st) || control_folders_open(svc->store, st) ||
        control_serviceusage_open(svc->store, st) || control_liens_open(svc->store, st) ||
        em_ekm_open(svc->store, ctl->data_dir, st))
        return st->code;
    char bin_dir[PATH_MAX];
    if (control_bin_dir(bin_dir, sizeof(bin_dir), st) ||
        control_unbuilt_start(&svc->config, bin_dir, &ctl->unbuilt, st))
        return st->code;
    struct em_config children = svc->config;
    memcpy(children.data_dir, ctl->data_dir, sizeof(children.data_dir));
    return control_supervisor_start(&children, &ctl->supervisor, st);
}

void control_close(struct em_service *svc)
{
    struct control *ctl = svc->ctx;
    if (!ctl)
        return;
    control_unbuilt_stop(ctl->unbuilt);
    control_supervisor_stop(ctl->supervisor);
    em_ekm_close();
    if (ctl->http_ready)
        control_http_cleanup();
    free(ctl);
    svc->ctx = NULL;
}

enum em_code control_reset_state(struct em_service *svc, struct em_status *st)
{
    return control_projects_clear(svc->store, st);
}
