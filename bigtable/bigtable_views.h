/*
 * bigtable_views: the domain of Bigtable's authorized views (part of the admin domain: it
 * shares bigtable_admin's store and lock). A view
 * ("projects/p/instances/i/tables/t/authorizedViews/v") is a subset of its table's cells
 * (subsetView: rowPrefixes and familySubsets, bigtable_subset.h) that data calls can name
 * instead of the table, and whose IAM policy is its own.
 *
 * Rules (https://cloud.google.com/bigtable/docs/reference/admin/rest/v2/
 * projects.instances.tables.authorizedViews):
 * - create: the table exists; the ID is 1 to 50 letters, digits, '_', '-' or '.'; a
 *   subsetView is required, its families are the table's, at most 100 parameters.
 * - get (view BASIC by default) and list (NAME_ONLY by default): NAME_ONLY answers the
 *   name, BASIC adds deletionProtection and etag, FULL the subsetView too.
 * - update: mask subset_view and/or deletion_protection (empty: the fields the body sets;
 *   "*": both); a body etag that differs from the stored one is ABORTED. Every change
 *   makes a new etag.
 * - delete: an etag that differs is ABORTED; deletionProtection refuses it
 *   (FAILED_PRECONDITION). Deleting the table deletes its views; a protected view
 *   refuses the deletion of its table and of its instance.
 *
 * Stored in metadata.db as kind BT_KIND_AUTHORIZED_VIEW of the instance, the subsetView
 * (row-key prefixes and qualifiers: customer data) sealed under the data directory's
 * default key and bound to the view's name ("sealedSubsetView"); it is in clear only in
 * memory. Every function starts from a clean status (it overwrites *st); thread-safe.
 */
#ifndef BIGTABLE_VIEWS_H
#define BIGTABLE_VIEWS_H

#include "bigtable_admin.h"
#include "bigtable_subset.h"
#include "em_status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

enum bt_view_detail {
    BT_AV_NAME_ONLY,
    BT_AV_BASIC,
    BT_AV_FULL,
};

/* The view= query value (NULL, "" or RESPONSE_VIEW_UNSPECIFIED: fallback). */
enum em_code bt_view_detail_parse(const char *text, enum bt_view_detail fallback,
                                  enum bt_view_detail *out, struct em_status *st);

/* view: the AuthorizedView of the request. *out: the view, FULL. */
enum em_code bt_view_create(struct bt_admin *admin, const char *table, const char *id,
                            const cJSON *view, int64_t now, cJSON **out, struct em_status *st);
enum em_code bt_view_get(struct bt_admin *admin, const char *name, enum bt_view_detail detail,
                         cJSON **out, struct em_status *st);
enum em_code bt_view_list(struct bt_admin *admin, const char *table, enum bt_view_detail detail,
                          cJSON **out, struct em_status *st);
/* *out: the view after the update, FULL. */
enum em_code bt_view_update(struct bt_admin *admin, const char *name, const cJSON *view,
                            const char *mask, int64_t now, cJSON **out, struct em_status *st);
/* etag: NULL or "" for any. */
enum em_code bt_view_delete(struct bt_admin *admin, const char *name, const char *etag,
                            struct em_status *st);

/* At start: seals the subsets of views stored in clear (by a release before session 26)
 * and purges the clear copies from metadata.db's files. */
enum em_code bt_views_seal_stored(struct bt_admin *admin, struct em_status *st);

/* For a data call naming a view: its table's name (BT_NAME_MAX) and its subset (free
 * with bt_subset_free). NOT_FOUND for an unknown view. */
enum em_code bt_view_resolve(struct bt_admin *admin, const char *name, char *table,
                             struct bt_subset *subset, struct em_status *st);

/* Under the admin lock, for the table and instance deletes: FAILED_PRECONDITION when a
 * view under prefix (a table or an instance name) has deletionProtection. */
enum em_code bt_views_check_unprotected(struct bt_admin *admin, const char *prefix,
                                        struct em_status *st);
/* Under the admin lock: deletes the table's views. */
void bt_views_remove_under(struct bt_admin *admin, const char *table);

#endif
