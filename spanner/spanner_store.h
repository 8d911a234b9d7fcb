/*
 * spanner_store: the only SQL of the Spanner service's admin plane, in metadata.db.
 *
 * Tables (module "spanner" in schema_migrations):
 *   spanner_instances   name, the Instance resource as its JSON (what get answers)
 *   spanner_databases   name, instance, the Database resource as its JSON, and its schema
 *                       as the JSON array of getDdl's canonical statements (re-applied
 *                       through spanner_ddl to rebuild the schema model)
 *   spanner_backups     name, instance, the Backup resource as its JSON, and the schema of
 *                       its database at its version time (the same JSON array), which a
 *                       restore gives the new database
 *   spanner_instance_configs  name, a user-managed InstanceConfig resource as its JSON
 *                       (the Google-managed ones are data, spanner_configs.c)
 *   spanner_instance_partitions  name, instance, the InstancePartition resource as its
 *                       JSON; a trigger deletes them with their instance
 *   spanner_backup_schedules  name, database, the BackupSchedule resource as its JSON
 *                       (with the emulator's own bookkeeping, which the domain keeps out
 *                       of replies); a trigger deletes them with their database
 *
 * Rows go in and come out as text; this file knows nothing of the API's rules.
 */
#ifndef SPANNER_STORE_H
#define SPANNER_STORE_H

#include "em_status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

struct em_store;

enum em_code sp_store_migrate(struct em_store *store, struct em_status *st);

/* Instances. put inserts (ALREADY_EXISTS when taken) or, with replace, overwrites. */
enum em_code sp_store_put_instance(struct em_store *store, const char *name, const char *json,
                                   bool replace, struct em_status *st);
/* *json (malloc'd) is NULL when there is no such instance. */
enum em_code sp_store_get_instance(struct em_store *store, const char *name, char **json,
                                   struct em_status *st);
/* Every instance of the project, by name, as a JSON array of the stored resources. */
enum em_code sp_store_list_instances(struct em_store *store, const char *project_name, cJSON **out,
                                     struct em_status *st);
/* Deletes the instance and its databases. */
enum em_code sp_store_delete_instance(struct em_store *store, const char *name,
                                      struct em_status *st);

/* Databases: the same, plus the canonical DDL (a JSON array of strings). */
enum em_code sp_store_put_database(struct em_store *store, const char *name, const char *instance,
                                   const char *json, const char *ddl, bool replace,
                                   struct em_status *st);
enum em_code sp_store_get_database(struct em_store *store, const char *name, char **json,
                                   char **ddl, struct em_status *st);
enum em_code sp_store_list_databases(struct em_store *store, const char *instance, cJSON **out,
                                     struct em_status *st);
enum em_code sp_store_list_all_databases(struct em_store *store, cJSON **out, struct em_status *st);
enum em_code sp_store_delete_database(struct em_store *store, const char *name,
                                      struct em_status *st);
/* Backups: the same as databases. */
enum em_code sp_store_put_backup(struct em_store *store, const char *name, const char *instance,
                                 const char *json, const char *ddl, bool replace,
                                 struct em_status *st);
enum em_code sp_store_get_backup(struct em_store *store, const char *name, char **json, char **ddl,
                                 struct em_status *st);
enum em_code sp_store_list_backups(struct em_store *store, const char *instance, cJSON **out,
                                   struct em_status *st);
enum em_code sp_store_list_all_backups(struct em_store *store, cJSON **out, struct em_status *st);
enum em_code sp_store_delete_backup(struct em_store *store, const char *name, struct em_status *st);

/* Backup schedules of a database (deleting a database or an instance deletes its
 * schedules). */
enum em_code sp_store_put_backup_schedule(struct em_store *store, const char *name,
                                          const char *database, const char *json, bool replace,
                                          struct em_status *st);
enum em_code sp_store_get_backup_schedule(struct em_store *store, const char *name, char **json,
                                          struct em_status *st);
enum em_code sp_store_list_backup_schedules(struct em_store *store, const char *database,
                                            cJSON **out, struct em_status *st);
enum em_code sp_store_list_all_backup_schedules(struct em_store *store, cJSON **out,
                                                struct em_status *st);
enum em_code sp_store_delete_backup_schedule(struct em_store *store, const char *name,
                                             struct em_status *st);
/* User-managed instance configs, as instances above. */
enum em_code sp_store_put_instance_config(struct em_store *store, const char *name,
                                          const char *json, bool replace, struct em_status *st);
enum em_code sp_store_get_instance_config(struct em_store *store, const char *name, char **json,
                                          struct em_status *st);
enum em_code sp_store_list_instance_configs(struct em_store *store, const char *project_name,
                                            cJSON **out, struct em_status *st);
enum em_code sp_store_delete_instance_config(struct em_store *store, const char *name,
                                             struct em_status *st);

/* Instance partitions, of an instance or of every instance of a project ("projects/p"). */
enum em_code sp_store_put_instance_partition(struct em_store *store, const char *name,
                                             const char *instance, const char *json, bool replace,
                                             struct em_status *st);
enum em_code sp_store_get_instance_partition(struct em_store *store, const char *name, char **json,
                                             struct em_status *st);
enum em_code sp_store_list_instance_partitions(struct em_store *store, const char *instance,
                                               cJSON **out, struct em_status *st);
enum em_code sp_store_list_project_partitions(struct em_store *store, const char *project_name,
                                              cJSON **out, struct em_status *st);
enum em_code sp_store_delete_instance_partition(struct em_store *store, const char *name,
                                                struct em_status *st);

/* Forgets every instance config, instance, instance partition, database, backup and backup
 * schedule (internal:reset). */
enum em_code sp_store_clear(struct em_store *store, struct em_status *st);

#endif
