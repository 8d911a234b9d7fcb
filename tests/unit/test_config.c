/*
 * test_config: em_config: the defaults, environment variables, flags overriding them (both
 * --flag=value and --flag value, bare boolean flags), refusals that name the option, --help,
 * the usage text, service URLs, and the arguments that hand a child process the same
 * configuration whatever its environment says.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "em_config.h"
#include "em_log.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const variables[] = {
    "EMULATOR_PORT_BASE",
    "EMULATOR_HOST",
    "EMULATOR_DATA_DIR",
    "EMULATOR_EPHEMERAL",
    "EMULATOR_IAM",
    "EMULATOR_LOG_LEVEL",
    "EMULATOR_THREADS",
    "EMULATOR_MAX_BODY_BYTES",
    "EMULATOR_KEY_CHECK_INTERVAL",
    "EMULATOR_KMS_GRACE",
    "EMULATOR_KMS_PROPAGATION_DELAY",
    "EMULATOR_DEFAULT_PRINCIPAL",
    "EMULATOR_AUDIT_MAX_ENTRIES",
    "EMULATOR_SERVICES",
};

#define VARIABLE_COUNT (sizeof(variables) / sizeof(variables[0]))

/* Every test starts from an environment without EMULATOR_* variables. */
static int clean_environment(void **state)
{
    (void)state;
    for (size_t i = 0; i < VARIABLE_COUNT; i++)
        unsetenv(variables[i]);
    return 0;
}

/* Argument lists, NULL-terminated: ARGS("--iam=enforce", "--ephemeral"). */
#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})
static const char *const no_args[] = {NULL};

static int make_argv(const char *const *args, char **argv, int max)
{
    int argc = 0;
    argv[argc++] = "emulator";
    while (*args && argc < max - 1)
        argv[argc++] = (char *)*args++;
    argv[argc] = NULL;
    return argc;
}

static enum em_code load(struct em_config *cfg, bool *help, struct em_status *st,
                         const char *const *args)
{
    char *argv[32];
    int argc = make_argv(args, argv, 32);
    em_status_clear(st);
    return em_config_load(cfg, argc, argv, help, st);
}

static void loads(struct em_config *cfg, const char *const *args)
{
    struct em_status st = {0};
    bool help = true;
    if (load(cfg, &help, &st, args) != EM_OK)
        fail_msg("configuration refused: %s", st.message);
    assert_false(help);
}

/* The arguments are refused with exactly this message. */
static void refused(const char *message, const char *const *args)
{
    struct em_config cfg;
    struct em_status st = {0};
    bool help;
    if (load(&cfg, &help, &st, args) != EM_INVALID_ARGUMENT)
        fail_msg("accepted, expected \"%s\"", message);
    assert_string_equal(st.message, message);
}

static void test_defaults(void **state)
{
    (void)state;
    struct em_config cfg;
    loads(&cfg, no_args);
    assert_string_equal(cfg.host, "127.0.0.1");
    assert_int_equal(cfg.port_base, 8790);
    assert_string_equal(cfg.data_dir, "data");
    assert_false(cfg.ephemeral);
    assert_false(cfg.iam_enforce);
    assert_int_equal(cfg.log_level, EM_LOG_INFO);
    long cores = sysconf(_SC_NPROCESSORS_ONLN); /* --threads 0: one per core, at most 4 */
    assert_int_equal(cfg.threads, cores < 1 ? 1 : cores > 4 ? 4 : cores);
    assert_true(cfg.max_body_bytes == 10485760);
    assert_true(cfg.key_check_interval_s == 300);
    assert_true(cfg.kms_grace_s == 3600);
    assert_true(cfg.kms_propagation_delay_s == 0);
    assert_string_equal(cfg.default_principal, "user:developer@example.com");
    assert_true(cfg.audit_max_entries == 1000000);
    assert_string_equal(cfg.services, "all");
}

static void test_environment_variables(void **state)
{
    (void)state;
    setenv("EMULATOR_PORT_BASE", "9000", 1);
    setenv("EMULATOR_HOST", "0.0.0.0", 1);
    setenv("EMULATOR_DATA_DIR", "/var/lib/emulator", 1);
    setenv("EMULATOR_EPHEMERAL", "yes", 1);
    setenv("EMULATOR_IAM", "enforce", 1);
    setenv("EMULATOR_LOG_LEVEL", "warning", 1);
    setenv("EMULATOR_THREADS", "8", 1);
    setenv("EMULATOR_KMS_PROPAGATION_DELAY", "60", 1);
    setenv("EMULATOR_DEFAULT_PRINCIPAL", "user:ci@example.com", 1);
    setenv("EMULATOR_SERVICES", "kms,pubsub", 1);
    struct em_config cfg;
    loads(&cfg, no_args);
    assert_int_equal(cfg.port_base, 9000);
    assert_string_equal(cfg.host, "0.0.0.0");
    assert_string_equal(cfg.data_dir, "/var/lib/emulator");
    assert_true(cfg.ephemeral);
    assert_true(cfg.iam_enforce);
    assert_int_equal(cfg.log_level, EM_LOG_WARNING);
    assert_int_equal(cfg.threads, 8);
    assert_true(cfg.kms_propagation_delay_s == 60);
    assert_string_equal(cfg.default_principal, "user:ci@example.com");
    assert_string_equal(cfg.services, "kms,pubsub");
    /* an empty variable means unset */
    setenv("EMULATOR_PORT_BASE", "", 1);
    loads(&cfg, no_args);
    assert_int_equal(cfg.port_base, 8790);
}

static void test_flags_override_the_environment(void **state)
{
    (void)state;
    setenv("EMULATOR_PORT_BASE", "9000", 1);
    setenv("EMULATOR_IAM", "enforce", 1);
    setenv("EMULATOR_HOST", "0.0.0.0", 1);
    struct em_config cfg;
    loads(&cfg, ARGS("--port-base=9100", "--iam", "off"));
    assert_int_equal(cfg.port_base, 9100);
    assert_false(cfg.iam_enforce);
    assert_string_equal(cfg.host, "0.0.0.0"); /* what no flag set still comes from the variable */
}

static void test_both_flag_forms(void **state)
{
    (void)state;
    struct em_config cfg;
    loads(&cfg, ARGS("--port-base", "9200", "--host=localhost", "--data-dir", "/tmp/d",
                     "--max-body-bytes=2048", "--kms-grace", "0", "--audit-max-entries=5000",
                     "--default-principal", "serviceAccount:ci@p.iam.gserviceaccount.com",
                     "--log-level=ERROR"));
    assert_int_equal(cfg.port_base, 9200);
    assert_string_equal(cfg.host, "localhost");
    assert_string_equal(cfg.data_dir, "/tmp/d");
    assert_true(cfg.max_body_bytes == 2048);
    assert_true(cfg.kms_grace_s == 0);
    assert_true(cfg.audit_max_entries == 5000);
    assert_string_equal(cfg.default_principal, "serviceAccount:ci@p.iam.gserviceaccount.com");
    assert_int_equal(cfg.log_level, EM_LOG_ERROR);
    /* a value containing '=' is kept whole */
    loads(&cfg, ARGS("--default-principal=user:a=b@example.com"));
    assert_string_equal(cfg.default_principal, "user:a=b@example.com");
    /* the last occurrence wins */
    loads(&cfg, ARGS("--threads=2", "--threads", "16"));
    assert_int_equal(cfg.threads, 16);
}

static void test_boolean_flags(void **state)
{
    (void)state;
    struct em_config cfg;
    loads(&cfg, ARGS("--ephemeral"));
    assert_true(cfg.ephemeral);
    loads(&cfg, ARGS("--ephemeral", "--port-base=9300")); /* a bare flag takes no value */
    assert_true(cfg.ephemeral);
    assert_int_equal(cfg.port_base, 9300);
    const char *yes[] = {"--ephemeral=true", "--ephemeral=1", "--ephemeral=yes"};
    const char *no[] = {"--ephemeral=false", "--ephemeral=0", "--ephemeral=no"};
    for (int i = 0; i < 3; i++) {
        loads(&cfg, ARGS(yes[i]));
        assert_true(cfg.ephemeral);
        setenv("EMULATOR_EPHEMERAL", "true", 1);
        loads(&cfg, ARGS(no[i]));
        assert_false(cfg.ephemeral);
        unsetenv("EMULATOR_EPHEMERAL");
    }
}

static void test_bad_numbers_name_the_option(void **state)
{
    (void)state;
    refused("--port-base: expected a number from 1 to 65530, got \"http\"",
            ARGS("--port-base=http"));
    refused("--port-base: expected a number from 1 to 65530, got \"\"", ARGS("--port-base="));
    refused("--port-base: expected a number from 1 to 65530, got \"65531\"",
            ARGS("--port-base", "65531"));
    refused("--kms-grace: expected a number from 0 to 1099511627776, got \"\"",
            ARGS("--kms-grace="));
    refused("--threads: expected a number from 0 to 256, got \"-1\"", ARGS("--threads=-1"));
    refused("--threads: expected a number from 0 to 256, got \"4x\"", ARGS("--threads=4x"));
    refused("--max-body-bytes: expected a number from 1024 to 1073741824, got \"1023\"",
            ARGS("--max-body-bytes=1023"));
    refused("--kms-grace: expected a number from 0 to 1099511627776, got \"-1\"",
            ARGS("--kms-grace=-1"));
    refused("--audit-max-entries: expected a number from 1000 to 1099511627776, got "
            "\"99999999999999999999\"",
            ARGS("--audit-max-entries=99999999999999999999"));
    setenv("EMULATOR_THREADS", "lots", 1);
    refused("EMULATOR_THREADS: expected a number from 0 to 256, got \"lots\"", no_args);
}

static void test_other_bad_values_name_the_option(void **state)
{
    (void)state;
    refused("--iam: expected off or enforce, got \"on\"", ARGS("--iam=on"));
    refused("--iam: expected off or enforce, got \"ENFORCE\"", ARGS("--iam", "ENFORCE"));
    refused("--log-level: expected debug, info, warning or error, got \"verbose\"",
            ARGS("--log-level=verbose"));
    refused("--ephemeral: expected true or false, got \"maybe\"", ARGS("--ephemeral=maybe"));
    char principal[300];
    memset(principal, 'a', sizeof(principal) - 1);
    principal[sizeof(principal) - 1] = '\0';
    char flag[320];
    snprintf(flag, sizeof(flag), "--default-principal=%s", principal);
    refused("--default-principal: value too long", ARGS(flag));
    /* the host buffer holds 63 characters and the terminator */
    char host[80] = "--host=";
    memset(host + 7, 'h', 64);
    host[7 + 64] = '\0';
    refused("--host: value too long", ARGS(host));
    host[7 + 63] = '\0';
    struct em_config cfg;
    loads(&cfg, ARGS(host));
    assert_int_equal(strlen(cfg.host), 63);
    setenv("EMULATOR_IAM", "yes", 1);
    refused("EMULATOR_IAM: expected off or enforce, got \"yes\"", no_args);
}

static void test_unknown_flags_and_missing_values(void **state)
{
    (void)state;
    refused("unknown option --bogus (see --help)", ARGS("--bogus"));
    refused("unknown option --port=1 (see --help)", ARGS("--port=1"));
    refused("unknown option --Port-base=1 (see --help)", ARGS("--Port-base=1"));
    refused("unknown option stray (see --help)", ARGS("--ephemeral", "stray"));
    refused("unknown option -p (see --help)", ARGS("-p", "8790"));
    refused("--port-base needs a value", ARGS("--port-base"));
    refused("--iam needs a value", ARGS("--threads=2", "--iam"));
}

static void test_help(void **state)
{
    (void)state;
    struct em_config cfg;
    struct em_status st;
    bool help = false;
    assert_int_equal(load(&cfg, &help, &st, ARGS("--help")), EM_OK);
    assert_true(help);
    help = false;
    assert_int_equal(load(&cfg, &help, &st, ARGS("--port-base=9000", "-h", "--bogus")), EM_OK);
    assert_true(help);
    /* what comes before --help is still checked */
    assert_int_equal(load(&cfg, &help, &st, ARGS("--bogus", "--help")), EM_INVALID_ARGUMENT);
    assert_int_equal(load(&cfg, &help, &st, ARGS("--port-base=1")), EM_OK);
    assert_false(help);
}

static void test_usage_lists_every_option(void **state)
{
    (void)state;
    char path[] = "/tmp/test_config_usage.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    dup2(fd, STDOUT_FILENO);
    em_config_usage("kms");
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    char text[8192] = "";
    ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
    close(fd);
    unlink(path);
    assert_true(n > 0);
    text[n] = '\0';
    assert_non_null(strstr(text, "usage: kms [options]"));
    for (size_t i = 0; i < VARIABLE_COUNT; i++)
        if (!strstr(text, variables[i]))
            fail_msg("--help does not mention %s", variables[i]);
    const char *flags[] = {"--port-base",
                           "--iam",
                           "--ephemeral",
                           "--audit-max-entries",
                           "--kms-propagation-delay",
                           "--default-principal"};
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        assert_non_null(strstr(text, flags[i]));
}

static void test_service_urls(void **state)
{
    (void)state;
    struct em_config cfg;
    loads(&cfg, ARGS("--port-base=9000"));
    char url[64];
    em_config_url(&cfg, EM_PORT_KMS, url, sizeof(url));
    assert_string_equal(url, "http://127.0.0.1:9001");
    em_config_url(&cfg, EM_PORT_CONTROL, url, sizeof(url));
    assert_string_equal(url, "http://127.0.0.1:9000");
    em_config_url(&cfg, runner_descriptor.port, url, sizeof(url));
    assert_string_equal(url, "http://127.0.0.1:9005");
}

static void test_child_arguments_reproduce_the_configuration(void **state)
{
    (void)state;
    struct em_config parent, child;
    loads(&parent, ARGS("--port-base=9400", "--iam=enforce", "--log-level=debug", "--ephemeral",
                        "--services=kms", "--data-dir=/tmp/run 1", "--kms-propagation-delay=30"));
    struct em_config_args args;
    struct em_status st = {0};
    assert_int_equal(em_config_child_args(&parent, "bin/kms", &args, &st), EM_OK);
    assert_string_equal(args.argv[0], "bin/kms");
    assert_null(args.argv[args.argc]);
    /* the child's environment says otherwise: its arguments win */
    setenv("EMULATOR_PORT_BASE", "1234", 1);
    setenv("EMULATOR_IAM", "off", 1);
    setenv("EMULATOR_EPHEMERAL", "true", 1);
    bool help;
    assert_int_equal(em_config_load(&child, args.argc, args.argv, &help, &st), EM_OK);
    assert_int_equal(child.port_base, 9400);
    assert_true(child.iam_enforce);
    assert_int_equal(child.log_level, EM_LOG_DEBUG);
    assert_string_equal(child.data_dir, "/tmp/run 1");
    assert_true(child.kms_propagation_delay_s == 30);
    /* the control plane's own options are not passed on */
    assert_false(child.ephemeral);
    assert_string_equal(child.services, "all");
}

int main(void)
{
    em_log_init("test", EM_LOG_ERROR);
#define T(name) cmocka_unit_test_setup_teardown(name, clean_environment, clean_environment)
    const struct CMUnitTest tests[] = {
        T(test_defaults),
        T(test_environment_variables),
        T(test_flags_override_the_environment),
        T(test_both_flag_forms),
        T(test_boolean_flags),
        T(test_bad_numbers_name_the_option),
        T(test_other_bad_values_name_the_option),
        T(test_unknown_flags_and_missing_values),
        T(test_help),
        T(test_usage_lists_every_option),
        T(test_service_urls),
        T(test_child_arguments_reproduce_the_configuration),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
