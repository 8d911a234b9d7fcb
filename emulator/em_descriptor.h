/*
 * em_descriptor: what the emulator knows about each service, as data. One descriptor per
 * service (struct em_service_desc) lives in the service's own folder
 * (<name>/<name>_descriptor.c, data only, including nothing but this header); the list of
 * services is services.def at the top of the tree, one line each. Everything that used to
 * name services one by one iterates em_services[] instead:
 *
 *   em_iam.c           the predefined roles of every service (em_iam_role_grants)
 *   em_service.c       a service process's name and port (em_service_def.desc)
 *   control/           which child processes exist, their ports, the UNIMPLEMENTED
 *                      ports of services not built yet, the status page
 *   control_logging.c  audit serviceName and monitored resource types of log entries
 *   Makefile           lib<name>.a and bin/<name> for each line of services.def
 *
 * "Built" is not a field: a service is built when its folder has <name>_main.c (the
 * Makefile then links bin/<name>), and the control plane serves the ports of the
 * services whose binary is missing.
 */
#ifndef EM_DESCRIPTOR_H
#define EM_DESCRIPTOR_H

#include <stdbool.h>
#include <stddef.h>

/* A NULL-terminated list of words, for the tables below. */
#define EM_WORDS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* A predefined IAM role: the permissions it grants, as fnmatch patterns
 * ("cloudkms.cryptoKeyVersions.useTo*"), minus the exceptions (NULL: none). */
struct em_role {
    const char *name; /* "roles/cloudkms.admin" */
    const char *const *grants;
    const char *const *except;
};

/* A Cloud Logging monitored resource type: a resource name made of exactly these
 * collections ("projects/p/topics/t": "projects", "topics"), and the label each ID gets
 * ("project_id", "topic_id"). */
struct em_resource_type {
    const char *type; /* "pubsub_topic" */
    const char *const *collections;
    const char *const *labels;
};

struct em_service_desc {
    const char *name;           /* "kms": bin/<name>, <name>/, logs, audit rows, --services */
    const char *product;        /* "Cloud KMS": what messages and the status page call it */
    int port;                   /* offset from --port-base, unique */
    const char *google_service; /* "cloudkms.googleapis.com": audit log serviceName, and the
                                   API Service Usage enables or disables (em_api_state.h) */
    const char *api_title;      /* "Cloud Key Management Service (KMS) API": that API's title */
    /* Resource Manager's: a deleted project is still read, listed and undeleted there, where
     * every other service refuses its calls (em_api_state.h) */
    bool serves_deleted_projects;
    /* Service agent: service-<project number>@<agent_domain>.iam.gserviceaccount.com, the
     * principal that uses the service's CMEK keys ("gcp-sa-pubsub"); NULL: none. */
    const char *agent_domain;
    const struct em_role *roles;                   /* ends with a {NULL} entry */
    const struct em_resource_type *resource_types; /* ends with a {NULL} entry; NULL: none */
};

/* The control plane's descriptor (emulator/control/control_descriptor.c) and one
 * `<name>_descriptor` per line of services.def. */
extern const struct em_service_desc control_descriptor;
#define EM_SERVICE(name) extern const struct em_service_desc name##_descriptor;
#include "services.def"
#undef EM_SERVICE

/* Every service: the control plane first, then services.def in order; ends with NULL. */
extern const struct em_service_desc *const em_services[];

/* The descriptor named name ("kms", "emulator"), or NULL. */
const struct em_service_desc *em_service_desc_find(const char *name);

#endif
