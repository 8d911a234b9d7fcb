/*
 * spanner_instance_configs: a project's instance configurations, Google-managed
 * (spanner_configs.c, data) and user-managed: `custom-...` configs a caller creates from a
 * Google-managed base config by adding some of its optional (read-only) replicas, then
 * renames, relabels and deletes. User-managed configs are stored (spanner_store.h) and
 * their changes serialized under the admin plane's lock, so no instance is created on a
 * config being deleted.
 * Reference: https://cloud.google.com/spanner/docs/reference/rest/v1/projects.instanceConfigs
 */
#ifndef SPANNER_INSTANCE_CONFIGS_H
#define SPANNER_INSTANCE_CONFIGS_H

#include "em_status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

struct sp_admin;
struct em_store;

/* The config projects/<project>/instanceConfigs/<id>, either kind; NOT_FOUND naming it. */
enum em_code sp_instance_config_find(struct em_store *store, const char *project, const char *id,
                                     cJSON **out, struct em_status *st);

/* Whether a config (as find answers it) is user-managed. */
bool sp_instance_config_is_user_managed(const cJSON *config);

/* Every config of the project: the Google-managed ones, then the user-managed by name. */
enum em_code sp_instance_config_list(struct em_store *store, const char *project, cJSON **out,
                                     struct em_status *st);

/* CreateInstanceConfig (request: its body) under parent "projects/p": the new config,
 * CREATING, stored unless the request is validateOnly. */
enum em_code sp_instance_config_create(struct sp_admin *admin, const char *parent,
                                       const cJSON *request, cJSON **out, struct em_status *st);

/* The create or update operation's end: the config READY, as it is now. */
enum em_code sp_instance_config_ready(struct sp_admin *admin, const char *name, cJSON **out,
                                      struct em_status *st);

/* UpdateInstanceConfig (request: its body): display_name and labels, with the etag check;
 * stored unless validateOnly. */
enum em_code sp_instance_config_update(struct sp_admin *admin, const char *name,
                                       const cJSON *request, cJSON **out, struct em_status *st);

/* DeleteInstanceConfig: a user-managed config no instance uses (etag: NULL or "" for no
 * check). */
enum em_code sp_instance_config_delete(struct sp_admin *admin, const char *name, const char *etag,
                                       bool validate_only, struct em_status *st);

/* Etags of the admin plane's resources with one (configs, partitions): a fresh random one
 * at each change; one a caller gives must be the resource's current one (ABORTED). */
enum em_code sp_etag_set(cJSON *resource, struct em_status *st);
enum em_code sp_etag_check(const cJSON *resource, const char *etag, struct em_status *st);

#endif
