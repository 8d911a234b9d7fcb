/*
 * em_config: options from defaults, environment and flags (see em_config.h).
 */
#include "em_config.h"

#include "em_log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum opt_type { OPT_STRING, OPT_INT, OPT_INT64, OPT_BOOL, OPT_IAM, OPT_LOG_LEVEL };

struct option_def {
    const char *flag;
    const char *env;
    enum opt_type type;
    size_t offset;
    size_t size; /* OPT_STRING: buffer size */
    const char *fallback;
    const char *help;
    int64_t min, max;
    bool control_only; /* the control plane's own: children get the default */
};

#define FIELD(f) offsetof(struct em_config, f), sizeof(((struct em_config *)0)->f)

#define AUTO_THREADS_MAX      4
#define AUTO_THREADS_MAX_TEXT "4"

static const struct option_def options[] = {
    {"--port-base", "EMULATOR_PORT_BASE", OPT_INT, FIELD(port_base), "8790",
     "first port: control +0, kms +1, pubsub +2, bigtable +3, spanner +4, runner +5", 1, 65530},
    {"--host", "EMULATOR_HOST", OPT_STRING, FIELD(host), "127.0.0.1", "address to bind", 0, 0},
    {"--data-dir", "EMULATOR_DATA_DIR", OPT_STRING, FIELD(data_dir), "data",
     "data directory (metadata.db, root key, encrypted data files)", 0, 0},
    {"--ephemeral", "EMULATOR_EPHEMERAL", OPT_BOOL, FIELD(ephemeral), "false",
     "use a fresh temporary data directory, removed at stop", 0, 0, true},
    {"--iam", "EMULATOR_IAM", OPT_IAM, FIELD(iam_enforce), "off",
     "off: allow every caller; enforce: check IAM permissions", 0, 0},
    {"--log-level", "EMULATOR_LOG_LEVEL", OPT_LOG_LEVEL, FIELD(log_level), "info",
     "debug, info, warning or error", 0, 0},
    {"--threads", "EMULATOR_THREADS", OPT_INT, FIELD(threads), "0",
     "HTTP threads of each service; 0: one per CPU core, at most " AUTO_THREADS_MAX_TEXT
     " (calls that may wait run on a growing pool of workers)",
     0, 256},
    {"--max-body-bytes", "EMULATOR_MAX_BODY_BYTES", OPT_INT64, FIELD(max_body_bytes), "10485760",
     "largest request body accepted", 1024, 1LL << 30},
    {"--key-check-interval", "EMULATOR_KEY_CHECK_INTERVAL", OPT_INT64, FIELD(key_check_interval_s),
     "300", "seconds of emulator time between CMEK key checks", 1, 1LL << 40},
    {"--kms-grace", "EMULATOR_KMS_GRACE", OPT_INT64, FIELD(kms_grace_s), "3600",
     "seconds a CMEK resource keeps serving while KMS is unreachable", 0, 1LL << 40},
    {"--kms-propagation-delay", "EMULATOR_KMS_PROPAGATION_DELAY", OPT_INT64,
     FIELD(kms_propagation_delay_s), "0",
     "seconds KMS keeps honouring a key version's previous state after a change", 0, 1LL << 40},
    {"--kms-generation-delay", "EMULATOR_KMS_GENERATION_DELAY", OPT_INT64,
     FIELD(kms_generation_delay_s), "0",
     "seconds of emulator time a new asymmetric key version stays PENDING_GENERATION (an "
     "imported one PENDING_IMPORT)",
     0, 1LL << 40},
    {"--bigtable-replication-delay", "EMULATOR_BIGTABLE_REPLICATION_DELAY", OPT_INT64,
     FIELD(bigtable_replication_delay_s), "0",
     "seconds of emulator time before a Bigtable write reaches the other clusters", 0, 1LL << 40},
    {"--default-principal", "EMULATOR_DEFAULT_PRINCIPAL", OPT_STRING, FIELD(default_principal),
     "user:developer@example.com",
     "principal of requests without an Authorization header (IAM off); under enforce, the "
     "owner of every project",
     0, 0},
    {"--audit-max-entries", "EMULATOR_AUDIT_MAX_ENTRIES", OPT_INT64, FIELD(audit_max_entries),
     "1000000", "audit log entries kept (oldest dropped first)", 1000, 1LL << 40},
    {"--services", "EMULATOR_SERVICES", OPT_STRING, FIELD(services), "all",
     "control plane: services to start, comma-separated (kms,pubsub,bigtable,spanner,runner); "
     "all: every one whose binary is installed next to bin/emulator; none: no children",
     0, 0, true},
};

#define OPTION_COUNT (sizeof(options) / sizeof(options[0]))

static bool parse_bool(const char *text, bool *out)
{
    if (!strcmp(text, "1") || !strcmp(text, "true") || !strcmp(text, "yes")) {
        *out = true;
        return true;
    }
    if (!strcmp(text, "0") || !strcmp(text, "false") || !strcmp(text, "no")) {
        *out = false;
        return true;
    }
    return false;
}

static bool parse_int64(const char *text, int64_t min, int64_t max, int64_t *out)
{
    errno = 0;
    char *end;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static enum em_code apply(struct em_config *cfg, const struct option_def *o, const char *value,
                          const char *source, struct em_status *st)
{
    char *field = (char *)cfg + o->offset;
    int64_t n;
    bool b;
    switch (o->type) {
    case OPT_STRING:
        if (strlen(value) >= o->size)
            return EM_FAIL(st, EM_INVALID_ARGUMENT, "%s: value too long", source);
        memcpy(field, value, strlen(value) + 1);
        return EM_OK;
    case OPT_INT:
    case OPT_INT64:
        if (!parse_int64(value, o->min, o->max, &n))
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "%s: expected a number from %lld to %lld, got \"%s\"", source,
                           (long long)o->min, (long long)o->max, value);
        if (o->type == OPT_INT)
            *(int *)field = (int)n;
        else
            *(int64_t *)field = n;
        return EM_OK;
    case OPT_BOOL:
        if (!parse_bool(value, &b))
            return EM_FAIL(st, EM_INVALID_ARGUMENT, "%s: expected true or false, got \"%s\"",
                           source, value);
        *(bool *)field = b;
        return EM_OK;
    case OPT_IAM:
        if (strcmp(value, "off") && strcmp(value, "enforce"))
            return EM_FAIL(st, EM_INVALID_ARGUMENT, "%s: expected off or enforce, got \"%s\"",
                           source, value);
        *(bool *)field = strcmp(value, "enforce") == 0;
        return EM_OK;
    case OPT_LOG_LEVEL: {
        int level = em_log_level_parse(value);
        if (level < 0)
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "%s: expected debug, info, warning or error, got \"%s\"", source, value);
        *(int *)field = level;
        return EM_OK;
    }
    }
    return EM_OK;
}

static const struct option_def *find_flag(const char *arg, size_t len)
{
    for (size_t i = 0; i < OPTION_COUNT; i++)
        if (strlen(options[i].flag) == len && strncmp(options[i].flag, arg, len) == 0)
            return &options[i];
    return NULL;
}

/* Parses one "--flag=value", "--flag value" or boolean "--flag"; returns args used. */
static int parse_flag(struct em_config *cfg, int argc, char **argv, int i, struct em_status *st)
{
    const char *arg = argv[i];
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    const struct option_def *o = find_flag(arg, len);
    if (!o) {
        EM_FAIL(st, EM_INVALID_ARGUMENT, "unknown option %s (see --help)", arg);
        return -1;
    }
    const char *value = eq ? eq + 1 : NULL;
    int used = 1;
    if (!value && o->type == OPT_BOOL) {
        value = "true";
    } else if (!value) {
        if (i + 1 >= argc) {
            EM_FAIL(st, EM_INVALID_ARGUMENT, "%s needs a value", o->flag);
            return -1;
        }
        value = argv[i + 1];
        used = 2;
    }
    return apply(cfg, o, value, o->flag, st) == EM_OK ? used : -1;
}

/* --threads 0: one HTTP thread per core, at most AUTO_THREADS_MAX. More threads than cores
 * spread the connections thinner and cost CPU per request (measured: about a quarter more
 * with 4 threads on 2 cores), fewer leave a core idle. */
static int auto_threads(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores < 1 ? 1 : cores > AUTO_THREADS_MAX ? AUTO_THREADS_MAX : (int)cores;
}

enum em_code em_config_load(struct em_config *cfg, int argc, char **argv, bool *help,
                            struct em_status *st)
{
    memset(cfg, 0, sizeof(*cfg));
    *help = false;
    for (size_t i = 0; i < OPTION_COUNT; i++)
        if (apply(cfg, &options[i], options[i].fallback, options[i].flag, st))
            return st->code;
    for (size_t i = 0; i < OPTION_COUNT; i++) {
        const char *value = getenv(options[i].env);
        if (value && *value && apply(cfg, &options[i], value, options[i].env, st))
            return st->code;
    }
    for (int i = 1; i < argc;) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            *help = true;
            return EM_OK;
        }
        int used = parse_flag(cfg, argc, argv, i, st);
        if (used < 0)
            return st->code;
        i += used;
    }
    if (cfg->threads == 0)
        cfg->threads = auto_threads();
    return EM_OK;
}

void em_config_usage(const char *program)
{
    printf("usage: %s [options]\n\noptions (flag, environment variable, default):\n", program);
    for (size_t i = 0; i < OPTION_COUNT; i++)
        printf("  %-26s %-32s %s\n      %s\n", options[i].flag, options[i].env, options[i].fallback,
               options[i].help);
}

static const char *const log_level_names[] = {"debug", "info", "warning", "error"};

/* The option's current value in cfg, as its flag would spell it. */
static void format_value(const struct em_config *cfg, const struct option_def *o, char *out,
                         size_t len)
{
    const char *field = (const char *)cfg + o->offset;
    int level;
    switch (o->type) {
    case OPT_STRING:
        snprintf(out, len, "%s", field);
        return;
    case OPT_INT:
        snprintf(out, len, "%d", *(const int *)field);
        return;
    case OPT_INT64:
        snprintf(out, len, "%lld", (long long)*(const int64_t *)field);
        return;
    case OPT_BOOL:
        snprintf(out, len, "%s", *(const bool *)field ? "true" : "false");
        return;
    case OPT_IAM:
        snprintf(out, len, "%s", *(const bool *)field ? "enforce" : "off");
        return;
    case OPT_LOG_LEVEL:
        level = *(const int *)field;
        snprintf(out, len, "%s", level >= 0 && level < 4 ? log_level_names[level] : "info");
        return;
    }
}

enum em_code em_config_child_args(const struct em_config *cfg, const char *program,
                                  struct em_config_args *out, struct em_status *st)
{
    size_t used = 0;
    out->argc = 0;
    out->argv[out->argc++] = (char *)program;
    for (size_t i = 0; i < OPTION_COUNT; i++) {
        const struct option_def *o = &options[i];
        char value[PATH_MAX];
        if (o->control_only) /* the default, explicitly, so no environment variable wins */
            snprintf(value, sizeof(value), "%s", o->fallback);
        else
            format_value(cfg, o, value, sizeof(value));
        size_t room = sizeof(out->text) - used;
        int n = snprintf(out->text + used, room, "%s=%s", o->flag, value);
        if (n < 0 || (size_t)n >= room || out->argc >= EM_CONFIG_ARGS_MAX + 1)
            return EM_FAIL(st, EM_INVALID_ARGUMENT, "%s: value too long for a child process",
                           o->flag);
        out->argv[out->argc++] = out->text + used;
        used += (size_t)n + 1;
    }
    out->argv[out->argc] = NULL;
    return EM_OK;
}

void em_config_url(const struct em_config *cfg, int port, char *out, size_t len)
{
    snprintf(out, len, "http://%s:%d", cfg->host, cfg->port_base + port);
}
