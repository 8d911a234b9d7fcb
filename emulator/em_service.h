/*
 * em_service: the runtime every service binary shares. A service is declared as data
 * (struct em_service_def: its descriptor, route table, lifecycle hooks) and started
 * with em_service_main(), which:
 *
 *   1. loads the configuration (em_config) and sets up logging;
 *   2. creates the data directory (a temporary one with --ephemeral, removed at exit)
 *      and opens metadata.db, the clock, IAM and the audit log;
 *   3. calls the service's open hook (its migrations and in-memory state);
 *   4. serves its routes plus the common ones on 127.0.0.1:<port base + offset>
 *      (internal: routes only for calls carrying the internal credential, em_trust.h):
 *        GET  /health                          liveness, {"status":"SERVING"}
 *        POST /emulator/v1/internal:tick       reload the clock, run timers due by now
 *        POST /emulator/v1/internal:reset      drop every resource of this service
 *        POST /emulator/v1/internal:flush      write buffered audit entries now
 *        POST /emulator/v1/internal:keyChecks  run every CMEK key check now
 *        POST /emulator/v1/internal:faults     reload the injected faults
 *   5. every second of real time, and on internal:tick: reloads the clock and the faults,
 *      runs the CMEK key checks due (when the service opened an engine, em_cmek.h) and
 *      then the tick hook, and finishes a purge of erased secrets that other readers held
 *      up (em_store_purge); between ticks, runs the engine's prompt retries as they fall
 *      due (resources waiting for KMS to come up); stops cleanly on SIGTERM/SIGINT.
 *
 * Ticks are serialised: the hook never runs on two threads at once.
 */
#ifndef EM_SERVICE_H
#define EM_SERVICE_H

#include "em_config.h"
#include "em_router.h"
#include "em_status.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct em_service;
struct em_store;
struct em_audit;
struct em_http;
struct em_call;

struct em_service_def {
    const struct em_service_desc *desc; /* name, port offset, ... (em_descriptor.h) */
    const struct em_route *routes;      /* ends with an entry whose method is NULL ... */
    size_t route_count;                 /* ... or has this many entries (0: use the end mark) */
    /* Hooks; any may be NULL. open sets svc->ctx. */
    enum em_code (*open)(struct em_service *svc, struct em_status *st);
    void (*close)(struct em_service *svc);
    enum em_code (*tick)(struct em_service *svc, int64_t now_ns, struct em_status *st);
    enum em_code (*reset)(struct em_service *svc, struct em_status *st);
    /* For the generic IAM methods (em_iam_handle_*): fails the call, NOT_FOUND, when the
     * resource of its path does not exist. NULL: every resource exists. */
    enum em_code (*iam_resource_check)(struct em_call *call);
    /* Under --iam enforce: the permission a call needs instead of its route's, or NULL for
     * the route's (a Spanner session with a database role needs
     * spanner.databases.useRoleBasedAccess, not the IAM data permissions). NULL: the
     * route's, always. */
    const char *(*permission_for)(struct em_call *call, const char *route_permission);
    /* Extra routes merged after the service's own (the control plane's). */
    const struct em_route *extra_routes; /* same convention as routes */
    size_t extra_route_count;
    /* Handlers may wait (Pub/Sub long-polling pulls, store jobs, calls to KMS): each call
     * runs on a worker thread (em_workers) while the HTTP threads serve other connections,
     * except the routes marked never_blocks. */
    bool blocking_handlers;
};

struct em_cmek;
struct em_operations;

struct em_service {
    const struct em_service_def *def;
    struct em_config config;
    struct em_store *store;
    struct em_audit *audit;
    struct em_cmek *cmek; /* set by em_cmek_open; NULL for services without CMEK */
    /* long-running operations (em_operations.h), set by the service's open hook and
     * closed by its close hook; NULL for services without them */
    struct em_operations *operations;
    struct em_router *router;
    struct em_http *http;
    void *ctx;
    pthread_mutex_t tick_lock;
    /* the ticker, a timer thread (em_service_main only): ticks and CMEK retries */
    pthread_t ticker;
    bool ticker_started, ticker_stopping;
    pthread_mutex_t ticker_lock;
    pthread_cond_t ticker_wake;
};

/* Exit statuses of a service process: 0 after a clean stop, EM_EXIT_CANNOT_LISTEN when
 * its port could not be bound (another program holds it, or --host is not an address of
 * this machine), 1 for any other failure to start. The supervisor reads them. */
#define EM_EXIT_CANNOT_LISTEN 3

/* The whole life of a service process; returns the exit status. */
int em_service_main(const struct em_service_def *def, int argc, char **argv);

/* Opens a service without HTTP or signals (unit tests, fuzz targets, benchmarks):
 * cfg->data_dir must exist. */
enum em_code em_service_open(const struct em_service_def *def, const struct em_config *cfg,
                             struct em_service **out, struct em_status *st);
void em_service_close(struct em_service *svc);

/* Reloads the clock and runs the key checks due and the tick hook for the current emulator
 * time: the control plane's tick after it moved the clock (KMS first, so that its timers
 * have run before any key check asks it), and each second from the service's own timer.
 * A timer tick that finds the clock moved only takes the new time: the control plane's
 * tick, on its way, runs the checks once KMS has caught up. */
enum em_code em_service_tick(struct em_service *svc, bool from_timer, struct em_status *st);

/* Makes a fresh temporary directory ("<root>/cmek-emulator.XXXXXX") into out. The root is
 * $TMPDIR when set; else /dev/shm when it is a memory file system with at least 1 GiB free
 * (a temporary directory goes at stop anyway: kept in memory, it costs no disk writes);
 * else /tmp. */
enum em_code em_make_temp_dir(char *out, size_t len, struct em_status *st);

/* Removes a directory tree (used for --ephemeral data directories). */
void em_remove_tree(const char *path);

#endif
