/*
 * control_supervisor: the service processes the control plane starts and watches.
 *
 * One child per service, started from the binary next to bin/emulator with the control
 * plane's configuration as flags (em_config_child_args) and its data directory, stdout
 * and stderr appended to <data dir>/logs/<service>.log. A child's life:
 *
 *            start / :start                 abnormal exit (crash, kill -9, exit != 0)
 *   STOPPED ---------------> RUNNING ------------------------------> RESTARTING
 *      ^                      |   ^                                      |
 *      |  :stop, clean exit   |   +------ backoff over (200 ms .. 5 s) --+
 *      +----------------------+                       (:stop also leads to STOPPED)
 *
 * Start-up order: KMS first. Every other service unwraps its resources' keys through KMS
 * when it starts, so it is started (and restarted) only once KMS accepts connections, or
 * at most 10 s after it was due; a service that comes up before KMS anyway retries its
 * key checks promptly (em_cmek.h), so the order only saves those retries.
 *
 * A clean exit (status 0, or SIGTERM/SIGINT) is someone stopping the service on purpose,
 * so it stays stopped. Any other exit is kept as the child's last_exit ("exited with
 * status 3 0.1 s after it started: it cannot listen on its port ..."), logged as an error
 * when it came at start-up, and shown by the status (lastExit), so scripts/start-all can
 * stop waiting and say why. Children get PR_SET_PDEATHSIG so they die with the control plane
 * even when it is killed with SIGKILL. Only the monitor thread forks: the death signal
 * follows the thread that forked, and the monitor lives as long as the supervisor.
 */
#ifndef CONTROL_SUPERVISOR_H
#define CONTROL_SUPERVISOR_H

#include "control.h"
#include "em_config.h"
#include "em_status.h"

#include <limits.h>
#include <stddef.h>

#define CONTROL_EXIT_TEXT_MAX 192

enum control_child_state {
    CONTROL_CHILD_STOPPED,
    CONTROL_CHILD_RUNNING,
    CONTROL_CHILD_RESTARTING,
};

/* A copy of one child's state, safe to use without the supervisor's lock. */
struct control_child_view {
    const struct em_service_desc *info;
    char url[64];
    enum control_child_state state;
    int pid; /* 0 when not running */
    int restarts;
    char log_path[PATH_MAX];
    char last_exit[CONTROL_EXIT_TEXT_MAX]; /* why it last ended unasked, "" if it never did */
};

struct control_supervisor;

/* Starts one child per service in cfg->services (see control_services_resolve), with
 * cfg->data_dir (which must exist) as their data directory. */
enum em_code control_supervisor_start(const struct em_config *cfg, struct control_supervisor **out,
                                      struct em_status *st);

/* SIGTERM to every child, up to 10 s for them to exit, then SIGKILL; frees sup. */
void control_supervisor_stop(struct control_supervisor *sup);

/* Copies the state of every child into out (at most max); returns the count. */
size_t control_supervisor_list(struct control_supervisor *sup, struct control_child_view *out,
                               size_t max);

/* Stops one service on purpose (SIGTERM, waits for it) so it stays stopped. */
enum em_code control_supervisor_stop_child(struct control_supervisor *sup, const char *name,
                                           struct control_child_view *view, struct em_status *st);

/* Starts one service again; returns once its process runs (not yet once it serves). */
enum em_code control_supervisor_start_child(struct control_supervisor *sup, const char *name,
                                            struct control_child_view *view, struct em_status *st);

/* "RUNNING", "STOPPED", "RESTARTING". */
const char *control_child_state_name(enum control_child_state state);

/* The directory of the running executable (where the service binaries are). */
enum em_code control_bin_dir(char *out, size_t len, struct em_status *st);

#endif
