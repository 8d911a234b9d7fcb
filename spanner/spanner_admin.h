/*
 * spanner_admin: the domain of Spanner's admin plane: instance configurations (data,
 * spanner_configs.c), instances and databases with Google's rules, persisted through
 * spanner_store. Resources travel as their API JSON (google.spanner.admin.*.v1 proto3
 * JSON), which is also what is stored. A database's schema is the list of getDdl's
 * canonical statements; DDL is applied through spanner_ddl to the schema rebuilt from it.
 *
 * Long-running methods are split in two: the first half (create, update) checks the
 * request and records the resource (state CREATING) at once, so a second create of the
 * same name is ALREADY_EXISTS and gcloud's polling finds the resource; the operation's
 * work then finishes it (*_ready: state READY) and answers the resource.
 *
 * Each function starts from a clean status (it overwrites *st). One mutex serialises the
 * read-modify-write of each call; every function is thread-safe.
 */
#ifndef SPANNER_ADMIN_H
#define SPANNER_ADMIN_H

#include "em_status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#define SP_EMULATOR_CONFIG "emulator-config"

struct em_store;
struct em_cmek;
struct sp_admin;

/* cmek: the service's CMEK engine. Every database is one of its protected resources
 * (em_cmek_protect at creation, with the database's key or Google default encryption;
 * em_cmek_forget when it is dropped), so a key KMS refuses fails the creation and get
 * answers encryptionInfo with the key version in use. NULL (unit tests): keys are checked
 * by grammar and location only. */
enum em_code sp_admin_open(struct em_store *store, struct em_cmek *cmek, struct sp_admin **out,
                           struct em_status *st);
void sp_admin_close(struct sp_admin *admin);
/* The databases' rows (spanner_data.h): created, changed by DDL and dropped with them. */
struct sp_data;
void sp_admin_set_data(struct sp_admin *admin, struct sp_data *data);
/* After a restart: every stored database's data registered with its schema. */
enum em_code sp_admin_attach_databases(struct sp_admin *admin, struct em_status *st);
enum em_code sp_admin_reset(struct sp_admin *admin, struct em_status *st);

/* The admin plane's store and lock, which spanner_instance_configs.c shares: a change to
 * an instance config and the creation of an instance are serialized. */
struct em_store *sp_admin_store(struct sp_admin *admin);
void sp_admin_lock(struct sp_admin *admin);
void sp_admin_unlock(struct sp_admin *admin);

/* The Google-managed instance configurations of a project (spanner_configs.c): every one,
 * or the one with this id (NULL when unknown). spanner_instance_configs.h adds the
 * user-managed ones. */
cJSON *sp_configs_list(const char *project);
cJSON *sp_config_get(const char *project, const char *id);

/* The rules an Instance and an InstancePartition share: a display name of 4 to 30
 * characters; no autoscalingConfig (UNIMPLEMENTED); nodeCount or processingUnits from
 * request into target (use_nodes, use_units: the fields read; creating: a zero is a field
 * left out, neither is one node). */
enum em_code sp_check_display_name(const char *display_name, struct em_status *st);
/* config names an instance config of the project, READY (NOT_FOUND, FAILED_PRECONDITION). */
enum em_code sp_check_instance_config(struct em_store *store, const char *project,
                                      const char *config, struct em_status *st);
enum em_code sp_check_no_autoscaling(const cJSON *request, struct em_status *st);
enum em_code sp_set_capacity(cJSON *target, const cJSON *request, bool use_nodes, bool use_units,
                             bool creating, struct em_status *st);

/* Instances. parent is "projects/p"; instance is the request's Instance JSON. */
enum em_code sp_instance_create(struct sp_admin *admin, const char *parent, const char *id,
                                const cJSON *instance, int64_t now, cJSON **out,
                                struct em_status *st);
enum em_code sp_instance_ready(struct sp_admin *admin, const char *name, int64_t now, cJSON **out,
                               struct em_status *st);
enum em_code sp_instance_get(struct sp_admin *admin, const char *name, cJSON **out,
                             struct em_status *st);
enum em_code sp_instance_list(struct sp_admin *admin, const char *parent, cJSON **out,
                              struct em_status *st);
/* ChangeQuorum (request: its body) of a database in a dual-region config: checked when the
 * call comes (_check: the config, quorum_type, etag), then done by its operation: the
 * database's quorumInfo (type, USER, startTime, a new etag). The emulator keeps one copy
 * of the data: the quorum changes no read or write. */
enum em_code sp_database_change_quorum_check(struct sp_admin *admin, const char *name,
                                             const cJSON *request, struct em_status *st);
enum em_code sp_database_change_quorum(struct sp_admin *admin, const char *name,
                                       const cJSON *request, int64_t now, cJSON **out,
                                       struct em_status *st);
/* MoveInstance (request: its body): checked when the call comes (_check), done by its
 * operation: the instance in the target config, each CMEK database's key-encryption key
 * wrapped with its key there (targetDatabaseMoveConfigs; refused without them, and for a
 * Google-managed database with them). FAILED_PRECONDITION while the instance has backups. */
enum em_code sp_instance_move_check(struct sp_admin *admin, const char *name, const cJSON *request,
                                    struct em_status *st);
enum em_code sp_instance_move(struct sp_admin *admin, const char *name, const cJSON *request,
                              int64_t now, cJSON **out, struct em_status *st);
/* field_mask: comma-separated JSON field names of instance to change. */
enum em_code sp_instance_update(struct sp_admin *admin, const char *name, const cJSON *instance,
                                const char *field_mask, int64_t now, cJSON **out,
                                struct em_status *st);
enum em_code sp_instance_delete(struct sp_admin *admin, const char *name, struct em_status *st);

/* Databases. request is the CreateDatabaseRequest JSON; *name receives the new
 * database's name (EM_NAME_MAX). */
#define SP_NAME_MAX 512
enum em_code sp_database_create(struct sp_admin *admin, const char *instance, const cJSON *request,
                                int64_t now, char name[SP_NAME_MAX], cJSON **out,
                                struct em_status *st);
enum em_code sp_database_ready(struct sp_admin *admin, const char *name, cJSON **out,
                               struct em_status *st);
enum em_code sp_database_get(struct sp_admin *admin, const char *name, cJSON **out,
                             struct em_status *st);
/* The earliest time a database can be read or backed up at: its creation, or an hour
 * before now (the row versions it keeps); _show_ sets earliestVersionTime to it. */
int64_t sp_database_earliest_version(struct sp_admin *admin, const cJSON *db, int64_t now);
void sp_database_show_earliest_version(struct sp_admin *admin, cJSON *db, int64_t now);
enum em_code sp_database_list(struct sp_admin *admin, const char *instance, cJSON **out,
                              struct em_status *st);
/* The canonical DDL statements, a JSON array of strings. */
enum em_code sp_database_ddl(struct sp_admin *admin, const char *name, cJSON **out,
                             struct em_status *st);
/* The database's roles (fine-grained access control): the system roles, then those
 * CREATE ROLE made, read from its canonical DDL; a JSON array of names. */
enum em_code sp_database_roles(struct sp_admin *admin, const char *name, cJSON **out,
                               struct em_status *st);
/* Applies statements (a JSON array of strings) all or nothing. */
enum em_code sp_database_update_ddl(struct sp_admin *admin, const char *name,
                                    const cJSON *statements, struct em_status *st);
/* UpdateDatabase: the fields of database that update_mask names (enable_drop_protection;
 * encryption_config is UNIMPLEMENTED), saved. A database with drop protection cannot be
 * dropped, nor its instance deleted (FAILED_PRECONDITION). */
enum em_code sp_database_update(struct sp_admin *admin, const char *name, const cJSON *database,
                                const char *update_mask, struct em_status *st);
enum em_code sp_database_drop(struct sp_admin *admin, const char *name, struct em_status *st);

/* For backups and restores (spanner_backup.c). */

/* The key an encryptionConfig ({"kmsKeyName"} or {"kmsKeyNames"}) asks the instance's
 * resources to be wrapped with, checked against the instance's config (location rule);
 * "" when it names none. */
enum em_code sp_admin_encryption_key(struct sp_admin *admin, const char *instance,
                                     const cJSON *encryption, char key[SP_NAME_MAX],
                                     struct em_status *st);
/* The organization policies on CMEK (em_orgpolicy_check_cmek, as spanner.googleapis.com)
 * for `what` ("a backup") created in instance's project under each of keys when that
 * array holds any, else under key (NULL or "": Google default encryption). */
enum em_code sp_admin_check_org_policy(struct sp_admin *admin, const char *instance,
                                       const char *key, const cJSON *keys, const char *what,
                                       struct em_status *st);
/* Copies the database's rows into to (a backup's datastore, under the backup's key):
 * em_datastore_copy from the database's datastore, the database kept from being dropped
 * meanwhile. OK without data files (unit tests). */
struct em_datastore;
enum em_code sp_database_copy_data(struct sp_admin *admin, const char *database,
                                   struct em_datastore *to, struct em_status *st);
/* Records a database restored from a backup (state CREATING; sp_database_ready finishes
 * it) with the backup's canonical DDL, its restoreInfo, and encryption (an
 * encryptionConfig, or NULL for Google default encryption), checked against the
 * organization policies and protected as a created database is; its rows are a copy of
 * source (the backup's datastore) under the new database's own key (NULL: an empty
 * database with the schema). */
enum em_code sp_database_restore(struct sp_admin *admin, const char *instance, const char *id,
                                 const cJSON *encryption, const cJSON *ddl,
                                 const cJSON *restore_info, struct em_datastore *source,
                                 int64_t now, char name[SP_NAME_MAX], struct em_status *st);

#endif
