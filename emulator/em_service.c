/*
 * em_service: process lifecycle shared by every service (see em_service.h).
 */
#include "em_service.h"

#include "em_api_state.h"
#include "em_audit.h"
#include "em_call.h"
#include "em_clock.h"
#include "em_cmek.h"
#include "em_crypto.h"
#include "em_faults.h"
#include "em_http.h"
#include "em_iam.h"
#include "em_orgpolicy.h"
#include "em_json.h"
#include "em_kms_client.h"
#include "em_log.h"
#include "em_store.h"
#include "em_trust.h"

#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

/* --- the routes every service answers --- */

static enum em_code handle_health(struct em_call *call)
{
    cJSON *reply = cJSON_CreateObject();
    cJSON_AddStringToObject(reply, "status", "SERVING");
    cJSON_AddStringToObject(reply, "service", call->svc->def->desc->name);
    return em_call_reply(call, reply);
}

static enum em_code handle_tick(struct em_call *call)
{
    if (em_service_tick(call->svc, false, &call->status))
        return call->status.code;
    cJSON *reply = cJSON_CreateObject();
    em_json_add_time(reply, "now", em_clock_now());
    return em_call_reply(call, reply);
}

static enum em_code handle_reset(struct em_call *call)
{
    struct em_service *svc = call->svc;
    pthread_mutex_lock(&svc->tick_lock);
    enum em_code code = svc->def->reset ? svc->def->reset(svc, &call->status) : EM_OK;
    pthread_mutex_unlock(&svc->tick_lock);
    if (code)
        return code;
    return em_call_reply(call, cJSON_CreateObject());
}

static enum em_code handle_flush(struct em_call *call)
{
    if (em_audit_flush(call->svc->audit, &call->status))
        return call->status.code;
    return em_call_reply(call, cJSON_CreateObject());
}

static enum em_code handle_key_checks(struct em_call *call)
{
    struct em_service *svc = call->svc;
    if (svc->cmek && em_cmek_check_all(svc->cmek, em_clock_now(), &call->status))
        return call->status.code;
    return em_call_reply(call, cJSON_CreateObject());
}

static enum em_code handle_apis(struct em_call *call)
{
    if (em_api_state_load(call->svc->store, &call->status))
        return call->status.code;
    return em_call_reply(call, cJSON_CreateObject());
}

static enum em_code handle_faults(struct em_call *call)
{
    if (em_faults_reload(call->svc->store, &call->status))
        return call->status.code;
    return em_call_reply(call, cJSON_CreateObject());
}

static const struct em_route common_routes[] = {
    {"GET", "health", handle_health, "Health", .never_blocks = true},
    {"POST", "emulator/v1/internal:tick", handle_tick, "Tick", .internal = true},
    {"POST", "emulator/v1/internal:reset", handle_reset, "Reset", .internal = true},
    {"POST", "emulator/v1/internal:flush", handle_flush, "Flush", .internal = true},
    {"POST", "emulator/v1/internal:keyChecks", handle_key_checks, "RunKeyChecks", .internal = true},
    {"POST", "emulator/v1/internal:faults", handle_faults, "ReloadFaults", .internal = true},
    {"POST", EM_API_STATE_RELOAD_PATH, handle_apis, "ReloadApiStates", .internal = true},
};

/* --- files --- */

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void em_remove_tree(const char *path)
{
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#define MEMORY_ROOT          "/dev/shm"
#define MEMORY_ROOT_MIN_FREE (1ull << 30)
#define TMPFS_MAGIC_NUMBER   0x01021994

/* Whether /dev/shm is a writable memory file system with room for a stack's data (in a
 * container it is often 64 MiB: too small, so /tmp is used there). */
static bool memory_root_usable(void)
{
    struct statfs fs;
    if (statfs(MEMORY_ROOT, &fs) != 0 || fs.f_type != TMPFS_MAGIC_NUMBER)
        return false;
    if ((unsigned long long)fs.f_bavail * (unsigned long long)fs.f_bsize < MEMORY_ROOT_MIN_FREE)
        return false;
    return access(MEMORY_ROOT, W_OK | X_OK) == 0;
}

static const char *temp_root(void)
{
    const char *tmp = getenv("TMPDIR");
    if (tmp && *tmp)
        return tmp;
    return memory_root_usable() ? MEMORY_ROOT : "/tmp";
}

enum em_code em_make_temp_dir(char *out, size_t len, struct em_status *st)
{
    snprintf(out, len, "%s/cmek-emulator.XXXXXX", temp_root());
    if (!mkdtemp(out))
        return EM_FAIL(st, EM_INTERNAL, "cannot create a temporary directory: %s", strerror(errno));
    return EM_OK;
}

static enum em_code make_data_dir(const char *path, struct em_status *st)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return EM_FAIL(st, EM_INTERNAL, "cannot create data directory %s: %s", path,
                       strerror(errno));
    return EM_OK;
}

/* --- open / close --- */

/* The number of routes in a table: the given count, or up to the NULL-method end mark. */
static size_t route_table_size(const struct em_route *routes, size_t count)
{
    if (count || !routes)
        return count;
    while (routes[count].method)
        count++;
    return count;
}

static enum em_code open_core(struct em_service *svc, struct em_status *st)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/metadata.db", svc->config.data_dir);
    em_kms_client_init(&svc->config);
    if (em_trust_open(svc->config.data_dir, st) || em_store_open(path, &svc->store, st) ||
        em_clock_open(svc->store, st) || em_iam_open(svc->store, st) ||
        em_orgpolicy_open(svc->store, st) || em_faults_open(svc->store, st) ||
        em_api_state_open(svc->store, st) || em_api_state_load(svc->store, st) ||
        em_audit_open(svc->store, svc->config.audit_max_entries, &svc->audit, st))
        return st->code;
    /* a crash may have come between an erasure and its purge: the first tick finishes it */
    em_store_purge_later(svc->store);
    svc->router = em_router_new();
    if (!svc->router)
        return EM_FAIL_OOM(st);
    const struct em_service_def *def = svc->def;
    if (em_router_add(svc->router, common_routes, sizeof(common_routes) / sizeof(common_routes[0]),
                      st) ||
        em_router_add(svc->router, def->routes, route_table_size(def->routes, def->route_count),
                      st) ||
        (def->extra_routes &&
         em_router_add(svc->router, def->extra_routes,
                       route_table_size(def->extra_routes, def->extra_route_count), st)))
        return st->code;
    return EM_OK;
}

enum em_code em_service_open(const struct em_service_def *def, const struct em_config *cfg,
                             struct em_service **out, struct em_status *st)
{
    struct em_service *svc = calloc(1, sizeof(*svc));
    if (!svc)
        return EM_FAIL_OOM(st);
    svc->def = def;
    svc->config = *cfg;
    pthread_mutex_init(&svc->tick_lock, NULL);
    if (open_core(svc, st) || (def->open && def->open(svc, st))) {
        em_service_close(svc);
        return st->code;
    }
    *out = svc;
    return EM_OK;
}

static void ticker_stop(struct em_service *svc);

void em_service_close(struct em_service *svc)
{
    if (!svc)
        return;
    em_http_stop(svc->http);
    ticker_stop(svc);
    if (svc->def->close)
        svc->def->close(svc);
    em_cmek_close(svc->cmek);
    em_audit_close(svc->audit);
    em_router_free(svc->router);
    em_store_close(svc->store);
    pthread_mutex_destroy(&svc->tick_lock);
    free(svc);
}

enum em_code em_service_tick(struct em_service *svc, bool from_timer, struct em_status *st)
{
    pthread_mutex_lock(&svc->tick_lock);
    int64_t offset = em_clock_offset();
    enum em_code code = em_clock_reload(svc->store, st);
    if (!code && from_timer && em_clock_offset() != offset) {
        /* the control plane moved the clock and is ticking KMS, then this service: checking
         * keys now could ask KMS before its timers (a scheduled destruction) have run */
        pthread_mutex_unlock(&svc->tick_lock);
        return EM_OK;
    }
    if (!code)
        code = em_faults_reload(svc->store, st);
    if (!code)
        code = em_api_state_load(svc->store, st);
    if (!code && svc->cmek)
        code = em_cmek_tick(svc->cmek, em_clock_now(), st);
    if (!code && svc->def->tick)
        code = svc->def->tick(svc, em_clock_now(), st);
    pthread_mutex_unlock(&svc->tick_lock);
    struct em_status purge = {0};
    if (em_store_purge_pending(svc->store) && em_store_purge(svc->store, &purge))
        em_warn("timer: deleted secrets are still in the WAL: %s", purge.message);
    return code;
}

/* --- the ticker: the timer thread ---
 *
 * Ticks every second; in between, runs the CMEK engine's prompt retries when they are due
 * (a resource waiting for KMS to come up, em_cmek.h). A thread of its own: a tick may wait
 * for a database's writer (Spanner's row deletion behind a long statement), and the main
 * thread must stay free to take SIGTERM, whose em_http_stop ends such a statement. */

static void ticker_run_due(struct em_service *svc, int64_t *next_tick)
{
    struct em_status st = {0};
    if (svc->cmek && em_cmek_retry(svc->cmek, &st))
        em_warn("key check retry: %s", st.message);
    if (em_clock_monotonic() < *next_tick)
        return;
    *next_tick = em_clock_monotonic() + EM_NS_PER_SEC;
    em_status_clear(&st);
    if (em_service_tick(svc, true, &st))
        em_warn("timer: %s", st.message);
}

static void *ticker_main(void *arg)
{
    struct em_service *svc = arg;
    int64_t next_tick = em_clock_monotonic() + EM_NS_PER_SEC;
    pthread_mutex_lock(&svc->ticker_lock);
    while (!svc->ticker_stopping) {
        int64_t wake = next_tick;
        int64_t retry = svc->cmek ? em_cmek_retry_due(svc->cmek) : INT64_MAX;
        if (retry < wake)
            wake = retry;
        struct timespec until = {(time_t)(wake / EM_NS_PER_SEC), (long)(wake % EM_NS_PER_SEC)};
        pthread_cond_timedwait(&svc->ticker_wake, &svc->ticker_lock, &until);
        if (svc->ticker_stopping)
            break;
        pthread_mutex_unlock(&svc->ticker_lock);
        ticker_run_due(svc, &next_tick);
        pthread_mutex_lock(&svc->ticker_lock);
    }
    pthread_mutex_unlock(&svc->ticker_lock);
    return NULL;
}

static enum em_code ticker_start(struct em_service *svc, struct em_status *st)
{
    if (em_clock_cond_init(&svc->ticker_wake) != 0)
        return EM_FAIL(st, EM_INTERNAL, "cannot create the timer");
    pthread_mutex_init(&svc->ticker_lock, NULL);
    if (pthread_create(&svc->ticker, NULL, ticker_main, svc) != 0) {
        pthread_cond_destroy(&svc->ticker_wake);
        pthread_mutex_destroy(&svc->ticker_lock);
        return EM_FAIL(st, EM_INTERNAL, "cannot start the timer thread");
    }
    svc->ticker_started = true;
    return EM_OK;
}

/* After em_http_stop: a tick waiting for a database then goes on, and ends. */
static void ticker_stop(struct em_service *svc)
{
    if (!svc->ticker_started)
        return;
    pthread_mutex_lock(&svc->ticker_lock);
    svc->ticker_stopping = true;
    pthread_cond_signal(&svc->ticker_wake);
    pthread_mutex_unlock(&svc->ticker_lock);
    pthread_join(svc->ticker, NULL);
    pthread_cond_destroy(&svc->ticker_wake);
    pthread_mutex_destroy(&svc->ticker_lock);
    svc->ticker_started = false;
}

/* --- main --- */

static int wait_for_stop(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) == 0 && (sig == SIGTERM || sig == SIGINT))
            return sig;
    }
}

static void block_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static enum em_code prepare_data_dir(struct em_config *cfg, struct em_status *st)
{
    if (cfg->ephemeral)
        return em_make_temp_dir(cfg->data_dir, sizeof(cfg->data_dir), st);
    return make_data_dir(cfg->data_dir, st);
}

static enum em_code serve(struct em_service *svc, struct em_status *st)
{
    struct em_http_options opt = {
        .host = svc->config.host,
        .port = svc->config.port_base + svc->def->desc->port,
        .threads = svc->def->desc->port == EM_PORT_CONTROL ? 0 : svc->config.threads,
        .max_body = svc->config.max_body_bytes,
    };
    if (em_http_start(&opt, svc->router, svc, &svc->http, st))
        return st->code;
    em_info("%s listening on http://%s:%d (data %s)", svc->def->desc->name, opt.host, opt.port,
            svc->config.data_dir);
    return EM_OK;
}

int em_service_main(const struct em_service_def *def, int argc, char **argv)
{
    struct em_config cfg;
    struct em_status st = {0};
    bool help;
    if (em_config_load(&cfg, argc, argv, &help, &st)) {
        fprintf(stderr, "%s: %s\n", def->desc->name, st.message);
        return 2;
    }
    if (help) {
        em_config_usage(argv[0]);
        return 0;
    }
    em_log_init(def->desc->name, (enum em_log_level)cfg.log_level);
    umask(077); /* data files, keys and logs are readable by this user only */
    block_signals();
    if (em_crypto_init(&st) || prepare_data_dir(&cfg, &st)) {
        em_error("%s", st.message);
        return 1;
    }
    struct em_service *svc = NULL;
    int status = 1;
    if (em_service_open(def, &cfg, &svc, &st) != EM_OK) {
        em_error("%s cannot start: %s", def->desc->name, st.message);
    } else if (serve(svc, &st) != EM_OK) {
        em_error("%s cannot start: %s", def->desc->name, st.message);
        status = EM_EXIT_CANNOT_LISTEN;
    } else if (ticker_start(svc, &st) != EM_OK) {
        em_error("%s cannot start: %s", def->desc->name, st.message);
    } else {
        int sig = wait_for_stop();
        em_info("%s stopping (signal %d)", def->desc->name, sig);
        status = 0;
    }
    em_service_close(svc);
    if (cfg.ephemeral)
        em_remove_tree(cfg.data_dir);
    return status;
}
