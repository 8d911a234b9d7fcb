/*
 * bigtable_store: the only SQL of the Bigtable service's admin plane, in metadata.db.
 *
 * Table (module "bigtable" in schema_migrations):
 *   bigtable_resources   name, kind ("instance", "cluster", "table", "deletedTable",
 *                        "appProfile", "backup", "authorizedView"), the
 *                        instance it belongs to (an instance: itself), and the resource as
 *                        its stored JSON (the API's JSON plus private members starting
 *                        with '_', which the domain strips before answering)
 *
 * Rows go in and come out as text; this file knows nothing of the API's rules. Customer
 * data (cells) is not here: each replica of a table has its own encrypted file
 * (bigtable_cells.c).
 */
#ifndef BIGTABLE_STORE_H
#define BIGTABLE_STORE_H

#include "em_status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

struct em_store;

#define BT_KIND_INSTANCE        "instance"
#define BT_KIND_CLUSTER         "cluster"
#define BT_KIND_TABLE           "table"
#define BT_KIND_APP_PROFILE     "appProfile"
#define BT_KIND_BACKUP          "backup"         /* bigtable_backup.c */
#define BT_KIND_DELETED         "deletedTable"   /* a recoverable table: bigtable_undelete.c */
#define BT_KIND_AUTHORIZED_VIEW "authorizedView" /* bigtable_views.c */

enum em_code bt_store_migrate(struct em_store *store, struct em_status *st);

/* Inserts (ALREADY_EXISTS when the name is taken) or, with replace, overwrites. */
enum em_code bt_store_put(struct em_store *store, const char *name, const char *kind,
                          const char *instance, const char *json, bool replace,
                          struct em_status *st);
/* *json (malloc'd) is NULL when there is no such resource of that kind. */
enum em_code bt_store_get(struct em_store *store, const char *name, const char *kind, char **json,
                          struct em_status *st);
/* The resources of a kind, by name, as a JSON array: of one instance (instance is its
 * name), or with project_wide of every instance whose name starts with instance (then
 * "projects/p/instances/"). */
enum em_code bt_store_list(struct em_store *store, const char *kind, const char *instance,
                           bool project_wide, cJSON **out, struct em_status *st);
enum em_code bt_store_delete(struct em_store *store, const char *name, struct em_status *st);
/* Deletes an instance and every resource of it, in one transaction. */
enum em_code bt_store_delete_instance(struct em_store *store, const char *instance,
                                      struct em_status *st);
/* Forgets every resource (internal:reset). */
enum em_code bt_store_clear(struct em_store *store, struct em_status *st);

/* A number that changes after every write above (to any store of the process): a cache
 * of these rows read it before reading them, and holds only while it has not changed. */
uint64_t bt_store_generation(void);

#endif
