/*
 * control_supervisor: child processes of the control plane (see control_supervisor.h for
 * the state machine).
 *
 * Locking: every field of the supervisor and its children is guarded by `lock`. The
 * monitor thread wakes every 50 ms (or when signalled through `changed`), reaps children
 * with waitpid(WNOHANG) and starts those that are due; it is the only thread that forks
 * or reaps. Handlers change what is wanted and wait on `changed` for the monitor to act,
 * always with a deadline.
 *
 * Between fork and exec the child only makes async-signal-safe calls: everything it
 * needs (argv, the log file, /dev/null) is prepared by the parent before fork.
 */
#include "control_supervisor.h"

#include "em_clock.h"
#include "em_log.h"
#include "em_service.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BACKOFF_FIRST_MS  200
#define BACKOFF_MAX_MS    5000
#define STABLE_RUN_MS     10000 /* a child that ran this long starts its backoff afresh */
#define STOP_GRACE_MS     10000 /* SIGTERM -> SIGKILL */
#define KILL_WAIT_MS      5000
#define SPAWN_WAIT_MS     5000
#define MONITOR_PERIOD_MS 50
#define KMS_FIRST_WAIT_MS 10000 /* the other services wait this long at most for KMS */
#define START_UP_MS       2000  /* an exit this soon after the start is a failure to start */

struct child {
    const struct em_service_desc *info;
    char binary[PATH_MAX];
    char log_path[PATH_MAX];
    char url[64];
    pid_t pid; /* 0 when not running */
    bool wanted;
    enum control_child_state state;
    int restarts;
    long backoff_ms;
    long due_ms; /* when a wanted child that is not running gets started */
    long started_ms;
    char last_exit[CONTROL_EXIT_TEXT_MAX];
};

struct control_supervisor {
    pthread_mutex_t lock;
    pthread_cond_t changed; /* any child changed, or the monitor should look again */
    pthread_t monitor;
    bool stopping;
    long give_up_ms; /* once stopping: the monitor leaves by then whatever happens */
    pid_t self;
    struct child children[CONTROL_SERVICE_MAX];
    size_t count;
    struct em_config_args args; /* argv[0] is replaced by each child's binary */
    char kms_host[64];          /* where the KMS child listens, for the start-up order */
    int kms_port;
};

const char *control_child_state_name(enum control_child_state state)
{
    switch (state) {
    case CONTROL_CHILD_RUNNING:
        return "RUNNING";
    case CONTROL_CHILD_RESTARTING:
        return "RESTARTING";
    case CONTROL_CHILD_STOPPED:
        break;
    }
    return "STOPPED";
}

enum em_code control_bin_dir(char *out, size_t len, struct em_status *st)
{
    ssize_t n = readlink("/proc/self/exe", out, len - 1);
    if (n <= 0 || (size_t)n >= len - 1)
        return EM_FAIL(st, EM_INTERNAL, "cannot find the running executable: %s",
                       n < 0 ? strerror(errno) : "path too long");
    out[n] = '\0';
    char *slash = strrchr(out, '/');
    if (slash)
        *slash = '\0';
    return EM_OK;
}

/* --- waiting --- */

/* Waits on `changed` (lock held) until done(sup, arg) or ms pass; returns done(). */
static bool wait_until(struct control_supervisor *sup,
                       bool (*done)(struct control_supervisor *, void *), void *arg, long ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += ms / 1000;
    deadline.tv_nsec += (ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    while (!done(sup, arg))
        if (pthread_cond_timedwait(&sup->changed, &sup->lock, &deadline) == ETIMEDOUT)
            return done(sup, arg);
    return true;
}

static bool child_exited(struct control_supervisor *sup, void *arg)
{
    (void)sup;
    return ((struct child *)arg)->pid == 0;
}

static bool child_spawned(struct control_supervisor *sup, void *arg)
{
    (void)sup;
    struct child *c = arg;
    return c->pid != 0 || !c->wanted;
}

static bool all_exited(struct control_supervisor *sup, void *arg)
{
    (void)arg;
    for (size_t i = 0; i < sup->count; i++)
        if (sup->children[i].pid != 0)
            return false;
    return true;
}

/* --- starting a child --- */

/* In the child, between fork and exec: async-signal-safe calls only. */
static void exec_child(const char *binary, char **argv, int log_fd, int null_fd, pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(0); /* the control plane died before the line above */
    dup2(null_fd, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    close_range(3, ~0U, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    execv(binary, argv);
    _exit(127);
}

static pid_t spawn(struct control_supervisor *sup, struct child *c)
{
    char *argv[EM_CONFIG_ARGS_MAX + 2];
    memcpy(argv, sup->args.argv, sizeof(argv));
    argv[0] = c->binary;
    int log_fd = open(c->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_t pid = -1;
    if (log_fd >= 0 && null_fd >= 0)
        pid = fork();
    if (pid == 0)
        exec_child(c->binary, argv, log_fd, null_fd, sup->self);
    int saved = errno;
    if (log_fd >= 0)
        close(log_fd);
    if (null_fd >= 0)
        close(null_fd);
    if (pid < 0)
        em_error("cannot start %s: %s", c->info->name, strerror(saved));
    return pid;
}

static void schedule_restart(struct child *c, long now)
{
    c->state = CONTROL_CHILD_RESTARTING;
    c->due_ms = now + c->backoff_ms;
    c->backoff_ms = c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->backoff_ms * 2;
}

static void start_child(struct control_supervisor *sup, struct child *c, long now)
{
    pid_t pid = spawn(sup, c);
    if (pid < 0) {
        schedule_restart(c, now);
        return;
    }
    if (c->state == CONTROL_CHILD_RESTARTING)
        c->restarts++;
    c->pid = pid;
    c->state = CONTROL_CHILD_RUNNING;
    c->started_ms = now;
    em_info("started %s (pid %d, %s)", c->info->name, (int)pid, c->url);
}

/* --- reaping --- */

static bool exit_was_clean(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status) == 0;
    return WIFSIGNALED(status) && (WTERMSIG(status) == SIGTERM || WTERMSIG(status) == SIGINT);
}

static void describe_exit(int status, char *out, size_t len)
{
    if (WIFEXITED(status))
        snprintf(out, len, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(out, len, "was killed by signal %d", WTERMSIG(status));
    else
        snprintf(out, len, "ended");
}

static void child_ended(struct control_supervisor *sup, struct child *c, int status, long now)
{
    char how[64];
    describe_exit(status, how, sizeof(how));
    c->pid = 0;
    if (sup->stopping || !c->wanted || exit_was_clean(status)) {
        c->wanted = false;
        c->state = CONTROL_CHILD_STOPPED;
        em_info("%s %s; it stays stopped", c->info->name, how);
        return;
    }
    if (now - c->started_ms >= STABLE_RUN_MS)
        c->backoff_ms = BACKOFF_FIRST_MS;
    bool at_start_up = now - c->started_ms < START_UP_MS;
    bool cannot_listen = WIFEXITED(status) && WEXITSTATUS(status) == EM_EXIT_CANNOT_LISTEN;
    snprintf(c->last_exit, sizeof(c->last_exit), "%s %.1f s after it started%s", how,
             (double)(now - c->started_ms) / 1000.0,
             cannot_listen ? ": it cannot listen on its port (another program holds it?)" : "");
    if (at_start_up)
        em_error("%s could not start: it %s; restarting in %ld ms (its log: %s)", c->info->name,
                 c->last_exit, c->backoff_ms, c->log_path);
    else
        em_warn("%s %s; restarting in %ld ms (log: %s)", c->info->name, how, c->backoff_ms,
                c->log_path);
    schedule_restart(c, now);
}

static void reap_children(struct control_supervisor *sup, long now)
{
    for (size_t i = 0; i < sup->count; i++) {
        struct child *c = &sup->children[i];
        if (c->pid == 0)
            continue;
        int status = 0;
        pid_t got = waitpid(c->pid, &status, WNOHANG);
        if (got == c->pid || (got < 0 && errno == ECHILD)) {
            child_ended(sup, c, status, now);
            pthread_cond_broadcast(&sup->changed);
        }
    }
}

/* Whether the KMS child accepts connections (it listens only once its keys are loaded), or
 * there is no KMS child to wait for. */
static bool kms_ready(struct control_supervisor *sup)
{
    const struct child *kms = NULL;
    for (size_t i = 0; i < sup->count; i++)
        if (sup->children[i].info->port == EM_PORT_KMS)
            kms = &sup->children[i];
    if (!kms || !kms->wanted)
        return true;
    if (kms->pid == 0)
        return false;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)sup->kms_port)};
    if (inet_pton(AF_INET, sup->kms_host, &addr.sin_addr) != 1)
        return true; /* not an address we can probe: do not hold the others back */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return true;
    bool up = connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
    close(fd);
    return up;
}

/* Start-up order: every other service unwraps its resources' keys through KMS as it
 * starts, so it is started once KMS listens (or KMS_FIRST_WAIT_MS after it was due,
 * whatever KMS does: its CMEK engine then retries until KMS answers). */
static bool waits_for_kms(struct control_supervisor *sup, const struct child *c, long now,
                          bool *kms_checked, bool *kms_up)
{
    if (c->info->port == EM_PORT_KMS || now >= c->due_ms + KMS_FIRST_WAIT_MS)
        return false;
    if (!*kms_checked) {
        *kms_up = kms_ready(sup);
        *kms_checked = true;
    }
    return !*kms_up;
}

static void start_due_children(struct control_supervisor *sup, long now)
{
    bool kms_checked = false, kms_up = false;
    for (size_t i = 0; i < sup->count; i++) {
        struct child *c = &sup->children[i];
        if (c->wanted && c->pid == 0 && now >= c->due_ms &&
            !waits_for_kms(sup, c, now, &kms_checked, &kms_up)) {
            start_child(sup, c, now);
            pthread_cond_broadcast(&sup->changed);
        }
    }
}

static bool monitor_done(struct control_supervisor *sup)
{
    return sup->stopping && (all_exited(sup, NULL) || em_clock_monotonic_ms() >= sup->give_up_ms);
}

static void *monitor_main(void *arg)
{
    struct control_supervisor *sup = arg;
    pthread_mutex_lock(&sup->lock);
    while (!monitor_done(sup)) {
        long now = em_clock_monotonic_ms();
        reap_children(sup, now);
        if (!sup->stopping)
            start_due_children(sup, now);
        struct timespec next;
        clock_gettime(CLOCK_MONOTONIC, &next);
        next.tv_nsec += MONITOR_PERIOD_MS * 1000000L;
        if (next.tv_nsec >= 1000000000L) {
            next.tv_sec++;
            next.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&sup->changed, &sup->lock, &next);
    }
    pthread_mutex_unlock(&sup->lock);
    return NULL;
}

/* --- set-up and shutdown --- */

static enum em_code make_log_dir(const char *data_dir, char *out, size_t len, struct em_status *st)
{
    if (snprintf(out, len, "%s/logs", data_dir) >= (int)len)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "data directory path too long: %.200s...",
                       data_dir);
    if (mkdir(out, 0700) != 0 && errno != EEXIST)
        return EM_FAIL(st, EM_INTERNAL, "cannot create %s: %s", out, strerror(errno));
    return EM_OK;
}

static enum em_code child_init(struct child *c, const struct em_service_desc *info,
                               const struct em_config *cfg, const char *bin_dir,
                               const char *log_dir, struct em_status *st)
{
    c->info = info;
    if (snprintf(c->binary, sizeof(c->binary), "%s/%s", bin_dir, info->name) >=
            (int)sizeof(c->binary) ||
        snprintf(c->log_path, sizeof(c->log_path), "%s/%s.log", log_dir, info->name) >=
            (int)sizeof(c->log_path))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "path of the %s binary or log too long",
                       info->name);
    em_config_url(cfg, info->port, c->url, sizeof(c->url));
    c->wanted = true;
    c->state = CONTROL_CHILD_STOPPED;
    c->backoff_ms = BACKOFF_FIRST_MS;
    c->due_ms = em_clock_monotonic_ms();
    return EM_OK;
}

static enum em_code prepare(struct control_supervisor *sup, const struct em_config *cfg,
                            struct em_status *st)
{
    char bin_dir[PATH_MAX], log_dir[PATH_MAX];
    const struct em_service_desc *services[CONTROL_SERVICE_MAX];
    if (control_bin_dir(bin_dir, sizeof(bin_dir), st) ||
        control_services_resolve(cfg->services, bin_dir, services, CONTROL_SERVICE_MAX, &sup->count,
                                 st) ||
        make_log_dir(cfg->data_dir, log_dir, sizeof(log_dir), st))
        return st->code;
    for (size_t i = 0; i < sup->count; i++)
        if (child_init(&sup->children[i], services[i], cfg, bin_dir, log_dir, st))
            return st->code;
    if (em_config_child_args(cfg, "", &sup->args, st))
        return st->code;
    snprintf(sup->kms_host, sizeof(sup->kms_host), "%s",
             strcmp(cfg->host, "0.0.0.0") == 0 ? "127.0.0.1" : cfg->host);
    sup->kms_port = cfg->port_base + EM_PORT_KMS;
    return EM_OK;
}

enum em_code control_supervisor_start(const struct em_config *cfg, struct control_supervisor **out,
                                      struct em_status *st)
{
    struct control_supervisor *sup = calloc(1, sizeof(*sup));
    if (!sup)
        return EM_FAIL_OOM(st);
    if (prepare(sup, cfg, st)) {
        free(sup);
        return st->code;
    }
    sup->self = getpid();
    em_clock_cond_init(&sup->changed);
    pthread_mutex_init(&sup->lock, NULL);
    if (pthread_create(&sup->monitor, NULL, monitor_main, sup) != 0) {
        pthread_cond_destroy(&sup->changed);
        pthread_mutex_destroy(&sup->lock);
        free(sup);
        return EM_FAIL(st, EM_INTERNAL, "cannot start the supervisor thread");
    }
    *out = sup;
    return EM_OK;
}

static void signal_children(struct control_supervisor *sup, int sig)
{
    for (size_t i = 0; i < sup->count; i++)
        if (sup->children[i].pid != 0)
            kill(sup->children[i].pid, sig);
}

void control_supervisor_stop(struct control_supervisor *sup)
{
    if (!sup)
        return;
    pthread_mutex_lock(&sup->lock);
    sup->stopping = true;
    sup->give_up_ms = em_clock_monotonic_ms() + STOP_GRACE_MS + KILL_WAIT_MS;
    for (size_t i = 0; i < sup->count; i++)
        sup->children[i].wanted = false;
    signal_children(sup, SIGTERM);
    if (!wait_until(sup, all_exited, NULL, STOP_GRACE_MS)) {
        em_warn("services still running %d s after SIGTERM: sending SIGKILL", STOP_GRACE_MS / 1000);
        signal_children(sup, SIGKILL);
        wait_until(sup, all_exited, NULL, KILL_WAIT_MS);
    }
    pthread_cond_broadcast(&sup->changed);
    pthread_mutex_unlock(&sup->lock);
    pthread_join(sup->monitor, NULL);
    pthread_cond_destroy(&sup->changed);
    pthread_mutex_destroy(&sup->lock);
    free(sup);
}

/* --- views and deliberate stop/start --- */

static void view_of(const struct child *c, struct control_child_view *view)
{
    view->info = c->info;
    snprintf(view->url, sizeof(view->url), "%s", c->url);
    view->state = c->state;
    view->pid = (int)c->pid;
    view->restarts = c->restarts;
    snprintf(view->log_path, sizeof(view->log_path), "%s", c->log_path);
    snprintf(view->last_exit, sizeof(view->last_exit), "%s", c->last_exit);
}

size_t control_supervisor_list(struct control_supervisor *sup, struct control_child_view *out,
                               size_t max)
{
    if (!sup)
        return 0; /* a control plane without services (fuzz_control_request) */
    pthread_mutex_lock(&sup->lock);
    size_t n = sup->count < max ? sup->count : max;
    for (size_t i = 0; i < n; i++)
        view_of(&sup->children[i], &out[i]);
    pthread_mutex_unlock(&sup->lock);
    return n;
}

static struct child *find_child(struct control_supervisor *sup, const char *name,
                                struct em_status *st)
{
    for (size_t i = 0; i < sup->count; i++)
        if (strcmp(sup->children[i].info->name, name) == 0)
            return &sup->children[i];
    char names[128] = "";
    for (size_t i = 0; i < sup->count; i++)
        snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", i ? ", " : "",
                 sup->children[i].info->name);
    EM_FAIL(st, EM_NOT_FOUND,
            "Service \"%.40s\" is not supervised by this emulator (supervised: %s).", name,
            names[0] ? names : "none");
    return NULL;
}

static enum em_code terminate_child(struct control_supervisor *sup, struct child *c,
                                    struct em_status *st)
{
    kill(c->pid, SIGTERM);
    if (wait_until(sup, child_exited, c, STOP_GRACE_MS))
        return EM_OK;
    em_warn("%s still running %d s after SIGTERM: sending SIGKILL", c->info->name,
            STOP_GRACE_MS / 1000);
    kill(c->pid, SIGKILL);
    if (wait_until(sup, child_exited, c, KILL_WAIT_MS))
        return EM_OK;
    return EM_FAIL(st, EM_UNAVAILABLE, "Service %s (pid %d) did not stop.", c->info->name,
                   (int)c->pid);
}

enum em_code control_supervisor_stop_child(struct control_supervisor *sup, const char *name,
                                           struct control_child_view *view, struct em_status *st)
{
    pthread_mutex_lock(&sup->lock);
    struct child *c = find_child(sup, name, st);
    enum em_code code = c ? EM_OK : st->code;
    if (c) {
        c->wanted = false;
        if (c->pid != 0)
            code = terminate_child(sup, c, st);
        if (c->pid == 0)
            c->state = CONTROL_CHILD_STOPPED;
        view_of(c, view);
    }
    pthread_mutex_unlock(&sup->lock);
    return code;
}

enum em_code control_supervisor_start_child(struct control_supervisor *sup, const char *name,
                                            struct control_child_view *view, struct em_status *st)
{
    pthread_mutex_lock(&sup->lock);
    struct child *c = find_child(sup, name, st);
    enum em_code code = c ? EM_OK : st->code;
    if (c && c->pid == 0) {
        c->wanted = true;
        /* started on request: no waiting for KMS (its CMEK engine retries until KMS is up) */
        c->due_ms = em_clock_monotonic_ms() - KMS_FIRST_WAIT_MS;
        c->backoff_ms = BACKOFF_FIRST_MS;
        pthread_cond_broadcast(&sup->changed);
        if (!wait_until(sup, child_spawned, c, SPAWN_WAIT_MS) || c->pid == 0)
            code = EM_FAIL(st, EM_UNAVAILABLE, "Service %s could not be started; see %s.",
                           c->info->name, c->log_path);
    }
    if (c)
        view_of(c, view);
    pthread_mutex_unlock(&sup->lock);
    return code;
}
