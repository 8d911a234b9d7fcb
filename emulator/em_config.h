/*
 * em_config: the configuration every process shares, from environment variables and
 * command-line flags (flags win). One table in em_config.c lists every option with its
 * flag, variable, default and help text; `--help` prints it and the README's
 * configuration table mirrors it.
 */
#ifndef EM_CONFIG_H
#define EM_CONFIG_H

#include "em_descriptor.h"
#include "em_status.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The port offsets the core itself needs: the control plane's, and KMS's (every CMEK
 * engine calls it). Every service's offset, these two included, is in its descriptor. */
#define EM_PORT_CONTROL (control_descriptor.port)
#define EM_PORT_KMS     (kms_descriptor.port)

struct em_config {
    char host[64];
    int port_base;
    char data_dir[PATH_MAX];
    bool ephemeral;
    bool iam_enforce;
    int log_level;
    int threads;
    int64_t max_body_bytes;
    int64_t key_check_interval_s;
    int64_t kms_grace_s;
    int64_t kms_propagation_delay_s;
    int64_t kms_generation_delay_s;
    int64_t bigtable_replication_delay_s;
    char default_principal[256];
    int64_t audit_max_entries;
    char services[128]; /* control plane: comma-separated services to start */
};

/* Arguments that give a child process the same configuration (see
 * em_config_child_args). argv points into text, so the struct must not be copied. */
#define EM_CONFIG_ARGS_MAX 32

struct em_config_args {
    int argc;
    char *argv[EM_CONFIG_ARGS_MAX + 2]; /* program, one "--flag=value" per option, NULL */
    char text[4 * PATH_MAX];
};

/* Fills cfg from defaults, then the environment, then argv. Returns EM_OK, or
 * INVALID_ARGUMENT naming the bad option. *help is set when --help was given. */
enum em_code em_config_load(struct em_config *cfg, int argc, char **argv, bool *help,
                            struct em_status *st);

/* Renders cfg back into "--flag=value" arguments after argv[0] = program, one per option,
 * so a child started with out->argv loads the same configuration whatever its environment
 * says. The control plane's own options (--ephemeral, --services) get their defaults
 * (--ephemeral=false): a child never makes a data directory of its own. */
enum em_code em_config_child_args(const struct em_config *cfg, const char *program,
                                  struct em_config_args *out, struct em_status *st);

/* Writes the option table (flags, variables, defaults, help) to stdout. */
void em_config_usage(const char *program);

/* "http://127.0.0.1:8791" for a port offset (a descriptor's port). */
void em_config_url(const struct em_config *cfg, int port, char *out, size_t len);

#endif
